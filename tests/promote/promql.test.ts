import { buildQueries, quote, selector, workloads } from "../../promote/promql";

describe("PromQL builder", () => {
    test("the canary's three queries over a 60 s window", () => {
        expect(buildQueries({ namespace: "canary-demo", workload: "hello-v2" }, 60)).toEqual({
            requests:
                'sum(increase(istio_requests_total{reporter="destination",destination_workload_namespace="canary-demo",destination_workload="hello-v2"}[60s]))',
            errors: 'sum(increase(istio_requests_total{reporter="destination",destination_workload_namespace="canary-demo",destination_workload="hello-v2",response_code=~"5.."}[60s]))',
            p99: 'histogram_quantile(0.99, sum by (le) (increase(istio_request_duration_milliseconds_bucket{reporter="destination",destination_workload_namespace="canary-demo",destination_workload="hello-v2"}[60s])))',
        });
    });

    test("gRPC: an error is a non-OK grpc-status behind any HTTP code, or a 5xx without one; both sides count 0 when empty", () => {
        const sel = 'reporter="destination",destination_workload_namespace="shop",destination_workload="reviews-v2"';
        expect(buildQueries({ namespace: "shop", workload: "reviews-v2" }, 30, "grpc").errors).toBe(
            `(sum(increase(istio_requests_total{${sel},grpc_response_status!~"0|"}[30s])) or vector(0)) + ` +
                `(sum(increase(istio_requests_total{${sel},grpc_response_status=~"0|",response_code=~"5.."}[30s])) or vector(0))`,
        );
        expect(buildQueries({ namespace: "shop", workload: "reviews-v2" }, 30, "http2").errors).toBe(
            `sum(increase(istio_requests_total{${sel},response_code=~"5.."}[30s]))`,
        );
    });

    test("the window is the interval in seconds", () => {
        expect(buildQueries({ namespace: "shop", workload: "billing-v1" }, 5).requests).toBe(
            'sum(increase(istio_requests_total{reporter="destination",destination_workload_namespace="shop",destination_workload="billing-v1"}[5s]))',
        );
    });

    test.each([0, -1, 2.5, NaN])("a window of %p seconds is refused", (w) => {
        expect(() => buildQueries({ namespace: "a", workload: "b" }, w)).toThrow("whole number of seconds");
    });

    test("label values are quoted and escaped", () => {
        expect(quote("plain")).toBe('"plain"');
        expect(quote('a"b\\c')).toBe('"a\\"b\\\\c"');
        expect(selector({ namespace: 'x"y', workload: "w" })).toBe(
            'reporter="destination",destination_workload_namespace="x\\"y",destination_workload="w"',
        );
    });

    test("workload names are <service>-v1 and <service>-v2", () => {
        expect(workloads("hello")).toEqual({ stable: "hello-v1", canary: "hello-v2" });
    });
});
