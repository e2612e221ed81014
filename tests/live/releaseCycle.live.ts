/**
 * A whole release of a service described in config, on the live control plane (tools/live-cluster.sh: a
 * real API server, controller-manager, scheduler, istiod with its injector; kwok runs no containers, so any
 * image name will do), with the real engine: the canary at 0, the promotion's steps, finalize, and the next
 * release's canary. Throughout, a watch on the API server records every write to the service's
 * VirtualService, DestinationRule, Deployments and pods, and tests/live/timeline.ts replays them in write
 * order: weight must never point at a subset with no Ready pod, and a Deployment must never be scaled to 0
 * while its subset holds weight, inside any single `pulumi up` as well as between them.
 *
 * Then the same for workloads the program does not own (bring your own Deployments): the test creates a
 * namespace, a Service and two Deployments itself; the stack routes them, and the weight waits for the
 * canary's Deployment to become Available.
 *
 * Its own fixture and stack (tests/live/meshCanary.live.ts has the other); the tests share them and run in
 * order (`npm run test:live`).
 */
import * as fs from "fs";
import { plan } from "../support/engine";
import { diagnostics, newProgram, Program, setConfig } from "./engine";
import { freePortOffset, LiveCluster } from "./fixture";
import { Kube, kubeClient } from "./kube";
import { replay, Snapshot } from "./timeline";
import { Recorder } from "./watch";

const NS = "canary-demo";
const IMAGE = "registry.example.com/shop/reviews";
/** The namespace of the workloads the test brings (a Helm release, say): the program must not own them. */
const USER_NS = "bookinfo";

/** The service as docs/services.md walks it: stable 1.4.0 on 2 pods, canary 1.5.0 on 1, its own weight and header. */
const REVIEWS = {
    name: "reviews",
    port: 9080,
    protocol: "http",
    replicas: 2,
    stable: { image: `${IMAGE}:1.4.0` },
    canary: { image: `${IMAGE}:1.5.0`, replicas: 1 },
    canaryWeight: 0,
    header: { name: "x-canary", value: "always" },
    readinessPath: "/healthz",
};

let cluster: LiveCluster;
let kube: Kube;
let recorder: Recorder;
let stack: Program;
/** The revision range of each phase (first and last write the watch saw while it ran). */
const phases: Record<string, { from: number; to: number }> = {};

const since = (t0: number) => Math.round((Date.now() - t0) / 1000);

beforeAll(async () => {
    cluster = new LiveCluster(await freePortOffset());
    const t0 = Date.now();
    await cluster.run("up");
    console.log(`live cluster with Istio up in ${since(t0)} s: ${cluster.dir}, port offset ${cluster.portOffset}`);
    kube = kubeClient(cluster.kubeconfig);
    recorder = new Recorder(cluster.kubeconfig);
    // Namespaced collections can be watched before the namespace exists: the first up creates it.
    for (const ns of [NS, USER_NS]) {
        for (const path of [
            `/apis/networking.istio.io/v1/namespaces/${ns}/virtualservices`,
            `/apis/networking.istio.io/v1/namespaces/${ns}/destinationrules`,
            `/apis/apps/v1/namespaces/${ns}/deployments`,
            `/api/v1/namespaces/${ns}/pods`,
        ]) {
            await recorder.watch(path);
        }
    }
    stack = await newProgram("release");
    setConfig(stack, {
        mode: "existing",
        existingKubeconfigPath: cluster.kubeconfig,
        existingClusterId: "live-fixture",
        meshReadyTimeout: 120,
        mtlsMode: "STRICT",
        authorizationPolicy: true,
        services: [REVIEWS],
    });
}, 8 * 60_000);

afterAll(() => {
    recorder?.stop();
    try {
        cluster?.downSync();
    } finally {
        cluster?.remove();
        if (stack && !process.env.LIVE_TEST_KEEP) {
            fs.rmSync(stack.work, { recursive: true, force: true });
        }
    }
}, 2 * 60_000);

