import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { ClusterAccess, Foundation, MeshTarget } from "../meshTarget";
import { componentType, withLegacyType } from "../../config/constants";

export interface ExistingMeshArgs {
    /** Kubeconfig contents of an ACK cluster already attached to an ASM instance (secret). */
    readonly kubeconfig?: pulumi.Input<string>;
    /** Or: a path to that kubeconfig on the machine running `pulumi`. */
    readonly kubeconfigPath?: string;
    /** Or: write manifests to this directory instead of applying them (no cluster needed). */
    readonly renderYamlDirectory?: string;
    /** Stable identity for the Provider (e.g. the ACK cluster id), so a new credential is no replacement. */
    readonly clusterId?: string;
}

/**
 * Brownfield mode: no Alibaba Cloud resources at all, only a Kubernetes Provider for an existing ACK
 * cluster that is attached to an existing ASM instance with data-plane KubeAPI access on (or a
 * Provider that renders YAML).
 */
export class ExistingMesh extends pulumi.ComponentResource implements Foundation {
    public readonly target: MeshTarget;
    /** How the readiness gate reaches the cluster; absent when rendering YAML (there is no cluster). */
    public readonly access?: ClusterAccess;
    /** The stack outputs of this mode: the kubeconfig when it was given as contents (a secret). */
    public readonly outputs: Readonly<Record<string, pulumi.Input<unknown>>>;

    constructor(name: string, args: ExistingMeshArgs, opts?: pulumi.ComponentResourceOptions) {
        super(
            componentType("foundation", "ExistingMesh"),
            name,
            {},
            withLegacyType("asmcanary:mesh:ExistingMesh", opts),
        );
        const sources = [args.kubeconfig, args.kubeconfigPath, args.renderYamlDirectory].filter(
            (s) => s !== undefined && s !== "",
        );
        if (sources.length !== 1) {
            throw new pulumi.ResourceError(
                "ExistingMesh needs exactly one of kubeconfig, kubeconfigPath or renderYamlDirectory",
                this,
            );
        }
        const provider = new k8s.Provider(
            `${name}-k8s`,
            {
                // The kubeconfig argument takes either the file's contents or its path.
                kubeconfig:
                    args.kubeconfig !== undefined ? pulumi.secret(args.kubeconfig) : args.kubeconfigPath || undefined,
                renderYamlToDirectory: args.renderYamlDirectory || undefined,
                clusterIdentifier: args.clusterId || undefined,
            },
            { parent: this },
        );
        this.target = { provider, dependsOn: [] };
        this.access = args.renderYamlDirectory
            ? undefined
            : args.kubeconfig !== undefined
              ? { kubeconfig: args.kubeconfig, clusterId: args.clusterId }
              : { kubeconfigPath: args.kubeconfigPath, clusterId: args.clusterId };
        this.outputs = args.kubeconfig !== undefined ? { kubeconfig: pulumi.secret(args.kubeconfig) } : {};
        this.registerOutputs({});
    }
}
