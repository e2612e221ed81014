/**
 * The readiness check: the kubeconfig as `@kubernetes/client-node` loads it (with the two gaps this project
 * fills), one check against answers fed through the `MeshApi` seam, the wait loop on a fake clock (backoff,
 * progress lines, the timeout message), and when the gate re-runs. The library's clients themselves are
 * driven against a real local HTTPS API server (test-only CA and certificates in ./tls, made by
 * ./tls/make.sh): client certificate, token and exec-plugin credentials, TLS verification, refused
 * credentials, no answer, and `runGate` end to end.
 */
import * as fs from "fs";
import * as https from "https";
import type * as net from "net";
import * as os from "os";
import * as path from "path";
import type * as k8s from "@kubernetes/client-node" with { "resolution-mode": "import" };
import { istioApis } from "../../../istio/manifests";
import {
    checkMesh,
    gateChanges,
    GateInputs,
    GateOutputs,
    kubeApi,
    loadKubeconfig,
    MeshApi,
    Missing,
    readinessProvider,
    runGate,
    waitForMesh,
} from "../../../foundation/readiness/check";

const { ApiException } = require("@kubernetes/client-node") as typeof k8s;

const APIS = istioApis("v1beta1");
const b64 = (s: string) => Buffer.from(s).toString("base64");
const TLS = path.join(__dirname, "tls");
const pem = (file: string) => fs.readFileSync(path.join(TLS, file), "utf8");

function kubeconfig(server: string, user: Record<string, unknown>, cluster: Record<string, unknown> = {}): string {
    return JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        "current-context": "admin",
        contexts: [{ name: "admin", context: { cluster: "c", user: "u" } }],
        clusters: [{ name: "c", cluster: { server, ...cluster } }],
        users: [{ name: "u", user }],
    });
}

/** An ACK-style kubeconfig: CA and client certificate inline. */
const ACK_KUBECONFIG = `apiVersion: v1
kind: Config
clusters:
- name: kubernetes
  cluster:
    server: https://47.0.0.10:6443
    certificate-authority-data: ${b64("CA PEM")}
contexts:
- name: admin-context
  context:
    cluster: kubernetes
    user: admin
current-context: admin-context
users:
- name: admin
  user:
    client-certificate-data: ${b64("CERT PEM")}
    client-key-data: ${b64("KEY PEM")}
`;

describe("loadKubeconfig", () => {
    test("an ACK kubeconfig: server, CA and client certificate of the current context", () => {
        const kc = loadKubeconfig(ACK_KUBECONFIG, "/nowhere");
        expect(kc.getCurrentCluster()).toMatchObject({
            server: "https://47.0.0.10:6443",
            caData: b64("CA PEM"),
            skipTLSVerify: false,
        });
        expect(kc.getCurrentUser()).toMatchObject({ certData: b64("CERT PEM"), keyData: b64("KEY PEM") });
    });

    test("files are read relative to the kubeconfig's directory; tokenFile (trimmed), TLS name, insecure flag", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gate-kc-"));
        fs.writeFileSync(path.join(dir, "token"), "tok-123\n");
        const kc = loadKubeconfig(
            kubeconfig(
                "https://10.0.0.1",
                { tokenFile: "token", "client-certificate": "certs/admin.crt" },
                {
                    "certificate-authority": "ca.crt",
                    "tls-server-name": "kubernetes",
                    "insecure-skip-tls-verify": true,
                },
            ),
            dir,
        );
        expect(kc.getCurrentCluster()).toMatchObject({
            caFile: path.join(dir, "ca.crt"),
            tlsServerName: "kubernetes",
            skipTLSVerify: true,
        });
        expect(kc.getCurrentUser()).toMatchObject({ token: "tok-123", certFile: path.join(dir, "certs/admin.crt") });
        fs.rmSync(dir, { recursive: true });
    });

    test("the only context is used when current-context is unset", () => {
        const doc = JSON.parse(kubeconfig("https://x", { token: "t" })) as Record<string, unknown>;
        delete doc["current-context"];
        expect(loadKubeconfig(JSON.stringify(doc), "/").getCurrentCluster()?.server).toBe("https://x");
    });

    test("unusable kubeconfigs are refused with the reason", () => {
        const doc = JSON.parse(kubeconfig("https://x", {})) as Record<string, unknown>;
        doc["current-context"] = "other";
        expect(() => loadKubeconfig(JSON.stringify(doc), "/")).toThrow('the kubeconfig has no context named "other"');
        expect(() => loadKubeconfig(kubeconfig("", {}), "/")).toThrow(
            "the kubeconfig is not usable: clusters[0].cluster.server is missing",
        );
        expect(() => loadKubeconfig("", "/")).toThrow("the kubeconfig is empty or not a YAML mapping");
        expect(() => loadKubeconfig("a: [", "/")).toThrow(/^the kubeconfig is not valid YAML/);
    });
});

