import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { MeshTarget } from "../foundation/meshTarget";
import { componentType, INJECTION_LABEL, withLegacyType } from "../config/constants";

// INJECTION_LABEL (config/constants.ts) turns on automatic sidecar injection.
// On ASM >= 1.28 labels of the control-plane namespace are synced down to the data plane; whether an
// unlabelled control-plane namespace can strip this label is UNCONFIRMED: `verify.sidecars` shows 2/2.

export interface MeshNamespaceArgs {
    /** The namespace name (fixed: Istio hosts and principals refer to it). */
    readonly name: string;
    /** Where to create it; it waits for `target.dependsOn` (the readiness gate), so the injector exists before any pod. */
    readonly target: MeshTarget;
}

/**
 * A sidecar-injected namespace. Injection happens only when a pod is created, so everything placed in
 * it is created through `childOptions`, which makes it wait for the labelled namespace (and so for the
 * mesh behind it).
 */
export class MeshNamespace extends pulumi.ComponentResource {
    /** The namespace's name, as Istio hosts and principals use it. */
    public readonly name: string;
    /** The Namespace resource. */
    public readonly namespace: k8s.core.v1.Namespace;
    /** The data-plane cluster's Kubernetes provider: every object in the namespace goes through it. */
    public readonly provider: k8s.Provider;

    constructor(name: string, args: MeshNamespaceArgs, opts?: pulumi.ComponentResourceOptions) {
        super(componentType("mesh", "MeshNamespace"), name, {}, withLegacyType("asmcanary:mesh:MeshNamespace", opts));
        this.name = args.name;
        this.provider = args.target.provider;
        this.namespace = new k8s.core.v1.Namespace(
            name,
            { metadata: { name: args.name, labels: { ...INJECTION_LABEL } } },
            { parent: this, provider: args.target.provider, dependsOn: args.target.dependsOn },
        );
        this.registerOutputs({ name: this.namespace.metadata.name });
    }

    /** Options for a resource in this namespace: created by `parent`, through this provider, after the namespace. */
    childOptions(
        parent: pulumi.Resource,
        dependsOn: pulumi.Input<pulumi.Resource>[] = [],
    ): pulumi.CustomResourceOptions {
        return { parent, provider: this.provider, dependsOn: [this.namespace, ...dependsOn] };
    }
}
