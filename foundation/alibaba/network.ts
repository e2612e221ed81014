import * as pulumi from "@pulumi/pulumi";
import * as alicloud from "@pulumi/alicloud";
import { componentType, DiskCategory, withLegacyType } from "../../config/constants";

export interface NetworkArgs {
    /** Prefix for the cloud-side names of every resource. */
    readonly namePrefix: string;
    /** The VPC's CIDR block. */
    readonly vpcCidr: string;
    /** One node vSwitch per block, each in its own zone (zones[i]). At least two. */
    readonly nodeVswitchCidrs: string[];
    /** Pod vSwitches (Terway only), one per node vSwitch and in the same zone. Empty for Flannel. */
    readonly podVswitchCidrs: string[];
    /**
     * Zone ids, one per node vSwitch: configured, or the zones the stack already has. Empty (only on a
     * stack's first `up` without configured zones): look up zones that can host `instanceType`.
     */
    readonly zones: string[];
    /**
     * The zones are configured and the stack has none yet (its first `up`): check that zones[0], which gets
     * the NAT gateway, offers Enhanced NAT, so a wrong zone fails in the preview with what to do instead of
     * at the NAT gateway's creation (review 2, m13). Off once the stack has zones: they are what they are.
     */
    readonly checkNatZone?: boolean;
    /** The node instance type the looked-up zones must be able to create. */
    readonly instanceType: string;
    /** The node system disk category the looked-up zones must offer for `instanceType`. */
    readonly diskCategory: DiskCategory;
    /** Pulumi `protect` on every resource here (deletionProtection): destroy and replacements are refused. */
    readonly protect?: boolean;
    /** The Alibaba Cloud provider (region) to create everything with. */
    readonly provider: alicloud.Provider;
}

/**
 * Delete timeout of the vSwitches and the VPC. Their provider defaults (10 and 5 minutes) retry
 * DependencyViolation only that long, while Terway releases the pod and node ENIs asynchronously after the
 * cluster is gone (the provider's own Terway test waits before deleting the vSwitches for that reason).
 * Whether 10 minutes can be too short is unconfirmed; a longer timeout costs nothing when it is not.
 */
export const NETWORK_DELETE_TIMEOUT = "30m";

/**
 * Picks `count` zones from the candidates (zones that can create the node instance type), in a stable
 * (sorted) order. Only zone 0 holds the NAT gateway, so only it must offer Enhanced NAT.
 */
export function pickZones(candidates: string[], natZones: string[], count: number): string[] {
    const usable = [...new Set(candidates)].sort();
    const first = usable.find((z) => natZones.includes(z));
    const rest = usable.filter((z) => z !== first);
    if (first === undefined || rest.length < count - 1) {
        throw new Error(
            `zones: found ${usable.length} zone(s) (${usable.join(", ") || "none"}) that can create the node ` +
                `instance type, ${first === undefined ? "none of them" : `only ${first}`} with an Enhanced NAT gateway; ` +
                `${count} are needed, the first with Enhanced NAT. Set "zones" explicitly or pick another ` +
                `nodeInstanceTypes[0] or region.`,
        );
    }
    return [first, ...rest.slice(0, count - 1)];
}

/** The configured zones, if zones[0] (the NAT gateway's) offers Enhanced NAT; else what to do. */
export function checkNatZone(zones: string[], natZones: string[]): string[] {
    if (!natZones.includes(zones[0])) {
        throw new Error(
            `zones: got ${JSON.stringify(zones)}; the first zone holds the NAT gateway and ${zones[0]} does not offer ` +
                `Enhanced NAT (the region's Enhanced NAT zones: ${natZones.sort().join(", ") || "none"}). Put one of ` +
                "those first, or set zones to [] and let the program pick.",
        );
    }
    return zones;
}

/** The node vSwitches' zones: configured or already the stack's (zones[0] checked for Enhanced NAT on a first `up`), else looked up. */
function networkZones(args: NetworkArgs, invoke: pulumi.InvokeOutputOptions): pulumi.Output<string[]> {
    return args.zones.length > 0
        ? args.checkNatZone
            ? alicloud.vpc.getEnhancedNatAvailableZonesOutput({}, invoke).apply((n) =>
                  checkNatZone(
                      args.zones,
                      n.zones.map((z) => z.zoneId),
                  ),
              )
            : pulumi.output(args.zones)
        : lookUpZones(args, invoke).apply(({ candidates, nat }) =>
              pickZones(candidates, nat, args.nodeVswitchCidrs.length),
          );
}

