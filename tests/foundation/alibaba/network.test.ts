import * as alicloud from "@pulumi/alicloud";
import { checkNatZone, Network, NETWORK_DELETE_TIMEOUT, pickZones } from "../../../foundation/alibaba/network";
import {
    byType,
    CREATE_CONFIG,
    depsOf,
    installMocks,
    MOCK_AUTOPL_ZONES,
    one,
    Recorded,
    resolve,
    runProgram,
} from "../../support/harness";

const T = {
    vpc: "alicloud:vpc/network:Network",
    vsw: "alicloud:vpc/switch:Switch",
    nat: "alicloud:vpc/natGateway:NatGateway",
    eip: "alicloud:ecs/eipAddress:EipAddress",
    assoc: "alicloud:ecs/eipAssociation:EipAssociation",
    snat: "alicloud:vpc/snatEntry:SnatEntry",
};

describe("pickZones", () => {
    test("zone 0 (the NAT gateway's) offers Enhanced NAT; the others need not; sorted", () => {
        expect(pickZones(["z-c", "z-a", "z-b"], ["z-b", "z-c", "z-x"], 2)).toEqual(["z-b", "z-a"]);
        expect(pickZones(["z-c", "z-a", "z-b"], ["z-c"], 3)).toEqual(["z-c", "z-a", "z-b"]);
    });
    test("explains when too few zones qualify", () => {
        expect(() => pickZones(["z-a"], ["z-a"], 2)).toThrow(
            /zones: found 1 zone\(s\) \(z-a\) that can create the node instance type, only z-a with an Enhanced NAT gateway; 2 are needed/,
        );
        expect(() => pickZones(["z-a", "z-b"], ["z-x"], 2)).toThrow(/none of them with an Enhanced NAT gateway/);
    });
});

describe("Network in the whole program (defaults: Flannel, zones looked up)", () => {
    let run: Awaited<ReturnType<typeof runProgram>>;
    beforeAll(async () => {
        run = await runProgram(CREATE_CONFIG);
    });

    test("a VPC with the configured CIDR", () => {
        expect(one(run.resources, T.vpc).inputs).toMatchObject({
            cidrBlock: "192.168.0.0/16",
            vpcName: "asm-canary-vpc",
        });
    });

    test("two node vSwitches in two zones that can host the node type, the first with Enhanced NAT", () => {
        const switches = byType(run.resources, T.vsw);
        expect(switches.map((s) => [s.name, s.inputs.cidrBlock, s.inputs.zoneId])).toEqual([
            ["network-node-0", "192.168.0.0/20", "ap-southeast-1b"],
            ["network-node-1", "192.168.16.0/20", "ap-southeast-1a"],
        ]);
        const zoneLookup = run.invokes.find((i) => i.token === "alicloud:index/getZones:getZones");
        expect(zoneLookup?.inputs).toEqual({
            availableInstanceType: "ecs.c7.xlarge",
            availableResourceCreation: "VSwitch",
        });
        const diskLookup = run.invokes.find((i) => i.token === "alicloud:ecs/getInstanceTypes:getInstanceTypes");
        expect(diskLookup?.inputs).toEqual({ instanceType: "ecs.c7.xlarge", systemDiskCategory: "cloud_essd" });
        // The zones the vSwitches have (their zoneId outputs), not the look-up's answer.
        expect(run.outputs.zoneIds).toEqual(["ap-southeast-1b", "ap-southeast-1a"]);
    });

    test("vSwitches keep their zone (ignoreChanges) and, with the VPC, get a 30 min delete timeout", () => {
        for (const s of byType(run.resources, T.vsw)) {
            expect({ name: s.name, ignoreChanges: s.ignoreChanges, delete: s.deleteTimeout }).toEqual({
                name: s.name,
                ignoreChanges: ["zoneId"],
                delete: NETWORK_DELETE_TIMEOUT,
            });
        }
        expect(one(run.resources, T.vpc).deleteTimeout).toBe("30m");
    });

    test("outbound internet: Enhanced NAT + EIP bound as Nat + one SNAT entry per node vSwitch", () => {
        const vpcId = run.outputs.vpcId;
        const nat = one(run.resources, T.nat);
        expect(nat.inputs).toMatchObject({
            vpcId,
            natType: "Enhanced",
            networkType: "internet",
            paymentType: "PayAsYouGo",
        });
        expect(nat.inputs.vswitchId).toBe((run.outputs.nodeVswitchIds as string[])[0]);
        const assoc = one(run.resources, T.assoc);
        expect(assoc.inputs.instanceType).toBe("Nat");
        expect(depsOf(run.resources, assoc).sort()).toEqual([`${T.eip}::network-eip`, `${T.nat}::network-nat`]);
        const snats = byType(run.resources, T.snat);
        expect(snats.map((s) => s.inputs.sourceVswitchId)).toEqual(run.outputs.nodeVswitchIds);
        for (const s of snats) {
            expect(s.inputs.snatIp).toBe("47.236.10.20");
            expect(s.inputs.snatTableId).toMatch(/^stb-/);
            expect(depsOf(run.resources, s)).toContain(`${T.assoc}::network-eip-assoc`);
        }
    });

    test("every Alibaba resource uses the explicit regional provider", () => {
        const alicloudResources = run.resources.filter((r) => r.type.startsWith("alicloud:"));
        expect(alicloudResources.length).toBeGreaterThan(5);
        for (const r of alicloudResources) {
            expect(r.provider).toMatch(/pulumi:providers:alicloud::alicloud::/);
        }
        expect(one(run.resources, "pulumi:providers:alicloud").inputs.region).toBe("ap-southeast-1");
    });
});

