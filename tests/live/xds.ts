/**
 * What istiod pushes to a sidecar, read on the live fixture without any Envoy: xdsprobe
 * (tools/live-cluster/istio/xdsprobe, built by tools/live-cluster.sh) connects to istiod's plaintext ADS
 * port as the istio-proxy of one pod, takes clusters, endpoints, listeners and routes as Envoy would, and
 * prints them in Envoy's proto-JSON. The accessors below return the parts the live test asserts and throw,
 * naming what they looked for, when it is not there: a missing route, cluster or chain fails a check, it
 * never passes it vacuously (a pod announced under a wrong identity gets a smaller config, not an error).
 * Facts: ../../../shared/notes/xds-from-istiod.md (what istiod pushed for the demo, pitfalls).
 */
import { ChildProcess, execFile, spawn } from "child_process";
import * as os from "os";
import * as path from "path";

/** The fields of Envoy's resources the live test reads (proto-JSON, snake_case). */
export interface XdsCluster {
    name: string;
    type?: string;
    transport_socket_matches?: {
        name: string;
        match?: Record<string, string>;
        transport_socket?: { name: string; typed_config?: UpstreamTlsContext & { "@type": string } };
    }[];
    outlier_detection?: { consecutive_5xx?: number; interval?: string; base_ejection_time?: string };
}
interface SdsSecret {
    name: string;
}
interface UpstreamTlsContext {
    sni?: string;
    common_tls_context?: {
        tls_certificate_sds_secret_configs?: SdsSecret[];
        combined_validation_context?: {
            default_validation_context?: { match_subject_alt_names?: { exact?: string }[] };
            validation_context_sds_secret_config?: SdsSecret;
        };
        alpn_protocols?: string[];
    };
}
export interface XdsLoadAssignment {
    cluster_name: string;
    endpoints?: {
        lb_endpoints?: {
            endpoint: { address: { socket_address: { address: string; port_value: number } } };
            metadata?: { filter_metadata?: Record<string, Record<string, string>> };
        }[];
    }[];
}
interface TypedFilter {
    name: string;
    typed_config?: { "@type": string; [field: string]: unknown };
}
export interface XdsFilterChain {
    name?: string;
    filter_chain_match?: { destination_port?: number; transport_protocol?: string };
    transport_socket?: { name: string; typed_config?: { require_client_certificate?: boolean } };
    filters?: TypedFilter[];
}
export interface XdsListener {
    name: string;
    filter_chains?: XdsFilterChain[];
}
/** Envoy's FractionalPercent: numerator per HUNDRED (the default, omitted), TEN_THOUSAND or MILLION. */
interface FractionalPercent {
    numerator?: number;
    denominator?: "HUNDRED" | "TEN_THOUSAND" | "MILLION";
}
export interface XdsRoute {
    name?: string;
    match: {
        prefix?: string;
        headers?: { name: string; string_match?: { exact?: string; [matcher: string]: unknown } }[];
    };
    route?: {
        cluster?: string;
        weighted_clusters?: { clusters: { name: string; weight: number }[] };
        retry_policy?: { retry_on?: string; num_retries?: number; per_try_timeout?: string };
        request_mirror_policies?: { cluster: string; runtime_fraction?: { default_value?: FractionalPercent } }[];
    };
    typed_per_filter_config?: Record<
        string,
        {
            abort?: { http_status?: number; percentage?: FractionalPercent };
            delay?: { fixed_delay?: string; percentage?: FractionalPercent };
        }
    >;
}
export interface XdsRouteConfiguration {
    name: string;
    virtual_hosts?: { name: string; domains?: string[]; routes?: XdsRoute[] }[];
}

/** xdsprobe's output: the node it announced and the last resources of each type istiod pushed to it. */
export interface Pushed {
    node: { id: string; cluster: string };
    clusters: XdsCluster[];
    endpoints: XdsLoadAssignment[];
    listeners: XdsListener[];
    routes: XdsRouteConfiguration[];
}

/** The xdsprobe binary of the fixture's build (beside istioctl: LIVE_CLUSTER_BIN, else the cache's bin/). */
export function xdsprobePath(): string {
    const cache = process.env.LIVE_CLUSTER_CACHE || path.join(os.homedir(), ".cache", "asm-canary", "live-cluster");
    return path.join(process.env.LIVE_CLUSTER_BIN || path.join(cache, "bin"), "xdsprobe");
}

