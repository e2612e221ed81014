/**
 * Test fixture for `npm run test:promote` (tests/e2e/promote.test.ts): an HTTP server that plays the Istio
 * sidecars of every canaried service (`<svc>-v1` and `<svc>-v2`) for a real Prometheus to scrape. It serves
 * /metrics in the Prometheus text format with the standard Istio series (istio_requests_total,
 * istio_request_duration_milliseconds_bucket/_sum/_count; reporter="destination", plus the "source" copies a
 * client sidecar would add, which the promote queries must not count), and makes up the traffic over time:
 *   - the services are those whose VirtualService the promoted stack has ACTUALLY applied: the files the
 *     Kubernetes provider renders under --manifests (renderYamlToDirectory), re-read on every tick; each
 *     service's split between v1 and v2 follows its own VirtualService's weight;
 *   - the behaviour (traffic rate, 5xx ratio, gRPC failures, latency) comes from a scenario the test sets
 *     with POST /scenario {…}: one for every service, and `services: {<name>: {…}}` over it for one service
 *     (see DEFAULT and Scenario below); GET /state shows each service's weight and request counts.
 * A gRPC service's requests carry `grpc_response_status` ("0" OK; "14" UNAVAILABLE for a failure), as
 * Istio labels them; on an HTTP service the label is empty, i.e. absent
 * (https://istio.io/latest/docs/reference/config/metrics/#labels).
 * Counters only ever grow (a scenario change keeps them), as real counters do between restarts.
 *
 * Node runs this file as is (type stripping, Node >= 22.18): no build step.
 * Usage: node scripts/promoteFixture.ts --port <port> --manifests <dir> [--namespace canary-demo]
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
        namespace: { type: "string", default: "canary-demo" },
    },
});
if (!args.port || !args.manifests) {
    console.error("usage: promoteFixture.ts --port <port> --manifests <dir> [--namespace <ns>]");
    process.exit(2);
}
const manifestsDir = args.manifests;
const { namespace } = args;

// Istio's default buckets for istio_request_duration_milliseconds.
const BUCKETS = [
    0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000,
];
const TICK_MS = 100;
/** gRPC status UNAVAILABLE: what a broken gRPC canary answers behind HTTP 200. */
const GRPC_UNAVAILABLE = "14";

/**
 * One version's behaviour: the 5xx ratio; for a gRPC service, the ratio of calls answered HTTP 200 with
 * grpc-status 14; `slowFraction` of the requests take `slowMs`, the others `fastMs`.
 */
interface Behaviour {
    errorRate: number;
    grpcErrorRate: number;
    fastMs: number;
    slowFraction: number;
    slowMs: number;
}
type Version = "v1" | "v2";

/**
 * A service's scenario: `rps` requests per second to the service in total, split by its applied weight; per
 * version its behaviour. `v2From` overrides v2's behaviour once the applied weight reaches `weight` (a canary
 * that breaks under load).
 */
interface Scenario {
    rps: number;
    protocol: "http" | "grpc";
    v1: Behaviour;
    v2: Behaviour;
    v2From: ({ weight: number } & Partial<Behaviour>) | null;
}
/** What the test posts: fields of a scenario for every service, and `services` over them per service. */
interface Layer {
    rps?: number;
    protocol?: Scenario["protocol"];
    v1?: Partial<Behaviour>;
    v2?: Partial<Behaviour>;
    v2From?: Scenario["v2From"];
}
type Posted = Layer & { name?: string; services?: Record<string, Layer> };

const DEFAULT: Scenario = {
    rps: 60,
    protocol: "http",
    v1: { errorRate: 0.005, grpcErrorRate: 0, fastMs: 20, slowFraction: 0.03, slowMs: 150 },
    v2: { errorRate: 0, grpcErrorRate: 0, fastMs: 20, slowFraction: 0.03, slowMs: 150 },
    v2From: null,
};
let posted: Posted = { name: "healthy" };

/** A service's scenario: the defaults, the posted one over them, the service's own over that. */
function scenarioOf(service: string): Scenario {
    const layers = [posted, posted.services?.[service] ?? {}];
    return layers.reduce<Scenario>(
        (s, l) => ({
            rps: l.rps ?? s.rps,
            protocol: l.protocol ?? s.protocol,
            v1: { ...s.v1, ...l.v1 },
            v2: { ...s.v2, ...l.v2 },
            v2From: l.v2From === undefined ? s.v2From : l.v2From,
        }),
        DEFAULT,
    );
}

// --- the services and the weight in force of each, from the rendered VirtualServices ---
interface Service {
    file: string;
    mtime: number;
    weight: number;
    /** Requests made up so far, and the fraction of one carried to the next tick. */
    versions: Record<Version, { n: number; carry: number }>;
}
const services = new Map<string, Service>();
const VS_FILE = new RegExp(`virtualservice-${namespace}-([a-z0-9-]+)\\.yaml$`, "i");

