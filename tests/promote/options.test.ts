import { flagOverrides, parseCli, resolvePlan, stackEnv, UsageError, USAGE } from "../../promote/options";
import type { StackInfo } from "../../promote/stack";

const INFO: StackInfo = {
    project: "asm-canary",
    namespace: "canary-demo",
    services: ["hello", "billing"],
    weights: { v1: 100, v2: 0 },
    canaryWeight: 0,
};

function usageProblems(fn: () => unknown): string[] {
    try {
        fn();
    } catch (e) {
        expect(e).toBeInstanceOf(UsageError);
        return (e as UsageError).problems;
    }
    throw new Error("no UsageError");
}

describe("command line", () => {
    test("--help shows every default, from the one source", () => {
        for (const line of [
            "(default 10,25,50,100)",
            "(default 60s)",
            "(default 0.01)",
            "(default 500)",
            "(default 20)",
            "(default 3)",
            "(default halt)",
            "(default: the stack's canaryWeight, judging every service it moves)",
        ]) {
            expect(USAGE.replace(/\s+/g, " ")).toContain(line);
        }
        // Every flag line says its default (a continuation line may carry it).
        const flags = USAGE.split(/\n(?= {2}-)/).filter((f) => /^ {2}--(?!stack|help)/.test(f));
        expect(flags.filter((f) => !/default/.test(f)).map((f) => f.trim().split(/\s/)[0])).toEqual([]);
    });

    test("--stack render without a backend: the render stack's own, as npm run render keeps it", () => {
        expect(stackEnv("render", "/repo", {})).toEqual({
            PULUMI_BACKEND_URL: "file:///repo/.render/state",
            PULUMI_CONFIG_PASSPHRASE: "render",
        });
        expect(stackEnv("render", "/repo", { PULUMI_BACKEND_URL: "s3://b" })).toEqual({});
        expect(stackEnv("dev", "/repo", {})).toEqual({});
    });

    test("--help", () => {
        expect(parseCli(["--help"])).toBe("help");
        expect(parseCli(["-h"])).toBe("help");
    });

    test("--stack is required; unknown flags are refused", () => {
        expect(usageProblems(() => parseCli([]))).toEqual(["--stack <name> is required"]);
        expect(usageProblems(() => parseCli(["--stack", "dev", "--max-errors", "1"]))[0]).toMatch(
            /Unknown option '--max-errors'/,
        );
    });

    test("every flag is read", () => {
        const f = parseCli([
            "--stack",
            "dev",
            "--steps",
            "10,50,100",
            "--interval",
            "30s",
            "--prometheus-url",
            "http://p:9090",
            "--max-error-rate",
            "0.02",
            "--max-p99-ms",
            "300",
            "--min-requests",
            "50",
            "--max-wait-intervals",
            "2",
            "--on-no-data",
            "rollback",
            "--max-error-rate-delta",
            "0.005",
            "--max-p99-delta-ms",
            "80",
            "--service",
            "billing",
            "--dry-run",
            "--report",
            "r.json",
            "--project-dir",
            "/p",
            "--verbose",
            "--allow-pending-changes",
            "--on-error",
            "hold",
            "--policy-config",
            "policy/production.json",
        ]);
        expect(f).toEqual({
            stack: "dev",
            steps: "10,50,100",
            interval: "30s",
            prometheusUrl: "http://p:9090",
            maxErrorRate: "0.02",
            maxP99Ms: "300",
            minRequests: "50",
            maxWaitIntervals: "2",
            onNoData: "rollback",
            maxErrorRateDelta: "0.005",
            maxP99DeltaMs: "80",
            service: "billing",
            dryRun: true,
            report: "r.json",
            projectDir: "/p",
            verbose: true,
            allowPendingChanges: true,
            onError: "hold",
            policyConfig: "policy/production.json",
            noPolicy: false,
        });
    });
});

