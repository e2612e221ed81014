/**
 * The real program, applied by the real Pulumi engine in brownfield mode (mode=existing, a kubeconfig
 * path) to a live Kubernetes + Istio control plane on 127.0.0.1 (tools/live-cluster.sh: kube-apiserver,
 * etcd, controller-manager, scheduler, a kwok fake node, istiod with its injection and validation
 * webhooks). Every check reads the API server itself.
 *
 * One fixture serves every test, in this order, so that it starts only once: the readiness gate's
 * timeout while Istio is absent, then a fresh `up` during which Istio is brought up, then config changes
 * on that stack, then `destroy`. The tests share state and must run in order (`npm run test:live`,
 * jest.live.config.js; `npm test` does not run them).
 */
import { execFile } from "child_process";
import * as fs from "fs";
import { promisify } from "util";
import { telemetryManifest } from "../../mesh/accessLogging";
import { destinationRuleManifest, RouteTarget, virtualServiceManifest } from "../../mesh/canaryRouting";
import { serviceEntryManifest } from "../../mesh/meshEgress";
import { gatewayManifest } from "../../mesh/meshIngress";
import { INGRESS_GATEWAY_POD_LABELS } from "../../config/features";
import { ISTIO_API_VERSIONS, IstioApiVersion, istioApiVersionsOf } from "../../istio/manifests";
import { plan } from "../support/engine";
import { diagnostics, newProgram, Program, setConfig } from "./engine";
import { freePortOffset, LiveCluster } from "./fixture";
import { Kube, kubeClient, objectPath } from "./kube";
import {
    clusterNamed,
    endpointsOf,
    eventually,
    InboundChain,
    inboundChains,
    istioMutualSocket,
    readPushed,
    RouteSummary,
    routesOf,
    virtualHost,
} from "./xds";

const NS = "canary-demo";
const CLUSTER_ID = "live-fixture";
/** The Istio kinds the program creates in mode=existing with a cluster (the ingress Gateway needs mode=create): plural. */
const ISTIO_KINDS = {
    VirtualService: "virtualservices",
    DestinationRule: "destinationrules",
    PeerAuthentication: "peerauthentications",
    AuthorizationPolicy: "authorizationpolicies",
    ServiceEntry: "serviceentries",
    Gateway: "gateways",
    Telemetry: "telemetries",
} as const;
type IstioKind = keyof typeof ISTIO_KINDS;

/** The `<group>/<version>` the program gives a kind at this istioApiVersion (Telemetry: v1alpha1 for v1beta1). */
const apiVersionOf = (kind: IstioKind, v: IstioApiVersion) => istioApiVersionsOf(kind)[ISTIO_API_VERSIONS.indexOf(v)];

let cluster: LiveCluster;
let kube: Kube;
const programs: Program[] = [];
/** The stack every test after the gate's timeout works on. */
let live: Program;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const since = (t0: number) => Math.round((Date.now() - t0) / 1000);

beforeAll(async () => {
    cluster = new LiveCluster(await freePortOffset());
    const t0 = Date.now();
    await cluster.run("up", "--no-istio");
    console.log(`live cluster (no Istio) up in ${since(t0)} s: ${cluster.dir}, port offset ${cluster.portOffset}`);
    kube = kubeClient(cluster.kubeconfig);
}, 5 * 60_000);

afterAll(() => {
    try {
        cluster?.downSync();
    } finally {
        cluster?.remove();
        for (const p of programs) {
            if (process.env.LIVE_TEST_KEEP) {
                console.log(`program copy kept: ${p.work}`);
            } else {
                fs.rmSync(p.work, { recursive: true, force: true });
            }
        }
    }
}, 2 * 60_000);

/** The stack config every stack here starts from: brownfield, the fixture's kubeconfig, the dev stack's mesh settings. */
function baseConfig(meshReadyTimeout: number) {
    return {
        mode: "existing",
        existingKubeconfigPath: cluster.kubeconfig,
        existingClusterId: CLUSTER_ID,
        meshReadyTimeout,
        canaryWeight: 10,
        mtlsMode: "PERMISSIVE",
    };
}

async function program(stackName: string, config: Record<string, string | number>): Promise<Program> {
    const p = await newProgram(stackName);
    programs.push(p);
    setConfig(p, config);
    return p;
}

