/**
 * A minimal Kubernetes API client for the live test: raw HTTPS requests (any method and path, the status and
 * the parsed body back, no retries), authenticated by `@kubernetes/client-node` (`applyToHTTPSOptions`: CA,
 * client certificate, token or exec plugin) for the kubeconfig as the readiness gate's own loader reads it
 * (foundation/readiness/check), so the test reaches the API server as the program's gate does; no kubectl.
 */
import * as fs from "fs";
import * as https from "https";
import * as path from "path";
import { loadKubeconfig } from "../../foundation/readiness/check";

export interface KubeResponse {
    status: number;
    /** The parsed JSON body (a Status object on errors), or the raw text when it is not JSON. */
    body: any;
}

export interface Kube {
    request(method: string, apiPath: string, body?: unknown, contentType?: string): Promise<KubeResponse>;
    get(apiPath: string): Promise<KubeResponse>;
}

/** A client for the current context of the kubeconfig at `kubeconfigPath` (client certificate or token). */
export function kubeClient(kubeconfigPath: string, timeoutMs = 15_000): Kube {
    const kc = loadKubeconfig(fs.readFileSync(kubeconfigPath, "utf8"), path.dirname(kubeconfigPath));
    const url = new URL(kc.getCurrentCluster()?.server ?? "");
    const request = async (method: string, apiPath: string, body?: unknown, contentType = "application/json") => {
        const auth: https.RequestOptions = {};
        await kc.applyToHTTPSOptions(auth);
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
