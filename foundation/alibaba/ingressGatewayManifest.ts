/**
 * The ASM ingress gateway: an IstioGateway object (istio.alibabacloud.com/v1beta1), which ASM's controller
 * turns into a Deployment, Service and ServiceAccount named istio-<name> in istio-system of each listed
 * cluster. ASM publishes no JSON schema for it, so the fields this program sets are typed here from the
 * field reference (https://www.alibabacloud.com/help/en/asm/sidecar/crd-fields-for-an-asm-gateway) and
 * checked before Pulumi sees them.
 */
import { GATEWAY_NAMESPACE, INGRESS_HTTP_PORT } from "../../config/features";

export interface IstioGatewaySpec {
    /** "ingress" or "egress". */
    gatewayType: "ingress";
    /** The data-plane clusters to deploy the gateway into (attached to this mesh). */
    clusterIds: string[];
    replicaCount: number;
    /** LoadBalancer (default), NodePort or ClusterIP. */
    serviceType: "LoadBalancer";
    /** Annotations of the generated Service: ACK's cloud controller manager reads the load balancer ones. */
    serviceAnnotations: Record<string, string>;
    /** Extra labels of the gateway pods (an Istio Gateway selects them). */
    podLabels: Record<string, string>;
    ports: { name: string; port: number; targetPort: number }[];
    resources: { requests: Record<string, string>; limits: Record<string, string> };
}

export interface IstioGatewayManifest {
    apiVersion: "istio.alibabacloud.com/v1beta1";
    kind: "IstioGateway";
    metadata: { name: string; namespace: string; labels: Record<string, string> };
    spec: IstioGatewaySpec;
}

export interface IngressGatewayArgs {
    readonly name: string;
    readonly clusterId: string;
    readonly replicas: number;
    /** A CLB created for the gateway: the Service reuses it instead of having one made for it. */
    readonly loadBalancerId: string;
    readonly podLabels: Readonly<Record<string, string>>;
}

/**
 * The IstioGateway's own labels: ASM's current example carries `asm-gateway-type: ingress`, which the console
 * and gateway upgrades may list gateways by (review 2, m9;
 * https://help.aliyun.com/en/asm/sidecar/crd-fields-for-an-asm-gateway).
 */
export const INGRESS_GATEWAY_LABELS: Readonly<Record<string, string>> = { "asm-gateway-type": "ingress" };

/** The IstioGateway for an internet-facing HTTP ingress gateway on an existing CLB. */
export function ingressGatewayManifest(a: IngressGatewayArgs): IstioGatewayManifest {
    const problems: string[] = [];
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(a.name) || a.name.length > 57) {
        problems.push(
            `name ${JSON.stringify(a.name)} must be a DNS label of at most 57 characters (istio-<name> is a Service)`,
        );
    }
    if (!a.clusterId) {
        problems.push("clusterId is empty");
    }
    if (!Number.isInteger(a.replicas) || a.replicas < 1) {
        problems.push(`replicas ${a.replicas} must be a whole number >= 1`);
    }
    if (!/^lb-[a-z0-9]+$/.test(a.loadBalancerId)) {
        problems.push(`loadBalancerId ${JSON.stringify(a.loadBalancerId)} is not a CLB id (lb-…)`);
    }
    if (Object.keys(a.podLabels).length === 0) {
        problems.push("podLabels is empty: the Istio Gateway could not select the gateway pods");
    }
    if (problems.length > 0) {
        throw new Error(`IstioGateway ${GATEWAY_NAMESPACE}/${a.name}: ${problems.join("; ")}`);
    }
    return {
        apiVersion: "istio.alibabacloud.com/v1beta1",
        kind: "IstioGateway",
        // ASM gateways only start in istio-system (field reference, metadata.namespace).
        metadata: { name: a.name, namespace: GATEWAY_NAMESPACE, labels: { ...INGRESS_GATEWAY_LABELS } },
        spec: {
            gatewayType: "ingress",
            clusterIds: [a.clusterId],
            replicaCount: a.replicas,
            serviceType: "LoadBalancer",
            // Reuse the CLB the program created (its address is then a stack output at `up` time) and let
            // the cloud controller manager write the listeners for the Service's ports; it never deletes a
            // reused CLB (https://www.alibabacloud.com/help/en/document_detail/86531.html, "Specify an
            // existing instance").
            serviceAnnotations: {
                "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-id": a.loadBalancerId,
                "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-force-override-listeners": "true",
            },
            podLabels: { ...a.podLabels },
            // The field reference's own example: port 80 named http2, the gateway listening on 80 itself.
            ports: [{ name: "http2", port: INGRESS_HTTP_PORT, targetPort: INGRESS_HTTP_PORT }],
            // The field reference's example sizing.
            resources: { requests: { cpu: "200m", memory: "256Mi" }, limits: { cpu: "2", memory: "2G" } },
        },
    };
}
