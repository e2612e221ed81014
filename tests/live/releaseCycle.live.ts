/**
 * A whole release of a service described in config, on the live control plane (tools/live-cluster.sh: a
 * real API server, controller-manager, scheduler, istiod with its injector; kwok runs no containers, so any
 * image name will do), with the real engine: the canary at 0, the promotion's steps, finalize, and the next
 * release's canary. Throughout, a watch on the API server records every write to the service's
 * VirtualService, DestinationRule, Deployments and pods, and tests/live/timeline.ts replays them in write
 * order: weight must never point at a subset with no Ready pod, and a Deployment must never be scaled to 0
 * while its subset holds weight, inside any single `pulumi up` as well as between them.
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
    for (const path of [
        `/apis/networking.istio.io/v1/namespaces/${NS}/virtualservices`,
        `/apis/networking.istio.io/v1/namespaces/${NS}/destinationrules`,
        `/apis/apps/v1/namespaces/${NS}/deployments`,
        `/api/v1/namespaces/${NS}/pods`,
    ]) {
        await recorder.watch(path);
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
function snapshotsOf(name: string): Snapshot[] {
    const { from, to } = phases[name];
    return replay(recorder.events, "reviews").snapshots.filter((s) => s.revision > from && s.revision <= to);
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
        const s = snapshotsOf("next release");
        const canaryReady = s.find((x) => x.ready.v2 > 0)?.revision ?? -1;
        const weightOn = s.find((x) => (x.split.v2 ?? 0) > 0)?.revision ?? -1;
        expect({ canaryReady: canaryReady > 0, weightOn: weightOn > 0, readyFirst: canaryReady < weightOn }).toEqual({
            canaryReady: true,
            weightOn: true,
            readyFirst: true,
        });
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
