/**
 * A service of your own, described in config, next to a demo service: the objects it gets and the joins
 * between them (which pods each selector picks, which port the Service reaches, which callers the policy
 * admits), a weight and header per service, and what a change of one service's weight touches.
 */
import { byType, depsOf, EXISTING_CONFIG, ISTIO, Recorded, runProgram } from "../support/harness";

const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const SERVICE = "kubernetes:core/v1:Service";
const PDB = "kubernetes:policy/v1:PodDisruptionBudget";

type Labels = Record<string, string>;

const REVIEWS = {
    name: "reviews",
    port: 9080,
    protocol: "grpc",
    replicas: 2,
    stable: { image: "registry.example.com/shop/reviews:1.4.0" },
    canary: { image: "registry.example.com/shop/reviews:1.5.0", replicas: 1, env: { FEATURE_X: "on" } },
    canaryWeight: 25,
    header: { name: "x-reviews", value: "next" },
    env: { LOG_LEVEL: "info" },
};

const CONFIG = {
    ...EXISTING_CONFIG,
    services: JSON.stringify(["hello", REVIEWS]),
    canaryWeight: "10",
    authorizationPolicy: "true",
    allowedCallers: '["shop/frontend","ops/*"]',
};

function named(run: { resources: Recorded[] }, type: string, name: string): Recorded {
    const found = byType(run.resources, type).filter((r) => r.inputs.metadata.name === name);
    expect(found).toHaveLength(1);
    return found[0];
}

const selects = (selector: Labels, labels: Labels) =>
    Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

let run: Awaited<ReturnType<typeof runProgram>>;
beforeAll(async () => {
    run = await runProgram(CONFIG);
});

function podsOf(selector: Labels): string[] {
    return byType(run.resources, DEPLOYMENT)
        .filter((d) => selects(selector, d.inputs.spec.template.metadata.labels))
        .map((d) => d.inputs.metadata.name)
        .sort();
}

test("the described service gets its own Deployments, ServiceAccounts, Service and PDB; the demo keeps its own", () => {
    expect(
        byType(run.resources, DEPLOYMENT)
            .map((d) => d.name)
            .sort(),
    ).toEqual(["demo-curl", "demo-hello-v1", "demo-hello-v2", "service-reviews-v1", "service-reviews-v2"]);
    expect(byType(run.resources, PDB).map((p) => [p.inputs.metadata.name, p.inputs.spec])).toEqual([
        ["reviews-v1", { maxUnavailable: 1, selector: { matchLabels: { app: "reviews", version: "v1" } } }],
    ]);
    const component = run.resources.find((r) => r.type === "asm-canary:mesh:ServiceWorkloads");
    expect(component?.name).toBe("service-reviews");
});

