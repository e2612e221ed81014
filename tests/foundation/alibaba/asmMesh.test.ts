import { newestMeshVersion } from "../../../foundation/alibaba/asmMesh";
import { CREATE_CONFIG, dependencyClosure, depsOf, ISTIO, one, runProgram } from "../../support/harness";

const MESH = "alicloud:servicemesh/serviceMesh:ServiceMesh";
/** The meshConfig fields the mesh ignores: read back by the provider, never sent (see the N1 test). */
const NOT_OWNED = [
    "meshConfig.kiali",
    "meshConfig.pilot",
    "meshConfig.proxy",
    "meshConfig.opa",
    "meshConfig.sidecarInjector",
    "meshConfig.controlPlaneLog",
    "meshConfig.customizedZipkin",
    "meshConfig.tracing",
    "meshConfig.enableLocalityLb",
];

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
    expect(one(run.resources, MESH).ignoreChanges).toEqual(NOT_OWNED);
    expect(run.invokes.map((i) => i.token)).not.toContain("alicloud:servicemesh/getVersions:getVersions");
});

describe("a stack whose mesh exists (its previous meshVersion output)", () => {
    const current = "v1.22.6.28-g8f5ebc7d-aliyun";

    test("unpinned: keeps the version the mesh runs, with no version look-up that could come back empty", async () => {
        const run = await runProgram(CREATE_CONFIG, { previousOutputs: { meshVersion: current } });
        const mesh = one(run.resources, MESH);
        expect(mesh.inputs.version).toBe(current);
        expect(mesh.ignoreChanges).toEqual(["version", ...NOT_OWNED]);
        expect(run.invokes.map((i) => i.token)).not.toContain("alicloud:servicemesh/getVersions:getVersions");
        expect(run.outputs.meshVersion).toBe(current);
    });

    test("pinned: the pin wins (a deliberate upgrade)", async () => {
        const run = await runProgram(
            { ...CREATE_CONFIG, meshVersion: "v1.23.6.46-g1a2b3c4d-aliyun" },
            { previousOutputs: { meshVersion: current } },
        );
        expect(one(run.resources, MESH).inputs.version).toBe("v1.23.6.46-g1a2b3c4d-aliyun");
    });
});

/**
 * Review 2, N1: with manageMeshConfig on, the mesh must converge. What the provider's Read writes into
 * mesh_config (aliyun/terraform-provider-alicloud v1.289.0, resource_alicloud_service_mesh_service_mesh.go:
 * resourceAliCloudServiceMeshServiceMeshRead, ~:860-1111), in Pulumi's names, with whether the schema
 * marks the field Computed (a Computed field left unset is not diffed; any other one read back is).
 * Shapes as an ASM 1.22 mesh returns them (smt.go's full configs; customizedZipkin true per its :133-136).
 */
const READ_BACK: Record<string, { computed: boolean; value: unknown }> = {
    accessLog: { computed: false, value: [{ enabled: true, project: "p", gatewayLifecycle: 7, sidecarLifecycle: 7 }] },
    audit: { computed: true, value: [{ enabled: false, project: "" }] },
    controlPlaneLog: { computed: false, value: [{ enabled: false, project: "", logTtlInDay: 0 }] },
    customizedZipkin: { computed: false, value: true },
    enableLocalityLb: { computed: false, value: false },
    includeIpRanges: { computed: true, value: "*" },
    kiali: { computed: false, value: [{ enabled: false }] },
    opa: { computed: false, value: [{ enabled: false, logLevel: "info" }] },
    outboundTrafficPolicy: { computed: false, value: "ALLOW_ANY" },
    pilot: { computed: false, value: [{ http10Enabled: false, traceSampling: 1 }] },
    prometheus: { computed: true, value: [{ useExternal: false, externalUrl: "" }] },
    proxy: { computed: false, value: [{ clusterDomain: "cluster.local" }] },
    sidecarInjector: { computed: false, value: [{ enableNamespacesByDefault: false }] },
    telemetry: { computed: false, value: true },
    tracing: { computed: false, value: false },
};

