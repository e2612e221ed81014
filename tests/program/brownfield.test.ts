import { ExistingMesh } from "../../foundation/existing/existingMesh";
import {
    byType,
    CREATE_CONFIG,
    EXISTING_CONFIG,
    installMocks,
    isSecretInput,
    one,
    plain,
    ProgramRun,
    runProgram,
    settle,
} from "../support/harness";

const KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: []\n";
const K8S_PROVIDER = "pulumi:providers:kubernetes";

describe("mode=existing (brownfield)", () => {
    test("with a secret kubeconfig: no Alibaba Cloud resource or look-up, one secret Kubernetes provider", async () => {
        const run = await runProgram(
            { mode: "existing", existingKubeconfig: KUBECONFIG, existingClusterId: "c0ffee" },
            { secretKeys: ["existingKubeconfig"] },
        );
        expect(run.resources.filter((r) => r.type.includes("alicloud"))).toEqual([]);
        expect(run.invokes).toEqual([]);
        const provider = one(run.resources, K8S_PROVIDER);
        expect(isSecretInput(provider.inputs.kubeconfig)).toBe(true);
        expect(plain(provider.inputs.kubeconfig)).toBe(KUBECONFIG);
        expect(provider.inputs.clusterIdentifier).toBe("c0ffee");
        expect(run.secretOutputs).toContain("kubeconfig");
        expect(run.outputs.vpcId).toBeUndefined();
    });

    test("ExistingMesh with a kubeconfig path gives the provider just that path", async () => {
        const rec = await installMocks();
        new ExistingMesh("existing", { kubeconfigPath: "/home/me/.kube/ack" });
        await settle();
        expect(one(rec.resources, K8S_PROVIDER).inputs).toEqual({ kubeconfig: "/home/me/.kube/ack" });
    });

    describe("rendering YAML", () => {
        let created: ProgramRun;
        let rendered: ProgramRun;
        beforeAll(async () => {
            created = await runProgram(CREATE_CONFIG);
            rendered = await runProgram(EXISTING_CONFIG);
        });

        test("needs no cluster at all", () => {
            expect(one(rendered.resources, K8S_PROVIDER).inputs).toEqual({
                renderYamlToDirectory: "/tmp/asm-canary-render",
            });
        });

        test("the mesh layer is the same object for object as in create mode", () => {
            const meshLayer = (run: ProgramRun) =>
                Object.fromEntries(
                    run.resources
                        .filter((r) => r.type.startsWith("kubernetes:"))
                        .map((r) => [`${r.type}::${r.name}`, r.inputs]),
                );
            expect(Object.keys(meshLayer(created)).length).toBe(11);
            expect(meshLayer(rendered)).toEqual(meshLayer(created));
            for (const r of byType(rendered.resources, "kubernetes:core/v1:Namespace")) {
                expect(r.provider).toMatch(/pulumi:providers:kubernetes::existing-k8s::/);
            }
        });
    });
});
