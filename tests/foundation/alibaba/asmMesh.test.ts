import { newestMeshVersion } from "../../../foundation/alibaba/asmMesh";
import { CREATE_CONFIG, dependencyClosure, depsOf, ISTIO, one, runProgram } from "../../support/harness";

const MESH = "alicloud:servicemesh/serviceMesh:ServiceMesh";

test("newestMeshVersion compares version numbers, not strings", () => {
    expect(newestMeshVersion(["v1.9.7.93-gaaa-aliyun", "v1.24.6.60-gbbb-aliyun", "v1.22.6.28-gccc-aliyun"])).toBe(
        "v1.24.6.60-gbbb-aliyun",
    );
    // Only reachable on a stack's first `up`: a stack with a mesh keeps its version without a look-up.
    expect(() => newestMeshVersion([])).toThrow(/meshVersion: the region offers no ASM version/);
});

describe("AsmMesh", () => {
    let run: Awaited<ReturnType<typeof runProgram>>;
    beforeAll(async () => {
        run = await runProgram(CREATE_CONFIG);
    });

    test("edition, spec, name and the newest version are set explicitly", () => {
        const mesh = one(run.resources, MESH);
        expect(mesh.inputs).toMatchObject({
            serviceMeshName: "asm-canary-mesh",
            edition: "Pro",
            clusterSpec: "enterprise",
            version: "v1.24.6.60-ge2d7d9ed-aliyun",
            force: true,
            extraConfiguration: { crAggregationEnabled: true },
            loadBalancer: { apiServerPublicEip: false },
        });
        expect(mesh.inputs.loadBalancer.pilotPublicEip).toBeUndefined();
        expect(run.invokes.find((i) => i.token === "alicloud:servicemesh/getVersions:getVersions")?.inputs).toEqual({
            edition: "Pro",
        });
        expect(run.outputs.meshVersion).toBe("v1.24.6.60-ge2d7d9ed-aliyun");
    });

    test("network is the cluster's VPC and ONE vSwitch id string", () => {
        const mesh = one(run.resources, MESH);
        expect(mesh.inputs.network).toEqual({
            vpcId: run.outputs.vpcId,
            vswitcheList: (run.outputs.nodeVswitchIds as string[])[0],
        });
    });

    test("the ACK cluster is attached through clusterIds, after its node pool exists", () => {
        const mesh = one(run.resources, MESH);
        expect(mesh.inputs.clusterIds).toEqual([run.outputs.clusterId]);
        expect(depsOf(run.resources, mesh)).toContain("alicloud:cs/nodePool:NodePool::ack-nodes");
    });

    test("the mesh's private kubeconfig is only a secret output", () => {
        expect(run.secretOutputs).toContain("meshKubeconfig");
    });

    test("the namespace waits for the mesh attachment (through the readiness gate), every Istio object for the namespace; all use the ACK provider", () => {
        const meshUrn = one(run.resources, MESH).urn;
        const ns = one(run.resources, "kubernetes:core/v1:Namespace");
        expect(dependencyClosure(run.resources, ns)).toContain(meshUrn);
        const istio = run.resources.filter((r) => Object.values(ISTIO).includes(r.type));
        expect(istio.length).toBeGreaterThanOrEqual(3);
        for (const r of [ns, ...istio]) {
            expect(r.provider).toMatch(/pulumi:providers:kubernetes::ack-k8s::/);
        }
        for (const r of istio) {
            expect({ name: r.name, waitsForNamespace: r.dependencies.includes(ns.urn) }).toEqual({
                name: r.name,
                waitsForNamespace: true,
            });
        }
    });
});

test("a pinned meshVersion is used as is, with no version look-up", async () => {
    const run = await runProgram({
        ...CREATE_CONFIG,
        meshVersion: "v1.22.6.28-g8f5ebc7d-aliyun",
        meshClusterSpec: "ultimate",
    });
    expect(one(run.resources, MESH).inputs).toMatchObject({
        version: "v1.22.6.28-g8f5ebc7d-aliyun",
        edition: "Pro",
        clusterSpec: "ultimate",
    });
    expect(one(run.resources, MESH).ignoreChanges).toEqual([]);
    expect(run.invokes.map((i) => i.token)).not.toContain("alicloud:servicemesh/getVersions:getVersions");
});

describe("a stack whose mesh exists (its previous meshVersion output)", () => {
    const current = "v1.22.6.28-g8f5ebc7d-aliyun";

    test("unpinned: keeps the version the mesh runs, with no version look-up that could come back empty", async () => {
        const run = await runProgram(CREATE_CONFIG, { previousOutputs: { meshVersion: current } });
        const mesh = one(run.resources, MESH);
        expect(mesh.inputs.version).toBe(current);
        expect(mesh.ignoreChanges).toEqual(["version"]);
        expect(run.invokes.map((i) => i.token)).not.toContain("alicloud:servicemesh/getVersions:getVersions");
        expect(run.outputs.meshVersion).toBe(current);
    });

    test("pinned: the pin wins (a deliberate upgrade)", async () => {
        const run = await runProgram(
            { ...CREATE_CONFIG, meshVersion: "v1.24.6.60-ge2d7d9ed-aliyun" },
            { previousOutputs: { meshVersion: current } },
        );
        expect(one(run.resources, MESH).inputs.version).toBe("v1.24.6.60-ge2d7d9ed-aliyun");
    });
});
