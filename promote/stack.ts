/**
 * The stack being promoted, behind a small interface so the promotion logic (promote/run.ts) is tested with
 * a fake, and driven for real through the Pulumi Automation API (a local program: this project's directory,
 * the same `pulumi` CLI, backend and config as a person typing `pulumi config set canaryWeight N && pulumi up`).
 *
 * The stack's config stays the single source of truth: the weight is changed only in the stack's config
 * (`setConfig`, or a copy written with `pulumi config set --config-file` put in its place: stageWeight,
 * commitStaged) and then applied with `up`, exactly the README's manual workflow; nothing is applied behind
 * Pulumi's back.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import type { EngineEvent, LocalWorkspace, OpType, Stack } from "@pulumi/pulumi/automation";
import type { RawConfig } from "./guard";
import { decodeLastRun, encodeLastRun, LAST_RUN_TAG, LastRun } from "./lastRun";

const execFileAsync = promisify(execFile);

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

/** One resource change a preview plans: a step of the engine's plan that modifies something (`modifies`). */
export interface PlannedChange {
    op: string;
    /** The resource's type token. */
    type: string;
    /** The resource's Pulumi name (the last part of its URN). */
    name: string;
    urn: string;
    /** A Kubernetes object's `namespace/name`, from the inputs the preview saw. */
    object?: string;
}

/** A policy pack run with a preview or an update (`--policy-pack <pack> --policy-pack-config <configFile>`). */
export interface PolicyRun {
    pack: string;
    configFile: string;
}

/** A policy the pack reported on (a mandatory one fails the preview or update, an advisory one only warns). */
export interface PolicyFinding {
    policy: string;
    level: string;
    /** What the policy says, naming the object (the message's last line; the first is the description). */
    message: string;
}

export interface PreviewResult {
    changes: PlannedChange[];
    /** Advisory findings (mandatory ones make the preview throw a PolicyError). */
    findings: PolicyFinding[];
    /**
     * Why the `up` of this plan must not be targeted at its changes (targetingProblem, from the state as
     * exported right after the preview), when there is a reason; undefined when it may be.
     */
    targetingProblem?: string;
}

/** A preview or update stopped by a mandatory policy: the findings, by policy name. */
export class PolicyError extends Error {
    constructor(readonly findings: PolicyFinding[]) {
        super(
            `the policy pack refused it (${findings.length} mandatory violation${findings.length === 1 ? "" : "s"}):\n` +
                findings.map((f) => `  - ${f.policy}: ${f.message}`).join("\n"),
        );
        this.name = "PolicyError";
    }
}

export interface UpOptions {
    signal?: AbortSignal;
    onOutput?: (text: string) => void;
    /** An update plan saved by `preview({ planFile })`: the update may do nothing else (`pulumi up --plan`). */
    plan?: string;
    policy?: PolicyRun;
    /** Only these URNs (`pulumi up --target`): a rollback that moves the weight and nothing else. */
    targets?: string[];
    /**
     * The update changes VirtualServices in place and nothing else (a step held to such a plan, or a
     * targeted rollback): the engine then saves the state once at the end instead of after every resource
     * (PULUMI_SKIP_CHECKPOINTS). Safe for exactly this case: an update cut short leaves the state with the
     * old inputs, and the next `up` applies the same objects again (server-side apply is idempotent); it
     * would not be for creates, whose objects the state would not know. Measured: bench/step.ts.
     */
    inPlaceRoutesOnly?: boolean;
    /** Every engine event as it arrives (bench/step.ts times the up's phases with it). */
    onEvent?: (e: EngineEvent) => void;
}

/**
 * A weight written into a copy of the stack's config file, so that a preview can judge a step before the
 * config changes (promote prepares the next step while the current one is analysed: promote/run.ts).
 */
export interface StagedConfig {
    /** The copy with the weight set (`pulumi config set --config-file`): `pulumi preview --config-file`. */
    file: string;
    /** The stack's config file as it was copied: the copy replaces it only while it still holds exactly this. */
    base: string;
}

export interface PreviewPlanOptions {
    /** Save the update plan here (`pulumi preview --save-plan`), for `up({ plan })`. */
    planFile?: string;
    policy?: PolicyRun;
    /** Preview this config file instead of the stack's (a staged weight: stageWeight). */
    configFile?: string;
    /** Stops the preview (SIGINT to the CLI). */
    signal?: AbortSignal;
}

