/** promote/guard.ts: the per-step pack config, the plan check and the walk check, on values written out. */
import {
    checkPlan,
    planCheckProblem,
    stepPackConfig,
    stepTargets,
    walkProblems,
    withWeight,
} from "../../promote/guard";
import type { PlannedChange } from "../../promote/stack";
import { plannedChange, policyFinding, virtualServiceUrnsFromDeployment } from "../../promote/stack";
import { vsUpdate } from "./fakeDeps";

const peerAuth: PlannedChange = {
    op: "update",
    type: "kubernetes:security.istio.io/v1beta1:PeerAuthentication",
    name: "security-peer-auth",
    urn: "urn:pulumi:dev::asm-canary::kubernetes:security.istio.io/v1beta1:PeerAuthentication::security-peer-auth",
    object: "canary-demo/default",
};

describe("stepPackConfig: the stack's pack config with the weights in force before the step", () => {
    test("without a canary-weight-step entry: previousWeights added, every other policy kept", () => {
        expect(stepPackConfig({ "production-mtls-strict": "mandatory" }, { hello: 10 })).toEqual({
            "production-mtls-strict": "mandatory",
            "canary-weight-step": { previousWeights: { hello: 10 } },
        });
    });

    test("a level given as text becomes enforcementLevel; maxStep and the level of an object are kept", () => {
        expect(stepPackConfig({ "canary-weight-step": "advisory" }, { hello: 0 })).toEqual({
            "canary-weight-step": { enforcementLevel: "advisory", previousWeights: { hello: 0 } },
        });
        expect(
            stepPackConfig(
                { "canary-weight-step": { enforcementLevel: "mandatory", maxStep: 20, previousWeights: { x: 5 } } },
                { hello: 25, ratings: 25 },
            ),
        ).toEqual({
            "canary-weight-step": {
                enforcementLevel: "mandatory",
                maxStep: 20,
                previousWeights: { hello: 25, ratings: 25 },
            },
        });
    });
});

describe("checkPlan: exactly the moved services' VirtualServices", () => {
    test("one update of each moved VirtualService and nothing else passes", () => {
        expect(checkPlan([vsUpdate("hello"), vsUpdate("ratings")], ["hello", "ratings"], "canary-demo")).toEqual({
            expected: ["canary-demo/hello", "canary-demo/ratings"],
            planned: ["update VirtualService canary-demo/hello", "update VirtualService canary-demo/ratings"],
            unexpected: [],
            missing: [],
            ok: true,
        });
    });

    test("anything else fails it, named", () => {
        const c = checkPlan([vsUpdate("hello"), peerAuth], ["hello"], "canary-demo");
        expect({ ok: c.ok, unexpected: c.unexpected }).toEqual({
            ok: false,
            unexpected: ["update PeerAuthentication canary-demo/default"],
        });
        expect(planCheckProblem(c)).toBe("it would also update PeerAuthentication canary-demo/default");
    });

    test("another service's VirtualService, or the right one replaced or in another namespace, is not the step", () => {
        const replaced = { ...vsUpdate("hello"), op: "replace" };
        expect(checkPlan([vsUpdate("reviews")], ["hello"], "canary-demo").unexpected).toEqual([
            "update VirtualService canary-demo/reviews",
        ]);
        expect(checkPlan([replaced], ["hello"], "canary-demo").ok).toBe(false);
        expect(checkPlan([vsUpdate("hello", "other")], ["hello"], "canary-demo").unexpected).toEqual([
            "update VirtualService other/hello",
        ]);
    });

    test("a moved VirtualService the plan does not update fails it", () => {
        const c = checkPlan([vsUpdate("hello")], ["hello", "ratings"], "canary-demo");
        expect({ ok: c.ok, missing: c.missing }).toEqual({ ok: false, missing: ["canary-demo/ratings"] });
        expect(planCheckProblem(c)).toBe("it would not update VirtualService canary-demo/ratings");
    });

    test("--allow-pending-changes (first step): the other changes pass, recorded as accepted", () => {
        const c = checkPlan([vsUpdate("hello"), peerAuth], ["hello"], "canary-demo", true);
        expect({ ok: c.ok, unexpected: c.unexpected, accepted: c.accepted }).toEqual({
            ok: true,
            unexpected: [],
            accepted: ["update PeerAuthentication canary-demo/default"],
        });
    });
});

