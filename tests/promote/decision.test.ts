import { describeCheck, evaluate, nextAction, plannedWeights, Thresholds } from "../../promote/decision";

const T: Thresholds = { maxErrorRate: 0.01, maxP99Ms: 500, minRequests: 20 };

describe("evaluate: absolute thresholds", () => {
    test("every threshold holds with enough requests: pass", () => {
        const ev = evaluate({ requests: 200, errors: 1, p99Ms: 120 }, undefined, T, 10);
        expect(ev.verdict).toBe("pass");
        expect(ev.checks).toEqual([
            { metric: "requests", value: 200, threshold: 20, status: "pass", note: undefined },
            { metric: "errorRate", value: 0.005, threshold: 0.01, status: "pass" },
            { metric: "p99Ms", value: 120, threshold: 500, status: "pass" },
        ]);
    });

    test("values exactly at the limits pass", () => {
        expect(evaluate({ requests: 20, errors: 0.2, p99Ms: 500 }, undefined, T, 10).verdict).toBe("pass");
    });

    test("error rate above the limit fails, naming the metric, value and threshold", () => {
        const ev = evaluate({ requests: 100, errors: 30, p99Ms: 40 }, undefined, T, 25);
        expect(ev.verdict).toBe("fail");
        const failed = ev.checks.filter((c) => c.status === "fail");
        expect(failed).toEqual([{ metric: "errorRate", value: 0.3, threshold: 0.01, status: "fail" }]);
        expect(describeCheck(failed[0])).toBe("error rate 30.00% > max 1.00%");
    });

    test("slow p99 with good errors fails", () => {
        const ev = evaluate({ requests: 100, errors: 0, p99Ms: 2350 }, undefined, T, 10);
        expect(ev.verdict).toBe("fail");
        expect(ev.checks.filter((c) => c.status === "fail").map(describeCheck)).toEqual([
            "p99 latency 2350 ms > max 500 ms",
        ]);
    });

    test("every request failing is a failure (100%), not missing data", () => {
        const ev = evaluate({ requests: 50, errors: 50, p99Ms: undefined }, undefined, T, 10);
        expect(ev.verdict).toBe("fail");
        expect(ev.checks.map((c) => [c.metric, c.status])).toEqual([
            ["requests", "pass"],
            ["errorRate", "fail"],
            ["p99Ms", "no-data"],
        ]);
    });
});

describe("evaluate: not enough data", () => {
    test("no traffic is not enough data, not success", () => {
        const ev = evaluate({ requests: 0, errors: 0 }, undefined, T, 10);
        expect(ev.verdict).toBe("no-data");
        expect(describeCheck(ev.checks[0])).toBe("requests 0 < min 20");
    });

    test("too few requests is not enough data even when they all failed", () => {
        const ev = evaluate({ requests: 19, errors: 19, p99Ms: 900 }, undefined, T, 10);
        expect(ev.verdict).toBe("no-data");
        expect(ev.checks.map((c) => c.status)).toEqual(["no-data", "no-data", "no-data"]);
    });

    test("enough requests but no latency histogram: not enough data", () => {
        const ev = evaluate({ requests: 100, errors: 0 }, undefined, T, 10);
        expect(ev.verdict).toBe("no-data");
        expect(describeCheck(ev.checks[2])).toBe("p99 latency: no data (no latency histogram samples)");
    });
});