/** The library's error for an HTTP error status, as its generated clients raise it. */
const httpError = (status: number, body?: unknown) =>
    new ApiException(status, "Unknown API Status Code!", body, { "content-type": "application/json" });

/** A fake API server behind the `MeshApi` seam: discovery answers per group/version, and the webhooks. */
function fakeApi(
    discovery: Record<string, { status: number; plurals?: string[]; message?: string }>,
    webhooks: { status: number; names?: string[] } = { status: 200, names: [] },
): { api: MeshApi; paths: string[] } {
    const paths: string[] = [];
    const api: MeshApi = {
        apiResources: (group, version) => {
            const gv = `${group}/${version}`;
            paths.push(`/apis/${gv}`);
            const d = discovery[gv] ?? { status: 404, message: "the server could not find the requested resource" };
            if (d.status !== 200) {
                return Promise.reject(
                    httpError(d.status, JSON.stringify({ kind: "Status", message: d.message ?? "" })),
                );
            }
            const resources = (d.plurals ?? []).map((name) => ({
                name,
                kind: "",
                namespaced: true,
                singularName: "",
                verbs: [],
            }));
            return Promise.resolve({ groupVersion: gv, resources });
        },
        mutatingWebhookConfigurations: () => {
            paths.push("/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations");
            if (webhooks.status !== 200) {
                return Promise.reject(httpError(webhooks.status));
            }
            const webhook = (name: string) =>
                ({
                    name,
                    admissionReviewVersions: ["v1"],
                    clientConfig: {},
                    sideEffects: "None",
                }) as k8s.V1MutatingWebhook;
            const items = [
                { metadata: { name: "istio-sidecar-injector" }, webhooks: (webhooks.names ?? []).map(webhook) },
            ];
            return Promise.resolve({ items });
        },
    };
    return { api, paths };
}

const SERVED = {
    "networking.istio.io/v1beta1": { status: 200, plurals: ["virtualservices", "destinationrules", "gateways"] },
    "security.istio.io/v1beta1": { status: 200, plurals: ["peerauthentications", "authorizationpolicies"] },
};
const INJECTORS = ["rev.namespace.sidecar-injector.istio.io", "namespace.sidecar-injector.istio.io"];

