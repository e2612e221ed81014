/** The promotion run, driven with a fake stack, fake metrics and a fake clock: no network, no CLI. */
import type { Sample } from "../../promote/decision";
import type { Plan } from "../../promote/options";
import { errorText, RunReport, runPromotion } from "../../promote/run";
import * as fs from "fs";
import type { RawConfig } from "../../promote/guard";
import {
    PlannedChange,
    PolicyError,
    PolicyFinding,
    PolicyRun,
    PreviewPlanOptions,
    StackDriver,
    StackInfo,
    StagedConfig,
    UpOptions,
    UpResult,
    WeightKey,
} from "../../promote/stack";
import { fakeDeps, vsUpdate } from "./fakeDeps";

class FakeStack implements StackDriver {
    readonly name = "dev";
    log: string[] = [];
    configured: number;
    applied: number;
    pending: Record<string, number> = {};
    /** Weights whose up fails (before applying anything), as many times as listed. */
    failUpAt: number[] = [];
    onUp?: (weight: number) => void;
    /** What each step's preview plans besides hello's VirtualService, per weight. */
    extraPlanned: Record<number, PlannedChange[]> = {};
    /** Per weight: why its preview found that the up must not be targeted (stack.ts targetingProblem). */
    targetingProblems: Record<number, string> = {};
    /** Weights whose preview fails (a mandatory policy violation). */
    policyRefuses: Record<number, PolicyFinding[]> = {};
    /** Advisory findings of every preview. */
    advisory: PolicyFinding[] = [];
    /** The stack config the walk check sees. */
    raw: RawConfig = { values: {}, hasSecretKubeconfig: false };
    /** Each preview's and up's options, and the pack config each ran with. */
    previews: Array<{ weight: number; planFile?: string; policyConfig?: unknown }> = [];
    ups: Array<UpOptions & { weight: number; policyConfig?: unknown }> = [];
    constructor(weight = 0) {
        this.configured = weight;
        this.applied = weight;
    }
    async info(): Promise<StackInfo> {
        return { project: "asm-canary", namespace: "canary-demo", services: ["hello"], canaryWeight: this.configured };
    }
    async configuredWeight() {
        return this.configured;
    }
    async pendingChanges(policy?: PolicyRun) {
        this.log.push("preview");
        this.previews.push({ weight: this.configured, policyConfig: readConfig(policy) });
        return this.pending;
    }
    async previewPlan(opts: { planFile?: string; policy?: PolicyRun }) {
        this.log.push(`plan ${this.configured}`);
        this.previews.push({ weight: this.configured, planFile: opts.planFile, policyConfig: readConfig(opts.policy) });
        const refused = this.policyRefuses[this.configured];
        if (refused) {
            throw new PolicyError(refused);
        }
        const changes = this.configured === this.applied ? [] : [vsUpdate("hello")];
        const problem = this.targetingProblems[this.configured];
        return {
            changes: [...changes, ...(this.extraPlanned[this.configured] ?? [])],
            findings: this.advisory,
            ...(problem ? { targetingProblem: problem } : {}),
        };
    }
    async rawConfig() {
        return this.raw;
    }
    async virtualServiceUrns(services: readonly string[]) {
        return services.map((s) => vsUpdate(s).urn);
    }
    async setWeight(w: number) {
        this.log.push(`set ${w}`);
        this.configured = w;
    }
    async up(opts: UpOptions): Promise<UpResult> {
        this.log.push(`up ${this.configured}`);
        this.ups.push({ ...opts, weight: this.configured, policyConfig: readConfig(opts.policy) });
        this.onUp?.(this.configured);
        const i = this.failUpAt.indexOf(this.configured);
        if (i >= 0) {
            this.failUpAt.splice(i, 1);
            throw new Error(
                `error: update failed\nkubernetes:networking.istio.io/v1beta1:VirtualService (route-hello-vs): connection refused`,
            );
        }
        this.applied = this.configured;
        return { changes: { update: 1, same: 17 }, seconds: 8 };
    }
    async appliedWeight(service: string, namespace: string, subset: string) {
        expect([service, namespace, subset]).toEqual(["hello", "canary-demo", "v2"]);
        return this.applied;
    }
}

/** The pack config a preview or up ran with, read from its file. */
function readConfig(policy: PolicyRun | undefined): unknown {
    return policy ? JSON.parse(fs.readFileSync(policy.configFile, "utf8")) : undefined;
}

/** Metrics as a function of the weight applied and the workload; `down` makes every call fail. */
class FakeMetrics {
    down = false;
    queries: string[] = [];
    /** The preflight's survey queries. */
    surveyed: string[] = [];
    /** Workloads without any istio_requests_total series. */
    noSeries: string[] = [];
    constructor(
        private readonly stack: FakeStack,
        private readonly shape: (weight: number, workload: "hello-v1" | "hello-v2", call: number) => Sample,
    ) {}
    private calls = 0;
    async probe() {
        if (this.down) {
            throw new Error("cannot reach Prometheus at http://127.0.0.1:1: ECONNREFUSED");
        }
    }
    async query(q: string): Promise<number | undefined> {
        if (this.down) {
            throw new Error("cannot reach Prometheus at http://127.0.0.1:1: ECONNREFUSED");
        }
        const workload = q.includes('destination_workload="hello-v2"') ? "hello-v2" : "hello-v1";
        // The preflight's survey: whether the series exist, and the request rate.
        if (q.startsWith("count(")) {
            this.surveyed.push(q);
            return this.noSeries.includes(workload) ? undefined : 1;
        }
        if (q.startsWith("sum(rate(")) {
            this.surveyed.push(q);
            return this.shape(this.stack.applied, workload, -1).requests / 60;
        }
        this.queries.push(q);
        const s = this.shape(this.stack.applied, workload, this.calls++);
        if (q.startsWith("histogram_quantile")) {
            return s.p99Ms;
        }
        return q.includes('response_code=~"5.."') ? s.errors : s.requests;
    }
}

const healthy = (w: number, wl: string): Sample => {
    const share = wl === "hello-v2" ? w : 100 - w;
    return { requests: share * 6, errors: 0, p99Ms: share > 0 ? 45 : undefined };
};

