import * as pulumi from "@pulumi/pulumi";
import * as alicloud from "@pulumi/alicloud";
import { componentType } from "../../config/constants";
import { createdWith, PreviousOutputs, previousZones } from "../../config/createOnly";
import type { StackConfig } from "../../config/stackConfig";
import { ClusterAccess, Foundation, MeshTarget } from "../meshTarget";
import { AckCluster, AckClusterArgs } from "./ackCluster";
import { AsmIngressGateway } from "./asmIngressGateway";
import { AsmMesh, AsmMeshArgs } from "./asmMesh";
import { MeshObservability } from "./meshObservability";
import type { MeshSettingsRecord } from "../../config/upgrades";
import { Network, NetworkArgs } from "./network";

/**
 * The alias each direct child carries: "this resource was at the stack's root". `pulumi.rootStackResource`
 * is the SDK's marker for "no parent" in an alias (it is `undefined`; the key's presence is what counts).
 */
export const WAS_AT_ROOT: pulumi.Alias = { parent: pulumi.rootStackResource };

export interface AlibabaFoundationArgs {
    /** The validated stack config (mode=create). */
    readonly config: StackConfig;
    /** The stack's own outputs from its last `up` (config/previous.ts), already checked (config/createOnly.ts). */
    readonly previous: PreviousOutputs;
    /** The explicit alicloud provider's settings (config/alicloud.ts). */
    readonly providerArgs: alicloud.ProviderArgs;
}

/**
 * mode=create: the whole Alibaba Cloud foundation, Network -> AckCluster -> AsmMesh, and the features'
 * Alibaba side (SLS project and ARMS add-on, the ASM ingress gateway), on one explicit alicloud provider.
 *
 * Its children were declared at the stack's root before this component existed. Each direct child keeps an
 * alias to that root parent (`{ parent: pulumi.rootStackResource }`); the engine applies a parent's aliases
 * to its children too, so every resource below keeps its state and an existing stack plans no replacement
 * (https://www.pulumi.com/docs/iac/concepts/resources/options/aliases/).
 */
export class AlibabaFoundation extends pulumi.ComponentResource implements Foundation {
    public readonly target: MeshTarget;
    public readonly access: ClusterAccess;
    public readonly outputs: Readonly<Record<string, pulumi.Input<unknown>>>;

    constructor(name: string, args: AlibabaFoundationArgs, opts?: pulumi.ComponentResourceOptions) {
        super(componentType("foundation", "AlibabaFoundation"), name, {}, opts);
        const c = args.config;
        const child = { parent: this, aliases: [WAS_AT_ROOT] };
        const knownZones = previousZones(args.previous);

        const provider = new alicloud.Provider("alicloud", args.providerArgs, child);
        const network = new Network("network", networkArgs(c, knownZones, provider), child);
        const cluster = new AckCluster("ack", clusterArgs(c, network, provider), child);
        // Mesh features, Alibaba side: the SLS project and ARMS add-on exist only while their switch is on
        // (the project is retained, never deleted, when it goes: meshObservability.ts).
        const observability =
            c.accessLogs || c.meshMetrics
                ? new MeshObservability(
                      "observability",
                      {
                          namePrefix: c.namePrefix,
                          accessLogs: c.accessLogs,
                          metrics: c.meshMetrics,
                          clusterId: cluster.readyClusterId,
                          protect: c.deletionProtection,
                          provider,
                      },
                      child,
                  )
                : undefined;
        const mesh = new AsmMesh(
            "asm",
            meshArgs(c, args.previous, { network, cluster, observability }, provider),
            child,
        );
        const ingress = c.ingressGateway
            ? new AsmIngressGateway(
                  "asm-ingress",
                  {
                      namePrefix: c.namePrefix,
                      meshId: mesh.meshId,
                      meshKubeconfig: mesh.kubeconfig,
                      clusterId: cluster.clusterId,
                      replicas: c.ingressReplicas,
                      dependsOn: mesh.target.dependsOn,
                      protect: c.deletionProtection,
                      provider,
                  },
                  child,
              )
            : undefined;

        this.target = mesh.target;
        this.access = { kubeconfig: cluster.kubeconfig, clusterId: cluster.clusterId };
        this.outputs = foundationOutputs(c, { network, cluster, mesh, ingress, observability });
        this.registerOutputs({ clusterId: cluster.clusterId, meshId: mesh.meshId });
    }
}

/**
 * The network's settings. The zones the stack already has (configured, or looked up at its first `up`) stay
 * its zones: the look-up runs once, so a change in what a zone sells or in nodeInstanceTypes[0] /
 * nodeDiskCategory cannot move a vSwitch (zone_id is ForceNew).
 */
