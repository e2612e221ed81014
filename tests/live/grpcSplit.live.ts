/**
 * A measured split on a real xDS data plane: the program describes a gRPC service (stable 1.0.0 on 2 pods,
 * canary 1.1.0 on 1, a header override) on the live control plane with the real engine, and a proxyless
 * gRPC client (tests/live/proxyless.ts: grpc-go's xDS resolver, fed by istiod as the curl pod's gRPC twin)
 * sends RPCs through istiod's routes and counts which version answered: the split must match the
 * configured weight within a binomial bound, and the header must send every RPC to the canary.
 *
 * What it proves and what not (../../../shared/notes/xds-from-istiod.md): the routing (weights, header
 * match, subsets -> the pods of each version) as a real xDS client applies it; not the sidecar's TLS
 * (grpc's own CDS/LDS have no auto mTLS, the local servers are plaintext).
 *
 * Its own fixture and stack (`npm run test:live` runs the live files one after the other).
 */
import * as fs from "fs";
import { diagnostics, newProgram, Program, setConfig } from "./engine";
import { freePortOffset, LiveCluster } from "./fixture";
import { Kube, kubeClient } from "./kube";
import { measureSplit, Split } from "./proxyless";
import { eventually, readPushed, routesOf, virtualHost } from "./xds";

const NS = "canary-demo";
const IMAGE = "registry.example.com/shop/greeter";
const HOST = `greeter.${NS}.svc.cluster.local`;
const PORT = 50051;
const GREETER = {
    name: "greeter",
    port: PORT,
    protocol: "grpc",
    replicas: 2,
    stable: { image: `${IMAGE}:1.0.0` },
    canary: { image: `${IMAGE}:1.1.0`, replicas: 1 },
    canaryWeight: 10,
    header: { name: "x-canary", value: "always" },
};

/**
 * RPCs per weighted measurement. grpc-go picks a weighted cluster for every RPC independently at random
 * (internal/xds/resolver: wrr.NewRandom), so the canary's count is Binomial(N, w). Bounds below are
 * mean +-4 sigma (sigma = sqrt(N w (1 - w))), rounded inwards:
 *   w = 10 %: mean 200, sigma 13.4 -> 147..253;  w = 50 %: mean 1000, sigma 22.4 -> 911..1089.
 * Exact binomial tails outside them: 7.4e-5 and 6.2e-5, so a correct program fails a run about once in
 * 7000. Still sharp: at 10 % a weight of 14 % passes 4 % of runs, 7 % passes 28 %; a swapped 90/10 never.
 * (+-3 sigma would fail a correct program once in ~190 runs with two checks.)
 */
const N = 2000;
/** RPCs with the override header: deterministic (one route, one destination), so every one must reach v2. */
const N_HEADER = 300;

let cluster: LiveCluster;
let kube: Kube;
let stack: Program;

const since = (t0: number) => Math.round((Date.now() - t0) / 1000);

beforeAll(async () => {
    cluster = new LiveCluster(await freePortOffset());
    const t0 = Date.now();
    await cluster.run("up");
    console.log(`live cluster with Istio up in ${since(t0)} s: ${cluster.dir}, port offset ${cluster.portOffset}`);
    kube = kubeClient(cluster.kubeconfig);
    stack = await newProgram("grpc");
    setConfig(stack, {
        mode: "existing",
        existingKubeconfigPath: cluster.kubeconfig,
        existingClusterId: "live-fixture",
        meshReadyTimeout: 120,
        mtlsMode: "PERMISSIVE",
        services: [GREETER],
    });
}, 8 * 60_000);

afterAll(() => {
    try {
        cluster?.downSync();
    } finally {
        cluster?.remove();
        if (stack && !process.env.LIVE_TEST_KEEP) {
            fs.rmSync(stack.work, { recursive: true, force: true });
        }
    }
}, 2 * 60_000);

async function up(weight: number) {
    setConfig(stack, { services: [{ ...GREETER, canaryWeight: weight }] });
    const t0 = Date.now();
    const lines: string[] = [];
    const r = await stack.stack.up({ onEvent: diagnostics(lines) });
    expect(r.summary.result).toBe("succeeded");
    console.log(`canaryWeight ${weight}: up ${since(t0)} s`);
}

async function getOk(apiPath: string): Promise<any> {
    const r = await kube.get(apiPath);
    expect({ apiPath, status: r.status }).toEqual({ apiPath, status: 200 });
    return r.body;
}

/** The running pods of the namespace with these labels. */
async function podsWith(labels: Record<string, string>): Promise<any[]> {
    const list = await getOk(`/api/v1/namespaces/${NS}/pods`);
    return (list.items as any[]).filter(
        (p) =>
            !p.metadata.deletionTimestamp &&
            p.status.phase === "Running" &&
            p.status.podIP &&
            Object.entries(labels).every(([k, v]) => p.metadata.labels?.[k] === v),
    );
}

