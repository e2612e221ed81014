/**
 * What holds a promotion step to what it says it does (issue 19): the policy pack's config for the step (the
 * stack's own pack config with the weights in force before the step, for `canary-weight-step`), the check
 * that the step's saved plan changes exactly the VirtualServices of the services it moves, and the check of
 * every planned weight against the program's own config validation. Pure: tests/promote/guard.test.ts.
 */
import { parseConfig, SECRET_KEYS } from "../config/stackConfig";
import { POLICY } from "../policy/packConfig";
import { PlannedChange, PreviewResult, VIRTUAL_SERVICE_TYPE } from "./stack";

/**
 * The pack config for one step: `base` (the stack's pack config, e.g. policy/production.json) with
 * `canary-weight-step`'s `previousWeights` set to the weights in force before the step, keeping that
 * policy's level and `maxStep` from `base`. The policy framework sees only the new inputs, so without
 * them it could not tell a step's size (policy/policies.ts).
 */
export function stepPackConfig(
    base: Readonly<Record<string, unknown>>,
    previousWeights: Readonly<Record<string, number>>,
): Record<string, unknown> {
    const given = base[POLICY.weightStep];
    const settings = typeof given === "string" ? { enforcementLevel: given } : (given ?? {});
    return { ...base, [POLICY.weightStep]: { ...settings, previousWeights: { ...previousWeights } } };
}

/** A planned change as a person reads it: `update VirtualService canary-demo/hello`. */
export function describeChange(c: PlannedChange): string {
    const kind = c.type.split(":").pop() ?? c.type;
    return `${c.op} ${kind} ${c.object ?? c.name}`;
}

/** A step's plan, held to what the step says it does. */
export interface PlanCheck {
    /** The VirtualServices the step moves (`namespace/name`), the only changes it may plan. */
    expected: string[];
    /** Every change the preview planned, as describeChange words it. */
    planned: string[];
    /** Planned changes outside `expected`: any of them aborts the step. */
    unexpected: string[];
    /** VirtualServices the step moves that the plan does not update. */
    missing: string[];
    /** Unexpected changes let through by --allow-pending-changes (the first step only). */
    accepted?: string[];
    ok: boolean;
}

/**
 * Checks a step's planned changes: exactly one update of the VirtualService of each moved service (named
 * after the service, in `namespace`: mesh/canaryRouting.ts) and nothing else. `allowOthers` (first step
 * with --allow-pending-changes) lets the other changes through, recorded as accepted.
 */
export function checkPlan(
    changes: readonly PlannedChange[],
    services: readonly string[],
    namespace: string,
    allowOthers = false,
): PlanCheck {
    const expected = services.map((s) => `${namespace}/${s}`);
    const isExpected = expectedChange(services, namespace);
    const unexpected = changes.filter((c) => !isExpected(c)).map(describeChange);
    const updated = new Set(changes.filter(isExpected).map((c) => c.object));
    const missing = expected.filter((o) => !updated.has(o));
    const check: PlanCheck = {
        expected,
        planned: changes.map(describeChange),
        unexpected: allowOthers ? [] : unexpected,
        missing,
        ok: missing.length === 0 && (allowOthers || unexpected.length === 0),
    };
    if (allowOthers && unexpected.length > 0) {
        check.accepted = unexpected;
    }
    return check;
}

/** Whether a planned change is one a step expects: the update of a moved service's VirtualService. */
function expectedChange(services: readonly string[], namespace: string): (c: PlannedChange) => boolean {
    const expected = services.map((s) => `${namespace}/${s}`);
    return (c) =>
        c.op === "update" && VIRTUAL_SERVICE_TYPE.test(c.type) && c.object !== undefined && expected.includes(c.object);
}

/**
 * The URNs a step's `up` is targeted at (`pulumi up --target`): the planned updates of the moved services'
 * VirtualServices, in plan order. The engine then takes every other resource as it is in the state, without
 * asking the provider to check or diff it: for 50 services that is ~360 resources, two provider calls each,
 * one after the other (pkg/resource/deploy step_generator.go, "not being in target group", v3.274), ~1.2 s
 * of the step (docs/development.md "Weight step benchmark"). Only for a plan that checkPlan passed without
 * `allowOthers`: the plan changes these and nothing else, so the target leaves out nothing the plan does.
 */
export function stepTargets(
    changes: readonly PlannedChange[],
    services: readonly string[],
    namespace: string,
): string[] {
    return changes.filter(expectedChange(services, namespace)).map((c) => c.urn);
}

/**
 * What a step's `up` is targeted at: the plan's VirtualServices (stepTargets), or nothing (undefined: the
 * whole stack, still held to the plan) when the plan also carries the pending changes let through
 * (`check.accepted`: they must be applied with it) or the preview found that a targeted `up` would fail
 * (`preview.targetingProblem`: stack.ts targetingProblem).
 */
export function upTargets(
    preview: PreviewResult,
    check: PlanCheck,
    services: readonly string[],
    namespace: string,
): string[] | undefined {
    return check.accepted || preview.targetingProblem ? undefined : stepTargets(preview.changes, services, namespace);
}

/** Why a plan check failed, in one sentence. */
export function planCheckProblem(c: PlanCheck): string {
    const parts: string[] = [];
    if (c.unexpected.length > 0) {
        parts.push(`it would also ${c.unexpected.join(", ")}`);
    }
    if (c.missing.length > 0) {
        parts.push(`it would not update VirtualService ${c.missing.join(", ")}`);
    }
    return parts.join("; and ");
}

/** The stack config as the program reads it: key -> value text, the secret keys left out (only their presence). */
export interface RawConfig {
    values: Record<string, string>;
    hasSecretKubeconfig: boolean;
}

/** `raw` with the weight key set to `weight`: `canaryWeight`, or a service's own `services[<i>].canaryWeight`. */
export function withWeight(raw: Readonly<Record<string, string>>, key: string, weight: number): Record<string, string> {
    const path = /^services\[(\d+)\]\.canaryWeight$/.exec(key);
    if (!path) {
        return { ...raw, [key]: String(weight) };
    }
    if (raw.services === undefined) {
        return { ...raw }; // no services config: the key moves nothing (promote/release.ts never names one then)
    }
    const services = JSON.parse(raw.services) as Array<Record<string, unknown>>;
    const i = Number(path[1]);
    const copy = services.map((s, n) => (n === i ? { ...s, canaryWeight: weight } : s));
    return { ...raw, services: JSON.stringify(copy) };
}

/**
 * The program's own refusals (config/stackConfig.ts parseConfig) of each weight of the walk, e.g. weight
 * 100 with mirrorPercent set: `[weight, problems]` for each weight the config refuses.
 */
export function walkProblems(
    raw: RawConfig,
    key: string,
    weights: readonly number[],
): Array<{ weight: number; problems: string[] }> {
    const out: Array<{ weight: number; problems: string[] }> = [];
    const secret = new Set<string>(SECRET_KEYS);
    const values = Object.fromEntries(Object.entries(raw.values).filter(([k]) => !secret.has(k)));
    for (const weight of weights) {
        try {
            parseConfig(withWeight(values, key, weight), raw.hasSecretKubeconfig);
        } catch (e) {
            const problems = (e as { problems?: string[] }).problems ?? [(e as Error).message];
            out.push({ weight, problems });
        }
    }
    return out;
}