export interface StackDriver {
    readonly name: string;
    info(): Promise<StackInfo>;
    /** The weight key (default `canaryWeight`) as it stands now in the config. */
    configuredWeight(key?: WeightKey): Promise<number>;
    /**
     * What a plain `pulumi up` would change now (changesThatModify): {} when the stack matches its config.
     * With `policy`, the pack judges the preview (a mandatory violation throws a PolicyError).
     */
    pendingChanges(policy?: PolicyRun): Promise<Record<string, number>>;
    /**
     * A preview resource by resource, judged by `policy` when given; with `planFile`, the update plan is
     * saved there (`pulumi preview --save-plan`) for `up({ plan })`.
     */
    previewPlan(opts: PreviewPlanOptions): Promise<PreviewResult>;
    /** The stack's config as the program reads it (promote/guard.ts walkProblems): secrets left out. */
    rawConfig(): Promise<RawConfig>;
    /** The URNs of the VirtualServices named `services` in `namespace`, from the stack's state. */
    virtualServiceUrns(services: readonly string[], namespace: string): Promise<string[]>;
    setWeight(weight: number, key?: WeightKey): Promise<void>;
    /**
     * The config with `weight` set, in a copy at `file` (the stack's config unchanged): a preview given the
     * copy (`previewPlan({ configFile })`) judges the step before it is made. Optional: without it, promote
     * sets the weight and previews it at the step.
     */
    stageWeight?(weight: number, key: WeightKey | undefined, file: string): Promise<StagedConfig>;
    /**
     * The staged copy becomes the stack's config, byte for byte, if the stack's config is still the `base` it
     * was copied from; false, and nothing written, if it changed meanwhile.
     */
    commitStaged?(staged: StagedConfig): Promise<boolean>;
    /** Sets values at paths of the config (`services[1].stable.image`), all before one `up`: finishing a release. */
    setPaths?(values: ReadonlyArray<[string, string]>): Promise<void>;
    /** `pulumi up`. `signal` asks the CLI to stop (SIGINT: it finishes in-flight operations first). */
    up(opts: UpOptions): Promise<UpResult>;
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

/** The type token of an Istio VirtualService (any API version), as the Kubernetes provider names it. */
export const VIRTUAL_SERVICE_TYPE = /^kubernetes:networking\.istio\.io\/[^:]+:VirtualService$/;

interface StateResource {
    urn?: string;
    type?: string;
    outputs?: Record<string, unknown>;
}

/** In a `pulumi stack export` deployment: the VirtualService named `service` in `namespace`. */
function virtualServiceOf(deployment: unknown, service: string, namespace: string): StateResource | undefined {
    const resources = (deployment as { resources?: StateResource[] })?.resources ?? [];
    return resources.find((r) => {
        const meta = (r.outputs?.metadata ?? {}) as { name?: string; namespace?: string };
        return (
            VIRTUAL_SERVICE_TYPE.test(r.type ?? "") &&
            meta.name === service &&
            (meta.namespace ?? "default") === namespace
        );
    });
}

/** In a `pulumi stack export` deployment: the weight of the VirtualService named `service` in `namespace`. */
export function appliedWeightFromDeployment(
    deployment: unknown,
    service: string,
    namespace: string,
    canarySubset: string,
): number | undefined {
    const vs = virtualServiceOf(deployment, service, namespace);
    return vs ? canaryWeightOfVirtualService(vs.outputs?.spec, canarySubset) : undefined;
}

/** In a `pulumi stack export` deployment: the URNs of the VirtualServices named `services` in `namespace`. */
export function virtualServiceUrnsFromDeployment(
    deployment: unknown,
    services: readonly string[],
    namespace: string,
): string[] {
    return services.flatMap((s) => virtualServiceOf(deployment, s, namespace)?.urn ?? []);
}

/** A resource as `pulumi stack export` records it: what it depends on, as of the last `up` that took it. */
export interface RecordedResource {
    urn: string;
    parent?: string;
    dependencies?: string[];
    propertyDependencies?: Record<string, string[]>;
    deletedWith?: string;
}

/**
 * Why a step's `up` must not be targeted, or undefined when it may. With `--target`, the engine takes each
 * other resource from the state, and before it the resources it depended on at the last `up` that took it
 * (pkg/resource/deploy/step_generator.go, "When emitting a SameStep for an untargeted resource", v3.274). A
 * resource the program now declares after one that depended on it is then taken twice, and the `up` fails
 * ("Duplicate resource URN"), after the routes it moved. That is the case on a stack whose last `up` waited
 * for the readiness gate: the namespace depended on it, and on the cluster it passed for the program
 * declares it after the routes (program.ts). An untargeted `up` records the program's own order; the steps
 * after it can be targeted. `order`: the URNs in the order the step's preview took them (the program's
 * order); `state`: the resources as exported.
 */
export function targetingProblem(state: readonly RecordedResource[], order: readonly string[]): string | undefined {
    const at = new Map(order.map((urn, i) => [urn, i]));
    // "Namespace namespace": the type's own name (after its parents' types and its package) and the name.
    const name = (urn: string) => {
        const [type, res] = urn.split("::").slice(-2);
        return `${type.split("$").pop()!.split(":").pop()!} ${res}`;
    };
    for (const r of state) {
        const mine = at.get(r.urn);
        if (mine === undefined) {
            continue;
        }
        const deps = [
            r.parent,
            ...(r.dependencies ?? []),
            ...Object.values(r.propertyDependencies ?? {}).flat(),
            r.deletedWith,
        ];
        const later = deps.find((d) => d !== undefined && d !== "" && (at.get(d) ?? -1) > mine);
        if (later !== undefined) {
            return `the state records ${name(r.urn)} as depending on ${name(later)}, which the program now declares after it`;
        }
    }
    return undefined;
}

/** A preview's resource step as a PlannedChange (the Kubernetes object named from its new, else old, inputs). */
export function plannedChange(step: {
    op: string;
    urn: string;
    type: string;
    new?: { inputs?: Record<string, unknown> };
    old?: { inputs?: Record<string, unknown> };
}): PlannedChange {
    const change: PlannedChange = {
        op: step.op,
        type: step.type,
        name: step.urn.split("::").pop() ?? "",
        urn: step.urn,
    };
    const meta = (step.new?.inputs?.metadata ?? step.old?.inputs?.metadata) as
        { name?: unknown; namespace?: unknown } | undefined;
    if (typeof meta?.name === "string") {
        change.object = `${typeof meta.namespace === "string" ? meta.namespace : "default"}/${meta.name}`;
    }
    return change;
}

/** A policy event as a finding: the message's last line names the object (its first is the description). */
export function policyFinding(e: { policyName: string; enforcementLevel: string; message: string }): PolicyFinding {
    const lines = e.message.split("\n").filter((l) => l.trim() !== "");
    return { policy: e.policyName, level: e.enforcementLevel, message: (lines.at(-1) ?? "").trim() };
}

/** Collects a preview's or update's resource steps and policy findings from its engine events. */
class EventLog {
    readonly changes: PlannedChange[] = [];
    readonly findings: PolicyFinding[] = [];
    /** Every resource's URN, in the order the engine took them. */
    readonly order: string[] = [];
    readonly onEvent = (e: EngineEvent): void => {
        if (e.resourcePreEvent) {
            this.order.push(e.resourcePreEvent.metadata.urn);
            if (modifies(e.resourcePreEvent.metadata.op)) {
                this.changes.push(plannedChange(e.resourcePreEvent.metadata));
            }
        }
        if (e.policyEvent) {
            this.findings.push(policyFinding(e.policyEvent));
        }
    };
    /** The error to throw for a failed run: a PolicyError when a mandatory policy stopped it. */
    failure(e: unknown): unknown {
        const mandatory = this.findings.filter((f) => f.level === "mandatory");
        return mandatory.length > 0 ? new PolicyError(mandatory) : e;
    }
}

const policyArgs = (policy: PolicyRun | undefined) =>
    policy ? { policyPacks: [policy.pack], policyPackConfigs: [policy.configFile] } : {};

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

/** promote/preload.cjs: beside this module when run from source, two levels up from bin/promote/ when compiled. */
const PRELOAD = [path.join(__dirname, "preload.cjs"), path.join(__dirname, "..", "..", "promote", "preload.cjs")].find(
    (p) => fs.existsSync(p),
);

/**
 * What promote adds to the environment of its previews and `up`s, for the Node.js processes the CLI starts
 * for them (the program, the policy pack, the readiness gate's plugin), unless the user set them:
 * - NODE_COMPILE_CACHE: Node.js keeps the compiled code of every module on disk and reuses it
 *   (https://nodejs.org/api/module.html#module-compile-cache). runtime.ts turns it on for the program's own
 *   modules, but only once it runs; the Pulumi SDK, TypeScript and ts-node load before it, ~0.3 s of every
 *   run of the program on this project's 2-core machine. Same directory as runtime.ts's default.
 * - --max-semi-space-size=64 (MB, V8's young generation): a 50-service program makes many short-lived objects
 *   (the engine's answers decoded, the SDK's promises); its garbage collection took 1.06 s of CPU
 *   with the default and 0.66 s with this (CPU profiles of the program in a step's `up`, docs/development.md).
 * - --require promote/preload.cjs: the SDK's @npmcli/arborist loaded only when used (preload.cjs says why),
 *   ~0.3 s off the start of every run. Not when the user's NODE_OPTIONS already names a preload.cjs.
 */
export function promoteNodeEnv(
    env: Readonly<Record<string, string | undefined>>,
    preload: string | undefined = PRELOAD,
): Record<string, string> {
    const add: Record<string, string> = {};
    if (!env.NODE_COMPILE_CACHE) {
        add.NODE_COMPILE_CACHE = path.join(os.tmpdir(), "node-compile-cache");
    }
    const given = env.NODE_OPTIONS ?? "";
    const options = [given];
    if (!given.includes("--max-semi-space-size")) {
        options.push("--max-semi-space-size=64");
    }
    if (preload && !given.includes("preload.cjs")) {
        options.push(`--require ${/\s/.test(preload) ? JSON.stringify(preload) : preload}`);
    }
    if (options.length > 1) {
        add.NODE_OPTIONS = options.join(" ").trim();
    }
    return add;
}

/** The real stack, through the Automation API. */
export class AutomationStack implements StackDriver {
    /** A driver for a Stack the caller holds already (bench/step.ts); `select` finds one by name. */
    constructor(
        private readonly stack: Stack,
        readonly project: string,
    ) {}