/** GET that must answer 200; returns the object. */
async function getOk(apiPath: string): Promise<any> {
    const r = await kube.get(apiPath);
    if (r.status !== 200) {
        throw new Error(`GET ${apiPath}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
    }
    return r.body;
}

/** The REST path of an Istio object (or collection) in the namespace, at the kind's API version for `v`. */
const istioPath = (kind: IstioKind, v: IstioApiVersion, name?: string) =>
    objectPath(apiVersionOf(kind, v), ISTIO_KINDS[kind], NS, name);

/** Names of the objects of a kind in the namespace (v1 API; both versions serve the same objects). */
async function istioNames(kind: IstioKind): Promise<string[]> {
    const list = await getOk(istioPath(kind, "v1"));
    return (list.items as any[]).map((o) => o.metadata.name as string).sort();
}

/** The pods of the namespace that are not being deleted. */
async function pods(): Promise<any[]> {
    const list = await getOk(`/api/v1/namespaces/${NS}/pods`);
    return (list.items as any[]).filter((p) => !p.metadata.deletionTimestamp);
}

/** The workloads the program runs for these services: <svc>-v1, <svc>-v2 and the curl client. */
function workloads(services: string[]): { name: string; labels: Record<string, string> }[] {
    return [
        ...services.flatMap((svc) =>
            ["v1", "v2"].map((v) => ({ name: `${svc}-${v}`, labels: { app: svc, version: v } })),
        ),
        { name: "curl", labels: { app: "curl" } },
    ];
}

/**
 * Every Deployment of these services is Available with all replicas updated and ready, and every one of
 * its pods carries an `istio-proxy` sidecar that istiod's injector put there (its status annotation names
 * it; the image is the one istiod injects).
 */
async function expectInjectedAndAvailable(services: string[], replicas: number) {
    const all = await pods();
    for (const w of workloads(services)) {
        const d = await getOk(`/apis/apps/v1/namespaces/${NS}/deployments/${w.name}`);
        const want = w.name === "curl" ? 1 : replicas;
        expect({ name: w.name, replicas: d.spec.replicas }).toEqual({ name: w.name, replicas: want });
        const available = (d.status.conditions ?? []).find((c: any) => c.type === "Available");
        expect({ name: w.name, available: available?.status }).toEqual({ name: w.name, available: "True" });
        expect({
            name: w.name,
            updated: d.status.updatedReplicas,
            ready: d.status.readyReplicas,
            availableReplicas: d.status.availableReplicas,
        }).toEqual({ name: w.name, updated: want, ready: want, availableReplicas: want });

        const mine = all.filter((p) => Object.entries(w.labels).every(([k, v]) => p.metadata.labels?.[k] === v));
        expect({ name: w.name, pods: mine.length }).toEqual({ name: w.name, pods: want });
        for (const p of mine) {
            // Classic sidecar in `containers` on the kwok node; a native one would be an init container.
            const proxies = [...p.spec.containers, ...(p.spec.initContainers ?? [])].filter(
                (c: any) => c.name === "istio-proxy",
            );
            expect({ pod: p.metadata.name, proxies: proxies.map((c: any) => c.image) }).toEqual({
                pod: p.metadata.name,
                proxies: [cluster.proxyImage],
            });
            const status = JSON.parse(p.metadata.annotations?.["sidecar.istio.io/status"] ?? "{}");
            expect({
                pod: p.metadata.name,
                injected: [...(status.containers ?? []), ...(status.initContainers ?? [])],
            }).toEqual({ pod: p.metadata.name, injected: expect.arrayContaining(["istio-proxy"]) });
            expect(p.status.phase).toBe("Running");
        }
    }
}

/** The Envoy cluster of a subset of a demo service (port 80), as istiod names it. */
const subsetCluster = (svc: string, v: "v1" | "v2") => `outbound|80|${v}|${svc}.${NS}.svc.cluster.local`;
/** The route istiod gives a VirtualService's `canary-override` (x-canary: always -> v2): one destination, a plain cluster. */
const overrideRoute = (svc: string): RouteSummary => ({
    name: "canary-override",
    prefix: "/",
    headers: { "x-canary": "always" },
    to: { cluster: subsetCluster(svc, "v2") },
});
/** istiod's retry policy for a route whose VirtualService sets none (the mesh default: 2 attempts). */
const MESH_DEFAULT_RETRIES = {
    retryOn: "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes",
    attempts: 2,
};

/** What the curl sidecar and every pod of every version of the services must be told (see expectPushed). */
interface PushedWant {
    services: readonly string[];
    /** The routes of the curl sidecar's virtual host for `<svc>.<ns>.svc.cluster.local:80`, in order. */
    routes: (svc: string) => RouteSummary[];
    /** The service pods' inbound chains for the targetPort 5678: PERMISSIVE two (mTLS, plaintext), STRICT one. */
    mtlsMode: "PERMISSIVE" | "STRICT";
    /** An AuthorizationPolicy <svc>-allow-client admits the curl identity only. */
    authorization: boolean;
    /** The subset clusters' outlier detection (DestinationRule trafficPolicy). */
    outlierDetection?: Record<string, number | string>;
    /** External hosts (ServiceEntries) that must be clusters of the curl sidecar, on 80 and 443. */
    egressHosts?: string[];
}

/**
 * What istiod pushes to the sidecars (tests/live/xds.ts: a fake sidecar per pod over istiod's plaintext
 * xDS port), until it matches `want` or 20 s have passed (istiod pushes each type on its own, ~0.1 s
 * after a write). Pods are listed afresh on every attempt (a rollout replaces them). For the curl sidecar:
 * the routes of each service's virtual host (order, header match, weights per subset cluster), the
 * ISTIO_MUTUAL transport socket of each subset cluster, and that each subset cluster's endpoints are exactly
 * the pods of its version (the DestinationRule's subset labels). For every pod of <svc>-v1 and <svc>-v2:
 * the inbound chains for the targetPort and their RBAC filter. Every accessor throws when what it reads is
 * missing, so a wrong pod identity or an absent chain fails.
 */
async function expectPushed(want: PushedWant) {
    const xds = `127.0.0.1:${15010 + cluster.portOffset}`;
    const t0 = Date.now();
    let probes = 0;
    await eventually(async () => {
        const all = (await pods()).filter((p) => p.status.phase === "Running" && p.status.podIP);
        const of = (labels: Record<string, string>) =>
            all.filter((p) => Object.entries(labels).every(([k, v]) => p.metadata.labels?.[k] === v));
        const [client] = of({ app: "curl" });
        expect(client).toBeDefined();
        const curl = await readPushed(xds, client);
        probes++;
        for (const svc of want.services) {
            const host = `${svc}.${NS}.svc.cluster.local`;
            expect({ svc, routes: routesOf(virtualHost(curl, host, 80)) }).toEqual({ svc, routes: want.routes(svc) });
            for (const v of ["v1", "v2"] as const) {
                const name = subsetCluster(svc, v);
                const c = clusterNamed(curl, name);
                expect({ cluster: name, socket: istioMutualSocket(c) }).toEqual({
                    cluster: name,
                    socket: {
                        match: { tlsMode: "istio" },
                        socket: "envoy.transport_sockets.tls",
                        type: "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
                        sni: `outbound_.80_.${v}_.${host}`,
                        certificate: ["default"],
                        rootCa: "ROOTCA",
                        subjectAltNames: expect.arrayContaining([`spiffe://cluster.local/ns/${NS}/sa/${svc}-${v}`]),
                        alpn: ["istio-peer-exchange", "istio"],
                    },
                });
                expect({ cluster: name, outlier: c.outlier_detection }).toEqual({
                    cluster: name,
                    outlier: want.outlierDetection,
                });
                const members = of({ app: svc, version: v });
                expect({ cluster: name, pods: members.length > 0 }).toEqual({ cluster: name, pods: true });
                expect({ cluster: name, endpoints: endpointsOf(curl, name) }).toEqual({
                    cluster: name,
                    endpoints: members
                        .map((p) => ({ address: `${p.status.podIP}:5678`, tlsMode: "istio" }))
                        .sort((a, b) => a.address.localeCompare(b.address)),
                });

                const rbac: InboundChain["rbac"] = want.authorization
                    ? {
                          action: "ALLOW",
                          policies: {
                              [`ns[${NS}]-policy[${svc}-allow-client]-rule[0]`]: [`spiffe://.*/ns/${NS}/sa/curl`],
                          },
                      }
                    : null;
                for (const server of members) {
                    const pushed = await readPushed(xds, server);
                    probes++;
                    const chains = inboundChains(pushed, 5678);
                    expect({ pod: server.metadata.name, chains }).toEqual({
                        pod: server.metadata.name,
                        chains:
                            want.mtlsMode === "STRICT"
                                ? [{ transport: "tls", mtls: true, rbac }]
                                : [
                                      { transport: "raw_buffer", mtls: false, rbac },
                                      { transport: "tls", mtls: true, rbac },
                                  ],
                    });
                    // Each pushed principal admits the client's identity, not the service's own (RE2 full match).
                    for (const regex of chains.flatMap((ch) => Object.values(ch.rbac?.policies ?? {}).flat())) {
                        const principal = new RegExp(`^(?:${regex})$`);
                        expect({
                            regex,
                            curl: principal.test(`spiffe://cluster.local/ns/${NS}/sa/curl`),
                            own: principal.test(`spiffe://cluster.local/ns/${NS}/sa/${svc}-${v}`),
                        }).toEqual({ regex, curl: true, own: false });
                    }
                }
            }
        }
        for (const h of want.egressHosts ?? []) {
            for (const port of [80, 443]) {
                expect(clusterNamed(curl, `outbound|${port}||${h}`).type).toBe("STRICT_DNS");
            }
        }
    });
    console.log(`pushed config as expected after ${Date.now() - t0} ms (${probes} probes)`);
}

