/**
 * The stack's own outputs from its last successful `up`, read through a StackReference to this very
 * stack, before any resource is declared (mode=create, and mode=existing with a kubeconfig: program.ts). On
 * the first `up` the stack has no outputs and every field is undefined; the engine reads the reference in
 * `preview` as well as in `up`.
 */
import * as pulumi from "@pulumi/pulumi";
import type { MeshReadyRecord, PreviousOutputs } from "./createOnly";
import type { MeshSettingsRecord } from "./upgrades";

/** The fully qualified name of the running stack, as a StackReference needs it. */
function selfStackName(): string {
    let org: string;
    try {
        org = pulumi.getOrganization();
    } catch {
        // A language host too old to pass the organization: "organization" is the file backend's
        // organization name; on Pulumi Cloud such a host fails below with "stack not found".
        org = "organization";
    }
    return `${org}/${pulumi.getProject()}/${pulumi.getStack()}`;
}

const isString = (v: unknown): v is string => typeof v === "string";

function isMeshReady(v: unknown): v is MeshReadyRecord {
    const r = v as Partial<MeshReadyRecord> | null;
    return typeof r === "object" && r !== null && isString(r.clusterId) && isString(r.istioApiVersion);
}

function isMeshSettings(v: unknown): v is MeshSettingsRecord {
    const r = v as Partial<MeshSettingsRecord> | null;
    return (
        typeof r === "object" &&
        r !== null &&
        typeof r.manage === "boolean" &&
        typeof r.outboundTrafficPolicy === "string" &&
        typeof r.accessLogs === "boolean" &&
        typeof r.metrics === "boolean"
    );
}

export async function readPreviousOutputs(): Promise<PreviousOutputs> {
    const ref = new pulumi.StackReference("self", { name: selfStackName() });
    const get = async (name: string): Promise<unknown> => {
        const d = await ref.getOutputDetails(name);
        return d.value ?? d.secretValue;
    };
    const [createdWith, zoneIds, meshVersion, clusterSpec, kubernetesVersion, meshSettings, meshReady] =
        await Promise.all([
            get("createdWith"),
            get("zoneIds"),
            get("meshVersion"),
            get("clusterSpec"),
            get("kubernetesVersion"),
            get("meshSettings"),
            get("meshReady"),
        ]);
    return {
        createdWith:
            typeof createdWith === "object" && createdWith !== null && !Array.isArray(createdWith)
                ? (createdWith as Record<string, unknown>)
                : undefined,
        zoneIds: Array.isArray(zoneIds) && zoneIds.every(isString) ? zoneIds : undefined,
        meshVersion: isString(meshVersion) && meshVersion !== "" ? meshVersion : undefined,
        clusterSpec: isString(clusterSpec) && clusterSpec !== "" ? clusterSpec : undefined,
        kubernetesVersion: isString(kubernetesVersion) && kubernetesVersion !== "" ? kubernetesVersion : undefined,
        meshSettings: isMeshSettings(meshSettings) ? meshSettings : undefined,
        meshReady: isMeshReady(meshReady) ? meshReady : undefined,
    };
}
