/**
 * One promotion run: preflight (Prometheus answers, the stack has no pending changes), then for each step
 * set canaryWeight + `up`, wait the interval, judge the canary, and advance, wait for data, halt or roll
 * back. Everything it touches comes in through `Deps`, so tests/promote/run.test.ts drives it with a fake
 * stack, fake metrics and a fake clock.
 *
 * Reading order: `PromotionRun.run()` is the run as its steps (resume from the weight in force, preflight,
 * the walk); `step()` is one weight (set + up, then `analyse()`: wait, judge, decide); the ways a run ends
 * (roll back, halt, interrupted) follow, then the stack read-back and the report.
 *
 * What moves and what is judged (promote/release.ts): the stack's `canaryWeight`, judging every service it
 * moves (a step passes when all pass; any failing rolls them all back), or one described service's own
 * `services[<i>].canaryWeight`; the described services moved are finished at 100 in one config change + up
 * (`finishRelease`).
 *
 * Invariants a release engineer relies on:
 * - The weight is only ever changed through the stack config + `up` (never behind Pulumi's back).
 * - Each step's `up` is held to the plan its preview saved, and that plan changes only the moved services'
 *   VirtualServices (promote/guard.ts), judged by the policy pack (absent with --no-policy); the `up` is
 *   targeted at those VirtualServices (the first step's, with --allow-pending-changes, is not); every weight
 *   of the walk is checked against the program's config validation before the first change.
 * - Once traffic has moved, a step that fails before its analysis rolls back to 0 (--on-error hold: stays),
 *   with an `up` targeted at the VirtualServices, so nothing that landed in the config rides along.
 * - Nothing is changed before Prometheus has answered a probe and the stack has been found in step with
 *   its config: a run that cannot judge must not start moving traffic.
 * - Whatever happens (failed `up`, interrupt, crash), the run ends by stating the weight in force, read back
 *   from the stack; if this run changed the config and an `up` did not apply it, the config is set back to
 *   the weight the state says is applied, so `pulumi config get canaryWeight` stays the truth.
 */
import * as fs from "fs";
import * as path from "path";
import {
    Action,
    Check,
    describeCheck,
    evaluate,
    fmtValue,
    nextAction,
    plannedWeights,
    Sample,
    Verdict,
} from "./decision";
import { checkPlan, PlanCheck, planCheckProblem, stepPackConfig, upTargets, walkProblems } from "./guard";
import type { Plan } from "./options";
import { buildQueries, Queries, rateQuery, seriesQuery, workloads } from "./promql";
import { finishCommand, finishedText, JudgedService, Release } from "./release";
import type { PolicyFinding, PolicyRun, PreviewResult, StackDriver, StagedConfig, UpResult } from "./stack";

/** The canary's subset (= pod `version` label), as mesh/demoWorkloads.ts names it. */
const CANARY_SUBSET = "v2";

export interface Metrics {
    probe(): Promise<void>;
    query(q: string, timeSeconds?: number): Promise<number | undefined>;
}

