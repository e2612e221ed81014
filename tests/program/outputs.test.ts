import { CREATE_CONFIG, EXISTING_CONFIG, runProgram } from "../support/harness";

describe("stack outputs of the mesh layer", () => {
    test("namespace, weights in force, mTLS mode and copy-paste verification commands", async () => {
        const run = await runProgram({ ...EXISTING_CONFIG, canaryWeight: "10", mtlsMode: "STRICT" });
        expect(run.outputs).toMatchObject({
            mode: "existing",
            namespace: "canary-demo",
            services: ["hello"],
            weights: { v1: 90, v2: 10 },
            mtlsMode: "STRICT",
        });
        const verify = run.outputs.verify as Record<string, string>;
        expect(verify.sidecars).toContain("kubectl -n canary-demo get pods");
        expect(verify.istioObjects).toBe(
            "kubectl -n canary-demo get virtualservices,destinationrules,peerauthentications,authorizationpolicies",
        );
        expect(verify.split).toBe(
            "kubectl -n canary-demo exec deploy/curl -c curl -- sh -c 'for i in $(seq 1 50); do curl -s http://hello/; done' | sort | uniq -c",
        );
        expect(verify.canaryHeader).toBeUndefined();
        // A render stack has no kubeconfig output, so no command that reads it.
        expect(verify.kubeconfig).toBeUndefined();
    });

    test("create mode tells how to fetch the kubeconfig output", async () => {
        const run = await runProgram(CREATE_CONFIG);
        expect((run.outputs.verify as Record<string, string>).kubeconfig).toBe(
            "pulumi stack output kubeconfig --show-secrets > kubeconfig.yaml && export KUBECONFIG=$PWD/kubeconfig.yaml",
        );
        expect(run.outputs.meshVersion).toBe("v1.24.6.60-ge2d7d9ed-aliyun");
    });

    test("the header check appears with the configured header", async () => {
        const run = await runProgram({ ...EXISTING_CONFIG, canaryHeaderName: "x-canary", canaryHeaderValue: "always" });
        expect((run.outputs.verify as Record<string, string>).canaryHeader).toBe(
            "kubectl -n canary-demo exec deploy/curl -c curl -- curl -s -H 'x-canary: always' http://hello/",
        );
    });
});
