/** What goes in (config keys reach the objects they configure) and what comes out (stack outputs). */
import { CREATE_CONFIG, EXISTING_CONFIG, one, ProgramRun, runProgram } from "../support/harness";

const DEPLOYMENT = "kubernetes:apps/v1:Deployment";

describe("a render stack", () => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await runProgram({
            ...EXISTING_CONFIG,
            canaryWeight: "10",
            mtlsMode: "STRICT",
            appImage: "registry.example/echo:2",
            replicas: "3",
            stableText: "old",
            canaryText: "new",
            clientImage: "registry.example/curl:8",
        });
    });

    test("outputs: namespace, weights in force, mTLS mode and copy-paste verification commands", () => {
        expect(run.outputs).toMatchObject({
            mode: "existing",
            namespace: "canary-demo",
            services: ["hello"],
            weights: { v1: 90, v2: 10 },
            mtlsMode: "STRICT",
            authorizationPolicy: false,
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

    test("image, replicas and texts reach the Deployments", () => {
        const container = (name: string) =>
            one(run.resources, DEPLOYMENT, name).inputs.spec.template.spec.containers[0];
        expect(one(run.resources, DEPLOYMENT, "demo-hello-v2").inputs.spec.replicas).toBe(3);
        expect(container("demo-hello-v1")).toMatchObject({
            image: "registry.example/echo:2",
            args: ["-text=old", "-listen=:5678"],
        });
        expect(container("demo-hello-v2")).toMatchObject({
            image: "registry.example/echo:2",
            args: ["-text=new", "-listen=:5678"],
        });
        expect(container("demo-curl").image).toBe("registry.example/curl:8");
    });
});

test("a create stack: how to fetch the kubeconfig output, the mesh version, the header check", async () => {
    const run = await runProgram({ ...CREATE_CONFIG, canaryHeaderName: "x-canary", canaryHeaderValue: "always" });
    const verify = run.outputs.verify as Record<string, string>;
    expect(verify.kubeconfig).toBe(
        "pulumi stack output kubeconfig --show-secrets > kubeconfig.yaml && export KUBECONFIG=$PWD/kubeconfig.yaml",
    );
    expect(verify.canaryHeader).toBe(
        "kubectl -n canary-demo exec deploy/curl -c curl -- curl -s -H 'x-canary: always' http://hello/",
    );
    expect(run.outputs.meshVersion).toBe("v1.24.6.60-ge2d7d9ed-aliyun");
});
