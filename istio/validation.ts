/**
 * The rules Istio's admission applies (the validation webhook's Go code, which `istioctl validate` runs too,
 * and the CEL rules of Istio's CRDs) to the values this program's config puts into Istio objects, so that a
 * value Istio would refuse at `pulumi up` is refused before `pulumi preview`. Each check returns undefined when Istio accepts the
 * value, otherwise the reason phrased as "must be …" (config/stackConfig.ts prefixes the key and the value).
 *
 * Sources: istio/istio at commit 86c9f01fd735fb01d8192f5bcaf0d424afb7f14c (links below), whose rules for
 * these fields are the same in Istio 1.23 and later.
 */

/**
 * Retry conditions Istio accepts in HTTPRetry.retryOn besides HTTP status codes: Envoy's x-envoy-retry-on
 * and x-envoy-retry-grpc-on policies
 * (https://github.com/istio/istio/blob/86c9f01fd735fb01d8192f5bcaf0d424afb7f14c/pkg/config/validation/agent/validation.go#L940).
 * Istio < 1.23 (ASM < 1.23) does not know reset-before-request and http3-post-connect-failure.
 */
export const RETRY_ON_CONDITIONS = [
    "5xx",
    "gateway-error",
    "reset",
    "reset-before-request",
    "connect-failure",
    "retriable-4xx",
    "refused-stream",
    "retriable-status-codes",
    "retriable-headers",
    "envoy-ratelimited",
    "http3-post-connect-failure",
    "cancelled",
    "deadline-exceeded",
    "internal",
    "resource-exhausted",
    "unavailable",
] as const;

// The codes Go's net/http.StatusText knows (go1.26 src/net/http/status.go#L81): Istio takes a number in
// retryOn as a status code only when StatusText has a text for it.
const HTTP_STATUS_CODES = new Set([
    100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 307, 308, 400,
    401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 418, 421, 422, 423, 424, 425,
    426, 428, 429, 431, 451, 500, 501, 502, 503, 504, 505, 506, 507, 508, 510, 511,
]);

/**
 * Namespaces whose pods Istio's sidecar injector always skips, whatever their labels
 * (https://github.com/istio/istio/blob/86c9f01fd735fb01d8192f5bcaf0d424afb7f14c/pkg/kube/inject/initializer.go#L38,
 * checked in pkg/kube/inject/inject.go#L213).
 */
const NEVER_INJECTED = ["kube-system", "kube-public", "kube-node-lease", "local-path-storage"];

const DURATION_FORM = /^(\d+)(?:\.(\d+))?(ms|s|m|h)$/;
const NS_PER_UNIT: Record<string, bigint> = {
    ms: 1_000_000n,
    s: 1_000_000_000n,
    m: 60_000_000_000n,
    h: 3_600_000_000_000n,
};
const TWO_63 = 1n << 63n;
const MS = 1_000_000n;

/**
 * The nanoseconds Go's time.ParseDuration gives for a duration of the form the config takes
 * (digits, an optional fraction, one unit of ms, s, m or h): Istio reads durations with it
 * (golang/protobuf v1.5.4 jsonpb/decode.go#L222). "overflow" past Go's time.Duration; "form" otherwise.
 * Follows go1.26 src/time/format.go (leadingInt, leadingFraction, ParseDuration) step by step.
 */
function goDurationNanos(value: string): bigint | "form" | "overflow" {
    const m = DURATION_FORM.exec(value);
    if (!m) {
        return "form";
    }
    const [, whole, fraction = "", unitName] = m;
    const unit = NS_PER_UNIT[unitName];
    let v = BigInt(whole);
    if (v > TWO_63 || v > TWO_63 / unit) {
        return "overflow";
    }
    v *= unit;
    // leadingFraction: digits beyond what fits in an int64 are dropped; the scale is a float64.
    let f = 0n;
    let scale = 1;
    for (const digit of fraction) {
        const next = f * 10n + BigInt(digit);
        if (f > (TWO_63 - 1n) / 10n || next > TWO_63) {
            break;
        }
        f = next;
        scale *= 10;
    }
    if (f > 0n) {
        v += BigInt(Math.trunc(Number(f) * (Number(unit) / scale)));
    }
    return v > TWO_63 - 1n ? "overflow" : v;
}

