/**
 * The readiness check without a network: kubeconfig parsing, one check against a fake API server, the
 * wait loop on a fake clock (backoff, progress lines, the timeout message), and when the gate re-runs.
 * One test talks HTTP to a local server to cover the real client and `runGate` end to end.
 */
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { istioApis } from "../../../istio/manifests";
import {
    checkMesh,
    gateChanges,
    GateInputs,
    GateOutputs,
    Getter,
    kubeAccess,
    kubeGetter,
    Missing,
    readinessProvider,
    runGate,
    waitForMesh,
} from "../../../foundation/readiness/check";

const APIS = istioApis("v1beta1");
const b64 = (s: string) => Buffer.from(s).toString("base64");

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

describe("kubeAccess", () => {
    test("an ACK kubeconfig: server, CA and client certificate", () => {
        const a = kubeAccess(ACK_KUBECONFIG, "/nowhere");
        expect(a.server).toBe("https://47.0.0.10:6443");
        expect(a.ca?.toString()).toBe("CA PEM");
        expect(a.cert?.toString()).toBe("CERT PEM");
        expect(a.key?.toString()).toBe("KEY PEM");
        expect(a.insecure).toBe(false);
        expect(a.token).toBeUndefined();
    });

    test("files are read relative to the kubeconfig's directory; token, TLS name and insecure flag", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gate-kc-"));
        fs.writeFileSync(path.join(dir, "ca.crt"), "CA FILE");
        fs.writeFileSync(path.join(dir, "token"), "tok-123\n");
        const a = kubeAccess(
            kubeconfig(
                "https://10.0.0.1",
                { tokenFile: "token" },
                {
                    "certificate-authority": "ca.crt",
                    "tls-server-name": "kubernetes",
                    "insecure-skip-tls-verify": true,
                },
            ),
            dir,
        );
        expect(a).toMatchObject({ token: "tok-123", tlsServerName: "kubernetes", insecure: true });
        expect(a.ca?.toString()).toBe("CA FILE");
        fs.rmSync(dir, { recursive: true });
    });

    test("the only context is used when current-context is unset", () => {
        const doc = JSON.parse(kubeconfig("https://x", { token: "t" })) as Record<string, unknown>;
        delete doc["current-context"];
        expect(kubeAccess(JSON.stringify(doc), "/").server).toBe("https://x");
    });

    test("unusable kubeconfigs are refused with the reason", () => {
        expect(() => kubeAccess(kubeconfig("https://x", { exec: { command: "aliyun" } }), "/")).toThrow(
            'the kubeconfig\'s user "u" gets its credentials from an exec or auth-provider plugin, which the mesh ' +
                "readiness gate does not run: use a kubeconfig with a client certificate or a token (ACK's admin " +
                "kubeconfig has one), or set meshReadyTimeout to 0 to skip the gate",
        );
        const doc = JSON.parse(kubeconfig("https://x", {})) as Record<string, unknown>;
        doc["current-context"] = "other";
        expect(() => kubeAccess(JSON.stringify(doc), "/")).toThrow('the kubeconfig has no context named "other"');
        expect(() => kubeAccess("", "/")).toThrow("the kubeconfig is empty or not a YAML mapping");
        expect(() => kubeAccess("a: [", "/")).toThrow(/^the kubeconfig is not valid YAML/);
    });
});

