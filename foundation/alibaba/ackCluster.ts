import * as pulumi from "@pulumi/pulumi";
import * as alicloud from "@pulumi/alicloud";
import * as k8s from "@pulumi/kubernetes";
import * as random from "@pulumi/random";
import {
    ClusterSpec,
    componentType,
    DiskCategory,
    NetworkPlugin,
    ProxyMode,
    withLegacyType,
} from "../../config/constants";

export interface AckClusterArgs {
    /** Prefix for cloud-side names; a random suffix keeps the cluster name unique in the account. */
    readonly namePrefix: string;
    /** Node (and control-plane) vSwitch ids, one per zone. */
    readonly vswitchIds: pulumi.Input<string[]>;
    /** "flannel" (pods on podCidr) or "terway" (pods on podVswitchIds). Create-only. */
    readonly networkPlugin: NetworkPlugin;
    /** Flannel pod CIDR (ignored for Terway). */
    readonly podCidr: string;
    /** Terway pod vSwitch ids (ignored for Flannel). */
    readonly podVswitchIds: pulumi.Input<string[]>;
    /** Service CIDR; ForceNew. */
    readonly serviceCidr: string;
    /** Kubernetes version; unset lets ACK pick the latest at creation (Optional+Computed: no drift). */
    readonly kubernetesVersion?: string;
    /** ACK cluster spec, e.g. ack.pro.small. */
    readonly clusterSpec: ClusterSpec;
    /** kube-proxy mode. */
    readonly proxyMode: ProxyMode;
    /** Whether the API server gets an internet-facing SLB (needed when `pulumi up` runs outside the VPC). */
    readonly apiServerPublic: boolean;
    /**
     * ACK deletion protection, and Pulumi `protect` on the cluster and the node pool: `pulumi destroy` and
     * any replacement are refused by Pulumi instead of failing at the API halfway through.
     */
    readonly deletionProtection: boolean;
    /** Candidate node instance types, tried in order. */
    readonly nodeInstanceTypes: string[];
    /** Number of worker nodes. */
    readonly nodeCount: number;
    /** Node system disk category (snake_case, e.g. cloud_essd). */
    readonly nodeDiskCategory: DiskCategory;
    /** Node system disk size in GiB. */
    readonly nodeDiskSizeGb: number;
    /** Resources the cluster must wait for, e.g. the SNAT entries that give nodes outbound internet. */
    readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
    /** The Alibaba Cloud provider. */
    readonly provider: alicloud.Provider;
}

/** The create-only add-on that installs the chosen network plugin. */
function networkAddons(plugin: NetworkPlugin): { name: string }[] {
    return [{ name: plugin === "flannel" ? "flannel" : "terway-eniip" }];
}

/**
 * A managed ACK cluster with zero built-in workers and its nodes in a cs.NodePool (the worker_* arguments
 * were removed in provider 1.212.0), its kubeconfig (secret) and a Kubernetes Provider for it.
 */
export class AckCluster extends pulumi.ComponentResource {
    public readonly clusterId: pulumi.Output<string>;
    public readonly clusterName: pulumi.Output<string>;
    /** The spec the cluster has (read back from ACK). */
    public readonly clusterSpec: pulumi.Output<string>;
    /** The Kubernetes version the cluster runs. */
    public readonly version: pulumi.Output<string>;
    public readonly nodePoolId: pulumi.Output<string>;
    /**
     * The cluster id read from the node pool: a resource that uses it (the ASM attachment) waits for the
     * nodes.
     */
    public readonly readyClusterId: pulumi.Output<string>;
    /** Admin kubeconfig for the public API endpoint, as a Pulumi secret. */
    public readonly kubeconfig: pulumi.Output<string>;
    /** Kubernetes Provider for this cluster; its identity is the cluster id, not the credential. */
    public readonly k8sProvider: k8s.Provider;

