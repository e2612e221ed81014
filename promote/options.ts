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
    PROMOTION_DEFAULTS,
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

const D = PROMOTION_DEFAULTS;

/** --help: every flag with its default (the analysis defaults from config/promotion.ts, their one source). */
export const USAGE = `Usage: npm run promote -- --stack <name> [options]

Walks the stack's canaryWeight (or one service's own) through steps (pulumi config set + pulumi up at each),
judging every canary it moves on live Istio metrics from Prometheus after each; rolls back to 0 by itself
when a step fails.

  --stack <name>               stack to promote (required)
  --steps <list>               weights to walk, strictly increasing, ending in 100 (default ${D.steps.join(",")})
  --interval <duration>        analysis interval per step, e.g. 60s, 2m, 1m30s (default ${D.interval})
  --prometheus-url <url>       Prometheus HTTP API base URL (default: config promotion.prometheusUrl,
                               then the stack output prometheusUrl)
  --max-error-rate <ratio>     highest canary 5xx ratio, e.g. 0.01 = 1% (default ${D.maxErrorRate})
  --max-p99-ms <ms>            highest canary p99 latency (default ${D.maxP99Ms})
  --min-requests <n>           fewer canary requests in an interval = not enough data, never a pass
                               (default ${D.minRequests})
  --max-wait-intervals <n>     extra intervals to wait for enough data before --on-no-data (default ${D.maxWaitIntervals})
  --on-no-data <halt|rollback> then: stay at the weight in force (exit 3) or roll back (exit 2)
                               (default ${D.onNoData})
  --max-error-rate-delta <r>   fail when the canary's error ratio exceeds stable (v1)'s by more than r
                               (default: off)
  --max-p99-delta-ms <ms>      fail when the canary's p99 exceeds stable (v1)'s by more than this
                               (default: off)
  --service <name>             promote only this service: its own canaryWeight (services[i].canaryWeight)
                               when it has one; refused when the stack's canaryWeight would move others
                               (default: the stack's canaryWeight, judging every service it moves)
  --no-finalize                stop at 100: do not finish the release (each described service moved:
                               stable.image := its canary's, canary.replicas := 0; the weight := 0; one up)
                               (default: finish it)
  --allow-pending-changes      start even if a plain pulumi up would change something besides the weight
                               (the first step's plan may then carry those changes; later steps may not)
                               (default: off, such a stack is refused)
  --on-error <rollback|hold>   a step that fails for any other reason (its preview, plan check, policy or
                               up) once traffic has moved: roll back to 0 (default) or hold the weight in
                               force (exit 1)
  --policy-config <file>       the stack's policy pack config (policy/production.json for a production
                               stack; default: policy/<stack>.json in the project when it exists, else the
                               pack's default levels)
  --no-policy                  do not run the policy pack (policy/analyzer) on each step's preview:
                               skips the canary-weight-step limit, the route checks and, with a production
                               pack config, the production rules; the plan check still runs
                               (default: off, the pack runs)
  --dry-run                    print the plan and the PromQL, probe Prometheus, change nothing (default: off)
  --report <file>              write the whole run as JSON (default: none)
  --project-dir <dir>          the Pulumi project (default: this repository)
  --verbose                    stream pulumi up's own output (default: off)
  -h, --help                   this text

Defaults for the analysis settings come from the stack config key "promotion" (see Pulumi.yaml).
Prometheus auth from the environment: PROMETHEUS_BEARER_TOKEN (Bearer <token>), PROMETHEUS_AUTHORIZATION
(the Authorization header as is), or PROMETHEUS_USERNAME + PROMETHEUS_PASSWORD (basic auth).
The Pulumi backend and secrets passphrase come from the environment, as for any pulumi command; for
--stack render without PULUMI_BACKEND_URL, the render stack's own (.render/state, passphrase "render").

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
    onError?: string;
    policyConfig?: string;
    noPolicy: boolean;
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
                "on-error": { type: "string" },
                "policy-config": { type: "string" },
                "no-policy": { type: "boolean" },
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
        onError: v["on-error"],
        policyConfig: v["policy-config"],
        noPolicy: Boolean(v["no-policy"]),
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
    /** A step that fails once traffic has moved: roll back to 0 (absent: rollback) or hold the weight. */
    onError?: OnError;
    /** The policy pack run on every step's preview and on the finishing up (absent: --no-policy). */
    policy?: PolicySetting;
}

export const ON_ERROR = ["rollback", "hold"] as const;
export type OnError = (typeof ON_ERROR)[number];

/** The policy pack a run uses, and the stack's own pack config (merged per step: promote/guard.ts). */
export interface PolicySetting {
    /** The pack: policy/analyzer of the project. */
    pack: string;
    /** The stack's pack config (policy name -> level or settings); {} for the pack's default levels. */
    config: Record<string, unknown>;
    /** Where the config came from: a file, or "the pack's default levels". */
    source: string;
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
    if (flags.onError !== undefined && !(ON_ERROR as readonly string[]).includes(flags.onError)) {
        problems.push(`--on-error ${flags.onError}: must be one of ${ON_ERROR.join(", ")}`);
    }
    if (flags.noPolicy && flags.policyConfig !== undefined) {
        problems.push("--no-policy and --policy-config: give one (--no-policy runs no pack, so it takes no config)");
    }
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
        onError: (flags.onError as OnError | undefined) ?? "rollback",
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
        problems.push(
            `stack ${stack} has no "namespace"/"services" outputs: run \`pulumi up --stack ${stack}\` on it first`,
        );
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

/**
 * The environment the stack is opened with. `--stack render` without PULUMI_BACKEND_URL: the render stack's
 * own backend and passphrase, where `npm run render` keeps it (scripts/render.ts: .render/state, "render";
 * the caller drops a PULUMI_CONFIG_PASSPHRASE_FILE meant for the user's own stacks, as render.ts does).
 * Otherwise nothing added.
 */
export function stackEnv(
    stack: string,
    projectDir: string,
    env: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
    if (stack !== "render" || env.PULUMI_BACKEND_URL) {
        return {};
    }
    return {
        PULUMI_BACKEND_URL: `file://${projectDir}/.render/state`,
        PULUMI_CONFIG_PASSPHRASE: "render",
    };
}
