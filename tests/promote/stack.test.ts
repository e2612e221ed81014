/**
 * Reading the stack's state (`pulumi stack export`) without the CLI: the applied weight, and whether a step's
 * `up` may be targeted.
 */
import {
    appliedWeightFromDeployment,
    canaryWeightOfVirtualService,
    changesThatModify,
    targetingProblem,
} from "../../promote/stack";

const vs = (name: string, namespace: string, http: unknown[]) => ({
    type: "kubernetes:networking.istio.io/v1beta1:VirtualService",
    outputs: {
        apiVersion: "networking.istio.io/v1beta1",
        kind: "VirtualService",
        metadata: { name, namespace },
        spec: { hosts: [name], http },
    },
});
const weighted = (v2: number) => ({
    name: "weighted",
    route: [
        { destination: { host: "hello", subset: "v1" }, weight: 100 - v2 },
        { destination: { host: "hello", subset: "v2" }, weight: v2 },
    ],
});

describe("applied weight from the state", () => {
    const deployment = {
        resources: [
            { type: "pulumi:pulumi:Stack", outputs: { weights: { v1: 50, v2: 50 } } },
            {
                type: "kubernetes:apps/v1:Deployment",
                outputs: { metadata: { name: "hello", namespace: "canary-demo" } },
            },
            vs("billing", "canary-demo", [weighted(5)]),
            vs("hello", "canary-demo", [
                {
                    name: "canary-override",
                    match: [{ headers: { "x-canary": { exact: "always" } } }],
                    route: [{ destination: { host: "hello", subset: "v2" } }],
                },
                weighted(25),
            ]),
            vs("hello", "other", [weighted(99)]),
        ],
    };

    test("the service's VirtualService in the namespace; its weighted (last) route, not the header override", () => {
        expect(appliedWeightFromDeployment(deployment, "hello", "canary-demo", "v2")).toBe(25);
        expect(appliedWeightFromDeployment(deployment, "billing", "canary-demo", "v2")).toBe(5);
        expect(appliedWeightFromDeployment(deployment, "hello", "other", "v2")).toBe(99);
    });

    test("istio v1 API objects too", () => {
        const d = {
            resources: [
                {
                    ...vs("hello", "canary-demo", [weighted(40)]),
                    type: "kubernetes:networking.istio.io/v1:VirtualService",
                },
            ],
        };
        expect(appliedWeightFromDeployment(d, "hello", "canary-demo", "v2")).toBe(40);
    });

    test("unknown when the state has no such VirtualService", () => {
        expect(appliedWeightFromDeployment(deployment, "cart", "canary-demo", "v2")).toBeUndefined();
        expect(appliedWeightFromDeployment({}, "hello", "canary-demo", "v2")).toBeUndefined();
    });

    test("a route without the canary is 0; a lone canary destination without weight is 100", () => {
        expect(canaryWeightOfVirtualService({ http: [{ route: [{ destination: { subset: "v1" } }] }] }, "v2")).toBe(0);
        expect(canaryWeightOfVirtualService({ http: [{ route: [{ destination: { subset: "v2" } }] }] }, "v2")).toBe(
            100,
        );
        expect(canaryWeightOfVirtualService({ http: [] }, "v2")).toBeUndefined();
    });
});

describe("pending changes: what a preview would modify", () => {
    test("review 2 m1: the read of the stack's own outputs (and other read-side ops) is not a pending change", () => {
        expect(changesThatModify({ same: 17, read: 1 })).toEqual({});
        expect(changesThatModify({ same: 3, refresh: 2, discard: 1, "read-replacement": 1 })).toEqual({});
    });

    test("everything that changes a resource is, with its count", () => {
        expect(changesThatModify({ same: 16, read: 1, update: 1 })).toEqual({ update: 1 });
        expect(changesThatModify({ create: 2, delete: 1, replace: 1, import: 1 })).toEqual({
            create: 2,
            delete: 1,
            replace: 1,
            import: 1,
        });
        expect(changesThatModify({ update: 0, same: 4 })).toEqual({});
    });
});

describe("targetingProblem: a step's up is targeted only when the state's order is the program's", () => {
    const U = "urn:pulumi:dev::asm-canary::";
    const gateComponent = `${U}asm-canary:foundation:MeshReadinessGate::mesh-ready`;
    const gate = `${U}asm-canary:foundation:MeshReadinessGate$pulumi-nodejs:dynamic:MeshReadiness::mesh-ready`;
    const nsComponent = `${U}asm-canary:mesh:MeshNamespace::namespace`;
    const ns = `${U}asm-canary:mesh:MeshNamespace$kubernetes:core/v1:Namespace::namespace`;
    const route = `${U}asm-canary:mesh:CanaryRouting$kubernetes:networking.istio.io/v1beta1:VirtualService::route-hello-vs`;
    // The program's order on a cluster the gate passed for: the gate after the routes (program.ts).
    const order = [nsComponent, ns, route, gateComponent, gate];

    test("the last up waited for the gate (the namespace depended on it): not targeted, and why", () => {
        const state = [
            { urn: gateComponent },
            { urn: gate, parent: gateComponent },
            { urn: nsComponent },
            { urn: ns, parent: nsComponent, dependencies: [gate] },
            { urn: route, dependencies: [ns] },
        ];
        expect(targetingProblem(state, order)).toBe(
            "the state records Namespace namespace as depending on MeshReadiness mesh-ready, which the program now declares after it",
        );
    });

    test("a property dependency or a deletedWith counts the same", () => {
        expect(targetingProblem([{ urn: ns, propertyDependencies: { metadata: [gate] } }], order)).toContain(
            "Namespace namespace as depending on MeshReadiness mesh-ready",
        );
        expect(targetingProblem([{ urn: ns, deletedWith: gate }], order)).toContain("on MeshReadiness mesh-ready");
    });

    test("after an up in the program's order: targeted", () => {
        const state = [
            { urn: nsComponent },
            { urn: ns, parent: nsComponent, dependencies: [] },
            { urn: route, dependencies: [ns] },
            { urn: gateComponent },
            { urn: gate, parent: gateComponent },
        ];
        expect(targetingProblem(state, order)).toBeUndefined();
    });

    test("what the program no longer declares, or declares before, is no problem", () => {
        const gone = `${U}kubernetes:core/v1:ConfigMap::gone`;
        expect(targetingProblem([{ urn: ns, dependencies: [gone, nsComponent] }], order)).toBeUndefined();
        expect(targetingProblem([{ urn: gone, dependencies: [gate] }], order)).toBeUndefined();
    });
});