describe("review 2 N1: a mesh whose meshConfig the program owns converges", () => {
    test.each([
        ["manageMeshConfig only", { manageMeshConfig: "true" }],
        [
            "every mesh feature on",
            {
                manageMeshConfig: "true",
                accessLogs: "true",
                meshMetrics: "true",
                outboundTrafficPolicy: "REGISTRY_ONLY",
            },
        ],
    ])("%s: every read-back field is either sent or ignored, and nothing sent is ignored", async (_, extra) => {
        const run = await runProgram({ ...CREATE_CONFIG, ...extra });
        const mesh = one(run.resources, MESH);
        const sent = Object.keys(mesh.inputs.meshConfig ?? {});
        expect(sent.sort()).toEqual(["accessLog", "outboundTrafficPolicy", "telemetry"]);
        const ignored = new Set(mesh.ignoreChanges);
        const wouldDiff = Object.entries(READ_BACK)
            .filter(([k, f]) => !f.computed && !sent.includes(k) && !ignored.has(`meshConfig.${k}`))
            .map(([k]) => k);
        expect(wouldDiff).toEqual([]);
        // The fields the switches drive must stay diffed, or turning a switch would do nothing.
        expect(sent.filter((k) => ignored.has(`meshConfig.${k}`))).toEqual([]);
        // The ForceNew field: ignored, so a read-back `true` can never plan a replacement.
        expect(ignored.has("meshConfig.enableLocalityLb")).toBe(true);
    });
});

/**
 * The access_log block field by field, as the provider's Read fills it (resource_alicloud_service_mesh_service_mesh.go
 * v1.289.0: Read takes enabled/project from Spec.MeshConfig.AccessLog and the rest from
 * Spec.MeshConfig.ExtraConfiguration.AccessLogExtraConf; the schema marks only the two lifecycles Computed).
 */
const ACCESS_LOG_READ_BACK: Record<string, { computed: boolean }> = {
    enabled: { computed: false },
    project: { computed: false },
    gatewayEnabled: { computed: false },
    gatewayLifecycle: { computed: true },
    sidecarEnabled: { computed: false },
    sidecarLifecycle: { computed: true },
};

test.each([
    ["collection on", { manageMeshConfig: "true", accessLogs: "true" }],
    ["collection off", { manageMeshConfig: "true" }],
])(
    "review 2 N1/U3, %s: every access-log field the provider reads back is sent or ignored (a refresh plans nothing)",
    async (_, extra) => {
        const mesh = one((await runProgram({ ...CREATE_CONFIG, ...extra })).resources, MESH);
        const sent = Object.keys(mesh.inputs.meshConfig.accessLog);
        const ignored = new Set(mesh.ignoreChanges);
        const wouldDiff = Object.entries(ACCESS_LOG_READ_BACK)
            .filter(([k, f]) => !f.computed && !sent.includes(k) && !ignored.has(`meshConfig.accessLog.${k}`))
            .map(([k]) => k);
        expect(wouldDiff).toEqual([]);
    },
);

test("review 2 U3: with log collection off the access log's project is ignored (safe whether ASM reads it back); with it on, it is sent and diffed", async () => {
    const off = one((await runProgram({ ...CREATE_CONFIG, manageMeshConfig: "true" })).resources, MESH);
    expect(off.inputs.meshConfig.accessLog).toEqual({ enabled: false, sidecarEnabled: false, gatewayEnabled: false });
    expect(off.ignoreChanges).toContain("meshConfig.accessLog.project");
    const on = one(
        (await runProgram({ ...CREATE_CONFIG, manageMeshConfig: "true", accessLogs: "true" })).resources,
        MESH,
    );
    expect(on.inputs.meshConfig.accessLog.project).toMatch(/^asm-canary-mesh-logs-/);
    expect(on.ignoreChanges).not.toContain("meshConfig.accessLog.project");
});
