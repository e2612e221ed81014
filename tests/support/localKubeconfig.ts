/**
 * A kubeconfig for a test's local HTTPS API server: its URL, the test CA that signed its certificate
 * (tests/foundation/readiness/tls) and a bearer token, as a readiness check or gate would be handed.
 */
import * as yaml from "js-yaml";

export function tokenKubeconfig(server: string, caPem: string): string {
    return yaml.dump({
        apiVersion: "v1",
        kind: "Config",
        clusters: [
            { name: "local", cluster: { server, "certificate-authority-data": Buffer.from(caPem).toString("base64") } },
        ],
        users: [{ name: "local", user: { token: "local" } }],
        contexts: [{ name: "local", context: { cluster: "local", user: "local" } }],
        "current-context": "local",
    });
}