describe("zone look-up with nodeDiskCategory cloud_auto (ESSD AutoPL)", () => {
    test("getZones gets no disk filter (it rejects cloud_auto); ecs.getInstanceTypes narrows the zones", async () => {
        const run = await runProgram({ ...CREATE_CONFIG, nodeDiskCategory: "cloud_auto" });
        const zones = run.invokes.find((i) => i.token === "alicloud:index/getZones:getZones");
        expect(zones?.inputs).toEqual({ availableInstanceType: "ecs.c7.xlarge", availableResourceCreation: "VSwitch" });
        const types = run.invokes.find((i) => i.token === "alicloud:ecs/getInstanceTypes:getInstanceTypes");
        expect(types?.inputs).toEqual({ instanceType: "ecs.c7.xlarge", systemDiskCategory: "cloud_auto" });
        // Candidates a, c (AutoPL) of a, b, c; only c also offers Enhanced NAT, so it is zone 0.
        expect(MOCK_AUTOPL_ZONES).toEqual(["ap-southeast-1a", "ap-southeast-1c"]);
        expect(run.outputs.zoneIds).toEqual(["ap-southeast-1c", "ap-southeast-1a"]);
        expect(one(run.resources, "alicloud:cs/nodePool:NodePool").inputs.systemDiskCategory).toBe("cloud_auto");
    });

    test("every category is looked up as the system disk of that very type", async () => {
        const run = await runProgram({ ...CREATE_CONFIG, nodeDiskCategory: "cloud_efficiency" });
        const types = run.invokes.find((i) => i.token === "alicloud:ecs/getInstanceTypes:getInstanceTypes");
        expect(types?.inputs).toEqual({ instanceType: "ecs.c7.xlarge", systemDiskCategory: "cloud_efficiency" });
        const zones = run.invokes.find((i) => i.token === "alicloud:index/getZones:getZones");
        expect(zones?.inputs.availableDiskCategory).toBeUndefined();
    });
});