/**
 * A duration Istio accepts (HTTPRoute.timeout, HTTPRetry.perTryTimeout, OutlierDetection.interval and
 * baseEjectionTime): at least 1ms and whole milliseconds (agent.ValidateDuration,
 * https://github.com/istio/istio/blob/86c9f01fd735fb01d8192f5bcaf0d424afb7f14c/pkg/config/validation/agent/validation.go#L140;
 * the CRDs add `duration(self) >= duration('1ms')`, manifests/charts/base/files/crd-all.gen.yaml#L13209),
 * and no longer than Go's time.Duration holds.
 */
export function durationProblem(value: string): string | undefined {
    const ns = goDurationNanos(value);
    if (ns === "form") {
        return 'must be a duration such as "500ms", "5s" or "1m"';
    }
    if (ns === "overflow") {
        return "must be at most 2562047h: Istio reads durations into Go's time.Duration, which holds no more";
    }
    if (ns < MS) {
        return "must be at least 1ms: Istio rejects shorter durations such as 0s";
    }
    if (ns % MS !== 0n) {
        return "must be whole milliseconds: Istio supports no finer precision";
    }
    return undefined;
}

/**
 * HTTPRetry.retryOn: a comma-separated list in which every item is one of RETRY_ON_CONDITIONS or an HTTP
 * status code Go knows (agent.ValidateHTTPRetry,
 * https://github.com/istio/istio/blob/86c9f01fd735fb01d8192f5bcaf0d424afb7f14c/pkg/config/validation/agent/validation.go#L982).
 * "" is no retryOn at all, which Istio does not check.
 */
export function retryOnProblem(value: string): string | undefined {
    if (value === "") {
        return undefined;
    }
    // Istio tries strconv.Atoi on each item (a sign and leading zeros allowed) before the names.
    const unknown = value
        .split(",")
        .find(
            (c) =>
                !(RETRY_ON_CONDITIONS as readonly string[]).includes(c) &&
                !(/^[+-]?\d+$/.test(c) && HTTP_STATUS_CODES.has(Number(c))),
        );
    if (unknown === undefined) {
        return undefined;
    }
    return (
        `must be a comma-separated list of retry conditions Istio accepts (${RETRY_ON_CONDITIONS.join(", ")}) ` +
        `or HTTP status codes such as 503; ${JSON.stringify(unknown)} is neither`
    );
}

/**
 * The sidecar-injected namespace the program creates (and deletes on destroy): not one the injector skips
 * (NEVER_INJECTED); not istio-system, the mesh's own namespace, which istioctl leaves out of the injected
 * ones (https://github.com/istio/istio/blob/86c9f01fd735fb01d8192f5bcaf0d424afb7f14c/istioctl/pkg/injector/injector-list.go#L139)
 * and where ASM runs its gateways (https://www.alibabacloud.com/help/doc-detail/165004.htm); nor any other
 * kube-* name, a prefix Kubernetes reserves for its system namespaces
 * (https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/).
 */
export function namespaceProblem(name: string): string | undefined {
    if (name === "istio-system") {
        return "must be a namespace of your own: istio-system holds the mesh's own components (ASM runs its gateways there)";
    }
    if (NEVER_INJECTED.includes(name)) {
        return `must be a namespace Istio injects: its sidecar injector skips ${name}`;
    }
    if (name.startsWith("kube-")) {
        return "must be a namespace of your own: the kube- prefix is reserved for Kubernetes system namespaces";
    }
    return undefined;
}
