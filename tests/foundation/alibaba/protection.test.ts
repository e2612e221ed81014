/** deletionProtection: ACK's own flag plus Pulumi `protect` on every Alibaba Cloud resource, or on none. */
import { CREATE_CONFIG, FEATURE, one, runProgram } from "../../support/harness";

const PROTECTED = [
    "alicloud:vpc/network:Network",
    "alicloud:vpc/switch:Switch",
    "alicloud:vpc/natGateway:NatGateway",
    "alicloud:ecs/eipAddress:EipAddress",
    "alicloud:ecs/eipAssociation:EipAssociation",
    "alicloud:vpc/snatEntry:SnatEntry",
    "alicloud:cs/managedKubernetes:ManagedKubernetes",
    "alicloud:cs/nodePool:NodePool",
    "alicloud:servicemesh/serviceMesh:ServiceMesh",
];

describe.each([
    ["on", "true"],
    ["off", "false"],
])("deletionProtection %s", (_label, flag) => {
    let run: Awaited<ReturnType<typeof runProgram>>;
    beforeAll(async () => {
        run = await runProgram({ ...CREATE_CONFIG, deletionProtection: flag, nodeCount: "2", networkPlugin: "terway" });
    });

    test("every Alibaba Cloud resource (cluster, node pool, mesh, NAT, EIP, network) is protected exactly then", () => {
        const cloud = run.resources.filter((r) => r.type.startsWith("alicloud:"));
        expect([...new Set(cloud.map((r) => r.type))].sort()).toEqual([...PROTECTED].sort());
        for (const r of cloud) {
            expect({ resource: `${r.type}::${r.name}`, protect: r.protect }).toEqual({
                resource: `${r.type}::${r.name}`,
                protect: flag === "true",
            });
        }
        expect(one(run.resources, "alicloud:cs/managedKubernetes:ManagedKubernetes").inputs.deletionProtection).toBe(
            flag === "true",
        );
    });

    test("the mesh layer and the helpers stay unprotected (services can be removed, objects replaced)", () => {
        const others = run.resources.filter((r) => !r.type.startsWith("alicloud:"));
        expect(others.length).toBeGreaterThan(10);
        expect(others.filter((r) => r.protect).map((r) => r.name)).toEqual([]);
    });
});

/** Every mesh feature with an Alibaba Cloud side on: the CLB, the SLS project, the ARMS add-on. */
const FEATURES = {
    ...CREATE_CONFIG,
    meshApiServerPublic: "true",
    ingressGateway: "true",
    manageMeshConfig: "true",
    accessLogs: "true",
    meshMetrics: "true",
};

describe.each([
    ["on", "true"],
    ["off", "false"],
])("deletionProtection %s, every feature on (review 2, #11 and m3)", (_label, flag) => {
    test("the features' Alibaba Cloud resources (CLB, SLS project, ARMS add-on) are protected exactly then, like the rest", async () => {
        const run = await runProgram({ ...FEATURES, deletionProtection: flag });
        const cloud = run.resources.filter((r) => r.type.startsWith("alicloud:"));
        expect([...new Set(cloud.map((r) => r.type))].sort()).toEqual(
            [...PROTECTED, FEATURE.clb, FEATURE.sls, FEATURE.addon].sort(),
        );
        expect(cloud.filter((r) => r.protect !== (flag === "true")).map((r) => `${r.type}::${r.name}`)).toEqual([]);
    });
});

describe("review 2 N2: the SLS project and its logs survive every config switch", () => {
    test.each(["true", "false"])(
        "deletionProtection %s: the project is retained on delete (accessLogs off, destroy) and keeps its name when namePrefix changes",
        async (flag) => {
            const run = await runProgram({ ...FEATURES, deletionProtection: flag });
            const project = one(run.resources, FEATURE.sls);
            expect({ retainOnDelete: project.retainOnDelete, ignoreChanges: project.ignoreChanges }).toEqual({
                retainOnDelete: true,
                ignoreChanges: ["projectName"],
            });
        },
    );

    test("nothing else is retained: a retained CLB or add-on would keep billing with nothing to manage it", async () => {
        const run = await runProgram(FEATURES);
        expect(run.resources.filter((r) => r.retainOnDelete).map((r) => `${r.type}::${r.name}`)).toEqual([
            `${FEATURE.sls}::observability-sls`,
        ]);
    });
});
