/**
 * The ASM instance's meshConfig for the mesh-level switches: outbound traffic policy, Prometheus metrics
 * (telemetry) and access-log collection to Log Service.
 *
 * meshConfig is Optional+Computed on alicloud.servicemesh.ServiceMesh (aliyun/terraform-provider-alicloud
 * resource_alicloud_service_mesh_service_mesh.go): left out, the mesh keeps whatever it has; once sent, a
 * field left out of it is diffed against what the API reads back. So the program sends nothing unless
 * manageMeshConfig is on (an existing stack sees no change), and then sends every field it owns, with its
 * off value when a switch is off, so turning a switch off really turns it off.
 */
import type * as pulumi from "@pulumi/pulumi";
import type * as alicloud from "@pulumi/alicloud";
import type { OutboundTrafficPolicy } from "../../config/features";

type MeshConfig = alicloud.types.input.servicemesh.ServiceMeshMeshConfig;

export interface MeshSettings {
    /** Whether the program owns these settings at all (config manageMeshConfig). */
    readonly manage: boolean;
    readonly outboundTrafficPolicy: OutboundTrafficPolicy;
    /** Collect sidecar and gateway access logs into this SLS project; undefined = collection off. */
    readonly accessLogProject?: pulumi.Input<string>;
    /** Prometheus metrics for the mesh (ASM's `telemetry`; ARMS is ASM's recommended backend). */
    readonly metrics: boolean;
}

/** The ServiceMesh `meshConfig` input, or undefined when the program does not own the mesh's settings. */
export function meshConfigOf(s: MeshSettings): MeshConfig | undefined {
    if (!s.manage) {
        return undefined;
    }
    const logs = s.accessLogProject !== undefined;
    return {
        // ALLOW_ANY lets sidecars reach any external host; REGISTRY_ONLY only what the registry knows,
        // i.e. Services and ServiceEntries (https://www.alibabacloud.com/help/en/asm/sidecar/access-external-services-from-an-asm-instance).
        outboundTrafficPolicy: s.outboundTrafficPolicy,
        // customizedPrometheus / prometheusUrl stay unset: without them ASM uses ARMS Prometheus, and the
        // provider neither reads them back nor sends them on their own (README, open points).
        telemetry: s.metrics,
        // Gateways' logs too whenever logs are on (the flag only concerns ASM gateways), so turning the
        // ingress gateway on never has to touch the mesh.
        accessLog: logs
            ? { enabled: true, project: s.accessLogProject, sidecarEnabled: true, gatewayEnabled: true }
            : { enabled: false, sidecarEnabled: false, gatewayEnabled: false },
    };
}