/** The highest revision the watch has seen so far. */
const lastRevision = () => Math.max(0, ...recorder.events.map((e) => e.revision));

/** Runs `pulumi up` as phase `name`, waiting a moment after it for the controllers' last status writes. */
async function phase(name: string): Promise<void> {
    const from = lastRevision();
    const t0 = Date.now();
    const lines: string[] = [];
    const r = await stack.stack.up({ onEvent: diagnostics(lines) });
    expect(r.summary.result).toBe("succeeded");
    await new Promise((resolve) => setTimeout(resolve, 1500));
    phases[name] = { from, to: lastRevision() };
    console.log(`${name}: up ${since(t0)} s, revisions ${from}..${phases[name].to}`);
}

/** Sets the service's config (the keys a release moves), as `pulumi config set --path 'services[0]…'` would. */
function setReviews(change: Record<string, unknown>) {
    setConfig(stack, { services: [{ ...REVIEWS, ...change }] });
}

async function getOk(apiPath: string): Promise<any> {
    const r = await kube.get(apiPath);
    expect({ apiPath, status: r.status }).toEqual({ apiPath, status: 200 });
    return r.body;
}

const vsPath = `/apis/networking.istio.io/v1/namespaces/${NS}/virtualservices/reviews`;
const deploymentPath = (v: string) => `/apis/apps/v1/namespaces/${NS}/deployments/reviews-${v}`;

/** The live VirtualService's routes: name -> [subset, weight] pairs. */
async function liveRoutes(): Promise<Record<string, [string, number][]>> {
    const vs = await getOk(vsPath);
    return Object.fromEntries(
        vs.spec.http.map((r: any) => [r.name, r.route.map((d: any) => [d.destination.subset, d.weight])]),
    );
}

/** Replicas, available replicas and image of each version's Deployment, as stored. */
async function liveDeployments() {
    const out: Record<string, { replicas: number; available: number; image: string }> = {};
    for (const v of ["v1", "v2"]) {
        const d = await getOk(deploymentPath(v));
        out[v] = {
            replicas: d.spec.replicas,
            available: d.status.availableReplicas ?? 0,
            image: d.spec.template.spec.containers[0].image,
        };
    }
    return out;
}

/** The snapshots of one phase, in write order. */
function snapshotsOf(name: string, service = "reviews"): Snapshot[] {
    const { from, to } = phases[name];
    return replay(recorder.events, service).snapshots.filter((s) => s.revision > from && s.revision <= to);
}

/** In these writes, the canary had a Ready pod before the route first gave it weight (and both happened). */
function expectReadyBeforeWeight(s: Snapshot[]) {
    const canaryReady = s.find((x) => x.ready.v2 > 0)?.revision ?? -1;
    const weightOn = s.find((x) => (x.split.v2 ?? 0) > 0)?.revision ?? -1;
    expect({ canaryReady: canaryReady > 0, weightOn: weightOn > 0, readyFirst: canaryReady < weightOn }).toEqual({
        canaryReady: true,
        weightOn: true,
        readyFirst: true,
    });
}

test(
    "canary at 0: stable 1.4.0 on 2 pods, canary 1.5.0 on 1, all the weight on stable, the header route to the canary",
    async () => {
        await phase("first up");
        expect(await liveRoutes()).toEqual({
            "canary-override": [["v2", 100]],
            weighted: [
                ["v1", 100],
                ["v2", 0],
            ],
        });
        expect(await liveDeployments()).toEqual({
            v1: { replicas: 2, available: 2, image: `${IMAGE}:1.4.0` },
            v2: { replicas: 1, available: 1, image: `${IMAGE}:1.5.0` },
        });
    },
    10 * 60_000,
);