export interface Clock {
    now(): number;
    /** Resolves after `ms`, or as soon as `signal` aborts. */
    sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export interface Ui {
    /** A line of the run's log. */
    line(text: string): void;
    /** Transient progress while an interval runs (a terminal redraws it in place). */
    countdown(text: string, secondsLeft: number, totalSeconds: number): void;
}

export interface Deps {
    stack: StackDriver;
    metrics: Metrics;
    clock: Clock;
    ui: Ui;
    /** Aborted on the first Ctrl-C / SIGTERM: stop at the next safe point. */
    interrupt: AbortSignal;
    /** Aborted on a second Ctrl-C: ask a running `pulumi up` to stop (SIGINT to the CLI). */
    forceStop?: AbortSignal;
    /** How the Prometheus auth is described in the report (never the secret). */
    prometheusAuth: string;
    /** pulumi up's own output (--verbose). */
    onPulumiOutput?: (text: string) => void;
    /** Pause before retrying a failed query or rollback (ms); tests set 0. */
    retryDelayMs?: number;
    /** A directory of this run's own: each step's saved plan and policy pack config are written there. */
    workDir: string;
}

export type Outcome = "promoted" | "rolled-back" | "halted" | "interrupted" | "failed" | "dry-run";
export const EXIT_CODES: Record<Outcome, number> = {
    promoted: 0,
    "dry-run": 0,
    "rolled-back": 2,
    halted: 3,
    failed: 1,
    interrupted: 130,
};

export interface UpRecord {
    weight: number;
    changes?: Record<string, number>;
    seconds?: number;
    error?: string;
}

export interface AnalysisRecord {
    attempt: number;
    windowStart: string;
    windowEnd: string;
    canary: Sample | null;
    stable: Sample | null;
    checks: Check[];
    verdict: Verdict;
    action: Action;
    error?: string;
    /**
     * Each judged service's own verdict, when the step moved more than one (the fields above are then the
     * step's: checks of every service, each naming it; the verdict is "pass" only when every service passed).
     */
    services?: ServiceVerdict[];
}

/** One workload's traffic before the run. */
export interface TrafficRecord {
    workload: string;
    series: boolean;
    ratePerSecond?: number;
    error?: string;
}

/** One service's judgement in an interval of a step that moved several. */
export interface ServiceVerdict {
    service: string;
    canary: Sample | null;
    stable: Sample | null;
    checks: Check[];
    verdict: Verdict;
    error?: string;
}

/** A check of a step that judged several services names its service. */
export type ServiceCheck = Check & { service?: string };

export interface StepRecord {
    step: number;
    of: number;
    weight: number;
    /** The step's preview, held to the step: what it planned, and whether that is only the weight. */
    plan?: StepPlanRecord;
    /** Absent when the weight was already in force (analysed without an up). */
    up?: UpRecord;
    analyses: AnalysisRecord[];
}

/** A step's preview: its plan check, the policy pack config it ran with and what the pack said. */
export interface StepPlanRecord {
    /** Absent when the preview itself failed (see `error`). */
    check?: PlanCheck;
    /** The pack config of the step (the stack's with the weights in force before it); absent: --no-policy. */
    policyConfig?: Record<string, unknown>;
    /** Advisory findings (a mandatory one fails the preview: `error`). */
    policyFindings: PolicyFinding[];
    error?: string;
    /**
     * Seconds the step's preview took, when it ran while the step before was analysed (its config staged in a
     * copy, committed at the step): absent when the step was previewed at the step itself.
     */
    preparedSeconds?: number;
}

export interface RunReport {
    tool: "asm-canary promote";
    stack: string;
    service: string;
    namespace: string;
    prometheus: { url: string; source: string; auth: string };
    settings: {
        steps: number[];
        interval: string;
        intervalSeconds: number;
        maxErrorRate: number;
        maxP99Ms: number;
        minRequests: number;
        maxWaitIntervals: number;
        onNoData: string;
        maxErrorRateDelta: number | null;
        maxP99DeltaMs: number | null;
        onError: string;
        /** The policy pack and where its config came from; null with --no-policy. */
        policy: { pack: string; configSource: string } | null;
    };
    queries: { canary: Queries; stable: Queries };
    dryRun: boolean;
    startedAt: string;
    finishedAt?: string;
    startWeight: number | null;
    plannedWeights: number[];
    steps: StepRecord[];
    /** The rollback's up: targeted at the moved services' VirtualServices (`targets`), so it applies nothing else. */
    rollback?: UpRecord & { attempts: number; targets?: string[] };
    /** The config key the walk moved: `canaryWeight`, or `services[<i>].canaryWeight` (the service's own). */
    weightKey: string;
    /** Every service the key moves, each judged at every step. */
    judged: Array<{ service: string; protocol: string; queries: ServiceQueries }>;
    /** The release finished at 100 in one up: its services (comma-separated), the config keys set, then that up. */
    finalize?: { service: string; config: Record<string, string | number>; up?: UpRecord };
    outcome?: Outcome;
    exitCode?: number;
    message?: string;
    /** The checks that failed the step that was rolled back, or that lacked data when it halted. */
    failedChecks?: Check[];
    /**
     * What Prometheus had before the run, per judged workload: whether its request series exist at all, and
     * its request rate (req/s over the last interval).
     */
    traffic: TrafficRecord[];
    /** The walk's longest duration (s): every step waiting all its intervals (previews and ups not counted). */
    longestSeconds: number;
    /** canaryWeight in the stack config at the end (after any reconciliation). */
    weightInForce: number | null;
    /** What the stack's state says its VirtualService applies. */
    appliedWeight: number | null;
    notes: string[];
}

const pct = (r: number) => fmtValue("errorRate", r);

function describeSample(label: string, s: Sample | null): string {
    if (!s) {
        return `${label} -`;
    }
    const rate = s.requests > 0 ? pct(s.errors / s.requests) : "-";
    const p99 = s.p99Ms === undefined ? "-" : `${Math.round(s.p99Ms)} ms`;
    return `${label} ${fmtValue("requests", Math.round(s.requests * 10) / 10)} req, ${rate} errors, p99 ${p99}`;
}

function changesText(c: Record<string, number> | undefined): string {
    const parts = Object.entries(c ?? {})
        .filter(([op]) => op !== "same")
        .map(
            ([op, n]) =>
                `${n} ${op === "update" ? "updated" : op === "create" ? "created" : op === "delete" ? "deleted" : op}`,
        );
    return parts.length ? parts.join(", ") : "no changes";
}

/**
 * What went wrong, readably. The Automation API's CommandError message wraps the whole CLI output
 * ("code: … stdout: … stderr: … err?: …", the command line twice); its `error:` lines say what failed, each
 * with the lines indented below it (the program's list of problems: "Invalid stack configuration (1
 * problem):" alone says nothing). Other errors are kept, cut to their last lines.
 */
export function errorText(e: unknown): string {
    const msg = (e instanceof Error ? e.message : String(e)).trim();
    const lines = msg.split("\n").filter((l) => l.trim() !== "");
    if (/^code: -?\d+/.test(msg)) {
        const errors = errorBlocks(lines);
        if (errors.length > 0) {
            return errors.slice(0, 6).join("\n");
        }
    }
    return lines.length > 12 ? ["…", ...lines.slice(-12)].join("\n") : lines.join("\n");
}

/** Each distinct `error:` line with the list indented below it (relative indentation kept). */
function errorBlocks(lines: string[]): string[] {
    const indent = (l: string) => l.length - l.trimStart().length;
    const blocks: string[] = [];
    for (let i = 0; i < lines.length; i++) {
        if (!/^error:/.test(lines[i].trim())) {
            continue;
        }
        const at = indent(lines[i]);
        const block = [lines[i].trim()];
        // The continuation is the program's problem list ("  - key: got …"), nothing else the CLI prints.
        while (i + 1 < lines.length && indent(lines[i + 1]) > at && /^- /.test(lines[i + 1].trim())) {
            block.push(lines[++i].slice(at).trimEnd());
        }
        const text = block.join("\n");
        if (!blocks.includes(text)) {
            blocks.push(text);
        }
    }
    return blocks;
}

export function runPromotion(plan: Plan, deps: Deps): Promise<RunReport> {
    return new PromotionRun(plan, deps).run();
}

/** The canary and stable queries of the service a step judges. */
export interface ServiceQueries {
    canary: Queries;
    stable: Queries;
}

/** A step's preview made while the step before was analysed (PromotionRun.prepare). */
interface Prepared {
    /** The step it is for (Step.n). */
    step: number;
    staged: StagedConfig;
    result: PreviewResult;
    seconds: number;
}

/** One weight of the walk, as the log lines and the report name it. */
interface Step {
    /** 1-based position in the walk, and the walk's length. */
    n: number;
    of: number;
    weight: number;
    needsUp: boolean;
    /** "[2/4] canaryWeight 25": the prefix of the step's log lines. */
    tag: string;
    rec: StepRecord;
}

/** One analysis interval: when it started and ended (ms). */
interface Window {
    start: number;
    end: number;
}

/** What one interval's metrics say about the canary (without the action taken on it). */
interface Judgement {
    canary: Sample | null;
    stable: Sample | null;
    checks: Check[];
    verdict: Verdict;
    error?: string;
}

/** A step that ends the run returns the final report; one that lets the walk go on returns nothing. */
type StepEnd = RunReport | undefined;

/** The report as it stands before anything is read from the stack. */
function newReport(plan: Plan, deps: Deps, release: Release, judged: Judged[]): RunReport {
    return {
        tool: "asm-canary promote",
        stack: plan.stack,
        service: plan.service,
        namespace: plan.namespace,
        prometheus: { url: plan.prometheusUrl, source: plan.prometheusUrlSource, auth: deps.prometheusAuth },
        settings: {
            steps: plan.steps,
            interval: plan.interval,
            intervalSeconds: plan.intervalSeconds,
            maxErrorRate: plan.thresholds.maxErrorRate,
            maxP99Ms: plan.thresholds.maxP99Ms,
            minRequests: plan.thresholds.minRequests,
            maxWaitIntervals: plan.maxWaitIntervals,
            onNoData: plan.onNoData,
            maxErrorRateDelta: plan.thresholds.maxErrorRateDelta ?? null,
            maxP99DeltaMs: plan.thresholds.maxP99DeltaMs ?? null,
            onError: plan.onError ?? "rollback",
            policy: plan.policy ? { pack: plan.policy.pack, configSource: plan.policy.source } : null,
        },
        queries: judged[0].queries,
        weightKey: release.weightKey,
        judged: judged.map((j) => ({ service: j.name, protocol: j.protocol, queries: j.queries })),
        dryRun: plan.dryRun,
        startedAt: new Date(deps.clock.now()).toISOString(),
        startWeight: null,
        plannedWeights: [],
        traffic: [],
        longestSeconds: 0,
        steps: [],
        weightInForce: null,
        appliedWeight: null,
        notes: [],
    };
}

const indented = (text: string): string => text.split("\n").join("\n    ");
/** Seconds as `1 h 4 min`, `16 min`, `45 s`. */
function duration(seconds: number): string {
    const h = Math.floor(seconds / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    const s = seconds % 60;
    return [h ? `${h} h` : "", m ? `${m} min` : "", s || (!h && !m) ? `${s} s` : ""].filter(Boolean).join(" ");
}

/** A multi-line error as one line of a final message. */
const oneLine = (text: string): string =>
    text
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l !== "")
        .join(" ");

/** A service a step judges, with its queries. */
interface Judged extends JudgedService {
    queries: ServiceQueries;
}

function judgedService(plan: Plan, s: JudgedService): Judged {
    const names = workloads(s.name);
    const target = (workload: string) => ({ namespace: plan.namespace, workload });
    return {
        ...s,
        queries: {
            canary: buildQueries(target(names.canary), plan.intervalSeconds, s.protocol),
            stable: buildQueries(target(names.stable), plan.intervalSeconds, s.protocol),
        },
    };
}

/** The step's verdict from its services': a fail fails it, then missing data holds it, else it passes. */
function stepVerdict(verdicts: Verdict[]): Verdict {
    return verdicts.includes("fail") ? "fail" : verdicts.includes("no-data") ? "no-data" : "pass";
}

/**
 * One run's state (the plan, its dependencies, the report being written) and its steps as methods. `run()`
 * reads as the walk; every method that can end the run returns the final report, `undefined` to go on.
 */
class PromotionRun {
    /** The key the walk moves and the services it moves (plan.release, or the stack's weight and plan.service). */
    private readonly release: Release;
    /** Every service the key moves, each judged. */
    private readonly judged: Judged[];
    private readonly report: RunReport;
    /** Set once this run has written canaryWeight: only then may it reconcile the config with the state. */
    private touched = false;
    /** Set once the config holds the finished release: the weight is then never set back (the up applies it). */
    private finalizing = false;
    private readonly retryDelay: number;
    /** The weight applied before the step being taken (the policy pack's previousWeights). */
    private inForce = 0;
    /** Set once an up of this run has applied a weight: a failed step then rolls back (--on-error). */
    private moved = false;
    /** The next step's preview, running while the current step is analysed (prepare). */
    private prepared?: Promise<Prepared | undefined>;