function vsFiles(dir: string, out: Map<string, string> = new Map()): Map<string, string> {
    if (!fs.existsSync(dir)) {
        return out;
    }
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        const m = VS_FILE.exec(e.name);
        if (e.isDirectory()) {
            vsFiles(p, out);
        } else if (m) {
            out.set(m[1], p);
        }
    }
    return out;
}
interface VirtualService {
    spec: { http: { route: { destination: { subset: string }; weight?: number }[] }[] };
}
/** Finds services added and removed, and re-reads each VirtualService that changed. */
function readWeights(): void {
    let files: Map<string, string>;
    try {
        files = vsFiles(manifestsDir);
    } catch {
        return; // the directory being rewritten: read again next tick
    }
    for (const name of services.keys()) {
        if (!files.has(name)) {
            services.delete(name); // its series stay, and stop growing
        }
    }
    for (const [name, file] of files) {
        const s = services.get(name) ?? {
            file,
            mtime: 0,
            weight: 0,
            versions: { v1: { n: 0, carry: 0 }, v2: { n: 0, carry: 0 } },
        };
        services.set(name, s);
        try {
            const m = fs.statSync(file).mtimeMs;
            if (m === s.mtime && file === s.file) {
                continue;
            }
            const doc = yaml.load(fs.readFileSync(file, "utf8")) as VirtualService;
            const route = doc.spec.http[doc.spec.http.length - 1].route;
            const v2 = route.find((r) => r.destination.subset === "v2");
            s.weight = v2 ? (v2.weight ?? 100) : 0;
            s.file = file;
            s.mtime = m;
        } catch {
            // a file being rewritten: keep the last weight, read again next tick
        }
    }
}

// --- counters ---
interface Series {
    labels: string;
    count: number;
    sum: number;
    buckets: number[];
}
/** Per (service, reporter, version, code, grpc status). */
const series = new Map<string, Series>();

function behaviour(sc: Scenario, version: Version, weight: number): Behaviour {
    if (version === "v2" && sc.v2From && weight >= sc.v2From.weight) {
        return { ...sc.v2, ...sc.v2From };
    }
    return sc[version];
}

/** Deterministic: request i is "in" a fraction f when floor((i+1)·f) > floor(i·f). */
const picked = (i: number, f: number) => Math.floor((i + 1) * f) > Math.floor(i * f);

function record(service: string, version: Version, code: number, grpc: string, ms: number): void {
    for (const reporter of ["destination", "source"]) {
        const key = `${service}|${reporter}|${version}|${code}|${grpc}`;
        const s = series.get(key) ?? {
            labels:
                `reporter="${reporter}",source_workload="curl",source_workload_namespace="${namespace}",` +
                `destination_workload="${service}-${version}",destination_workload_namespace="${namespace}",` +
                `destination_service_name="${service}",destination_version="${version}",` +
                `request_protocol="${grpc ? "grpc" : "http"}",response_code="${code}",grpc_response_status="${grpc}"`,
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
    readWeights();
    for (const [name, svc] of services) {
        const sc = scenarioOf(name);
        const perTick = (sc.rps * TICK_MS) / 1000;
        for (const [version, share] of [
            ["v1", (100 - svc.weight) / 100],
            ["v2", svc.weight / 100],
        ] as const) {
            const v = svc.versions[version];
            v.carry += perTick * share;
            const b = behaviour(sc, version, svc.weight);
            while (v.carry >= 1) {
                v.carry -= 1;
                const i = v.n++;
                const ms = picked(i, b.slowFraction) ? b.slowMs : b.fastMs;
                if (sc.protocol === "grpc") {
                    const failed = picked(i, b.errorRate) ? 503 : picked(i, b.grpcErrorRate) ? 200 : 0;
                    record(name, version, failed || 200, failed ? GRPC_UNAVAILABLE : "0", ms);
                } else {
                    record(name, version, picked(i, b.errorRate) ? 503 : 200, "", ms);
                }
            }
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

function state(): object {
    return {
        scenario: posted,
        weights: Object.fromEntries([...services].map(([name, s]) => [name, s.weight])),
        requests: Object.fromEntries(
            [...services].map(([name, s]) => [name, { v1: s.versions.v1.n, v2: s.versions.v2.n }]),
        ),
    };
}

const server = http.createServer((req, res) => {
    if (req.method === "GET" && req.url === "/metrics") {
        res.writeHead(200, { "Content-Type": "text/plain; version=0.0.4" });
        res.end(metricsText());
        return;
    }
    if (req.method === "GET" && req.url === "/state") {
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end(JSON.stringify(state()));
        return;
    }
    if (req.method === "POST" && req.url === "/scenario") {
        let body = "";
        req.on("data", (c: Buffer) => (body += c.toString()));
        req.on("end", () => {
            try {
                posted = JSON.parse(body) as Posted;
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