/**
 * What istiod (plaintext xDS at `xdsAddress`) pushes to the sidecar of `pod` (the pod as the API server returns
 * it), once istiod has been quiet for `settle` (xdsprobe's default, 200 ms; the step benchmark looks often).
 */
export function readPushed(xdsAddress: string, pod: unknown, settle = "200ms"): Promise<Pushed> {
    return new Promise((resolve, reject) => {
        const child = execFile(
            xdsprobePath(),
            ["-addr", xdsAddress, "-pod", "-", "-timeout", "10s", "-settle", settle],
            { maxBuffer: 64 * 1024 * 1024, timeout: 30_000 },
            (error, stdout, stderr) => {
                if (error) {
                    reject(new Error(`xdsprobe failed: ${stderr.trim() || error.message}`));
                } else {
                    resolve(JSON.parse(stdout) as Pushed);
                }
            },
        );
        child.stdin?.end(JSON.stringify(pod));
    });
}

/** What a route push carries: the route configurations, as in `Pushed`. */
export type RoutePush = Pick<Pushed, "routes">;

/**
 * `xdsprobe -watch` on the sidecar of `pod`: one connection to istiod, held, that receives every route push
 * as a sidecar would and tells when it arrived (the step benchmark: a look per process, polled, cost the
 * 2-core machine CPU beside what it measured and was late by up to one look).
 */
export class RouteWatch {
    private latest?: RoutePush;
    private failure?: Error;
    private waiters: { check: (p: RoutePush) => boolean; resolve: (at: number) => void; reject: (e: Error) => void }[] =
        [];

    private constructor(private readonly child: ChildProcess) {}

    /** Resolves once istiod has sent the pod's whole config (every later push then counts). */
    static start(xdsAddress: string, pod: unknown): Promise<RouteWatch> {
        const child = spawn(xdsprobePath(), [
            "-watch",
            "-addr",
            xdsAddress,
            "-pod",
            "-",
            "-timeout",
            "10s",
            "-settle",
            "20ms",
        ]);
        const watch = new RouteWatch(child);
        let buffered = "";
        let stderr = "";
        child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
        return new Promise((resolve, reject) => {
            child.stdout?.on("data", (chunk: Buffer) => {
                const at = performance.now();
                buffered += chunk.toString();
                let nl: number;
                while ((nl = buffered.indexOf("\n")) >= 0) {
                    const push = JSON.parse(buffered.slice(0, nl)) as RoutePush;
                    buffered = buffered.slice(nl + 1);
                    watch.latest = push;
                    resolve(watch);
                    watch.waiters = watch.waiters.filter((w) => !(w.check(push) && (w.resolve(at), true)));
                }
            });
            child.on("exit", (code, signal) => {
                const e = new Error(`xdsprobe -watch ended (${signal ?? code}): ${stderr.trim()}`);
                watch.failure = e;
                reject(e);
                watch.waiters.forEach((w) => w.reject(e));
            });
            child.stdin?.end(JSON.stringify(pod));
        });
    }

    /**
     * The time (performance.now()) a push whose routes pass `check` arrived: the next one from now on, or the
     * last one if it passes already. Rejects after `ms`.
     */
    until(check: (p: RoutePush) => boolean, ms = 60_000): Promise<number> {
        if (this.failure) {
            return Promise.reject(this.failure);
        }
        if (this.latest && check(this.latest)) {
            return Promise.resolve(performance.now());
        }
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`no such route push within ${ms} ms`)), ms);
            this.waiters.push({
                check,
                resolve: (at) => (clearTimeout(timer), resolve(at)),
                reject: (e) => (clearTimeout(timer), reject(e)),
            });
        });
    }

    stop(): void {
        this.child.kill();
    }
}

/**
 * Runs `check` until it passes or `ms` have passed; then throws its last error. istiod pushes each type
 * on its own, debounced (~0.1 s after a write), and sometimes for unrelated reasons: wait for the state,
 * do not count pushes.
 */
export async function eventually<T>(check: () => Promise<T>, ms = 20_000): Promise<T> {
    const t0 = Date.now();
    for (;;) {
        try {
            return await check();
        } catch (e) {
            if (Date.now() - t0 > ms) {
                throw e;
            }
            await new Promise((r) => setTimeout(r, 500));
        }
    }
}

