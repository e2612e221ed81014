import * as pulumi from "@pulumi/pulumi";
import * as alicloud from "@pulumi/alicloud";
import * as k8s from "@pulumi/kubernetes";
import { MeshTarget } from "../meshTarget";
import { meshConfigIgnored, meshConfigOf, MeshSettings } from "./meshConfig";
import { componentType, MeshClusterSpec, MeshEdition, withLegacyType } from "../../config/constants";

export interface AsmMeshArgs {
    /** Prefix for the mesh's name. */
    readonly namePrefix: string;
    /** "Pro" (Enterprise/Ultimate; see MESH_EDITIONS); ForceNew, so always set explicitly. */
    readonly edition: MeshEdition;
    /** enterprise | ultimate. */
    readonly clusterSpec: MeshClusterSpec;
    /** Pinned ASM version; unset picks the newest available for the edition at creation. */
    readonly version?: string;
    /**
     * The version the stack's mesh already runs (its previous `meshVersion` output), if it has one. With
     * `version` unpinned it is used as is and the version look-up is skipped: the look-up's answer would be
     * discarded anyway (ignoreChanges), and an empty or failed answer must not stop a stack that has a mesh.
     */
    readonly currentVersion?: string;
    /** Pulumi `protect` on the mesh (deletionProtection). */
    readonly protect?: boolean;
    /** The VPC the mesh's control-plane endpoint lives in (the cluster's VPC). */
    readonly vpcId: pulumi.Input<string>;
    /** ONE vSwitch id for the mesh endpoint (vswitcheList is a single string in Pulumi). */
    readonly vswitchId: pulumi.Input<string>;
    /** Whether the ASM API server gets a public EIP (create-only). */
    readonly apiServerPublic: boolean;
    /** The data-plane cluster id to attach; pass the node pool's clusterId so attaching waits for nodes. */
    readonly clusterId: pulumi.Input<string>;
    /** Kubernetes Provider of the data-plane (ACK) cluster: Istio objects are applied through it. */
    readonly dataPlaneProvider: k8s.Provider;
    /** The Alibaba Cloud provider. */
    readonly provider: alicloud.Provider;
    /** Mesh-level settings (foundation/alibaba/meshConfig.ts); not managed: the mesh keeps its own. */
    readonly settings: MeshSettings;
}

/** The newest ASM version string, compared numerically ("v1.24.6.60-g…-aliyun" > "v1.9.7.1-…"). */
export function newestMeshVersion(versions: string[]): string {
    const key = (v: string) => (/^v?(\d+(?:\.\d+)*)/.exec(v)?.[1] ?? "0").split(".").map(Number);
    const sorted = [...versions].sort((a, b) => {
        const [x, y] = [key(a), key(b)];
        for (let i = 0; i < Math.max(x.length, y.length); i++) {
            const d = (x[i] ?? 0) - (y[i] ?? 0);
            if (d !== 0) {
                return d;
            }
        }
        return a.localeCompare(b);
    });
    if (sorted.length === 0) {
        throw new Error(
            "meshVersion: the region offers no ASM version for this edition; set meshVersion or pick another region",
        );
    }
    return sorted[sorted.length - 1];
}

/**
 * An ASM (managed Istio) instance with the ACK cluster attached. Istio objects are applied to the ACK
 * cluster through "data-plane KubeAPI access" (crAggregationEnabled), not to the mesh's own API server,
 * whose kubeconfig is the private VPC endpoint
 * (https://www.alibabacloud.com/help/en/asm/sidecar/access-istio-resources-via-kubeapi-of-data-plane-cluster).
 */
export class AsmMesh extends pulumi.ComponentResource {
    public readonly meshId: pulumi.Output<string>;
    public readonly version: pulumi.Output<string>;
    /** The mesh's own kubeconfig (PRIVATE VPC endpoint), as a secret. */
    public readonly kubeconfig: pulumi.Output<string>;
    /** Where the mesh layer applies its objects; they wait for the mesh with the cluster attached. */
    public readonly target: MeshTarget;

    constructor(name: string, args: AsmMeshArgs, opts?: pulumi.ComponentResourceOptions) {
        super(componentType("foundation", "AsmMesh"), name, {}, withLegacyType("asmcanary:mesh:AsmMesh", opts));
        const child = { parent: this, provider: args.provider };

        const version = args.version
            ? pulumi.output(args.version)
            : args.currentVersion
              ? pulumi.output(args.currentVersion)
              : alicloud.servicemesh
                    .getVersionsOutput({ edition: args.edition }, child)
                    // getVersions returns the list unsorted.
                    .apply((r) => newestMeshVersion(r.versions.map((v) => v.version)));

        const mesh = new alicloud.servicemesh.ServiceMesh(
            name,
            {
                // edition, version and serviceMeshName are written back by Read: leaving them unset shows
                // a diff, and for edition (ForceNew) a replacement, on the next preview.
                serviceMeshName: `${args.namePrefix}-mesh`,
                edition: args.edition,
                clusterSpec: args.clusterSpec,
                version,
                network: { vpcId: args.vpcId, vswitcheList: args.vswitchId },
                // pilotPublicEip is deprecated, read-only and ForceNew: never set it.
                loadBalancer: { apiServerPublicEip: args.apiServerPublic },
                extraConfiguration: { crAggregationEnabled: true },
                meshConfig: meshConfigOf(args.settings),
                // clusterIds is the only attach mechanism; on change the provider detaches every old id and
                // re-attaches every new one, so this list is treated as fixed.
                clusterIds: [args.clusterId],
                // Read from state at delete: must be set from the first `up` for `pulumi destroy` to work.
                force: true,
            },
            {
                ...child,
                protect: args.protect ?? false,
                additionalSecretOutputs: ["kubeconfig"],
                customTimeouts: { create: "30m", update: "30m", delete: "30m" },
                // Unpinned: the newest version at creation, then no silent in-place upgrade when Alibaba
                // publishes a newer one. Pin meshVersion to upgrade deliberately. The meshConfig fields the
                // program does not own would never converge (meshConfigIgnored).
                ignoreChanges: [
                    ...(args.version ? [] : ["version"]),
                    ...meshConfigIgnored(args.settings).map((k) => `meshConfig.${k}`),
                ],
            },
        );

        this.meshId = mesh.id;
        // What the mesh runs (not the newest offered: an unpinned mesh keeps its creation version).
        this.version = mesh.version.apply((v) => v ?? "");
        this.kubeconfig = pulumi.secret(mesh.kubeconfig);
        // Istio objects go through the ACK provider with its default server-side apply. Whether SSA works
        // through ASM's aggregated API is UNCONFIRMED; if it fails, the fallback is a second k8s.Provider
        // with enableServerSideApply: false for the Istio objects only.
        this.target = { provider: args.dataPlaneProvider, dependsOn: [mesh] };
        this.registerOutputs({ meshId: this.meshId, version: this.version, kubeconfig: this.kubeconfig });
    }
}
