/**
 * Test fixture for `npm run test:promote` (tests/e2e/promote.test.ts): an HTTP server that plays the Istio
 * sidecars of hello-v1 and hello-v2 for a real Prometheus to scrape. It serves /metrics in the Prometheus
 * text format with the standard Istio series (istio_requests_total,
 * istio_request_duration_milliseconds_bucket/_sum/_count; reporter="destination", plus the "source" copies a
 * client sidecar would add, which the promote queries must not count), and makes up the traffic over time:
 *   - the split between v1 and v2 follows the weight the promoted stack has ACTUALLY applied: the
 *     VirtualService `hello` rendered by the Kubernetes provider under --manifests (renderYamlToDirectory),
 *     re-read on every tick; no VirtualService yet = all to v1;
 *   - the behaviour (traffic rate, 5xx ratio, latency) comes from a scenario the test sets with
 *     POST /scenario {…} (see DEFAULT below); GET /state shows the weight seen and the counters.
 * Counters only ever grow (a scenario change keeps them), as real counters do between restarts.
 *
 * Node runs this file as is (type stripping, Node >= 22.18): no build step.
 * Usage: node scripts/promoteFixture.ts --port <port> --manifests <dir> [--service hello --namespace canary-demo]
 */
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import { parseArgs } from "util";
import * as yaml from "js-yaml";

const { values: args } = parseArgs({
    options: {
        port: { type: "string" },
        manifests: { type: "string" },
        service: { type: "string", default: "hello" },
        namespace: { type: "string", default: "canary-demo" },
    },
});
if (!args.port || !args.manifests) {
    console.error("usage: promoteFixture.ts --port <port> --manifests <dir>");
    process.exit(2);
}
const manifestsDir = args.manifests;
const { service, namespace } = args;

// Istio's default buckets for istio_request_duration_milliseconds.
const BUCKETS = [
    0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000,
];
const TICK_MS = 100;

/** One version's behaviour: the 5xx ratio, and `slowFraction` of the requests take `slowMs`, the others `fastMs`. */
interface Behaviour {
    errorRate: number;
    fastMs: number;
    slowFraction: number;
    slowMs: number;
}
type Version = "v1" | "v2";

/**
 * A scenario: `rps` requests per second to the service in total, split by the applied weight; per version
 * its behaviour. `v2From` overrides v2's behaviour once the applied weight reaches `weight` (a canary that
 * breaks under load).
 */
interface Scenario {
    name?: string;
    rps: number;
    v1: Behaviour;
    v2: Behaviour;
    v2From: ({ weight: number } & Partial<Behaviour>) | null;
}
const DEFAULT: Scenario = {
    rps: 60,
    v1: { errorRate: 0.005, fastMs: 20, slowFraction: 0.03, slowMs: 150 },
    v2: { errorRate: 0, fastMs: 20, slowFraction: 0.03, slowMs: 150 },
    v2From: null,
};
let scenario: Scenario = { name: "healthy", ...DEFAULT };

// --- the weight in force, from the rendered VirtualService ---
let vsFile: string | null = null;
let vsMtime = 0;
let weight = 0;
function findVs(dir: string): string | null {
    if (!fs.existsSync(dir)) {
        return null;
    }
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) {
            const f = findVs(p);
            if (f) {
                return f;
            }
        } else if (/virtualservice/i.test(e.name) && e.name.includes(`-${namespace}-${service}.`)) {
            return p;
        }
    }
    return null;
}
interface VirtualService {
    spec: { http: { route: { destination: { subset: string }; weight?: number }[] }[] };
}
function readWeight(): void {
    try {
        if (!vsFile || !fs.existsSync(vsFile)) {
            vsFile = findVs(manifestsDir);
            vsMtime = 0;
        }
        if (!vsFile) {
            weight = 0;
            return;
        }
        const m = fs.statSync(vsFile).mtimeMs;
        if (m === vsMtime) {
            return;
        }
        const doc = yaml.load(fs.readFileSync(vsFile, "utf8")) as VirtualService;
        const route = doc.spec.http[doc.spec.http.length - 1].route;
        const v2 = route.find((r) => r.destination.subset === "v2");
        weight = v2 ? (v2.weight ?? 100) : 0;
        vsMtime = m;
    } catch {
        // a file being rewritten: keep the last weight, read again next tick
    }
}