    constructor(
        private readonly plan: Plan,
        private readonly deps: Deps,
    ) {
        this.release = plan.release ?? {
            weightKey: "canaryWeight",
            weightKeyIsPath: false,
            judged: [{ name: plan.service, protocol: "http" }],
        };
        this.judged = this.release.judged.map((s) => judgedService(plan, s));
        this.report = newReport(plan, deps, this.release, this.judged);
        this.retryDelay = deps.retryDelayMs ?? 2000;
    }

    /** The config key the walk moves, as the log lines name it. */
    private get key(): string {
        return this.release.weightKey;
    }

    /** The command that sets the key by hand (every hint names the stack). */
    private setCommand(weight: number): string {
        return this.release.weightKeyIsPath
            ? `pulumi config set --path '${this.key}' ${weight} --stack ${this.plan.stack}`
            : `pulumi config set ${this.key} ${weight} --stack ${this.plan.stack}`;
    }

    private getCommand(): string {
        return this.release.weightKeyIsPath
            ? `pulumi config get --path '${this.key}' --stack ${this.plan.stack}`
            : `pulumi config get ${this.key} --stack ${this.plan.stack}`;
    }

    /** `pulumi <args> --stack <the stack>`, for a hint. */
    private pulumi(args: string): string {
        return `pulumi ${args} --stack ${this.plan.stack}`;
    }

    /** The run, as its steps; whatever ends it, the report ends with the weight in force and the time. */
    async run(): Promise<RunReport> {
        try {
            const { start, walk } = await this.resumeFromCurrentWeight();
            this.announce(start, walk);
            const refused = await this.preflight(walk);
            if (refused) {
                return refused;
            }
            if (this.plan.dryRun) {
                return await this.showPlan(walk);
            }
            return await this.walk(walk);
        } catch (e) {
            await this.settle();
            return this.finish("failed", `unexpected error: ${errorText(e)}. ${this.stateSentence()}`);
        } finally {
            this.report.finishedAt = new Date(this.deps.clock.now()).toISOString();
        }
    }

    // --- before any change ---

    /** The weights to walk from the one in force (which is analysed first when it is between 1 and 99). */
    private async resumeFromCurrentWeight(): Promise<{ start: number; walk: Step[] }> {
        const start = await this.deps.stack.configuredWeight(this.weightKey);
        this.report.startWeight = start;
        this.inForce = start;
        const planned = plannedWeights(start, this.plan.steps);
        this.report.plannedWeights = planned.map((w) => w.weight);
        const walk = planned.map((w, i): Step => {
            const rec: StepRecord = { step: i + 1, of: planned.length, weight: w.weight, analyses: [] };
            const tag = `[${i + 1}/${planned.length}] ${this.key} ${w.weight}`;
            return { n: i + 1, of: planned.length, weight: w.weight, needsUp: w.needsUp, tag, rec };
        });
        return { start, walk };
    }

    /** The run's header: the walk, the pass rule, what happens without data, and where the metrics come from. */
    private announce(start: number, walk: Step[]): void {
        const { plan, deps } = this;
        const { ui } = deps;
        const t = plan.thresholds;
        ui.line(
            `Promoting stack ${plan.stack}: ${this.judged.length > 1 ? `services ${this.judged.map((j) => j.name).join(", ")}` : `service ${this.judged[0].name}`} (namespace ${plan.namespace}), ${this.key} ${[start, ...walk.filter((s) => s.needsUp).map((s) => s.weight)].join(" -> ")}`,
        );
        ui.line(
            `  every ${plan.interval}: pass needs >= ${t.minRequests} canary requests, error rate <= ${pct(t.maxErrorRate)}, p99 <= ${t.maxP99Ms} ms` +
                (t.maxErrorRateDelta !== undefined
                    ? `, error rate <= stable ${fmtValue("errorRateDelta", t.maxErrorRateDelta)}`
                    : "") +
                (t.maxP99DeltaMs !== undefined ? `, p99 <= stable ${fmtValue("p99DeltaMs", t.maxP99DeltaMs)}` : ""),
        );
        ui.line(
            `  not enough data: wait up to ${plan.maxWaitIntervals} more interval(s), then ${plan.onNoData === "halt" ? "halt in place" : "roll back"}`,
        );
        if (walk.length > 0 && !walk[0].needsUp) {
            ui.line(
                `  ${this.key} ${start} is already in force: it is analysed first, before any more traffic is moved`,
            );
        }
        this.report.longestSeconds = walk.length * (plan.maxWaitIntervals + 1) * plan.intervalSeconds;
        ui.line(
            `  longest walk: ${walk.length} step(s) x up to ${plan.maxWaitIntervals + 1} interval(s) of ${plan.interval} = ${duration(this.report.longestSeconds)}, plus a preview and an up per step`,
        );
        ui.line(`  Prometheus ${plan.prometheusUrl} (${plan.prometheusUrlSource}; ${deps.prometheusAuth})`);
        if (plan.dryRun) {
            for (const j of this.judged) {
                const names = workloads(j.name);
                ui.line(
                    `  queries (canary ${names.canary}; the same for stable ${names.stable}), evaluated at the end of each interval:`,
                );
                for (const [k, q] of Object.entries(j.queries.canary)) {
                    ui.line(`    ${k.padEnd(8)} ${q}`);
                }
            }
        }
    }

