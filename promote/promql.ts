/**
 * The PromQL the promotion runs, built from the standard Istio metrics
 * (https://istio.io/latest/docs/reference/config/metrics): `istio_requests_total` (counter) and
 * `istio_request_duration_milliseconds` (histogram, `_bucket`).
 *
 * Why these exact queries:
 * - `reporter="destination"`: the workload's own sidecar reports each request once, whatever the caller
 *   (in-mesh client or gateway; ASM gateways report only as source). Without it a mesh-internal request is
 *   counted twice (source and destination reporters).
 * - `destination_workload` + `destination_workload_namespace`: the Deployment name (`<svc>-v1` / `<svc>-v2`)
 *   is always a tag; `destination_version` may be removed from ASM's tag set, so it is not relied on.
 * - `increase(...[Ns])` over exactly the analysis window, summed: request and 5xx COUNTS (not rates), so
 *   `minRequests` compares like with like and the error ratio is computed here from two numbers. A ratio
 *   query would return nothing (not 100 %) when every request failed, because the non-5xx side is empty.
 * - p99 from the summed per-`le` bucket increases: the usual histogram_quantile over the window.
 */

/** Which workload, where, over how many seconds. */
export interface Target {
    namespace: string;
    workload: string;
}

export interface Queries {
    /** Requests in the window. */
    requests: string;
    /** 5xx responses in the window. */
    errors: string;
    /** 99th percentile of the request duration (ms) in the window. */
    p99: string;
}

/** A PromQL label value in double quotes (backslash and quote escaped). */
export function quote(value: string): string {
    return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}

/** The label matchers shared by every query of one workload. */
export function selector(t: Target): string {
    return `reporter="destination",destination_workload_namespace=${quote(t.namespace)},destination_workload=${quote(t.workload)}`;
}

/**
 * The three queries for one workload over a window of `windowSeconds` (a whole number of seconds). A gRPC
 * service reports a failed call as HTTP 200 with a non-OK `grpc_response_status` (0 is OK; the label is
 * empty on plain HTTP), so for `grpc` a request is an error when either its HTTP code is 5xx or its gRPC
 * status is not OK: two disjoint counts, each `or vector(0)` so that an empty side adds 0 instead of
 * emptying the sum (https://istio.io/latest/docs/reference/config/metrics/#labels).
 */
export function buildQueries(t: Target, windowSeconds: number, protocol: "http" | "http2" | "grpc" = "http"): Queries {
    if (!Number.isInteger(windowSeconds) || windowSeconds < 1) {
        throw new Error(`analysis window must be a whole number of seconds >= 1, got ${windowSeconds}`);
    }
    const sel = selector(t);
    const w = `[${windowSeconds}s]`;
    return {
        requests: `sum(increase(istio_requests_total{${sel}}${w}))`,
        errors:
            protocol === "grpc"
                ? `(sum(increase(istio_requests_total{${sel},grpc_response_status!~"0|"}${w})) or vector(0)) + ` +
                  `(sum(increase(istio_requests_total{${sel},grpc_response_status=~"0|",response_code=~"5.."}${w})) or vector(0))`
                : `sum(increase(istio_requests_total{${sel},response_code=~"5.."}${w}))`,
        p99: `histogram_quantile(0.99, sum by (le) (increase(istio_request_duration_milliseconds_bucket{${sel}}${w})))`,
    };
}

/** Workload (Deployment) names of a canaried service: `<svc>-v1` (stable) and `<svc>-v2` (canary). */
export function workloads(service: string): { stable: string; canary: string } {
    return { stable: `${service}-v1`, canary: `${service}-v2` };
}

/**
 * Whether Prometheus has the workload's request counter at all: a count of its `istio_requests_total`
 * series (no data: none, i.e. wrong labels or no scraping, or a workload that never served a request).
 */
export function seriesQuery(t: Target): string {
    return `count(istio_requests_total{${selector(t)}})`;
}

/** The workload's request rate (requests per second) over the last `windowSeconds`. */
export function rateQuery(t: Target, windowSeconds: number): string {
    return `sum(rate(istio_requests_total{${selector(t)}}[${windowSeconds}s]))`;
}
