/**
 * The stack being promoted, behind a small interface so the promotion logic (promote/run.ts) is tested with
 * a fake, and driven for real through the Pulumi Automation API (a local program: this project's directory,
 * the same `pulumi` CLI, backend and config as a person typing `pulumi config set canaryWeight N && pulumi up`).
 *
 * The stack's config stays the single source of truth: the weight is changed only with `setConfig` + `up`,
 * exactly the README's manual workflow; nothing is applied behind Pulumi's back.
 */
import type { OpType, Stack } from "@pulumi/pulumi/automation";

/** What the promotion needs to know about the stack, from its outputs and config. */
export interface StackInfo {
    /** Project name (the config namespace), e.g. "asm-canary". */
    project: string;
    /** Output `namespace`. */
    namespace?: string;
    /** Output `services`. */
    services?: string[];
    /** Output `weights` (the first service's), e.g. {v1: 90, v2: 10}. */
    weights?: Record<string, number>;
    /** Output `prometheusUrl`, when the stack exports one (observability on). */
    prometheusUrl?: string;
    /** Config `canaryWeight` (the Pulumi.yaml default 0 when unset). */
    canaryWeight: number;
    /** Config `promotion` as JSON text, when set. */
    promotion?: string;
    /** Config `services` as JSON text, when set (config/services.ts parses it). */
    servicesConfig?: string;
}

export interface UpResult {
    /** Resource operations, e.g. {update: 1, same: 17}. */
    changes: Record<string, number>;
    seconds: number;
}

/** A weight key of the stack config: `canaryWeight`, or a path inside a key (`services[1].canaryWeight`). */
export interface WeightKey {
    key: string;
    /** `pulumi config set --path`: the key is a path into a structured value. */
    path: boolean;
}

export interface StackDriver {
    readonly name: string;
    info(): Promise<StackInfo>;
    /** The weight key (default `canaryWeight`) as it stands now in the config. */
    configuredWeight(key?: WeightKey): Promise<number>;
    /** What a plain `pulumi up` would change now (changesThatModify): {} when the stack matches its config. */
    pendingChanges(): Promise<Record<string, number>>;
    setWeight(weight: number, key?: WeightKey): Promise<void>;
    /** Sets values at paths of the config (`services[1].stable.image`), all before one `up`: finishing a release. */
    setPaths?(values: ReadonlyArray<[string, string]>): Promise<void>;
    /** `pulumi up`. `signal` asks the CLI to stop (SIGINT: it finishes in-flight operations first). */
    up(opts: { signal?: AbortSignal; onOutput?: (text: string) => void }): Promise<UpResult>;
    /**
     * The canary weight actually applied, according to the stack's state (the service's VirtualService as
     * last applied), or undefined when the state does not say. After a failed or interrupted `up` this is
     * the truth, whatever the config says.
     */
    appliedWeight(service: string, namespace: string, canarySubset: string): Promise<number | undefined>;
}

/**
 * Operations a preview counts that change nothing in the cloud or in the stack's resources: `same`, and the
 * reads. A mode=create stack reads its own previous outputs (config/previous.ts, a StackReference), which
 * changes with every weight step; review 2 (m1) found in the engine's source (pkg/engine/update.go) that such
 * a read can count as `read`; `refresh`/`discard` are read-side too. None of them is a pending change.
 */
const NON_MODIFYING_OPS: ReadonlySet<OpType> = new Set<OpType>([
    "same",
    "read",
    "read-replacement",
    "refresh",
    "discard",
    "discard-replaced",
]);

/** A preview's change summary without the operations that modify nothing: {} when the stack is in step. */
/** Whether a step of this op changes anything (not a `same`, a read or a refresh). */
export function modifies(op: string): boolean {
    return !NON_MODIFYING_OPS.has(op as OpType);
}

export function changesThatModify(summary: Partial<Record<OpType, number>>): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [op, n] of Object.entries(summary)) {
        if (!NON_MODIFYING_OPS.has(op as OpType) && n) {
            out[op] = n;
        }
    }
    return out;
}

/** The canary subset's weight in a VirtualService's spec (its last, weighted, HTTP route). */
export function canaryWeightOfVirtualService(spec: unknown, canarySubset: string): number | undefined {
    const http = (spec as { http?: Array<{ route?: Array<{ destination?: { subset?: string }; weight?: number }> }> })
        ?.http;
    if (!Array.isArray(http) || http.length === 0) {
        return undefined;
    }
    // The weighted route is the last one; a header-match override (always v2) may come before it.
    const route = http[http.length - 1].route ?? [];
    const canary = route.find((r) => r.destination?.subset === canarySubset);
    if (!canary) {
        return route.length > 0 ? 0 : undefined;
    }
    return canary.weight ?? (route.length === 1 ? 100 : undefined);
}