test.each([10, 50, 100])(
    "promotion step to %i: the plan updates exactly the VirtualService, and the live route holds the weight",
    async (weight) => {
        setReviews({ canaryWeight: weight });
        const p = await plan(stack.stack);
        expect({ counts: p.counts, changed: p.changed.map((s) => s.name) }).toEqual({
            counts: { update: 1 },
            changed: ["route-reviews-vs"],
        });
        await phase(`step ${weight}`);
        expect((await liveRoutes()).weighted).toEqual([
            ["v1", 100 - weight],
            ["v2", weight],
        ]);
    },
    5 * 60_000,
);

test(
    "finalize in one up: the stable Deployment rolls out to 1.5.0 while the canary holds 100, then the route goes back, then the canary idles",
    async () => {
        // What `npm run promote` sets after the 100 step (promote/run.ts finishRelease) and docs/services.md shows.
        setReviews({
            stable: { image: `${IMAGE}:1.5.0` },
            canary: { image: `${IMAGE}:1.5.0`, replicas: 0 },
            canaryWeight: 0,
        });
        const p = await plan(stack.stack);
        expect(p.changed.map((s) => `${s.op} ${s.name}`).sort()).toEqual([
            "update route-reviews-vs",
            "update service-reviews-v1",
            "update service-reviews-v2",
        ]);
        await phase("finalize");
        expect(await liveRoutes()).toEqual({
            weighted: [
                ["v1", 100],
                ["v2", 0],
            ],
        });
        expect(await liveDeployments()).toEqual({
            v1: { replicas: 2, available: 2, image: `${IMAGE}:1.5.0` },
            v2: { replicas: 0, available: 0, image: `${IMAGE}:1.5.0` },
        });
        // The order, from the writes themselves: the first write with the stable rolled out to 1.5.0, the first
        // with the weight back on it, the first with the canary scaled to 0.
        const s = snapshotsOf("finalize");
        const first = (test: (x: Snapshot) => boolean) => s.find(test)?.revision ?? -1;
        const stableRolledOut = first(
            (x) => x.deployments["reviews-v1"]?.image === `${IMAGE}:1.5.0` && x.deployments["reviews-v1"].rolledOut,
        );
        const routeBack = first((x) => x.split.v1 === 100);
        const canaryIdle = first((x) => x.deployments["reviews-v2"]?.replicas === 0);
        expect({ stableRolledOut: stableRolledOut > 0, routeBack: routeBack > 0, canaryIdle: canaryIdle > 0 }).toEqual({
            stableRolledOut: true,
            routeBack: true,
            canaryIdle: true,
        });
        expect({ stableBeforeRoute: stableRolledOut < routeBack, routeBeforeCanary: routeBack < canaryIdle }).toEqual({
            stableBeforeRoute: true,
            routeBeforeCanary: true,
        });
    },
    10 * 60_000,
);

test(
    "after finalize, pulumi preview plans no change: the config says what runs",
    async () => {
        const p = await plan(stack.stack);
        expect({ counts: p.counts, changed: p.changed }).toEqual({ counts: {}, changed: [] });
    },
    5 * 60_000,
);

test(
    "the next release in one up (canary 1.6.0, 1 replica, weight 10): the weight and the header route wait for its pod",
    async () => {
        setReviews({
            stable: { image: `${IMAGE}:1.5.0` },
            canary: { image: `${IMAGE}:1.6.0`, replicas: 1 },
            canaryWeight: 10,
        });
        await phase("next release");
        expect(await liveRoutes()).toEqual({
            "canary-override": [["v2", 100]],
            weighted: [
                ["v1", 90],
                ["v2", 10],
            ],
        });
        expect(await liveDeployments()).toEqual({
            v1: { replicas: 2, available: 2, image: `${IMAGE}:1.5.0` },
            v2: { replicas: 1, available: 1, image: `${IMAGE}:1.6.0` },
        });
        expectReadyBeforeWeight(snapshotsOf("next release"));
    },
    10 * 60_000,
);

