/**
 * What one promotion moves and judges, from the stack's `services` config (config/services.ts): the config
 * key the walk steps up, every service that key moves (each judged on its own metrics), and the described
 * service whose release the run may finish at 100. Pure: tests/promote/release.test.ts.
 *
 * A service with its own `canaryWeight` (config/routing.ts `routingFor`) is moved by `services[i].canaryWeight`
 * and nothing else; every other service (a demo name, or a described one without a weight) follows the stack's
 * `canaryWeight`, so a step of that key moves all of them at once.
 */
import type { Protocol, ServiceSpec } from "../config/services";

/** One service a step moves, with what its queries need. */
export interface JudgedService {
    name: string;
    protocol: Protocol;
}

export interface Release {
    /** The config key the walk sets: `canaryWeight` or `services[<i>].canaryWeight`. */
    weightKey: string;
    /** Set with `pulumi config set --path` (a key inside `services`). */
    weightKeyIsPath: boolean;
    /** Every service the key moves, in config order: each is judged, any failing rolls all back. */
    judged: JudgedService[];
    /** The described service moved by its own weight: its release can be finished at 100. */
    finish?: { index: number; name: string; canaryImage: string };
    /**
     * Why a stack with described services will not have this release finished by promote (its services
     * follow the stack's weight); absent on a demo-only stack, which has no release to finish.
     */
    notFinished?: string;
}

const STACK_KEY = "canaryWeight";

const judgedOf = (s: ServiceSpec): JudgedService => ({
    name: s.name,
    protocol: s.kind === "described" ? s.protocol : "http",
});

const ownWeight = (s: ServiceSpec): boolean => s.kind === "described" && s.canaryWeight !== undefined;

/** The release of the stack's `canaryWeight` moving `moved`; on a stack with described services, why it is not finished. */
function stackWeight(services: readonly ServiceSpec[], moved: readonly ServiceSpec[]): Release {
    const release: Release = { weightKey: STACK_KEY, weightKeyIsPath: false, judged: moved.map(judgedOf) };
    if (services.some((s) => s.kind === "described")) {
        release.notFinished =
            `${moved.map((s) => s.name).join(", ")} ${moved.length > 1 ? "follow" : "follows"} the stack's canaryWeight ` +
            "(only a described service promoted by its own canaryWeight is finished by promote; by hand: docs/services.md)";
    }
    return release;
}

/**
 * The release for `requested` (--service or config promotion.service; undefined: the stack's weight and every
 * service it moves). Returns the problem instead when the request cannot be done without moving services
 * nobody asked for.
 */
export function resolveRelease(
    stack: string,
    services: readonly ServiceSpec[],
    requested: string | undefined,
): Release | { problem: string } {
    const followers = services.filter((s) => !ownWeight(s));
    if (requested === undefined) {
        if (followers.length === 0) {
            return {
                problem:
                    `every service of stack ${stack} has its own canaryWeight, so the stack's canaryWeight moves none of them: ` +
                    `pass --service <name> (${services.map((s) => s.name).join(", ")})`,
            };
        }
        return stackWeight(services, followers);
    }
    const index = services.findIndex((s) => s.name === requested);
    const service = services[index];
    if (service === undefined) {
        // resolvePlan reports an unknown service against the stack's outputs.
        return { weightKey: STACK_KEY, weightKeyIsPath: false, judged: [{ name: requested, protocol: "http" }] };
    }
    if (service.kind === "described" && service.canaryWeight !== undefined) {
        return {
            weightKey: `services[${index}].canaryWeight`,
            weightKeyIsPath: true,
            judged: [judgedOf(service)],
            finish: { index, name: service.name, canaryImage: service.canary.image },
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
