import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";

/**
 * Where the mesh layer applies its objects: the data-plane (ACK) cluster's Kubernetes Provider, plus
 * the resources that must exist first. Both the created foundation (AsmMesh: the ASM instance with the
 * cluster attached) and the brownfield one (ExistingMesh: nothing) produce one; the MeshReadinessGate
 * wraps it so that the mesh layer waits for the gate (Istio APIs served, sidecar injector registered).
 */
export interface MeshTarget {
    readonly provider: k8s.Provider;
    /** An Output when it is only known once a resource's outputs are (the gate: MeshReadinessGate). */
    readonly dependsOn: pulumi.Input<pulumi.Resource[]>;
}

/** How the readiness gate reaches the data-plane cluster (one of kubeconfig or kubeconfigPath). */
export interface ClusterAccess {
    readonly kubeconfig?: pulumi.Input<string>;
    readonly kubeconfigPath?: string;
    readonly clusterId?: pulumi.Input<string>;
}

/**
 * What a foundation component (AlibabaFoundation for mode=create, ExistingMesh for mode=existing) hands the
 * rest of the program: where the mesh layer goes, how the gate reaches the cluster (absent when rendering
 * YAML: no cluster), and the stack outputs it contributes.
 */
export interface Foundation {
    readonly target: MeshTarget;
    readonly access?: ClusterAccess;
    readonly outputs: Readonly<Record<string, pulumi.Input<unknown>>>;
}