/** `istioctl analyze` (built from the fixture's Istio module) on the namespace: exit code and output. */
async function analyze(): Promise<{ code: number; output: string }> {
    try {
        const r = await promisify(execFile)(
            cluster.istioctl,
            ["analyze", "--kubeconfig", cluster.kubeconfig, "-n", NS],
            { timeout: 120_000 },
        );
        return { code: 0, output: r.stdout + r.stderr };
    } catch (e: any) {
        return { code: typeof e.code === "number" ? e.code : -1, output: `${e.stdout ?? ""}${e.stderr ?? ""}` };
    }
}

/** `pulumi up` that must succeed; returns the engine's diagnostic lines. */
async function up(p: Program): Promise<string[]> {
    const lines: string[] = [];
    const r = await p.stack.up({ onEvent: diagnostics(lines) });
    expect(r.summary.result).toBe("succeeded");
    return lines;
}

test("readiness gate: with no Istio APIs and no injector, up fails after meshReadyTimeout with the gate's message and creates nothing", async () => {
    const p = await program("gate-timeout", baseConfig(20));
    const lines: string[] = [];
    const t0 = Date.now();
    const error: Error = await p.stack.up({ onEvent: diagnostics(lines) }).then(
        () => new Error("up succeeded"),
        (e: Error) => e,
    );
    const took = since(t0);
    const server = `https://127.0.0.1:${36443 + cluster.portOffset}`;
    const target = `cluster ${CLUSTER_ID} (${server})`;
    expect(error.message).toContain(`mesh readiness gate: ${target} is not ready for the mesh layer after 20 s`);
    for (const missing of [
        "VirtualService (networking.istio.io/v1beta1), DestinationRule (networking.istio.io/v1beta1): GET /apis/networking.istio.io/v1beta1: not served (HTTP 404",
        "the sidecar-injector webhook: no MutatingWebhookConfiguration has a webhook named *.sidecar-injector.istio.io",
        "Nothing in the mesh layer was created.",
    ]) {
        expect(error.message).toContain(missing);
    }
    expect(lines.join("\n")).toContain(`mesh readiness: waiting for ${target}`);
    expect(took).toBeGreaterThanOrEqual(20);

    // Nothing of the stack in the API server: no namespace, no workload, no Service, no Istio API at all.
    expect((await kube.get(`/api/v1/namespaces/${NS}`)).status).toBe(404);
    expect((await getOk("/apis/apps/v1/deployments")).items).toEqual([]);
    expect((await getOk("/api/v1/pods")).items).toEqual([]);
    const services = (await getOk("/api/v1/services")).items.map(
        (s: any) => `${s.metadata.namespace}/${s.metadata.name}`,
    );
    expect(services).toEqual(["default/kubernetes"]);
    expect((await kube.get("/apis/networking.istio.io")).status).toBe(404);
    expect((await kube.get("/apis/security.istio.io")).status).toBe(404);
    // ...and nothing but the provider in the state.
    const state = (await p.stack.exportStack()).deployment.resources ?? [];
    expect(state.map((r: any) => r.type).filter((t: string) => t.startsWith("kubernetes:"))).toEqual([]);
    await p.stack.destroy();
    await p.stack.workspace.removeStack("gate-timeout");
});