describe("checkMesh", () => {
    test("ready: every kind listed and an injector webhook registered; two discovery calls and one list", async () => {
        const fake = fakeApi(SERVED, { status: 200, names: INJECTORS });
        expect(await checkMesh(fake.api, APIS)).toEqual({
            missing: [],
            injectors: [
                "istio-sidecar-injector/rev.namespace.sidecar-injector.istio.io",
                "istio-sidecar-injector/namespace.sidecar-injector.istio.io",
            ],
        });
        expect(fake.paths).toEqual([
            "/apis/networking.istio.io/v1beta1",
            "/apis/security.istio.io/v1beta1",
            "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
        ]);
    });

    test("data-plane KubeAPI access off: the Istio groups are not served (404) and no injector", async () => {
        const { missing } = await checkMesh(fakeApi({}).api, APIS);
        expect(missing).toEqual([
            {
                item: "VirtualService (networking.istio.io/v1beta1)",
                reason: "GET /apis/networking.istio.io/v1beta1: not served (HTTP 404: the server could not find the requested resource)",
                cause: "api",
            },
            {
                item: "DestinationRule (networking.istio.io/v1beta1)",
                reason: "GET /apis/networking.istio.io/v1beta1: not served (HTTP 404: the server could not find the requested resource)",
                cause: "api",
            },
            {
                item: "PeerAuthentication (security.istio.io/v1beta1)",
                reason: "GET /apis/security.istio.io/v1beta1: not served (HTTP 404: the server could not find the requested resource)",
                cause: "api",
            },
            {
                item: "AuthorizationPolicy (security.istio.io/v1beta1)",
                reason: "GET /apis/security.istio.io/v1beta1: not served (HTTP 404: the server could not find the requested resource)",
                cause: "api",
            },
            {
                item: "the sidecar-injector webhook",
                reason: "no MutatingWebhookConfiguration has a webhook named *.sidecar-injector.istio.io",
                cause: "webhook",
            },
        ]);
    });

    test("an aggregated API not serving yet (503), a kind not listed, a look-alike webhook name", async () => {
        const fake = fakeApi(
            {
                "networking.istio.io/v1beta1": { status: 503, message: "service unavailable" },
                "security.istio.io/v1beta1": { status: 200, plurals: ["peerauthentications"] },
            },
            {
                status: 200,
                names: ["sidecar-injector.istio.io.example.com", "validation.istio.io", "xsidecar-injector.istio.io"],
            },
        );
        const { missing } = await checkMesh(fake.api, APIS);
        expect(missing.map((m) => `${m.item}: ${m.reason}`)).toEqual([
            "VirtualService (networking.istio.io/v1beta1): GET /apis/networking.istio.io/v1beta1: registered but not serving yet (HTTP 503: service unavailable)",
            "DestinationRule (networking.istio.io/v1beta1): GET /apis/networking.istio.io/v1beta1: registered but not serving yet (HTTP 503: service unavailable)",
            "AuthorizationPolicy (security.istio.io/v1beta1): authorizationpolicies not listed by GET /apis/security.istio.io/v1beta1",
            "the sidecar-injector webhook: no MutatingWebhookConfiguration has a webhook named *.sidecar-injector.istio.io",
        ]);
    });

    test("the webhook named exactly sidecar-injector.istio.io counts", async () => {
        const fake = fakeApi(SERVED, { status: 200, names: ["sidecar-injector.istio.io"] });
        expect(await checkMesh(fake.api, APIS)).toEqual({
            missing: [],
            injectors: ["istio-sidecar-injector/sidecar-injector.istio.io"],
        });
    });

    test("the v1 APIs are asked for at v1", async () => {
        const fake = fakeApi({}, { status: 200, names: INJECTORS });
        await checkMesh(fake.api, istioApis("v1"));
        expect(fake.paths.slice(0, 2)).toEqual(["/apis/networking.istio.io/v1", "/apis/security.istio.io/v1"]);
    });

    test("refused credentials count as an auth problem", async () => {
        const fake = fakeApi(
            {
                "networking.istio.io/v1beta1": { status: 403, message: "forbidden" },
                ...{ "security.istio.io/v1beta1": SERVED["security.istio.io/v1beta1"] },
            },
            { status: 401 },
        );
        const { missing } = await checkMesh(fake.api, APIS);
        expect(missing.map((m) => [m.cause, m.reason])).toEqual([
            ["auth", "GET /apis/networking.istio.io/v1beta1: forbidden (HTTP 403: forbidden)"],
            ["auth", "GET /apis/networking.istio.io/v1beta1: forbidden (HTTP 403: forbidden)"],
            [
                "auth",
                "GET /apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations: credentials refused (HTTP 401)",
            ],
        ]);
    });

    test("an unreachable API server is one problem, not one per kind", async () => {
        // What fetch (undici) rejects with when the connection fails: the socket's error is the cause.
        const refused = new TypeError("fetch failed", { cause: new Error("connect ECONNREFUSED 47.0.0.10:6443") });
        const api: MeshApi = {
            apiResources: () => Promise.reject(refused),
            mutatingWebhookConfigurations: () => Promise.reject(refused),
        };
        expect(await checkMesh(api, APIS)).toEqual({
            missing: [{ item: "the API server", reason: "connect ECONNREFUSED 47.0.0.10:6443", cause: "unreachable" }],
            injectors: [],
        });
    });

    test("credentials that cannot be had (a failing exec plugin) are an auth problem, not an unreachable server", async () => {
        const api: MeshApi = {
            apiResources: () => Promise.reject(new Error("spawn aliyun ENOENT")),
            mutatingWebhookConfigurations: () => Promise.reject(new Error("spawn aliyun ENOENT")),
        };
        expect(await checkMesh(api, APIS)).toEqual({
            missing: [{ item: "the kubeconfig's credentials", reason: "spawn aliyun ENOENT", cause: "auth" }],
            injectors: [],
        });
    });
});

