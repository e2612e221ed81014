import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";

/**
 * Where the mesh layer applies its objects: the data-plane (ACK) cluster's Kubernetes Provider, plus
 * the resources that must exist first (the ASM instance with the cluster attached). Both the created
 * foundation (AsmMesh) and the brownfield one (ExistingMesh) produce it.
 */
export interface MeshTarget {
    readonly provider: k8s.Provider;
    readonly dependsOn: pulumi.Resource[];
}