test(
    "up from fresh state: the gate waits while Istio is absent, Istio comes up part-way through, and up succeeds",
    async () => {
        live = await program("live", baseConfig(240));
        const lines: string[] = [];
        const t0 = Date.now();
        let done = false;
        const run = live.stack.up({ onEvent: diagnostics(lines) }).finally(() => (done = true));
        // Istio (CRDs, istiod, webhooks) comes up once the gate has reported that it waits, at least 20 s
        // into the up (at most 90 s, in case the engine holds the gate's progress lines back).
        const istio = (async () => {
            while (
                !done &&
                since(t0) < 90 &&
                !(since(t0) >= 20 && lines.some((l) => l.includes("mesh readiness: waiting")))
            ) {
                await sleep(500);
            }
            if (done) {
                return -1;
            }
            const at = since(t0);
            await cluster.run("istio-up");
            console.log(`istio-up started ${at} s into pulumi up, done at ${since(t0)} s`);
            return at;
        })();
        const [result, istioAt] = await Promise.all([run, istio]);
        console.log(`pulumi up (fresh) took ${since(t0)} s`);
        expect(result.summary.result).toBe("succeeded");
        expect(istioAt).toBeGreaterThanOrEqual(20);
        const log = lines.join("\n");
        expect(log).toContain(`mesh readiness: waiting for cluster ${CLUSTER_ID}`);
        const ready = /mesh readiness: cluster \S+ \(\S+\) is ready after (\d+) s/.exec(log);
        expect(ready).not.toBeNull();
        // The gate let the mesh layer through only after Istio had come up.
        expect(Number(ready![1])).toBeGreaterThan(0);
        // In the state: the namespace (and so the whole mesh layer) waited for the gate, which recorded
        // the cluster it passed for.
        const gate = await stateOf("pulumi-nodejs:dynamic:MeshReadiness");
        expect((await stateOf("kubernetes:core/v1:Namespace")).dependencies).toEqual([gate.urn]);
        expect((await live.stack.outputs()).meshReady?.value).toEqual({
            clusterId: CLUSTER_ID,
            istioApiVersion: "v1beta1",
        });
    },
    15 * 60_000,
);

test("the namespace carries the injection label; every hello-v1, hello-v2 and curl pod has istiod's istio-proxy; Deployments are Available", async () => {
    const ns = await getOk(`/api/v1/namespaces/${NS}`);
    expect(ns.metadata.labels["istio-injection"]).toBe("enabled");
    await expectInjectedAndAvailable(["hello"], 1);
});

test("the Service, DestinationRule, VirtualService and PeerAuthentication hold the config's values; no AuthorizationPolicy", async () => {
    const svc = await getOk(`/api/v1/namespaces/${NS}/services/hello`);
    expect(svc.spec.selector).toEqual({ app: "hello" });
    expect(svc.spec.ports).toEqual([
        { name: "http", appProtocol: "http", port: 80, targetPort: 5678, protocol: "TCP" },
    ]);
    const dr = await getOk(istioPath("DestinationRule", "v1beta1", "hello"));
    expect(dr.spec).toEqual({
        host: "hello",
        subsets: [
            { name: "v1", labels: { version: "v1" } },
            { name: "v2", labels: { version: "v2" } },
        ],
    });
    const vs = await getOk(istioPath("VirtualService", "v1beta1", "hello"));
    expect(vs.spec).toEqual({
        hosts: ["hello"],
        http: [
            {
                name: "weighted",
                route: [
                    { destination: { host: "hello", subset: "v1" }, weight: 90 },
                    { destination: { host: "hello", subset: "v2" }, weight: 10 },
                ],
            },
        ],
    });
    const pa = await getOk(istioPath("PeerAuthentication", "v1beta1", "default"));
    expect(pa.spec).toEqual({ mtls: { mode: "PERMISSIVE" } });
    expect(await istioNames("AuthorizationPolicy")).toEqual([]);
});