/** A fake clock: `sleep` advances time instantly and records each wait. */
function fakeClock() {
    let t = 1_000_000;
    const sleeps: number[] = [];
    return {
        now: () => t,
        sleep: (ms: number) => {
            sleeps.push(ms);
            t += ms;
            return Promise.resolve();
        },
        sleeps,
    };
}

const NOT_ATTACHED: Missing[] = [
    {
        item: "VirtualService (networking.istio.io/v1beta1)",
        reason: "GET /apis/networking.istio.io/v1beta1: not served (HTTP 404)",
        cause: "api",
    },
    {
        item: "DestinationRule (networking.istio.io/v1beta1)",
        reason: "GET /apis/networking.istio.io/v1beta1: not served (HTTP 404)",
        cause: "api",
    },
    {
        item: "the sidecar-injector webhook",
        reason: "no MutatingWebhookConfiguration has a webhook named *.sidecar-injector.istio.io",
        cause: "webhook",
    },
];

describe("waitForMesh", () => {
    test("ready at once: no progress line, no wait", async () => {
        const clock = fakeClock();
        const lines: string[] = [];
        const r = await waitForMesh({
            check: () => Promise.resolve({ missing: [], injectors: ["cfg/namespace.sidecar-injector.istio.io"] }),
            target: "cluster c1",
            timeoutSeconds: 600,
            ...clock,
            log: (l) => lines.push(l),
        });
        expect(r).toEqual({ injectors: ["cfg/namespace.sidecar-injector.istio.io"], waitedSeconds: 0, checks: 1 });
        expect(lines).toEqual([]);
        expect(clock.sleeps).toEqual([]);
    });

    test("ready at the third check: backs off 2 s then 4 s and says what it waits for", async () => {
        const clock = fakeClock();
        const lines: string[] = [];
        const answers = [NOT_ATTACHED, NOT_ATTACHED.slice(2), []];
        const r = await waitForMesh({
            check: () => Promise.resolve({ missing: answers.shift() ?? [], injectors: [] }),
            target: "cluster c1 (https://47.0.0.10:6443)",
            timeoutSeconds: 600,
            ...clock,
            log: (l) => lines.push(l),
        });
        expect(clock.sleeps).toEqual([2000, 4000]);
        expect(r).toEqual({ injectors: [], waitedSeconds: 6, checks: 3 });
        expect(lines).toEqual([
            "mesh readiness: waiting for cluster c1 (https://47.0.0.10:6443) (0 s of 600 s; next check in 2 s): " +
                "VirtualService (networking.istio.io/v1beta1), DestinationRule (networking.istio.io/v1beta1): " +
                "GET /apis/networking.istio.io/v1beta1: not served (HTTP 404); the sidecar-injector webhook: no " +
                "MutatingWebhookConfiguration has a webhook named *.sidecar-injector.istio.io",
            "mesh readiness: waiting for cluster c1 (https://47.0.0.10:6443) (2 s of 600 s; next check in 4 s): " +
                "the sidecar-injector webhook: no MutatingWebhookConfiguration has a webhook named *.sidecar-injector.istio.io",
            "mesh readiness: cluster c1 (https://47.0.0.10:6443) is ready after 6 s",
        ]);
    });

    test("the backoff doubles up to 30 s and the last wait ends on the deadline", async () => {
        const clock = fakeClock();
        await expect(
            waitForMesh({
                check: () => Promise.resolve({ missing: NOT_ATTACHED, injectors: [] }),
                target: "cluster c1",
                timeoutSeconds: 100,
                ...clock,
                log: () => undefined,
            }),
        ).rejects.toThrow(/after 100 s \(8 checks\)/);
        expect(clock.sleeps).toEqual([2000, 4000, 8000, 16000, 30000, 30000, 10000]);
    });

    test("after the timeout it fails with what is missing and the likely causes", async () => {
        const clock = fakeClock();
        const lines: string[] = [];
        const error = await waitForMesh({
            check: () => Promise.resolve({ missing: NOT_ATTACHED, injectors: [] }),
            target: "cluster c1",
            timeoutSeconds: 10,
            ...clock,
            log: (l) => lines.push(l),
        }).catch((e: Error) => e);
        expect(clock.sleeps).toEqual([2000, 4000, 4000]);
        expect(lines).toHaveLength(3);
        expect((error as Error).message).toBe(
            [
                "mesh readiness gate: cluster c1 is not ready for the mesh layer after 10 s (4 checks); still missing:",
                "  - VirtualService (networking.istio.io/v1beta1), DestinationRule (networking.istio.io/v1beta1): GET /apis/networking.istio.io/v1beta1: not served (HTTP 404)",
                "  - the sidecar-injector webhook: no MutatingWebhookConfiguration has a webhook named *.sidecar-injector.istio.io",
                "Likely causes:",
                "  - data-plane KubeAPI access is off for this mesh, or still starting (it needs 1-2 minutes after it is enabled): " +
                    "mode=create turns it on (crAggregationEnabled); for an existing mesh turn it on in the ASM console " +
                    "(https://www.alibabacloud.com/help/en/asm/sidecar/access-istio-resources-via-kubeapi-of-data-plane-cluster); " +
                    "istioApiVersion v1 also needs Istio >= 1.22",
                "  - the cluster is not attached to the ASM instance, or the attachment has not finished: ASM installs the " +
                    "sidecar injector when the cluster joins the mesh (ASM console: Cluster & Workload Management > " +
                    "Kubernetes Clusters shows its state)",
                "Nothing in the mesh layer was created. Fix the cause and run `pulumi up` again (the config key " +
                    "meshReadyTimeout sets how long the gate waits, in seconds).",
            ].join("\n"),
        );
    });

    test("an unreachable server names that cause alone", async () => {
        const clock = fakeClock();
        const error = await waitForMesh({
            check: () =>
                Promise.resolve({
                    missing: [
                        {
                            item: "the API server",
                            reason: "connect ECONNREFUSED 127.0.0.1:1",
                            cause: "unreachable" as const,
                        },
                    ],
                    injectors: [],
                }),
            target: "cluster https://127.0.0.1:1",
            timeoutSeconds: 1,
            ...clock,
            log: () => undefined,
        }).catch((e: Error) => e);
        expect((error as Error).message).toBe(
            [
                "mesh readiness gate: cluster https://127.0.0.1:1 is not ready for the mesh layer after 1 s (2 checks); still missing:",
                "  - the API server: connect ECONNREFUSED 127.0.0.1:1",
                "Likely cause:",
                "  - the API server does not answer from this machine: check the kubeconfig's server address, that this " +
                    "machine can reach it (mode=create uses the ACK cluster's public endpoint) and its certificates",
                "Nothing in the mesh layer was created. Fix the cause and run `pulumi up` again (the config key " +
                    "meshReadyTimeout sets how long the gate waits, in seconds).",
            ].join("\n"),
        );
    });
});

