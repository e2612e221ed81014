/** Reading the applied weight back from the stack's state (`pulumi stack export`), without the CLI. */
import { appliedWeightFromDeployment, canaryWeightOfVirtualService, changesThatModify } from "../../promote/stack";

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