test("what istiod pushes after the first up: curl is told v1 90 / v2 10 over mTLS to each version's pods; hello's inbound port takes mTLS and plaintext (PERMISSIVE), no RBAC", async () => {
    await expectPushed({
        services: ["hello"],
        routes: (svc) => [
            {
                name: "weighted",
                prefix: "/",
                headers: {},
                to: {
                    weighted: [
                        [subsetCluster(svc, "v1"), 90],
                        [subsetCluster(svc, "v2"), 10],
                    ],
                },
                retries: MESH_DEFAULT_RETRIES,
            },
        ],
        mtlsMode: "PERMISSIVE",
        authorization: false,
    });
});

test("istioctl analyze: no validation issues for the default (dev) settings", async () => {
    const r = await analyze();
    expect(r.output).toContain(`No validation issues found when analyzing namespace: ${NS}.`);
    expect(r.output).not.toMatch(/\b(Warning|Error)\b/);
    expect(r.code).toBe(0);
});

/** The `weighted` route of a VirtualService without retries: v1 and v2 at these weights. */
const weightedRoute = (svc: string, v1: number, v2: number): RouteSummary => ({
    name: "weighted",
    prefix: "/",
    headers: {},
    to: {
        weighted: [
            [subsetCluster(svc, "v1"), v1],
            [subsetCluster(svc, "v2"), v2],
        ],
    },
    retries: MESH_DEFAULT_RETRIES,
});
/** The dev settings' pushed config (one service, PERMISSIVE, no AuthorizationPolicy); routes per step. */
const DEV_PUSHED = { services: ["hello"], mtlsMode: "PERMISSIVE", authorization: false } as const;

/** Sets one key; the engine must plan exactly one update, of `resource`; then up. */
/** A resource of the live stack's state, by type (exactly one). */
async function stateOf(type: string): Promise<{ urn: string; dependencies?: string[] }> {
    const all = ((await live.stack.exportStack()).deployment.resources ?? []).filter((r: any) => r.type === type);
    expect(all.length).toBe(1);
    return all[0];
}

async function changeUpdatesOnly(key: string, value: string | number, resource: string) {
    setConfig(live, { [key]: value });
    const p = await plan(live.stack);
    expect({ counts: p.counts, changed: p.changed.map((s) => ({ op: s.op, name: s.name })) }).toEqual({
        counts: { update: 1 },
        changed: [{ op: "update", name: resource }],
    });
    await up(live);
}

test("canaryWeight 10 -> 0 -> 100: one update each, the VirtualService; curl is told v1 only, then v2 only (istiod drops the 0 % destination)", async () => {
    await changeUpdatesOnly("canaryWeight", 0, "route-hello-vs");
    // The gate passed for this cluster: the step's up did not wait for it (foundation/readiness), and the
    // state says so; it is still there, declared after the routes.
    expect((await stateOf("kubernetes:core/v1:Namespace")).dependencies ?? []).toEqual([]);
    await stateOf("pulumi-nodejs:dynamic:MeshReadiness");
    await expectPushed({
        ...DEV_PUSHED,
        routes: (svc) => [{ ...weightedRoute(svc, 0, 0), to: { weighted: [[subsetCluster(svc, "v1"), 100]] } }],
    });
    await changeUpdatesOnly("canaryWeight", 100, "route-hello-vs");
    await expectPushed({
        ...DEV_PUSHED,
        routes: (svc) => [{ ...weightedRoute(svc, 0, 0), to: { weighted: [[subsetCluster(svc, "v2"), 100]] } }],
    });
});

test("canaryWeight 100 -> 50: exactly one update, the VirtualService; the live object shows 50/50 and curl is told 50/50", async () => {
    await changeUpdatesOnly("canaryWeight", 50, "route-hello-vs");
    const vs = await getOk(istioPath("VirtualService", "v1beta1", "hello"));
    expect(vs.spec.http.at(-1).route.map((r: any) => [r.destination.subset, r.weight])).toEqual([
        ["v1", 50],
        ["v2", 50],
    ]);
    await expectPushed({ ...DEV_PUSHED, routes: (svc) => [weightedRoute(svc, 50, 50)] });
});

test("mtlsMode PERMISSIVE -> STRICT: exactly one update, the PeerAuthentication; the live object shows STRICT; hello's inbound port takes mTLS only", async () => {
    await changeUpdatesOnly("mtlsMode", "STRICT", "security-peer-auth");
    expect((await getOk(istioPath("PeerAuthentication", "v1beta1", "default"))).spec).toEqual({
        mtls: { mode: "STRICT" },
    });
    // Outbound is unchanged (auto mTLS already sent mTLS); hello's inbound port now takes mTLS only.
    await expectPushed({ ...DEV_PUSHED, routes: (svc) => [weightedRoute(svc, 50, 50)], mtlsMode: "STRICT" });
});

