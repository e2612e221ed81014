/**
 * Upgrades and ownership changes the existing stack cannot make safely, refused before anything is declared
 * (review 2, M1-M3), against what the stack exported at its last `up` (config/previous.ts). Pure functions:
 * tested without an engine. Where only a live account knows the answer (the exact next ASM version, whether
 * ASM supports a Kubernetes minor), the refusal names the command that tells it.
 */
import type { PreviousOutputs } from "./createOnly";
import type { StackConfig } from "./stackConfig";

/** The config the checks read. */
export type UpgradeConfig = Pick<
    StackConfig,
    "kubernetesVersion" | "meshVersion" | "manageMeshConfig" | "outboundTrafficPolicy" | "accessLogs" | "meshMetrics"
>;

/** The mesh-level settings the program owned at the last `up` (output `meshSettings`). */
export interface MeshSettingsRecord {
    readonly manage: boolean;
    readonly outboundTrafficPolicy: string;
    readonly accessLogs: boolean;
    readonly metrics: boolean;
}

/** The values each owned setting has when its switch is off: what the mesh keeps once the program lets go. */
export const MESH_SETTINGS_OFF = { outboundTrafficPolicy: "ALLOW_ANY", accessLogs: false, metrics: false } as const;

/** [major, minor, patch, ...] of "1.33.3-aliyun.1" or "v1.24.6.60-ge2d7d9ed-aliyun"; undefined if none. */
export function versionNumbers(v: string): number[] | undefined {
    const m = /^v?(\d+(?:\.\d+)+)/.exec(v);
    return m ? m[1].split(".").map(Number) : undefined;
}

function compare(a: number[], b: number[]): number {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
        const d = (a[i] ?? 0) - (b[i] ?? 0);
        if (d !== 0) {
            return d;
        }
    }
    return 0;
}

/**
 * The next Kubernetes minor an ACK cluster on `minor` can be upgraded to. ACK upgrades one supported minor
 * at a time, and before 1.31 it supported only even minors (1.28 -> 1.30), from 1.31 on every minor
 * (https://www.alibabacloud.com/help/en/ack/ack-managed-and-ack-dedicated/user-guide/support-for-kubernetes-versions).
 */
export function nextAckMinor(minor: number): number {
    return minor < 30 && minor % 2 === 0 ? minor + 2 : minor + 1;
}

const show = (v: unknown) => JSON.stringify(v);

function kubernetesProblems(c: UpgradeConfig, previous: PreviousOutputs): string[] {
    const was = previous.kubernetesVersion;
    const now = c.kubernetesVersion;
    if (!was || !now || was === now) {
        return [];
    }
    const [w, n] = [versionNumbers(was), versionNumbers(now)];
    if (!w || !n) {
        return [];
    }
    if (compare(n, w) < 0) {
        return [
            `kubernetesVersion: got ${show(now)}; the cluster runs ${show(was)}, and ACK cannot downgrade a cluster. ` +
                `Set it to ${show(was)} or a later version`,
        ];
    }
    const next = nextAckMinor(w[1]);
    if (n[0] !== w[0] || n[1] > next) {
        return [
            `kubernetesVersion: got ${show(now)}; the cluster runs ${show(was)}, and ACK upgrades one minor version ` +
                `at a time: the next is 1.${next}. Upgrade to a 1.${next} version first (pulumi up), then on; ` +
                "the versions on offer: aliyun cs GET /api/v1/metadata/versions --region <region>",
        ];
    }
    return [];
}

