import * as pulumi from "@pulumi/pulumi";
import * as alicloud from "@pulumi/alicloud";
import * as k8s from "@pulumi/kubernetes";
import * as yaml from "js-yaml";
import { componentType } from "../../config/constants";
import { ingressGatewayManifest } from "./ingressGatewayManifest";
import { INGRESS_GATEWAY_NAME, INGRESS_GATEWAY_POD_LABELS } from "../../config/features";

export interface AsmIngressGatewayArgs {
    /** Prefix for the load balancer's name. */
    readonly namePrefix: string;
    /** The ASM instance: its public API endpoint is looked up by id. */
    readonly meshId: pulumi.Input<string>;
    /** The mesh's own kubeconfig (PRIVATE endpoint, secret): its credentials are reused for the public one. */
    readonly meshKubeconfig: pulumi.Input<string>;
    /** The data-plane cluster the gateway runs in (attached to the mesh). */
    readonly clusterId: pulumi.Input<string>;
    /** Gateway pod replicas. */
    readonly replicas: number;
    /** What must exist first: the mesh with the cluster attached. */
    readonly dependsOn: pulumi.Input<pulumi.Resource[]>;
    /** Pulumi `protect` on the CLB (deletionProtection). */
    readonly protect: boolean;
    /** The Alibaba Cloud provider. */
    readonly provider: alicloud.Provider;
}

interface Kubeconfig {
    clusters?: { name?: string; cluster?: { server?: string; "tls-server-name"?: string } }[];
}

/**
 * The mesh's kubeconfig pointed at its public API endpoint. The provider only returns the PRIVATE kubeconfig
 * (DescribeServiceMeshKubeconfig with PrivateIpAddress=true: aliyun/terraform-provider-alicloud
 * alicloud/service_alicloud_service_mesh_v2.go), so the server is swapped for the public endpoint; the
 * certificate is still checked against the private address (tls-server-name), which the API server's
 * certificate is known to carry, since whether it also names the EIP is not documented (docs/open-points.md).
 */
export function publicKubeconfig(privateKubeconfig: string, publicEndpoint: string): string {
    if (!publicEndpoint) {
        throw new Error(
            "ingressGateway: the ASM instance reports no public API endpoint; it needs meshApiServerPublic true at creation",
        );
    }
    const doc = yaml.load(privateKubeconfig) as Kubeconfig | undefined;
    const clusters = doc?.clusters ?? [];
    if (clusters.length === 0 || clusters.some((c) => !c.cluster?.server)) {
        throw new Error("ingressGateway: the ASM kubeconfig names no cluster server to replace");
    }
    const server = /^https?:\/\//.test(publicEndpoint) ? publicEndpoint : `https://${publicEndpoint}`;
    for (const c of clusters) {
        const privateHost = new URL(c.cluster!.server!).hostname;
        c.cluster = { ...c.cluster, server, "tls-server-name": c.cluster!["tls-server-name"] ?? privateHost };
    }
    return yaml.dump(doc);
}

/**
 * The ASM ingress gateway (mode create): an internet CLB created here, and an IstioGateway object on the
 * ASM control plane (reached through the mesh's public API endpoint) whose generated Service reuses that
 * CLB. Its address is known as soon as the CLB exists, whatever the generated Service is called.
 */
export class AsmIngressGateway extends pulumi.ComponentResource {
    /** The gateway's public IP (the CLB's address). */
    public readonly address: pulumi.Output<string>;
    public readonly loadBalancerId: pulumi.Output<string>;
    /** Labels of the gateway pods, for the Istio Gateway's selector. */
    public readonly podLabels: Readonly<Record<string, string>>;
    /** Kubernetes provider of the ASM control plane (public endpoint). */
    public readonly controlPlaneProvider: k8s.Provider;

    constructor(name: string, args: AsmIngressGatewayArgs, opts?: pulumi.ComponentResourceOptions) {
        super(componentType("foundation", "AsmIngressGateway"), name, {}, opts);
        const child = { parent: this, provider: args.provider };

        // Pay-as-you-go, billed by capacity units (CLCU): shared-performance CLBs are no longer sold, and
        // loadBalancerSpec is ignored with PayByCLCU (slb/applicationLoadBalancer.d.ts).
        const clb = new alicloud.slb.ApplicationLoadBalancer(
            `${name}-clb`,
            {
                loadBalancerName: `${args.namePrefix}-ingress`,
                addressType: "internet",
                paymentType: "PayAsYouGo",
                instanceChargeType: "PayByCLCU",
                internetChargeType: "PayByTraffic",
            },
            { ...child, protect: args.protect },
        );

        // The public endpoint exists only when the mesh was created with apiServerPublicEip
        // (meshApiServerPublic; config/stackConfig.ts refuses ingressGateway without it).
        const endpoint = alicloud.servicemesh
            .getServiceMeshesOutput({ ids: [args.meshId], enableDetails: true }, child)
            .apply((r) => r.meshes[0]?.endpoints[0]?.publicApiServerEndpoint ?? "");
        const kubeconfig = pulumi.secret(
            pulumi.all([args.meshKubeconfig, endpoint]).apply(([kc, ep]) => publicKubeconfig(kc, ep)),
        );
        this.controlPlaneProvider = new k8s.Provider(
            `${name}-asm-k8s`,
            // Identity is the mesh id, so a rotated credential or a new EIP updates the provider instead of
            // replacing the gateway.
            { kubeconfig, clusterIdentifier: args.meshId },
            { parent: this },
        );

        this.podLabels = INGRESS_GATEWAY_POD_LABELS;
        const manifest = pulumi.all([args.clusterId, clb.id]).apply(([clusterId, loadBalancerId]) =>
            ingressGatewayManifest({
                name: INGRESS_GATEWAY_NAME,
                clusterId,
                replicas: args.replicas,
                loadBalancerId,
                podLabels: this.podLabels,
            }),
        );
        new k8s.apiextensions.CustomResource(
            name,
            {
                apiVersion: "istio.alibabacloud.com/v1beta1",
                kind: "IstioGateway",
                metadata: { ...manifest.metadata },
                spec: manifest.spec,
            },
            { parent: this, provider: this.controlPlaneProvider, dependsOn: args.dependsOn },
        );

        this.address = clb.address;
        this.loadBalancerId = clb.id;
        this.registerOutputs({ address: this.address, loadBalancerId: this.loadBalancerId });
    }
}