test("pulumi refresh, then pulumi preview plans no change (no drift against the live server)", async () => {
    const r = await live.stack.refresh();
    expect(r.summary.result).toBe("succeeded");
    const p = await plan(live.stack);
    expect({ counts: p.counts, changed: p.changed }).toEqual({ counts: {}, changed: [] });
});

/** The prod-like mesh settings (Pulumi.prod.yaml's mesh keys, plus a header override and a second service). */
const PROD_LIKE = {
    mtlsMode: "STRICT",
    authorizationPolicy: true,
    canaryHeaderName: "x-canary",
    canaryHeaderValue: "always",
    retryAttempts: 2,
    retryPerTryTimeout: "2s",
    retryOn: "5xx,connect-failure,reset",
    outlierConsecutive5xx: 5,
    services: ["hello", "world"],
    replicas: 2,
    // The mesh features that mode=existing applies to a cluster: a ServiceEntry and the access-log Telemetry.
    egressHosts: ["httpbin.org"],
    accessLogs: true,
};

test(
    "prod-like settings (STRICT, authorization policy, header override, retries, outlier detection, two services) with an egress host and access logs apply; the objects hold them",
    async () => {
        setConfig(live, PROD_LIKE);
        await up(live);
        await expectInjectedAndAvailable(["hello", "world"], 2);
        for (const svc of ["hello", "world"]) {
            const vs = await getOk(istioPath("VirtualService", "v1beta1", svc));
            const retries = { attempts: 2, perTryTimeout: "2s", retryOn: "5xx,connect-failure,reset" };
            expect(vs.spec).toEqual({
                hosts: [svc],
                http: [
                    {
                        name: "canary-override",
                        match: [{ headers: { "x-canary": { exact: "always" } } }],
                        route: [{ destination: { host: svc, subset: "v2" }, weight: 100 }],
                        retries,
                    },
                    {
                        name: "weighted",
                        route: [
                            { destination: { host: svc, subset: "v1" }, weight: 50 },
                            { destination: { host: svc, subset: "v2" }, weight: 50 },
                        ],
                        retries,
                    },
                ],
            });
            const dr = await getOk(istioPath("DestinationRule", "v1beta1", svc));
            expect(dr.spec.trafficPolicy).toEqual({
                outlierDetection: { consecutive5xxErrors: 5, interval: "10s", baseEjectionTime: "30s" },
            });
            const ap = await getOk(istioPath("AuthorizationPolicy", "v1beta1", `${svc}-allow-client`));
            expect(ap.spec).toEqual({
                selector: { matchLabels: { app: svc } },
                action: "ALLOW",
                rules: [{ from: [{ source: { principals: [`*/ns/${NS}/sa/curl`] } }] }],
            });
        }
        expect(await istioNames("AuthorizationPolicy")).toEqual(["hello-allow-client", "world-allow-client"]);
        expect((await getOk(istioPath("ServiceEntry", "v1beta1", "httpbin.org"))).spec.hosts).toEqual(["httpbin.org"]);
        expect((await getOk(istioPath("Telemetry", "v1beta1", "access-logs"))).spec).toEqual({
            accessLogging: [{ providers: [{ name: "envoy" }] }],
        });
    },
    15 * 60_000,
);

/** What the prod-like settings must push: header override first, 50/50, retries, outlier detection, STRICT, RBAC, egress. */
const PROD_LIKE_PUSHED: PushedWant = {
    services: ["hello", "world"],
    routes: (svc) =>
        [overrideRoute(svc), weightedRoute(svc, 50, 50)].map((r) => ({
            ...r,
            retries: { retryOn: "5xx,connect-failure,reset", attempts: 2, perTryTimeout: "2s" },
        })),
    mtlsMode: "STRICT",
    authorization: true,
    // consecutive5xxErrors 5 also enforces ejection at 100 % and turns the success-rate check off (istiod).
    outlierDetection: {
        consecutive_5xx: 5,
        interval: "10s",
        base_ejection_time: "30s",
        enforcing_consecutive_5xx: 100,
        enforcing_success_rate: 0,
    },
    egressHosts: ["httpbin.org"],
};

test("what istiod pushes for the prod-like settings: curl is told the header route first, then 50/50, with retries and outlier detection, and the egress host; each version's inbound port takes mTLS only and admits the curl identity only", async () => {
    await expectPushed(PROD_LIKE_PUSHED);
});

test("istioctl analyze: no validation issues for the prod-like settings", async () => {
    const r = await analyze();
    expect(r.output).toContain(`No validation issues found when analyzing namespace: ${NS}.`);
    expect(r.output).not.toMatch(/\b(Warning|Error)\b/);
    expect(r.code).toBe(0);
});

/** Every Istio object of the stack (prod-like: two services): kind, object name, Pulumi resource name. */
const ISTIO_OBJECTS: [IstioKind, string, string][] = [
    ["DestinationRule", "hello", "route-hello-dr"],
    ["DestinationRule", "world", "route-world-dr"],
    ["VirtualService", "hello", "route-hello-vs"],
    ["VirtualService", "world", "route-world-vs"],
    ["PeerAuthentication", "default", "security-peer-auth"],
    ["AuthorizationPolicy", "hello-allow-client", "security-hello-authz"],
    ["AuthorizationPolicy", "world-allow-client", "security-world-authz"],
    ["ServiceEntry", "httpbin.org", "egress-httpbin.org"],
    ["Telemetry", "access-logs", "access-logging-telemetry"],
];