    /**
     * Nothing changes unless the run can judge what it does and finish the walk: the config takes every
     * weight of the walk, Prometheus answers, the stack has no pending change (the policy pack judging it).
     */
    private async preflight(walk: Step[]): Promise<StepEnd> {
        const { plan, deps } = this;
        const refused = await this.checkWalk(walk);
        if (refused) {
            return refused;
        }
        try {
            await deps.metrics.probe();
            deps.ui.line("  Prometheus answers");
        } catch (e) {
            await this.settle();
            return this.finish(
                "failed",
                `Prometheus is not usable, nothing was changed: ${errorText(e)}. ${this.stateSentence()}`,
            );
        }
        const missing = await this.surveyTraffic();
        if (missing.length > 0) {
            await this.settle();
            return this.finish(
                "failed",
                `these series do not exist in Prometheus: istio_requests_total{${missing.join("}, {")}}. Wrong labels (the namespace, ` +
                    `the workload names <service>-v1/-v2, reporter="destination") or the sidecars are not scraped: the run could not judge ` +
                    `anything, nothing was changed. Try the queries of \`npm run promote -- --stack ${plan.stack} --dry-run\` in Prometheus. ${this.stateSentence()}`,
            );
        }
        if (deps.interrupt.aborted) {
            return await this.interrupted("before any change");
        }
        if (!plan.allowPendingChanges) {
            let pending: Record<string, number>;
            try {
                pending = await deps.stack.pendingChanges(this.policyRun("preflight", this.inForce).run);
            } catch (e) {
                await this.settle();
                return this.finish(
                    "failed",
                    `the preflight preview of stack ${plan.stack} failed, nothing was changed:\n    ${indented(errorText(e))}\n` +
                        `See \`${this.pulumi("preview")}\`. ${this.stateSentence()}`,
                );
            }
            if (Object.keys(pending).length > 0) {
                await this.settle();
                return this.finish(
                    "failed",
                    `stack ${plan.stack} has pending changes (${changesText(pending)}): a pulumi up would apply more than the weight. ` +
                        `Review them with \`${this.pulumi("preview --diff")}\` and apply them first, or pass --allow-pending-changes. Nothing was changed. ${this.stateSentence()}`,
                );
            }
            deps.ui.line(
                `  the stack is in step with its config (pulumi preview: no changes${plan.policy ? "; the policy pack passes it" : ""})`,
            );
        } else {
            deps.ui.line(
                "  pending-changes check skipped (--allow-pending-changes): the first pulumi up may apply them too; every later step is held to its VirtualServices",
            );
        }
        if (deps.interrupt.aborted) {
            return await this.interrupted("before any change");
        }
        return undefined;
    }

    /**
     * Before any change: does Prometheus have each judged workload's request series at all (none: wrong
     * labels or no scraping, which no amount of waiting fixes), and what is its request rate now (0: no
     * traffic yet)? Returns the selectors of the series that do not exist; a canary at weight 0 that never
     * served a request has none, which is "no traffic yet". A failing query is noted, not held against the run.
     */
    private async surveyTraffic(): Promise<string[]> {
        const { plan, deps } = this;
        const missing: string[] = [];
        const said: string[] = [];
        for (const j of this.judged) {
            const names = workloads(j.name);
            for (const workload of [names.stable, names.canary]) {
                const t = { namespace: plan.namespace, workload };
                const rec: TrafficRecord = { workload, series: false };
                this.report.traffic.push(rec);
                try {
                    rec.series = ((await deps.metrics.query(seriesQuery(t))) ?? 0) > 0;
                    if (!rec.series) {
                        if (workload === names.canary && this.inForce === 0) {
                            said.push(`${workload} no series yet (at weight 0: no traffic yet)`);
                        } else {
                            missing.push(seriesQuery(t).slice("count(istio_requests_total{".length, -2));
                            said.push(`${workload} NO SERIES`);
                        }
                        continue;
                    }
                    rec.ratePerSecond = (await deps.metrics.query(rateQuery(t, plan.intervalSeconds))) ?? 0;
                    said.push(
                        `${workload} ${fmtValue("requests", Math.round(rec.ratePerSecond * 10) / 10)} req/s${rec.ratePerSecond === 0 ? " (no traffic yet)" : ""}`,
                    );
                } catch (e) {
                    rec.error = errorText(e);
                    said.push(`${workload} unknown (${rec.error})`);
                }
            }
        }
        deps.ui.line(`  request rates over the last ${plan.interval}: ${said.join(", ")}`);
        return missing;
    }

    /** Every weight the walk will set, checked against the program's own config validation before any change. */
    private async checkWalk(walk: Step[]): Promise<StepEnd> {
        const { plan, deps } = this;
        const weights = walk.filter((s) => s.needsUp).map((s) => s.weight);
        if (weights.length === 0) {
            return undefined;
        }
        const refused = walkProblems(await deps.stack.rawConfig(), this.key, weights);
        if (refused.length === 0) {
            deps.ui.line(`  the stack's config takes every weight of the walk (${weights.join(", ")})`);
            return undefined;
        }
        const first = refused[0];
        await this.settle();
        return this.finish(
            "failed",
            `stack ${plan.stack}'s config refuses ${this.key} ${refused.map((r) => r.weight).join(", ")} of the walk, nothing was changed:\n` +
                first.problems.map((p) => `    - ${p}`).join("\n") +
                `\n  Change the config first (\`pulumi config set … --stack ${plan.stack}\`), or walk to a lower weight (--steps). ${this.stateSentence()}`,
        );
    }

    /**
     * The policy pack for one preview or up (absent with --no-policy): the stack's pack config with the
     * weights in force before it as canary-weight-step's previousWeights, written to a file of its own.
     */
    private policyRun(name: string, previous: number): { run?: PolicyRun; config?: Record<string, unknown> } {
        const p = this.plan.policy;
        if (!p) {
            return {};
        }
        const config = stepPackConfig(p.config, Object.fromEntries(this.judged.map((j) => [j.name, previous])));
        const configFile = path.join(this.deps.workDir, `${name}.policy-config.json`);
        fs.writeFileSync(configFile, JSON.stringify(config, null, 2) + "\n");
        return { run: { pack: p.pack, configFile }, config };
    }

    // --- the walk ---

    /** --dry-run: the steps the run would take, after the preflight; nothing is changed. */
    private async showPlan(walk: Step[]): Promise<RunReport> {
        await this.settle();
        this.deps.ui.line(
            `  plan: ${walk.map((s) => `${s.n}. ${this.key} ${s.weight}${s.needsUp ? "" : " (in force)"}`).join("; ") || "nothing to do"}`,
        );
        const finish = this.release.finish;
        if (finish && walk.length > 0) {
            this.deps.ui.line(
                this.plan.noFinalize
                    ? `  then: stop at 100 (--no-finalize)`
                    : `  then: finish the release of ${finish.services.map((f) => f.name).join(", ")} (${configText(finish.config)}; one pulumi up)`,
            );
        }
        return this.finish("dry-run", `DRY RUN: nothing was changed. ${this.stateSentence()}`);
    }