describe("Network component on its own", () => {
    async function build(
        args: Partial<ConstructorParameters<typeof Network>[1]>,
    ): Promise<{ net: Network; resources: Recorded[]; invokes: string[] }> {
        const rec = await installMocks();
        const provider = new alicloud.Provider("p", { region: "ap-southeast-1" });
        const net = new Network("net", {
            namePrefix: "t",
            vpcCidr: "10.0.0.0/16",
            nodeVswitchCidrs: ["10.0.0.0/24", "10.0.1.0/24"],
            podVswitchCidrs: [],
            zones: [],
            instanceType: "ecs.c7.xlarge",
            diskCategory: "cloud_essd",
            provider,
            ...args,
        });
        await resolve(net.snatEntries[0].id);
        await resolve(net.zoneIds);
        return { net, resources: rec.resources, invokes: rec.invokes.map((i) => i.token) };
    }

    test("explicit zones are used as given, with no zone look-up", async () => {
        const { resources, invokes } = await build({ zones: ["ap-southeast-1a", "ap-southeast-1c"] });
        expect(byType(resources, T.vsw).map((s) => s.inputs.zoneId)).toEqual(["ap-southeast-1a", "ap-southeast-1c"]);
        expect(invokes).toEqual([]);
    });

    test("review 2 m13: configured zones on a first up: the NAT's zone is checked for Enhanced NAT, nothing else looked up", async () => {
        // The mock region's Enhanced NAT zones are ap-southeast-1b and ap-southeast-1c.
        const { resources, invokes } = await build({
            zones: ["ap-southeast-1b", "ap-southeast-1a"],
            checkNatZone: true,
        });
        expect(byType(resources, T.vsw).map((s) => s.inputs.zoneId)).toEqual(["ap-southeast-1b", "ap-southeast-1a"]);
        expect(invokes).toEqual(["alicloud:vpc/getEnhancedNatAvailableZones:getEnhancedNatAvailableZones"]);
    });

    test("review 2 m13: a configured first zone without Enhanced NAT is refused with the zones that have it", () => {
        expect(() =>
            checkNatZone(["ap-southeast-1a", "ap-southeast-1b"], ["ap-southeast-1c", "ap-southeast-1b"]),
        ).toThrow(
            'zones: got ["ap-southeast-1a","ap-southeast-1b"]; the first zone holds the NAT gateway and ap-southeast-1a ' +
                "does not offer Enhanced NAT (the region's Enhanced NAT zones: ap-southeast-1b, ap-southeast-1c). Put one " +
                "of those first, or set zones to [] and let the program pick.",
        );
        expect(checkNatZone(["ap-southeast-1c", "ap-southeast-1a"], ["ap-southeast-1c"])).toEqual([
            "ap-southeast-1c",
            "ap-southeast-1a",
        ]);
    });

    test("Terway pod vSwitches sit in the node vSwitches' zones and get SNAT too", async () => {
        const { net, resources } = await build({
            zones: ["ap-southeast-1a", "ap-southeast-1b"],
            podVswitchCidrs: ["10.0.64.0/19", "10.0.96.0/19"],
        });
        const pods = byType(resources, T.vsw).filter((s) => s.name.startsWith("net-pod-"));
        expect(pods.map((s) => [s.inputs.cidrBlock, s.inputs.zoneId])).toEqual([
            ["10.0.64.0/19", "ap-southeast-1a"],
            ["10.0.96.0/19", "ap-southeast-1b"],
        ]);
        expect(byType(resources, T.snat).map((s) => s.name)).toEqual([
            "net-snat-node-0",
            "net-snat-node-1",
            "net-snat-pod-0",
            "net-snat-pod-1",
        ]);
        expect((await resolve(net.podVswitchIds)).value).toHaveLength(2);
    });
});

test("review 2 m13, wired: configured zones are NAT-checked on the first up only, never once the stack has zones", async () => {
    const NAT = "alicloud:vpc/getEnhancedNatAvailableZones:getEnhancedNatAvailableZones";
    const zones = ["ap-southeast-1b", "ap-southeast-1a"];
    const first = await runProgram({ ...CREATE_CONFIG, zones: JSON.stringify(zones) });
    expect(first.invokes.map((i) => i.token)).toContain(NAT);
    const later = await runProgram(
        { ...CREATE_CONFIG, zones: JSON.stringify(zones) },
        { previousOutputs: { zoneIds: zones } },
    );
    expect(later.invokes.map((i) => i.token)).not.toContain(NAT);
    await expect(
        runProgram({ ...CREATE_CONFIG, zones: JSON.stringify(["ap-southeast-1a", "ap-southeast-1b"]) }),
    ).rejects.toThrow(/zones: got \["ap-southeast-1a","ap-southeast-1b"\]; the first zone holds the NAT gateway/);
});
