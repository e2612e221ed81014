/**
 * Create-only keys: config that the cloud fixes when the stack's resources are created. Changing one
 * later makes Pulumi plan a replacement that cannot succeed (the replacement reuses the old cluster's or
 * mesh's name, or the old vSwitch's CIDR, and fails after minutes of waiting), so such a change is
 * refused before anything is planned.
 *
 * How the program knows the values a stack was created with: every `up` in mode=create exports them as
 * the stack output `createdWith`; the next run reads the stack's own previous outputs (config/previous.ts)
 * and compares. Pure functions only: the comparison is tested without an engine.
 */
import type { StackConfig } from "./stackConfig";
import { CLUSTER_SPEC_MIGRATIONS } from "./constants";
import type { MeshSettingsRecord } from "./upgrades";

/**
 * Every create-only key, with what a change would do (quoted in the refusal). One line per key: adding a
 * key here is all it takes (Pulumi.yaml marks the same keys, and docs/configuration.md shows its descriptions; a test keeps them in step).
 */
export const CREATE_ONLY = {
    region: "every Alibaba Cloud resource would be replaced in the new region",
    nodeVswitchCidrs: "the node vSwitches would be replaced (cidr_block is ForceNew) while the nodes sit in them",
    podVswitchCidrs: "the Terway pod vSwitches would be replaced (cidr_block is ForceNew) while pods use them",
    zones: "the vSwitches would be replaced (zone_id is ForceNew), and a replacement with the same CIDR fails",
    networkPlugin: "the network add-on is installed only at creation: the ACK cluster would be replaced",
    podCidr: "pod_cidr is ForceNew: the ACK cluster would be replaced under the same name",
    serviceCidr: "service_cidr is ForceNew: the ACK cluster would be replaced under the same name",
    proxyMode: "proxy_mode is ForceNew: the ACK cluster would be replaced under the same name",
    meshEdition: "edition is ForceNew: the ASM instance would be replaced under the same name",
    meshApiServerPublic: "the API server EIP is ForceNew: the ASM instance would be replaced under the same name",
} as const satisfies Partial<Record<keyof StackConfig, string>>;

export type CreateOnlyKey = keyof typeof CREATE_ONLY;
export const CREATE_ONLY_KEYS = Object.keys(CREATE_ONLY) as CreateOnlyKey[];

/** The config a create-only check needs (a subset of StackConfig, so tests can pass plain objects). */
export type CreateOnlyConfig = Pick<StackConfig, CreateOnlyKey | "clusterSpec">;

/** What this stack exported at its last successful `up` (undefined: not exported, e.g. the first `up`). */
export interface PreviousOutputs {
    /** The create-only values, as `createdWith` records them. */
    readonly createdWith?: Readonly<Record<string, unknown>>;
    /** The zones the vSwitches are in. */
    readonly zoneIds?: readonly string[];
    /** The ASM version the mesh runs ("" or undefined: no mesh yet). */
    readonly meshVersion?: string;
    /** The spec the ACK cluster has. */
    readonly clusterSpec?: string;
    /** The Kubernetes version the ACK cluster runs (config/upgrades.ts). */
    readonly kubernetesVersion?: string;
    /** The mesh-level settings the program owned (config/upgrades.ts). */
    readonly meshSettings?: MeshSettingsRecord;
    /** The cluster and Istio API version the readiness gate last passed for (foundation/readiness/meshReadinessGate.ts). */
    readonly meshReady?: MeshReadyRecord;
}

/** What the stack output `meshReady` records: the readiness gate passed for this cluster at this API version. */
export interface MeshReadyRecord {
    readonly clusterId: string;
    readonly istioApiVersion: string;
}

/**
 * The value of a create-only key that matters in this config; undefined when it has no effect (podCidr with
 * Terway, podVswitchCidrs with Flannel) or means "whatever the stack has" (zones: []).
 */
