import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { componentType } from "../config/constants";
import { GatewaySpec, IstioApiVersion, istioManifest, Manifest } from "../istio/manifests";
import { INGRESS_HTTP_PORT, INGRESS_ISTIO_GATEWAY } from "../config/features";
import { istioResource } from "./istioResource";
import { MeshNamespace } from "./meshNamespace";

export interface MeshIngressArgs {
    /** The app namespace: the Gateway lives there, next to the VirtualServices bound to it. */
    readonly namespace: MeshNamespace;
    /** The external hosts served, one per service (`<service>.<ingressDomain>`). */
    readonly hosts: string[];
    /** Labels of the ASM gateway pods (set through IstioGateway spec.podLabels). */
    readonly gatewayPodLabels: Readonly<Record<string, string>>;
    readonly apiVersion: IstioApiVersion;
}

/**
 * The Istio Gateway: plain HTTP on port 80 for the given hosts, on the pods carrying the ASM gateway's
 * labels. A Gateway's selector matches gateway pods in any namespace (istio/api networking/v1alpha3/
 * gateway.proto, Gateway.selector), so it can sit in the app namespace while the gateway runs in istio-system.
 */
export function gatewayManifest(
    namespace: string,
    hosts: string[],
    podLabels: Readonly<Record<string, string>>,
    apiVersion: IstioApiVersion,
): Manifest<GatewaySpec> {
    return istioManifest(
        "Gateway",
        apiVersion,
        { name: INGRESS_ISTIO_GATEWAY, namespace },
        {
            selector: { ...podLabels },
            servers: [
                {
                    port: { number: INGRESS_HTTP_PORT, name: "http", protocol: "HTTP" },
                    // "./host": only VirtualServices of this namespace may bind these hosts
                    // (https://istio.io/latest/docs/reference/config/networking/gateway/#Server).
                    hosts: hosts.map((h) => `./${h}`),
                },
            ],
        },
    );
}

/** The ingress side of the mesh layer: the Istio Gateway the VirtualServices bind to (both modes). */
export class MeshIngress extends pulumi.ComponentResource {
    /** The Gateway as a VirtualService names it: `<namespace>/<name>`. */
    public readonly gatewayRef: string;
    public readonly gateway: k8s.apiextensions.CustomResource;

    constructor(name: string, args: MeshIngressArgs, opts?: pulumi.ComponentResourceOptions) {
        super(componentType("mesh", "MeshIngress"), name, {}, opts);
        const ns = args.namespace;
        const manifest = gatewayManifest(ns.name, args.hosts, args.gatewayPodLabels, args.apiVersion);
        this.gateway = istioResource(`${name}-gateway`, manifest, ns.childOptions(this));
        this.gatewayRef = `${ns.name}/${manifest.metadata.name}`;
        this.registerOutputs({ gatewayRef: this.gatewayRef });
    }
}
