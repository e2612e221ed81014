/**
 * Names and constants that more than one file needs: each has its one definition here.
 */
import type * as pulumi from "@pulumi/pulumi";

/** The project's one name: Pulumi project, config namespace and type-token package. */
export const PROJECT = "asm-canary";

/** Subset (and pod `version` label) of the stable and the canary version of every demo service. */
export const STABLE = "v1";
export const CANARY = "v2";
export type Version = typeof STABLE | typeof CANARY;

/** Name of the in-mesh client workload: its Deployment, ServiceAccount (mesh identity) and container. */
export const CLIENT_NAME = "curl";

/**
 * The label that turns on automatic sidecar injection in a namespace (mesh/meshNamespace.ts sets it; the
 * policy pack checks it); ASM honours it on the data-plane (ACK) namespace, where the injection webhook
 * runs (https://www.alibabacloud.com/help/en/asm/sidecar/install-a-sidecar-proxy).
 */
export const INJECTION_LABEL = { "istio-injection": "enabled" } as const;

/** http-echo's listen port (https://github.com/hashicorp/http-echo, -listen=:5678). */
export const APP_PORT = 5678;
/** The Service port of every demo service, and its name: `http` makes Istio treat it as HTTP (IST0118). */
export const SERVICE_PORT = { name: "http", port: 80 } as const;

/** The layers a component belongs to; the module part of its type token. */
type Layer = "foundation" | "mesh";

/** A component's type token, `asm-canary:<layer>:<Name>`. */
export function componentType(layer: Layer, name: string): string {
    return `${PROJECT}:${layer}:${name}`;
}

/**
 * Options for a component whose type token changed: an alias to the old token keeps every existing stack's
 * state (the component and, through it, its children) without a replacement. Each alias the caller already
 * gives (e.g. a former parent) is also kept with the old token, so a stack still on the old token under the
 * old parent is found too.
 */
export function withLegacyType(
    legacyType: string,
    opts: pulumi.ComponentResourceOptions | undefined,
): pulumi.ComponentResourceOptions {
    const given = opts?.aliases ?? [];
    // Only plain Alias objects can be copied; a string URN, an Output or a Promise names one exact resource.
    const asLegacy = given.flatMap((a): pulumi.Alias[] =>
        typeof a === "object" && !(a instanceof Promise) && !("apply" in a) ? [{ ...a, type: legacyType }] : [],
    );
    return { ...opts, aliases: [...given, { type: legacyType }, ...asLegacy] };
}

// ---------------------------------------------------------------------------------------------------
// Allowed values of the enumerated config keys; the types the components take are derived from them.
// ---------------------------------------------------------------------------------------------------

export const MODES = ["create", "existing"] as const;
export const NETWORK_PLUGINS = ["flannel", "terway"] as const;
export type NetworkPlugin = (typeof NETWORK_PLUGINS)[number];
/** The clusterSpec values of an ACK managed cluster. */
export const CLUSTER_SPECS = ["ack.standard", "ack.pro.small", "ack.pro.xlarge", "ack.pro.2xlarge"] as const;
export type ClusterSpec = (typeof CLUSTER_SPECS)[number];
/**
 * The only clusterSpec change an existing cluster can make: Basic (ack.standard) to Pro. The provider calls
 * MigrateCluster for it, an API without a size parameter
 * (https://www.alibabacloud.com/help/en/ack/ack-managed-and-ack-dedicated/developer-reference/api-cs-2015-12-15-migratecluster),
 * so the target is ack.pro.small; any other change the provider silently skips, and the next preview
 * shows the same diff again.
 */
export const CLUSTER_SPEC_MIGRATIONS: ReadonlyArray<readonly [ClusterSpec, ClusterSpec]> = [
    ["ack.standard", "ack.pro.small"],
];
/** kube-proxy modes; ipvs is deprecated upstream from Kubernetes 1.35, iptables works for every version. */
export const PROXY_MODES = ["iptables", "ipvs"] as const;
export type ProxyMode = (typeof PROXY_MODES)[number];
export const DISK_CATEGORIES = ["cloud_essd", "cloud_auto", "cloud_efficiency"] as const;
export type DiskCategory = (typeof DISK_CATEGORIES)[number];
/**
 * ASM editions this program can use: only Pro (Enterprise/Ultimate). The provider also knows "Default"
 * (Standard), but the mesh layer applies every Istio object through data-plane KubeAPI access, whose
 * prerequisite is an Enterprise or Ultimate instance (https://help.aliyun.com/document_detail/336919.htm),
 * and the default region ap-southeast-1 offers no Standard edition at all.
 */
export const MESH_EDITIONS = ["Pro"] as const;
export type MeshEdition = (typeof MESH_EDITIONS)[number];
/** Instance specs of the Pro edition (`standard` belongs to the Standard edition, refused above). */
export const MESH_CLUSTER_SPECS = ["enterprise", "ultimate"] as const;
export type MeshClusterSpec = (typeof MESH_CLUSTER_SPECS)[number];
/** ManagedKubernetes.vswitchIds takes at most 5 vSwitches (MaxItems 5 in the provider schema). */
export const MAX_NODE_VSWITCHES = 5;
