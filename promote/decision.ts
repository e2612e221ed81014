/**
 * The promotion's decisions, pure: given what Prometheus measured over one analysis interval, does the step
 * pass, fail, or lack data; and what to do next. No I/O, no clock: tests/promote/decision.test.ts.
 */
import type { OnNoData } from "../config/promotion";

/** One workload's numbers over one interval. `p99Ms` is undefined when the histogram had no samples. */
export interface Sample {
    requests: number;
    errors: number;
    p99Ms?: number;
}

export interface Thresholds {
    maxErrorRate: number;
    maxP99Ms: number;
    minRequests: number;
    maxErrorRateDelta?: number;
    maxP99DeltaMs?: number;
}

export type Metric = "requests" | "errorRate" | "p99Ms" | "errorRateDelta" | "p99DeltaMs";
export type CheckStatus = "pass" | "fail" | "no-data" | "skipped";

export interface Check {
    metric: Metric;
    /** The measured value (a ratio for error rates, ms for latencies); null when it could not be measured. */
    value: number | null;
    /** The limit it is held to: a minimum for `requests`, a maximum for the others. */
    threshold: number;
    status: CheckStatus;
    /** Why a check has no data or was skipped. */
    note?: string;
}

export type Verdict = "pass" | "fail" | "no-data";

export interface Evaluation {
    verdict: Verdict;
    checks: Check[];
}

/** Error ratio of a sample, or null without requests. */
export function errorRate(s: Sample): number | null {
    return s.requests > 0 ? s.errors / s.requests : null;
}

/**
 * Judges one interval of the canary (and, when a delta threshold is set, of the stable version over the
 * same interval).
 * - Fewer canary requests than `minRequests` is "not enough data" for every check: a verdict on a handful
 *   of requests is noise either way, and never counts as success.
 * - With enough requests, any failed check fails the step, even if another check lacks data (a clear 5xx
 *   spike is not excused by a missing latency histogram); otherwise any check without data makes the
 *   interval "not enough data"; otherwise the step passes.
 * - Comparison with the stable version (deltas): the stable version needs `minRequests` too, except at
 *   weight 100, where it gets no traffic by design and the comparison is skipped (said in the check).
 */
export function evaluate(canary: Sample, stable: Sample | undefined, t: Thresholds, weight: number): Evaluation {
    const enough = canary.requests >= t.minRequests;
    /** Too few canary requests: every check lacks data (a skipped comparison stays skipped). */
    const gate = (c: Check): Check =>
        enough || c.status === "skipped" ? c : { ...c, status: "no-data", note: c.note ?? "not enough requests" };
    const checks: Check[] = [
        {
            metric: "requests",
            value: canary.requests,
            threshold: t.minRequests,
            status: enough ? "pass" : "no-data",
            note: enough ? undefined : "not enough data: too few canary requests in the interval",
        },
        gate(limitCheck("errorRate", errorRate(canary), t.maxErrorRate, "no requests")),
        gate(limitCheck("p99Ms", canary.p99Ms ?? null, t.maxP99Ms, "no latency histogram samples")),
        ...comparisonChecks(canary, stable, t, weight).map(gate),
    ];
    return { verdict: verdictOf(checks), checks };
}

/** The canary against the stable version over the same interval: one check per delta threshold that is set. */
function comparisonChecks(canary: Sample, stable: Sample | undefined, t: Thresholds, weight: number): Check[] {
    const stableNote =
        weight >= 100
            ? "skipped: at weight 100 the stable version gets no traffic"
            : !stable || stable.requests < t.minRequests
              ? `stable version has ${stable?.requests === undefined ? "no" : fmtNumber(stable.requests)} requests (< ${t.minRequests})`
              : undefined;
    const delta = (
        metric: Metric,
        c: number | null,
        s: number | null | undefined,
        threshold: number,
        missing: string,
    ): Check => {
        if (stableNote) {
            return { metric, value: null, threshold, status: weight >= 100 ? "skipped" : "no-data", note: stableNote };
        }
        return limitCheck(metric, c !== null && s !== null && s !== undefined ? c - s : null, threshold, missing);
    };
    const checks: Check[] = [];
    if (t.maxErrorRateDelta !== undefined) {
        const stableRate = stable ? errorRate(stable) : null;
        checks.push(delta("errorRateDelta", errorRate(canary), stableRate, t.maxErrorRateDelta, "no requests"));
    }
    if (t.maxP99DeltaMs !== undefined) {
        const missing = "no latency histogram samples";
        checks.push(delta("p99DeltaMs", canary.p99Ms ?? null, stable?.p99Ms, t.maxP99DeltaMs, missing));
    }
    return checks;
}