describe("stepTargets: the step's up is targeted at the moved services' VirtualServices only", () => {
    test("the URNs of the planned VirtualService updates of the moved services, in plan order", () => {
        expect(stepTargets([vsUpdate("ratings"), vsUpdate("hello")], ["hello", "ratings"], "canary-demo")).toEqual([
            "urn:pulumi:dev::asm-canary::kubernetes:networking.istio.io/v1beta1:VirtualService::route-ratings-vs",
            "urn:pulumi:dev::asm-canary::kubernetes:networking.istio.io/v1beta1:VirtualService::route-hello-vs",
        ]);
    });

    test("no other change: not another resource, not another service's route, not a route in another namespace", () => {
        const replaced = { ...vsUpdate("hello"), op: "replace" };
        const changes = [peerAuth, vsUpdate("reviews"), vsUpdate("hello", "other"), replaced, vsUpdate("hello")];
        expect(stepTargets(changes, ["hello"], "canary-demo")).toEqual([
            "urn:pulumi:dev::asm-canary::kubernetes:networking.istio.io/v1beta1:VirtualService::route-hello-vs",
        ]);
    });
});

describe("engine events and state read for the checks", () => {
    test("a resource step names its Kubernetes object from its inputs (new, else old)", () => {
        const step = {
            op: "update",
            urn: "urn:pulumi:dev::asm-canary::asm-canary:mesh:CanaryRouting$kubernetes:networking.istio.io/v1beta1:VirtualService::route-hello-vs",
            type: "kubernetes:networking.istio.io/v1beta1:VirtualService",
            new: { inputs: { metadata: { name: "hello", namespace: "canary-demo" } } },
        };
        expect(plannedChange(step)).toEqual({
            op: "update",
            type: "kubernetes:networking.istio.io/v1beta1:VirtualService",
            name: "route-hello-vs",
            urn: step.urn,
            object: "canary-demo/hello",
        });
        const deleted = { ...step, op: "delete", new: undefined, old: { inputs: { metadata: { name: "hello" } } } };
        expect(plannedChange(deleted).object).toBe("default/hello");
        expect(plannedChange({ op: "update", urn: "urn:x::y::z", type: "asm-canary:mesh:MeshSecurity" }).object).toBe(
            undefined,
        );
    });

    test("a policy event's finding is its last line (the first is the policy's description)", () => {
        expect(
            policyFinding({
                policyName: "canary-weight-step",
                enforcementLevel: "mandatory",
                message:
                    "One step never raises a canary's weight by more than maxStep points.\nVirtualService canary-demo/hello: canary weight 10 -> 100 (+90) exceeds the maximum step of 50\n",
            }),
        ).toEqual({
            policy: "canary-weight-step",
            level: "mandatory",
            message: "VirtualService canary-demo/hello: canary weight 10 -> 100 (+90) exceeds the maximum step of 50",
        });
    });

    test("the rollback's targets: the moved services' VirtualService URNs from the state", () => {
        const vs = (name: string, ns: string) => ({
            urn: `urn:vs:${ns}/${name}`,
            type: "kubernetes:networking.istio.io/v1:VirtualService",
            outputs: { metadata: { name, namespace: ns } },
        });
        const deployment = {
            resources: [
                vs("hello", "canary-demo"),
                vs("hello", "other"),
                vs("ratings", "canary-demo"),
                {
                    urn: "urn:dr",
                    type: "kubernetes:networking.istio.io/v1:DestinationRule",
                    outputs: { metadata: { name: "hello", namespace: "canary-demo" } },
                },
            ],
        };
        expect(virtualServiceUrnsFromDeployment(deployment, ["hello", "ratings"], "canary-demo")).toEqual([
            "urn:vs:canary-demo/hello",
            "urn:vs:canary-demo/ratings",
        ]);
    });
});

describe("walkProblems: every weight of the walk against the program's own config validation", () => {
    test("mirrorPercent refuses weight 100 only, with the program's own words", () => {
        const raw = { values: { mirrorPercent: "20", canaryWeight: "0" }, hasSecretKubeconfig: false };
        expect(walkProblems(raw, "canaryWeight", [10, 50, 100])).toEqual([
            {
                weight: 100,
                problems: [
                    "mirrorPercent: got 20 with canaryWeight 100; v2 already receives every request, so each mirrored request would reach v2 twice: mirror at a lower canaryWeight (0 for a dark launch)",
                ],
            },
        ]);
        expect(walkProblems({ values: {}, hasSecretKubeconfig: false }, "canaryWeight", [10, 50, 100])).toEqual([]);
    });

    test("a service's own weight is set inside services, the other entries untouched", () => {
        const services = JSON.stringify(["hello", { name: "reviews", canaryWeight: 0 }]);
        expect(JSON.parse(withWeight({ services }, "services[1].canaryWeight", 50).services)).toEqual([
            "hello",
            { name: "reviews", canaryWeight: 50 },
        ]);
        expect(withWeight({ canaryWeight: "0" }, "canaryWeight", 25)).toEqual({ canaryWeight: "25" });
    });
});
