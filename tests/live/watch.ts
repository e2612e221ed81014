/**
 * A recorder of what the API server stores, for the live tests that must show an ORDER of writes (which
 * object changed before which): one watch stream per collection, every event kept with its
 * resourceVersion. The fixture runs one etcd, whose revision counter is shared by every object, and the API
 * server hands it out as the resourceVersion, so sorting all events by it gives the order in which the
 * writes happened, across kinds (a client cannot see that order from arrival times: each stream delivers
 * on its own). Kubernetes documents resourceVersion as opaque: this reading holds for this fixture, not for
 * clusters in general (https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions).
 */
import * as https from "https";
import { credentials } from "./kube";

export interface WatchEvent {
    /** ADDED, MODIFIED or DELETED. */
    type: string;
    /** The collection it came from, e.g. `virtualservices`. */
    collection: string;
    /** The etcd revision of the write (resourceVersion as a number). */
    revision: number;
    object: any;
}

export class Recorder {
    readonly events: WatchEvent[] = [];
    readonly errors: string[] = [];
    private readonly requests: ReturnType<typeof https.request>[] = [];
    private stopped = false;

    constructor(private readonly kubeconfig: string) {}

    /**
     * Watches a collection (e.g. `/apis/apps/v1/namespaces/ns/deployments`) from now on: the API server first
     * sends an ADDED event for each object already there, then every change. Resolves once the stream is open.
     * A stream the server ends (its watch timeout) is reopened from the last revision seen.
     */
    watch(collectionPath: string, fromRevision?: number): Promise<void> {
        const access = credentials(this.kubeconfig);
        const url = new URL(access.server);
        const collection = collectionPath.split("/").pop() ?? collectionPath;
        const query = `?watch=true${fromRevision ? `&resourceVersion=${fromRevision}` : ""}`;
        return new Promise((resolve, reject) => {
            const req = https.request(
                {
                    hostname: url.hostname,
                    port: url.port || 443,
                    path: url.pathname.replace(/\/+$/, "") + collectionPath + query,
                    method: "GET",
                    ca: access.ca,
                    cert: access.cert,
                    key: access.key,
                    rejectUnauthorized: !access.insecure,
                    headers: {
                        Accept: "application/json",
                        ...(access.token ? { Authorization: `Bearer ${access.token}` } : {}),
                    },
                    agent: false,
                },
                (res) => {
                    if (res.statusCode !== 200) {
                        reject(new Error(`watch ${collectionPath}: HTTP ${res.statusCode}`));
                        return;
                    }
                    resolve();
                    let buffered = "";
                    let last = fromRevision ?? 0;
                    res.on("data", (chunk: Buffer) => {
                        buffered += chunk.toString("utf8");
                        let nl: number;
                        while ((nl = buffered.indexOf("\n")) >= 0) {
                            const line = buffered.slice(0, nl).trim();
                            buffered = buffered.slice(nl + 1);
                            if (!line) {
                                continue;
                            }
                            const e = JSON.parse(line) as { type: string; object: any };
                            if (e.type === "ERROR") {
                                this.errors.push(`${collection}: ${JSON.stringify(e.object).slice(0, 300)}`);
                                continue;
                            }
                            const revision = Number(e.object.metadata.resourceVersion);
                            last = Math.max(last, revision);
                            this.events.push({ type: e.type, collection, revision, object: e.object });
                        }
                    });
                    res.on("end", () => {
                        if (!this.stopped) {
                            void this.watch(collectionPath, last).catch((err: Error) => this.errors.push(err.message));
                        }
                    });
                },
            );
            req.on("error", (err) => {
                if (!this.stopped) {
                    this.errors.push(`watch ${collectionPath}: ${err.message}`);
                    reject(err);
                }
            });
            req.end();
            this.requests.push(req);
        });
    }

    /** The events so far, in the order of the writes. */
    ordered(): WatchEvent[] {
        return [...this.events].sort((a, b) => a.revision - b.revision);
    }

    stop(): void {
        this.stopped = true;
        for (const r of this.requests) {
            r.destroy();
        }
    }
}
