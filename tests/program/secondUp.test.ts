/**
 * The program evaluated as a later `up` would evaluate it: the stack's own previous outputs (what its
 * StackReference to itself reads) are those of a first `up` with the creation-time config.
 */
import { ConfigError } from "../../config/stackConfig";
import {
    byType,
    CREATE_CONFIG,
    EXISTING_CONFIG,
    MockOptions,
    one,
    ProgramRun,
    refusedProgram,
    runProgram,
} from "../support/harness";

const REF = "pulumi:pulumi:StackReference";
const VSW = "alicloud:vpc/switch:Switch";
const LOOKUPS = [
    "alicloud:index/getZones:getZones",
    "alicloud:ecs/getInstanceTypes:getInstanceTypes",
    "alicloud:vpc/getEnhancedNatAvailableZones:getEnhancedNatAvailableZones",
    "alicloud:servicemesh/getVersions:getVersions",
];

/** The outputs a StackReference returns: JSON values, as the engine stores them. */
function stored(run: ProgramRun): Record<string, unknown> {
    return JSON.parse(JSON.stringify(run.outputs)) as Record<string, unknown>;
}

/** type::name -> inputs, for every declared resource but the stack's read of itself. */
function inputsByResource(run: ProgramRun): Map<string, string> {
    return new Map(
        run.resources.filter((r) => r.type !== REF).map((r) => [`${r.type}::${r.name}`, JSON.stringify(r.inputs)]),
    );
}

function altered(a: ProgramRun, b: ProgramRun): string[] {
    const [x, y] = [inputsByResource(a), inputsByResource(b)];
    expect([...y.keys()].sort()).toEqual([...x.keys()].sort());
    return [...x.keys()].filter((k) => x.get(k) !== y.get(k));
}

/** Runs the program expecting a refusal; returns the problems and what was registered meanwhile. */
async function refused(config: Record<string, string>, opts: MockOptions) {
    const { error, resources, invokes } = await refusedProgram(config, opts);
    expect(error).toBeInstanceOf(ConfigError);
    return { problems: (error as ConfigError).problems, resources, invokes };
}