function meshProblems(c: UpgradeConfig, previous: PreviousOutputs): string[] {
    const was = previous.meshVersion;
    const now = c.meshVersion;
    if (!was || !now || was === now) {
        return [];
    }
    const [w, n] = [versionNumbers(was), versionNumbers(now)];
    if (!w || !n) {
        return [];
    }
    if (compare(n, w) < 0) {
        return [
            `meshVersion: got ${show(now)}; the mesh runs ${show(was)}, and ASM cannot downgrade a mesh. Set it to ` +
                `${show(was)}, or to the version ASM offers as the next upgrade: ` +
                "aliyun servicemesh DescribeUpgradeVersion --ServiceMeshId <meshId>",
        ];
    }
    // The provider upgrades in place (UpgradeMeshEditionPartially), and an in-place upgrade goes "to the next
    // adjacent version" (https://www.alibabacloud.com/help/en/asm/sidecar/update-an-asm-instance); only a
    // canary upgrade, which the provider does not do, skips a minor. Which exact version ASM accepts only
    // ASM knows (ExpectedVersion must equal the one it computes), so the refusal names the command.
    if (n[0] !== w[0] || n[1] > w[1] + 1) {
        return [
            `meshVersion: got ${show(now)}; the mesh runs ${show(was)}, and ASM upgrades a mesh in place one minor ` +
                `version at a time: the next is v${w[0]}.${w[1] + 1}. Upgrade to the v${w[0]}.${w[1] + 1} version ASM ` +
                "offers first (pulumi up), then on: aliyun servicemesh DescribeUpgradeVersion --ServiceMeshId <meshId>",
        ];
    }
    return [];
}

/**
 * Both upgrades in one `up` would run in the wrong order: the mesh depends on the cluster, so the engine
 * upgrades ACK first, while a Kubernetes minor must be one the running ASM supports (ASM v1.N is Istio 1.N;
 * https://istio.io/latest/docs/releases/supported-releases/ gives the Kubernetes minors each supports). So
 * the mesh first, then the cluster, each in its own `up`.
 */
function orderProblems(c: UpgradeConfig, previous: PreviousOutputs): string[] {
    const k8s =
        !!previous.kubernetesVersion && !!c.kubernetesVersion && previous.kubernetesVersion !== c.kubernetesVersion;
    const mesh = !!previous.meshVersion && !!c.meshVersion && previous.meshVersion !== c.meshVersion;
    if (!k8s || !mesh) {
        return [];
    }
    return [
        `kubernetesVersion: got ${show(c.kubernetesVersion)} together with meshVersion ${show(c.meshVersion)}; in one ` +
            "pulumi up the cluster would be upgraded before the mesh (the mesh depends on it). Upgrade the mesh first: " +
            `set kubernetesVersion back to ${show(previous.kubernetesVersion)}, pulumi up, then set it again`,
    ];
}

/**
 * Letting go of the mesh's settings leaves them as they are (meshConfig is Optional+Computed: unsent, it is not
 * changed): a mesh left REGISTRY_ONLY keeps blocking egress, with nothing in the stack saying so, and logs keep
 * flowing into a project the stack no longer has. So ownership ends only from the off values (review 2, M2).
 */
function ownershipProblems(c: UpgradeConfig, previous: PreviousOutputs): string[] {
    const was = previous.meshSettings;
    if (!was?.manage || c.manageMeshConfig) {
        return [];
    }
    const left: string[] = [];
    if (was.outboundTrafficPolicy !== MESH_SETTINGS_OFF.outboundTrafficPolicy) {
        left.push(`outboundTrafficPolicy ${show(was.outboundTrafficPolicy)}`);
    }
    if (was.accessLogs !== MESH_SETTINGS_OFF.accessLogs) {
        left.push("access-log collection on");
    }
    if (was.metrics !== MESH_SETTINGS_OFF.metrics) {
        left.push("Prometheus metrics on");
    }
    if (left.length === 0) {
        return [];
    }
    return [
        `manageMeshConfig: got false; the mesh was last set to ${left.join(", ")}, and without the program's ` +
            "ownership it would stay so (ASM keeps settings nobody sends). First, with manageMeshConfig still true, " +
            `set outboundTrafficPolicy ${MESH_SETTINGS_OFF.outboundTrafficPolicy}, accessLogs false and meshMetrics ` +
            "false and pulumi up; then set manageMeshConfig false",
    ];
}

/** Every upgrade or ownership change the stack cannot make now, as config problems; [] on a first `up`. */
export function upgradeProblems(c: UpgradeConfig, previous: PreviousOutputs): string[] {
    return [
        ...kubernetesProblems(c, previous),
        ...meshProblems(c, previous),
        ...orderProblems(c, previous),
        ...ownershipProblems(c, previous),
    ];
}