/**
 * The zones look-up: zones that can create a vSwitch and `instanceType` with `diskCategory` as its system
 * disk, and the zones that offer Enhanced NAT. Runs only when a stack has no zones yet.
 */
function lookUpZones(
    args: NetworkArgs,
    opts: pulumi.InvokeOutputOptions,
): pulumi.Output<{ candidates: string[]; nat: string[] }> {
    // getZones answers "which zones can create this type and a vSwitch"; stock can still run out at
    // creation, which is why the node pool gets several types. Its availableDiskCategory filter only knows
    // whether a zone sells a disk category at all, and rejects cloud_auto (ESSD AutoPL) outright, so the
    // system disk comes from ecs.getInstanceTypes instead: DescribeAvailableResource for exactly this type
    // with exactly this system disk (which also catches a category the type family does not take).
    const zones = alicloud.getZonesOutput(
        { availableInstanceType: args.instanceType, availableResourceCreation: "VSwitch" },
        opts,
    );
    const withDisk = alicloud.ecs.getInstanceTypesOutput(
        { instanceType: args.instanceType, systemDiskCategory: args.diskCategory },
        opts,
    );
    // The NAT gateway sits in the first vSwitch, so its zone must offer Enhanced NAT
    // (vpc/natGateway.d.ts example pairs getEnhancedNatAvailableZones with the vSwitch).
    const nat = alicloud.vpc.getEnhancedNatAvailableZonesOutput({}, opts);
    return pulumi.all([zones, withDisk, nat]).apply(([z, t, n]) => {
        const diskZones = t.instanceTypes.flatMap((x) => x.availabilityZones);
        return {
            candidates: z.zones.map((x) => x.id).filter((id) => diskZones.includes(id)),
            nat: n.zones.map((x) => x.zoneId),
        };
    });
}

/**
 * The VPC, node (and pod) vSwitches across zones, and outbound internet for the nodes: an Enhanced NAT
 * gateway with an EIP and one SNAT entry per vSwitch, so nodes with no public IP can pull public images.
 */
export class Network extends pulumi.ComponentResource {
    public readonly vpcId: pulumi.Output<string>;
    public readonly zoneIds: pulumi.Output<string[]>;
    public readonly nodeVswitchIds: pulumi.Output<string[]>;
    public readonly podVswitchIds: pulumi.Output<string[]>;
    public readonly natGatewayId: pulumi.Output<string>;
    public readonly egressIp: pulumi.Output<string>;
    /** The SNAT entries: whatever needs outbound internet (the cluster's nodes) depends on these. */
    public readonly snatEntries: alicloud.vpc.SnatEntry[];

    constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super(componentType("foundation", "Network"), name, {}, withLegacyType("asmcanary:network:Network", opts));
        const invoke = { parent: this, provider: args.provider };
        const child = { ...invoke, protect: args.protect ?? false };
        const prefix = args.namePrefix;

        const zoneIds = networkZones(args, invoke);

        const vpc = new alicloud.vpc.Network(
            `${name}-vpc`,
            { vpcName: `${prefix}-vpc`, cidrBlock: args.vpcCidr },
            { ...child, customTimeouts: { delete: NETWORK_DELETE_TIMEOUT } },
        );

        const vswitch = vswitchMaker(name, prefix, vpc, child);
        const nodeSwitches = args.nodeVswitchCidrs.map((b, i) =>
            vswitch(
                "node",
                b,
                i,
                zoneIds.apply((z) => z[i]),
            ),
        );
        // Pod vSwitch i sits in node vSwitch i's zone (the one it actually has).
        const podSwitches = args.podVswitchCidrs.map((b, i) => vswitch("pod", b, i, nodeSwitches[i].zoneId));

        const { nat, eip, snatEntries } = natEgress(name, args, child, vpc, nodeSwitches, podSwitches);
        this.snatEntries = snatEntries;

