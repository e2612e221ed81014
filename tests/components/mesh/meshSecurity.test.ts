import { principalOf } from "../../../components/mesh/meshSecurity";
import { byType, CREATE_CONFIG, EXISTING_CONFIG, ISTIO, one, runProgram } from "../../support/harness";

describe.each(["PERMISSIVE", "STRICT", "DISABLE"])("mtlsMode %s", (mode) => {
    test("the namespace-wide PeerAuthentication carries it", async () => {
        const run = await runProgram({ ...EXISTING_CONFIG, mtlsMode: mode });
        const pa = one(run.resources, ISTIO.pa);
        expect(pa.inputs).toEqual({
            apiVersion: "security.istio.io/v1beta1",
            kind: "PeerAuthentication",
            metadata: { name: "default", namespace: "canary-demo" },
            spec: { mtls: { mode } },
        });
        expect(run.outputs.mtlsMode).toBe(mode);
    });
});

describe("AuthorizationPolicy", () => {
    test("off by default", async () => {
        const run = await runProgram(EXISTING_CONFIG);
        expect(byType(run.resources, ISTIO.ap)).toEqual([]);
    });

    test("when on, admits exactly the curl client's principal to hello", async () => {
        const run = await runProgram({ ...CREATE_CONFIG, authorizationPolicy: "true", mtlsMode: "STRICT" });
        const ap = one(run.resources, ISTIO.ap);
        expect(ap.inputs.spec).toEqual({
            selector: { matchLabels: { app: "hello" } },
            action: "ALLOW",
            rules: [{ from: [{ source: { principals: ["*/ns/canary-demo/sa/curl"] } }] }],
        });
        // The principal is the identity of the client Deployment's ServiceAccount.
        const client = one(run.resources, "kubernetes:apps/v1:Deployment", "demo-curl");
        const sa = client.inputs.spec.template.spec.serviceAccountName;
        expect(ap.inputs.spec.rules[0].from[0].source.principals).toEqual([
            principalOf(client.inputs.metadata.namespace, sa),
        ]);
        // ...and no other workload's identity is admitted.
        for (const other of ["hello-v1", "hello-v2"]) {
            expect(JSON.stringify(ap.inputs.spec)).not.toContain(`/sa/${other}`);
        }
    });
});