    get name(): string {
        return this.stack.name;
    }

    /**
     * Runs `command` with `extra` in the workspace's environment (what every pulumi command of this stack runs
     * with), and only then: the same Stack also runs other commands (bench/step.ts's plain `up`).
     */
    private async withEnv<T>(extra: Record<string, string>, command: () => Promise<T>): Promise<T> {
        const env = this.stack.workspace.envVars;
        const before = Object.fromEntries(Object.keys(extra).map((k) => [k, env[k]]));
        Object.assign(env, extra);
        try {
            return await command();
        } finally {
            for (const [k, v] of Object.entries(before)) {
                if (v === undefined) {
                    delete env[k];
                } else {
                    env[k] = v;
                }
            }
        }
    }

    /** promoteNodeEnv over the environment the CLI gets: the workspace's over this process's. */
    private nodeEnv(): Record<string, string> {
        return promoteNodeEnv({ ...process.env, ...this.stack.workspace.envVars });
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

    async pendingChanges(policy?: PolicyRun): Promise<Record<string, number>> {
        const events = new EventLog();
        try {
            const r = await this.stack.preview({ color: "never", onEvent: events.onEvent, ...policyArgs(policy) });
            return changesThatModify(r.changeSummary ?? {});
        } catch (e) {
            throw events.failure(e);
        }
    }

    async previewPlan(opts: PreviewPlanOptions): Promise<PreviewResult> {
        const events = new EventLog();
        try {
            await this.withEnv(this.nodeEnv(), () =>
                this.stack.preview({
                    color: "never",
                    onEvent: events.onEvent,
                    ...(opts.planFile ? { plan: opts.planFile } : {}),
                    ...(opts.configFile ? { configFile: opts.configFile } : {}),
                    ...(opts.signal ? { signal: opts.signal } : {}),
                    ...policyArgs(opts.policy),
                }),
            );
        } catch (e) {
            throw events.failure(e);
        }
        const exported = (await this.stack.exportStack()).deployment as { resources?: RecordedResource[] };
        const problem = targetingProblem(exported.resources ?? [], events.order);
        return {
            changes: events.changes,
            findings: events.findings,
            ...(problem ? { targetingProblem: problem } : {}),
        };
    }

    async rawConfig(): Promise<RawConfig> {
        const all = await this.stack.getAllConfig();
        const values: Record<string, string> = {};
        let hasSecretKubeconfig = false;
        for (const [fullKey, v] of Object.entries(all)) {
            const [ns, key] = fullKey.split(":", 2);
            if (ns !== this.project || !key) {
                continue;
            }
            if (v.secret) {
                // Never read as plain text: only whether the kubeconfig is there (config/stackConfig.ts loadConfig).
                hasSecretKubeconfig ||= key === "existingKubeconfig" && v.value !== "";
                continue;
            }
            values[key] = v.value;
        }
        return { values, hasSecretKubeconfig };
    }

    /** The whole state (`pulumi stack export`): `npm run status` reads the objects as last applied. */
    async deployment(): Promise<unknown> {
        return (await this.stack.exportStack()).deployment;
    }

    async outputs(): Promise<Record<string, unknown>> {
        const out = await this.stack.outputs();
        return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.value]));
    }

    /** Records the run's outcome as the stack tag LAST_RUN_TAG (promote/lastRun.ts). */
    async recordLastRun(run: LastRun): Promise<void> {
        await this.stack.workspace.setTag(this.stack.name, LAST_RUN_TAG, encodeLastRun(run));
    }

    /** The last promotion's outcome, or undefined when none was recorded. */
    async lastRun(): Promise<LastRun | undefined> {
        const tags = await this.stack.workspace.listTags(this.stack.name);
        return decodeLastRun(tags[LAST_RUN_TAG]);
    }

    async virtualServiceUrns(services: readonly string[], namespace: string): Promise<string[]> {
        const exported = await this.stack.exportStack();
        return virtualServiceUrnsFromDeployment(exported.deployment, services, namespace);
    }

    async setWeight(weight: number, key?: WeightKey): Promise<void> {
        await this.stack.setConfig(key?.key ?? "canaryWeight", { value: String(weight) }, key?.path ?? false);
    }

    /**
     * The stack's config file (`Pulumi.<stack>.yaml` in the project's directory, or in its `stackConfigDir`),
     * as the CLI finds it (pkg/workspace: the stack name's last part).
     */
    async configPath(): Promise<string> {
        const settings = await this.stack.workspace.projectSettings();
        // stackConfigDir is a Pulumi.yaml key the Automation API types do not list.
        const configDir = (settings as { stackConfigDir?: string }).stackConfigDir ?? "";
        const dir = path.resolve(this.stack.workspace.workDir, configDir);
        return path.join(dir, `Pulumi.${this.stack.name.split("/").pop()}.yaml`);
    }

    /**
     * `pulumi config set [--path] <key> <weight> --config-file <file>` on a copy of the stack's config file:
     * the same CLI and parsing as setWeight, written to the copy only (the Automation API's setConfig has no
     * --config-file, so the workspace's own CLI is run with the workspace's environment).
     */
    async stageWeight(weight: number, key: WeightKey | undefined, file: string): Promise<StagedConfig> {
        const base = await fs.promises.readFile(await this.configPath(), "utf8");
        await fs.promises.writeFile(file, base);
        const workspace = this.stack.workspace as LocalWorkspace;
        const args = ["config", "set", ...(key?.path ? ["--path"] : []), key?.key ?? "canaryWeight", String(weight)];
        await execFileAsync(
            workspace.pulumiCommand.command,
            [...args, "--config-file", file, "--stack", this.stack.name, "--non-interactive"],
            { cwd: workspace.workDir, env: { ...process.env, ...workspace.envVars } },
        );
        return { file, base };
    }

    async commitStaged(staged: StagedConfig): Promise<boolean> {
        const target = await this.configPath();
        if ((await fs.promises.readFile(target, "utf8")) !== staged.base) {
            return false;
        }
        // A rename in the same directory: the CLI never reads a half-written config.
        const next = `${target}.promote-${process.pid}`;
        await fs.promises.copyFile(staged.file, next);
        await fs.promises.rename(next, target);
        return true;
    }

    /**
     * One `pulumi config set-all --path` (the same parsing as a person typing `pulumi config set --path`);
     * nothing is applied until the next `up`.
     */
    async setPaths(values: ReadonlyArray<[string, string]>): Promise<void> {
        await this.stack.setAllConfig(Object.fromEntries(values.map(([key, value]) => [key, { value }])), true);
    }

    async up(opts: UpOptions): Promise<UpResult> {
        const started = Date.now();
        const events = new EventLog();
        let r;
        const env = { ...this.nodeEnv(), ...(opts.inPlaceRoutesOnly ? { PULUMI_SKIP_CHECKPOINTS: "true" } : {}) };
        try {
            r = await this.withEnv(env, () =>
                this.stack.up({
                    color: "never",
                    onOutput: opts.onOutput,
                    signal: opts.signal,
                    onEvent: (e) => {
                        events.onEvent(e);
                        opts.onEvent?.(e);
                    },
                    ...(opts.plan ? { plan: opts.plan } : {}),
                    ...(opts.targets ? { target: opts.targets } : {}),
                    ...policyArgs(opts.policy),
                }),
            );
        } catch (e) {
            throw events.failure(e);
        }
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
