/**
 * What one promotion moves and judges, from the stack's `services` config (config/services.ts): the config
 * key the walk steps up, every service that key moves (each judged on its own metrics), and the release the
 * run finishes at 100. Pure: tests/promote/release.test.ts.
 *
 * A service with its own `canaryWeight` (config/routing.ts `routingFor`) is moved by `services[i].canaryWeight`
 * and nothing else; every other service (a demo name, or a described one without a weight) follows the stack's
 * `canaryWeight`, so a step of that key moves all of them at once.
 *
 * Finishing (docs/services.md, "A release"): every described service the key moved gets its canary's image as
 * its stable image and its canary scaled to 0, and the key goes back to 0, all in ONE config change and one up
 * (the program orders it: stable rolled out, then the route, then the canary scaled down). A demo service has
 * no image to make stable, and the stack's weight back to 0 would send it back to v1: a release that moved one
 * is not finished (it stays at 100, and the run says why).
 */
import type { DescribedService, Protocol, ServiceSpec } from "../config/services";

/** One service a step moves, with what its queries need. */
export interface JudgedService {
    name: string;
    protocol: Protocol;
}

/** A described service whose canary becomes its stable version. */
export interface FinishedService {
    /** Its position in `services` (the config paths name it). */
    index: number;
    name: string;
    canaryImage: string;
}

/** The release finished at 100: what each service becomes, and the one config change that does it. */
export interface Finish {
    /** The services finished, in config order. */
    services: FinishedService[];
    /**
     * The config values set together before one `up`, as `pulumi config set --path` keys: each service's
     * `stable.image`, the weight key back to 0, each service's `canary.replicas` 0 (the order the up applies them).
     */
    config: Record<string, string | number>;
}

export interface Release {
    /** The config key the walk sets: `canaryWeight` or `services[<i>].canaryWeight`. */
    weightKey: string;
    /** Set with `pulumi config set --path` (a key inside `services`). */
    weightKeyIsPath: boolean;
    /** Every service the key moves, in config order: each is judged, any failing rolls all back. */
    judged: JudgedService[];
    /** The release finished after the 100 step (unless --no-finalize). */
    finish?: Finish;
    /**
     * Why a stack with described services will not have this release finished by promote (a demo service
     * moves with them); absent on a demo-only stack, which has no release to finish.
     */
    notFinished?: string;
}

const STACK_KEY = "canaryWeight";

const judgedOf = (s: ServiceSpec): JudgedService => ({
    name: s.name,
    protocol: s.kind === "described" ? s.protocol : "http",
});

const ownWeight = (s: ServiceSpec): boolean => s.kind !== "demo" && s.canaryWeight !== undefined;

/**
 * A brought service (services[i].existing) cannot be promoted yet: its metrics live in its own namespace
 * under its own Deployments' names, and the step's plan check, rollback and queries all look in the stack's
 * namespace at `<service>-v1`/`-v2`. Refused up front rather than judged on series that do not exist.
 */
function broughtProblem(stack: string, services: readonly ServiceSpec[], moved: readonly ServiceSpec[]) {
    const brought = moved.find((s) => s.kind === "existing");
    if (brought?.kind !== "existing") {
        return undefined;
    }
    const at = `services[${services.indexOf(brought)}]`;
    const key = brought.canaryWeight === undefined ? "canaryWeight" : `${at}.canaryWeight`;
    const set = key === "canaryWeight" ? `pulumi config set canaryWeight` : `pulumi config set --path '${key}'`;
    return {
        problem:
            `${brought.name} is a brought service (${at}.existing: namespace ${brought.namespace}, Deployments ` +
            `${brought.stable.deployment} and ${brought.canary.deployment}), which promote cannot judge yet: move its weight ` +
            `step by step with \`${set} <weight> --stack ${stack} && pulumi up --stack ${stack}\` (docs/services.md)`,
    };
}

/** The finishing config change of `moved` (described services, with their index) moved by `weightKey`. */
function finishOf(weightKey: string, moved: FinishedService[]): Finish {
    const at = (f: FinishedService) => `services[${f.index}]`;
    return {
        services: moved,
        config: Object.fromEntries<string | number>([
            ...moved.map((f): [string, string] => [`${at(f)}.stable.image`, f.canaryImage]),
            [weightKey, 0],
            ...moved.map((f): [string, number] => [`${at(f)}.canary.replicas`, 0]),
        ]),
    };
}

