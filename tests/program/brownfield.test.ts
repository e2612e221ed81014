import { byType, CREATE_CONFIG, EXISTING_CONFIG, isSecretInput, one, plain, runProgram } from "../support/harness";

const KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: []\n";

describe("mode=existing (brownfield)", () => {
    test("with a secret kubeconfig: no Alibaba Cloud resource or look-up, one secret Kubernetes provider", async () => {
        const run = await runProgram(
            { mode: "existing", existingKubeconfig: KUBECONFIG, existingClusterId: "c0ffee" },
            { secretKeys: ["existingKubeconfig"] },
        );
        expect(run.resources.filter((r) => r.type.includes("alicloud"))).toEqual([]);
        expect(run.invokes).toEqual([]);
        const provider = one(run.resources, "pulumi:providers:kubernetes");
        expect(isSecretInput(provider.inputs.kubeconfig)).toBe(true);
        expect(plain(provider.inputs.kubeconfig)).toBe(KUBECONFIG);
        expect(provider.inputs.clusterIdentifier).toBe("c0ffee");
        expect(run.secretOutputs).toContain("kubeconfig");
        expect(run.outputs.vpcId).toBeUndefined();
    });

    test("with a kubeconfig path", async () => {
        const run = await runProgram({ mode: "existing", existingKubeconfigPath: "/home/me/.kube/ack" });
        expect(one(run.resources, "pulumi:providers:kubernetes").inputs).toEqual({ kubeconfig: "/home/me/.kube/ack" });
    });

    test("rendering YAML needs no cluster at all", async () => {
        const run = await runProgram(EXISTING_CONFIG);
        expect(one(run.resources, "pulumi:providers:kubernetes").inputs).toEqual({
            renderYamlToDirectory: "/tmp/asm-canary-render",
        });
    });

    test("the mesh layer is the same object for object as in create mode", async () => {
        const meshLayer = (rs: Awaited<ReturnType<typeof runProgram>>["resources"]) =>
            Object.fromEntries(
                rs.filter((r) => r.type.startsWith("kubernetes:")).map((r) => [`${r.type}::${r.name}`, r.inputs]),
            );
        const created = await runProgram(CREATE_CONFIG);
        const existing = await runProgram(EXISTING_CONFIG);
        expect(Object.keys(meshLayer(created.resources)).length).toBe(11);
        expect(meshLayer(existing.resources)).toEqual(meshLayer(created.resources));
        for (const r of byType(existing.resources, "kubernetes:core/v1:Namespace")) {
            expect(r.provider).toMatch(/pulumi:providers:kubernetes::existing-k8s::/);
        }
    });
});