    /** Each step in turn; the run is promoted when the last one passes. */
    private async walk(walk: Step[]): Promise<RunReport> {
        if (walk.length === 0) {
            await this.settle();
            return this.finish("promoted", `Nothing to do: ${this.stateSentence()}`);
        }
        const started = this.deps.clock.now();
        for (const [i, step] of walk.entries()) {
            const end = await this.step(step, walk[i + 1]);
            if (end) {
                return end;
            }
        }
        const end = await this.finishRelease();
        if (end) {
            return end;
        }
        await this.settle();
        const finished = this.report.finalize?.up?.changes !== undefined;
        return this.finish(
            "promoted",
            `PROMOTED${finished ? ` and FINISHED (${finishedText(this.release.finish!)})` : ""}: ` +
                `${this.stateSentence()} (${walk.length} step(s) in ${Math.round((this.deps.clock.now() - started) / 1000)} s)`,
        );
    }

    /**
     * At 100, the described services the walk moved have their release finished in ONE config change + up
     * (promote/release.ts `Finish`, docs/services.md): each stable.image := its canary's image, the walked key
     * := 0, each canary.replicas := 0; the program orders that up (stable rolled out, then the route, then the
     * canary scaled down). A release that also moved a demo service stays at 100, and the run says why. A
     * failed up leaves the finished release in the config: the weight is not set back (the program refuses
     * 100 with no canary pods), a plain `pulumi up` applies it.
     */
    private async finishRelease(): Promise<StepEnd> {
        const { ui, stack, interrupt } = this.deps;
        const finish = this.release.finish;
        if (!finish) {
            if (this.release.notFinished) {
                ui.line(`  not finished: ${this.release.notFinished}`);
            }
            return undefined;
        }
        const names = finish.services.map((f) => f.name).join(", ");
        if (this.plan.noFinalize) {
            ui.line(
                `  not finished (--no-finalize): ${names} ${finish.services.length > 1 ? "stay" : "stays"} at 100 with both versions running; ` +
                    `finish with \`${finishCommand(finish, this.plan.stack)}\``,
            );
            return undefined;
        }
        if (!stack.setPaths) {
            throw new Error("the stack driver cannot set config paths: the release is not finished");
        }
        const config = finish.config;
        const rec: NonNullable<RunReport["finalize"]> = { service: names, config };
        this.report.finalize = rec;
        if (interrupt.aborted) {
            return await this.interrupted(`at ${this.key} 100, before finishing the release of ${names}`);
        }
        ui.line(
            `Finishing ${names}: ${configText(config)} (one pulumi up: stable rolled out, then the route, then the canary scaled down) …`,
        );
        await stack.setPaths(Object.entries(config).map(([k, v]): [string, string] => [k, String(v)]));
        this.finalizing = true;
        rec.up = { weight: 0 };
        try {
            const r = await stack.up({
                signal: this.deps.forceStop,
                onOutput: this.deps.onPulumiOutput,
                policy: this.policyRun("finish", 100).run,
            });
            rec.up.changes = r.changes;
            rec.up.seconds = r.seconds;
            ui.line(`  pulumi up: ${changesText(r.changes)} (${r.seconds.toFixed(1)} s)`);
            return undefined;
        } catch (e) {
            rec.up.error = errorText(e);
            ui.line(`  pulumi up FAILED:\n    ${indented(rec.up.error)}`);
            await this.settle();
            return this.finish(
                interrupt.aborted ? "interrupted" : "failed",
                `PROMOTED to 100, but finishing the release of ${names} did not complete: the config holds the finished release; ` +
                    `apply it with \`${this.pulumi("up")}\` (\`${this.pulumi("preview --diff")}\` shows what is left). ${this.stateSentence()}`,
            );
        }
    }

    /**
     * One step: set the weight and `up` (unless it is in force already), then analyse it until a decision;
     * while it is analysed, the next step's preview runs (prepare).
     */
    private async step(step: Step, next?: Step): Promise<StepEnd> {
        this.report.steps.push(step.rec);
        if (this.deps.interrupt.aborted) {
            return await this.interrupted(`before step ${step.n}`);
        }
        if (step.needsUp) {
            const end = await this.setWeightAndUp(step);
            if (end) {
                return end;
            }
        } else {
            this.deps.ui.line(`${step.tag}: already in force, analysing it`);
        }
        if (next?.needsUp) {
            this.prepared = this.prepare(next);
        }
        return await this.analyse(step);
    }

    /**
     * The next step's preview, made while this step is analysed (its interval is mostly waiting), so that
     * the step, once the analysis passes, is the `up` alone: the weight is set in a copy of the stack's
     * config (stageWeight), the preview judges that copy and saves its plan, with the pack config the step
     * would have. At the step the copy becomes the config only if the config is still the one copied
     * (commitStaged), and the up is held to the plan as ever, so the preview check and the one-object rule
     * are the step's own. Never rejects: a failed preparation (a policy refusal too) leaves the step to set
     * the weight and preview at the step, as without it, where the failure is reported as usual.
     */
    private async prepare(step: Step): Promise<Prepared | undefined> {
        const { stack, workDir, clock } = this.deps;
        if (!stack.stageWeight || !stack.commitStaged) {
            return undefined;
        }
        const started = clock.now();
        try {
            const policy = this.policyRun(`step-${step.n}`, this.inForce);
            const planFile = this.planFile(step);
            const staged = await stack.stageWeight(
                step.weight,
                this.weightKey,
                path.join(workDir, `step-${step.n}.config.yaml`),
            );
            const result = await stack.previewPlan({
                planFile,
                policy: policy.run,
                configFile: staged.file,
                signal: this.deps.interrupt,
            });
            return { step: step.n, staged, result, seconds: (clock.now() - started) / 1000 };
        } catch {
            return undefined;
        }
    }

    /** Where the preview of `step` saves its plan, whether it runs ahead (prepare) or at the step. */
    private planFile(step: Step): string {
        return path.join(this.deps.workDir, `step-${step.n}.plan.json`);
    }

    /** The prepared preview for `step`, once its staged config is the stack's (undefined: preview at the step). */
    private async takePrepared(step: Step): Promise<Prepared | undefined> {
        const prepared = await this.prepared;
        this.prepared = undefined;
        if (!prepared || prepared.step !== step.n || !(await this.deps.stack.commitStaged?.(prepared.staged))) {
            return undefined;
        }
        return prepared;
    }

    /** A run that ends during an analysis first lets the next step's preview finish (no other pulumi command meanwhile). */
    private async dropPrepared(): Promise<void> {
        await this.prepared;
        this.prepared = undefined;
    }