/** In a `pulumi stack export` deployment: the weight of the VirtualService named `service` in `namespace`. */
export function appliedWeightFromDeployment(
    deployment: unknown,
    service: string,
    namespace: string,
    canarySubset: string,
): number | undefined {
    const resources =
        (deployment as { resources?: Array<{ type?: string; outputs?: Record<string, unknown> }> })?.resources ?? [];
    for (const r of resources) {
        if (!/^kubernetes:networking\.istio\.io\/[^:]+:VirtualService$/.test(r.type ?? "")) {
            continue;
        }
        const meta = (r.outputs?.metadata ?? {}) as { name?: string; namespace?: string };
        if (meta.name === service && (meta.namespace ?? "default") === namespace) {
            return canaryWeightOfVirtualService(r.outputs?.spec, canarySubset);
        }
    }
    return undefined;
}

function parseWeight(raw: string | undefined, key = "canaryWeight"): number {
    if (raw === undefined || raw === "") {
        return 0; // Pulumi.yaml default
    }
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0 || n > 100) {
        throw new Error(`stack config ${key} is ${JSON.stringify(raw)}, not a whole number from 0 to 100`);
    }
    return n;
}

/** The real stack, through the Automation API. */
export class AutomationStack implements StackDriver {
    private constructor(
        private readonly stack: Stack,
        readonly project: string,
    ) {}

    get name(): string {
        return this.stack.name;
    }

    /**
     * Selects an existing stack of the project in `workDir`. The CLI comes from PATH and the environment
     * (backend URL, passphrase) from `envVars` over process.env, as for any `pulumi` command.
     */
    static async select(
        stackName: string,
        workDir: string,
        envVars: Record<string, string> = {},
    ): Promise<AutomationStack> {
        // Imported here: the Automation API pulls in much of the SDK, which the unit tests do not need.
        // (require, not import(): under module node16 an import() stays a real ESM import of a CommonJS
        // module, whose re-exported names Node cannot always see.)
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { LocalWorkspace } = require("@pulumi/pulumi/automation") as typeof import("@pulumi/pulumi/automation");
        const stack = await LocalWorkspace.selectStack({ stackName, workDir }, { envVars });
        const project = (await stack.workspace.projectSettings()).name;
        return new AutomationStack(stack, project);
    }

    private async config(key: string): Promise<string | undefined> {
        const all = await this.stack.getAllConfig();
        return all[`${this.project}:${key}`]?.value;
    }

    async info(): Promise<StackInfo> {
        const outputs = await this.stack.outputs();
        const value = <T>(k: string): T | undefined => outputs[k]?.value as T | undefined;
        const config = await this.stack.getAllConfig();
        return {
            project: this.project,
            namespace: value<string>("namespace"),
            services: value<string[]>("services"),
            weights: value<Record<string, number>>("weights"),
            prometheusUrl: value<string>("prometheusUrl"),
            canaryWeight: parseWeight(config[`${this.project}:canaryWeight`]?.value),
            promotion: config[`${this.project}:promotion`]?.value,
            servicesConfig: config[`${this.project}:services`]?.value,
        };
    }

    async configuredWeight(key?: WeightKey): Promise<number> {
        if (key?.path) {
            return parseWeight((await this.stack.getConfig(key.key, true)).value, key.key);
        }
        return parseWeight(await this.config(key?.key ?? "canaryWeight"));
    }

    async pendingChanges(): Promise<Record<string, number>> {
        const r = await this.stack.preview({ color: "never" });
        return changesThatModify(r.changeSummary ?? {});
    }

    async setWeight(weight: number, key?: WeightKey): Promise<void> {
        await this.stack.setConfig(key?.key ?? "canaryWeight", { value: String(weight) }, key?.path ?? false);
    }

    /**
     * One `pulumi config set-all --path` (the same parsing as a person typing `pulumi config set --path`);
     * nothing is applied until the next `up`.
     */
    async setPaths(values: ReadonlyArray<[string, string]>): Promise<void> {
        await this.stack.setAllConfig(Object.fromEntries(values.map(([key, value]) => [key, { value }])), true);
    }

    async up(opts: { signal?: AbortSignal; onOutput?: (text: string) => void }): Promise<UpResult> {
        const started = Date.now();
        const r = await this.stack.up({ color: "never", onOutput: opts.onOutput, signal: opts.signal });
        const changes: Record<string, number> = {};
        for (const [op, n] of Object.entries(r.summary.resourceChanges ?? {})) {
            if (n) {
                changes[op] = n;
            }
        }
        return { changes, seconds: (Date.now() - started) / 1000 };
    }

    async appliedWeight(service: string, namespace: string, canarySubset: string): Promise<number | undefined> {
        const exported = await this.stack.exportStack();
        return appliedWeightFromDeployment(exported.deployment, service, namespace, canarySubset);
    }
}