/** The virtual host `<host>:<port>` (e.g. `hello.canary-demo.svc.cluster.local:80`) of the route configuration named `<port>`. */
export function virtualHost(p: Pushed, host: string, port: number) {
    const rc = p.routes.find((r) => r.name === String(port));
    if (!rc) {
        throw new Error(
            `${p.node.id}: no route configuration "${port}" (have: ${p.routes.map((r) => r.name).join(", ")})`,
        );
    }
    const vh = rc.virtual_hosts?.find((v) => v.name === `${host}:${port}`);
    if (!vh) {
        throw new Error(
            `${p.node.id}: route configuration "${port}" has no virtual host ${host}:${port} (have: ${(rc.virtual_hosts ?? []).map((v) => v.name).join(", ")})`,
        );
    }
    return vh;
}

/** One route as the test compares it: its name, its exact header matches, where it goes, its retries. */
export interface RouteSummary {
    name?: string;
    prefix?: string;
    /** Header name -> the exact value it must have (another matcher: its JSON). */
    headers: Record<string, string>;
    /** A plain `route.cluster` (one destination), or `weighted_clusters` as [cluster, weight] pairs. */
    to: { cluster: string } | { weighted: [string, number][] } | { neither: true };
    retries?: { retryOn?: string; attempts?: number; perTryTimeout?: string };
    /** The route's fault filter config (only when there is one): abort status / delay and their percentages. */
    fault?: { abort?: { status?: number; percent: number }; delay?: { fixedDelay?: string; percent: number } };
    /** Shadow traffic (only when there is some): the mirror cluster and the percentage of requests. */
    mirrors?: { cluster: string; percent: number }[];
}

/** A FractionalPercent as a percentage. */
function percentOf(f: FractionalPercent | undefined): number {
    const per = { HUNDRED: 100, TEN_THOUSAND: 10_000, MILLION: 1_000_000 }[f?.denominator ?? "HUNDRED"];
    return ((f?.numerator ?? 0) * 100) / per;
}

/** The routes of a virtual host, in order (Envoy takes the first that matches). */
export function routesOf(vh: { routes?: XdsRoute[] }): RouteSummary[] {
    return (vh.routes ?? []).map((r) => {
        const a = r.route;
        const rp = a?.retry_policy;
        const fault = r.typed_per_filter_config?.["envoy.filters.http.fault"];
        return {
            name: r.name,
            prefix: r.match.prefix,
            // An exact match as its value; any other matcher as its JSON, so that a failure shows it.
            headers: Object.fromEntries(
                (r.match.headers ?? []).map((h) => {
                    const { name, ...matcher } = h;
                    return [name, h.string_match?.exact ?? JSON.stringify(matcher)];
                }),
            ),
            to: a?.cluster
                ? { cluster: a.cluster }
                : a?.weighted_clusters
                  ? { weighted: a.weighted_clusters.clusters.map((c): [string, number] => [c.name, c.weight]) }
                  : { neither: true },
            ...(rp
                ? { retries: { retryOn: rp.retry_on, attempts: rp.num_retries, perTryTimeout: rp.per_try_timeout } }
                : {}),
            ...(fault
                ? {
                      fault: {
                          ...(fault.abort
                              ? {
                                    abort: {
                                        status: fault.abort.http_status,
                                        percent: percentOf(fault.abort.percentage),
                                    },
                                }
                              : {}),
                          ...(fault.delay
                              ? {
                                    delay: {
                                        fixedDelay: fault.delay.fixed_delay,
                                        percent: percentOf(fault.delay.percentage),
                                    },
                                }
                              : {}),
                      },
                  }
                : {}),
            ...(a?.request_mirror_policies
                ? {
                      mirrors: a.request_mirror_policies.map((m) => ({
                          cluster: m.cluster,
                          percent: percentOf(m.runtime_fraction?.default_value),
                      })),
                  }
                : {}),
        };
    });
}

export function clusterNamed(p: Pushed, name: string): XdsCluster {
    const c = p.clusters.find((x) => x.name === name);
    if (!c) {
        throw new Error(`${p.node.id}: no cluster ${name} (have: ${p.clusters.map((x) => x.name).join(", ")})`);
    }
    return c;
}

/**
 * The mTLS transport socket Istio's auto mTLS (= ISTIO_MUTUAL) gives an outbound cluster: the socket
 * match for endpoints labelled tlsMode=istio, an UpstreamTlsContext with the workload certificate and the
 * root CA from SDS (istio pilot/pkg/networking/core/cluster_tls.go).
 */