    /**
     * canaryWeight = the step's weight, then a preview that saves its plan (the policy pack judging it), the
     * plan held to the step (only the moved services' VirtualServices change), then `pulumi up` constrained
     * to that plan, so nothing that lands in the stack between the preview and the up can ride along, and
     * targeted at those VirtualServices (guard.ts upTargets: the engine leaves every other resource as it
     * is without asking the provider about it). A step that fails ends the run (stepFailed: rolled back once
     * traffic has moved, or held).
     */
    private async setWeightAndUp(step: Step): Promise<StepEnd> {
        const { ui, interrupt, stack } = this.deps;
        const rec: StepPlanRecord = { policyFindings: [] };
        step.rec.plan = rec;
        const policy = this.policyRun(`step-${step.n}`, this.inForce);
        if (policy.config) {
            rec.policyConfig = policy.config;
        }
        const planFile = this.planFile(step);
        const prepared = await this.takePrepared(step);
        if (prepared) {
            this.touched = true;
            rec.preparedSeconds = prepared.seconds;
            ui.line(
                `${step.tag}: previewed while the step before was analysed (${prepared.seconds.toFixed(1)} s, plan saved${policy.run ? ", with the policy pack" : ""}); the config now holds ${this.key} ${step.weight}`,
            );
        } else {
            ui.line(`${step.tag}: pulumi preview (saving its plan${policy.run ? ", with the policy pack" : ""}) …`);
            await stack.setWeight(step.weight, this.weightKey);
            this.touched = true;
        }
        let check: PlanCheck;
        let targets: string[] | undefined;
        let untargetedBecause: string | undefined;
        try {
            const r = prepared?.result ?? (await stack.previewPlan({ planFile, policy: policy.run }));
            rec.policyFindings = r.findings;
            const allowOthers = this.plan.allowPendingChanges && !this.moved;
            const services = this.judged.map((j) => j.name);
            check = checkPlan(r.changes, services, this.plan.namespace, allowOthers);
            rec.check = check;
            // The plan's VirtualServices, unless the up must not be targeted (guard.ts upTargets).
            targets = upTargets(r, check, services, this.plan.namespace);
            untargetedBecause = check.accepted ? undefined : r.targetingProblem;
        } catch (e) {
            rec.error = errorText(e);
            ui.line(`${step.tag}: pulumi preview FAILED:\n    ${indented(rec.error)}`);
            return await this.stepFailed(
                step,
                `the preview of ${this.key} ${step.weight} failed (step ${step.n}/${step.of}), before any change: ${oneLine(rec.error)}`,
                `during the preview of ${this.key} ${step.weight}`,
            );
        }
        for (const f of rec.policyFindings) {
            ui.line(`${step.tag}: policy ${f.policy} (${f.level}): ${f.message}`);
        }
        if (!check.ok) {
            ui.line(`${step.tag}: plan check FAILED: ${planCheckProblem(check)}`);
            return await this.stepFailed(
                step,
                `step ${step.n}/${step.of} (${this.key} ${step.weight}) aborted before any change: besides the weight, ${planCheckProblem(check)}. ` +
                    `The stack's config or program changed since the run started? Review with \`${this.pulumi("preview --diff")}\``,
                `during the preview of ${this.key} ${step.weight}`,
            );
        }
        ui.line(
            `${step.tag}: plan: ${check.planned.join(", ")}${check.accepted ? ` (the pending changes, let through by --allow-pending-changes)` : ", nothing else"}`,
        );
        if (untargetedBecause) {
            ui.line(`${step.tag}: the up is held to the plan but not targeted at it: ${untargetedBecause}`);
        }
        ui.line(`${step.tag}: pulumi up …`);
        const up: UpRecord = { weight: step.weight };
        step.rec.up = up;
        try {
            // No pack on this up: it is held to the plan the pack judged in the preview. The engine checks every
            // resource's goal against that plan before any analyzer would see it, and fails the up on any
            // difference (pkg/resource/deploy step_generator.go, "violates plan", v3.274), so the pack's resource
            // policies would judge the very inputs they passed; its stack policies run after the changes. The
            // pack's start alone is ~1.4 s of the step (docs/development.md "Weight step benchmark").
            const r = await stack.up({
                signal: this.deps.forceStop,
                onOutput: this.deps.onPulumiOutput,
                plan: planFile,
                targets,
                inPlaceRoutesOnly: !check.accepted,
            });
            up.changes = r.changes;
            up.seconds = r.seconds;
            this.moved = true;
            this.inForce = step.weight;
            ui.line(`${step.tag}: pulumi up: ${changesText(r.changes)} (${r.seconds.toFixed(1)} s)`);
        } catch (e) {
            up.error = errorText(e);
            ui.line(`${step.tag}: pulumi up FAILED:\n    ${indented(up.error)}`);
            return await this.stepFailed(
                step,
                `pulumi up to ${this.key} ${step.weight} failed (step ${step.n}/${step.of})`,
                `during pulumi up to ${this.key} ${step.weight}`,
            );
        }
        if (interrupt.aborted) {
            return await this.interrupted(`after pulumi up to ${this.key} ${step.weight}, before its analysis`);
        }
        return undefined;
    }

    /**
     * A step that failed before its analysis (preview, policy, plan check or up). Once traffic has moved (the
     * state applies a weight above 0), --on-error rollback (the default) rolls back to 0; hold leaves it.
     */
    private async stepFailed(step: Step, why: string, where: string): Promise<RunReport> {
        if (this.deps.interrupt.aborted) {
            return await this.interrupted(where);
        }
        await this.settle();
        const applied = this.report.appliedWeight;
        const hold = this.plan.onError === "hold";
        if (!hold && applied !== null && applied > 0) {
            return await this.rollback(applied, why, "failed");
        }
        return this.finish(
            "failed",
            `${why}; no further step was taken. ${this.stateSentence()}` +
                (hold && applied !== null && applied > 0
                    ? ` (--on-error hold; roll back with \`${this.setCommand(0)} && ${this.pulumi("up")}\`)`
                    : ""),
        );
    }

    /** Interval after interval: wait, judge, decide; until the step advances or the run ends. */
    private async analyse(step: Step): Promise<StepEnd> {
        for (let attempt = 1; ; attempt++) {
            const window = await this.waitInterval(step, attempt);
            if (!window) {
                await this.dropPrepared();
                return await this.interrupted(`while analysing ${this.key} ${step.weight}`);
            }
            const judgements: Array<Judgement & { service: string }> = [];
            for (const s of this.judged) {
                judgements.push({ service: s.name, ...(await this.judge(s.queries, step, window)) });
            }
            const a = this.decide(step, attempt, window, judgements);
            if (a.action === "advance") {
                return undefined;
            }
            if (a.action === "wait") {
                this.deps.ui.line(
                    `${step.tag}: waiting another interval (${attempt} of ${this.plan.maxWaitIntervals} extra)`,
                );
                continue;
            }
            await this.dropPrepared();
            return a.action === "rollback" ? await this.rollbackStep(step, a) : await this.halt(step, a);
        }
    }

