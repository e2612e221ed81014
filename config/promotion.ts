/**
 * The `promotion` stack config key: how `npm run promote` walks canaryWeight (promote/cli.ts). The Pulumi
 * program itself only validates it (config/stackConfig.ts), so a typo is refused by `pulumi preview` as for every
 * other key; the promote tool reads the same key with the same parser and lets its flags override it.
 *
 * Pure (no Pulumi import): the promote tool compiles this file alone.
 */

/** What happens when an interval keeps having too few requests after `maxWaitIntervals` more tries. */
const ON_NO_DATA = ["halt", "rollback"] as const;
export type OnNoData = (typeof ON_NO_DATA)[number];

export interface PromotionConfig {
    /** canaryWeight values to walk through, strictly increasing, ending in 100. */
    steps: number[];
    /** Analysis interval per step, e.g. "60s", "2m", "1m30s". */
    interval: string;
    /** Highest acceptable canary 5xx ratio (0-1) over an interval. */
    maxErrorRate: number;
    /** Highest acceptable canary p99 latency (ms) over an interval. */
    maxP99Ms: number;
    /** Fewer canary requests than this in an interval is "not enough data", never a pass. */
    minRequests: number;
    /** How many extra intervals to wait for enough data before `onNoData`. */
    maxWaitIntervals: number;
    /** After that: stay at the weight in force ("halt", exit 3) or go back to 0 ("rollback", exit 2). */
    onNoData: OnNoData;
    /** Optional: fail when the canary's error ratio exceeds the stable version's by more than this. */
    maxErrorRateDelta?: number;
    /** Optional: fail when the canary's p99 exceeds the stable version's by more than this (ms). */
    maxP99DeltaMs?: number;
    /** Which canaried service's metrics gate the promotion (default: the first of `services`). */
    service?: string;
    /** Prometheus HTTP API base URL (default: the stack output `prometheusUrl`, when the stack has one). */
    prometheusUrl?: string;
}

/**
 * Defaults. A 60 s interval with 20 requests suits a service with some steady traffic; 1 % errors and a
 * 500 ms p99 are conservative starting points for an HTTP echo service; `halt` is the cautious answer to
 * missing data (a human decides), `rollback` is for unattended pipelines.
 */
export const PROMOTION_DEFAULTS: PromotionConfig = {
    steps: [10, 25, 50, 100],
    interval: "60s",
    maxErrorRate: 0.01,
    maxP99Ms: 500,
    minRequests: 20,
    maxWaitIntervals: 3,
    onNoData: "halt",
};

