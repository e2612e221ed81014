/** deletionProtection: ACK's own flag plus Pulumi `protect` on every Alibaba Cloud resource, or on none. */
import { CREATE_CONFIG, one, runProgram } from "../../support/harness";

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