describe("when the gate runs again (diff)", () => {
    const olds: GateOutputs = {
        clusterId: "c1",
        apis: APIS,
        timeoutSeconds: 600,
        identity: "c1",
        injectorWebhooks: [],
        waitedSeconds: 40,
    };
    const news: GateInputs = { kubeconfig: ACK_KUBECONFIG, clusterId: "c1", apis: APIS, timeoutSeconds: 600 };

    test("not for a rotated kubeconfig or another timeout of the same cluster", async () => {
        expect(gateChanges(olds, { ...news, kubeconfig: ACK_KUBECONFIG.replace("CERT", "NEW") })).toEqual([]);
        expect(gateChanges(olds, { ...news, timeoutSeconds: 60 })).toEqual([]);
        expect(await readinessProvider.diff("c1", olds, news)).toEqual({ changes: false });
    });

    test("for another cluster or another API version", async () => {
        expect(gateChanges(olds, { ...news, clusterId: "c2" })).toEqual(["clusterId"]);
        expect(gateChanges(olds, { ...news, apis: istioApis("v1") })).toEqual(["apis"]);
        expect(await readinessProvider.diff("c1", olds, { ...news, clusterId: "c2" })).toEqual({ changes: true });
    });

    test("without a cluster id the API server URL is the identity, from the contents or the file", () => {
        const byServer = { ...olds, clusterId: "", identity: "https://47.0.0.10:6443" };
        expect(gateChanges(byServer, { ...news, clusterId: "" })).toEqual([]);
        expect(
            gateChanges(byServer, {
                ...news,
                clusterId: "",
                kubeconfig: ACK_KUBECONFIG.replace("47.0.0.10", "47.0.0.11"),
            }),
        ).toEqual(["kubeconfig"]);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gate-kc-"));
        const file = path.join(dir, "kubeconfig");
        fs.writeFileSync(file, ACK_KUBECONFIG);
        const byPath: GateInputs = { kubeconfigPath: file, clusterId: "", apis: APIS, timeoutSeconds: 600 };
        expect(gateChanges(byServer, byPath)).toEqual([]);
        fs.rmSync(dir, { recursive: true });
        // An unreadable file cannot prove it is the same cluster: the update then reports the problem.
        expect(gateChanges(byServer, byPath)).toEqual(["kubeconfigPath"]);
    });

    test("a refresh keeps the recorded state without touching the cluster", async () => {
        expect(await readinessProvider.read("c1", olds)).toEqual({ id: "c1", props: olds });
    });
});