    /** Waits one interval, counting down; undefined when interrupted. */
    private async waitInterval(step: Step, attempt: number): Promise<Window | undefined> {
        const { plan, deps } = this;
        const { clock, interrupt } = deps;
        const start = clock.now();
        const label = `${step.tag}: interval ${attempt}${plan.maxWaitIntervals > 0 ? ` of up to ${plan.maxWaitIntervals + 1}` : ""}`;
        const end = start + plan.intervalSeconds * 1000;
        for (let left = plan.intervalSeconds; left > 0 && !interrupt.aborted;) {
            deps.ui.countdown(label, left, plan.intervalSeconds);
            await clock.sleep(Math.min(1000, end - clock.now()), interrupt);
            left = Math.max(0, Math.ceil((end - clock.now()) / 1000));
        }
        if (interrupt.aborted) {
            return undefined;
        }
        return { start, end: clock.now() };
    }

    /**
     * Judges one service's canary over the interval that just ended, against the thresholds and (with a delta
     * threshold) its stable version. Metrics lost mid-run count as "not enough data": bounded by
     * --max-wait-intervals, then --on-no-data decides, exactly as for a quiet service (the probe already
     * proved the URL). It takes the service's queries rather than reading the run's, so a step that judges
     * several services calls it once per service.
     */
    private async judge(service: ServiceQueries, step: Step, window: Window): Promise<Judgement> {
        const { thresholds } = this.plan;
        const at = window.end / 1000;
        const j: Judgement = { canary: null, stable: null, checks: [], verdict: "no-data" };
        try {
            j.canary = await this.sample(service.canary, at);
            const compare = thresholds.maxErrorRateDelta !== undefined || thresholds.maxP99DeltaMs !== undefined;
            try {
                j.stable = await this.sample(service.stable, at);
            } catch (e) {
                if (compare) {
                    throw e; // the comparison needs them: no data
                }
                // Without a comparison the stable numbers are context only: carry on without them.
                j.stable = null;
                this.deps.ui.line(`${step.tag}: (stable version's metrics unavailable: ${errorText(e)})`);
            }
            const ev = evaluate(j.canary, j.stable ?? undefined, thresholds, step.weight);
            j.checks = ev.checks;
            j.verdict = ev.verdict;
        } catch (e) {
            j.error = errorText(e);
            j.verdict = "no-data";
        }
        return j;
    }

    /** One workload's numbers at `time`; a failing query is retried once. */
    private async sample(q: Queries, time: number): Promise<Sample> {
        const { metrics, clock, interrupt } = this.deps;
        const run = async (): Promise<Sample> => {
            const [requests, errors, p99] = [
                await metrics.query(q.requests, time),
                await metrics.query(q.errors, time),
                await metrics.query(q.p99, time),
            ];
            return { requests: requests ?? 0, errors: errors ?? 0, p99Ms: p99 };
        };
        try {
            return await run();
        } catch {
            await clock.sleep(this.retryDelay, interrupt);
            return run();
        }
    }

    /** What to do after this interval (advance, wait, roll back, halt): recorded in the step and logged. */
    private decide(
        step: Step,
        attempt: number,
        window: Window,
        js: Array<Judgement & { service: string }>,
    ): AnalysisRecord {
        if (js.length > 1) {
            return this.decideForAll(step, attempt, window, js);
        }
        const j = js[0];
        const a: AnalysisRecord = {
            attempt,
            windowStart: new Date(window.start).toISOString(),
            windowEnd: new Date(window.end).toISOString(),
            canary: j.canary,
            stable: j.stable,
            checks: j.checks,
            verdict: j.verdict,
            action: nextAction(j.verdict, attempt, this.plan.maxWaitIntervals, this.plan.onNoData),
        };
        if (j.error !== undefined) {
            a.error = j.error;
        }
        step.rec.analyses.push(a);
        const why =
            a.verdict === "pass"
                ? "PASS"
                : a.verdict === "fail"
                  ? `FAIL: ${failedChecks(a).map(describeServiceCheck).join("; ")}`
                  : `NOT ENOUGH DATA: ${noDataReason(a, `Prometheus query failed: ${a.error}`)}`;
        this.deps.ui.line(
            `${step.tag}: ${describeSample("canary", a.canary)} | ${describeSample("stable", a.stable)} -> ${why}`,
        );
        return a;
    }

    /** A step that moved several services: each is judged and logged; the step passes when all of them pass. */
    private decideForAll(
        step: Step,
        attempt: number,
        window: Window,
        js: Array<Judgement & { service: string }>,
    ): AnalysisRecord {
        const services: ServiceVerdict[] = js.map((j) => ({
            service: j.service,
            canary: j.canary,
            stable: j.stable,
            checks: j.checks,
            verdict: j.verdict,
            ...(j.error !== undefined ? { error: j.error } : {}),
        }));
        const verdict = stepVerdict(js.map((j) => j.verdict));
        const errors = js.filter((j) => j.error !== undefined).map((j) => `${j.service}: ${j.error}`);
        const a: AnalysisRecord = {
            attempt,
            windowStart: new Date(window.start).toISOString(),
            windowEnd: new Date(window.end).toISOString(),
            canary: null,
            stable: null,
            checks: js.flatMap((j) => j.checks.map((c): ServiceCheck => ({ ...c, service: j.service }))),
            verdict,
            action: nextAction(verdict, attempt, this.plan.maxWaitIntervals, this.plan.onNoData),
            services,
        };
        if (errors.length > 0) {
            a.error = errors.join("; ");
        }
        step.rec.analyses.push(a);
        for (const v of services) {
            const why =
                v.verdict === "pass"
                    ? "PASS"
                    : v.verdict === "fail"
                      ? `FAIL: ${v.checks
                            .filter((c) => c.status === "fail")
                            .map(describeServiceCheck)
                            .join("; ")}`
                      : `NOT ENOUGH DATA: ${
                            v.error !== undefined
                                ? `Prometheus query failed: ${v.error}`
                                : v.checks
                                      .filter((c) => c.status === "no-data")
                                      .map(describeServiceCheck)
                                      .join("; ")
                        }`;
            this.deps.ui.line(
                `${step.tag}: ${v.service}: ${describeSample("canary", v.canary)} | ${describeSample("stable", v.stable)} -> ${why}`,
            );
        }
        this.deps.ui.line(
            `${step.tag}: ${verdict === "pass" ? "PASS" : verdict === "fail" ? "FAIL" : "NOT ENOUGH DATA"} (${services.filter((v) => v.verdict === "pass").length} of ${services.length} services pass)`,
        );
        return a;
    }

    // --- the ways a run ends ---

    /** The step failed (or lacked data with --on-no-data rollback): back to canaryWeight 0. */
    private async rollbackStep(step: Step, a: AnalysisRecord): Promise<RunReport> {
        const failed = failedChecks(a);
        this.report.failedChecks = a.verdict === "fail" ? failed : missingChecks(a);
        const reason =
            a.verdict === "fail"
                ? `${failed.map(describeServiceCheck).join("; ")} at ${this.key} ${step.weight} (step ${step.n}/${step.of})`
                : `not enough data after ${a.attempt} intervals at ${this.key} ${step.weight} (${noDataReason(a, "Prometheus query failed")}), --on-no-data rollback`;
        return await this.rollback(step.weight, reason);
    }