function networkArgs(c: StackConfig, knownZones: string[] | undefined, provider: alicloud.Provider): NetworkArgs {
    const zones = c.zones.length > 0 ? c.zones : knownZones?.length === c.nodeVswitchCidrs.length ? knownZones : [];
    return {
        namePrefix: c.namePrefix,
        vpcCidr: c.vpcCidr,
        nodeVswitchCidrs: c.nodeVswitchCidrs,
        podVswitchCidrs: c.networkPlugin === "terway" ? c.podVswitchCidrs : [],
        zones,
        checkNatZone: c.zones.length > 0 && knownZones === undefined,
        instanceType: c.nodeInstanceTypes[0],
        diskCategory: c.nodeDiskCategory,
        protect: c.deletionProtection,
        provider,
    };
}

/** The ACK cluster's settings, on the network's vSwitches, after its SNAT entries (the nodes pull public images). */
function clusterArgs(c: StackConfig, network: Network, provider: alicloud.Provider): AckClusterArgs {
    return {
        namePrefix: c.namePrefix,
        vswitchIds: network.nodeVswitchIds,
        podVswitchIds: network.podVswitchIds,
        networkPlugin: c.networkPlugin,
        podCidr: c.podCidr,
        serviceCidr: c.serviceCidr,
        kubernetesVersion: c.kubernetesVersion,
        clusterSpec: c.clusterSpec,
        proxyMode: c.proxyMode,
        apiServerPublic: c.apiServerPublic,
        deletionProtection: c.deletionProtection,
        nodeInstanceTypes: c.nodeInstanceTypes,
        nodeCount: c.nodeCount,
        nodeDiskCategory: c.nodeDiskCategory,
        nodeDiskSizeGb: c.nodeDiskSizeGb,
        dependsOn: network.snatEntries,
        provider,
    };
}

/** The ASM instance's settings: on the network, with the cluster attached, logging to the SLS project. */
function meshArgs(
    c: StackConfig,
    previous: PreviousOutputs,
    parts: { network: Network; cluster: AckCluster; observability: MeshObservability | undefined },
    provider: alicloud.Provider,
): AsmMeshArgs {
    const { network, cluster, observability } = parts;
    return {
        namePrefix: c.namePrefix,
        edition: c.meshEdition,
        clusterSpec: c.meshClusterSpec,
        version: c.meshVersion,
        vpcId: network.vpcId,
        vswitchId: network.nodeVswitchIds.apply((ids) => ids[0]),
        apiServerPublic: c.meshApiServerPublic,
        clusterId: cluster.readyClusterId,
        dataPlaneProvider: cluster.k8sProvider,
        currentVersion: previous.meshVersion,
        protect: c.deletionProtection,
        provider,
        settings: {
            manage: c.manageMeshConfig,
            outboundTrafficPolicy: c.outboundTrafficPolicy,
            accessLogProject: observability?.accessLogProject,
            metrics: c.meshMetrics,
        },
    };
}

/** The foundation's stack outputs. */
function foundationOutputs(
    c: StackConfig,
    parts: {
        network: Network;
        cluster: AckCluster;
        mesh: AsmMesh;
        ingress: AsmIngressGateway | undefined;
        observability: MeshObservability | undefined;
    },
): Record<string, pulumi.Input<unknown>> {
    const { network, cluster, mesh, ingress, observability } = parts;
    return {
        vpcId: network.vpcId,
        zoneIds: network.zoneIds,
        nodeVswitchIds: network.nodeVswitchIds,
        podVswitchIds: network.podVswitchIds,
        egressIp: network.egressIp,
        clusterId: cluster.clusterId,
        clusterName: cluster.clusterName,
        clusterSpec: cluster.clusterSpec,
        kubernetesVersion: cluster.version,
        kubeconfig: cluster.kubeconfig,
        meshId: mesh.meshId,
        meshVersion: mesh.version,
        meshKubeconfig: mesh.kubeconfig,
        // What the next run compares the create-only keys with (config/createOnly.ts); plain values.
        createdWith: pulumi.output(createdWith(c, network.zoneIds)),
        // What the mesh was last told (config/upgrades.ts: ownership ends only from the off values).
        meshSettings: {
            manage: c.manageMeshConfig,
            outboundTrafficPolicy: c.outboundTrafficPolicy,
            accessLogs: c.accessLogs,
            metrics: c.meshMetrics,
        } satisfies MeshSettingsRecord,
        ...(ingress ? { ingressAddress: ingress.address } : {}),
        ...(observability?.accessLogProject ? { accessLogProject: observability.accessLogProject } : {}),
        ...(observability?.prometheusUrl
            ? { prometheusUrl: observability.prometheusUrl, prometheusToken: observability.prometheusToken }
            : {}),
    };
}