function effectiveValue(key: CreateOnlyKey, c: CreateOnlyConfig): unknown {
    switch (key) {
        case "podCidr":
            return c.networkPlugin === "flannel" ? c.podCidr : undefined;
        case "podVswitchCidrs":
            return c.networkPlugin === "terway" ? c.podVswitchCidrs : undefined;
        case "zones":
            return c.zones.length > 0 ? c.zones : undefined;
        default:
            return c[key];
    }
}

/**
 * The record exported as `createdWith`: each create-only key's effective value (null where it has no
 * effect), with `zones` replaced by the zones the vSwitches actually have (looked up or configured).
 */
export function createdWith<Z>(c: CreateOnlyConfig, actualZones: Z): Record<CreateOnlyKey, unknown> {
    const record = {} as Record<CreateOnlyKey, unknown>;
    for (const key of CREATE_ONLY_KEYS) {
        record[key] = key === "zones" ? actualZones : (effectiveValue(key, c) ?? null);
    }
    return record;
}

/** The zones a stack already has: its `createdWith.zones`, or for older stacks its `zoneIds` output. */
export function previousZones(previous: PreviousOutputs): string[] | undefined {
    const z = previous.createdWith?.zones ?? previous.zoneIds;
    return Array.isArray(z) && z.length > 0 && z.every((x) => typeof x === "string") ? [...z] : undefined;
}

const show = (v: unknown) => JSON.stringify(v);

/**
 * Every change the existing stack cannot make, as config problems (`key: got …; …`), each naming the value
 * the stack was created with and what to do instead. Empty on the first `up` (nothing to compare), for
 * keys the previous record does not hold yet (a key added to CREATE_ONLY later), and for in-place keys.
 */
export function createOnlyProblems(c: CreateOnlyConfig, previous: PreviousOutputs): string[] {
    const out: string[] = [];
    const recorded: Record<string, unknown> = { ...previous.createdWith, zones: previousZones(previous) };
    for (const key of CREATE_ONLY_KEYS) {
        const was = recorded[key];
        const now = effectiveValue(key, c);
        if (was === undefined || was === null || now === undefined || show(was) === show(now)) {
            continue;
        }
        out.push(
            `${key}: got ${show(now)}; this stack was created with ${show(was)}, and ${key} cannot change after ` +
                `creation (${CREATE_ONLY[key]}). Set it back to ${show(was)}; for ${show(now)} create a new stack ` +
                "(pulumi stack init) or destroy this one first (pulumi destroy)",
        );
    }
    const spec = previous.clusterSpec;
    if (
        spec &&
        spec !== c.clusterSpec &&
        !CLUSTER_SPEC_MIGRATIONS.some(([from, to]) => from === spec && to === c.clusterSpec)
    ) {
        const paths = CLUSTER_SPEC_MIGRATIONS.map(([from, to]) => `${from} -> ${to}`).join(", ");
        out.push(
            `clusterSpec: got ${show(c.clusterSpec)}; the cluster was created as (or migrated to) ${show(spec)}, and ` +
                `the only spec change an existing ACK cluster can make is ${paths}. Set it back to ${show(spec)}; ` +
                "for another spec create a new stack (pulumi stack init) or destroy this one first (pulumi destroy)",
        );
    }
    return out;
}

/**
 * A stack created in mode=create holds the cloud resources (its `createdWith` record says so): switched to
 * mode=existing, the program would declare none of them and Pulumi would delete them all, with nothing but
 * deletionProtection in the way (review 2, m12). So the switch is refused while the stack has them.
 */
export function modeSwitchProblems(mode: StackConfig["mode"], previous: PreviousOutputs): string[] {
    if (mode !== "existing" || previous.createdWith === undefined) {
        return [];
    }
    return [
        'mode: got "existing"; this stack was created in mode "create" and holds its Alibaba Cloud resources (VPC, ' +
            "ACK cluster, ASM instance: output createdWith), which mode existing would delete. Set mode back to " +
            '"create"; to run the mesh layer on an existing cluster use a new stack (pulumi stack init), or ' +
            "destroy this one's resources first (pulumi destroy)",
    ];
}