// --- counters ---
interface Series {
    labels: string;
    count: number;
    sum: number;
    buckets: number[];
}
/** Per (reporter, version, code). */
const series = new Map<string, Series>();
const perVersion: Record<Version, { n: number; carry: number }> = { v1: { n: 0, carry: 0 }, v2: { n: 0, carry: 0 } };

function behaviour(version: Version): Behaviour {
    if (version === "v2" && scenario.v2From && weight >= scenario.v2From.weight) {
        return { ...scenario.v2, ...scenario.v2From };
    }
    return scenario[version];
}

/** Deterministic: request i is "in" a fraction f when floor((i+1)·f) > floor(i·f). */
const picked = (i: number, f: number) => Math.floor((i + 1) * f) > Math.floor(i * f);

function record(version: Version, code: number, ms: number): void {
    for (const reporter of ["destination", "source"]) {
        const key = `${reporter}|${version}|${code}`;
        const s = series.get(key) ?? {
            labels:
                `reporter="${reporter}",source_workload="curl",source_workload_namespace="${namespace}",` +
                `destination_workload="${service}-${version}",destination_workload_namespace="${namespace}",` +
                `destination_service_name="${service}",destination_version="${version}",request_protocol="http",response_code="${code}"`,
            count: 0,
            sum: 0,
            buckets: BUCKETS.map(() => 0),
        };
        series.set(key, s);
        s.count++;
        s.sum += ms;
        BUCKETS.forEach((le, i) => {
            if (ms <= le) {
                s.buckets[i]++;
            }
        });
    }
}

function tick(): void {
    readWeight();
    const perTick = (scenario.rps * TICK_MS) / 1000;
    for (const [version, share] of [
        ["v1", (100 - weight) / 100],
        ["v2", weight / 100],
    ] as const) {
        const v = perVersion[version];
        v.carry += perTick * share;
        const b = behaviour(version);
        while (v.carry >= 1) {
            v.carry -= 1;
            const i = v.n++;
            const code = picked(i, b.errorRate) ? 503 : 200;
            const ms = picked(i, b.slowFraction) ? b.slowMs : b.fastMs;
            record(version, code, ms);
        }
    }
}
setInterval(tick, TICK_MS);

function metricsText(): string {
    const out = [
        "# HELP istio_requests_total Total requests.",
        "# TYPE istio_requests_total counter",
        ...[...series.values()].map((s) => `istio_requests_total{${s.labels}} ${s.count}`),
        "# HELP istio_request_duration_milliseconds Request duration.",
        "# TYPE istio_request_duration_milliseconds histogram",
    ];
    for (const s of series.values()) {
        BUCKETS.forEach((le, i) =>
            out.push(`istio_request_duration_milliseconds_bucket{${s.labels},le="${le}"} ${s.buckets[i]}`),
        );
        out.push(`istio_request_duration_milliseconds_bucket{${s.labels},le="+Inf"} ${s.count}`);
        out.push(`istio_request_duration_milliseconds_sum{${s.labels}} ${s.sum}`);
        out.push(`istio_request_duration_milliseconds_count{${s.labels}} ${s.count}`);
    }
    return out.join("\n") + "\n";
}

const server = http.createServer((req, res) => {
    if (req.method === "GET" && req.url === "/metrics") {
        res.writeHead(200, { "Content-Type": "text/plain; version=0.0.4" });
        res.end(metricsText());
        return;
    }
    if (req.method === "GET" && req.url === "/state") {
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ weight, scenario, requests: { v1: perVersion.v1.n, v2: perVersion.v2.n } }));
        return;
    }
    if (req.method === "POST" && req.url === "/scenario") {
        let body = "";
        req.on("data", (c: Buffer) => (body += c.toString()));
        req.on("end", () => {
            try {
                const s = JSON.parse(body) as Partial<Omit<Scenario, "v1" | "v2">> & {
                    v1?: Partial<Behaviour>;
                    v2?: Partial<Behaviour>;
                };
                scenario = { ...DEFAULT, ...s, v1: { ...DEFAULT.v1, ...s.v1 }, v2: { ...DEFAULT.v2, ...s.v2 } };
                res.writeHead(204);
                res.end();
            } catch (e) {
                res.writeHead(400);
                res.end(String(e));
            }
        });
        return;
    }
    res.writeHead(404);
    res.end();
});
server.listen(Number(args.port), "127.0.0.1", () => console.log(`fixture listening on 127.0.0.1:${args.port}`));
for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.on(sig, () => process.exit(0));
}