const PLAN: Plan = {
    stack: "dev",
    service: "hello",
    namespace: "canary-demo",
    steps: [10, 25, 50, 100],
    interval: "60s",
    intervalSeconds: 60,
    thresholds: { maxErrorRate: 0.01, maxP99Ms: 500, minRequests: 20 },
    maxWaitIntervals: 2,
    onNoData: "halt",
    prometheusUrl: "http://prom:9090",
    prometheusUrlSource: "--prometheus-url",
    allowPendingChanges: false,
    dryRun: false,
    verbose: false,
};

function harness(stack: FakeStack, shape: (w: number, wl: "hello-v1" | "hello-v2", call: number) => Sample) {
    const interrupt = new AbortController();
    const metrics = new FakeMetrics(stack, shape);
    const { deps, lines } = fakeDeps(stack, metrics, interrupt);
    return {
        deps,
        lines,
        interrupt,
        metrics,
        run: (plan: Partial<Plan> = {}) => runPromotion({ ...PLAN, ...plan }, deps),
    };
}

const weightsAnalysed = (r: RunReport) => r.steps.map((s) => [s.weight, s.analyses.map((a) => a.verdict).join(",")]);

describe("promotion run", () => {
    test("a healthy canary is promoted to 100: exit 0, one up per step, each analysed", async () => {
        const stack = new FakeStack(0);
        const h = harness(stack, healthy);
        const r = await h.run();
        expect(r.outcome).toBe("promoted");
        expect(r.exitCode).toBe(0);
        expect(stack.log).toEqual([
            "preview",
            "set 10",
            "plan 10",
            "up 10",
            "set 25",
            "plan 25",
            "up 25",
            "set 50",
            "plan 50",
            "up 50",
            "set 100",
            "plan 100",
            "up 100",
        ]);
        expect(weightsAnalysed(r)).toEqual([
            [10, "pass"],
            [25, "pass"],
            [50, "pass"],
            [100, "pass"],
        ]);
        expect(r.weightInForce).toBe(100);
        expect(r.appliedWeight).toBe(100);
        expect(r.message).toBe("PROMOTED: canaryWeight 100 is in force. (4 step(s) in 240 s)");
        // The analysis window is the interval: each interval's window is 60 s long.
        expect(r.steps[0].analyses[0]).toMatchObject({
            windowStart: "2026-01-01T03:00:00.000Z",
            windowEnd: "2026-01-01T03:01:00.000Z",
        });
        expect(
            h.lines.some(
                (l) =>
                    l ===
                    "[2/4] canaryWeight 25: canary 150 req, 0.00% errors, p99 45 ms | stable 450 req, 0.00% errors, p99 45 ms -> PASS",
            ),
        ).toBe(true);
    });

    test("5xx rising at the second step: rolled back to 0, exit 2, the failing metric with its value and threshold", async () => {
        const stack = new FakeStack(0);
        const h = harness(stack, (w, wl) =>
            wl === "hello-v2" && w >= 25 ? { requests: 150, errors: 45, p99Ms: 40 } : healthy(w, wl),
        );
        const r = await h.run();
        expect(r.outcome).toBe("rolled-back");
        expect(r.exitCode).toBe(2);
        expect(stack.log).toEqual([
            "preview",
            "set 10",
            "plan 10",
            "up 10",
            "set 25",
            "plan 25",
            "up 25",
            "set 0",
            "up 0",
        ]);
        expect(r.failedChecks).toEqual([{ metric: "errorRate", value: 0.3, threshold: 0.01, status: "fail" }]);
        expect(r.weightInForce).toBe(0);
        // The rollback's up is targeted at hello's VirtualService: nothing else rides along.
        expect(r.rollback).toEqual({
            weight: 0,
            attempts: 1,
            changes: { update: 1, same: 17 },
            seconds: 8,
            targets: [
                "urn:pulumi:dev::asm-canary::kubernetes:networking.istio.io/v1beta1:VirtualService::route-hello-vs",
            ],
        });
        expect(stack.ups.at(-1)?.targets).toEqual(r.rollback?.targets);
        expect(r.message).toBe(
            "ROLLED BACK from canaryWeight 25: error rate 30.00% > max 1.00% at canaryWeight 25 (step 2/4). canaryWeight 0 is in force.",
        );
    });

    test("good errors but slow p99: rolled back", async () => {
        const stack = new FakeStack(0);
        const h = harness(stack, (w, wl) =>
            wl === "hello-v2" ? { requests: 60, errors: 0, p99Ms: 2350 } : healthy(w, wl),
        );
        const r = await h.run();
        expect(r.exitCode).toBe(2);
        expect(r.failedChecks).toEqual([{ metric: "p99Ms", value: 2350, threshold: 500, status: "fail" }]);
        expect(stack.log).toEqual(["preview", "set 10", "plan 10", "up 10", "set 0", "up 0"]);
    });

    test("no traffic: the interval is repeated max-wait-intervals times, then the run halts in place (exit 3)", async () => {
        const stack = new FakeStack(0);
        const h = harness(stack, () => ({ requests: 0, errors: 0 }));
        const r = await h.run();
        expect(r.outcome).toBe("halted");
        expect(r.exitCode).toBe(3);
        expect(weightsAnalysed(r)).toEqual([[10, "no-data,no-data,no-data"]]);
        expect(r.steps[0].analyses.map((a) => a.action)).toEqual(["wait", "wait", "halt"]);
        expect(stack.log).toEqual(["preview", "set 10", "plan 10", "up 10"]);
        expect(r.weightInForce).toBe(10);
        expect(r.message).toMatch(
            /^HALTED at canaryWeight 10 \(step 1\/4\): not enough data after 3 intervals \(requests 0 < min 20; error rate: no data \(no requests\); p99 latency: no data/,
        );
        expect(r.message).toContain("canaryWeight 10 is in force.");
    });

    test("no traffic with --on-no-data rollback: rolled back (exit 2)", async () => {
        const stack = new FakeStack(0);
        const r = await harness(stack, () => ({ requests: 0, errors: 0 })).run({
            onNoData: "rollback",
            maxWaitIntervals: 0,
        });
        expect(r.exitCode).toBe(2);
        expect(stack.log).toEqual(["preview", "set 10", "plan 10", "up 10", "set 0", "up 0"]);
        expect(r.failedChecks?.[0]).toMatchObject({ metric: "requests", value: 0, status: "no-data" });
    });

    test("traffic arriving within the wait intervals: the step then passes", async () => {
        const stack = new FakeStack(0);
        // 6 queries per interval (3 canary, 3 stable): the first interval is empty.
        const r = await harness(stack, (w, wl, call) => (call < 6 ? { requests: 0, errors: 0 } : healthy(w, wl))).run();
        expect(r.exitCode).toBe(0);
        expect(weightsAnalysed(r)[0]).toEqual([10, "no-data,pass"]);
    });

    test("Prometheus down: fails clearly before changing anything (exit 1)", async () => {
        const stack = new FakeStack(10);
        const h = harness(stack, healthy);
        h.metrics.down = true;
        const r = await h.run();
        expect(r.outcome).toBe("failed");
        expect(r.exitCode).toBe(1);
        expect(stack.log).toEqual([]);
        expect(r.message).toBe(
            "Prometheus is not usable, nothing was changed: cannot reach Prometheus at http://127.0.0.1:1: ECONNREFUSED. canaryWeight 10 is in force.",
        );
    });

    test("pending changes: refuses to start (exit 1) unless allowed", async () => {
        const stack = new FakeStack(0);
        stack.pending = { update: 1 };
        const r = await harness(stack, healthy).run();
        expect(r.exitCode).toBe(1);
        expect(stack.log).toEqual(["preview"]);
        expect(r.message).toMatch(
            /^stack dev has pending changes \(1 updated\): a pulumi up would apply more than the weight/,
        );
        const allowed = await harness(stack, healthy).run({ allowPendingChanges: true });
        expect(allowed.exitCode).toBe(0);
    });

    test("dry run: preflight only, nothing changed", async () => {
        const stack = new FakeStack(0);
        const h = harness(stack, healthy);
        const r = await h.run({ dryRun: true });
        expect(r.outcome).toBe("dry-run");
        expect(r.exitCode).toBe(0);
        expect(stack.log).toEqual(["preview"]);
        expect(r.plannedWeights).toEqual([10, 25, 50, 100]);
        expect(h.lines).toContain(
            '    requests sum(increase(istio_requests_total{reporter="destination",destination_workload_namespace="canary-demo",destination_workload="hello-v2"}[60s]))',
        );
    });

    test("a weight already in force is analysed first, without an up", async () => {
        const stack = new FakeStack(25);
        const r = await harness(stack, healthy).run();
        expect(r.exitCode).toBe(0);
        expect(stack.log).toEqual(["preview", "set 50", "plan 50", "up 50", "set 100", "plan 100", "up 100"]);
        expect(r.steps.map((s) => [s.weight, s.up === undefined])).toEqual([
            [25, true],
            [50, false],
            [100, false],
        ]);
    });

    test("an unhealthy canary already in force is rolled back before it gets more traffic", async () => {
        const stack = new FakeStack(10);
        const r = await harness(stack, (w, wl) =>
            wl === "hello-v2" ? { requests: 60, errors: 30, p99Ms: 40 } : healthy(w, wl),
        ).run();
        expect(r.exitCode).toBe(2);
        expect(stack.log).toEqual(["preview", "set 0", "up 0"]);
    });

    test("already at 100: nothing to do (exit 0)", async () => {
        const stack = new FakeStack(100);
        const r = await harness(stack, healthy).run();
        expect(r.exitCode).toBe(0);
        expect(r.message).toBe("Nothing to do: canaryWeight 100 is in force.");
        expect(stack.log).toEqual(["preview"]);
    });

    test("a failed up with --on-error hold stops the run at a known weight and sets the config back to it (exit 1)", async () => {
        const stack = new FakeStack(0);
        stack.failUpAt = [25];
        const r = await harness(stack, healthy).run({ onError: "hold" });
        expect(r.outcome).toBe("failed");
        expect(r.exitCode).toBe(1);
        expect(stack.log).toEqual(["preview", "set 10", "plan 10", "up 10", "set 25", "plan 25", "up 25", "set 10"]);
        expect(stack.configured).toBe(10);
        expect(r.weightInForce).toBe(10);
        expect(r.notes).toEqual([
            "config canaryWeight set back from 25 to 10, the weight the stack's state says is applied",
        ]);
        expect(r.steps[1].up?.error).toContain("connection refused");
        expect(r.message).toBe(
            "pulumi up to canaryWeight 25 failed (step 2/4); no further step was taken. canaryWeight 10 is in force. " +
                "(--on-error hold; roll back with `pulumi config set canaryWeight 0 --stack dev && pulumi up --stack dev`)",
        );
    });

    test("a failed up once traffic has moved rolls back to 0 by default (exit 1), targeted at the VirtualService", async () => {
        const stack = new FakeStack(0);
        stack.failUpAt = [25];
        const r = await harness(stack, healthy).run();
        expect({ outcome: r.outcome, exitCode: r.exitCode, weightInForce: r.weightInForce }).toEqual({
            outcome: "failed",
            exitCode: 1,
            weightInForce: 0,
        });
        expect(stack.log).toEqual([
            "preview",
            "set 10",
            "plan 10",
            "up 10",
            "set 25",
            "plan 25",
            "up 25",
            "set 10",
            "set 0",
            "up 0",
        ]);
        expect(stack.ups.at(-1)).toMatchObject({
            weight: 0,
            targets: [vsUpdate("hello").urn],
            inPlaceRoutesOnly: true,
        });
        expect(r.message).toBe(
            "ROLLED BACK from canaryWeight 10: pulumi up to canaryWeight 25 failed (step 2/4). canaryWeight 0 is in force.",
        );
    });

    test("a failed first up, before any traffic moved: nothing to roll back, the config is set back to 0 (exit 1)", async () => {
        const stack = new FakeStack(0);
        stack.failUpAt = [10];
        const r = await harness(stack, healthy).run();
        expect(stack.log).toEqual(["preview", "set 10", "plan 10", "up 10", "set 0"]);
        expect(r.rollback).toBeUndefined();
        expect(r.message).toBe(
            "pulumi up to canaryWeight 10 failed (step 1/4); no further step was taken. canaryWeight 0 is in force.",
        );
    });

    test("a rollback whose up fails once is retried", async () => {
        const stack = new FakeStack(0);
        stack.failUpAt = [0];
        const r = await harness(stack, (w, wl) =>
            wl === "hello-v2" ? { requests: 60, errors: 30, p99Ms: 40 } : healthy(w, wl),
        ).run();
        expect(r.exitCode).toBe(2);
        expect(r.rollback?.attempts).toBe(2);
        expect(stack.log).toEqual(["preview", "set 10", "plan 10", "up 10", "set 0", "up 0", "set 0", "up 0"]);
        expect(r.weightInForce).toBe(0);
    });

    test("the report's finishedAt is stamped when the run ends, after the rollback's up and after an interrupt's read-back", async () => {
        const stack = new FakeStack(0);
        const h = harness(stack, (w, wl) =>
            wl === "hello-v2" ? { requests: 60, errors: 30, p99Ms: 40 } : healthy(w, wl),
        );
        // The rollback's up takes 30 s on the fake clock.
        stack.onUp = (w) => w === 0 && void h.deps.clock.sleep(30_000);
        const r = await h.run();
        expect(r.outcome).toBe("rolled-back");
        // Started 03:00:00, up to 10, one 60 s interval, then a 30 s rollback.
        expect(r.startedAt).toBe("2026-01-01T03:00:00.000Z");
        expect(r.finishedAt).toBe("2026-01-01T03:01:30.000Z");

        const stack2 = new FakeStack(0);
        const h2 = harness(stack2, healthy);
        stack2.onUp = () => h2.interrupt.abort();
        const configuredWeight = stack2.configuredWeight.bind(stack2);
        // Reading the weight back after the interrupt takes 5 s.
        stack2.configuredWeight = async () => {
            if (h2.interrupt.signal.aborted) {
                await h2.deps.clock.sleep(5_000);
            }
            return configuredWeight();
        };
        const r2 = await h2.run();
        expect(r2.outcome).toBe("interrupted");
        expect(r2.finishedAt).toBe("2026-01-01T03:00:05.000Z");
    });

    test("a rollback that keeps failing says so loudly (exit 1) and gives the command", async () => {
        const stack = new FakeStack(0);
        stack.failUpAt = [0, 0];
        const r = await harness(stack, (w, wl) =>
            wl === "hello-v2" ? { requests: 60, errors: 30, p99Ms: 40 } : healthy(w, wl),
        ).run();
        expect(r.exitCode).toBe(1);
        expect(r.weightInForce).toBe(10);
        expect(stack.configured).toBe(10);
        expect(r.message).toMatch(
            /^ROLLBACK FAILED after error rate 50.00% > max 1.00% at canaryWeight 10 \(step 1\/4\)\. canaryWeight 10 is in force\. Roll back by hand now: `pulumi config set canaryWeight 0 --stack dev && pulumi up --stack dev`\.$/,
        );
    });

    test("interrupted during an interval: stops at once without another change, says the weight (exit 130)", async () => {
        const stack = new FakeStack(0);
        const h = harness(stack, healthy);
        let ticks = 0;
        h.deps.ui.countdown = () => {
            if (++ticks === 70) {
                h.interrupt.abort(); // 10 s into the second interval (canaryWeight 25)
            }
        };
        const r = await h.run();
        expect(r.exitCode).toBe(130);
        expect(stack.log).toEqual(["preview", "set 10", "plan 10", "up 10", "set 25", "plan 25", "up 25"]);
        expect(r.steps[1].analyses).toEqual([]);
        expect(r.message).toBe(
            "INTERRUPTED while analysing canaryWeight 25. canaryWeight 25 is in force. Resume with the same command; roll back with `pulumi config set canaryWeight 0 --stack dev && pulumi up --stack dev`.",
        );
    });

    test("interrupted right after an up: stops without another change, says the weight (exit 130)", async () => {
        const stack = new FakeStack(0);
        const h = harness(stack, healthy);
        stack.onUp = (w) => {
            if (w === 25) {
                h.interrupt.abort();
            }
        };
        const r = await h.run();
        expect(r.outcome).toBe("interrupted");
        expect(r.exitCode).toBe(130);
        expect(stack.log).toEqual(["preview", "set 10", "plan 10", "up 10", "set 25", "plan 25", "up 25"]);
        expect(r.weightInForce).toBe(25);
        expect(r.message).toMatch(
            /^INTERRUPTED after pulumi up to canaryWeight 25, before its analysis\. canaryWeight 25 is in force\./,
        );
    });

    test("interrupted during a failing up: the config is set back to what is applied", async () => {
        const stack = new FakeStack(0);
        stack.failUpAt = [25];
        const h = harness(stack, healthy);
        stack.onUp = (w) => w === 25 && h.interrupt.abort();
        const r = await h.run();
        expect(r.exitCode).toBe(130);
        expect(stack.configured).toBe(10);
        expect(r.message).toMatch(/^INTERRUPTED during pulumi up to canaryWeight 25\. canaryWeight 10 is in force\./);
    });

    test("metrics lost mid-run count as not enough data, then the run halts", async () => {
        const stack = new FakeStack(0);
        const h = harness(stack, healthy);
        stack.onUp = () => {
            h.metrics.down = true;
        };
        const r = await h.run({ maxWaitIntervals: 1 });
        expect(r.exitCode).toBe(3);
        expect(r.steps[0].analyses.map((a) => [a.verdict, a.error])).toEqual([
            ["no-data", "cannot reach Prometheus at http://127.0.0.1:1: ECONNREFUSED"],
            ["no-data", "cannot reach Prometheus at http://127.0.0.1:1: ECONNREFUSED"],
        ]);
        expect(r.weightInForce).toBe(10);
    });

    test("without a comparison, the stable version's metrics failing does not stop the run", async () => {
        const stack = new FakeStack(0);
        const h = harness(stack, healthy);
        const query = h.metrics.query.bind(h.metrics);
        h.metrics.query = async (q: string) => {
            if (q.includes('destination_workload="hello-v1"')) {
                throw new Error("query timed out");
            }
            return query(q);
        };
        const r = await h.run({ steps: [100] });
        expect(r.exitCode).toBe(0);
        expect(r.steps[0].analyses[0]).toMatchObject({ verdict: "pass", stable: null });
        expect(h.lines).toContain("[1/1] canaryWeight 100: (stable version's metrics unavailable: query timed out)");
        // With a comparison they are needed: not enough data.
        const stack2 = new FakeStack(0);
        const h2 = harness(stack2, healthy);
        h2.metrics.query = h.metrics.query;
        const r2 = await h2.run({
            steps: [50, 100],
            maxWaitIntervals: 0,
            thresholds: { ...PLAN.thresholds, maxErrorRateDelta: 0.01 },
        });
        expect(r2.exitCode).toBe(3);
        expect(r2.steps[0].analyses[0]).toMatchObject({ verdict: "no-data", error: "query timed out" });
    });

    test("comparison with stable: worse than v1 by more than the delta fails even within the absolute limits", async () => {
        const stack = new FakeStack(0);
        const shape = (w: number, wl: string): Sample =>
            wl === "hello-v2" ? { requests: 100, errors: 3, p99Ms: 90 } : { requests: 900, errors: 0, p99Ms: 80 };
        const r = await harness(stack, shape).run({
            thresholds: { maxErrorRate: 0.05, maxP99Ms: 500, minRequests: 20, maxErrorRateDelta: 0.01 },
        });
        expect(r.exitCode).toBe(2);
        expect(r.failedChecks).toEqual([{ metric: "errorRateDelta", value: 0.03, threshold: 0.01, status: "fail" }]);
    });

    test("every query asks for the right workload over the interval", async () => {
        const stack = new FakeStack(0);
        const h = harness(stack, healthy);
        await h.run({ steps: [100], intervalSeconds: 5, interval: "5s" });
        expect(h.metrics.queries).toEqual([
            'sum(increase(istio_requests_total{reporter="destination",destination_workload_namespace="canary-demo",destination_workload="hello-v2"}[5s]))',
            'sum(increase(istio_requests_total{reporter="destination",destination_workload_namespace="canary-demo",destination_workload="hello-v2",response_code=~"5.."}[5s]))',
            'histogram_quantile(0.99, sum by (le) (increase(istio_request_duration_milliseconds_bucket{reporter="destination",destination_workload_namespace="canary-demo",destination_workload="hello-v2"}[5s])))',
            'sum(increase(istio_requests_total{reporter="destination",destination_workload_namespace="canary-demo",destination_workload="hello-v1"}[5s]))',
            'sum(increase(istio_requests_total{reporter="destination",destination_workload_namespace="canary-demo",destination_workload="hello-v1",response_code=~"5.."}[5s]))',
            'histogram_quantile(0.99, sum by (le) (increase(istio_request_duration_milliseconds_bucket{reporter="destination",destination_workload_namespace="canary-demo",destination_workload="hello-v1"}[5s])))',
        ]);
    });
});

describe("error text", () => {
    test("an Automation API CommandError is cut to its error: lines", () => {
        const msg = [
            "code: 255",
            " stdout: Updating (render):",
            "    pulumi:pulumi:Stack asm-canary-render  error: update canceled",
            " stderr: error: update canceled",
            " err?: Error: Command failed with exit code 255: pulumi up --yes --skip-preview --stack render --non-interactive",
            "error: update canceled",
        ].join("\n");
        expect(errorText(new Error(msg))).toBe("error: update canceled");
    });

    test("the program's refusal keeps its list of problems (issue 19.3: the reason was dropped)", () => {
        const msg = [
            "code: 255",
            " stdout: Updating (dev):",
            "Diagnostics:",
            "  pulumi:pulumi:Stack (asm-canary-dev):",
            "    error: Invalid stack configuration (1 problem):",
            "      - mirrorPercent: got 10 with canaryWeight 100; v2 already receives every request",
            "",
            "Resources:",
            " stderr: ",
            " err?: Error: Command failed with exit code 255: pulumi up --yes --skip-preview --stack dev --non-interactive",
            "error: update failed",
            " stderr: not part of it",
        ].join("\n");
        expect(errorText(new Error(msg))).toBe(
            "error: Invalid stack configuration (1 problem):\n" +
                "  - mirrorPercent: got 10 with canaryWeight 100; v2 already receives every request\n" +
                "error: update failed",
        );
    });

    test("other errors keep their last lines", () => {
        expect(errorText(new Error("one\ntwo"))).toBe("one\ntwo");
        expect(errorText(new Error(Array.from({ length: 20 }, (_, i) => `l${i}`).join("\n")))).toBe(
            ["…", ...Array.from({ length: 12 }, (_, i) => `l${i + 8}`)].join("\n"),
        );
    });
});

describe("each step held to its plan, judged by the policy pack", () => {
    const POLICY = {
        pack: "/p/policy/analyzer",
        config: { "production-mtls-strict": "mandatory" },
        source: "policy/production.json",
    };
    const peerAuth: PlannedChange = {
        op: "update",
        type: "kubernetes:security.istio.io/v1beta1:PeerAuthentication",
        name: "security-peer-auth",
        urn: "urn:pulumi:dev::asm-canary::kubernetes:security.istio.io/v1beta1:PeerAuthentication::security-peer-auth",
        object: "canary-demo/default",
    };

    test("a step whose preview finds the state's order not the program's: its up is held to the plan, not targeted, and says why", async () => {
        const stack = new FakeStack(0);
        const why =
            "the state records Namespace namespace as depending on MeshReadiness mesh-ready, which the program now declares after it";
        stack.targetingProblems[10] = why;
        const h = harness(stack, healthy);
        const r = await h.run({ steps: [10, 50, 100] });
        expect(r.exitCode).toBe(0);
        const route =
            "urn:pulumi:dev::asm-canary::kubernetes:networking.istio.io/v1beta1:VirtualService::route-hello-vs";
        expect(stack.ups.map((u) => [u.weight, u.targets, Boolean(u.plan)])).toEqual([
            [10, undefined, true],
            [50, [route], true],
            [100, [route], true],
        ]);
        expect(h.lines).toContain(`[1/3] canaryWeight 10: the up is held to the plan but not targeted at it: ${why}`);
        expect(h.lines.filter((l) => l.includes("not targeted"))).toHaveLength(1);
    });

    test("every preview runs the pack with the stack's config and the weights in force before the step; each up is held to its step's saved plan, which the pack judged, and runs no pack itself", async () => {
        const stack = new FakeStack(0);
        const r = await harness(stack, healthy).run({ policy: POLICY, steps: [10, 50, 100] });
        expect(r.exitCode).toBe(0);
        expect(stack.previews.map((p) => [p.weight, p.policyConfig])).toEqual([
            [0, { "production-mtls-strict": "mandatory", "canary-weight-step": { previousWeights: { hello: 0 } } }],
            [10, { "production-mtls-strict": "mandatory", "canary-weight-step": { previousWeights: { hello: 0 } } }],
            [50, { "production-mtls-strict": "mandatory", "canary-weight-step": { previousWeights: { hello: 10 } } }],
            [100, { "production-mtls-strict": "mandatory", "canary-weight-step": { previousWeights: { hello: 50 } } }],
        ]);
        // Each up: the plan its own preview saved (the engine refuses any other input), and no pack of its own.
        expect(stack.ups.map((u) => [u.weight, u.plan, u.policy])).toEqual(
            stack.previews.slice(1).map((p) => [p.weight, p.planFile, undefined]),
        );
        expect(new Set(stack.ups.map((u) => u.plan)).size).toBe(3);
        // Each plan changes the VirtualService in place and nothing else: the engine saves the state once.
        expect(stack.ups.map((u) => u.inPlaceRoutesOnly)).toEqual([true, true, true]);
        // ... and is targeted at that VirtualService: the engine leaves every other resource as it is.
        const route =
            "urn:pulumi:dev::asm-canary::kubernetes:networking.istio.io/v1beta1:VirtualService::route-hello-vs";
        expect(stack.ups.map((u) => u.targets)).toEqual([[route], [route], [route]]);
        expect(r.steps.map((s) => s.plan?.check?.ok)).toEqual([true, true, true]);
        expect(r.steps[1].plan).toEqual({
            check: {
                expected: ["canary-demo/hello"],
                planned: ["update VirtualService canary-demo/hello"],
                unexpected: [],
                missing: [],
                ok: true,
            },
            policyConfig: {
                "production-mtls-strict": "mandatory",
                "canary-weight-step": { previousWeights: { hello: 10 } },
            },
            policyFindings: [],
        });
        expect(r.settings.policy).toEqual({ pack: "/p/policy/analyzer", configSource: "policy/production.json" });
    });

    test("without the pack (--no-policy) no preview or up runs one; the plan is still checked", async () => {
        const stack = new FakeStack(0);
        const r = await harness(stack, healthy).run({ steps: [50, 100] });
        expect(r.exitCode).toBe(0);
        expect(stack.previews.map((p) => p.policyConfig)).toEqual([undefined, undefined, undefined]);
        expect(stack.ups.map((u) => [u.policy, Boolean(u.plan)])).toEqual([
            [undefined, true],
            [undefined, true],
        ]);
        expect(r.settings.policy).toBeNull();
    });

    test("a change besides the weight in a later step's plan: aborted before its up, rolled back to 0 targeted at the VirtualService, the change named (exit 1)", async () => {
        const stack = new FakeStack(0);
        stack.extraPlanned[25] = [peerAuth];
        const h = harness(stack, healthy);
        const r = await h.run();
        expect({ outcome: r.outcome, exitCode: r.exitCode, weightInForce: r.weightInForce }).toEqual({
            outcome: "failed",
            exitCode: 1,
            weightInForce: 0,
        });
        expect(stack.log).toEqual([
            "preview",
            "set 10",
            "plan 10",
            "up 10",
            "set 25",
            "plan 25",
            "set 10",
            "set 0",
            "up 0",
        ]);
        expect(stack.ups.at(-1)).toMatchObject({ weight: 0, targets: [vsUpdate("hello").urn] });
        expect(stack.ups.at(-1)?.plan).toBeUndefined();
        expect(r.steps[1].up).toBeUndefined();
        expect(r.steps[1].plan?.check).toMatchObject({
            ok: false,
            unexpected: ["update PeerAuthentication canary-demo/default"],
        });
        expect(h.lines).toContain(
            "[2/4] canaryWeight 25: plan check FAILED: it would also update PeerAuthentication canary-demo/default",
        );
        expect(r.message).toBe(
            "ROLLED BACK from canaryWeight 10: step 2/4 (canaryWeight 25) aborted before any change: besides the weight, it would also " +
                "update PeerAuthentication canary-demo/default. The stack's config or program changed since the run started? " +
                "Review with `pulumi preview --diff --stack dev`. canaryWeight 0 is in force.",
        );
    });

    test("the same with --on-error hold: the weight in force stays, nothing else is changed", async () => {
        const stack = new FakeStack(0);
        stack.extraPlanned[25] = [peerAuth];
        const r = await harness(stack, healthy).run({ onError: "hold" });
        expect(stack.log).toEqual(["preview", "set 10", "plan 10", "up 10", "set 25", "plan 25", "set 10"]);
        expect({ outcome: r.outcome, weightInForce: r.weightInForce, rollback: r.rollback }).toEqual({
            outcome: "failed",
            weightInForce: 10,
            rollback: undefined,
        });
    });

    test("--allow-pending-changes lets the pending changes through with the first up only, recorded", async () => {
        const stack = new FakeStack(0);
        stack.extraPlanned[10] = [peerAuth];
        stack.extraPlanned[50] = [peerAuth];
        const r = await harness(stack, healthy).run({ allowPendingChanges: true, steps: [10, 50, 100] });
        expect(r.steps[0].plan?.check).toMatchObject({
            ok: true,
            accepted: ["update PeerAuthentication canary-demo/default"],
        });
        expect(r.steps[1].plan?.check).toMatchObject({
            ok: false,
            unexpected: ["update PeerAuthentication canary-demo/default"],
        });
        expect(r.weightInForce).toBe(0);
        // The first up carried another change: its state is saved after every resource, as a plain up does.
        expect(stack.ups[0]).toMatchObject({ weight: 10, inPlaceRoutesOnly: false });
        // ... and was not targeted: the pending change it let through is applied with the weight.
        expect(stack.ups[0].targets).toBeUndefined();
    });

    test("a mandatory policy violation at the first step: no up, the config set back to 0, the policy named (exit 1)", async () => {
        const stack = new FakeStack(0);
        stack.policyRefuses[10] = [
            {
                policy: "production-mtls-strict",
                level: "mandatory",
                message:
                    "PeerAuthentication canary-demo/default: mTLS mode is PERMISSIVE; production needs STRICT (mtlsMode)",
            },
        ];
        const h = harness(stack, healthy);
        const r = await h.run({ policy: POLICY });
        expect(stack.log).toEqual(["preview", "set 10", "plan 10", "set 0"]);
        expect({ outcome: r.outcome, rollback: r.rollback, weightInForce: r.weightInForce }).toEqual({
            outcome: "failed",
            rollback: undefined,
            weightInForce: 0,
        });
        expect(r.steps[0].plan?.error).toBe(
            "the policy pack refused it (1 mandatory violation):\n  - production-mtls-strict: PeerAuthentication canary-demo/default: mTLS mode is PERMISSIVE; production needs STRICT (mtlsMode)",
        );
        expect(r.message).toBe(
            "the preview of canaryWeight 10 failed (step 1/4), before any change: the policy pack refused it (1 mandatory violation): " +
                "- production-mtls-strict: PeerAuthentication canary-demo/default: mTLS mode is PERMISSIVE; production needs STRICT (mtlsMode); " +
                "no further step was taken. canaryWeight 0 is in force.",
        );
    });

    test("advisory findings are printed and recorded, and the step goes on", async () => {
        const stack = new FakeStack(0);
        stack.advisory = [
            {
                policy: "mesh-deployment-hygiene",
                level: "advisory",
                message: "Deployment canary-demo/curl: container curl has no readiness probe",
            },
        ];
        const h = harness(stack, healthy);
        const r = await h.run({ policy: POLICY, steps: [100] });
        expect(r.exitCode).toBe(0);
        expect(r.steps[0].plan?.policyFindings).toEqual(stack.advisory);
        expect(h.lines).toContain(
            "[1/1] canaryWeight 100: policy mesh-deployment-hygiene (advisory): Deployment canary-demo/curl: container curl has no readiness probe",
        );
    });

    test("a weight the stack's config refuses (mirrorPercent with 100): refused before any change, with the program's reason (exit 1)", async () => {
        const stack = new FakeStack(0);
        stack.raw = { values: { mirrorPercent: "20" }, hasSecretKubeconfig: false };
        const r = await harness(stack, healthy).run({ steps: [10, 50, 100] });
        expect(stack.log).toEqual([]);
        expect({ outcome: r.outcome, exitCode: r.exitCode, steps: r.steps }).toEqual({
            outcome: "failed",
            exitCode: 1,
            steps: [],
        });
        expect(r.message).toBe(
            "stack dev's config refuses canaryWeight 100 of the walk, nothing was changed:\n" +
                "    - mirrorPercent: got 20 with canaryWeight 100; v2 already receives every request, so each mirrored request would reach v2 twice: mirror at a lower canaryWeight (0 for a dark launch)\n" +
                "  Change the config first (`pulumi config set … --stack dev`), or walk to a lower weight (--steps). canaryWeight 0 is in force.",
        );
    });
});

describe("before any change: do the series exist, is there traffic, how long can the walk take", () => {
    test("the stable workload has no series at all: wrong labels or no scraping, refused before any change (exit 1)", async () => {
        const stack = new FakeStack(0);
        const h = harness(stack, healthy);
        h.metrics.noSeries = ["hello-v1", "hello-v2"];
        const r = await h.run({ dryRun: true });
        expect({ outcome: r.outcome, exitCode: r.exitCode, log: stack.log }).toEqual({
            outcome: "failed",
            exitCode: 1,
            log: [],
        });
        expect(r.traffic).toEqual([
            { workload: "hello-v1", series: false },
            { workload: "hello-v2", series: false },
        ]);
        expect(h.lines).toContain(
            "  request rates over the last 60s: hello-v1 NO SERIES, hello-v2 no series yet (at weight 0: no traffic yet)",
        );
        expect(r.message).toBe(
            'these series do not exist in Prometheus: istio_requests_total{reporter="destination",destination_workload_namespace="canary-demo",destination_workload="hello-v1"}. ' +
                'Wrong labels (the namespace, the workload names <service>-v1/-v2, reporter="destination") or the sidecars are not scraped: ' +
                "the run could not judge anything, nothing was changed. Try the queries of `npm run promote -- --stack dev --dry-run` in Prometheus. canaryWeight 0 is in force.",
        );
    });

    test("the canary's series missing once it has weight is refused too", async () => {
        const stack = new FakeStack(25);
        const h = harness(stack, healthy);
        h.metrics.noSeries = ["hello-v2"];
        const r = await h.run();
        expect({ exitCode: r.exitCode, log: stack.log }).toEqual({ exitCode: 1, log: [] });
        expect(r.message).toMatch(
            /^these series do not exist in Prometheus: istio_requests_total\{.*destination_workload="hello-v2"\}\./,
        );
    });

    test("series with no requests: no traffic yet, said, and the dry run passes (exit 0) with the rates and the longest walk", async () => {
        const stack = new FakeStack(0);
        const h = harness(stack, () => ({ requests: 0, errors: 0 }));
        h.metrics.noSeries = ["hello-v2"];
        const r = await h.run({ dryRun: true });
        expect(r.exitCode).toBe(0);
        expect(h.lines).toContain(
            "  request rates over the last 60s: hello-v1 0 req/s (no traffic yet), hello-v2 no series yet (at weight 0: no traffic yet)",
        );
        expect(h.lines).toContain(
            "  longest walk: 4 step(s) x up to 3 interval(s) of 60s = 12 min, plus a preview and an up per step",
        );
        expect(r.longestSeconds).toBe(720);
        expect(h.metrics.surveyed).toEqual([
            'count(istio_requests_total{reporter="destination",destination_workload_namespace="canary-demo",destination_workload="hello-v1"})',
            'sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="canary-demo",destination_workload="hello-v1"}[60s]))',
            'count(istio_requests_total{reporter="destination",destination_workload_namespace="canary-demo",destination_workload="hello-v2"})',
        ]);
    });

    test("the rates with traffic", async () => {
        const stack = new FakeStack(10);
        const h = harness(stack, healthy);
        const r = await h.run({ dryRun: true });
        expect(r.traffic).toEqual([
            { workload: "hello-v1", series: true, ratePerSecond: 9 },
            { workload: "hello-v2", series: true, ratePerSecond: 1 },
        ]);
        expect(h.lines).toContain("  request rates over the last 60s: hello-v1 9 req/s, hello-v2 1 req/s");
    });
});

/**
 * A stack whose config can be staged (stageWeight/commitStaged): the config file is its weight and a revision
 * that any other change bumps; a staged preview (configFile) judges the staged weight.
 */
class StagingStack extends FakeStack {
    revision = 0;
    /** Each staged copy's weight, by its file. */
    stagedWeights = new Map<string, number>();
    /** Runs inside each staged preview, before it returns (a test holds it there). */
    duringStagedPreview?: (weight: number) => Promise<void>;
    private configText() {
        return `canaryWeight: ${this.configured}; revision ${this.revision}`;
    }
    async stageWeight(w: number, key: WeightKey | undefined, file: string): Promise<StagedConfig> {
        expect(key).toEqual({ key: "canaryWeight", path: false });
        this.log.push(`stage ${w}`);
        this.stagedWeights.set(file, w);
        return { file, base: this.configText() };
    }
    async commitStaged(staged: StagedConfig): Promise<boolean> {
        const w = this.stagedWeights.get(staged.file)!;
        if (staged.base !== this.configText()) {
            this.log.push(`commit ${w} refused`);
            return false;
        }
        this.log.push(`commit ${w}`);
        this.configured = w;
        return true;
    }
    async previewPlan(opts: PreviewPlanOptions) {
        if (!opts.configFile) {
            return super.previewPlan(opts);
        }
        const w = this.stagedWeights.get(opts.configFile)!;
        this.log.push(`plan ${w} staged`);
        this.signals.push(opts.signal);
        this.previews.push({ weight: w, planFile: opts.planFile, policyConfig: readConfig(opts.policy) });
        await this.duringStagedPreview?.(w);
        const refused = this.policyRefuses[w];
        if (refused) {
            throw new PolicyError(refused);
        }
        return { changes: w === this.applied ? [] : [vsUpdate("hello")], findings: this.advisory };
    }
    signals: Array<AbortSignal | undefined> = [];
}

describe("the next step previewed while the step before is analysed", () => {
    const POLICY = { pack: "/p/policy/analyzer", config: {}, source: "policy/production.json" };

    test("each later step is the up alone: its weight staged and previewed with its pack config during the analysis before it, committed at the step, the up held to that plan", async () => {
        const stack = new StagingStack(0);
        const h = harness(stack, healthy);
        const r = await h.run({ policy: POLICY, steps: [10, 50, 100] });
        expect(r.outcome).toBe("promoted");
        expect(stack.log).toEqual([
            "preview",
            "set 10",
            "plan 10",
            "up 10",
            "stage 50",
            "plan 50 staged",
            "commit 50",
            "up 50",
            "stage 100",
            "plan 100 staged",
            "commit 100",
            "up 100",
        ]);
        // The staged previews ran with the pack config the step has (the weights in force before it) ...
        expect(stack.previews.map((p) => [p.weight, p.policyConfig])).toEqual([
            [0, { "canary-weight-step": { previousWeights: { hello: 0 } } }],
            [10, { "canary-weight-step": { previousWeights: { hello: 0 } } }],
            [50, { "canary-weight-step": { previousWeights: { hello: 10 } } }],
            [100, { "canary-weight-step": { previousWeights: { hello: 50 } } }],
        ]);
        // ... and each up is held to the plan its own preview saved.
        expect(stack.ups.map((u) => [u.weight, u.plan, u.policy, u.inPlaceRoutesOnly])).toEqual(
            stack.previews.slice(1).map((p) => [p.weight, p.planFile, undefined, true]),
        );
        expect(r.steps.map((s) => [s.weight, s.plan?.check?.ok, s.plan?.preparedSeconds !== undefined])).toEqual([
            [10, true, false],
            [50, true, true],
            [100, true, true],
        ]);
        expect(h.lines).toContainEqual(
            expect.stringMatching(
                /^\[2\/3\] canaryWeight 50: previewed while the step before was analysed \(\d+\.\d s, plan saved, with the policy pack\); the config now holds canaryWeight 50$/,
            ),
        );
        // Ctrl-C stops a preview made during an analysis.
        expect(stack.signals).toEqual([h.deps.interrupt, h.deps.interrupt]);
    });

    test("the config changed during the analysis: the staged copy is not committed; the step sets the weight and previews it as without staging", async () => {
        const stack = new StagingStack(0);
        const h = harness(stack, (w, wl, call) => {
            if (w === 10 && call === 0) {
                stack.revision++; // someone's `pulumi config set` while 10 is analysed
            }
            return healthy(w, wl);
        });
        const r = await h.run({ steps: [10, 50] });
        expect(r.outcome).toBe("promoted");
        expect(stack.log).toEqual([
            "preview",
            "set 10",
            "plan 10",
            "up 10",
            "stage 50",
            "plan 50 staged",
            "commit 50 refused",
            "set 50",
            "plan 50",
            "up 50",
        ]);
        expect(stack.ups.at(-1)?.plan).toBe(stack.previews.at(-1)?.planFile);
        expect(r.steps[1].plan?.preparedSeconds).toBeUndefined();
    });

    test("a staged preview the pack refuses: the step previews again at the step and fails as it would have, rolled back to 0 (exit 1)", async () => {
        const stack = new StagingStack(0);
        stack.policyRefuses[50] = [{ policy: "canary-weight-step", level: "mandatory", message: "hello: 10 -> 50" }];
        const r = await harness(stack, healthy).run({ policy: POLICY, steps: [10, 50] });
        expect(r.exitCode).toBe(1);
        expect(stack.log).toEqual([
            "preview",
            "set 10",
            "plan 10",
            "up 10",
            "stage 50",
            "plan 50 staged",
            "set 50",
            "plan 50",
            "set 10", // the config set back to what is applied (settle), then the rollback
            "set 0",
            "up 0",
        ]);
        expect(r.steps[1].plan?.error).toContain("canary-weight-step: hello: 10 -> 50");
        expect(r.weightInForce).toBe(0);
    });

    test("a rollback decided while the next step's preview still runs waits for it, and the staged weight never reaches the config", async () => {
        const stack = new StagingStack(0);
        let release!: () => void;
        const held = new Promise<void>((resolve) => (release = resolve));
        stack.duringStagedPreview = async (w) => {
            await held;
            stack.log.push(`plan ${w} staged: done`);
        };
        const h = harness(stack, (w, wl) => {
            // The interval's metrics answer only once the staged preview is held; release it a little later.
            setTimeout(release, 20);
            return wl === "hello-v2" ? { requests: 60, errors: 30, p99Ms: 40 } : healthy(w, wl);
        });
        const r = await h.run({ steps: [10, 50] });
        expect(r.outcome).toBe("rolled-back");
        expect(stack.log).toEqual([
            "preview",
            "set 10",
            "plan 10",
            "up 10",
            "stage 50",
            "plan 50 staged",
            "plan 50 staged: done",
            "set 0",
            "up 0",
        ]);
        expect(stack.configured).toBe(0);
    });

    test("a step already in force is analysed, and the step after it is prepared the same way", async () => {
        const stack = new StagingStack(10);
        const r = await harness(stack, healthy).run({ steps: [10, 50] });
        expect(r.outcome).toBe("promoted");
        expect(stack.log).toEqual(["preview", "stage 50", "plan 50 staged", "commit 50", "up 50"]);
    });
});
