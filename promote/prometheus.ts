/**
 * A minimal Prometheus HTTP API client (GET /api/v1/query), on Node's own fetch. Works with any
 * Prometheus-compatible endpoint: a self-managed Prometheus, or ASM's managed one (ARMS Managed Service for
 * Prometheus, whose HTTP API URL already ends in the instance's path: we append /api/v1/query to it).
 *
 * Authentication comes from the environment, never from flags or config (they end up in shell history and
 * in the stack file):
 *   PROMETHEUS_BEARER_TOKEN                   Authorization: Bearer <token>
 *   PROMETHEUS_AUTHORIZATION                  Authorization: <value>, sent as is (ARMS V1 instances' token:
 *                                             ARMS's Grafana instructions put the bare token in that header)
 *   PROMETHEUS_USERNAME + PROMETHEUS_PASSWORD  basic auth (ARMS V2 instances: AccessKey ID + secret)
 */

export type Auth =
    | { kind: "none" }
    | { kind: "bearer"; token: string }
    | { kind: "header"; value: string }
    | { kind: "basic"; username: string; password: string };

/** Reads the auth settings from an environment; throws on a half or double configuration. */
export function authFromEnv(env: Record<string, string | undefined>): Auth {
    const token = env.PROMETHEUS_BEARER_TOKEN;
    const header = env.PROMETHEUS_AUTHORIZATION;
    const user = env.PROMETHEUS_USERNAME;
    const pass = env.PROMETHEUS_PASSWORD;
    if ([token, header, user || pass].filter(Boolean).length > 1) {
        throw new Error(
            "set only one of PROMETHEUS_BEARER_TOKEN, PROMETHEUS_AUTHORIZATION or PROMETHEUS_USERNAME/PROMETHEUS_PASSWORD",
        );
    }
    if (token) {
        return { kind: "bearer", token };
    }
    if (header) {
        return { kind: "header", value: header };
    }
    if (user || pass) {
        if (!user || !pass) {
            throw new Error("basic auth needs both PROMETHEUS_USERNAME and PROMETHEUS_PASSWORD");
        }
        return { kind: "basic", username: user, password: pass };
    }
    return { kind: "none" };
}

/** How the auth is described in logs and reports: never the secret itself. */
export function describeAuth(a: Auth): string {
    switch (a.kind) {
        case "none":
            return "no auth";
        case "bearer":
            return "bearer token (PROMETHEUS_BEARER_TOKEN)";
        case "header":
            return "Authorization header (PROMETHEUS_AUTHORIZATION)";
        case "basic":
            return `basic auth as ${a.username}`;
    }
}

export function authHeaders(a: Auth): Record<string, string> {
    if (a.kind === "bearer") {
        return { Authorization: `Bearer ${a.token}` };
    }
    if (a.kind === "header") {
        return { Authorization: a.value };
    }
    if (a.kind === "basic") {
        return { Authorization: `Basic ${Buffer.from(`${a.username}:${a.password}`).toString("base64")}` };
    }
    return {};
}

/** The URL of an instant query. `base` may carry a path (ARMS) and a trailing slash. */
export function queryUrl(base: string, query: string, timeSeconds?: number): string {
    const u = new URL(base);
    u.pathname = `${u.pathname.replace(/\/+$/, "")}/api/v1/query`;
    u.searchParams.set("query", query);
    if (timeSeconds !== undefined) {
        u.searchParams.set("time", timeSeconds.toFixed(3));
    }
    return u.toString();
}

/**
 * The single number an aggregated instant query returns: undefined for an empty vector or NaN (e.g. a
 * quantile over no samples). Throws on an error response or on more than one series (the queries always
 * aggregate to one; several means a query was built wrong, and guessing would be worse).
 */
