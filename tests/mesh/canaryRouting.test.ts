import {
    CanaryRouting,
    destinationRuleManifest,
    RouteTarget,
    routeWeights,
    virtualServiceManifest,
} from "../../mesh/canaryRouting";
import type { RoutingPolicy } from "../../config/routing";
import { depsOf, installMocks, ISTIO, one, settle } from "../support/harness";
import { demoWorkloads, ROUTE_TARGET } from "../support/mesh";

/** hello in demo, subsets v1/v2 on `version`, canaryWeight 10 (tests/support/mesh.ts). */
const base = ROUTE_TARGET;
/** The weighted route of `base` (canaryWeight 10), spelled out. */
const WEIGHTED_90_10 = [
    { destination: { host: "hello", subset: "v1" }, weight: 90 },
    { destination: { host: "hello", subset: "v2" }, weight: 10 },
];
/** The base target with more routing policy. */
const withPolicy = (p: Partial<RoutingPolicy>): RouteTarget => ({ ...base, policy: { ...base.policy, ...p } });

describe("weights", () => {
    test.each([
        [0, 100],
        [10, 90],
        [50, 50],
        [100, 0],
    ])("canaryWeight %i: both subsets present, stable gets %i, sum 100", (canary, stable) => {
        const w = routeWeights("hello", "v1", "v2", canary);
        expect(w).toEqual([
            { destination: { host: "hello", subset: "v1" }, weight: stable },
            { destination: { host: "hello", subset: "v2" }, weight: canary },
        ]);
        expect(w[0].weight + w[1].weight).toBe(100);
    });

    test("a weight outside 0-100 or a fraction is refused", () => {
        for (const bad of [-1, 101, 12.5]) {
            expect(() => routeWeights("hello", "v1", "v2", bad)).toThrow(
                /canaryWeight: got .*; must be a whole number from 0 to 100/,
            );
        }
    });

    test("a weight change alters the VirtualService only: the DestinationRule and both names stay", () => {
        const manifests = [0, 10, 50, 100].map((canaryWeight) => {
            const t = withPolicy({ canaryWeight });
            return { dr: destinationRuleManifest(t), vs: virtualServiceManifest(t) };
        });
        for (const m of manifests.slice(1)) {
            expect(m.dr).toEqual(manifests[0].dr);
            expect(m.vs.metadata).toEqual(manifests[0].vs.metadata);
        }
    });
});

describe("manifests", () => {
    test("DestinationRule: one subset per version", () => {
        expect(destinationRuleManifest(base)).toEqual({
            apiVersion: "networking.istio.io/v1beta1",
            kind: "DestinationRule",
            metadata: { name: "hello", namespace: "demo" },
            spec: {
                host: "hello",
                subsets: [
                    { name: "v1", labels: { version: "v1" } },
                    { name: "v2", labels: { version: "v2" } },
                ],
            },
        });
    });

    test("outlier detection goes on the DestinationRule's traffic policy", () => {
        const dr = destinationRuleManifest(
            withPolicy({ outlierDetection: { consecutive5xxErrors: 5, interval: "10s", baseEjectionTime: "30s" } }),
        );
        expect(dr.spec.trafficPolicy).toEqual({
            outlierDetection: { consecutive5xxErrors: 5, interval: "10s", baseEjectionTime: "30s" },
        });
    });

    test("VirtualService: a single weighted route by default", () => {
        const vs = virtualServiceManifest(base);
        expect(vs.spec).toEqual({
            hosts: ["hello"],
            http: [{ name: "weighted", route: WEIGHTED_90_10 }],
        });
    });

    test("header override first, then the weighted split; timeout and retries on both", () => {
        const vs = virtualServiceManifest(
            withPolicy({
                header: { name: "x-canary", value: "always" },
                timeout: "5s",
                retries: { attempts: 3, perTryTimeout: "2s", retryOn: "5xx,reset" },
            }),
        );
        const retries = { attempts: 3, perTryTimeout: "2s", retryOn: "5xx,reset" };
        expect(vs.spec.http).toEqual([
            {
                name: "canary-override",
                match: [{ headers: { "x-canary": { exact: "always" } } }],
                route: [{ destination: { host: "hello", subset: "v2" }, weight: 100 }],
                timeout: "5s",
                retries,
            },
            { name: "weighted", route: WEIGHTED_90_10, timeout: "5s", retries },
        ]);
    });

    test("v1 API version is opt-in", () => {
        expect(virtualServiceManifest({ ...base, apiVersion: "v1" }).apiVersion).toBe("networking.istio.io/v1");
    });

    test("in a preview, the upstream Istio schema rejects a malformed spec", async () => {
        await installMocks({}, { preview: true });
        expect(() =>
            virtualServiceManifest(withPolicy({ retries: { attempts: "three" as unknown as number } })),
        ).toThrow(/VirtualService demo\/hello does not match the Istio schema: .*attempts must be integer/);
        expect(() =>
            destinationRuleManifest(
                withPolicy({
                    outlierDetection: {
                        consecutive5xxErrors: 5,
                        interval: 10 as unknown as string,
                        baseEjectionTime: "30s",
                    },
                }),
            ),
        ).toThrow(/DestinationRule demo\/hello does not match the Istio schema/);
    });

    test("in an update the schema is not compiled: the spec goes as built (the API server checks it against the CRD)", async () => {
        await installMocks({}, { preview: false });
        const malformed = virtualServiceManifest(withPolicy({ retries: { attempts: "three" as unknown as number } }));
        expect(malformed.spec.http?.at(-1)?.retries).toEqual({ attempts: "three" });
    });
});

describe("CanaryRouting component", () => {
    test("builds both objects from the service's workloads and the policy; the VirtualService waits for the DestinationRule", async () => {
        const { rec, namespace, workloads } = await demoWorkloads();
        const route = new CanaryRouting("route-hello", {
            app: workloads.apps[0],
            namespace,
            policy: {
                canaryWeight: 50,
                header: { name: "x-canary", value: "always" },
                timeout: "3s",
                retries: { attempts: 2, retryOn: "5xx" },
                outlierDetection: { consecutive5xxErrors: 7, interval: "10s", baseEjectionTime: "30s" },
            },
            apiVersion: "v1beta1",
        });
        await settle();
        const vs = one(rec.resources, ISTIO.vs, "route-hello-vs");
        expect(vs.inputs.metadata).toEqual({ name: "hello", namespace: "canary-demo" });
        expect(vs.inputs.spec.http.map((h: { name: string }) => h.name)).toEqual(["canary-override", "weighted"]);
        expect(vs.inputs.spec.http[1]).toEqual({
            name: "weighted",
            route: [
                { destination: { host: "hello", subset: "v1" }, weight: 50 },
                { destination: { host: "hello", subset: "v2" }, weight: 50 },
            ],
            timeout: "3s",
            retries: { attempts: 2, retryOn: "5xx" },
        });
        expect(depsOf(rec.resources, vs)).toContain(`${ISTIO.dr}::route-hello-dr`);
        const dr = one(rec.resources, ISTIO.dr, "route-hello-dr");
        expect(dr.inputs.spec).toEqual({
            host: "hello",
            subsets: [
                { name: "v1", labels: { version: "v1" } },
                { name: "v2", labels: { version: "v2" } },
            ],
            trafficPolicy: { outlierDetection: { consecutive5xxErrors: 7, interval: "10s", baseEjectionTime: "30s" } },
        });
        for (const r of [vs, dr]) {
            expect(depsOf(rec.resources, r)).toContain("kubernetes:core/v1:Namespace::namespace");
        }
        expect(route.weights).toEqual({ v1: 50, v2: 50 });
    });
});
