/**
 * A minimal Kubernetes API client for the live test: raw HTTPS requests (any method and path, the status and
 * the parsed body back, no retries) with the fixture's admin kubeconfig (CA and client certificate, as data or
 * files; or a token); no kubectl. It reads the kubeconfig itself rather than through the readiness gate's
 * `@kubernetes/client-node`: this file runs inside jest's own module runtime, which cannot require that ES
 * module on Node 22 (jest needs Node 24.9+ for it). The gate's own use of the library runs in the program's
 * dynamic-provider process during the test's `pulumi up`s, against the same API server.
 */
import * as fs from "fs";
import * as https from "https";
import * as path from "path";
import * as yaml from "js-yaml";

export interface KubeResponse {
    status: number;
    /** The parsed JSON body (a Status object on errors), or the raw text when it is not JSON. */
    body: any;
}

export interface Kube {
    request(method: string, apiPath: string, body?: unknown, contentType?: string): Promise<KubeResponse>;
    get(apiPath: string): Promise<KubeResponse>;
}

interface Kubeconfig {
    "current-context"?: string;
    contexts?: { name: string; context: { cluster: string; user: string } }[];
    clusters?: { name: string; cluster: Record<string, string | boolean | undefined> }[];
    users?: { name: string; user: Record<string, string | undefined> }[];
}

/** The current context's server and credentials; `*-data` is base64, a file path is relative to the kubeconfig. */
export function credentials(kubeconfigPath: string) {
    const kc = yaml.load(fs.readFileSync(kubeconfigPath, "utf8")) as Kubeconfig;
    const context = kc.contexts?.find((c) => c.name === kc["current-context"]) ?? kc.contexts?.[0];
    const cluster = kc.clusters?.find((c) => c.name === context?.context.cluster)?.cluster ?? {};
    const user = kc.users?.find((u) => u.name === context?.context.user)?.user ?? {};
    const read = (from: Record<string, unknown>, key: string): Buffer | undefined => {
        const data = from[`${key}-data`];
        const file = from[key];
        if (typeof data === "string") {
            return Buffer.from(data, "base64");
        }
        return typeof file === "string" ? fs.readFileSync(path.resolve(path.dirname(kubeconfigPath), file)) : undefined;
    };
    return {
        server: String(cluster.server ?? ""),
        ca: read(cluster, "certificate-authority"),
        cert: read(user, "client-certificate"),
        key: read(user, "client-key"),
        token: user.token,
        insecure: cluster["insecure-skip-tls-verify"] === true,
    };
}

/** A client for the current context of the kubeconfig at `kubeconfigPath` (client certificate or token). */
export function kubeClient(kubeconfigPath: string, timeoutMs = 15_000): Kube {
    const access = credentials(kubeconfigPath);
    const url = new URL(access.server);
    const request = async (method: string, apiPath: string, body?: unknown, contentType = "application/json") => {
        const auth: https.RequestOptions = {
            ca: access.ca,
            cert: access.cert,
            key: access.key,
            rejectUnauthorized: !access.insecure,
            headers: access.token ? { Authorization: `Bearer ${access.token}` } : {},
        };
        return new Promise<KubeResponse>((resolve, reject) => {
            const data = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
            const headers: Record<string, string> = {
                ...(auth.headers as Record<string, string>),
                Accept: "application/json",
            };
            if (data !== undefined) {
                headers["Content-Type"] = contentType;
            }
            const req = https.request(
                {
                    hostname: url.hostname,
                    port: url.port || 443,
                    path: url.pathname.replace(/\/+$/, "") + apiPath,
                    method,
                    headers,
                    ca: auth.ca,
                    cert: auth.cert,
                    key: auth.key,
                    auth: auth.auth,
                    servername: auth.servername,
                    rejectUnauthorized: auth.rejectUnauthorized,
                    agent: false,
                    timeout: timeoutMs,
                },
                (res) => {
                    const chunks: Buffer[] = [];
                    res.on("data", (c: Buffer) => chunks.push(c));
                    res.on("end", () => {
                        const text = Buffer.concat(chunks).toString("utf8");
                        let parsed: unknown = text;
                        try {
                            parsed = JSON.parse(text);
                        } catch {
                            // not JSON (e.g. /readyz answers "ok")
                        }
                        resolve({ status: res.statusCode ?? 0, body: parsed });
                    });
                    res.on("error", reject);
                },
            );
            req.on("timeout", () => req.destroy(new Error(`${method} ${apiPath}: no answer within ${timeoutMs} ms`)));
            req.on("error", reject);
            if (data !== undefined) {
                req.write(data);
            }
            req.end();
        });
    };
    return { request, get: (apiPath) => request("GET", apiPath) };
}

/** The REST path of a namespaced object (or of the collection when `name` is omitted). */
export function objectPath(apiVersion: string, plural: string, namespace: string, name?: string): string {
    const base = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    return `${base}/namespaces/${namespace}/${plural}${name ? `/${name}` : ""}`;
}