describe("resolvePlan: flags over stack config over defaults; namespace and services from the outputs", () => {
    test("defaults, with the URL from a flag", () => {
        const plan = resolvePlan(
            parseCli(["--stack", "dev", "--prometheus-url", "http://127.0.0.1:9090"]) as never,
            INFO,
        );
        expect(plan).toEqual({
            stack: "dev",
            service: "hello",
            namespace: "canary-demo",
            steps: [10, 25, 50, 100],
            interval: "60s",
            intervalSeconds: 60,
            thresholds: {
                maxErrorRate: 0.01,
                maxP99Ms: 500,
                minRequests: 20,
                maxErrorRateDelta: undefined,
                maxP99DeltaMs: undefined,
            },
            maxWaitIntervals: 3,
            onNoData: "halt",
            prometheusUrl: "http://127.0.0.1:9090",
            prometheusUrlSource: "--prometheus-url",
            allowPendingChanges: false,
            dryRun: false,
            verbose: false,
            onError: "rollback",
        });
    });

    test("stack config promotion is used, and flags override it", () => {
        const info = {
            ...INFO,
            promotion: JSON.stringify({
                steps: [20, 100],
                interval: "2m",
                maxP99Ms: 250,
                service: "billing",
                prometheusUrl: "https://prom.example/api",
            }),
        };
        const fromConfig = resolvePlan(parseCli(["--stack", "dev"]) as never, info);
        expect(fromConfig).toMatchObject({
            steps: [20, 100],
            intervalSeconds: 120,
            service: "billing",
            prometheusUrl: "https://prom.example/api",
            prometheusUrlSource: "config promotion.prometheusUrl",
        });
        expect(fromConfig.thresholds.maxP99Ms).toBe(250);
        const overridden = resolvePlan(
            parseCli([
                "--stack",
                "dev",
                "--steps",
                "10,50,100",
                "--interval",
                "5s",
                "--max-p99-ms",
                "900",
                "--service",
                "hello",
            ]) as never,
            info,
        );
        expect(overridden).toMatchObject({ steps: [10, 50, 100], intervalSeconds: 5, service: "hello" });
        expect(overridden.thresholds.maxP99Ms).toBe(900);
    });

    test("the URL falls back to the stack output prometheusUrl", () => {
        const plan = resolvePlan(parseCli(["--stack", "dev"]) as never, {
            ...INFO,
            prometheusUrl: "http://arms.example:9090/api/v1/prometheus/abc/123/cn-hangzhou",
        });
        expect(plan.prometheusUrl).toBe("http://arms.example:9090/api/v1/prometheus/abc/123/cn-hangzhou");
        expect(plan.prometheusUrlSource).toBe("stack output prometheusUrl");
    });

    test("bad flags, an unknown service and a missing URL are all reported at once", () => {
        expect(
            usageProblems(() =>
                resolvePlan(
                    parseCli([
                        "--stack",
                        "dev",
                        "--steps",
                        "10,50",
                        "--max-error-rate",
                        "five",
                        "--min-requests",
                        "0",
                        "--on-no-data",
                        "panic",
                        "--service",
                        "cart",
                        "--interval",
                        "60",
                    ]) as never,
                    INFO,
                ),
            ),
        ).toEqual([
            "--steps 10,50: must be strictly increasing whole numbers from 1 to 100, ending in 100 (e.g. 10,25,50,100)",
            '--interval 60: must be a duration such as "30s", "2m" or "1m30s"',
            "--max-error-rate five: must be a ratio from 0 to 1 (0.01 = 1 %)",
            "--min-requests 0: must be a whole number of at least 1",
            "--on-no-data panic: must be one of halt, rollback",
            'service "cart" is not canaried by stack dev (its services: hello, billing)',
            "no Prometheus URL: pass --prometheus-url, set promotion.prometheusUrl in the stack config, or export prometheusUrl from the stack",
        ]);
    });

    test("flags are checked before the stack is opened", () => {
        expect(flagOverrides(parseCli(["--stack", "dev", "--steps", "10,50", "--interval", "2m"]) as never)).toEqual({
            values: { interval: "2m" },
            problems: [
                "--steps 10,50: must be strictly increasing whole numbers from 1 to 100, ending in 100 (e.g. 10,25,50,100)",
            ],
        });
    });

    test("--on-error takes rollback or hold; --no-policy takes no --policy-config", () => {
        const problems = (...args: string[]) => flagOverrides(parseCli(["--stack", "dev", ...args]) as never).problems;
        expect(problems("--on-error", "hold")).toEqual([]);
        expect(problems("--on-error", "retry")).toEqual(["--on-error retry: must be one of rollback, hold"]);
        expect(problems("--no-policy", "--policy-config", "policy/production.json")).toEqual([
            "--no-policy and --policy-config: give one (--no-policy runs no pack, so it takes no config)",
        ]);
        expect(parseCli(["--stack", "dev", "--no-policy"])).toMatchObject({ noPolicy: true });
    });

    test("a stack never brought up has no outputs", () => {
        expect(
            usageProblems(() =>
                resolvePlan(parseCli(["--stack", "new", "--prometheus-url", "http://p"]) as never, {
                    project: "asm-canary",
                    canaryWeight: 0,
                }),
            ),
        ).toEqual(['stack new has no "namespace"/"services" outputs: run `pulumi up --stack new` on it first']);
    });

    test("a bad promotion value in the stack config is reported as such", () => {
        expect(
            usageProblems(() =>
                resolvePlan(parseCli(["--stack", "dev", "--prometheus-url", "http://p"]) as never, {
                    ...INFO,
                    promotion: '{"steps":[5]}',
                }),
            ),
        ).toEqual([
            "stack config promotion: steps must be strictly increasing whole numbers from 1 to 100, ending in 100 (e.g. [10, 25, 50, 100]) (got [5])",
        ]);
    });
});
