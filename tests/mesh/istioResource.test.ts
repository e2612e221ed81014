/**
 * istioApiVersion changes the type token of every Istio object; the aliases make the engine find each
 * object's state under the other version's token, so that it updates the object in place instead of
 * creating it again and then deleting it (one stored object in the API server: the delete would remove
 * it). Here: each alias, resolved the way the engine resolves an alias spec (the resource's own name,
 * project, stack and parent, the alias's type), is exactly the URN the same object has when the program
 * runs at the other version. tests/live proves the in-place update against a live API server.
 */
import { otherVersionAliases } from "../../mesh/istioResource";
import { istioApiVersionsOf } from "../../istio/manifests";
import { CREATE_CONFIG, Recorded, runProgram } from "../support/harness";

/** Every Istio kind the program creates: two services, authorization, ingress, egress, access logs. */
const CONFIG = {
    ...CREATE_CONFIG,
    services: '["hello","world"]',
    authorizationPolicy: "true",
    mtlsMode: "STRICT",
    meshApiServerPublic: "true",
    ingressGateway: "true",
    egressHosts: '["httpbin.org"]',
    manageMeshConfig: "true",
    accessLogs: "true",
};
const ISTIO_TYPE = /^kubernetes:[a-z.]+\.istio\.io\//;

async function istioObjects(istioApiVersion: string): Promise<Map<string, Recorded>> {
    const run = await runProgram({ ...CONFIG, istioApiVersion });
    return new Map(run.resources.filter((r) => ISTIO_TYPE.test(r.type)).map((r) => [r.name, r]));
}

/** The URN an alias names, resolved as the engine does: the resource's own name, project, stack and parent. */
function aliasUrn(r: Recorded, alias: Recorded["aliases"][number]): string {
    // Only the type may differ: another name, project, stack or parent would be another object.
    expect({ ...alias, type: "" }).toEqual({
        urn: "",
        name: "",
        type: "",
        project: "",
        stack: "",
        parent: r.parent,
        noParent: false,
    });
    return r.urn.replace(`$${r.type}::`, `$${alias.type}::`);
}

test("otherVersionAliases: the same kind under the apiVersion it has at the other istioApiVersion", () => {
    expect(otherVersionAliases("networking.istio.io/v1beta1", "VirtualService")).toEqual([
        { type: "kubernetes:networking.istio.io/v1:VirtualService" },
    ]);
    expect(otherVersionAliases("security.istio.io/v1", "AuthorizationPolicy")).toEqual([
        { type: "kubernetes:security.istio.io/v1beta1:AuthorizationPolicy" },
    ]);
    // telemetry.istio.io has no v1beta1: v1alpha1 goes with istioApiVersion v1beta1.
    expect(otherVersionAliases("telemetry.istio.io/v1alpha1", "Telemetry")).toEqual([
        { type: "kubernetes:telemetry.istio.io/v1:Telemetry" },
    ]);
    expect(istioApiVersionsOf("Telemetry")).toEqual(["telemetry.istio.io/v1alpha1", "telemetry.istio.io/v1"]);
    expect(() => istioApiVersionsOf("IstioGateway")).toThrow("IstioGateway is not an Istio kind this program creates");
});

test.each([
    ["v1beta1", "v1"],
    ["v1", "v1beta1"],
])(
    "istioApiVersion %s -> %s: every Istio object's alias is its URN at the old version, so the engine updates it in place",
    async (from, to) => {
        const before = await istioObjects(from);
        const after = await istioObjects(to);
        expect([...after.keys()].sort()).toEqual(
            [
                "ingress-gateway",
                "access-logging-telemetry",
                "route-hello-dr",
                "route-hello-vs",
                "route-world-dr",
                "route-world-vs",
                "security-hello-authz",
                "security-peer-auth",
                "security-world-authz",
                "egress-httpbin.org",
            ].sort(),
        );
        expect([...before.keys()].sort()).toEqual([...after.keys()].sort());
        for (const [name, now] of after) {
            const old = before.get(name)!;
            expect(now.urn).not.toBe(old.urn);
            expect(now.aliases.map((a) => aliasUrn(now, a))).toEqual([old.urn]);
        }
    },
);
