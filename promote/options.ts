/**
 * Command line of `npm run promote` and how it combines with the stack: flags override the stack config key
 * `promotion` (config/promotion.ts), which overrides the defaults; namespace and services come from the stack's
 * outputs (what the program actually deployed), never re-derived here. Pure: tests/promote/options.test.ts.
 */
import { parseArgs } from "util";
import type { Thresholds } from "./decision";
import {
    checks,
    defaultPromotion,
    durationSeconds,
    OnNoData,
    parsePromotion,
    PromotionConfig,
} from "../config/promotion";
import { parseServices } from "../config/services";
import { Release, resolveRelease } from "./release";
import type { StackInfo } from "./stack";

export class UsageError extends Error {
    constructor(readonly problems: string[]) {
        super(problems.join("\n"));
        this.name = "UsageError";
    }
}

export const USAGE = `Usage: npm run promote -- --stack <name> [options]

Walks the stack's canaryWeight (or one service's own) through steps (pulumi config set + pulumi up at each),
judging every canary it moves on live Istio metrics from Prometheus after each; rolls back to 0 by itself
when a step fails.

  --stack <name>               stack to promote (required)
  --steps <list>               weights to walk, e.g. 10,50,100 (strictly increasing, ending in 100)
  --interval <duration>        analysis interval per step, e.g. 60s, 2m, 1m30s
  --prometheus-url <url>       Prometheus HTTP API base URL (default: config promotion.prometheusUrl,
                               then the stack output prometheusUrl)
  --max-error-rate <ratio>     highest canary 5xx ratio, e.g. 0.01 (= 1%)
  --max-p99-ms <ms>            highest canary p99 latency
  --min-requests <n>           fewer canary requests in an interval = not enough data (never a pass)
  --max-wait-intervals <n>     extra intervals to wait for enough data before --on-no-data
  --on-no-data <halt|rollback> then: stay at the weight in force (exit 3) or roll back (exit 2)
  --max-error-rate-delta <r>   fail when the canary's error ratio exceeds stable (v1)'s by more than r
  --max-p99-delta-ms <ms>      fail when the canary's p99 exceeds stable (v1)'s by more than this
  --service <name>             promote only this service: its own canaryWeight (services[i].canaryWeight)
                               when it has one; refused when the stack's canaryWeight would move others
                               (default: the stack's canaryWeight, judging every service it moves)
  --no-finalize                stop at 100: do not finish the release (each described service moved:
                               stable.image := its canary's, canary.replicas := 0; the weight := 0; one up)
  --allow-pending-changes      start even if a plain pulumi up would change something besides the weight
  --dry-run                    print the plan and the PromQL, probe Prometheus, change nothing
  --report <file>              write the whole run as JSON
  --project-dir <dir>          the Pulumi project (default: this repository)
  --verbose                    stream pulumi up's own output
  -h, --help                   this text

Defaults for the analysis settings come from the stack config key "promotion" (see Pulumi.yaml).
Prometheus auth from the environment: PROMETHEUS_BEARER_TOKEN (Bearer <token>), PROMETHEUS_AUTHORIZATION
(the Authorization header as is), or PROMETHEUS_USERNAME + PROMETHEUS_PASSWORD (basic auth).
The Pulumi backend and secrets passphrase come from the environment, as for any pulumi command.

Exit codes: 0 promoted to 100 (or already there), 2 rolled back to 0, 3 halted (not enough data),
1 usage, configuration or infrastructure error (weight unchanged unless said otherwise), 130 interrupted.`;

export interface Flags {
    stack: string;
    steps?: string;
    interval?: string;
    prometheusUrl?: string;
    maxErrorRate?: string;
    maxP99Ms?: string;
    minRequests?: string;
    maxWaitIntervals?: string;
    onNoData?: string;
    maxErrorRateDelta?: string;
    maxP99DeltaMs?: string;
    service?: string;
    /** --no-finalize (absent when not given). */
    noFinalize?: boolean;
    allowPendingChanges: boolean;
    dryRun: boolean;
    report?: string;
    projectDir?: string;
    verbose: boolean;
}