        this.vpcId = vpc.id;
        // The zones the vSwitches actually have (state), not the look-up's answer of the day.
        this.zoneIds = pulumi.all(nodeSwitches.map((s) => s.zoneId));
        this.nodeVswitchIds = pulumi.all(nodeSwitches.map((s) => s.id));
        this.podVswitchIds = pulumi.all(podSwitches.map((s) => s.id));
        this.natGatewayId = nat.id;
        this.egressIp = eip.ipAddress;
        this.registerOutputs({
            vpcId: this.vpcId,
            zoneIds: this.zoneIds,
            nodeVswitchIds: this.nodeVswitchIds,
            podVswitchIds: this.podVswitchIds,
            natGatewayId: this.natGatewayId,
            egressIp: this.egressIp,
        });
    }
}

/**
 * Outbound internet for the nodes: an Enhanced NAT gateway in the first node vSwitch, its EIP, and one SNAT
 * entry per vSwitch.
 */
function natEgress(
    name: string,
    args: NetworkArgs,
    child: pulumi.CustomResourceOptions,
    vpc: alicloud.vpc.Network,
    nodeSwitches: alicloud.vpc.Switch[],
    podSwitches: alicloud.vpc.Switch[],
): { nat: alicloud.vpc.NatGateway; eip: alicloud.ecs.EipAddress; snatEntries: alicloud.vpc.SnatEntry[] } {
    const prefix = args.namePrefix;
    // Nodes get no public IP: without SNAT they cannot pull hashicorp/http-echo or curlimages/curl.
    const nat = new alicloud.vpc.NatGateway(
        `${name}-nat`,
        {
            natGatewayName: `${prefix}-nat`,
            vpcId: vpc.id,
            vswitchId: nodeSwitches[0].id,
            natType: "Enhanced",
            networkType: "internet",
            paymentType: "PayAsYouGo",
            internetChargeType: "PayByLcu",
        },
        child,
    );
    const eip = new alicloud.ecs.EipAddress(
        `${name}-eip`,
        {
            addressName: `${prefix}-nat-eip`,
            paymentType: "PayAsYouGo",
            internetChargeType: "PayByTraffic",
            bandwidth: "100",
        },
        child,
    );
    // instanceType "Nat" is what the provider would infer from the ngw- id anyway; set explicitly, it
    // reads back as Nat, so there is no drift.
    const association = new alicloud.ecs.EipAssociation(
        `${name}-eip-assoc`,
        { allocationId: eip.id, instanceId: nat.id, instanceType: "Nat" },
        child,
    );
    // Terway pods take their IPs from the pod vSwitches, so those need SNAT too.
    const snatEntries = [
        ...nodeSwitches.map((s, i) => [`node-${i}`, s] as const),
        ...podSwitches.map((s, i) => [`pod-${i}`, s] as const),
    ].map(
        ([suffix, sw]) =>
            new alicloud.vpc.SnatEntry(
                `${name}-snat-${suffix}`,
                { snatTableId: nat.snatTableIds, sourceVswitchId: sw.id, snatIp: eip.ipAddress },
                { ...child, dependsOn: [association] },
            ),
    );
    return { nat, eip, snatEntries };
}

/** Declares vSwitch `i` of a role ("node", "pod") in the VPC: `${name}-${role}-${i}`. */
function vswitchMaker(
    name: string,
    prefix: string,
    vpc: alicloud.vpc.Network,
    child: pulumi.CustomResourceOptions,
): (role: string, block: string, i: number, zoneId: pulumi.Input<string>) => alicloud.vpc.Switch {
    return (role, block, i, zoneId) =>
        new alicloud.vpc.Switch(
            `${name}-${role}-${i}`,
            {
                vswitchName: `${prefix}-${role}-${i}`,
                vpcId: vpc.id,
                cidrBlock: block,
                zoneId,
            },
            {
                ...child,
                customTimeouts: { delete: NETWORK_DELETE_TIMEOUT },
                // zone_id is ForceNew, and a replacement with the same CIDR in the same VPC fails. The
                // program passes the zones the stack already has, so this only matters when it has no
                // record of them (e.g. after a failed first `up`): a re-run look-up that picks other
                // zones then changes nothing instead of planning a replacement that cannot succeed.
                ignoreChanges: ["zoneId"],
            },
        );
}
