/**
 * The release-cycle checker (tests/live/timeline.ts) on written-out write sequences: it must find every
 * broken promise the live test relies on it to find, and none where there is none.
 */
import { replay } from "./timeline";
import type { WatchEvent } from "./watch";

const NS = "shop";
/** Each call is the next write: build a sequence in the order it happens. */
let revision = 100;
const write = (type: string, collection: string, object: any): WatchEvent => ({
    type,
    collection,
    revision: ++revision,
    object: { ...object, metadata: { namespace: NS, ...object.metadata } },
});

const dr = write("ADDED", "destinationrules", {
    metadata: { name: "reviews" },
    spec: {
        host: "reviews",
        subsets: [
            { name: "v1", labels: { app: "reviews", version: "v1" } },
            { name: "v2", labels: { app: "reviews", version: "v2" } },
        ],
    },
});
const vs = (canaryWeight: number, header = false) =>
    write("MODIFIED", "virtualservices", {
        metadata: { name: "reviews" },
        spec: {
            hosts: ["reviews"],
            http: [
                ...(header
                    ? [
                          {
                              name: "canary-override",
                              route: [{ destination: { host: "reviews", subset: "v2" }, weight: 100 }],
                          },
                      ]
                    : []),
                {
                    name: "weighted",
                    route: [
                        { destination: { host: "reviews", subset: "v1" }, weight: 100 - canaryWeight },
                        { destination: { host: "reviews", subset: "v2" }, weight: canaryWeight },
                    ],
                },
            ],
        },
    });
const pod = (name: string, version: string, ready: boolean, type = "MODIFIED") =>
    write(type, "pods", {
        metadata: { name, labels: { app: "reviews", version } },
        status: { conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
    });
const deployment = (version: string, replicas: number, available = replicas) =>
    write("MODIFIED", "deployments", {
        metadata: { name: `reviews-${version}`, generation: 1 },
        spec: {
            replicas,
            template: { metadata: { labels: { app: "reviews", version } }, spec: { containers: [{ image: "r:1" }] } },
        },
        status: {
            observedGeneration: 1,
            replicas: available,
            updatedReplicas: available,
            availableReplicas: available,
        },
    });

test("pods Ready before the weight reaches them, scaled down after it left: no violation", () => {
    const events = [
        dr,
        deployment("v1", 1),
        pod("v1-a", "v1", true, "ADDED"),
        vs(0),
        deployment("v2", 1),
        pod("v2-a", "v2", true, "ADDED"),
        vs(10),
        vs(100),
        vs(0),
        deployment("v2", 0),
        pod("v2-a", "v2", true, "DELETED"),
    ];
    const r = replay(events, "reviews");
    expect(r.violations).toEqual([]);
    expect(r.snapshots.map((s) => s.split.v2 ?? null)).toEqual([null, null, null, 0, 0, 0, 10, 100, 0, 0, 0]);
});

test("weight written before the canary's pod is Ready: a violation at that write", () => {
    const events = [dr, deployment("v1", 1), pod("v1-a", "v1", true), deployment("v2", 1, 0), pod("v2-a", "v2", false)];
    const early = vs(10);
    const r = replay([...events, early, pod("v2-a", "v2", true)], "reviews");
    expect(r.violations).toEqual([
        `revision ${early.revision} (virtualservices MODIFIED reviews): weight on subset v2, which has no Ready pod`,
    ]);
});

test("the canary scaled to 0 while it holds weight, and its last pod going: violations", () => {
    const base = [dr, deployment("v1", 1), pod("v1-a", "v1", true), deployment("v2", 1), pod("v2-a", "v2", true)];
    const full = vs(100);
    const scaled = deployment("v2", 0, 1);
    const gone = pod("v2-a", "v2", true, "DELETED");
    const r = replay([...base, full, scaled, gone, vs(0)], "reviews");
    expect(r.violations).toEqual([
        `revision ${scaled.revision} (deployments MODIFIED reviews-v2): Deployment reviews-v2 scaled to 0 while subset v2 holds weight`,
        `revision ${gone.revision} (pods DELETED v2-a): weight on subset v2, which has no Ready pod`,
        `revision ${gone.revision} (pods DELETED v2-a): Deployment reviews-v2 scaled to 0 while subset v2 holds weight`,
    ]);
});

test("the header route holds the canary even at weight 0", () => {
    const base = [dr, deployment("v1", 1), pod("v1-a", "v1", true), deployment("v2", 1), pod("v2-a", "v2", true)];
    const route = vs(0, true);
    const terminating = write("MODIFIED", "pods", {
        metadata: {
            name: "v2-a",
            labels: { app: "reviews", version: "v2" },
            deletionTimestamp: "2026-12-07T00:00:00Z",
        },
        status: { conditions: [{ type: "Ready", status: "True" }] },
    });
    const r = replay([...base, route, terminating], "reviews");
    expect(r.snapshots.at(-1)!.held).toEqual(["v1", "v2"]);
    expect(r.violations).toEqual([
        `revision ${terminating.revision} (pods MODIFIED v2-a): weight on subset v2, which has no Ready pod`,
    ]);
});

test("weight on a subset the DestinationRule does not define", () => {
    const base = [deployment("v1", 1), pod("v1-a", "v1", true)];
    const route = vs(10);
    const r = replay([...base, route], "reviews");
    expect(r.violations).toEqual([
        `revision ${route.revision} (virtualservices MODIFIED reviews): weight on subset v1, which the DestinationRule does not define`,
        `revision ${route.revision} (virtualservices MODIFIED reviews): weight on subset v2, which the DestinationRule does not define`,
    ]);
});

test("writes are replayed in revision order, not in the order the streams delivered them", () => {
    const base = [dr, deployment("v1", 1), pod("v1-a", "v1", true), deployment("v2", 1, 0), pod("v2-a", "v2", false)];
    const ready = pod("v2-a", "v2", true);
    const route = vs(10);
    // The pod's stream delivered late, but the pod was Ready (revision) before the route was written.
    const r = replay([...base, route, ready], "reviews");
    expect(r.violations).toEqual([]);
    expect(r.snapshots.at(-1)!.ready).toEqual({ v1: 1, v2: 1 });
});

test("a Deployment counts as rolled out only when every replica is updated and available at its latest generation", () => {
    const rolling = write("MODIFIED", "deployments", {
        metadata: { name: "reviews-v1", generation: 2 },
        spec: { replicas: 2, template: { metadata: { labels: {} }, spec: { containers: [{ image: "r:2" }] } } },
        status: { observedGeneration: 2, replicas: 3, updatedReplicas: 1, availableReplicas: 2 },
    });
    const done = write("MODIFIED", "deployments", {
        metadata: { name: "reviews-v1", generation: 2 },
        spec: { replicas: 2, template: { metadata: { labels: {} }, spec: { containers: [{ image: "r:2" }] } } },
        status: { observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 2 },
    });
    const r = replay([rolling, done], "reviews");
    expect(r.snapshots.map((s) => s.deployments["reviews-v1"])).toEqual([
        { replicas: 2, available: 2, image: "r:2", rolledOut: false },
        { replicas: 2, available: 2, image: "r:2", rolledOut: true },
    ]);
});