/** Parses argv (without node and script). Returns "help" for -h/--help; throws UsageError otherwise. */
export function parseCli(argv: string[]): Flags | "help" {
    let parsed;
    try {
        parsed = parseArgs({
            args: argv,
            strict: true,
            allowPositionals: false,
            options: {
                stack: { type: "string", short: "s" },
                steps: { type: "string" },
                interval: { type: "string" },
                "prometheus-url": { type: "string" },
                "max-error-rate": { type: "string" },
                "max-p99-ms": { type: "string" },
                "min-requests": { type: "string" },
                "max-wait-intervals": { type: "string" },
                "on-no-data": { type: "string" },
                "max-error-rate-delta": { type: "string" },
                "max-p99-delta-ms": { type: "string" },
                service: { type: "string" },
                "no-finalize": { type: "boolean" },
                "allow-pending-changes": { type: "boolean" },
                "dry-run": { type: "boolean" },
                report: { type: "string" },
                "project-dir": { type: "string" },
                verbose: { type: "boolean" },
                help: { type: "boolean", short: "h" },
            },
        });
    } catch (e) {
        throw new UsageError([(e as Error).message]);
    }
    const v = parsed.values;
    if (v.help) {
        return "help";
    }
    if (!v.stack) {
        throw new UsageError(["--stack <name> is required"]);
    }
    return {
        stack: v.stack,
        steps: v.steps,
        interval: v.interval,
        prometheusUrl: v["prometheus-url"],
        maxErrorRate: v["max-error-rate"],
        maxP99Ms: v["max-p99-ms"],
        minRequests: v["min-requests"],
        maxWaitIntervals: v["max-wait-intervals"],
        onNoData: v["on-no-data"],
        maxErrorRateDelta: v["max-error-rate-delta"],
        maxP99DeltaMs: v["max-p99-delta-ms"],
        service: v.service,
        noFinalize: v["no-finalize"] ? true : undefined,
        allowPendingChanges: Boolean(v["allow-pending-changes"]),
        dryRun: Boolean(v["dry-run"]),
        report: v.report,
        projectDir: v["project-dir"],
        verbose: Boolean(v.verbose),
    };
}

/** Everything a run needs, resolved and validated. */
export interface Plan {
    stack: string;
    service: string;
    namespace: string;
    steps: number[];
    interval: string;
    intervalSeconds: number;
    thresholds: Thresholds;
    maxWaitIntervals: number;
    onNoData: OnNoData;
    prometheusUrl: string;
    /** Where the URL came from: "--prometheus-url", "config promotion.prometheusUrl" or "stack output prometheusUrl". */
    prometheusUrlSource: string;
    allowPendingChanges: boolean;
    dryRun: boolean;
    verbose: boolean;
    /**
     * The key the walk moves and the services it moves (each judged), from the stack's `services` config.
     * Absent when that config is not set (the Pulumi.yaml default, one demo service): the stack's
     * canaryWeight, judging `service`.
     */
    release?: Release;
    /** --no-finalize: stop at 100 (absent: finish the described services the walk moved, release.finish). */
    noFinalize?: boolean;
}

/** A number flag: Number() of the text, or NaN for "" (so the shared check reports it). */
function num(text: string): number {
    return text.trim() === "" ? NaN : Number(text);
}

/** The analysis settings given as flags, each checked like the same config setting (no stack needed). */
export function flagOverrides(flags: Flags): { values: Partial<PromotionConfig>; problems: string[] } {
    const problems: string[] = [];
    const values: Partial<PromotionConfig> = {};
    const override = <K extends keyof PromotionConfig>(
        key: K,
        flag: string,
        text: string | undefined,
        convert: (t: string) => PromotionConfig[K],
    ) => {
        if (text === undefined) {
            return;
        }
        const value = convert(text);
        const problem = checks[key](value);
        if (problem) {
            problems.push(`--${flag} ${text}: ${problem.replace(/\(e\.g\. \[(.*)\]\)/, "(e.g. 10,25,50,100)")}`);
            return;
        }
        values[key] = value;
    };
    override("steps", "steps", flags.steps, (t) => t.split(",").map((s) => num(s)));
    override("interval", "interval", flags.interval, (t) => t);
    override("prometheusUrl", "prometheus-url", flags.prometheusUrl, (t) => t);
    override("maxErrorRate", "max-error-rate", flags.maxErrorRate, num);
    override("maxP99Ms", "max-p99-ms", flags.maxP99Ms, num);
    override("minRequests", "min-requests", flags.minRequests, num);
    override("maxWaitIntervals", "max-wait-intervals", flags.maxWaitIntervals, num);
    override("onNoData", "on-no-data", flags.onNoData, (t) => t as OnNoData);
    override("maxErrorRateDelta", "max-error-rate-delta", flags.maxErrorRateDelta, num);
    override("maxP99DeltaMs", "max-p99-delta-ms", flags.maxP99DeltaMs, num);
    override("service", "service", flags.service, (t) => t);
    return { values, problems };
}

