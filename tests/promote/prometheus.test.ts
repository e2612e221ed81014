import {
    authFromEnv,
    authHeaders,
    describeAuth,
    PrometheusClient,
    queryUrl,
    scalarFromResponse,
} from "../../promote/prometheus";

const vector = (...values: string[]) => ({
    status: "success",
    data: { resultType: "vector", result: values.map((v) => ({ metric: {}, value: [1700000000, v] })) },
});

describe("responses", () => {
    test("one series: its value", () => {
        expect(scalarFromResponse(vector("41.5"))).toBe(41.5);
    });
    test("an empty vector or NaN: no data", () => {
        expect(scalarFromResponse(vector())).toBeUndefined();
        expect(scalarFromResponse(vector("NaN"))).toBeUndefined();
    });
    test("a scalar result", () => {
        expect(scalarFromResponse({ status: "success", data: { resultType: "scalar", result: [1, "1"] } })).toBe(1);
    });
    test("errors and several series are refused", () => {
        expect(() => scalarFromResponse({ status: "error", errorType: "bad_data", error: "parse error" })).toThrow(
            "Prometheus answered error (bad_data): parse error",
        );
        expect(() => scalarFromResponse(vector("1", "2"))).toThrow("expected one series, got 2");
        expect(() => scalarFromResponse({ status: "success", data: { resultType: "matrix", result: [] } })).toThrow(
            "expected a vector result, got matrix",
        );
    });
});

describe("URLs", () => {
    test("a plain server", () => {
        expect(queryUrl("http://127.0.0.1:9090", "vector(1)")).toBe(
            "http://127.0.0.1:9090/api/v1/query?query=vector%281%29",
        );
    });
    test("ARMS: the instance path is kept, a trailing slash dropped, the time appended", () => {
        expect(
            queryUrl(
                "http://cn-hangzhou.arms.aliyuncs.com:9090/api/v1/prometheus/abc/123/cn-hangzhou/",
                'up{a="b"}',
                1700000000.5,
            ),
        ).toBe(
            "http://cn-hangzhou.arms.aliyuncs.com:9090/api/v1/prometheus/abc/123/cn-hangzhou/api/v1/query?query=up%7Ba%3D%22b%22%7D&time=1700000000.500",
        );
    });
});

describe("auth from the environment", () => {
    test("none, bearer, basic", () => {
        expect(authFromEnv({})).toEqual({ kind: "none" });
        expect(authFromEnv({ PROMETHEUS_BEARER_TOKEN: "t0k" })).toEqual({ kind: "bearer", token: "t0k" });
        expect(authFromEnv({ PROMETHEUS_USERNAME: "LTAIid", PROMETHEUS_PASSWORD: "s3cret" })).toEqual({
            kind: "basic",
            username: "LTAIid",
            password: "s3cret",
        });
        expect(authFromEnv({ PROMETHEUS_AUTHORIZATION: "armsT0ken" })).toEqual({ kind: "header", value: "armsT0ken" });
    });
    test("headers", () => {
        expect(authHeaders({ kind: "bearer", token: "t0k" })).toEqual({ Authorization: "Bearer t0k" });
        expect(authHeaders({ kind: "basic", username: "LTAIid", password: "s3cret" })).toEqual({
            Authorization: "Basic TFRBSWlkOnMzY3JldA==",
        });
        expect(authHeaders({ kind: "header", value: "armsT0ken" })).toEqual({ Authorization: "armsT0ken" });
        expect(authHeaders({ kind: "none" })).toEqual({});
    });
    test("half or double configurations are refused", () => {
        expect(() => authFromEnv({ PROMETHEUS_USERNAME: "u" })).toThrow(
            "basic auth needs both PROMETHEUS_USERNAME and PROMETHEUS_PASSWORD",
        );
        expect(() => authFromEnv({ PROMETHEUS_BEARER_TOKEN: "t", PROMETHEUS_PASSWORD: "p" })).toThrow(
            "set only one of",
        );
        expect(() => authFromEnv({ PROMETHEUS_BEARER_TOKEN: "t", PROMETHEUS_AUTHORIZATION: "a" })).toThrow(
            "set only one of",
        );
    });
    test("descriptions never carry the secret", () => {
        expect(describeAuth({ kind: "basic", username: "LTAIid", password: "s3cret" })).toBe("basic auth as LTAIid");
        expect(describeAuth({ kind: "bearer", token: "t0k" })).toBe("bearer token (PROMETHEUS_BEARER_TOKEN)");
    });
});

describe("client (fetch injected: no network)", () => {
    const client = (impl: (url: string, init: RequestInit) => Promise<Response>) =>
        new PrometheusClient({
            baseUrl: "http://prom:9090",
            auth: { kind: "bearer", token: "t0k" },
            fetch: impl as unknown as typeof fetch,
        });

    test("sends the query, the time and the credentials", async () => {
        const seen: Array<[string, unknown]> = [];
        const c = client(async (url, init) => {
            seen.push([url, (init.headers as Record<string, string>).Authorization]);
            return new Response(JSON.stringify(vector("12")), { status: 200 });
        });
        await expect(c.query("sum(x)", 1700000000)).resolves.toBe(12);
        expect(seen).toEqual([["http://prom:9090/api/v1/query?query=sum%28x%29&time=1700000000.000", "Bearer t0k"]]);
    });

    test("probe: vector(1) must answer 1", async () => {
        await expect(client(async () => new Response(JSON.stringify(vector("1")))).probe()).resolves.toBeUndefined();
    });

    test("connection refused names the URL", async () => {
        const c = client(async () => {
            throw Object.assign(new TypeError("fetch failed"), { cause: { code: "ECONNREFUSED" } });
        });
        await expect(c.probe()).rejects.toThrow("cannot reach Prometheus at http://prom:9090: ECONNREFUSED");
    });

    test("refused credentials are said so", async () => {
        await expect(client(async () => new Response("Unauthorized", { status: 401 })).probe()).rejects.toThrow(
            "Prometheus at http://prom:9090 refused the credentials (HTTP 401, bearer token (PROMETHEUS_BEARER_TOKEN)); see PROMETHEUS_BEARER_TOKEN, PROMETHEUS_AUTHORIZATION or PROMETHEUS_USERNAME+PROMETHEUS_PASSWORD",
        );
    });

    test("a non-JSON answer (e.g. a proxy's error page)", async () => {
        await expect(client(async () => new Response("<html>502</html>", { status: 502 })).query("x")).rejects.toThrow(
            "Prometheus at http://prom:9090 answered HTTP 502 with something that is not JSON: <html>502</html>",
        );
    });

    test("a query error carries the query", async () => {
        const body = { status: "error", errorType: "bad_data", error: "1:5: parse error" };
        await expect(
            client(async () => new Response(JSON.stringify(body), { status: 400 })).query("sum("),
        ).rejects.toThrow(
            "Prometheus at http://prom:9090, query sum(: Prometheus answered error (bad_data): 1:5: parse error",
        );
    });
});
