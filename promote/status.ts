/**
 * `npm run status -- --stack <name>`: the stack at a glance, per service, from its state (what was last
 * applied, not what the config asks for): the weights in force, the header override, mirror and fault of its
 * VirtualService, the namespace's mTLS mode, whether an AuthorizationPolicy selects it, what a `pulumi up`
 * would change now (a preview), and the last promotion's outcome (the stack tag promote/lastRun.ts writes). Pure:
 * tests/promote/status.test.ts; promote/statusCli.ts runs it.
 */
import type { LastRun } from "./lastRun";
import { VIRTUAL_SERVICE_TYPE } from "./stack";

interface StateResource {
    type?: string;
    outputs?: Record<string, unknown>;
}

interface HttpRoute {
    match?: Array<{ headers?: Record<string, { exact?: string; prefix?: string; regex?: string }> }>;
    route?: Array<{ destination?: { subset?: string }; weight?: number }>;
    mirror?: { host?: string; subset?: string };
    mirrorPercentage?: { value?: number };
    fault?: {
        delay?: { fixedDelay?: string; percentage?: { value?: number } };
        abort?: { httpStatus?: number; percentage?: { value?: number } };
    };
}

export interface ServiceStatus {
    service: string;
    /** Subset -> weight of the weighted (last) route, e.g. { v1: 90, v2: 10 }; undefined: no VirtualService. */
    weights?: Record<string, number>;
    /** `header: value` routed to the canary whatever the weights. */
    headerOverride?: string;
    /** `v2 20%`: the share of the traffic mirrored, and to which subset. */
    mirror?: string;
    /** `delay 2s 10%`, `abort 503 5%`, on which route. */
    fault?: string[];
    /** The mTLS mode of the namespace's PeerAuthentication (undefined: none). */
    mtlsMode?: string;
    /** Whether an AuthorizationPolicy in the namespace selects the service's pods (`app: <service>`). */
    authorization: boolean;
}

export interface StackStatus {
    stack: string;
    namespace?: string;
    services: ServiceStatus[];
    /** What a `pulumi up` would change now (changesThatModify): {} when in step; undefined: not asked. */
    pending?: Record<string, number>;
    pendingError?: string;
    lastRun?: LastRun;
}

const meta = (r: StateResource) => (r.outputs?.metadata ?? {}) as { name?: string; namespace?: string };
const spec = <T>(r: StateResource) => (r.outputs?.spec ?? {}) as T;
const ofKind = (r: StateResource, group: string, kind: string) =>
    new RegExp(`^kubernetes:${group.replace(/\./g, "\\.")}/[^:]+:${kind}$`).test(r.type ?? "");

const pctOf = (p?: { value?: number }) => (p?.value !== undefined ? ` ${p.value}%` : "");

/** The status of `services` in `namespace`, from a `pulumi stack export` deployment. */
export function statusFromDeployment(
    deployment: unknown,
    services: readonly string[],
    namespace: string,
): ServiceStatus[] {
    const resources = ((deployment as { resources?: StateResource[] })?.resources ?? []).filter(
        (r) => (meta(r).namespace ?? "default") === namespace,
    );
    const peer = resources.find((r) => ofKind(r, "security.istio.io", "PeerAuthentication"));
    const mtlsMode = peer ? spec<{ mtls?: { mode?: string } }>(peer).mtls?.mode : undefined;
    const authz = resources.filter((r) => ofKind(r, "security.istio.io", "AuthorizationPolicy"));
    return services.map((service) => {
        const vs = resources.find((r) => VIRTUAL_SERVICE_TYPE.test(r.type ?? "") && meta(r).name === service);
        const http = vs ? (spec<{ http?: HttpRoute[] }>(vs).http ?? []) : [];
        const weighted = http.at(-1);
        const status: ServiceStatus = {
            service,
            authorization: authz.some(
                (a) =>
                    spec<{ selector?: { matchLabels?: Record<string, string> } }>(a).selector?.matchLabels?.app ===
                    service,
            ),
        };
        if (mtlsMode !== undefined) {
            status.mtlsMode = mtlsMode;
        }
        if (weighted?.route) {
            status.weights = Object.fromEntries(
                weighted.route.map((r) => [
                    r.destination?.subset ?? "?",
                    r.weight ?? (weighted.route!.length === 1 ? 100 : 0),
                ]),
            );
        }
        const header = http.slice(0, -1).find((r) => r.match?.some((m) => m.headers));
        const h = header?.match?.find((m) => m.headers)?.headers;
        if (h) {
            status.headerOverride = Object.entries(h)
                .map(([k, v]) => `${k}: ${v.exact ?? v.prefix ?? v.regex ?? ""}`)
                .join(", ");
        }
        if (weighted?.mirror) {
            status.mirror = `${weighted.mirror.subset ?? weighted.mirror.host ?? "?"}${pctOf(weighted.mirrorPercentage)}`;
        }
        const faults = http.flatMap((r, i) => {
            const where = i === http.length - 1 ? "every request" : "the header route";
            const out: string[] = [];
            if (r.fault?.delay) {
                out.push(`delay ${r.fault.delay.fixedDelay ?? "?"}${pctOf(r.fault.delay.percentage)} (${where})`);
            }
            if (r.fault?.abort) {
                out.push(`abort ${r.fault.abort.httpStatus ?? "?"}${pctOf(r.fault.abort.percentage)} (${where})`);
            }
            return out;
        });
        if (faults.length > 0) {
            status.fault = faults;
        }
        return status;
    });
}

const changes = (c: Record<string, number>) =>
    Object.entries(c)
        .map(([op, n]) => `${n} to ${op}`)
        .join(", ");

/** The status as the lines `npm run status` prints. */
export function formatStatus(s: StackStatus): string[] {
    const lines = [`Stack ${s.stack}${s.namespace ? ` (namespace ${s.namespace})` : ""}, as last applied:`];
    if (s.services.length === 0) {
        lines.push(`  no services: run \`pulumi up --stack ${s.stack}\` first`);
    }
    for (const v of s.services) {
        const weights = v.weights
            ? Object.entries(v.weights)
                  .map(([k, w]) => `${k} ${w}%`)
                  .join(" / ")
            : "no VirtualService";
        lines.push(`  ${v.service}: ${weights}`);
        lines.push(`    header override: ${v.headerOverride ?? "none"}`);
        lines.push(`    mirror: ${v.mirror ?? "none"}; fault: ${v.fault?.join(", ") ?? "none"}`);
        lines.push(
            `    mTLS: ${v.mtlsMode ?? "no PeerAuthentication"}; authorization: ${v.authorization ? "on" : "off"}`,
        );
    }
    if (s.pendingError !== undefined) {
        lines.push(`Pending changes: unknown (the preview failed: ${s.pendingError})`);
    } else if (s.pending !== undefined) {
        lines.push(
            Object.keys(s.pending).length === 0
                ? "Pending changes: none (a pulumi up would change nothing)"
                : `Pending changes: ${changes(s.pending)} (\`pulumi preview --diff --stack ${s.stack}\`)`,
        );
    }
    const l = s.lastRun;
    lines.push(
        l
            ? `Last promotion: ${l.outcome} (exit ${l.exitCode}) at ${l.finishedAt}, ${l.weightKey} ${l.from ?? "?"} -> ${l.to ?? "?"}`
            : "Last promotion: none recorded (stack tag asm-canary:lastPromotion)",
    );
    return lines;
}
