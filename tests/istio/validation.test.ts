import { durationProblem, namespaceProblem, RETRY_ON_CONDITIONS, retryOnProblem } from "../../istio/validation";

describe("durations (agent.ValidateDuration, parsed by Go's time.ParseDuration)", () => {
    test.each([
        ["0s", "must be at least 1ms: Istio rejects shorter durations such as 0s"],
        ["0ms", "must be at least 1ms: Istio rejects shorter durations such as 0s"],
        ["0.5ms", "must be at least 1ms: Istio rejects shorter durations such as 0s"],
        ["0.0009s", "must be at least 1ms: Istio rejects shorter durations such as 0s"],
        ["1.5ms", "must be whole milliseconds: Istio supports no finer precision"],
        ["1.0005s", "must be whole milliseconds: Istio supports no finer precision"],
        ["1.0000001s", "must be whole milliseconds: Istio supports no finer precision"],
        ["2562048h", "must be at most 2562047h: Istio reads durations into Go's time.Duration, which holds no more"],
        ["9223372037s", "must be at most 2562047h: Istio reads durations into Go's time.Duration, which holds no more"],
        [
            "99999999999999999999ms",
            "must be at most 2562047h: Istio reads durations into Go's time.Duration, which holds no more",
        ],
        ["5 seconds", 'must be a duration such as "500ms", "5s" or "1m"'],
        ["", 'must be a duration such as "500ms", "5s" or "1m"'],
        ["1m30s", 'must be a duration such as "500ms", "5s" or "1m"'],
    ])("%j is refused", (value, reason) => {
        expect(durationProblem(value)).toBe(reason);
    });

    // Boundaries Istio accepts: exactly 1ms, fractions that come to whole ms, the largest whole-ms durations.
    test.each(["1ms", "0.001s", "0.5s", "0.1m", "1.5h", "00005s", "2562047h", "9223372036854ms", "9223372036.854s"])(
        "%j is accepted",
        (value) => {
            expect(durationProblem(value)).toBeUndefined();
        },
    );
});

describe("retryOn (agent.ValidateHTTPRetry)", () => {
    test.each([
        ["5xx,bogus", "bogus"],
        ["5XX", "5XX"],
        ["5xx,", ""],
        ["5xx, reset", " reset"],
        ["599", "599"],
        ["306", "306"],
        ["0", "0"],
        ["-503", "-503"],
    ])("%j is refused, naming %j", (value, item) => {
        expect(retryOnProblem(value)).toBe(
            "must be a comma-separated list of retry conditions Istio accepts (5xx, gateway-error, reset, reset-before-request, " +
                "connect-failure, retriable-4xx, refused-stream, retriable-status-codes, retriable-headers, envoy-ratelimited, " +
                "http3-post-connect-failure, cancelled, deadline-exceeded, internal, resource-exhausted, unavailable) " +
                `or HTTP status codes such as 503; ${JSON.stringify(item)} is neither`,
        );
    });

    test("every listed condition, HTTP status codes Go knows (as strconv.Atoi reads them) and no retryOn are accepted", () => {
        expect(retryOnProblem(RETRY_ON_CONDITIONS.join(","))).toBeUndefined();
        for (const value of [
            "",
            "5xx,connect-failure,reset",
            "503",
            "100",
            "418",
            "511",
            "0503",
            "+503",
            "retriable-status-codes,503,504",
        ]) {
            expect([value, retryOnProblem(value)]).toEqual([value, undefined]);
        }
    });
});

describe("namespace (injector's ignored namespaces, the mesh's own, Kubernetes' kube- prefix)", () => {
    test.each(["kube-system", "kube-public", "kube-node-lease", "local-path-storage"])(
        "%j is refused: the injector skips it",
        (ns) => {
            expect(namespaceProblem(ns)).toBe(`must be a namespace Istio injects: its sidecar injector skips ${ns}`);
        },
    );

    test("istio-system and other kube-* names are refused", () => {
        expect(namespaceProblem("istio-system")).toBe(
            "must be a namespace of your own: istio-system holds the mesh's own components (ASM runs its gateways there)",
        );
        expect(namespaceProblem("kube-flannel")).toBe(
            "must be a namespace of your own: the kube- prefix is reserved for Kubernetes system namespaces",
        );
    });

    test.each(["canary-demo", "default", "istio-demo", "kube", "my-kube-system", "istio-system2"])(
        "%j is accepted",
        (ns) => {
            expect(namespaceProblem(ns)).toBeUndefined();
        },
    );
});
