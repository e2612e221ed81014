/**
 * One promotion run: preflight (Prometheus answers, the stack has no pending changes), then for each step
 * set canaryWeight + `up`, wait the interval, judge the canary, and advance, wait for data, halt or roll
 * back. Everything it touches comes in through `Deps`, so tests/promote/run.test.ts drives it with a fake
 * stack, fake metrics and a fake clock.
 *
 * Invariants a release engineer relies on:
 * - The weight is only ever changed through the stack config + `up` (never behind Pulumi's back).
 * - Nothing is changed before Prometheus has answered a probe and the stack has been found in step with
 *   its config: a run that cannot judge must not start moving traffic.
 * - Whatever happens (failed `up`, interrupt, crash), the run ends by stating the weight in force, read back
 *   from the stack; if this run changed the config and an `up` did not apply it, the config is set back to
 *   the weight the state says is applied, so `pulumi config get canaryWeight` stays the truth.
 */
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
import type { Plan } from "./options";
import { buildQueries, Queries, workloads } from "./promql";
import type { StackDriver, UpResult } from "./stack";

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
}

export interface StepRecord {
    step: number;
    of: number;
    weight: number;
    /** Absent when the weight was already in force (analysed without an up). */
    up?: UpRecord;
    analyses: AnalysisRecord[];
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
    };
    queries: { canary: Queries; stable: Queries };
    dryRun: boolean;
    startedAt: string;
    finishedAt?: string;
    startWeight: number | null;
    plannedWeights: number[];
    steps: StepRecord[];
    rollback?: UpRecord & { attempts: number };
    outcome?: Outcome;
    exitCode?: number;
    message?: string;
    /** The checks that failed the step that was rolled back, or that lacked data when it halted. */
    failedChecks?: Check[];
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
 * ("code: … stdout: … stderr: … err?: …", the command line twice); its `error:` lines say what failed. Other
 * errors are kept, cut to their last lines.
 */
export function errorText(e: unknown): string {
    const msg = (e instanceof Error ? e.message : String(e)).trim();
    const lines = msg.split("\n").filter((l) => l.trim() !== "");
    if (/^code: -?\d+/.test(msg)) {
        const errors = [...new Set(lines.map((l) => l.trim()).filter((l) => /^error:/.test(l)))];
        if (errors.length > 0) {
            return errors.slice(0, 6).join("\n");
        }
    }
    return lines.length > 12 ? ["…", ...lines.slice(-12)].join("\n") : lines.join("\n");
}

