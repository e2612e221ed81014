import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { MeshTarget } from "../lib/meshTarget";

/**
 * The label that turns on automatic sidecar injection; ASM honours it on the data-plane (ACK) namespace,
 * where the injection webhook runs (https://www.alibabacloud.com/help/en/asm/sidecar/install-a-sidecar-proxy).
 */
export const INJECTION_LABEL = { "istio-injection": "enabled" } as const;
// On ASM >= 1.28 labels of the control-plane namespace are synced down to the data plane; whether an
// unlabelled control-plane namespace can strip this label is UNCONFIRMED: `verify.sidecars` shows 2/2.

export interface MeshNamespaceArgs {
    /** The namespace name (fixed: Istio hosts and principals refer to it). */
    readonly name: string;
    /** Where to create it; it waits for the mesh attachment, so the injector exists before any pod. */
    readonly target: MeshTarget;
}

/**
 * A sidecar-injected namespace. Injection happens only when a pod is created, so everything placed in
 * it must depend on this component (the label exists before the first pod: no rollout restart needed).
 */
export class MeshNamespace extends pulumi.ComponentResource {
    public readonly name: pulumi.Output<string>;
    /** The Namespace resource, for `dependsOn`. */
    public readonly namespace: k8s.core.v1.Namespace;

    constructor(name: string, args: MeshNamespaceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("asmcanary:mesh:MeshNamespace", name, {}, opts);
        this.namespace = new k8s.core.v1.Namespace(
            name,
            { metadata: { name: args.name, labels: { ...INJECTION_LABEL } } },
            { parent: this, provider: args.target.provider, dependsOn: args.target.dependsOn },
        );
        this.name = this.namespace.metadata.name;
        this.registerOutputs({ name: this.name });
    }
}
