import { MeshSecurity } from "../../mesh/meshSecurity";
import { MtlsMode } from "../../istio/manifests";
import { byType, depsOf, ISTIO, one, Recorded, settle } from "../support/harness";
import { demoWorkloads } from "../support/mesh";

/** MeshSecurity on the default demo workloads; returns what it declared. */
async function security(mtlsMode: MtlsMode, authorization: boolean): Promise<Recorded[]> {
    const { rec, namespace, workloads } = await demoWorkloads({ services: ["hello", "billing"] });
    new MeshSecurity("security", {
        namespace,
        mtlsMode,
        apps: workloads.apps,
        authorization: authorization
            ? { allowedCallers: [{ namespace: "canary-demo", serviceAccount: "curl" }] }
            : undefined,
        apiVersion: "v1beta1",
    });
    await settle();
    return rec.resources;
}

test.each(["PERMISSIVE", "STRICT", "DISABLE"] as const)(
    "mtlsMode %s: one namespace-wide PeerAuthentication carries it",
    async (mode) => {
        const resources = await security(mode, false);
        const pa = one(resources, ISTIO.pa);
        expect(pa.inputs).toEqual({
            apiVersion: "security.istio.io/v1beta1",
            kind: "PeerAuthentication",
            metadata: { name: "default", namespace: "canary-demo" },
            spec: { mtls: { mode } },
        });
        expect(depsOf(resources, pa)).toContain("kubernetes:core/v1:Namespace::namespace");
    },
);

describe("AuthorizationPolicy", () => {
    test("none unless asked for", async () => {
        expect(byType(await security("STRICT", false), ISTIO.ap)).toEqual([]);
    });

    test("when on, one per service: an ALLOW policy on its pods that admits only the client's principal", async () => {
        const resources = await security("STRICT", true);
        expect(
            byType(resources, ISTIO.ap).map((ap) => ({ name: ap.inputs.metadata.name, spec: ap.inputs.spec })),
        ).toEqual(
            ["hello", "billing"].map((svc) => ({
                name: `${svc}-allow-client`,
                spec: {
                    selector: { matchLabels: { app: svc } },
                    action: "ALLOW",
                    rules: [{ from: [{ source: { principals: ["*/ns/canary-demo/sa/curl"] } }] }],
                },
            })),
        );
    });

    test("turning it on leaves the PeerAuthentication as it was", async () => {
        const off = one(await security("STRICT", false), ISTIO.pa).inputs;
        expect(one(await security("STRICT", true), ISTIO.pa).inputs).toEqual(off);
    });
});
