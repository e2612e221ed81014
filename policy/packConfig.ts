/**
 * The policy pack's names, default enforcement levels and config (the JSON file given to
 * `pulumi preview --policy-pack-config`): the one source for policy/policies.ts, the config check and
 * docs/policies.md. Pure (no Pulumi import, no I/O); the pack loads it, so ES2020 only (policy/analyzer:
 * run-policy-pack compiles the pack for ES2020). policy/configFile.ts reads a config file.
 *
 * A config file maps a policy name (or "all") to an enforcement level, or to an object with
 * `enforcementLevel` and the policy's own settings
 * (https://www.pulumi.com/docs/iac/using-pulumi/crossguard/configuration/):
 *   { "all": "advisory", "production-mtls-strict": "mandatory", "canary-weight-step": { "maxStep": 20 } }
 */
export const POLICY = {
    routeSubsets: "canary-route-subsets",
    weightStep: "canary-weight-step",
    mtlsStrict: "production-mtls-strict",
    authorization: "production-authorization-policy",
    noFault: "production-no-fault-injection",
    deletionProtection: "production-deletion-protection",
    privateApi: "production-private-api-endpoint",
    egress: "production-egress-registry-only",
    deployments: "mesh-deployment-hygiene",
} as const;
export type PolicyName = (typeof POLICY)[keyof typeof POLICY];
export const POLICY_NAMES: readonly PolicyName[] = Object.values(POLICY);

/** The levels a stack can give a policy ("remediate" is left out: no policy here changes inputs). */
export const LEVELS = ["advisory", "mandatory", "disabled"] as const;
export type Level = (typeof LEVELS)[number];

/**
 * Levels without a config file. The production rules are off: a stack declares itself production by
 * running the pack with policy/production.json (PRODUCTION_LEVELS), which turns them on.
 */
export const DEFAULT_LEVELS: Readonly<Record<PolicyName, Level>> = {
    [POLICY.routeSubsets]: "mandatory",
    [POLICY.weightStep]: "mandatory",
    [POLICY.mtlsStrict]: "disabled",
    [POLICY.authorization]: "disabled",
    [POLICY.noFault]: "disabled",
    [POLICY.deletionProtection]: "disabled",
    [POLICY.privateApi]: "disabled",
    [POLICY.egress]: "disabled",
    [POLICY.deployments]: "advisory",
};

/** What policy/production.json sets: every production rule mandatory, except egress (advisory). */
export const PRODUCTION_LEVELS: Readonly<Partial<Record<PolicyName, Level>>> = {
    [POLICY.mtlsStrict]: "mandatory",
    [POLICY.authorization]: "mandatory",
    [POLICY.noFault]: "mandatory",
    [POLICY.deletionProtection]: "mandatory",
    [POLICY.privateApi]: "mandatory",
    [POLICY.egress]: "advisory",
};

/** canary-weight-step's default: a step may raise a canary's weight by at most this many points. */
export const DEFAULT_MAX_WEIGHT_STEP = 50;

/** canary-weight-step's settings. */
export interface WeightStepConfig {
    maxStep?: number;
    /** Canary weight in force per VirtualService name (= service), e.g. { "echo": 10 }. */
    previousWeights?: Record<string, number>;
}

/** The settings each policy takes besides `enforcementLevel`. */
const SETTINGS: Readonly<Partial<Record<PolicyName, readonly string[]>>> = {
    [POLICY.weightStep]: ["maxStep", "previousWeights"],
};

const show = (v: unknown) => JSON.stringify(v);
const isLevel = (v: unknown): v is Level => (LEVELS as readonly unknown[]).includes(v);

/** One problem per name that is neither a policy of the pack nor "all", with the names allowed. */
export function unknownPolicyProblems(names: Iterable<string>): string[] {
    return [...names]
        .filter((n) => n !== "all" && !(POLICY_NAMES as readonly string[]).includes(n))
        .map((n) => `unknown policy ${show(n)}; the policies are: all, ${POLICY_NAMES.join(", ")}`);
}

/**
 * Every problem of a parsed pack config, each naming the key, the value given and what is allowed. The
 * engine itself lets an unknown policy name through and refuses a bad level without listing the levels.
 */
export function packConfigProblems(config: unknown): string[] {
    if (typeof config !== "object" || config === null || Array.isArray(config)) {
        return [`the pack config must be a JSON object of policy name -> level or settings; got ${show(config)}`];
    }
    const problems: string[] = [];
    const levels = LEVELS.join(", ");
    for (const [key, value] of Object.entries(config)) {
        const unknown = unknownPolicyProblems([key]);
        if (unknown.length > 0) {
            problems.push(...unknown);
            continue;
        }
        if (typeof value === "string" || key === "all") {
            if (!isLevel(value)) {
                problems.push(`${key}: enforcement level ${show(value)} is not one of ${levels}`);
            }
            continue;
        }
        if (typeof value !== "object" || value === null || Array.isArray(value)) {
            problems.push(`${key}: got ${show(value)}; give a level (${levels}) or an object of settings`);
            continue;
        }
        const allowed = ["enforcementLevel", ...(SETTINGS[key as PolicyName] ?? [])];
        for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
            if (!allowed.includes(k)) {
                problems.push(`${key}: unknown setting ${show(k)}; allowed: ${allowed.join(", ")}`);
            } else if (k === "enforcementLevel" && !isLevel(v)) {
                problems.push(`${key}: enforcement level ${show(v)} is not one of ${levels}`);
            }
        }
    }
    return problems;
}
