/**
 * Bring your own Deployments: a service the user already runs (config `services[].existing`), next to a
 * demo service. The program registers no Deployment, Service or ServiceAccount for it, only its routing and
 * policies, in its namespace; the subsets select the configured labels; and where the program reaches a
 * cluster, the route waits for the availability check of the user's Deployments.
 */
import { byType, depsOf, EXISTING_CONFIG, ISTIO, one, plain, Recorded, runProgram } from "../support/harness";

const AVAILABLE = "pulumi-nodejs:dynamic:DeploymentAvailability";
const COMPONENT = "asm-canary:mesh:ExistingWorkloads";

const RATINGS = {
    name: "ratings",
    port: 9080,
    protocol: "grpc",
    existing: {
        namespace: "bookinfo",
        stable: { deployment: "ratings-v1", labels: { app: "ratings", version: "v1", track: "stable" } },
        canary: { deployment: "ratings-v2", labels: { app: "ratings", version: "v2", track: "canary" } },
    },
    canaryWeight: 20,
};

const RENDER = {
    ...EXISTING_CONFIG,
    services: JSON.stringify(["hello", RATINGS]),
    canaryWeight: "10",
    authorizationPolicy: "true",
    allowedCallers: '["shop/frontend"]',
    mtlsMode: "STRICT",
};
/** The same stack on a cluster the program reaches (a kubeconfig file): the availability check exists. */
const CLUSTER = { ...RENDER, renderYamlDirectory: "", existingKubeconfigPath: "/home/me/.kube/ack" };

function named(run: { resources: Recorded[] }, type: string, name: string): Recorded {
    const found = byType(run.resources, type).filter((r) => r.inputs.metadata?.name === name);
    expect(found).toHaveLength(1);
    return found[0];
}

/** Every Kubernetes object the program registers, as "kind namespace/name". */
function kubernetesObjects(resources: Recorded[]): string[] {
    return resources
        .filter((r) => r.type.startsWith("kubernetes:") && r.inputs.metadata)
        .map(
            (r) =>
                `${r.inputs.kind ?? r.type.split(":").pop()} ${r.inputs.metadata.namespace ?? ""}/${r.inputs.metadata.name}`,
        )
        .sort();
}

let render: Awaited<ReturnType<typeof runProgram>>;
let cluster: Awaited<ReturnType<typeof runProgram>>;
beforeAll(async () => {
    render = await runProgram(RENDER);
    cluster = await runProgram(CLUSTER);
});

test("no Deployment, Service, ServiceAccount or PDB of the user's is registered: only its routing and policies", () => {
    for (const run of [render, cluster]) {
        const ours = kubernetesObjects(run.resources).filter((o) => o.includes("bookinfo/") || o.includes("ratings"));
        expect(ours).toEqual([
            "AuthorizationPolicy bookinfo/ratings-allow-client",
            "DestinationRule bookinfo/ratings",
            "PeerAuthentication bookinfo/ratings-mtls",
            "VirtualService bookinfo/ratings",
        ]);
        // And no Kubernetes object at all hangs under its component (the check is a dynamic resource).
        const component = one(run.resources, COMPONENT, "existing-ratings");
        expect(run.resources.filter((r) => r.parent === component.urn && r.type.startsWith("kubernetes:"))).toEqual([]);
    }
});

test("each subset selects the configured labels of one version, in the service's namespace", () => {
    const dr = named(render, ISTIO.dr, "ratings").inputs;
    expect(dr.metadata.namespace).toBe("bookinfo");
    expect(dr.spec).toEqual({
        host: "ratings",
        subsets: [
            { name: "v1", labels: { app: "ratings", version: "v1", track: "stable" } },
            { name: "v2", labels: { app: "ratings", version: "v2", track: "canary" } },
        ],
    });
});

test("its VirtualService, next to it, carries its own weight", () => {
    const vs = named(render, ISTIO.vs, "ratings").inputs;
    expect(vs.metadata.namespace).toBe("bookinfo");
    expect(vs.spec.http).toEqual([
        {
            name: "weighted",
            route: [
                { destination: { host: "ratings", subset: "v1" }, weight: 80 },
                { destination: { host: "ratings", subset: "v2" }, weight: 20 },
            ],
        },
    ]);
    expect(render.outputs.serviceWeights).toEqual({ hello: { v1: 90, v2: 10 }, ratings: { v1: 80, v2: 20 } });
    expect(render.outputs.existingServices).toEqual({
        ratings: { namespace: "bookinfo", stable: "ratings-v1", canary: "ratings-v2" },
    });
});