export function scalarFromResponse(body: unknown): number | undefined {
    const b = body as {
        status?: string;
        error?: string;
        errorType?: string;
        data?: { resultType?: string; result?: unknown };
    };
    if (!b || b.status !== "success") {
        throw new Error(
            `Prometheus answered ${b?.status ?? "something else"}${b?.errorType ? ` (${b.errorType})` : ""}: ${b?.error ?? JSON.stringify(body).slice(0, 200)}`,
        );
    }
    const data = b.data ?? {};
    if (data.resultType === "scalar") {
        return toNumber((data.result as [number, string])[1]);
    }
    if (data.resultType !== "vector" || !Array.isArray(data.result)) {
        throw new Error(`expected a vector result, got ${data.resultType}`);
    }
    const result = data.result as Array<{ value: [number, string] }>;
    if (result.length === 0) {
        return undefined;
    }
    if (result.length > 1) {
        throw new Error(`expected one series, got ${result.length}`);
    }
    return toNumber(result[0].value[1]);
}

function toNumber(s: string): number | undefined {
    const n = Number(s);
    return Number.isNaN(n) ? undefined : n;
}

export interface PrometheusClientOptions {
    baseUrl: string;
    auth: Auth;
    /** Per-request timeout. */
    timeoutMs?: number;
    /** Injected in tests. */
    fetch?: typeof fetch;
}

class PrometheusError extends Error {
    constructor(
        message: string,
        readonly url: string,
    ) {
        super(message);
        this.name = "PrometheusError";
    }
}

export class PrometheusClient {
    private readonly fetchFn: typeof fetch;
    constructor(private readonly opts: PrometheusClientOptions) {
        this.fetchFn = opts.fetch ?? fetch;
    }

    get baseUrl(): string {
        return this.opts.baseUrl;
    }

    /** Runs an instant query; resolves to its single value (undefined: no data). */
    async query(q: string, timeSeconds?: number): Promise<number | undefined> {
        const url = queryUrl(this.opts.baseUrl, q, timeSeconds);
        let res: Response;
        try {
            res = await this.fetchFn(url, {
                headers: { Accept: "application/json", ...authHeaders(this.opts.auth) },
                signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
            });
        } catch (e) {
            const err = e as Error & { cause?: { code?: string; message?: string } };
            const why =
                err.name === "TimeoutError"
                    ? `no answer within ${(this.opts.timeoutMs ?? 10_000) / 1000} s`
                    : (err.cause?.code ?? err.cause?.message ?? err.message);
            throw new PrometheusError(`cannot reach Prometheus at ${this.opts.baseUrl}: ${why}`, this.opts.baseUrl);
        }
        const text = await res.text();
        if (res.status === 401 || res.status === 403) {
            throw new PrometheusError(
                `Prometheus at ${this.opts.baseUrl} refused the credentials (HTTP ${res.status}, ${describeAuth(this.opts.auth)}); see PROMETHEUS_BEARER_TOKEN, PROMETHEUS_AUTHORIZATION or PROMETHEUS_USERNAME+PROMETHEUS_PASSWORD`,
                this.opts.baseUrl,
            );
        }
        let body: unknown;
        try {
            body = JSON.parse(text);
        } catch {
            throw new PrometheusError(
                `Prometheus at ${this.opts.baseUrl} answered HTTP ${res.status} with something that is not JSON: ${text.slice(0, 200)}`,
                this.opts.baseUrl,
            );
        }
        try {
            return scalarFromResponse(body);
        } catch (e) {
            throw new PrometheusError(
                `Prometheus at ${this.opts.baseUrl}, query ${q}: ${(e as Error).message}`,
                this.opts.baseUrl,
            );
        }
    }

    /** Checks that the API answers a trivial query (with the credentials). Throws a PrometheusError if not. */
    async probe(): Promise<void> {
        const v = await this.query("vector(1)");
        if (v !== 1) {
            throw new PrometheusError(
                `Prometheus at ${this.opts.baseUrl} answered vector(1) with ${v}`,
                this.opts.baseUrl,
            );
        }
    }
}