test("each version runs its own image, replicas, env and ServiceAccount, with a gRPC probe on its port", () => {
    const v1 = named(run, DEPLOYMENT, "reviews-v1").inputs.spec;
    const v2 = named(run, DEPLOYMENT, "reviews-v2").inputs.spec;
    expect(v1.replicas).toBe(2);
    expect(v2.replicas).toBe(1);
    const [c1] = v1.template.spec.containers;
    const [c2] = v2.template.spec.containers;
    expect([c1.image, c2.image]).toEqual([
        "registry.example.com/shop/reviews:1.4.0",
        "registry.example.com/shop/reviews:1.5.0",
    ]);
    expect(c1.env).toEqual([{ name: "LOG_LEVEL", value: "info" }]);
    expect(c2.env).toEqual([
        { name: "LOG_LEVEL", value: "info" },
        { name: "FEATURE_X", value: "on" },
    ]);
    expect([v1.template.spec.serviceAccountName, v2.template.spec.serviceAccountName]).toEqual([
        "reviews-v1",
        "reviews-v2",
    ]);
    expect(c1.ports).toEqual([{ name: "grpc", containerPort: 9080 }]);
    expect(c1.readinessProbe).toEqual({ grpc: { port: 9080 }, periodSeconds: 5 });
    expect(c1.resources).toEqual({ requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "256Mi" } });
    expect(c1.securityContext).toEqual({ allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
    expect(v1.template.spec.securityContext).toEqual({ seccompProfile: { type: "RuntimeDefault" } });
});

test("its Service selects both versions' pods (not the demo's, not the client), on the port they listen on, as gRPC", () => {
    const svc = named(run, SERVICE, "reviews").inputs.spec;
    expect(podsOf(svc.selector)).toEqual(["reviews-v1", "reviews-v2"]);
    // appProtocol and the port name are how Istio knows the protocol (grpc: HTTP/2 routing).
    expect(svc.ports).toEqual([{ name: "grpc", port: 9080, targetPort: 9080, appProtocol: "grpc" }]);
});

test("each subset selects the pods of exactly one of its Deployments", () => {
    const dr = named(run, ISTIO.dr, "reviews").inputs.spec;
    const servicePods = podsOf(named(run, SERVICE, "reviews").inputs.spec.selector);
    const bySubset = Object.fromEntries(
        dr.subsets.map((s: { name: string; labels: Labels }) => [
            s.name,
            podsOf(s.labels).filter((p) => servicePods.includes(p)),
        ]),
    );
    expect(bySubset).toEqual({ v1: ["reviews-v1"], v2: ["reviews-v2"] });
});

test("its own weight and header; the demo service keeps the stack's", () => {
    const reviews = named(run, ISTIO.vs, "reviews").inputs.spec.http;
    expect(reviews.map((r: { name: string }) => r.name)).toEqual(["canary-override", "weighted"]);
    expect(reviews[0].match).toEqual([{ headers: { "x-reviews": { exact: "next" } } }]);
    expect(reviews[1].route).toEqual([
        { destination: { host: "reviews", subset: "v1" }, weight: 75 },
        { destination: { host: "reviews", subset: "v2" }, weight: 25 },
    ]);
    const hello = named(run, ISTIO.vs, "hello").inputs.spec.http;
    expect(hello.map((r: { name: string }) => r.name)).toEqual(["weighted"]);
    expect(hello[0].route[1]).toEqual({ destination: { host: "hello", subset: "v2" }, weight: 10 });
    expect(run.outputs.serviceWeights).toEqual({ hello: { v1: 90, v2: 10 }, reviews: { v1: 75, v2: 25 } });
});

test("the AuthorizationPolicy admits the demo client and the named callers, on exactly the service's pods", () => {
    const ap = named(run, ISTIO.ap, "reviews-allow-client").inputs.spec;
    expect(podsOf(ap.selector.matchLabels)).toEqual(["reviews-v1", "reviews-v2"]);
    expect(ap.rules).toEqual([
        {
            from: [
                { source: { principals: ["*/ns/canary-demo/sa/curl"] } },
                { source: { principals: ["*/ns/shop/sa/frontend"] } },
                { source: { namespaces: ["ops"] } },
            ],
        },
    ]);
});

test("the verify commands call the first service on its own port", async () => {
    const r = await runProgram({ ...EXISTING_CONFIG, services: JSON.stringify([{ ...REVIEWS, protocol: "http" }]) });
    expect((r.outputs.verify as Record<string, string>).split).toBe(
        "kubectl -n canary-demo exec deploy/curl -c curl -- sh -c 'for i in $(seq 1 50); do curl -s http://reviews:9080/; done' | sort | uniq -c",
    );
});

test("without the demo client: no curl Deployment, the callers alone are admitted, no command that needs it", async () => {
    const r = await runProgram({
        ...EXISTING_CONFIG,
        services: JSON.stringify([REVIEWS]),
        demoClient: "false",
        authorizationPolicy: "true",
        allowedCallers: '["shop/frontend"]',
    });
    expect(byType(r.resources, DEPLOYMENT).map((d) => d.inputs.metadata.name)).toEqual(["reviews-v1", "reviews-v2"]);
    expect(r.resources.filter((x) => x.type === "asm-canary:mesh:DemoWorkloads")).toEqual([]);
    expect(named(r, ISTIO.ap, "reviews-allow-client").inputs.spec.rules).toEqual([
        { from: [{ source: { principals: ["*/ns/shop/sa/frontend"] } }] },
    ]);
    expect(Object.keys(r.outputs.verify as object).sort()).toEqual(["istioObjects", "sidecars"]);
});

describe("one object per change, per service", () => {
    async function inputs(config: Record<string, string>): Promise<Map<string, string>> {
        const r = await runProgram(config);
        return new Map(r.resources.map((x) => [`${x.type}::${x.name}`, JSON.stringify([x.inputs, x.parent])]));
    }
    function altered(a: Map<string, string>, b: Map<string, string>): string[] {
        expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
        return [...a.keys()].filter((k) => a.get(k) !== b.get(k));
    }

    test("a service's own weight changes exactly its VirtualService", async () => {
        const base = await inputs(CONFIG);
        const moved = await inputs({
            ...CONFIG,
            services: JSON.stringify(["hello", { ...REVIEWS, canaryWeight: 50 }]),
        });
        expect(altered(base, moved)).toEqual([
            "kubernetes:networking.istio.io/v1beta1:VirtualService::route-reviews-vs",
        ]);
    });

    test("the stack's canaryWeight moves the services without a weight of their own, not the others", async () => {
        const base = await inputs(CONFIG);
        const moved = await inputs({ ...CONFIG, canaryWeight: "50" });
        expect(altered(base, moved)).toEqual(["kubernetes:networking.istio.io/v1beta1:VirtualService::route-hello-vs"]);
    });

    test("a new canary image changes exactly the canary Deployment", async () => {
        const base = await inputs(CONFIG);
        const next = await inputs({
            ...CONFIG,
            services: JSON.stringify([
                "hello",
                { ...REVIEWS, canary: { ...REVIEWS.canary, image: "registry.example.com/shop/reviews:1.6.0" } },
            ]),
        });
        expect(altered(base, next)).toEqual(["kubernetes:apps/v1:Deployment::service-reviews-v2"]);
    });
});

describe("a release finishes: the order inside one `pulumi up`", () => {
    const VS = "kubernetes:networking.istio.io/v1beta1:VirtualService::route-reviews-vs";
    const STABLE_DEPLOYMENT = "kubernetes:apps/v1:Deployment::service-reviews-v1";
    const CANARY_DEPLOYMENT = "kubernetes:apps/v1:Deployment::service-reviews-v2";

    function order(r: { resources: Recorded[] }) {
        const find = (key: string) => r.resources.find((x) => `${x.type}::${x.name}` === key)!;
        return {
            routeWaitsFor: depsOf(r.resources, find(VS)).filter((d) => d.startsWith("kubernetes:apps/v1:Deployment")),
            canaryWaitsForRoute: depsOf(r.resources, find(CANARY_DEPLOYMENT)).includes(VS),
            stableWaitsForRoute: depsOf(r.resources, find(STABLE_DEPLOYMENT)).includes(VS),
        };
    }

    test("while the canary runs, the route waits for both Deployments (weight moves only onto Available pods)", () => {
        expect(order(run)).toEqual({
            routeWaitsFor: [STABLE_DEPLOYMENT, CANARY_DEPLOYMENT],
            canaryWaitsForRoute: false,
            stableWaitsForRoute: false,
        });
    });

    test("finalize (stable on the canary's image, weight 0, canary idle): stable rolls out, then the route, then the canary goes", async () => {
        const finalized = await runProgram({
            ...EXISTING_CONFIG,
            services: JSON.stringify([
                {
                    ...REVIEWS,
                    stable: { image: REVIEWS.canary.image },
                    canary: { ...REVIEWS.canary, replicas: 0 },
                    canaryWeight: 0,
                },
            ]),
        });
        expect(order(finalized)).toEqual({
            routeWaitsFor: [STABLE_DEPLOYMENT],
            canaryWaitsForRoute: true,
            stableWaitsForRoute: false,
        });
        expect(
            byType(finalized.resources, DEPLOYMENT)
                .map((d) => [d.inputs.metadata.name, d.inputs.spec.replicas])
                .sort(),
        ).toEqual([
            ["curl", 1],
            ["reviews-v1", 2],
            ["reviews-v2", 0],
        ]);
    });

    test("an idle canary gets no header route and no mirror (they would send requests to no pods); they return with its replicas", async () => {
        const idle = (replicas: number) =>
            runProgram({
                ...EXISTING_CONFIG,
                mirrorPercent: "20",
                services: JSON.stringify([{ ...REVIEWS, canary: { ...REVIEWS.canary, replicas }, canaryWeight: 0 }]),
            });
        const routes = (r: { resources: Recorded[] }) => named(r, ISTIO.vs, "reviews").inputs.spec.http;
        expect(routes(await idle(0))).toEqual([
            {
                name: "weighted",
                route: [
                    { destination: { host: "reviews", subset: "v1" }, weight: 100 },
                    { destination: { host: "reviews", subset: "v2" }, weight: 0 },
                ],
            },
        ]);
        const back = routes(await idle(1));
        expect(back.map((r: { name: string }) => r.name)).toEqual(["canary-override", "weighted"]);
        expect(back[0].route).toEqual([{ destination: { host: "reviews", subset: "v2" }, weight: 100 }]);
        expect(back[1].mirror).toEqual({ host: "reviews", subset: "v2" });
    });

    test("the demo's route waits for its Deployments too", () => {
        const vs = run.resources.find((x) => x.type === ISTIO.vs && x.name === "route-hello-vs")!;
        expect(depsOf(run.resources, vs).filter((d) => d.startsWith("kubernetes:apps/v1:Deployment"))).toEqual([
            "kubernetes:apps/v1:Deployment::demo-hello-v1",
            "kubernetes:apps/v1:Deployment::demo-hello-v2",
        ]);
    });
});
