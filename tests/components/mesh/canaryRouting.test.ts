import {
    destinationRuleManifest,
    RouteTarget,
    RoutingPolicy,
    routeWeights,
    virtualServiceManifest,
} from "../../../components/mesh/canaryRouting";
import { depsOf, EXISTING_CONFIG, ISTIO, one, runProgram } from "../../support/harness";

const base: RouteTarget = {
    service: "hello",
    namespace: "demo",
    subsets: [
        { name: "v1", labels: { version: "v1" } },
        { name: "v2", labels: { version: "v2" } },
    ],
    apiVersion: "v1beta1",
    policy: { canaryWeight: 10 },
};
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

    test.each([-1, 101, 12.5, NaN])("%p is refused", (bad) => {
        expect(() => routeWeights("hello", "v1", "v2", bad)).toThrow(
            /canaryWeight: got .*; must be a whole number from 0 to 100/,
        );
    });

    test.each([
        ["-1", /canaryWeight: got "-1"/],
        ["101", /canaryWeight: got "101"/],
        ["12.5", /canaryWeight: got "12.5"/],
        ["ten", /canaryWeight: got "ten"/],
    ])("config canaryWeight %s fails the whole program with a clear error", async (value, msg) => {
        await expect(runProgram({ ...EXISTING_CONFIG, canaryWeight: value })).rejects.toThrow(msg);
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
            http: [{ name: "weighted", route: routeWeights("hello", "v1", "v2", 10) }],
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
            { name: "weighted", route: routeWeights("hello", "v1", "v2", 10), timeout: "5s", retries },
        ]);
    });

    test("v1 API version is opt-in", () => {
        expect(virtualServiceManifest({ ...base, apiVersion: "v1" }).apiVersion).toBe("networking.istio.io/v1");
    });

    test("the upstream Istio schema rejects a malformed spec", () => {
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
});

describe("CanaryRouting in the program", () => {
    test("config drives the VirtualService; it depends on the DestinationRule", async () => {
        const run = await runProgram({
            ...EXISTING_CONFIG,
            canaryWeight: "50",
            canaryHeaderName: "x-canary",
            canaryHeaderValue: "always",
            routeTimeout: "3s",
            retryAttempts: "2",
            retryOn: "5xx",
            outlierConsecutive5xx: "7",
        });
        const vs = one(run.resources, ISTIO.vs);
        expect(vs.inputs.spec.http.map((h: { name: string }) => h.name)).toEqual(["canary-override", "weighted"]);
        expect(vs.inputs.spec.http[1]).toEqual({
            name: "weighted",
            route: routeWeights("hello", "v1", "v2", 50),
            timeout: "3s",
            retries: { attempts: 2, retryOn: "5xx" },
        });
        expect(depsOf(run.resources, vs)).toContain(`${ISTIO.dr}::route-hello-dr`);
        expect(one(run.resources, ISTIO.dr).inputs.spec.trafficPolicy.outlierDetection).toEqual({
            consecutive5xxErrors: 7,
            interval: "10s",
            baseEjectionTime: "30s",
        });
        expect(run.outputs.weights).toEqual({ v1: 50, v2: 50 });
    });

    test("reusable for any service: one DestinationRule and VirtualService per configured service", async () => {
        const run = await runProgram({ ...EXISTING_CONFIG, services: '["hello","billing"]', canaryWeight: "20" });
        const hosts = run.resources.filter((r) => r.type === ISTIO.vs).map((r) => r.inputs.spec.hosts[0]);
        expect(hosts.sort()).toEqual(["billing", "hello"]);
        const billing = one(run.resources, ISTIO.vs, "route-billing-vs");
        expect(billing.inputs.spec.http[0].route).toEqual(routeWeights("billing", "v1", "v2", 20));
        expect(depsOf(run.resources, billing)).toContain(`${ISTIO.dr}::route-billing-dr`);
    });
});