test("throughout the cycle, no write sent weight to a subset without a Ready pod or scaled down a version holding weight", () => {
    expect(recorder.errors).toEqual([]);
    const { snapshots, violations } = replay(recorder.events, "reviews");
    // Not vacuous: the watch saw the whole cycle (the canary at 100, the canary idle, the next canary's pod).
    expect({
        canaryHeld100: snapshots.some((s) => s.split.v2 === 100),
        canaryIdled: snapshots.some((s) => s.deployments["reviews-v2"]?.replicas === 0),
        stableOn150: snapshots.some((s) => s.deployments["reviews-v1"]?.image === `${IMAGE}:1.5.0`),
        canaryOn160: snapshots.some((s) => s.deployments["reviews-v2"]?.image === `${IMAGE}:1.6.0`),
    }).toEqual({ canaryHeld100: true, canaryIdled: true, stableOn150: true, canaryOn160: true });
    console.log(`release cycle: ${snapshots.length} writes replayed, ${violations.length} violations`);
    expect(violations.slice(0, 10)).toEqual([]);
});

/** The finished state of reviews (after the cycle above), kept as is while the brought service is added. */
const REVIEWS_NOW = {
    ...REVIEWS,
    stable: { image: `${IMAGE}:1.5.0` },
    canary: { image: `${IMAGE}:1.6.0`, replicas: 1 },
    canaryWeight: 10,
};
const RATINGS = {
    name: "ratings",
    port: 9080,
    protocol: "http",
    existing: {
        namespace: USER_NS,
        stable: { deployment: "ratings-v1", labels: { app: "ratings", version: "v1" } },
        canary: { deployment: "ratings-v2", labels: { app: "ratings", version: "v2" } },
    },
    canaryWeight: 0,
};

/** A Deployment as the user's own tooling would create it; `unschedulable` keeps its pods Pending. */
function userDeployment(version: string, replicas: number, unschedulable: boolean) {
    return {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: `ratings-${version}`, namespace: USER_NS, labels: { app: "ratings" } },
        spec: {
            replicas,
            selector: { matchLabels: { app: "ratings", version } },
            template: {
                metadata: { labels: { app: "ratings", version } },
                spec: {
                    containers: [
                        {
                            name: "ratings",
                            image: `registry.example.com/shop/ratings:${version === "v1" ? "2.0.0" : "2.1.0"}`,
                            ports: [{ containerPort: 9080 }],
                        },
                    ],
                    // No node carries this label: the pods stay Pending, the Deployment not Available.
                    ...(unschedulable ? { nodeSelector: { "asm-canary.test/never": "true" } } : {}),
                },
            },
        },
    };
}

async function create(apiPath: string, body: unknown) {
    const r = await kube.request("POST", apiPath, body);
    expect({ apiPath, status: r.status, message: r.body?.message }).toEqual({
        apiPath,
        status: 201,
        message: undefined,
    });
    return r.body;
}

/** uid and field managers of the user's objects, to show the stack never wrote them. */
async function userObjects() {
    const out: Record<string, { uid: string; managers: string[] }> = {};
    for (const apiPath of [
        `/apis/apps/v1/namespaces/${USER_NS}/deployments/ratings-v1`,
        `/apis/apps/v1/namespaces/${USER_NS}/deployments/ratings-v2`,
        `/api/v1/namespaces/${USER_NS}/services/ratings`,
    ]) {
        const o = await getOk(apiPath);
        out[apiPath.split("/").slice(-2).join("/")] = {
            uid: o.metadata.uid,
            managers: [
                ...new Set((o.metadata.managedFields ?? []).map((f: any) => f.manager as string)),
            ].sort() as string[],
        };
    }
    return out;
}

let userBefore: Awaited<ReturnType<typeof userObjects>>;