/**
 * Waits until istiod has caught up with the stored VirtualService (the curl sidecar's pushed weighted
 * route shows the weights the API server holds; grpc's generator reads the same push context): this only
 * sequences, it does not check the configured weight, which the measurement alone does. Then sends `rpcs`
 * RPCs as curl's proxyless twin. Each greeter pod's `<podIP>:<targetPort>` (the Service's targetPort, as
 * stored) is served locally, answering with the pod's `version` label.
 */
async function measure(weight: number, rpcs: number, header?: string): Promise<Split> {
    const xdsAddress = `127.0.0.1:${15010 + cluster.portOffset}`;
    const [client] = await podsWith({ app: "curl" });
    expect(client).toBeDefined();
    await eventually(async () => {
        const vs = await getOk(`/apis/networking.istio.io/v1/namespaces/${NS}/virtualservices/greeter`);
        const stored = vs.spec.http.find((r: any) => r.name === "weighted")?.route ?? [];
        // istiod drops a 0 % destination (the others stay in weighted_clusters).
        const want = stored
            .filter((d: any) => (d.weight ?? 0) > 0)
            .map((d: any) => [`outbound|${PORT}|${d.destination.subset}|${HOST}`, d.weight]);
        const routes = routesOf(virtualHost(await readPushed(xdsAddress, client), HOST, PORT));
        expect(routes.find((r) => r.name === "weighted")?.to).toEqual({ weighted: want });
    });
    const service = await getOk(`/api/v1/namespaces/${NS}/services/greeter`);
    const targetPort = service.spec.ports[0].targetPort;
    const backends: Record<string, string> = {};
    for (const p of await podsWith({ app: "greeter" })) {
        backends[`${p.status.podIP}:${targetPort}`] = p.metadata.labels.version;
    }
    // 2 stable pods, 1 canary pod: the servers the endpoints may name.
    expect(Object.values(backends).sort()).toEqual(["v1", "v1", "v2"]);
    const t0 = Date.now();
    const split = await measureSplit({ xdsAddress, clientPod: client, host: HOST, port: PORT, backends, rpcs, header });
    console.log(
        `canaryWeight ${weight}${header ? `, header ${header}` : ""}: ${JSON.stringify(split.counts)} of ${rpcs} RPCs, ${split.errors} errors, ${Date.now() - t0} ms`,
    );
    return split;
}

/** The answers as the test compares them: per version, the canary's count checked against [lo, hi]. */
function within(split: Split, lo: number, hi: number) {
    const v2 = split.counts.v2 ?? 0;
    return {
        errors: split.errors,
        firstError: split.firstError,
        total: (split.counts.v1 ?? 0) + v2,
        canaryInBand: v2 >= lo && v2 <= hi ? `${lo}..${hi}` : `${v2} outside ${lo}..${hi}`,
    };
}

test(
    "canaryWeight 10: about 10 % of the RPCs reach v2 (147..253 of 2000), every RPC with x-canary: always reaches v2",
    async () => {
        await up(10);
        expect(within(await measure(10, N), 147, 253)).toEqual({
            errors: 0,
            firstError: "",
            total: N,
            canaryInBand: "147..253",
        });
        const forced = await measure(10, N_HEADER, "x-canary=always");
        expect({ counts: forced.counts, errors: forced.errors }).toEqual({ counts: { v2: N_HEADER }, errors: 0 });
    },
    10 * 60_000,
);

test(
    "canaryWeight 50: about half the RPCs reach v2 (911..1089 of 2000); the header still sends all to v2",
    async () => {
        await up(50);
        expect(within(await measure(50, N), 911, 1089)).toEqual({
            errors: 0,
            firstError: "",
            total: N,
            canaryInBand: "911..1089",
        });
        const forced = await measure(50, N_HEADER, "x-canary=always");
        expect({ counts: forced.counts, errors: forced.errors }).toEqual({ counts: { v2: N_HEADER }, errors: 0 });
    },
    5 * 60_000,
);

test(
    "canaryWeight 0: every RPC reaches v1; the header route still sends every RPC to the idle-weight canary",
    async () => {
        await up(0);
        const all = await measure(0, N_HEADER);
        expect({ counts: all.counts, errors: all.errors }).toEqual({ counts: { v1: N_HEADER }, errors: 0 });
        const forced = await measure(0, N_HEADER, "x-canary=always");
        expect({ counts: forced.counts, errors: forced.errors }).toEqual({ counts: { v2: N_HEADER }, errors: 0 });
    },
    5 * 60_000,
);