    /** Not enough data with --on-no-data halt: the weight stays where it is. */
    private async halt(step: Step, a: AnalysisRecord): Promise<RunReport> {
        this.report.failedChecks = missingChecks(a);
        await this.settle();
        return this.finish(
            "halted",
            `HALTED at ${this.key} ${step.weight} (step ${step.n}/${step.of}): not enough data after ${a.attempt} intervals (${noDataReason(a, `Prometheus query failed: ${a.error}`)}). ` +
                `${this.stateSentence()} Resume with the same command once there is traffic, or roll back with \`${this.setCommand(0)} && ${this.pulumi("up")}\`.`,
        );
    }

    /** canaryWeight 0 + up, retried once: the one operation that must not be given up lightly. */
    private async rollback(from: number, why: string, outcomeIfOk: Outcome = "rolled-back"): Promise<RunReport> {
        const { ui, clock, forceStop } = this.deps;
        ui.line(`Rolling back: ${this.key} ${from} -> 0 (${why})`);
        const rec: RunReport["rollback"] = { weight: 0, attempts: 0 };
        this.report.rollback = rec;
        for (let attempt = 1; attempt <= 2; attempt++) {
            rec.attempts = attempt;
            try {
                const r = await this.rollbackUp();
                rec.targets = r.targets;
                rec.changes = r.changes;
                rec.seconds = r.seconds;
                delete rec.error;
                ui.line(`  pulumi up: ${changesText(r.changes)} (${r.seconds.toFixed(1)} s)`);
                break;
            } catch (e) {
                rec.error = errorText(e);
                ui.line(`  pulumi up FAILED (attempt ${attempt} of 2):\n    ${indented(rec.error)}`);
                if (attempt < 2 && !forceStop?.aborted) {
                    await clock.sleep(this.retryDelay * 2);
                }
            }
        }
        await this.settle();
        if (rec.error !== undefined) {
            return this.finish(
                "failed",
                `ROLLBACK FAILED after ${why}. ${this.stateSentence()} Roll back by hand now: \`${this.setCommand(0)} && ${this.pulumi("up")}\`.`,
            );
        }
        return this.finish(outcomeIfOk, `ROLLED BACK from ${this.key} ${from}: ${why}. ${this.stateSentence()}`);
    }

    /** Ctrl-C / SIGTERM: stop here, say the weight in force. */
    private async interrupted(where: string): Promise<RunReport> {
        await this.settle();
        return this.finish(
            "interrupted",
            `INTERRUPTED ${where}. ${this.stateSentence()} Resume with the same command; roll back with \`${this.setCommand(0)} && ${this.pulumi("up")}\`.`,
        );
    }

    // --- the stack and the report ---

    /** The key the walk moves, as the stack driver takes it. */
    private get weightKey(): { key: string; path: boolean } {
        return { key: this.key, path: this.release.weightKeyIsPath };
    }

    /**
     * The weight 0 and an up targeted at the moved services' VirtualServices (`pulumi up --target`): a change
     * that landed in the config during the run is not applied with it. Without the policy pack: a rollback
     * must not be refused (canary-weight-step only limits raising a weight anyway).
     */
    // Targeted without a preview's targetingProblem check (stack.ts): a rollback only follows an up of this
    // run that moved traffic, and that up either was untargeted (recording the program's order) or found no
    // problem, so the state's order is the program's.
    private async rollbackUp(): Promise<UpResult & { targets?: string[] }> {
        const { stack } = this.deps;
        const urns = await stack.virtualServiceUrns(
            this.judged.map((j) => j.name),
            this.plan.namespace,
        );
        await stack.setWeight(0, this.weightKey);
        this.touched = true;
        const targets = urns.length > 0 ? urns : undefined;
        const r = await stack.up({
            signal: this.deps.forceStop,
            onOutput: this.deps.onPulumiOutput,
            targets,
            inPlaceRoutesOnly: targets !== undefined,
        });
        return { ...r, targets };
    }

    /** Reads back the weight in force; after a failed/interrupted up of ours, realigns the config with the state. */
    private async settle(): Promise<void> {
        const { stack } = this.deps;
        const report = this.report;
        try {
            const configured = await stack.configuredWeight(this.weightKey);
            const applied = await stack.appliedWeight(this.judged[0].name, this.plan.namespace, CANARY_SUBSET);
            report.appliedWeight = applied ?? null;
            report.weightInForce = configured;
            if (this.finalizing && applied !== undefined && applied !== configured) {
                report.notes.push(
                    `config ${this.key} is ${configured} (the finished release) but the state applies ${applied}: \`${this.pulumi("up")}\` applies the rest`,
                );
            } else if (this.touched && applied !== undefined && applied !== configured) {
                await stack.setWeight(applied, this.weightKey);
                report.weightInForce = applied;
                // (printed with the other notes at the end of the run)
                report.notes.push(
                    `config ${this.key} set back from ${configured} to ${applied}, the weight the stack's state says is applied`,
                );
            } else if (applied !== undefined && applied !== configured) {
                report.notes.push(
                    `config ${this.key} is ${configured} but the state applies ${applied}: a pending change, not made by this run`,
                );
            }
        } catch (e) {
            report.notes.push(`could not read the weight in force back from the stack: ${errorText(e)}`);
        }
    }

    /** The weight in force, for the final message (read by `settle`). */
    private stateSentence(): string {
        const { weightInForce, appliedWeight } = this.report;
        if (weightInForce === null) {
            return `The weight in force could not be read back: check \`${this.getCommand()}\` and \`${this.pulumi("stack export")}\`.`;
        }
        return appliedWeight !== null && appliedWeight !== weightInForce
            ? `${this.key} ${weightInForce} is configured, ${appliedWeight} is applied (a pending change: check \`${this.pulumi("preview --diff")}\`).`
            : `${this.key} ${weightInForce} is in force.`;
    }

    private finish(outcome: Outcome, message: string): RunReport {
        this.report.outcome = outcome;
        this.report.exitCode = EXIT_CODES[outcome];
        this.report.message = message;
        return this.report;
    }
}

/** A finishing config change as the log lines show it: "services[1].stable.image := reg/x:1.1, …". */
const configText = (config: Record<string, string | number>): string =>
    Object.entries(config)
        .map(([k, v]) => `${k} := ${v}`)
        .join(", ");

/** A check, named by its service when the step judged several. */
const describeServiceCheck = (c: ServiceCheck): string => (c.service ? `${c.service}: ` : "") + describeCheck(c);

const failedChecks = (a: AnalysisRecord): Check[] => a.checks.filter((c) => c.status === "fail");
const missingChecks = (a: AnalysisRecord): Check[] => a.checks.filter((c) => c.status === "no-data");

/** Why an interval lacked data: the query error (worded by the caller) or the checks without data. */
function noDataReason(a: AnalysisRecord, queryFailed: string): string {
    return a.error ? queryFailed : missingChecks(a).map(describeServiceCheck).join("; ");
}