export function istioMutualSocket(c: XdsCluster) {
    const m = c.transport_socket_matches?.find((x) => x.name === "tlsMode-istio");
    const ts = m?.transport_socket;
    if (!m || !ts?.typed_config) {
        throw new Error(`cluster ${c.name} has no tlsMode-istio transport socket match`);
    }
    const tls = ts.typed_config.common_tls_context;
    const validation = tls?.combined_validation_context;
    return {
        match: m.match,
        socket: ts.name,
        type: ts.typed_config["@type"],
        sni: ts.typed_config.sni,
        certificate: tls?.tls_certificate_sds_secret_configs?.map((s) => s.name),
        rootCa: validation?.validation_context_sds_secret_config?.name,
        subjectAltNames: validation?.default_validation_context?.match_subject_alt_names?.map((s) => s.exact),
        alpn: tls?.alpn_protocols,
    };
}

/** The endpoints istiod sent for an EDS cluster: address:port and the tlsMode label (auto mTLS picks the socket by it). */
export function endpointsOf(p: Pushed, cluster: string): { address: string; tlsMode?: string }[] {
    const la = p.endpoints.find((e) => e.cluster_name === cluster);
    if (!la) {
        throw new Error(`${p.node.id}: no endpoints (EDS) for cluster ${cluster}`);
    }
    return (la.endpoints ?? [])
        .flatMap((g) => g.lb_endpoints ?? [])
        .map((e) => ({
            address: `${e.endpoint.address.socket_address.address}:${e.endpoint.address.socket_address.port_value}`,
            tlsMode: e.metadata?.filter_metadata?.["envoy.transport_socket_match"]?.tlsMode,
        }))
        .sort((a, b) => a.address.localeCompare(b.address));
}

const HCM = "envoy.filters.network.http_connection_manager";
const RBAC = "envoy.filters.http.rbac";

/** Every `authenticated.principal_name` matcher under a principal tree: its regex, exact or prefix value. */
function principalNames(node: unknown): string[] {
    if (Array.isArray(node)) {
        return node.flatMap(principalNames);
    }
    if (!node || typeof node !== "object") {
        return [];
    }
    return Object.entries(node as Record<string, any>).flatMap(([k, v]) =>
        k === "principal_name"
            ? [v?.safe_regex?.regex ?? v?.exact ?? v?.prefix ?? JSON.stringify(v)]
            : principalNames(v),
    );
}

/** One inbound filter chain as the test compares it. */
export interface InboundChain {
    /** The chain's filter_chain_match.transport_protocol: "tls" (mTLS) or "raw_buffer" (plaintext). */
    transport?: string;
    /** The chain has a TLS transport socket that requires a client certificate. */
    mtls: boolean;
    /** The RBAC filter's action (ALLOW is proto3's 0, which JSON leaves out) and policies (name -> principal matchers); null: no RBAC filter. */
    rbac: { action: string; policies: Record<string, string[]> } | null;
}

/**
 * The chains of the `virtualInbound` listener for traffic to `port` (the Service's targetPort: the
 * sidecar intercepts the pod's own port), sorted by transport. Throws when there is no virtualInbound.
 */
export function inboundChains(p: Pushed, port: number): InboundChain[] {
    const l = p.listeners.find((x) => x.name === "virtualInbound");
    if (!l) {
        throw new Error(
            `${p.node.id}: no virtualInbound listener (have: ${p.listeners.map((x) => x.name).join(", ")})`,
        );
    }
    return (l.filter_chains ?? [])
        .filter((fc) => fc.filter_chain_match?.destination_port === port)
        .map((fc) => {
            const hcm = fc.filters?.find((f) => f.name === HCM)?.typed_config as
                { http_filters?: TypedFilter[] } | undefined;
            const rbac = hcm?.http_filters?.find((f) => f.name === RBAC)?.typed_config as
                { rules?: { action?: string; policies?: Record<string, { principals?: unknown }> } } | undefined;
            return {
                transport: fc.filter_chain_match?.transport_protocol,
                mtls:
                    fc.transport_socket?.name === "envoy.transport_sockets.tls" &&
                    fc.transport_socket.typed_config?.require_client_certificate === true,
                rbac: rbac
                    ? {
                          action: rbac.rules?.action ?? "ALLOW",
                          policies: Object.fromEntries(
                              Object.entries(rbac.rules?.policies ?? {}).map(([name, policy]) => [
                                  name,
                                  principalNames(policy.principals),
                              ]),
                          ),
                      }
                    : null,
            };
        })
        .sort((a, b) => (a.transport ?? "").localeCompare(b.transport ?? ""));
}