/** Any failed check fails the interval; otherwise any check without data makes it "not enough data". */
function verdictOf(checks: Check[]): Verdict {
    return checks.some((c) => c.status === "fail")
        ? "fail"
        : checks.some((c) => c.status === "no-data")
          ? "no-data"
          : "pass";
}

function limitCheck(metric: Metric, value: number | null, threshold: number, missing: string): Check {
    if (value === null || Number.isNaN(value)) {
        return { metric, value: null, threshold, status: "no-data", note: missing };
    }
    return { metric, value, threshold, status: value <= threshold ? "pass" : "fail" };
}

/** What the promotion does after an interval's verdict. */
export type Action = "advance" | "rollback" | "wait" | "halt";

/**
 * @param attempt 1 for the first interval at this weight, 2 for the first repeat, …
 * "Not enough data" repeats the interval up to `maxWaitIntervals` times, then follows `onNoData`.
 */
export function nextAction(verdict: Verdict, attempt: number, maxWaitIntervals: number, onNoData: OnNoData): Action {
    if (verdict === "pass") {
        return "advance";
    }
    if (verdict === "fail") {
        return "rollback";
    }
    if (attempt <= maxWaitIntervals) {
        return "wait";
    }
    return onNoData === "rollback" ? "rollback" : "halt";
}

/**
 * The weights a run walks through. Steps at or below the weight in force are done already; a weight in force
 * between 1 and 99 is analysed first, without an `up`, so a canary that is already unhealthy is rolled
 * back instead of being given more traffic (this is also how a halted run resumes).
 */
export function plannedWeights(current: number, steps: number[]): Array<{ weight: number; needsUp: boolean }> {
    const out: Array<{ weight: number; needsUp: boolean }> = [];
    if (current > 0 && current < 100) {
        out.push({ weight: current, needsUp: false });
    }
    for (const s of steps) {
        if (s > current) {
            out.push({ weight: s, needsUp: true });
        }
    }
    return out;
}

// --- wording (shared by the progress lines and the final report) ---

const LABELS: Record<Metric, string> = {
    requests: "requests",
    errorRate: "error rate",
    p99Ms: "p99 latency",
    errorRateDelta: "error rate vs stable",
    p99DeltaMs: "p99 vs stable",
};

function fmtNumber(n: number): string {
    return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

/** A metric's value in its unit: "1.25%", "412 ms", "+0.50 pp", "120". */
export function fmtValue(metric: Metric, v: number): string {
    switch (metric) {
        case "errorRate":
            return `${(v * 100).toFixed(2)}%`;
        case "errorRateDelta":
            return `${v >= 0 ? "+" : ""}${(v * 100).toFixed(2)} pp`;
        case "p99Ms":
            return `${Math.round(v)} ms`;
        case "p99DeltaMs":
            return `${v >= 0 ? "+" : ""}${Math.round(v)} ms`;
        case "requests":
            return fmtNumber(v);
    }
}

/** "error rate 21.30% > max 1.00%", "requests 3 < min 20", "p99 latency: no data (…)". */
export function describeCheck(c: Check): string {
    const label = LABELS[c.metric];
    if (c.value === null || c.status === "skipped") {
        return `${label}: ${c.status === "skipped" ? "" : "no data"}${c.note ? (c.status === "skipped" ? c.note : ` (${c.note})`) : ""}`;
    }
    const v = fmtValue(c.metric, c.value);
    const t = fmtValue(c.metric, c.threshold);
    if (c.metric === "requests") {
        return `${label} ${v} ${c.value >= c.threshold ? ">=" : "<"} min ${t}`;
    }
    return `${label} ${v} ${c.value <= c.threshold ? "<=" : ">"} max ${t}`;
}