    constructor(name: string, args: AckClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super(
            componentType("foundation", "AckCluster"),
            name,
            {},
            withLegacyType("asmcanary:cluster:AckCluster", opts),
        );
        const child = { parent: this, provider: args.provider };
        const protect = args.deletionProtection;

        const suffix = new random.RandomString(
            `${name}-suffix`,
            { length: 6, special: false, upper: false },
            { parent: this },
        );
        // ECS login passwords: 8-30 characters with upper, lower, digit and special characters
        // (https://www.alibabacloud.com/help/en/ecs/user-guide/reset-the-logon-password-of-an-instance).
        const nodePassword = new random.RandomPassword(
            `${name}-node-password`,
            { length: 24, minUpper: 2, minLower: 2, minNumeric: 2, minSpecial: 2, overrideSpecial: "!@#%^*-_+=" },
            { parent: this },
        );

        const cluster = new alicloud.cs.ManagedKubernetes(name, clusterArgs(args, suffix), {
            ...child,
            protect,
            dependsOn: args.dependsOn,
            // The provider's defaults (create 90m, update and delete 60m): never shorter.
            customTimeouts: { create: "90m", update: "60m", delete: "60m" },
        });

        const pool = new alicloud.cs.NodePool(`${name}-nodes`, nodePoolArgs(args, cluster, nodePassword), {
            ...child,
            protect,
            // The provider's defaults (create 90m, update and delete 60m): never shorter.
            customTimeouts: { create: "90m", update: "60m", delete: "60m" },
        });

        // Public-endpoint kubeconfig (PrivateIpAddress=false); omitting temporaryDurationMinutes gives ACK's
        // default long-lived credential, so later `pulumi destroy`/`refresh` still work with the stored one.
        const credential = alicloud.cs.getClusterCredentialOutput({ clusterId: cluster.id }, child);
        this.kubeconfig = pulumi.secret(credential.kubeConfig);

        this.k8sProvider = new k8s.Provider(
            `${name}-k8s`,
            // clusterIdentifier: a rotated credential updates the Provider instead of replacing every object.
            { kubeconfig: this.kubeconfig, clusterIdentifier: cluster.id },
            { parent: this },
        );

        this.clusterId = cluster.id;
        this.clusterName = cluster.name;
        this.clusterSpec = cluster.clusterSpec;
        // What the cluster runs (ACK's choice when kubernetesVersion is unset): the next run's upgrade check
        // compares a new kubernetesVersion with it (config/upgrades.ts).
        this.version = cluster.version.apply((v) => v ?? "");
        this.nodePoolId = pool.id;
        this.readyClusterId = pool.clusterId;
        this.registerOutputs({
            clusterId: this.clusterId,
            clusterName: this.clusterName,
            nodePoolId: this.nodePoolId,
            kubeconfig: this.kubeconfig,
        });
    }
}

/** The cluster's settings: its name gets a random suffix; no cluster-made NAT (the Network's SNAT serves it). */
function clusterArgs(args: AckClusterArgs, suffix: random.RandomString): alicloud.cs.ManagedKubernetesArgs {
    const flannel = args.networkPlugin === "flannel";
    return {
        name: pulumi.interpolate`${args.namePrefix}-${suffix.result}`,
        clusterSpec: args.clusterSpec,
        version: args.kubernetesVersion || undefined,
        vswitchIds: args.vswitchIds,
        podCidr: flannel ? args.podCidr : undefined,
        podVswitchIds: flannel ? undefined : args.podVswitchIds,
        serviceCidr: args.serviceCidr,
        addons: networkAddons(args.networkPlugin),
        // ipvs is deprecated upstream from Kubernetes 1.35; iptables works for every version.
        proxyMode: args.proxyMode,
        // Outbound internet comes from the Network component's NAT + SNAT, not a cluster-made NAT.
        newNatGateway: false,
        slbInternetEnabled: args.apiServerPublic,
        deletionProtection: args.deletionProtection,
        // The kubeconfig comes from cs.getClusterCredential (certificate attributes deprecated in 1.248.0).
        skipSetCertificateAuthority: true,
        // deleteOptions left at ACK's defaults: its `SLB` option means the CLBs of LoadBalancer
        // Services (deleted); ALB instances and SLS projects are retained. The API server's CLB belongs
        // to the cluster and goes with it either way. docs/operations.md (Cleanup) says so.
    };
}

/** The node pool's settings: the nodes spread across the vSwitches' zones. */
function nodePoolArgs(
    args: AckClusterArgs,
    cluster: alicloud.cs.ManagedKubernetes,
    nodePassword: random.RandomPassword,
): alicloud.cs.NodePoolArgs {
    return {
        // nodePoolName is effectively required (ExactlyOneOf with the deprecated `name`).
        nodePoolName: `${args.namePrefix}-nodes`,
        clusterId: cluster.id,
        vswitchIds: args.vswitchIds,
        instanceTypes: args.nodeInstanceTypes,
        // desiredSize is a string in this provider.
        desiredSize: String(args.nodeCount),
        systemDiskCategory: args.nodeDiskCategory,
        systemDiskSize: args.nodeDiskSizeGb,
        password: nodePassword.result,
        // The scaling group's default (PRIORITY) fills the first vSwitch's zone and uses the next only
        // when that zone cannot create an instance, so all nodes usually land in zone 0. BALANCE spreads
        // them evenly across the vSwitches' zones, which is what one node per zone is for
        // (cs/nodePool.d.ts multiAzPolicy; updatable in place).
        multiAzPolicy: "BALANCE",
    };
}
