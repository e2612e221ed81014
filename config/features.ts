/**
 * Names and allowed values of the mesh features that sit on top of the canary: the ASM ingress gateway,
 * egress control, access logs and metrics, fault injection and mirroring. Each is a stack config switch,
 * off by default (config/stackConfig.ts parses and cross-checks them).
 */
import type { VirtualServiceSpec } from "../istio/manifests";

// ---------------------------------------------------------------------------------------------------
// Allowed values of the enumerated feature keys.
// ---------------------------------------------------------------------------------------------------

/** Where a fault is injected: the canary route (the header override) or every route of the service. */
export const FAULT_SCOPES = ["canary", "service"] as const;
export type FaultScope = (typeof FAULT_SCOPES)[number];

/**
 * The mesh's outbound traffic policy (ServiceMesh meshConfig.outboundTrafficPolicy; the provider accepts
 * exactly these two: aliyun/terraform-provider-alicloud resource_alicloud_service_mesh_service_mesh.go).
 */
export const OUTBOUND_TRAFFIC_POLICIES = ["ALLOW_ANY", "REGISTRY_ONLY"] as const;
export type OutboundTrafficPolicy = (typeof OUTBOUND_TRAFFIC_POLICIES)[number];

// ---------------------------------------------------------------------------------------------------
// Ingress gateway.
// ---------------------------------------------------------------------------------------------------

/**
 * ASM gateways must live in istio-system: "In Istio 1.6 and later, gateways deployed to other namespaces
 * fail to start" (https://www.alibabacloud.com/help/en/asm/sidecar/crd-fields-for-an-asm-gateway).
 */
export const GATEWAY_NAMESPACE = "istio-system";

/**
 * Name of the ASM ingress gateway (the IstioGateway object). ASM names the Deployment and Service it
 * generates `istio-<name>` (same page, field metadata.name).
 */
export const INGRESS_GATEWAY_NAME = "canary-ingressgateway";

/** The Kubernetes Service (and Deployment) ASM generates for the ingress gateway. */
export const INGRESS_GATEWAY_SERVICE = `istio-${INGRESS_GATEWAY_NAME}`;

/**
 * A pod label this program sets on the gateway pods (IstioGateway spec.podLabels) and the Istio Gateway
 * selects: ASM documents binding Gateways through podLabels
 * (https://www.alibabacloud.com/help/en/asm/use-cases/configure-unified-gateway-rules-for-multiple-ingress-gateways-1694486964216),
 * so the selector does not depend on the labels ASM adds by itself.
 */
export const INGRESS_GATEWAY_POD_LABELS: Readonly<Record<string, string>> = {
    "asm-canary/gateway": INGRESS_GATEWAY_NAME,
};

/** Name of the Istio Gateway object (in the app namespace) the VirtualServices bind to. */
export const INGRESS_ISTIO_GATEWAY = "ingress";

/** The port the gateway serves plain HTTP on (the gateway Service's port and the Gateway server's). */
export const INGRESS_HTTP_PORT = 80;

/** Host a service is published under on the ingress gateway: `<service>.<ingressDomain>`. */
export function ingressHost(service: string, domain: string): string {
    return `${service}.${domain}`;
}

// ---------------------------------------------------------------------------------------------------
// Fault injection and mirroring (rendered into the VirtualService by mesh/canaryRouting.ts).
// ---------------------------------------------------------------------------------------------------

type HttpRoute = NonNullable<VirtualServiceSpec["http"]>[number];
/** Istio's HTTPFaultInjection, as the upstream schema types it. */
export type FaultInjection = NonNullable<HttpRoute["fault"]>;

export interface FaultSettings {
    readonly faultScope: FaultScope;
    /** Fixed delay, e.g. "2s"; "" for none. */
    readonly faultDelay: string;
    readonly faultDelayPercent: number;
    /** HTTP status to abort with; 0 for none. */
    readonly faultAbortStatus: number;
    readonly faultAbortPercent: number;
}

/** The fault to inject and where, or undefined when neither a delay nor an abort is configured. */
export function faultOf(c: FaultSettings): { scope: FaultScope; injection: FaultInjection } | undefined {
    const injection: FaultInjection = {};
    if (c.faultDelay) {
        injection.delay = { fixedDelay: c.faultDelay, percentage: { value: c.faultDelayPercent } };
    }
    if (c.faultAbortStatus > 0) {
        injection.abort = { httpStatus: c.faultAbortStatus, percentage: { value: c.faultAbortPercent } };
    }
    return injection.delay || injection.abort ? { scope: c.faultScope, injection } : undefined;
}