describe("over HTTPS, with the library's clients", () => {
    let server: https.Server;
    let url = "";
    /** Each request: its path and who the server took the caller for. */
    const seen: Array<{ path?: string; user: string }> = [];
    let injectors: string[] = [];
    /** Hang instead of answering (a server that accepts the connection and says nothing). */
    let hang = false;
    beforeAll(async () => {
        server = https.createServer(
            {
                key: pem("server.key"),
                cert: pem("server.crt"),
                ca: pem("ca.crt"),
                requestCert: true,
                rejectUnauthorized: false,
            },
            (req, res) => {
                const socket = req.socket as import("tls").TLSSocket;
                const user = socket.authorized
                    ? `cert:${String(socket.getPeerCertificate().subject.CN)}`
                    : req.headers.authorization === "Bearer tok"
                      ? "token"
                      : "";
                seen.push({ path: req.url, user });
                if (hang) {
                    return;
                }
                res.setHeader("Content-Type", "application/json");
                if (!user) {
                    res.statusCode = 401;
                    res.end(JSON.stringify({ kind: "Status", message: "Unauthorized" }));
                    return;
                }
                const gv = (req.url ?? "").replace(/^\/prefix\/apis\//, "");
                if (gv === "admissionregistration.k8s.io/v1/mutatingwebhookconfigurations") {
                    const webhooks = injectors.map((name) => ({ name }));
                    res.end(JSON.stringify({ items: [{ metadata: { name: "istio-sidecar-injector" }, webhooks }] }));
                } else if (gv in SERVED) {
                    const plurals = SERVED[gv as keyof typeof SERVED].plurals;
                    res.end(JSON.stringify({ groupVersion: gv, resources: plurals.map((name) => ({ name })) }));
                } else {
                    res.statusCode = 404;
                    res.end(JSON.stringify({ kind: "Status", message: "not found" }));
                }
            },
        );
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        url = `https://127.0.0.1:${(server.address() as net.AddressInfo).port}/prefix`;
    });
    afterAll(() => {
        server.closeAllConnections();
        return new Promise<void>((r) => server.close(() => r()));
    });

    const CA = { "certificate-authority-data": b64(pem("ca.crt")) };
    const ADMIN_CERT = { "client-certificate-data": b64(pem("client.crt")), "client-key-data": b64(pem("client.key")) };

    test("ACK's admin kubeconfig: the server verified against its CA, the client certificate presented, under the path prefix", async () => {
        const api = kubeApi(loadKubeconfig(kubeconfig(url, ADMIN_CERT, CA), "/"));
        const list = await api.apiResources("security.istio.io", "v1beta1");
        expect(list.resources.map((r) => r.name)).toEqual(["peerauthentications", "authorizationpolicies"]);
        expect(seen.at(-1)).toEqual({ path: "/prefix/apis/security.istio.io/v1beta1", user: "cert:kubernetes-admin" });
    });

    test("a bearer token", async () => {
        await kubeApi(loadKubeconfig(kubeconfig(url, { token: "tok" }, CA), "/")).apiResources(
            "security.istio.io",
            "v1beta1",
        );
        expect(seen.at(-1)).toEqual({ path: "/prefix/apis/security.istio.io/v1beta1", user: "token" });
    });

    test("an exec credential plugin (which the hand-written client refused): its token is sent", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gate-exec-"));
        const plugin = path.join(dir, "plugin.js");
        const credential = {
            apiVersion: "client.authentication.k8s.io/v1",
            kind: "ExecCredential",
            status: { token: "tok" },
        };
        fs.writeFileSync(plugin, `process.stdout.write(${JSON.stringify(JSON.stringify(credential))});\n`);
        const exec = { apiVersion: "client.authentication.k8s.io/v1", command: process.execPath, args: [plugin] };
        const api = kubeApi(loadKubeconfig(kubeconfig(url, { exec }, CA), "/"));
        await api.mutatingWebhookConfigurations();
        expect(seen.at(-1)).toEqual({
            path: "/prefix/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
            user: "token",
        });
        fs.rmSync(dir, { recursive: true });
    });

    test("without the cluster's CA the server is not trusted: unreachable, with TLS's reason", async () => {
        const before = seen.length;
        const { missing } = await checkMesh(kubeApi(loadKubeconfig(kubeconfig(url, ADMIN_CERT), "/")), APIS);
        expect(missing).toEqual([
            { item: "the API server", reason: "self-signed certificate in certificate chain", cause: "unreachable" },
        ]);
        expect(seen.length).toBe(before);
    });

    test("refused credentials: every item an auth problem, with the server's word", async () => {
        const { missing } = await checkMesh(
            kubeApi(loadKubeconfig(kubeconfig(url, { token: "wrong" }, CA), "/")),
            APIS,
        );
        expect(missing.map((m) => [m.item, m.cause, m.reason])).toEqual([
            ...APIS.map((a) => [
                `${a.kind} (${a.group}/v1beta1)`,
                "auth",
                `GET /apis/${a.group}/v1beta1: credentials refused (HTTP 401)`,
            ]),
            [
                "the sidecar-injector webhook",
                "auth",
                "GET /apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations: credentials refused (HTTP 401)",
            ],
        ]);
    });

    test("nothing listening: unreachable, with the connection's error", async () => {
        const closed = https.createServer();
        await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
        const port = (closed.address() as net.AddressInfo).port;
        await new Promise<void>((r) => closed.close(() => r()));
        const api = kubeApi(loadKubeconfig(kubeconfig(`https://127.0.0.1:${port}`, { token: "tok" }, CA), "/"));
        expect((await checkMesh(api, APIS)).missing).toEqual([
            { item: "the API server", reason: `connect ECONNREFUSED 127.0.0.1:${port}`, cause: "unreachable" },
        ]);
    });

    test("a server that does not answer: given up after the request timeout", async () => {
        hang = true;
        try {
            const api = kubeApi(loadKubeconfig(kubeconfig(url, { token: "tok" }, CA), "/"), 300);
            expect((await checkMesh(api, APIS)).missing).toEqual([
                { item: "the API server", reason: "no answer within 0.3 s", cause: "unreachable" },
            ]);
        } finally {
            hang = false;
            server.closeAllConnections();
        }
    });

    test("runGate on a ready cluster: outputs record what was found, and no credentials in outputs or lines", async () => {
        injectors = INJECTORS;
        const lines: string[] = [];
        const outs = await runGate(
            { kubeconfig: kubeconfig(url, ADMIN_CERT, CA), clusterId: "", apis: APIS, timeoutSeconds: 5 },
            (l) => lines.push(l),
        );
        expect(outs).toEqual({
            clusterId: "",
            apis: APIS,
            timeoutSeconds: 5,
            identity: url,
            injectorWebhooks: INJECTORS.map((n) => `istio-sidecar-injector/${n}`),
            waitedSeconds: 0,
        });
        expect(lines).toEqual([
            `mesh readiness: checking cluster ${url} for VirtualService, DestinationRule, PeerAuthentication, ` +
                "AuthorizationPolicy at v1beta1 and the sidecar-injector webhook (timeout 5 s)",
        ]);
        const recorded = JSON.stringify({ outs, lines });
        for (const secret of [ADMIN_CERT["client-key-data"], "PRIVATE KEY", "kubeconfig"]) {
            expect(recorded).not.toContain(secret);
        }
    });

    test("with a cluster id, the id is the identity diff compares, not the server URL", async () => {
        injectors = INJECTORS;
        const outs = await runGate(
            { kubeconfig: kubeconfig(url, { token: "tok" }, CA), clusterId: "c1", apis: APIS, timeoutSeconds: 5 },
            () => undefined,
        );
        expect(outs.identity).toBe("c1");
    });

    test("a kubeconfig file that does not exist fails at once, naming it", async () => {
        await expect(
            runGate(
                { kubeconfigPath: "/nonexistent/kubeconfig", clusterId: "c1", apis: APIS, timeoutSeconds: 5 },
                () => undefined,
            ),
        ).rejects.toThrow(/^mesh readiness gate: cannot read the kubeconfig \/nonexistent\/kubeconfig: ENOENT/);
    });

    test("a cluster without the injector fails after the timeout", async () => {
        injectors = [];
        const lines: string[] = [];
        await expect(
            runGate(
                { kubeconfig: kubeconfig(url, { token: "tok" }, CA), clusterId: "c1", apis: APIS, timeoutSeconds: 1 },
                (l) => lines.push(l),
            ),
        ).rejects.toThrow(
            `mesh readiness gate: cluster c1 (${url}) is not ready for the mesh layer after 1 s (2 checks); still missing:\n` +
                "  - the sidecar-injector webhook: no MutatingWebhookConfiguration has a webhook named *.sidecar-injector.istio.io\n" +
                "Likely cause:\n  - the cluster is not attached to the ASM instance",
        );
        expect(lines[1]).toBe(
            `mesh readiness: waiting for cluster c1 (${url}) (0 s of 1 s; next check in 1 s): the sidecar-injector ` +
                "webhook: no MutatingWebhookConfiguration has a webhook named *.sidecar-injector.istio.io",
        );
    });
});