describe("a second `up` of a create-mode stack", () => {
    let first: ProgramRun;
    let previousOutputs: Record<string, unknown>;
    beforeAll(async () => {
        first = await runProgram(CREATE_CONFIG);
        previousOutputs = stored(first);
    });

    test("the first `up` reads its own (empty) outputs and records the create-only values", () => {
        const ref = one(first.resources, REF);
        expect(ref.inputs.name).toBe("organization/asm-canary/dev");
        expect(first.outputs.createdWith).toMatchObject({
            serviceCidr: "172.21.0.0/20",
            proxyMode: "iptables",
            zones: first.outputs.zoneIds,
        });
        expect(first.secretOutputs).not.toContain("createdWith");
    });

    test("with no change: nothing is refused, nothing is looked up again, every input is the same", async () => {
        const second = await runProgram(CREATE_CONFIG, { previousOutputs });
        expect(second.invokes.map((i) => i.token).filter((t) => LOOKUPS.includes(t))).toEqual([]);
        expect(altered(first, second)).toEqual([]);
        expect(second.outputs.createdWith).toEqual(first.outputs.createdWith);
    });

    test("in-place keys (canaryWeight, nodeCount) change only their objects", async () => {
        const second = await runProgram({ ...CREATE_CONFIG, canaryWeight: "50", nodeCount: "3" }, { previousOutputs });
        expect(altered(first, second).sort()).toEqual([
            "alicloud:cs/nodePool:NodePool::ack-nodes",
            "kubernetes:networking.istio.io/v1beta1:VirtualService::route-hello-vs",
        ]);
    });

    test("a new nodeInstanceTypes[0] or nodeDiskCategory moves no vSwitch (no zone look-up at all)", async () => {
        const second = await runProgram(
            {
                ...CREATE_CONFIG,
                nodeInstanceTypes: '["ecs.g7.xlarge","ecs.c7.xlarge"]',
                nodeDiskCategory: "cloud_auto",
            },
            { previousOutputs },
        );
        expect(second.invokes.map((i) => i.token).filter((t) => LOOKUPS.includes(t))).toEqual([]);
        expect(altered(first, second)).toEqual(["alicloud:cs/nodePool:NodePool::ack-nodes"]);
    });

    test("the zones the stack has win over what the look-up would answer today", async () => {
        // The stack was created when zone 1c sold the node type; today's look-up would pick 1b and 1a.
        const created = ["ap-southeast-1c", "ap-southeast-1a"];
        const second = await runProgram(CREATE_CONFIG, {
            previousOutputs: {
                ...previousOutputs,
                zoneIds: created,
                createdWith: { ...(previousOutputs.createdWith as object), zones: created },
            },
        });
        expect(byType(second.resources, VSW).map((s) => s.inputs.zoneId)).toEqual(created);
        expect(second.outputs.zoneIds).toEqual(created);
    });

    test("an older stack (zoneIds but no createdWith) keeps its zones too", async () => {
        const { createdWith: _none, ...older } = previousOutputs;
        const second = await runProgram(CREATE_CONFIG, { previousOutputs: older });
        expect(second.invokes.map((i) => i.token)).not.toContain("alicloud:index/getZones:getZones");
        expect(byType(second.resources, VSW).map((s) => s.inputs.zoneId)).toEqual(first.outputs.zoneIds);
    });

    test.each([
        ["serviceCidr", "172.30.0.0/20"],
        ["podCidr", "172.22.0.0/16"],
        ["networkPlugin", "terway"],
        ["proxyMode", "ipvs"],
        ["meshApiServerPublic", "true"],
        ["nodeVswitchCidrs", '["192.168.0.0/20","192.168.32.0/20"]'],
        ["zones", '["ap-southeast-1a","ap-southeast-1c"]'],
        ["region", "ap-southeast-5"],
        ["clusterSpec", "ack.pro.xlarge"],
    ])("a changed %s is refused before any resource is declared", async (key, value) => {
        const { problems, resources, invokes } = await refused({ ...CREATE_CONFIG, [key]: value }, { previousOutputs });
        expect(problems).toHaveLength(1);
        expect(problems[0]).toMatch(new RegExp(`^${key}: got .*(this stack was created with|was created as)`));
        expect(problems[0]).toMatch(/create a new stack \(pulumi stack init\) or destroy this one first/);
        // Only the read of the stack's own outputs happened: no resource, no look-up.
        expect(resources.map((r) => r.type)).toEqual([REF]);
        expect(invokes).toEqual([]);
    });

    test("review 2 m12: switched to mode=existing (a cluster's kubeconfig), it is refused before any resource is declared", async () => {
        const { problems, resources, invokes } = await refused(
            { ...CREATE_CONFIG, mode: "existing", existingKubeconfigPath: "/home/me/.kube/ack" },
            { previousOutputs },
        );
        expect(problems).toEqual([
            'mode: got "existing"; this stack was created in mode "create" and holds its Alibaba Cloud resources ' +
                "(VPC, ACK cluster, ASM instance: output createdWith), which mode existing would delete. Set mode " +
                'back to "create"; to run the mesh layer on an existing cluster use a new stack (pulumi stack init), ' +
                "or destroy this one's resources first (pulumi destroy)",
        ]);
        expect(resources.map((r) => r.type)).toEqual([REF]);
        expect(invokes).toEqual([]);
    });

    test("the same change on a stack's first `up` is simply its configuration", async () => {
        const run = await runProgram({ ...CREATE_CONFIG, serviceCidr: "172.30.0.0/20" });
        expect(one(run.resources, "alicloud:cs/managedKubernetes:ManagedKubernetes").inputs.serviceCidr).toBe(
            "172.30.0.0/20",
        );
    });
});

test("review 2 m12: a brownfield stack (mode=existing, never created) reads its own outputs and goes ahead", async () => {
    const run = await runProgram({ mode: "existing", existingKubeconfigPath: "/home/me/.kube/ack" });
    expect(one(run.resources, REF).inputs.name).toBe("organization/asm-canary/dev");
    expect(run.resources.filter((r) => r.type.startsWith("alicloud:"))).toEqual([]);
    expect(run.outputs.mode).toBe("existing");
});

test("mode=existing rendering YAML never reads the stack's previous outputs (the render stack needs no reference)", async () => {
    const run = await runProgram(EXISTING_CONFIG, { previousOutputs: { createdWith: { serviceCidr: "x" } } });
    expect(run.resources.map((r) => r.type)).not.toContain(REF);
    expect(run.outputs.createdWith).toBeUndefined();
});