/** A fake API server: discovery answers per group/version, and the webhook configurations. */
function fakeApi(
    discovery: Record<string, { status: number; plurals?: string[]; message?: string }>,
    webhooks: { status: number; names?: string[] } = { status: 200, names: [] },
): { get: Getter; paths: string[] } {
    const paths: string[] = [];
    const get: Getter = (p) => {
        paths.push(p);
        if (p === "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations") {
            const items = [
                {
                    metadata: { name: "istio-sidecar-injector" },
                    webhooks: (webhooks.names ?? []).map((name) => ({ name })),
                },
            ];
            return Promise.resolve({ status: webhooks.status, body: JSON.stringify({ items }) });
        }
        const gv = p.replace(/^\/apis\//, "");
        const d = discovery[gv] ?? { status: 404, message: "the server could not find the requested resource" };
        const body =
            d.status === 200
                ? JSON.stringify({ groupVersion: gv, resources: (d.plurals ?? []).map((name) => ({ name })) })
                : JSON.stringify({ kind: "Status", message: d.message ?? "" });
        return Promise.resolve({ status: d.status, body });
    };
    return { get, paths };
}

const SERVED = {
    "networking.istio.io/v1beta1": { status: 200, plurals: ["virtualservices", "destinationrules", "gateways"] },
    "security.istio.io/v1beta1": { status: 200, plurals: ["peerauthentications", "authorizationpolicies"] },
};
const INJECTORS = ["rev.namespace.sidecar-injector.istio.io", "namespace.sidecar-injector.istio.io"];

describe("checkMesh", () => {
    test("ready: every kind listed and an injector webhook registered; two discovery calls and one list", async () => {
        const api = fakeApi(SERVED, { status: 200, names: INJECTORS });
        expect(await checkMesh(api.get, APIS)).toEqual({
            missing: [],
            injectors: [
                "istio-sidecar-injector/rev.namespace.sidecar-injector.istio.io",
                "istio-sidecar-injector/namespace.sidecar-injector.istio.io",
            ],
        });
        expect(api.paths).toEqual([
            "/apis/networking.istio.io/v1beta1",
            "/apis/security.istio.io/v1beta1",
            "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
        ]);
    });

    test("data-plane KubeAPI access off: the Istio groups are not served (404) and no injector", async () => {
        const { missing } = await checkMesh(fakeApi({}).get, APIS);
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
        const api = fakeApi(
            {
                "networking.istio.io/v1beta1": { status: 503, message: "service unavailable" },
                "security.istio.io/v1beta1": { status: 200, plurals: ["peerauthentications"] },
            },
            { status: 200, names: ["sidecar-injector.istio.io.example.com", "validation.istio.io"] },
        );
        const { missing } = await checkMesh(api.get, APIS);
        expect(missing.map((m) => `${m.item}: ${m.reason}`)).toEqual([
            "VirtualService (networking.istio.io/v1beta1): GET /apis/networking.istio.io/v1beta1: registered but not serving yet (HTTP 503: service unavailable)",
            "DestinationRule (networking.istio.io/v1beta1): GET /apis/networking.istio.io/v1beta1: registered but not serving yet (HTTP 503: service unavailable)",
            "AuthorizationPolicy (security.istio.io/v1beta1): authorizationpolicies not listed by GET /apis/security.istio.io/v1beta1",
            "the sidecar-injector webhook: no MutatingWebhookConfiguration has a webhook named *.sidecar-injector.istio.io",
        ]);
    });

    test("the v1 APIs are asked for at v1", async () => {
        const api = fakeApi({}, { status: 200, names: INJECTORS });
        await checkMesh(api.get, istioApis("v1"));
        expect(api.paths.slice(0, 2)).toEqual(["/apis/networking.istio.io/v1", "/apis/security.istio.io/v1"]);
    });

    test("refused credentials count as an auth problem", async () => {
        const api = fakeApi(
            {
                "networking.istio.io/v1beta1": { status: 403, message: "forbidden" },
                ...{ "security.istio.io/v1beta1": SERVED["security.istio.io/v1beta1"] },
            },
            { status: 403 },
        );
        const { missing } = await checkMesh(api.get, APIS);
        expect(missing.map((m) => m.cause)).toEqual(["auth", "auth", "auth"]);
    });

    test("an unreachable API server is one problem, not one per kind", async () => {
        const get: Getter = () => Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:1"));
        expect(await checkMesh(get, APIS)).toEqual({
            missing: [{ item: "the API server", reason: "connect ECONNREFUSED 127.0.0.1:1", cause: "unreachable" }],
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

describe("runGate over HTTP", () => {
    let server: http.Server;
    let url = "";
    const seen: Array<{ path?: string; auth?: string }> = [];
    let injectors: string[] = [];
    beforeAll(async () => {
        server = http.createServer((req, res) => {
            seen.push({ path: req.url, auth: req.headers.authorization });
            const gv = (req.url ?? "").replace(/^\/prefix\/apis\//, "");
            res.setHeader("Content-Type", "application/json");
            if (gv === "admissionregistration.k8s.io/v1/mutatingwebhookconfigurations") {
                res.end(
                    JSON.stringify({
                        items: [
                            {
                                metadata: { name: "istio-sidecar-injector" },
                                webhooks: injectors.map((name) => ({ name })),
                            },
                        ],
                    }),
                );
            } else if (gv in SERVED) {
                res.end(
                    JSON.stringify({ resources: SERVED[gv as keyof typeof SERVED].plurals.map((name) => ({ name })) }),
                );
            } else {
                res.statusCode = 404;
                res.end(JSON.stringify({ message: "not found" }));
            }
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        url = `http://127.0.0.1:${(server.address() as { port: number }).port}/prefix`;
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    test("the client sends the bearer token under the server's path prefix", async () => {
        const get = kubeGetter(kubeAccess(kubeconfig(url, { token: "tok" }), "/"));
        expect((await get("/apis/security.istio.io/v1beta1")).status).toBe(200);
        expect(seen.at(-1)).toEqual({ path: "/prefix/apis/security.istio.io/v1beta1", auth: "Bearer tok" });
    });

    test("a ready cluster: outputs record what was found and no credentials", async () => {
        injectors = INJECTORS;
        const lines: string[] = [];
        const outs = await runGate(
            { kubeconfig: kubeconfig(url, { token: "tok" }), clusterId: "", apis: APIS, timeoutSeconds: 5 },
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
        expect(JSON.stringify(outs)).not.toContain("tok");
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
                { kubeconfig: kubeconfig(url, { token: "tok" }), clusterId: "c1", apis: APIS, timeoutSeconds: 1 },
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