/** Combines flags, the stack's `promotion` config and its outputs into a Plan; throws UsageError listing every problem. */
export function resolvePlan(flags: Flags, info: StackInfo): Plan {
    const problems: string[] = [];
    const merged = mergedSettings(flags, info, problems);
    const { namespace, service: requested } = canariedService(flags.stack, merged, info, problems);
    const release = releaseOf(flags.stack, merged.service, info, problems);
    const service = release?.judged[0]?.name ?? requested;
    const { prometheusUrl, prometheusUrlSource } = prometheusOf(flags, merged, info, problems);
    if (problems.length) {
        throw new UsageError(problems);
    }
    return {
        stack: flags.stack,
        service: service!,
        namespace: namespace!,
        steps: merged.steps,
        interval: merged.interval,
        intervalSeconds: durationSeconds(merged.interval)!,
        thresholds: {
            maxErrorRate: merged.maxErrorRate,
            maxP99Ms: merged.maxP99Ms,
            minRequests: merged.minRequests,
            maxErrorRateDelta: merged.maxErrorRateDelta,
            maxP99DeltaMs: merged.maxP99DeltaMs,
        },
        maxWaitIntervals: merged.maxWaitIntervals,
        onNoData: merged.onNoData,
        prometheusUrl: prometheusUrl!,
        prometheusUrlSource,
        allowPendingChanges: flags.allowPendingChanges,
        dryRun: flags.dryRun,
        verbose: flags.verbose,
        release,
        noFinalize: flags.noFinalize,
    };
}

/**
 * The release (promote/release.ts) from the stack's `services` config, parsed as the program parses it; a
 * problem when the config is invalid or the request would move services nobody asked for.
 */
function releaseOf(
    stack: string,
    requested: string | undefined,
    info: StackInfo,
    problems: string[],
): Release | undefined {
    if (info.servicesConfig === undefined) {
        return undefined;
    }
    const parsed = parseServices(info.servicesConfig);
    if ("problems" in parsed) {
        problems.push(...parsed.problems.map((p) => `stack config ${p}`));
        return undefined;
    }
    const r = resolveRelease(stack, parsed.value, requested);
    if ("problem" in r) {
        problems.push(r.problem);
        return undefined;
    }
    return r;
}

/** The stack's `promotion` config (defaults when it is invalid, with its problems) with the flags over it. */
function mergedSettings(flags: Flags, info: StackInfo, problems: string[]): PromotionConfig {
    const parsedConfig = parsePromotion(info.promotion);
    let cfg: PromotionConfig;
    if ("problems" in parsedConfig) {
        problems.push(...parsedConfig.problems.map((p) => `stack config promotion: ${p}`));
        cfg = defaultPromotion();
    } else {
        cfg = parsedConfig.value;
    }
    const overrides = flagOverrides(flags);
    problems.push(...overrides.problems);
    return { ...cfg, ...overrides.values };
}

/** The namespace and the service to promote, from the stack's outputs: what the program deployed. */
function canariedService(
    stack: string,
    merged: PromotionConfig,
    info: StackInfo,
    problems: string[],
): { namespace: string | undefined; service: string | undefined } {
    // Without the outputs the stack has never been `up`ed.
    const namespace = info.namespace;
    const services = info.services ?? [];
    if (!namespace || services.length === 0) {
        problems.push(`stack ${stack} has no "namespace"/"services" outputs: run pulumi up on it first`);
    }
    const service = merged.service ?? services.at(0);
    if (services.length > 0 && service && !services.includes(service)) {
        problems.push(
            `service ${JSON.stringify(service)} is not canaried by stack ${stack} (its services: ${services.join(", ")})`,
        );
    }
    return { namespace, service };
}

/** The Prometheus URL and where it came from: --prometheus-url, the config, else the stack's output. */
function prometheusOf(
    flags: Flags,
    merged: PromotionConfig,
    info: StackInfo,
    problems: string[],
): { prometheusUrl: string | undefined; prometheusUrlSource: string } {
    let prometheusUrl = merged.prometheusUrl;
    let prometheusUrlSource = flags.prometheusUrl !== undefined ? "--prometheus-url" : "config promotion.prometheusUrl";
    if (!prometheusUrl && info.prometheusUrl) {
        if (checks.prometheusUrl(info.prometheusUrl)) {
            problems.push(
                `stack output prometheusUrl ${JSON.stringify(info.prometheusUrl)} is not usable: ${checks.prometheusUrl(info.prometheusUrl)}`,
            );
        }
        prometheusUrl = info.prometheusUrl;
        prometheusUrlSource = "stack output prometheusUrl";
    }
    if (!prometheusUrl) {
        problems.push(
            "no Prometheus URL: pass --prometheus-url, set promotion.prometheusUrl in the stack config, or export prometheusUrl from the stack",
        );
    }
    return { prometheusUrl, prometheusUrlSource };
}
