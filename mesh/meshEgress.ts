import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { componentType } from "../config/constants";
import { IstioApiVersion, istioManifest, Manifest, ServiceEntrySpec } from "../istio/manifests";
import { istioResource } from "./istioResource";
import { MeshNamespace } from "./meshNamespace";

export interface MeshEgressArgs {
    /** The namespace whose workloads may reach the hosts (and only it: exportTo "."). */
    readonly namespace: MeshNamespace;
    /** External hosts, e.g. api.example.com. */
    readonly hosts: string[];
    readonly apiVersion: IstioApiVersion;
}

/**
 * One external host in the mesh's registry: with outboundTrafficPolicy REGISTRY_ONLY, sidecars reach
 * exactly the hosts that have one (ASM's recommended way: https://www.alibabacloud.com/help/en/asm/sidecar/access-external-services-from-an-asm-instance).
 * Ports and protocols as in Istio's egress task (https://istio.io/latest/docs/tasks/traffic-management/egress/egress-control/):
 * plain HTTP on 80, HTTPS on 443 (the app's own TLS, passed through by SNI).
 */
export function serviceEntryManifest(
    namespace: string,
    host: string,
    apiVersion: IstioApiVersion,
): Manifest<ServiceEntrySpec> {
    return istioManifest(
        "ServiceEntry",
        apiVersion,
        { name: host, namespace },
        {
            hosts: [host],
            // Visible to this namespace only: the allow-list is the namespace's, not the whole mesh's.
            exportTo: ["."],
            location: "MESH_EXTERNAL",
            resolution: "DNS",
            ports: [
                { number: 80, name: "http", protocol: "HTTP" },
                { number: 443, name: "https", protocol: "HTTPS" },
            ],
        },
    );
}

/** The namespace's egress allow-list: one ServiceEntry per external host. */
export class MeshEgress extends pulumi.ComponentResource {
    public readonly serviceEntries: k8s.apiextensions.CustomResource[];

    constructor(name: string, args: MeshEgressArgs, opts?: pulumi.ComponentResourceOptions) {
        super(componentType("mesh", "MeshEgress"), name, {}, opts);
        const ns = args.namespace;
        this.serviceEntries = args.hosts.map((host) =>
            istioResource(
                `${name}-${host}`,
                serviceEntryManifest(ns.name, host, args.apiVersion),
                ns.childOptions(this),
            ),
        );
        this.registerOutputs({ hosts: args.hosts });
    }
}
