import * as pulumi from "@pulumi/pulumi";
import * as alicloud from "@pulumi/alicloud";
import { componentType, DiskCategory, withLegacyType } from "../../lib/constants";

export interface NetworkArgs {
    /** Prefix for the cloud-side names of every resource. */
    readonly namePrefix: string;
    /** The VPC's CIDR block. */
    readonly vpcCidr: string;
    /** One node vSwitch per block, each in its own zone (zones[i]). At least two. */
    readonly nodeVswitchCidrs: string[];
    /** Pod vSwitches (Terway only), one per node vSwitch and in the same zone. Empty for Flannel. */
    readonly podVswitchCidrs: string[];
    /** Zone ids, one per node vSwitch. Empty: look up zones that can host `instanceType`. */
    readonly zones: string[];
    /** The node instance type the looked-up zones must be able to create. */
    readonly instanceType: string;
    /** The node system disk category the looked-up zones must offer. */
    readonly diskCategory: DiskCategory;
    /** The Alibaba Cloud provider (region) to create everything with. */
    readonly provider: alicloud.Provider;
}

/**
 * Picks `count` zones from the candidates (zones that can create the node instance type) that can also
 * host an Enhanced NAT gateway, in a stable (sorted) order so that a re-run picks the same zones.
 */
export function pickZones(candidates: string[], natZones: string[], count: number): string[] {
    const usable = [...new Set(candidates)].filter((z) => natZones.includes(z)).sort();
    if (usable.length < count) {
        throw new Error(
            `zones: found only ${usable.length} zone(s) (${usable.join(", ") || "none"}) that can create the node ` +
                `instance type and an Enhanced NAT gateway; ${count} are needed. Set "zones" explicitly or pick ` +
                `another nodeInstanceTypes[0] or region.`,
        );
    }
    return usable.slice(0, count);
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
        const child = { parent: this, provider: args.provider };
        const prefix = args.namePrefix;

        const zoneIds: pulumi.Output<string[]> =
            args.zones.length > 0
                ? pulumi.output(args.zones)
                : pulumi
                      .all([
                          // getZones(availableInstanceType) rather than ecs.getInstanceTypes: it answers
                          // "which zones can create this type" directly; stock can still run out at
                          // creation, which is why the node pool gets several instance types.
                          alicloud.getZonesOutput(
                              {
                                  availableInstanceType: args.instanceType,
                                  availableDiskCategory: args.diskCategory,
                                  availableResourceCreation: "VSwitch",
                              },
                              child,
                          ),
                          // The NAT gateway sits in the first vSwitch, so its zone must offer Enhanced NAT.
                          alicloud.vpc.getEnhancedNatAvailableZonesOutput({}, child),
                      ])
                      .apply(([zones, nat]) =>
                          pickZones(
                              zones.zones.map((z) => z.id),
                              nat.zones.map((z) => z.zoneId),
                              args.nodeVswitchCidrs.length,
                          ),
                      );

        const vpc = new alicloud.vpc.Network(
            `${name}-vpc`,
            { vpcName: `${prefix}-vpc`, cidrBlock: args.vpcCidr },
            child,
        );

        const vswitch = (role: string, block: string, i: number) =>
            new alicloud.vpc.Switch(
                `${name}-${role}-${i}`,
                {
                    vswitchName: `${prefix}-${role}-${i}`,
                    vpcId: vpc.id,
                    cidrBlock: block,
                    zoneId: zoneIds.apply((z) => z[i]),
                },
                child,
            );
        const nodeSwitches = args.nodeVswitchCidrs.map((b, i) => vswitch("node", b, i));
        const podSwitches = args.podVswitchCidrs.map((b, i) => vswitch("pod", b, i));

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
        // instanceType "Nat": the default, EcsInstance, cannot bind an EIP to a NAT gateway.
        const association = new alicloud.ecs.EipAssociation(
            `${name}-eip-assoc`,
            { allocationId: eip.id, instanceId: nat.id, instanceType: "Nat" },
            child,
        );
        // Terway pods take their IPs from the pod vSwitches, so those need SNAT too.
        this.snatEntries = [
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

        this.vpcId = vpc.id;
        this.zoneIds = zoneIds;
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
