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
    readonly dependsOn: pulumi.Resource[];
}