test("the AuthorizationPolicy and the mTLS mode sit on its pods (the labels both versions share), in its namespace", () => {
    const ap = named(render, ISTIO.ap, "ratings-allow-client").inputs;
    expect(ap.metadata.namespace).toBe("bookinfo");
    expect(ap.spec).toEqual({
        selector: { matchLabels: { app: "ratings" } },
        action: "ALLOW",
        rules: [
            {
                from: [
                    { source: { principals: ["*/ns/canary-demo/sa/curl"] } },
                    { source: { principals: ["*/ns/shop/sa/frontend"] } },
                ],
            },
        ],
    });
    expect(named(render, ISTIO.pa, "ratings-mtls").inputs).toEqual({
        apiVersion: "security.istio.io/v1beta1",
        kind: "PeerAuthentication",
        metadata: { name: "ratings-mtls", namespace: "bookinfo" },
        spec: { selector: { matchLabels: { app: "ratings" } }, mtls: { mode: "STRICT" } },
    });
    // The stack's own namespace keeps its namespace-wide policy.
    expect(named(render, ISTIO.pa, "default").inputs.metadata.namespace).toBe("canary-demo");
});

describe("readiness of the user's Deployments gates the route", () => {
    test("rendering YAML (no cluster): no availability check", () => {
        expect(byType(render.resources, AVAILABLE)).toEqual([]);
    });

    test("on a cluster: one check, on its own provider instance, with the weight each Deployment gets", () => {
        const check = one(cluster.resources, AVAILABLE, "existing-ratings-available");
        expect(check.inputs).toMatchObject({
            kubeconfigPath: "/home/me/.kube/ack",
            namespace: "bookinfo",
            weights: { "ratings-v1": 80, "ratings-v2": 20 },
            timeoutSeconds: 600,
        });
        const provider = one(cluster.resources, "pulumi:providers:pulumi-nodejs", "existing-ratings-provider");
        expect(provider.inputs).toEqual({});
        expect(check.provider.slice(0, check.provider.lastIndexOf("::"))).toBe(provider.urn);
        expect(check.inputs.__provider).toMatch(/^exports\.handler = /);
    });

    test("with a header route the canary must be ready even at weight 0 (the route sends it every matching request)", async () => {
        const weights = async (service: object) =>
            one((await runProgram({ ...CLUSTER, services: JSON.stringify([service]) })).resources, AVAILABLE).inputs
                .weights;
        expect(await weights({ ...RATINGS, canaryWeight: 0 })).toEqual({ "ratings-v1": 100, "ratings-v2": 0 });
        expect(await weights({ ...RATINGS, canaryWeight: 0, header: { name: "x-canary", value: "always" } })).toEqual({
            "ratings-v1": 100,
            "ratings-v2": 100,
        });
    });

    test("the VirtualService waits for the check; the check waits for the readiness gate", () => {
        const vs = named(cluster, ISTIO.vs, "ratings");
        expect(depsOf(cluster.resources, vs)).toContain(`${AVAILABLE}::existing-ratings-available`);
        const check = one(cluster.resources, AVAILABLE);
        expect(depsOf(cluster.resources, check)).toEqual(["kubernetes:core/v1:Namespace::namespace"]);
    });

    test("a kubeconfig given as config is passed on as a secret", async () => {
        const kubeconfig = "apiVersion: v1\nkind: Config\nclusters: []\n";
        const run = await runProgram(
            { ...RENDER, renderYamlDirectory: "", existingKubeconfig: kubeconfig, existingClusterId: "c0ffee" },
            { secretKeys: ["existingKubeconfig"] },
        );
        const check = one(run.resources, AVAILABLE);
        expect(plain(check.inputs.kubeconfig)).toBe(kubeconfig);
        expect(check.inputs.kubeconfig).not.toBe(kubeconfig);
        expect(check.inputs.__provider).not.toContain("clusters: []");
    });
});

test("a weight change touches its VirtualService and the check's recorded weights, nothing else", async () => {
    const inputs = async (config: Record<string, string>) =>
        new Map(
            (await runProgram(config)).resources.map((r) => [
                `${r.type}::${r.name}`,
                JSON.stringify([r.inputs, r.parent]),
            ]),
        );
    const base = await inputs(CLUSTER);
    const moved = await inputs({ ...CLUSTER, services: JSON.stringify(["hello", { ...RATINGS, canaryWeight: 50 }]) });
    expect([...moved.keys()].sort()).toEqual([...base.keys()].sort());
    // The check's diff asks the cluster and plans `same` while the Deployments are ready, so the engine's
    // plan shows the VirtualService alone (tests/engine/deploymentAvailability.test.ts).
    expect([...base.keys()].filter((k) => base.get(k) !== moved.get(k))).toEqual([
        `${AVAILABLE}::existing-ratings-available`,
        "kubernetes:networking.istio.io/v1beta1:VirtualService::route-ratings-vs",
    ]);
});

test("a stack without a brought service has no existingServices output", async () => {
    expect((await runProgram(EXISTING_CONFIG)).outputs).not.toHaveProperty("existingServices");
});

test("brought first: the demo client calls it by <name>.<namespace>, the Service's DNS name from its own namespace", async () => {
    const run = await runProgram({ ...EXISTING_CONFIG, services: JSON.stringify([RATINGS]) });
    expect((run.outputs.verify as Record<string, string>).split).toBe(
        "kubectl -n canary-demo exec deploy/curl -c curl -- sh -c 'for i in $(seq 1 50); do curl -s http://ratings.bookinfo:9080/; done' | sort | uniq -c",
    );
});