export async function runPromotion(plan: Plan, deps: Deps): Promise<RunReport> {
    const { stack, metrics, clock, ui } = deps;
    const names = workloads(plan.service);
    const queries = {
        canary: buildQueries({ namespace: plan.namespace, workload: names.canary }, plan.intervalSeconds),
        stable: buildQueries({ namespace: plan.namespace, workload: names.stable }, plan.intervalSeconds),
    };
    const report: RunReport = {
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
        },
        queries,
        dryRun: plan.dryRun,
        startedAt: new Date(clock.now()).toISOString(),
        startWeight: null,
        plannedWeights: [],
        steps: [],
        weightInForce: null,
        appliedWeight: null,
        notes: [],
    };
    /** Set once this run has written canaryWeight: only then may it reconcile the config with the state. */
    let touched = false;
    const retryDelay = deps.retryDelayMs ?? 2000;

    const finish = (outcome: Outcome, message: string): RunReport => {
        report.outcome = outcome;
        report.exitCode = EXIT_CODES[outcome];
        report.message = message;
        return report;
    };

    /** Reads back the weight in force; after a failed/interrupted up of ours, realigns the config with the state. */
    const settle = async (): Promise<void> => {
        try {
            const configured = await stack.configuredWeight();
            const applied = await stack.appliedWeight(plan.service, plan.namespace, CANARY_SUBSET);
            report.appliedWeight = applied ?? null;
            report.weightInForce = configured;
            if (touched && applied !== undefined && applied !== configured) {
                await stack.setWeight(applied);
                report.weightInForce = applied;
                // (printed with the other notes at the end of the run)
                report.notes.push(
                    `config canaryWeight set back from ${configured} to ${applied}, the weight the stack's state says is applied`,
                );
            } else if (applied !== undefined && applied !== configured) {
                report.notes.push(
                    `config canaryWeight is ${configured} but the state applies ${applied}: a pending change, not made by this run`,
                );
            }
        } catch (e) {
            report.notes.push(`could not read the weight in force back from the stack: ${errorText(e)}`);
        }
    };

    const stateSentence = (): string => {
        if (report.weightInForce === null) {
            return "The weight in force could not be read back: check `pulumi config get canaryWeight` and `pulumi stack export`.";
        }
        const applied = report.appliedWeight;
        return applied !== null && applied !== report.weightInForce
            ? `canaryWeight ${report.weightInForce} is configured, ${applied} is applied (a pending change: check \`pulumi preview --diff\`).`
            : `canaryWeight ${report.weightInForce} is in force.`;
    };

    const doUp = async (weight: number): Promise<UpResult> => {
        await stack.setWeight(weight);
        touched = true;
        return stack.up({ signal: deps.forceStop, onOutput: deps.onPulumiOutput });
    };

    const interrupted = async (where: string): Promise<RunReport> => {
        await settle();
        return finish(
            "interrupted",
            `INTERRUPTED ${where}. ${stateSentence()} Resume with the same command; roll back with \`pulumi config set canaryWeight 0 && pulumi up\`.`,
        );
    };

    /** canaryWeight 0 + up, retried once: the one operation that must not be given up lightly. */
    const rollback = async (from: number, why: string, outcomeIfOk: Outcome = "rolled-back"): Promise<RunReport> => {
        ui.line(`Rolling back: canaryWeight ${from} -> 0 (${why})`);
        const rec: RunReport["rollback"] = { weight: 0, attempts: 0 };
        report.rollback = rec;
        for (let attempt = 1; attempt <= 2; attempt++) {
            rec.attempts = attempt;
            try {
                const r = await doUp(0);
                rec.changes = r.changes;
                rec.seconds = r.seconds;
                delete rec.error;
                ui.line(`  pulumi up: ${changesText(r.changes)} (${r.seconds.toFixed(1)} s)`);
                break;
            } catch (e) {
                rec.error = errorText(e);
                ui.line(`  pulumi up FAILED (attempt ${attempt} of 2):\n    ${rec.error.split("\n").join("\n    ")}`);
                if (attempt < 2 && !deps.forceStop?.aborted) {
                    await clock.sleep(retryDelay * 2);
                }
            }
        }
        await settle();
        if (rec.error !== undefined) {
            return finish(
                "failed",
                `ROLLBACK FAILED after ${why}. ${stateSentence()} Roll back by hand now: \`pulumi config set canaryWeight 0 && pulumi up --stack ${plan.stack}\`.`,
            );
        }
        return finish(outcomeIfOk, `ROLLED BACK from canaryWeight ${from}: ${why}. ${stateSentence()}`);
    };

    /** One workload's numbers at `time`; a failing query is retried once. */
    const sample = async (q: Queries, time: number): Promise<Sample> => {
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
            await clock.sleep(retryDelay, deps.interrupt);
            return run();
        }
    };

    try {
        const start = await stack.configuredWeight();
        report.startWeight = start;
        const walk = plannedWeights(start, plan.steps);
        report.plannedWeights = walk.map((w) => w.weight);
        const t = plan.thresholds;
        ui.line(
            `Promoting stack ${plan.stack}: service ${plan.service} (namespace ${plan.namespace}), canaryWeight ${[start, ...walk.filter((w) => w.needsUp).map((w) => w.weight)].join(" -> ")}`,
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
                `  canaryWeight ${start} is already in force: it is analysed first, before any more traffic is moved`,
            );
        }
        ui.line(`  Prometheus ${plan.prometheusUrl} (${plan.prometheusUrlSource}; ${deps.prometheusAuth})`);
        if (plan.dryRun) {
            ui.line(
                `  queries (canary ${names.canary}; the same for stable ${names.stable}), evaluated at the end of each interval:`,
            );
            for (const [k, q] of Object.entries(queries.canary)) {
                ui.line(`    ${k.padEnd(8)} ${q}`);
            }
        }

        // --- preflight: nothing changes unless the run can judge what it does ---
        try {
            await metrics.probe();
            ui.line("  Prometheus answers");
        } catch (e) {
            await settle();
            return finish(
                "failed",
                `Prometheus is not usable, nothing was changed: ${errorText(e)}. ${stateSentence()}`,
            );
        }
        if (deps.interrupt.aborted) {
            return await interrupted("before any change");
        }
        if (!plan.allowPendingChanges) {
            const pending = await stack.pendingChanges();
            if (Object.keys(pending).length > 0) {
                await settle();
                return finish(
                    "failed",
                    `stack ${plan.stack} has pending changes (${changesText(pending)}): a pulumi up would apply more than the weight. ` +
                        `Review them with \`pulumi preview --diff\` and apply them first, or pass --allow-pending-changes. Nothing was changed. ${stateSentence()}`,
                );
            }
            ui.line("  the stack is in step with its config (pulumi preview: no changes)");
        } else {
            ui.line(
                "  pending-changes check skipped (--allow-pending-changes): each pulumi up applies whatever the config says",
            );
        }
        if (deps.interrupt.aborted) {
            return await interrupted("before any change");
        }
        if (plan.dryRun) {
            await settle();
            ui.line(
                `  plan: ${walk.map((w, i) => `${i + 1}. canaryWeight ${w.weight}${w.needsUp ? "" : " (in force)"}`).join("; ") || "nothing to do"}`,
            );
            return finish("dry-run", `DRY RUN: nothing was changed. ${stateSentence()}`);
        }
        if (walk.length === 0) {
            await settle();
            return finish("promoted", `Nothing to do: ${stateSentence()}`);
        }

        const started = clock.now();
        for (const [i, w] of walk.entries()) {
            const tag = `[${i + 1}/${walk.length}] canaryWeight ${w.weight}`;
            const rec: StepRecord = { step: i + 1, of: walk.length, weight: w.weight, analyses: [] };
            report.steps.push(rec);
            if (deps.interrupt.aborted) {
                return await interrupted(`before step ${i + 1}`);
            }
            if (w.needsUp) {
                ui.line(`${tag}: pulumi up …`);
                rec.up = { weight: w.weight };
                try {
                    const r = await doUp(w.weight);
                    rec.up.changes = r.changes;
                    rec.up.seconds = r.seconds;
                    ui.line(`${tag}: pulumi up: ${changesText(r.changes)} (${r.seconds.toFixed(1)} s)`);
                } catch (e) {
                    rec.up.error = errorText(e);
                    ui.line(`${tag}: pulumi up FAILED:\n    ${rec.up.error.split("\n").join("\n    ")}`);
                    if (deps.interrupt.aborted) {
                        return await interrupted(`during pulumi up to canaryWeight ${w.weight}`);
                    }
                    await settle();
                    return finish(
                        "failed",
                        `pulumi up to canaryWeight ${w.weight} failed (step ${i + 1}/${walk.length}); no further step was taken. ${stateSentence()}`,
                    );
                }
                if (deps.interrupt.aborted) {
                    return await interrupted(`after pulumi up to canaryWeight ${w.weight}, before its analysis`);
                }
            } else {
                ui.line(`${tag}: already in force, analysing it`);
            }

            for (let attempt = 1; ; attempt++) {
                const windowStart = clock.now();
                const label = `${tag}: interval ${attempt}${plan.maxWaitIntervals > 0 ? ` of up to ${plan.maxWaitIntervals + 1}` : ""}`;
                const end = windowStart + plan.intervalSeconds * 1000;
                for (let left = plan.intervalSeconds; left > 0 && !deps.interrupt.aborted;) {
                    ui.countdown(label, left, plan.intervalSeconds);
                    await clock.sleep(Math.min(1000, end - clock.now()), deps.interrupt);
                    left = Math.max(0, Math.ceil((end - clock.now()) / 1000));
                }
                if (deps.interrupt.aborted) {
                    return await interrupted(`while analysing canaryWeight ${w.weight}`);
                }
                const windowEnd = clock.now();
                const a: AnalysisRecord = {
                    attempt,
                    windowStart: new Date(windowStart).toISOString(),
                    windowEnd: new Date(windowEnd).toISOString(),
                    canary: null,
                    stable: null,
                    checks: [],
                    verdict: "no-data",
                    action: "wait",
                };
                rec.analyses.push(a);
                try {
                    a.canary = await sample(queries.canary, windowEnd / 1000);
                    const compare =
                        plan.thresholds.maxErrorRateDelta !== undefined || plan.thresholds.maxP99DeltaMs !== undefined;
                    try {
                        a.stable = await sample(queries.stable, windowEnd / 1000);
                    } catch (e) {
                        if (compare) {
                            throw e; // the comparison needs them: no data
                        }
                        // Without a comparison the stable numbers are context only: carry on without them.
                        a.stable = null;
                        ui.line(`${tag}: (stable version's metrics unavailable: ${errorText(e)})`);
                    }
                    const ev = evaluate(a.canary, a.stable ?? undefined, plan.thresholds, w.weight);
                    a.checks = ev.checks;
                    a.verdict = ev.verdict;
                } catch (e) {
                    // Metrics lost mid-run count as "not enough data": bounded by --max-wait-intervals, then
                    // --on-no-data decides, exactly as for a quiet service. The probe already proved the URL.
                    a.error = errorText(e);
                    a.verdict = "no-data";
                }
                a.action = nextAction(a.verdict, attempt, plan.maxWaitIntervals, plan.onNoData);
                const failed = a.checks.filter((c) => c.status === "fail");
                const missing = a.checks.filter((c) => c.status === "no-data");
                const why =
                    a.verdict === "pass"
                        ? "PASS"
                        : a.verdict === "fail"
                          ? `FAIL: ${failed.map(describeCheck).join("; ")}`
                          : `NOT ENOUGH DATA: ${a.error ? `Prometheus query failed: ${a.error}` : missing.map(describeCheck).join("; ")}`;
                ui.line(
                    `${tag}: ${describeSample("canary", a.canary)} | ${describeSample("stable", a.stable)} -> ${why}`,
                );
                if (a.action === "advance") {
                    break;
                }
                if (a.action === "wait") {
                    ui.line(`${tag}: waiting another interval (${attempt} of ${plan.maxWaitIntervals} extra)`);
                    continue;
                }
                if (a.action === "rollback") {
                    report.failedChecks = a.verdict === "fail" ? failed : missing;
                    const reason =
                        a.verdict === "fail"
                            ? `${failed.map(describeCheck).join("; ")} at canaryWeight ${w.weight} (step ${i + 1}/${walk.length})`
                            : `not enough data after ${attempt} intervals at canaryWeight ${w.weight} (${a.error ? "Prometheus query failed" : missing.map(describeCheck).join("; ")}), --on-no-data rollback`;
                    return await rollback(w.weight, reason);
                }
                // halt
                report.failedChecks = missing;
                await settle();
                return finish(
                    "halted",
                    `HALTED at canaryWeight ${w.weight} (step ${i + 1}/${walk.length}): not enough data after ${attempt} intervals (${a.error ? `Prometheus query failed: ${a.error}` : missing.map(describeCheck).join("; ")}). ` +
                        `${stateSentence()} Resume with the same command once there is traffic, or roll back with \`pulumi config set canaryWeight 0 && pulumi up\`.`,
                );
            }
        }
        await settle();
        return finish(
            "promoted",
            `PROMOTED: ${stateSentence()} (${walk.length} step(s) in ${Math.round((clock.now() - started) / 1000)} s)`,
        );
    } catch (e) {
        await settle();
        return finish("failed", `unexpected error: ${errorText(e)}. ${stateSentence()}`);
    } finally {
        report.finishedAt = new Date(clock.now()).toISOString();
    }
}