/**
 * istioApiVersion from -> to on the deployed stack. The engine must plan an update of each Istio object
 * under its new type and of the readiness gate (it checks the APIs at the new version), nothing else: no
 * create, delete or replace. While `up` runs, every Istio object is polled at both API versions (which
 * serve the same stored object) and must always be there as the same object (same uid). The plan, the
 * up's error and the gaps are gathered first and compared in one assertion, so that a failure shows all
 * three (before the fix: a create and a delete per object, and the objects gone).
 */
async function switchIstioApiVersion(from: IstioApiVersion, to: IstioApiVersion) {
    const uids = new Map<string, string>();
    for (const [kind, name] of ISTIO_OBJECTS) {
        uids.set(`${kind}/${name}`, (await getOk(istioPath(kind, from, name))).metadata.uid);
    }
    setConfig(live, { istioApiVersion: to });
    const p = await plan(live.stack);
    const planned = p.changed.map((s) => `${s.op} ${s.type} ${s.name}`).sort();

    let running = true;
    let rounds = 0;
    const gaps: string[] = [];
    const poller = (async () => {
        while (running) {
            await Promise.all(
                ISTIO_OBJECTS.flatMap(([kind, name]) =>
                    [from, to].map(async (version) => {
                        const r = await kube.get(istioPath(kind, version, name)).catch((e: Error) => ({
                            status: -1,
                            body: e.message,
                        }));
                        if (r.status !== 200) {
                            gaps.push(`${kind}/${name} at ${version}: HTTP ${r.status} in round ${rounds}`);
                        } else if (r.body.metadata.uid !== uids.get(`${kind}/${name}`)) {
                            gaps.push(`${kind}/${name} at ${version}: another object (new uid) in round ${rounds}`);
                        }
                    }),
                ),
            );
            rounds++;
            await sleep(100);
        }
    })();
    const t0 = Date.now();
    let upError = "";
    try {
        await live.stack.up();
    } catch (e) {
        upError = (e as Error).message
            .split("\n")
            .filter((l) => /error|failed/i.test(l))
            .slice(0, 8)
            .join("\n");
    } finally {
        running = false;
        await poller;
    }
    console.log(`istioApiVersion ${from} -> ${to}: up took ${since(t0)} s, ${rounds} polling rounds`);
    expect({ planned, upError, gaps: gaps.slice(0, 12), gapCount: gaps.length }).toEqual({
        planned: [
            ...ISTIO_OBJECTS.map(
                ([kind, , resource]) => `update kubernetes:${apiVersionOf(kind, to)}:${kind} ${resource}`,
            ),
            "update pulumi-nodejs:dynamic:MeshReadiness mesh-ready",
        ].sort(),
        upError: "",
        gaps: [],
        gapCount: 0,
    });
    expect(rounds).toBeGreaterThan(10);
    // The state records every Istio object under the new type, and nothing is left to do.
    const types: string[] = ((await live.stack.exportStack()).deployment.resources ?? []).map((r: any) => r.type);
    expect(types.filter((t) => /istio\.io\//.test(t)).sort()).toEqual(
        ISTIO_OBJECTS.map(([kind]) => `kubernetes:${apiVersionOf(kind, to)}:${kind}`).sort(),
    );
    const again = await plan(live.stack);
    expect({ counts: again.counts, changed: again.changed }).toEqual({ counts: {}, changed: [] });
}

test(
    "istioApiVersion v1beta1 -> v1 on the deployed stack: updates in place, no Istio object ever absent",
    async () => {
        await switchIstioApiVersion("v1beta1", "v1");
    },
    15 * 60_000,
);

test(
    "istioApiVersion v1 -> v1beta1 (back): updates in place, no Istio object ever absent; the sidecars are told the same",
    async () => {
        await switchIstioApiVersion("v1", "v1beta1");
        await expectPushed(PROD_LIKE_PUSHED);
    },
    15 * 60_000,
);

test("fault injection and mirroring (abort 503 for 50 % on the header route, 20 % of traffic mirrored to v2, retries back to the default): curl is told them", async () => {
    // A fault excludes retries (config/stackConfig.ts), so the prod-like retry keys go back to their defaults.
    setConfig(live, {
        retryAttempts: undefined,
        retryPerTryTimeout: undefined,
        retryOn: undefined,
        faultAbortStatus: 503,
        faultAbortPercent: 50,
        mirrorPercent: 20,
    });
    await up(live);
    await expectPushed({
        ...PROD_LIKE_PUSHED,
        routes: (svc) => [
            { ...overrideRoute(svc), retries: MESH_DEFAULT_RETRIES, fault: { abort: { status: 503, percent: 50 } } },
            {
                ...weightedRoute(svc, 50, 50),
                mirrors: [{ cluster: subsetCluster(svc, "v2"), percent: 20 }],
            },
        ],
    });
});

test("the config's edge values build objects istiod's validation accepts (server-side dry run)", async () => {
    // What the config allows at its limits (config/stackConfig.ts refuses what Istio rejects), built by the program's
    // own manifest builders, at both API versions; in a namespace of their own, where no object of the
    // stack has their names.
    const ns = "edge-dry-run";
    expect((await kube.request("POST", "/api/v1/namespaces", { metadata: { name: ns } })).status).toBe(201);
    const subsets = [
        { name: "v1", labels: { version: "v1" } },
        { name: "v2", labels: { version: "v2" } },
    ];
    const objects = ISTIO_API_VERSIONS.flatMap((apiVersion) => {
        const target: RouteTarget = {
            service: "edge",
            namespace: ns,
            subsets,
            apiVersion,
            policy: {
                canaryWeight: 0,
                header: { name: "x-0-canary", value: "A.b_c~d+e-f" },
                timeout: "1ms",
                retries: {
                    attempts: 10,
                    perTryTimeout: "2562047h",
                    retryOn: "503,+429,retriable-status-codes,cancelled",
                },
                outlierDetection: { consecutive5xxErrors: 100, interval: "1ms", baseEjectionTime: "0.001s" },
            },
        };
        // A fault excludes timeout and retries (the config refuses the mix); mirroring at weight 0 up to 100 %.
        const chaos: RouteTarget = {
            ...target,
            policy: {
                canaryWeight: 0,
                header: { name: "x-canary", value: "1" },
                fault: {
                    scope: "service",
                    injection: {
                        delay: { fixedDelay: "2562047h", percentage: { value: 1 } },
                        abort: { httpStatus: 599, percentage: { value: 100 } },
                    },
                },
                mirrorPercent: 100,
            },
        };
        return [
            virtualServiceManifest(target),
            virtualServiceManifest({ ...target, policy: { ...target.policy, canaryWeight: 100 } }),
            virtualServiceManifest(chaos),
            destinationRuleManifest(target),
            serviceEntryManifest(ns, "a.b", apiVersion),
            serviceEntryManifest(
                ns,
                `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(61)}`,
                apiVersion,
            ),
            telemetryManifest(ns, apiVersion),
            // The ingress side (mode=existing only renders it, so it is checked here): the Gateway, and the
            // weighted route bound to the mesh and to it, with the header override and a fault.
            gatewayManifest(ns, ["edge.example.com"], INGRESS_GATEWAY_POD_LABELS, apiVersion),
            virtualServiceManifest({ ...chaos, ingress: { gateway: `${ns}/ingress`, host: "edge.example.com" } }),
        ];
    });
    const answers = [];
    // A dry run stores nothing, so the objects keep the names the program gives them (the host, for a ServiceEntry).
    for (const o of objects) {
        const plural = ISTIO_KINDS[o.kind as IstioKind];
        const r = await kube.request("POST", `${objectPath(o.apiVersion, plural, ns)}?dryRun=All`, o);
        answers.push({ object: `${o.apiVersion} ${o.kind}`, status: r.status, message: r.body?.message });
    }
    expect((await kube.request("DELETE", `/api/v1/namespaces/${ns}`)).status).toBe(200);
    expect(answers).toEqual(
        objects.map((o) => ({ object: `${o.apiVersion} ${o.kind}`, status: 201, message: undefined })),
    );
});

test('an Istio object istiod\'s validation rejects is refused with its reason (VirtualService hosts ["*"] on the mesh gateway)', async () => {
    const r = await kube.request("POST", istioPath("VirtualService", "v1"), {
        apiVersion: "networking.istio.io/v1",
        kind: "VirtualService",
        metadata: { name: "wildcard", namespace: NS },
        spec: { hosts: ["*"], gateways: ["mesh"], http: [{ route: [{ destination: { host: "hello" } }] }] },
    });
    expect(r.status).toBe(400);
    expect(r.body.message).toContain('admission webhook "validation.istio.io" denied the request');
    expect(r.body.message).toContain("wildcard host * is not allowed for virtual services bound to the mesh gateway");
    expect((await kube.get(istioPath("VirtualService", "v1", "wildcard"))).status).toBe(404);
});

test(
    "pulumi destroy leaves no object of the stack in the API server",
    async () => {
        const r = await live.stack.destroy();
        expect(r.summary.result).toBe("succeeded");
        expect((await kube.get(`/api/v1/namespaces/${NS}`)).status).toBe(404);
        // Namespaced objects go with the namespace; check every kind the stack creates across the cluster.
        for (const apiPath of ["/apis/apps/v1/deployments", "/api/v1/pods", "/api/v1/serviceaccounts"]) {
            const left = (await getOk(apiPath)).items.filter((o: any) => o.metadata.namespace === NS);
            expect({ apiPath, left }).toEqual({ apiPath, left: [] });
        }
        const services = (await getOk("/api/v1/services")).items.map(
            (s: any) => `${s.metadata.namespace}/${s.metadata.name}`,
        );
        expect(services.filter((s: string) => s.startsWith(`${NS}/`))).toEqual([]);
        for (const kind of Object.keys(ISTIO_KINDS) as IstioKind[]) {
            const list = await getOk(`/apis/${apiVersionOf(kind, "v1")}/${ISTIO_KINDS[kind]}`);
            expect({ kind, left: list.items }).toEqual({ kind, left: [] });
        }
        expect((await live.stack.exportStack()).deployment.resources ?? []).toEqual([]);
    },
    10 * 60_000,
);
