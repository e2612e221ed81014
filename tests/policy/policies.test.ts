/**
 * Each policy of the pack on objects written out here: one that violates it (the message names the object)
 * and one that passes. The policies are called as the framework calls them (validateResource /
 * validateStack with a reportViolation); tests/engine/policy.test.ts runs them in the real engine.
 */
import type {
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";
import {
    canaryRouteSubsets,
    canaryWeightStep,
    meshDeploymentHygiene,
    POLICIES,
    productionAuthorizationPolicy,
    productionDeletionProtection,
    productionEgressRegistryOnly,
    productionMtlsStrict,
    productionNoFaultInjection,
    productionPrivateApiEndpoint,
} from "../../policy/policies";
import { DEFAULT_LEVELS } from "../../policy/packConfig";
import { destinationRuleManifest, virtualServiceManifest } from "../../mesh/canaryRouting";
import { ROUTE_TARGET } from "../support/mesh";

const VS = "kubernetes:networking.istio.io/v1beta1:VirtualService";
const DR = "kubernetes:networking.istio.io/v1beta1:DestinationRule";
const PA = "kubernetes:security.istio.io/v1:PeerAuthentication";
const AP = "kubernetes:security.istio.io/v1beta1:AuthorizationPolicy";
const ACK = "alicloud:cs/managedKubernetes:ManagedKubernetes";
const ASM = "alicloud:servicemesh/serviceMesh:ServiceMesh";

interface Res {
    type: string;
    props: Record<string, any>;
    name?: string;
    protect?: boolean;
}

function resource(r: Res): PolicyResource {
    const name = r.name ?? (r.props.metadata?.name as string) ?? "r";
    return {
        type: r.type,
        props: r.props,
        name,
        urn: `urn:pulumi:test::asm-canary::${r.type}::${name}`,
        opts: { protect: r.protect ?? false } as any,
        dependencies: [],
        propertyDependencies: {},
    } as unknown as PolicyResource;
}

/** The violation messages `policy` reports for one resource. */
function checkResource(policy: ResourceValidationPolicy, r: Res, config: object = {}): string[] {
    const messages: string[] = [];
    const report: ReportViolation = (m) => messages.push(m);
    const args = { ...resource(r), getConfig: () => config } as unknown as ResourceValidationArgs;
    const validate = policy.validateResource;
    (Array.isArray(validate) ? validate : [validate]).forEach((v) => void v?.(args, report));
    return messages;
}

/** The violation messages `policy` reports for a whole stack. */
function checkStack(policy: StackValidationPolicy, rs: Res[], config: object = {}): string[] {
    const messages: string[] = [];
    const args = { resources: rs.map(resource), getConfig: () => config } as unknown as StackValidationArgs;
    void policy.validateStack(args, (m) => messages.push(m));
    return messages;
}

/** A VirtualService hello in demo whose weighted route is `route`. */
const vs = (route: object[], extra: object = {}) => ({
    type: VS,
    props: {
        apiVersion: "networking.istio.io/v1beta1",
        kind: "VirtualService",
        metadata: { name: "hello", namespace: "demo" },
        spec: { hosts: ["hello"], http: [{ name: "weighted", route, ...extra }] },
    },
});
const dest = (subset: string, weight: number) => ({ destination: { host: "hello", subset }, weight });
const dr = (subsets: string[], host = "hello", namespace = "demo") => ({
    type: DR,
    props: {
        kind: "DestinationRule",
        metadata: { name: host, namespace },
        spec: { host, subsets: subsets.map((s) => ({ name: s, labels: { version: s } })) },
    },
});

describe("canary-route-subsets", () => {
    test("stable 90 + canary 10, both subsets in the DestinationRule: passes", () => {
        expect(checkStack(canaryRouteSubsets, [vs([dest("v1", 90), dest("v2", 10)]), dr(["v1", "v2"])])).toEqual([]);
    });

    test("the program's own VirtualService and DestinationRule pass", () => {
        const rs = [
            { type: VS, props: virtualServiceManifest(ROUTE_TARGET) as any },
            { type: DR, props: destinationRuleManifest(ROUTE_TARGET) as any },
        ];
        expect(checkStack(canaryRouteSubsets, rs)).toEqual([]);
    });

    test("only the stable subset: names the VirtualService and the subsets it has", () => {
        expect(checkStack(canaryRouteSubsets, [vs([dest("v1", 100)]), dr(["v1", "v2"])])).toEqual([
            "VirtualService demo/hello: its weighted route (the last HTTP route) must have exactly the subsets v1 and v2; it has v1",
        ]);
    });

    test("a third subset is refused", () => {
        const route = [dest("v1", 80), dest("v2", 10), dest("v3", 10)];
        expect(checkStack(canaryRouteSubsets, [vs(route), dr(["v1", "v2", "v3"])])).toEqual([
            "VirtualService demo/hello: its weighted route (the last HTTP route) must have exactly the subsets v1 and v2; it has v1, v2, v3",
        ]);
    });

    test("weights summing to 95", () => {
        expect(checkStack(canaryRouteSubsets, [vs([dest("v1", 85), dest("v2", 10)]), dr(["v1", "v2"])])).toEqual([
            "VirtualService demo/hello: the weights of its weighted route sum to 95 (v1=85, v2=10); they must sum to 100",
        ]);
    });

    test("the DestinationRule lacks the canary subset", () => {
        expect(checkStack(canaryRouteSubsets, [vs([dest("v1", 90), dest("v2", 10)]), dr(["v1"])])).toEqual([
            "VirtualService demo/hello: DestinationRule demo/hello (host hello) does not define subset v2",
        ]);
    });

    test("no DestinationRule for the host in the VirtualService's namespace", () => {
        const other = dr(["v1", "v2"], "hello", "elsewhere");
        expect(checkStack(canaryRouteSubsets, [vs([dest("v1", 90), dest("v2", 10)]), other])).toEqual([
            "VirtualService demo/hello: no DestinationRule in namespace demo has host hello",
        ]);
    });
});

describe("canary-weight-step", () => {
    const at = (w: number) => vs([dest("v1", 100 - w), dest("v2", w)]);

    test("10 -> 70 with maxStep 50: refused, naming the VirtualService and the step to take", () => {
        expect(checkResource(canaryWeightStep, at(70), { maxStep: 50, previousWeights: { hello: 10 } })).toEqual([
            "VirtualService demo/hello: the canary weight goes from 10 to 70 (+60); one step may raise it by at most 50: take an intermediate step (e.g. 60)",
        ]);
    });

    test("10 -> 60 with maxStep 50: passes (the bound is inclusive)", () => {
        expect(checkResource(canaryWeightStep, at(60), { maxStep: 50, previousWeights: { hello: 10 } })).toEqual([]);
    });

    test("without maxStep the default is 50", () => {
        expect(checkResource(canaryWeightStep, at(61), { previousWeights: { hello: 10 } })).toHaveLength(1);
        expect(checkResource(canaryWeightStep, at(60), { previousWeights: { hello: 10 } })).toEqual([]);
    });

    test("lowering the weight (a rollback) is never refused", () => {
        expect(checkResource(canaryWeightStep, at(0), { maxStep: 5, previousWeights: { hello: 90 } })).toEqual([]);
    });

    test("no previous weight for this VirtualService: nothing to compare", () => {
        expect(checkResource(canaryWeightStep, at(100), { maxStep: 5, previousWeights: { other: 0 } })).toEqual([]);
        expect(checkResource(canaryWeightStep, at(100), {})).toEqual([]);
    });
});

describe("production-mtls-strict", () => {
    const pa = (mode?: string) => ({
        type: PA,
        props: {
            kind: "PeerAuthentication",
            metadata: { name: "default", namespace: "demo" },
            spec: { mtls: { mode } },
        },
    });

    test("PERMISSIVE is refused, naming the PeerAuthentication", () => {
        expect(checkResource(productionMtlsStrict, pa("PERMISSIVE"))).toEqual([
            "PeerAuthentication demo/default: mTLS mode is PERMISSIVE; production needs STRICT (mtlsMode)",
        ]);
    });

    test("no mode (inherits the mesh's) is refused", () => {
        expect(checkResource(productionMtlsStrict, pa(undefined))).toHaveLength(1);
    });

    test("STRICT passes", () => {
        expect(checkResource(productionMtlsStrict, pa("STRICT"))).toEqual([]);
    });
});

describe("production-authorization-policy", () => {
    const ap = (matchLabels: Record<string, string> | undefined, namespace = "demo") => ({
        type: AP,
        props: {
            kind: "AuthorizationPolicy",
            metadata: { name: "hello-allow-client", namespace },
            spec: { selector: matchLabels ? { matchLabels } : undefined, action: "ALLOW", rules: [] },
        },
    });
    const service = {
        type: "kubernetes:core/v1:Service",
        props: { metadata: { name: "hello", namespace: "demo" }, spec: { selector: { app: "hello" } } },
    };
    const deployment = (name: string, labels: Record<string, string>) => ({
        type: "kubernetes:apps/v1:Deployment",
        props: { metadata: { name, namespace: "demo" }, spec: { template: { metadata: { labels } } } },
    });
    const objects = [
        dr(["v1", "v2"]),
        service,
        deployment("hello-v1", { app: "hello", version: "v1" }),
        deployment("hello-v2", { app: "hello", version: "v2" }),
        deployment("curl", { app: "curl" }),
    ];

    test("no AuthorizationPolicy: each Deployment behind the host is named (not the client)", () => {
        expect(checkStack(productionAuthorizationPolicy, objects)).toEqual([
            "Deployment demo/hello-v1 (behind DestinationRule demo/hello): its pods are selected by no AuthorizationPolicy; production needs one (authorizationPolicy true)",
            "Deployment demo/hello-v2 (behind DestinationRule demo/hello): its pods are selected by no AuthorizationPolicy; production needs one (authorizationPolicy true)",
        ]);
    });

    test("a policy on the app's pods passes (the program's: selector = the Service's)", () => {
        expect(checkStack(productionAuthorizationPolicy, [...objects, ap({ app: "hello" })])).toEqual([]);
    });

    test("a namespace-wide policy (no selector) passes", () => {
        expect(checkStack(productionAuthorizationPolicy, [...objects, ap(undefined)])).toEqual([]);
    });

    test("a policy on one version only leaves the other named", () => {
        expect(checkStack(productionAuthorizationPolicy, [...objects, ap({ app: "hello", version: "v1" })])).toEqual([
            "Deployment demo/hello-v2 (behind DestinationRule demo/hello): its pods are selected by no AuthorizationPolicy; production needs one (authorizationPolicy true)",
        ]);
    });

    test("a policy on other pods, or in another namespace, does not count", () => {
        expect(checkStack(productionAuthorizationPolicy, [...objects, ap({ app: "other" })])).toHaveLength(2);
        expect(checkStack(productionAuthorizationPolicy, [...objects, ap({ app: "hello" }, "elsewhere")])).toHaveLength(
            2,
        );
    });
});

describe("production-no-fault-injection", () => {
    test("a delay on the weighted route is refused, naming the route", () => {
        const faulty = vs([dest("v1", 90), dest("v2", 10)], {
            fault: { delay: { fixedDelay: "2s", percentage: { value: 100 } } },
        });
        expect(checkResource(productionNoFaultInjection, faulty)).toEqual([
            "VirtualService demo/hello: route weighted injects faults; production allows none (unset faultDelay and faultAbortStatus)",
        ]);
    });

    test("no fault passes", () => {
        expect(checkResource(productionNoFaultInjection, vs([dest("v1", 90), dest("v2", 10)]))).toEqual([]);
    });
});

describe("production-deletion-protection", () => {
    test("ACK cluster without deletionProtection and not protected: both named", () => {
        expect(
            checkResource(productionDeletionProtection, {
                type: ACK,
                name: "cluster",
                props: { deletionProtection: false },
            }),
        ).toEqual([
            "ACK cluster cluster: deletionProtection is off; production needs it on (deletionProtection)",
            "alicloud:cs/managedKubernetes:ManagedKubernetes cluster: not protected (Pulumi protect); production needs it (deletionProtection)",
        ]);
    });

    test("an unprotected mesh is refused", () => {
        expect(checkResource(productionDeletionProtection, { type: ASM, name: "mesh", props: {} })).toEqual([
            "alicloud:servicemesh/serviceMesh:ServiceMesh mesh: not protected (Pulumi protect); production needs it (deletionProtection)",
        ]);
    });

    test("deletionProtection on and protect set: passes", () => {
        const ok = { type: ACK, name: "cluster", props: { deletionProtection: true }, protect: true };
        expect(checkResource(productionDeletionProtection, ok)).toEqual([]);
        expect(
            checkResource(productionDeletionProtection, { type: ASM, name: "mesh", props: {}, protect: true }),
        ).toEqual([]);
    });
});

describe("production-private-api-endpoint", () => {
    test("a public ACK API server is refused", () => {
        expect(
            checkResource(productionPrivateApiEndpoint, {
                type: ACK,
                name: "cluster",
                props: { slbInternetEnabled: true },
            }),
        ).toEqual([
            "ACK cluster cluster: its API server has a public endpoint (slbInternetEnabled); production keeps it private (apiServerPublic false)",
        ]);
    });

    test("a public ASM API server is refused", () => {
        const mesh = { type: ASM, name: "mesh", props: { loadBalancer: { apiServerPublicEip: true } } };
        expect(checkResource(productionPrivateApiEndpoint, mesh)).toEqual([
            "ASM mesh mesh: its API server has a public endpoint (loadBalancer.apiServerPublicEip); production keeps it private (meshApiServerPublic false)",
        ]);
    });

    test("private endpoints pass", () => {
        expect(
            checkResource(productionPrivateApiEndpoint, {
                type: ACK,
                name: "cluster",
                props: { slbInternetEnabled: false },
            }),
        ).toEqual([]);
        const mesh = { type: ASM, name: "mesh", props: { loadBalancer: { apiServerPublicEip: false } } };
        expect(checkResource(productionPrivateApiEndpoint, mesh)).toEqual([]);
    });
});

describe("production-egress-registry-only", () => {
    const mesh = (outboundTrafficPolicy?: string) => ({
        type: ASM,
        name: "mesh",
        props: { meshConfig: outboundTrafficPolicy ? { outboundTrafficPolicy } : undefined },
    });

    test("ALLOW_ANY is reported, naming the mesh", () => {
        expect(checkResource(productionEgressRegistryOnly, mesh("ALLOW_ANY"))).toEqual([
            "ASM mesh mesh: outboundTrafficPolicy is ALLOW_ANY; production should be REGISTRY_ONLY (outboundTrafficPolicy, with egressHosts for the external hosts needed)",
        ]);
    });

    test("no meshConfig (ASM's default) is reported", () => {
        expect(checkResource(productionEgressRegistryOnly, mesh(undefined))).toHaveLength(1);
    });

    test("REGISTRY_ONLY passes", () => {
        expect(checkResource(productionEgressRegistryOnly, mesh("REGISTRY_ONLY"))).toEqual([]);
    });
});

describe("mesh-deployment-hygiene", () => {
    const namespace = (labels: Record<string, string>) => ({
        type: "kubernetes:core/v1:Namespace",
        props: { metadata: { name: "demo", labels } },
    });
    const container = {
        name: "app",
        resources: { limits: { cpu: "100m", memory: "64Mi" } },
        readinessProbe: { httpGet: { path: "/", port: 5678 } },
    };
    const deployment = (c: object, podLabels: Record<string, string> = {}, ns = "demo") => ({
        type: "kubernetes:apps/v1:Deployment",
        props: {
            metadata: { name: "hello-v1", namespace: ns },
            spec: { template: { metadata: { labels: podLabels }, spec: { containers: [c] } } },
        },
    });
    const injected = namespace({ "istio-injection": "enabled" });
    const meshObject = dr(["v1", "v2"]);

    test("limits, probe, injecting namespace: passes", () => {
        expect(checkStack(meshDeploymentHygiene, [injected, meshObject, deployment(container)])).toEqual([]);
    });

    test("no limits and no readiness probe: both named", () => {
        expect(checkStack(meshDeploymentHygiene, [injected, meshObject, deployment({ name: "app" })])).toEqual([
            "Deployment demo/hello-v1: container app has no resource limits",
            "Deployment demo/hello-v1: container app has no readiness probe",
        ]);
    });

    test("injection turned off on the pods", () => {
        const d = deployment(container, { "sidecar.istio.io/inject": "false" });
        expect(checkStack(meshDeploymentHygiene, [injected, meshObject, d])).toEqual([
            "Deployment demo/hello-v1: its pods get no sidecar (namespace label or sidecar.istio.io/inject)",
        ]);
    });

    test("a namespace without the injection label: not injected unless the pods ask for it", () => {
        const plain = namespace({});
        expect(checkStack(meshDeploymentHygiene, [plain, meshObject, deployment(container)])).toHaveLength(1);
        const optedIn = deployment(container, { "sidecar.istio.io/inject": "true" });
        expect(checkStack(meshDeploymentHygiene, [plain, meshObject, optedIn])).toEqual([]);
    });

    test("a Deployment outside the mesh namespaces is not checked", () => {
        expect(
            checkStack(meshDeploymentHygiene, [injected, meshObject, deployment({ name: "app" }, {}, "kube-system")]),
        ).toEqual([]);
    });
});

describe("the pack", () => {
    test("every policy: unique name, one-line description, its default level", () => {
        const names = POLICIES.map((p) => p.name);
        expect(new Set(names).size).toBe(POLICIES.length);
        for (const p of POLICIES) {
            expect(p.description).not.toMatch(/\n/);
            expect(p.enforcementLevel).toBe(DEFAULT_LEVELS[p.name as keyof typeof DEFAULT_LEVELS]);
        }
        expect(names).toEqual([
            "canary-route-subsets",
            "canary-weight-step",
            "production-mtls-strict",
            "production-authorization-policy",
            "production-no-fault-injection",
            "production-deletion-protection",
            "production-private-api-endpoint",
            "production-egress-registry-only",
            "mesh-deployment-hygiene",
        ]);
    });
});