/** A fresh copy of the defaults. */
export function defaultPromotion(): PromotionConfig {
    return { ...PROMOTION_DEFAULTS, steps: [...PROMOTION_DEFAULTS.steps] };
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DURATION = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/** "90s" / "2m" / "1m30s" / "1h" -> seconds; undefined when malformed or zero. */
export function durationSeconds(text: string): number | undefined {
    const m = DURATION.exec(text.trim());
    if (!m || text.trim() === "") {
        return undefined;
    }
    const s = Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
    return s > 0 ? s : undefined;
}

// Field checks: each returns undefined when fine, otherwise the reason ("must be …"). The CLI flags use the
// same checks (promote/options.ts), so a flag and a config value are held to the same rules.
export const checks = {
    steps(v: unknown): string | undefined {
        const ok =
            Array.isArray(v) &&
            v.length > 0 &&
            v.every((s, i) => Number.isInteger(s) && s >= 1 && s <= 100 && (i === 0 || s > v[i - 1])) &&
            v[v.length - 1] === 100;
        return ok
            ? undefined
            : "must be strictly increasing whole numbers from 1 to 100, ending in 100 (e.g. [10, 25, 50, 100])";
    },
    interval(v: unknown): string | undefined {
        return typeof v === "string" && durationSeconds(v) !== undefined
            ? undefined
            : 'must be a duration such as "30s", "2m" or "1m30s"';
    },
    maxErrorRate(v: unknown): string | undefined {
        return isNumber(v) && v >= 0 && v <= 1 ? undefined : "must be a ratio from 0 to 1 (0.01 = 1 %)";
    },
    maxP99Ms(v: unknown): string | undefined {
        return isNumber(v) && v > 0 ? undefined : "must be a number of milliseconds above 0";
    },
    minRequests(v: unknown): string | undefined {
        return Number.isInteger(v) && (v as number) >= 1 ? undefined : "must be a whole number of at least 1";
    },
    maxWaitIntervals(v: unknown): string | undefined {
        return Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 1000
            ? undefined
            : "must be a whole number from 0 to 1000";
    },
    onNoData(v: unknown): string | undefined {
        return (ON_NO_DATA as readonly unknown[]).includes(v) ? undefined : `must be one of ${ON_NO_DATA.join(", ")}`;
    },
    maxErrorRateDelta(v: unknown): string | undefined {
        return isNumber(v) && v >= 0 && v <= 1 ? undefined : "must be a ratio from 0 to 1";
    },
    maxP99DeltaMs(v: unknown): string | undefined {
        return isNumber(v) && v >= 0 ? undefined : "must be a number of milliseconds, 0 or more";
    },
    service(v: unknown): string | undefined {
        return typeof v === "string" && DNS_LABEL.test(v) ? undefined : "must be a service name (DNS-1123 label)";
    },
    prometheusUrl(v: unknown): string | undefined {
        if (typeof v === "string") {
            try {
                const u = new URL(v);
                if ((u.protocol === "http:" || u.protocol === "https:") && !u.username && !u.password) {
                    return undefined;
                }
            } catch {
                // falls through
            }
        }
        return "must be an http(s) URL without credentials (set those in the environment: see docs/promotion.md)";
    },
} satisfies Record<keyof PromotionConfig, (v: unknown) => string | undefined>;

function isNumber(v: unknown): v is number {
    return typeof v === "number" && Number.isFinite(v);
}

const NUMERIC = new Set([
    "maxErrorRate",
    "maxP99Ms",
    "minRequests",
    "maxWaitIntervals",
    "maxErrorRateDelta",
    "maxP99DeltaMs",
]);
const NUMBER_TEXT = /^-?\d+(\.\d+)?$/;

/**
 * `pulumi config set --path promotion.maxErrorRate 0.02` stores the string "0.02" (the CLI types whole
 * numbers and booleans only), and YAML authors quote numbers: numeric text counts as the number.
 */
function coerce(key: string, v: unknown): unknown {
    const num = (x: unknown) => (typeof x === "string" && NUMBER_TEXT.test(x.trim()) ? Number(x) : x);
    if (NUMERIC.has(key)) {
        return num(v);
    }
    return key === "steps" && Array.isArray(v) ? v.map(num) : v;
}

/**
 * Parses the `promotion` value as Pulumi hands it over (JSON text of an object; unset = defaults). Returns
 * the complete config (defaults for the keys not given) or the list of problems, each naming the setting
 * ("steps must be …"); the caller says that they are about `promotion`.
 */
export function parsePromotion(raw: string | undefined): { value: PromotionConfig } | { problems: string[] } {
    if (raw === undefined || raw === "") {
        return { value: defaultPromotion() };
    }
    let obj: unknown;
    try {
        obj = JSON.parse(raw);
    } catch {
        obj = undefined;
    }
    if (typeof obj !== "object" || obj === null || Array.isArray(obj)) {
        return { problems: ["must be an object such as {steps: [10, 25, 50, 100], interval: 60s}"] };
    }
    const problems: string[] = [];
    const value: Record<string, unknown> = { ...defaultPromotion() };
    for (const [key, given] of Object.entries(obj as Record<string, unknown>)) {
        const v = coerce(key, given);
        const check = (checks as Record<string, (v: unknown) => string | undefined>)[key];
        if (!check) {
            problems.push(`${key} is not a promotion setting (known: ${Object.keys(checks).join(", ")})`);
            continue;
        }
        const problem = check(v);
        if (problem) {
            problems.push(`${key} ${problem} (got ${JSON.stringify(v)})`);
        }
        value[key] = v;
    }
    return problems.length ? { problems } : { value: value as unknown as PromotionConfig };
}
