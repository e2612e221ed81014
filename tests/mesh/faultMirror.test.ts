/** Fault injection and mirroring: rendered into the service's VirtualService, nowhere else. */
import { RouteTarget, routeWeights, virtualServiceManifest } from "../../mesh/canaryRouting";
import { FaultInjection } from "../../config/features";
import { EXISTING_CONFIG, installMocks, ISTIO, one, runProgram } from "../support/harness";
import { ROUTE_TARGET } from "../support/mesh";

const header = { name: "x-canary", value: "always" };
/** hello in demo, subsets v1/v2 on `version`, canaryWeight 10 (tests/support/mesh.ts), the header set. */
const target = (policy: Partial<RouteTarget["policy"]>): RouteTarget => ({
    ...ROUTE_TARGET,
    policy: { ...ROUTE_TARGET.policy, header, ...policy },
});
const delay: FaultInjection = { delay: { fixedDelay: "2s", percentage: { value: 50 } } };
const abort: FaultInjection = { abort: { httpStatus: 503, percentage: { value: 10 } } };

describe("fault injection", () => {
    test("scope canary: on the header route to v2 only", () => {
        const [override, weighted] = virtualServiceManifest(target({ fault: { scope: "canary", injection: delay } }))
            .spec.http!;
        expect(override).toMatchObject({ name: "canary-override", fault: delay });
        expect(weighted).toEqual({ name: "weighted", route: routeWeights("hello", "v1", "v2", 10) });
    });

    test("scope service: on every route", () => {
        const injection = { ...delay, ...abort };
        const http = virtualServiceManifest(target({ fault: { scope: "service", injection } })).spec.http!;
        expect(http.map((r) => r.fault)).toEqual([injection, injection]);
        const noHeader = virtualServiceManifest(
            target({ header: undefined, fault: { scope: "service", injection: abort } }),
        );
        expect(noHeader.spec.http).toEqual([
            { name: "weighted", route: routeWeights("hello", "v1", "v2", 10), fault: abort },
        ]);
    });

    test("in a preview, the upstream schema checks the fault's fields", async () => {
        await installMocks({}, { preview: true });
        const bad = { abort: { httpStatus: "503" } } as unknown as FaultInjection;
        expect(() => virtualServiceManifest(target({ fault: { scope: "service", injection: bad } }))).toThrow(
            /VirtualService demo\/hello does not match the Istio schema: .*httpStatus must be integer/,
        );
    });

    test("from config: a 2s delay on 50% of canary-route requests and aborts on 10% of the service", async () => {
        const run = await runProgram({
            ...EXISTING_CONFIG,
            canaryHeaderName: "x-canary",
            canaryHeaderValue: "always",
            faultDelay: "2s",
            faultDelayPercent: "50",
        });
        const [override, weighted] = one(run.resources, ISTIO.vs).inputs.spec.http;
        expect(override.fault).toEqual(delay);
        expect(weighted.fault).toBeUndefined();
        expect((run.outputs.verify as Record<string, string>).fault).toBe(
            "kubectl -n canary-demo exec deploy/curl -c curl -- sh -c 'for i in $(seq 1 20); do curl -s -o /dev/null " +
                '-w "%{http_code} %{time_total}s\\n" -H "x-canary: always" http://hello/; done\'',
        );

        const service = await runProgram({
            ...EXISTING_CONFIG,
            faultScope: "service",
            faultAbortStatus: "503",
            faultAbortPercent: "10",
        });
        expect(one(service.resources, ISTIO.vs).inputs.spec.http).toEqual([
            { name: "weighted", route: routeWeights("hello", "v1", "v2", 0), fault: abort },
        ]);
    });
});

describe("mirroring", () => {
    test("the weighted route mirrors a percentage to the canary subset (mirror + mirrorPercentage)", () => {
        const [override, weighted] = virtualServiceManifest(target({ canaryWeight: 0, mirrorPercent: 20 })).spec.http!;
        expect(override.mirror).toBeUndefined();
        expect(weighted).toEqual({
            name: "weighted",
            route: routeWeights("hello", "v1", "v2", 0),
            mirror: { host: "hello", subset: "v2" },
            mirrorPercentage: { value: 20 },
        });
        expect(weighted).not.toHaveProperty("mirrors");
    });

    test("from config, with the check in the verify output", async () => {
        const run = await runProgram({ ...EXISTING_CONFIG, mirrorPercent: "30", canaryWeight: "10" });
        const weighted = one(run.resources, ISTIO.vs).inputs.spec.http.at(-1);
        expect(weighted.mirror).toEqual({ host: "hello", subset: "v2" });
        expect(weighted.mirrorPercentage).toEqual({ value: 30 });
        expect(run.outputs.weights).toEqual({ v1: 90, v2: 10 });
        expect((run.outputs.verify as Record<string, string>).mirror).toBe(
            "kubectl -n canary-demo logs deploy/hello-v2 -c istio-proxy --since=5m | grep -c -- '-shadow'",
        );
    });

    test("off by default: the VirtualService is today's", async () => {
        const run = await runProgram(EXISTING_CONFIG);
        expect(one(run.resources, ISTIO.vs).inputs.spec).toEqual({
            hosts: ["hello"],
            http: [{ name: "weighted", route: routeWeights("hello", "v1", "v2", 0) }],
        });
        expect(Object.keys(run.outputs.verify as object)).not.toContain("mirror");
    });
});