/** The release of the stack's `canaryWeight` moving `moved`: finished when they are all described services. */
function stackWeight(services: readonly ServiceSpec[], moved: readonly ServiceSpec[]): Release {
    const release: Release = { weightKey: STACK_KEY, weightKeyIsPath: false, judged: moved.map(judgedOf) };
    const described = moved.filter((s): s is DescribedService => s.kind === "described");
    const demos = moved.filter((s) => s.kind === "demo").map((s) => s.name);
    if (demos.length === 0) {
        release.finish = finishOf(
            STACK_KEY,
            described.map((s) => ({ index: services.indexOf(s), name: s.name, canaryImage: s.canary.image })),
        );
    } else if (described.length > 0) {
        const names = described.map((s) => s.name).join(", ");
        release.notFinished =
            `the stack's canaryWeight also moves the demo service${demos.length > 1 ? "s" : ""} ${demos.join(", ")}, with no image ` +
            `to make stable, which would go back to v1 with the weight: ${names} ${described.length > 1 ? "stay" : "stays"} at 100 ` +
            `(finish by hand: docs/services.md; or give ${names} ${described.length > 1 ? "their" : "its"} own canaryWeight)`;
    } else if (services.some((s) => s.kind === "described")) {
        release.notFinished = `${demos.join(", ")} ${demos.length > 1 ? "are demo services" : "is a demo service"}, with no image to make stable: it stays at 100`;
    }
    return release;
}

/** The finishing config change, as commands to type (a --no-finalize run prints it), each naming the stack. */
export function finishCommand(finish: Finish, stack: string): string {
    return [
        ...Object.entries(finish.config).map(([k, v]) =>
            /[.[]/.test(k) ? `pulumi config set --path '${k}' ${v}` : `pulumi config set ${k} ${v}`,
        ),
        "pulumi up",
    ]
        .map((command) => `${command} --stack ${stack}`)
        .join(" && ");
}

/** What runs after finishing: "reviews runs reg/reviews:1.1 as its stable version, its canary scaled to 0". */
export function finishedText(finish: Finish): string {
    const runs = finish.services.map((f) => `${f.name} runs ${f.canaryImage}`).join(", ");
    return finish.services.length > 1
        ? `${runs} as their stable versions, their canaries scaled to 0`
        : `${runs} as its stable version, its canary scaled to 0`;
}

/**
 * The release for `requested` (--service or config promotion.service; undefined: the stack's weight and every
 * service it moves). Returns the problem instead when the request cannot be done without moving services
 * nobody asked for, or when it names no weight that moves anything.
 */
export function resolveRelease(
    stack: string,
    services: readonly ServiceSpec[],
    requested: string | undefined,
): Release | { problem: string } {
    const followers = services.filter((s) => !ownWeight(s));
    if (requested === undefined) {
        if (followers.length === 0) {
            // Several own weights in one run would be several releases at once, each with its own finish and
            // a rollback that takes down the healthy ones with the broken one: one run per service instead.
            const names = services.map((s) => s.name);
            return {
                problem:
                    `every service of stack ${stack} has its own canaryWeight (${names.join(", ")}), so the stack's canaryWeight moves none of them: ` +
                    `promote one service per run with --service <name> (\`npm run promote -- --stack ${stack} --service ${names[0]}\`` +
                    `${names.length > 1 ? `, then --service ${names.slice(1).join(", then --service ")}` : ""}); ` +
                    "to move services together in one run, remove their own canaryWeight so that they follow the stack's (docs/promotion.md)",
            };
        }
        return broughtProblem(stack, services, followers) ?? stackWeight(services, followers);
    }
    const index = services.findIndex((s) => s.name === requested);
    const service = services[index];
    if (service === undefined) {
        // resolvePlan reports an unknown service against the stack's outputs.
        return { weightKey: STACK_KEY, weightKeyIsPath: false, judged: [{ name: requested, protocol: "http" }] };
    }
    const brought = broughtProblem(stack, services, [service]);
    if (brought) {
        return brought;
    }
    if (service.kind === "described" && service.canaryWeight !== undefined) {
        const key = `services[${index}].canaryWeight`;
        return {
            weightKey: key,
            weightKeyIsPath: true,
            judged: [judgedOf(service)],
            finish: finishOf(key, [{ index, name: service.name, canaryImage: service.canary.image }]),
        };
    }
    const others = followers.filter((s) => s !== service);
    if (others.length > 0) {
        const fix =
            service.kind === "described"
                ? `, or give ${service.name} its own weight first: \`pulumi config set --path 'services[${index}].canaryWeight' 0 --stack ${stack}\`, then \`pulumi up --stack ${stack}\``
                : ` (${service.name} is a demo service: it always follows the stack's canaryWeight)`;
        return {
            problem:
                `service ${service.name} follows the stack's canaryWeight, and so do ${others.map((s) => s.name).join(", ")}: ` +
                `moving it would move them too. Promote without --service to move and judge all of them${fix}`,
        };
    }
    return stackWeight(services, [service]);
}