test(
    "bring your own: the stack routes a Service and Deployments the test created itself, and owns none of them",
    async () => {
        await create("/api/v1/namespaces", {
            metadata: { name: USER_NS, labels: { "istio-injection": "enabled" } },
        });
        await create(`/api/v1/namespaces/${USER_NS}/services`, {
            metadata: { name: "ratings" },
            spec: { selector: { app: "ratings" }, ports: [{ name: "http", port: 9080, targetPort: 9080 }] },
        });
        await create(`/apis/apps/v1/namespaces/${USER_NS}/deployments`, userDeployment("v1", 2, false));
        // The canary cannot start yet: the stack must not send it weight until it is Available.
        await create(`/apis/apps/v1/namespaces/${USER_NS}/deployments`, userDeployment("v2", 1, true));
        userBefore = await userObjects();

        setConfig(stack, { services: [REVIEWS_NOW, RATINGS] });
        await phase("bring your own: first up");
        const vs = await getOk(`/apis/networking.istio.io/v1/namespaces/${USER_NS}/virtualservices/ratings`);
        expect(
            vs.spec.http.map((r: any) => [r.name, r.route.map((d: any) => [d.destination.subset, d.weight])]),
        ).toEqual([
            [
                "weighted",
                [
                    ["v1", 100],
                    ["v2", 0],
                ],
            ],
        ]);
        const dr = await getOk(`/apis/networking.istio.io/v1/namespaces/${USER_NS}/destinationrules/ratings`);
        expect(dr.spec.subsets).toEqual([
            { name: "v1", labels: { app: "ratings", version: "v1" } },
            { name: "v2", labels: { app: "ratings", version: "v2" } },
        ]);
        // The stack's state holds no Deployment or Service of the user's namespace.
        const owned = ((await stack.stack.exportStack()).deployment.resources ?? [])
            .filter((r: any) => /:(Deployment|Service)$/.test(r.type) && r.outputs?.metadata?.namespace === USER_NS)
            .map((r: any) => r.urn);
        expect(owned).toEqual([]);
    },
    10 * 60_000,
);

test(
    "bring your own: weight 10 while the canary's Deployment is not Available: the up waits, the route keeps 100/0, and moves only once the canary is Available",
    async () => {
        setConfig(stack, { services: [REVIEWS_NOW, { ...RATINGS, canaryWeight: 10 }] });
        const running = phase("bring your own: step 10");
        // The up is waiting on the canary: after 15 s the live route still sends it nothing.
        await new Promise((r) => setTimeout(r, 15_000));
        const vsPath = `/apis/networking.istio.io/v1/namespaces/${USER_NS}/virtualservices/ratings`;
        const before = await getOk(vsPath);
        expect(before.spec.http.at(-1).route.map((d: any) => d.weight)).toEqual([100, 0]);
        // The user's tooling fixes the canary (a strategic merge patch removing the node selector).
        const fixed = await kube.request(
            "PATCH",
            `/apis/apps/v1/namespaces/${USER_NS}/deployments/ratings-v2`,
            { spec: { template: { spec: { nodeSelector: null } } } },
            "application/strategic-merge-patch+json",
        );
        expect(fixed.status).toBe(200);
        await running;
        const after = await getOk(vsPath);
        expect(after.spec.http.at(-1).route.map((d: any) => d.weight)).toEqual([90, 10]);
        expectReadyBeforeWeight(snapshotsOf("bring your own: step 10", "ratings"));
    },
    10 * 60_000,
);

test("bring your own: the user's Deployments and Service are the same objects, never written by the stack; no write broke the weight rule", async () => {
    const now = await userObjects();
    // Same objects (uid); their fields written by the test's client and the controllers, never by the stack.
    const uids = (o: typeof now) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v.uid]));
    expect(uids(now)).toEqual(uids(userBefore));
    expect(Object.values(now).flatMap((o) => o.managers.filter((m) => m.startsWith("pulumi")))).toEqual([]);
    const { violations } = replay(recorder.events, "ratings");
    expect(violations.slice(0, 10)).toEqual([]);
});