describe("evaluate: comparison with the stable version", () => {
    const D: Thresholds = { ...T, maxErrorRate: 0.05, maxErrorRateDelta: 0.005, maxP99DeltaMs: 100 };

    test("within the absolute limits but worse than stable by more than the delta: fail", () => {
        const ev = evaluate({ requests: 100, errors: 2, p99Ms: 300 }, { requests: 900, errors: 9, p99Ms: 150 }, D, 25);
        expect(ev.verdict).toBe("fail");
        const failed = ev.checks.filter((c) => c.status === "fail");
        expect(failed.map((c) => c.metric)).toEqual(["errorRateDelta", "p99DeltaMs"]);
        expect(failed[0].value).toBeCloseTo(0.01, 10);
        expect(failed[0].threshold).toBe(0.005);
        expect(failed[1]).toEqual({ metric: "p99DeltaMs", value: 150, threshold: 100, status: "fail" });
        expect(failed.map(describeCheck)).toEqual([
            "error rate vs stable +1.00 pp > max +0.50 pp",
            "p99 vs stable +150 ms > max +100 ms",
        ]);
    });

    test("as good as stable: pass", () => {
        const ev = evaluate({ requests: 100, errors: 1, p99Ms: 160 }, { requests: 900, errors: 9, p99Ms: 150 }, D, 25);
        expect(ev.verdict).toBe("pass");
        expect(ev.checks.map((c) => c.metric)).toEqual([
            "requests",
            "errorRate",
            "p99Ms",
            "errorRateDelta",
            "p99DeltaMs",
        ]);
    });

    test("better than stable: negative deltas pass", () => {
        const ev = evaluate({ requests: 100, errors: 0, p99Ms: 50 }, { requests: 900, errors: 45, p99Ms: 400 }, D, 50);
        expect(ev.verdict).toBe("pass");
        expect(ev.checks[3]).toEqual({ metric: "errorRateDelta", value: -0.05, threshold: 0.005, status: "pass" });
    });

    test("stable without enough requests below 100: not enough data", () => {
        const ev = evaluate({ requests: 100, errors: 0, p99Ms: 50 }, { requests: 3, errors: 0, p99Ms: 50 }, D, 50);
        expect(ev.verdict).toBe("no-data");
        expect(ev.checks[3]).toEqual({
            metric: "errorRateDelta",
            value: null,
            threshold: 0.005,
            status: "no-data",
            note: "stable version has 3 requests (< 20)",
        });
    });

    test("at weight 100 the stable version has no traffic: the comparison is skipped", () => {
        const ev = evaluate({ requests: 100, errors: 0, p99Ms: 50 }, { requests: 0, errors: 0 }, D, 100);
        expect(ev.verdict).toBe("pass");
        expect(ev.checks.slice(3).map((c) => c.status)).toEqual(["skipped", "skipped"]);
        expect(describeCheck(ev.checks[3])).toBe(
            "error rate vs stable: skipped: at weight 100 the stable version gets no traffic",
        );
    });

    test("absolute failure still fails when stable is missing", () => {
        const ev = evaluate({ requests: 100, errors: 50, p99Ms: 50 }, undefined, D, 50);
        expect(ev.verdict).toBe("fail");
    });
});

describe("nextAction", () => {
    test.each([
        ["pass", 1, 3, "halt", "advance"],
        ["fail", 1, 3, "halt", "rollback"],
        ["fail", 4, 3, "halt", "rollback"],
        ["no-data", 1, 3, "halt", "wait"],
        ["no-data", 3, 3, "halt", "wait"],
        ["no-data", 4, 3, "halt", "halt"],
        ["no-data", 4, 3, "rollback", "rollback"],
        ["no-data", 1, 0, "halt", "halt"],
        ["no-data", 1, 0, "rollback", "rollback"],
    ] as const)("%s at attempt %d (max %d waits, on no data %s): %s", (verdict, attempt, max, onNoData, expected) => {
        expect(nextAction(verdict, attempt, max, onNoData)).toBe(expected);
    });
});

describe("plannedWeights", () => {
    test("from 0: every step, each with an up", () => {
        expect(plannedWeights(0, [10, 25, 50, 100])).toEqual([
            { weight: 10, needsUp: true },
            { weight: 25, needsUp: true },
            { weight: 50, needsUp: true },
            { weight: 100, needsUp: true },
        ]);
    });

    test("a weight in force is analysed first, without an up; steps below it are skipped", () => {
        expect(plannedWeights(25, [10, 25, 50, 100])).toEqual([
            { weight: 25, needsUp: false },
            { weight: 50, needsUp: true },
            { weight: 100, needsUp: true },
        ]);
        expect(plannedWeights(30, [10, 50, 100])).toEqual([
            { weight: 30, needsUp: false },
            { weight: 50, needsUp: true },
            { weight: 100, needsUp: true },
        ]);
    });

    test("at 100 there is nothing to do", () => {
        expect(plannedWeights(100, [10, 100])).toEqual([]);
    });
});
