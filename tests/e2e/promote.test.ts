/**
 * End to end, `npm run promote` against a REAL Prometheus server (Debian's package:
 * scripts/setup-prometheus.sh) on 127.0.0.1 scraping scripts/promoteFixture.ts, which serves Istio-shaped
 * metrics for hello-v1/hello-v2 whose traffic split follows the weight the promoted stack has actually
 * applied; the stack is a throwaway copy of the render stack under the REAL Pulumi engine (scripts/engine.ts,
 * set up and inspected through the Automation API). The promote CLI itself (bin/promote/cli.js) runs as a
 * child process: it is what is under test. Scenarios: --dry-run, Prometheus down, Ctrl-C during `pulumi up`,
 * slow p99, 5xx at the second step, no traffic, Ctrl-C during an interval, a healthy canary promoted to 100;
 * then, with described services (issue 17): two services moved by the stack's canaryWeight, the second one
 * broken, both rolled back; a gRPC service failing with HTTP 200 + grpc-status 14, rolled back; a healthy
 * gRPC canary promoted and its release finished.
 *
 * `npm run test:promote` (compiles the CLI, then jest.promote.config.js); `npm test` does not run it. The
 * tests run in order and share the stack. Prometheus and the fixture are started here and stopped by PID in
 * afterAll, and when jest exits, whatever happens (tests/e2e/processGuard.ts). PROMOTE_E2E_VERBOSE=1 streams the CLI's output (it is
 * printed anyway for a failing test); KEEP_PROMOTE_WORKDIR=1 keeps the work dir.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import * as yaml from "js-yaml";
import { Stack } from "@pulumi/pulumi/automation";
import { copyProgram, RENDER_STACK_CONFIG } from "../support/engine";
import { guard, release } from "./processGuard";

const root = path.resolve(__dirname, "..", "..");
const STACK = "render";
const PROMETHEUS = process.env.PROMETHEUS_BIN || "/usr/bin/prometheus";
const FIXTURE = path.join(root, "scripts", "promoteFixture.ts");
const CLI = path.join(root, "bin", "promote", "cli.js");
// Short intervals keep the test fast: at 60 requests/s, 10 % of the traffic is 18 requests in 3 s, with
// Prometheus scraping every second.
const INTERVAL = process.env.PROMOTE_E2E_INTERVAL || "3s";

// --- processes we start, stopped by PID in every case: in afterAll, and by processGuard when jest exits ---
interface Tracked {
    child: ChildProcess;
    name: string;
    /** Leads its own process group (signals go to the whole group). */
    group: boolean;
}
const children = new Map<number, Tracked>();
function track(child: ChildProcess, name: string, group = false): ChildProcess {
    if (child.pid !== undefined) {
        const pid = child.pid;
        children.set(pid, { child, name, group });
        guard(pid, name, group);
        child.on("exit", () => {
            children.delete(pid);
            release(pid);
        });
    }
    return child;
}
const running = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;
function kill(pid: number, { group }: Tracked, signal: NodeJS.Signals): void {
    try {
        process.kill(group ? -pid : pid, signal);
    } catch {
        // gone
    }
}
/** SIGTERM each by PID, SIGKILL whatever has not exited 5 s later. */
async function stopAll(): Promise<void> {
    await Promise.all(
        [...children.entries()].map(
            ([pid, t]) =>
                new Promise<void>((resolve) => {
                    if (!running(t.child)) {
                        return resolve();
                    }
                    const timer = setTimeout(() => {
                        kill(pid, t, "SIGKILL");
                        console.log(`(${t.name}, pid ${pid}, did not stop on SIGTERM: killed)`);
                        resolve();
                    }, 5000);
                    t.child.once("exit", () => {
                        clearTimeout(timer);
                        resolve();
                    });
                    kill(pid, t, "SIGTERM");
                }),
        ),
    );
    children.clear();
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const s = net.createServer();
        s.on("error", reject);
        s.listen(0, "127.0.0.1", () => {
            const { port } = s.address() as net.AddressInfo;
            s.close(() => resolve(port));
        });
    });
}
async function waitFor(what: string, fn: () => Promise<boolean>, timeoutMs = 30000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
        try {
            if (await fn()) {
                return;
            }
        } catch (e) {
            last = e;
        }
        await sleep(250);
    }
    throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
}

let work: string;
let stack: Stack;
/** Environment of the promote CLI: this process's, plus the offline engine's (PATH, backend, passphrase). */
let env: NodeJS.ProcessEnv;
let manifestsDir: string;
let fixtureUrl: string;
let promUrl: string;
let deadPort: number;
/** Set in afterAll: the processes exit because they are told to. */
let stopping = false;
/** Every promote run of the current test, for the failure output. */
let transcripts: string[] = [];

// The first run on a machine may build the Pulumi toolchain (tools/pulumi-toolchain.sh), hence the time.
beforeAll(async () => {
    if (!fs.existsSync(PROMETHEUS)) {
        throw new Error(`${PROMETHEUS} not found: run scripts/setup-prometheus.sh first`);
    }
    if (!fs.existsSync(CLI)) {
        throw new Error(`${CLI} not found: npm run test:promote compiles it first (tsc -p promote/tsconfig.json)`);
    }
    // --- the stack: a throwaway copy of the program (the run never touches the work tree), render stack
    // from fresh state, canary at 0 ---
    const t0 = Date.now();
    const copy = await copyProgram("asm-canary-promote-", STACK, "render", RENDER_STACK_CONFIG);
    ({ work, stack } = copy);
    manifestsDir = path.join(work, ".render", "manifests");
    env = { ...process.env, ...copy.envVars };
    await stack.setConfig("canaryWeight", { value: "0" });
    await stack.up();
    console.log(`stack ready (${((Date.now() - t0) / 1000).toFixed(0)} s)`);

    // --- the fixture and Prometheus ---
    const [fixturePort, promPort] = [await freePort(), await freePort()];
    deadPort = await freePort();
    fixtureUrl = `http://127.0.0.1:${fixturePort}`;
    promUrl = `http://127.0.0.1:${promPort}`;
    // Node runs the TypeScript fixture as is (type stripping). The flag hushes its notice that it reparsed
    // the file as an ES module (package.json has no "type").
    const fixture = track(
        spawn(
            process.execPath,
            [
                "--disable-warning=MODULE_TYPELESS_PACKAGE_JSON",
                FIXTURE,
                ...["--port", String(fixturePort), "--manifests", manifestsDir],
            ],
            { stdio: ["ignore", "ignore", "inherit"] },
        ),
        "fixture",
    );
    const promDir = path.join(work, "prometheus");
    fs.mkdirSync(promDir);
    fs.writeFileSync(
        path.join(promDir, "prometheus.yml"),
        yaml.dump({
            global: { scrape_interval: "1s", scrape_timeout: "1s" },
            scrape_configs: [
                { job_name: "istio-fixture", static_configs: [{ targets: [`127.0.0.1:${fixturePort}`] }] },
            ],
        }),
    );
    const promLog = fs.openSync(path.join(promDir, "prometheus.log"), "w");
    const prom = track(
        spawn(
            PROMETHEUS,
            [
                `--config.file=${path.join(promDir, "prometheus.yml")}`,
                `--storage.tsdb.path=${path.join(promDir, "data")}`,
                `--web.listen-address=127.0.0.1:${promPort}`,
            ],
            { stdio: ["ignore", promLog, promLog] },
        ),
        "prometheus",
    );
    fs.closeSync(promLog); // the child has its own copy
    console.log(`Prometheus pid ${prom.pid} on ${promUrl}, fixture pid ${fixture.pid} on ${fixtureUrl}`);
    prom.on("exit", (code, signal) => {
        if (!stopping) {
            console.log(
                `Prometheus exited early (${code ?? signal}); its log: ${path.join(promDir, "prometheus.log")}`,
            );
        }
    });
    const promQuery = async (q: string): Promise<unknown[]> =>
        ((await (await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`)).json()) as any).data.result;
    await waitFor(
        "Prometheus to scrape the fixture",
        async () => (await promQuery('istio_requests_total{reporter="destination"}')).length > 0,
    );
}, 30 * 60_000);

afterAll(async () => {
    stopping = true;
    await stopAll();
    if (work && !process.env.KEEP_PROMOTE_WORKDIR) {
        fs.rmSync(work, { recursive: true, force: true });
    } else if (work) {
        console.log(`work dir kept: ${work}`);
    }
}, 60_000);

interface PromoteResult {
    code: number;
    out: string;
    report: any;
}

/**
 * Runs the promote CLI; resolves its exit code, output and JSON report. `onLine` sees each output line
 * (e.g. to send a signal). `group`: run it as its own process group, as a shell does, so that a Ctrl-C can
 * be sent to the whole group (the CLI, and the pulumi processes it runs) like a terminal does.
 */
function promote(
    args: string[],
    onLine?: (line: string, child: ChildProcess) => void,
    group = false,
): Promise<PromoteResult> {
    const reportFile = path.join(work, `report-${Date.now()}.json`);
    const argv = [CLI, "--stack", STACK, "--project-dir", work, "--report", reportFile, "--interval", INTERVAL];
    return new Promise((resolve, reject) => {
        const child = track(
            spawn(process.execPath, [...argv, ...args], { env, stdio: ["ignore", "pipe", "pipe"], detached: group }),
            "promote",
            group,
        );
        let out = "";
        let pending = "";
        const onData = (d: Buffer) => {
            const text = d.toString();
            out += text;
            if (process.env.PROMOTE_E2E_VERBOSE) {
                process.stdout.write(text.replace(/^(?=.)/gm, "     | "));
            }
            pending += text;
            const lines = pending.split("\n");
            pending = lines.pop() ?? "";
            for (const l of lines) {
                onLine?.(l, child);
            }
        };
        child.stdout?.on("data", onData);
        child.stderr?.on("data", onData);
        child.on("error", reject);
        child.on("exit", (code, signal) => {
            transcripts.push(`$ promote ${args.join(" ")}\n${out}(exit ${code ?? signal})`);
            const report: unknown = fs.existsSync(reportFile)
                ? JSON.parse(fs.readFileSync(reportFile, "utf8"))
                : undefined;
            resolve({ code: code ?? (signal ? 128 : 1), out, report });
        });
    });
}

/** A test whose failure output includes every promote run it made. */
function scenario(name: string, fn: () => Promise<void>): void {
    test(name, async () => {
        transcripts = [];
        try {
            await fn();
        } catch (e) {
            console.log(`promote runs of "${name}":\n${transcripts.join("\n\n")}`);
            throw e;
        }
    });
}

async function setScenario(s: object): Promise<void> {
    const r = await fetch(`${fixtureUrl}/scenario`, { method: "POST", body: JSON.stringify(s) });
    expect(r.status).toBe(204);
}

/** A rendered manifest: `kind` (lower case, as in the file name) `name` in canary-demo. */
function manifest(kind: string, name: string): any {
    const dir = path.join(manifestsDir, "1-manifest");
    const f = fs.readdirSync(dir).find((n) => n.endsWith(`${kind}-canary-demo-${name}.yaml`));
    if (!f) {
        throw new Error(`no rendered ${kind} ${name} in ${dir}`);
    }
    return yaml.load(fs.readFileSync(path.join(dir, f), "utf8"));
}

/** The rendered VirtualService's weights. */
function rendered(service = "hello"): Record<string, number> {
    const doc = manifest("virtualservice", service);
    return Object.fromEntries(doc.spec.http.at(-1).route.map((r: any) => [r.destination.subset, r.weight]));
}

/** The weight in force, three ways: the config, the rendered VirtualService, the fixture's view of it. */
async function expectInForce(w: number): Promise<void> {
    const state = (await (await fetch(`${fixtureUrl}/state`)).json()) as { weights: Record<string, number> };
    expect({
        config: Number((await stack.getConfig("canaryWeight")).value),
        renderedWeights: rendered(),
        fixtureWeight: state.weights.hello,
    }).toEqual({ config: w, renderedWeights: { v1: 100 - w, v2: w }, fixtureWeight: w });
}

/** What a plain `pulumi up` would change now (the preview's summary without `same`): {} when nothing. */
async function pendingChanges(): Promise<Record<string, number>> {
    const { same: _same, ...counts } = (await stack.preview()).changeSummary as Record<string, number>;
    return Object.fromEntries(Object.entries(counts).filter(([, n]) => n));
}

const common = () => ["--prometheus-url", promUrl, "--min-requests", "10", "--steps", "10,25,50,100"];
// The preflight `pulumi preview` (no pending changes) runs in the dry-run, 5xx and healthy scenarios; the
// others skip it (--allow-pending-changes) to keep the test short: each preview is a full program run.
const quick = () => [...common(), "--allow-pending-changes"];
const steps = (report: any, withUp = false) =>
    report.steps.map((s: any) => [s.weight, ...(withUp ? [Boolean(s.up)] : []), s.analyses.map((a: any) => a.verdict)]);

scenario("--dry-run prints the plan and the PromQL, changes nothing (exit 0)", async () => {
    await setScenario({ name: "healthy" });
    const r = await promote([...common(), "--dry-run"]);
    expect({ code: r.code, outcome: r.report?.outcome }).toEqual({ code: 0, outcome: "dry-run" });
    expect(r.out).toContain(
        `sum(increase(istio_requests_total{reporter="destination",destination_workload_namespace="canary-demo",destination_workload="hello-v2"}[${INTERVAL}]))`,
    );
    expect(r.out).toContain("plan: 1. canaryWeight 10; 2. canaryWeight 25; 3. canaryWeight 50; 4. canaryWeight 100");
    await expectInForce(0);
});

scenario("Prometheus down: fails clearly, names the URL, changes nothing (exit 1)", async () => {
    const r = await promote(["--prometheus-url", `http://127.0.0.1:${deadPort}`, "--min-requests", "10"]);
    expect({ code: r.code, outcome: r.report?.outcome, steps: r.report?.steps }).toEqual({
        code: 1,
        outcome: "failed",
        steps: [],
    });
    expect(r.out).toContain(
        `Prometheus is not usable, nothing was changed: cannot reach Prometheus at http://127.0.0.1:${deadPort}: ECONNREFUSED. canaryWeight 0 is in force.`,
    );
    await expectInForce(0);
});

scenario(
    "Ctrl-C (to the whole process group) during pulumi up: the CLI cancels, the run says the weight in force (exit 130)",
    async () => {
        await setScenario({ name: "healthy" });
        let sent = false;
        const r = await promote(
            quick(),
            (line, child) => {
                if (!sent && line.includes("[1/4] canaryWeight 10: pulumi up …") && child.pid !== undefined) {
                    sent = true;
                    const pid = child.pid;
                    // 3 s in, pulumi is usually running the program (an up here takes 6-10 s); earlier, the CLI
                    // may die of the signal before it handles it. Either way the weight said on exit must hold.
                    setTimeout(() => process.kill(-pid, "SIGINT"), 3000);
                }
            },
            true,
        );
        expect({ code: r.code, outcome: r.report?.outcome }).toEqual({ code: 130, outcome: "interrupted" });
        // Whether the CLI cancelled before or after the VirtualService was written, the weight said on exit
        // must be the one in force everywhere (cancelled before: 0, and the config is set back to it).
        const w = r.report.weightInForce;
        expect([0, 10]).toContain(w);
        expect(r.out).toMatch(
            new RegExp(
                `INTERRUPTED (during|after) pulumi up to canaryWeight 10[.,].* canaryWeight ${w} is in force\\.`,
            ),
        );
        await expectInForce(w);
        expect(await pendingChanges()).toEqual({});
        if (w !== 0) {
            await stack.setConfig("canaryWeight", { value: "0" });
            await stack.up();
        }
    },
);

scenario("good error rate but slow p99: rolled back to 0 at the first step (exit 2)", async () => {
    await setScenario({ name: "slow", v2: { slowFraction: 0.1, slowMs: 1200 } });
    const r = await promote(quick());
    expect({
        code: r.code,
        failedChecks: r.report.failedChecks.map((c: any) => [c.metric, c.status, c.threshold]),
        steps: steps(r.report),
        errorRate: r.report.steps[0].analyses[0].checks.find((c: any) => c.metric === "errorRate").status,
    }).toEqual({ code: 2, failedChecks: [["p99Ms", "fail", 500]], steps: [[10, ["fail"]]], errorRate: "pass" });
    // p99 should be above 1000 ms
    expect(r.report.failedChecks[0].value).toBeGreaterThan(1000);
    // The report line names the metric, value and threshold.
    expect(r.out).toMatch(/ROLLED BACK from canaryWeight 10: p99 latency \d+ ms > max 500 ms/);
    await expectInForce(0);
});

scenario(
    "5xx rising at the second step: step 1 passes, step 2 fails, rolled back to 0 (exit 2); a plain up then changes nothing",
    async () => {
        await setScenario({ name: "errors-from-25", v2From: { weight: 25, errorRate: 0.3 } });
        const r = await promote(common());
        expect({
            code: r.code,
            steps: steps(r.report),
            failedChecks: r.report.failedChecks.map((c: any) => [c.metric, c.threshold]),
            outcome: r.report.outcome,
            weightInForce: r.report.weightInForce,
        }).toEqual({
            code: 2,
            steps: [
                [10, ["pass"]],
                [25, ["fail"]],
            ],
            failedChecks: [["errorRate", 0.01]],
            outcome: "rolled-back",
            weightInForce: 0,
        });
        // about 0.3
        const rate = r.report.failedChecks[0].value;
        expect(rate).toBeGreaterThan(0.2);
        expect(rate).toBeLessThan(0.4);
        await expectInForce(0);
        expect(await pendingChanges()).toEqual({});
    },
);

scenario("no traffic: not enough data, waits the extra interval, then halts in place at 10 (exit 3)", async () => {
    await setScenario({ name: "no-traffic", rps: 0 });
    const r = await promote([...quick(), "--max-wait-intervals", "1"]);
    expect({ code: r.code, steps: steps(r.report) }).toEqual({ code: 3, steps: [[10, ["no-data", "no-data"]]] });
    expect(r.out).toContain("NOT ENOUGH DATA: requests 0 < min 10");
    expect(r.out).toContain("HALTED at canaryWeight 10 (step 1/4): not enough data after 2 intervals");
    await expectInForce(10);
});

scenario("Ctrl-C during an interval: stops, says the weight in force (exit 130)", async () => {
    await setScenario({ name: "healthy" });
    let sent = false;
    const r = await promote(quick(), (line, child) => {
        if (!sent && /\[2\/4\] canaryWeight 25: interval 1/.test(line)) {
            sent = true;
            child.kill("SIGINT");
        }
    });
    expect({ code: r.code, outcome: r.report?.outcome }).toEqual({ code: 130, outcome: "interrupted" });
    expect(r.out).toContain("INTERRUPTED while analysing canaryWeight 25. canaryWeight 25 is in force.");
    await expectInForce(25);
});

scenario(
    "healthy canary (with the stable comparison): analysed at 25, promoted to 50 and 100 (exit 0); a plain up then changes nothing",
    async () => {
        await setScenario({ name: "healthy" });
        const r = await promote([...common(), "--max-error-rate-delta", "0.01", "--max-p99-delta-ms", "200"]);
        const a50 = r.report?.steps[1]?.analyses[0];
        expect({
            code: r.code,
            steps: steps(r.report, true),
            checksAt50: a50?.checks.map((c: any) => [c.metric, c.status]),
            // no comparison at 100
            comparisonAt100: r.report.steps[2]?.analyses[0].checks.slice(3).map((c: any) => c.status),
        }).toEqual({
            code: 0,
            steps: [
                [25, false, ["pass"]],
                [50, true, ["pass"]],
                [100, true, ["pass"]],
            ],
            checksAt50: [
                ["requests", "pass"],
                ["errorRate", "pass"],
                ["p99Ms", "pass"],
                ["errorRateDelta", "pass"],
                ["p99DeltaMs", "pass"],
            ],
            comparisonAt100: ["skipped", "skipped"],
        });
        // Both versions measured at 50.
        expect(a50.stable.requests).toBeGreaterThan(0);
        expect(a50.canary.requests).toBeGreaterThan(0);
        expect(r.out).toContain("PROMOTED: canaryWeight 100 is in force.");
        // 50 was previewed while 25 was analysed, and 100 while 50 was (a staged copy of the config, committed
        // at the step): each of those steps was its up alone.
        expect(r.report.steps.map((s: any) => s.plan?.preparedSeconds > 0)).toEqual([false, true, true]);
        expect(r.out).toMatch(
            /\] canaryWeight 100: previewed while the step before was analysed \(\d+\.\d s, plan saved, with the policy pack\); the config now holds canaryWeight 100/,
        );
        await expectInForce(100);
        expect(await pendingChanges()).toEqual({});
    },
);

// --- issue 17: described services, judged per service, gRPC by its grpc-status ---

describe("described services: two moved by the stack's canaryWeight, and a gRPC service with its own weight", () => {
    const image = (service: string, tag: string) => `registry.example.com/shop/${service}:${tag}`;
    /** reviews and ratings follow the stack's canaryWeight; greeter (gRPC) has its own, services[2].canaryWeight. */
    const SERVICES = [
        {
            name: "reviews",
            port: 9080,
            stable: { image: image("reviews", "1.0") },
            canary: { image: image("reviews", "1.1") },
        },
        {
            name: "ratings",
            port: 9080,
            stable: { image: image("ratings", "2.0") },
            canary: { image: image("ratings", "2.1") },
        },
        {
            name: "greeter",
            port: 50051,
            protocol: "grpc",
            canaryWeight: 0,
            stable: { image: image("greeter", "3.0") },
            canary: { image: image("greeter", "3.1") },
        },
    ];
    /** The fixture plays greeter's sidecars as gRPC (grpc_response_status on every request). */
    const GRPC = { greeter: { protocol: "grpc" } };
    const args = (steps: string) => [
        ...["--prometheus-url", promUrl, "--min-requests", "10", "--steps", steps],
        "--allow-pending-changes",
    ];
    /** Each service's rendered VirtualService weights. */
    const weights = () => Object.fromEntries(SERVICES.map((s) => [s.name, rendered(s.name)]));
    const at = (v2: number) => ({ v1: 100 - v2, v2 });

    /** Sets `services` in the stack's file as a YAML list of objects, as a person writes it (undefined: removes it). */
    function setServices(value: unknown[] | undefined): void {
        const file = path.join(work, `Pulumi.${STACK}.yaml`);
        const doc = yaml.load(fs.readFileSync(file, "utf8")) as { config: Record<string, unknown> };
        if (value === undefined) {
            delete doc.config["asm-canary:services"];
        } else {
            doc.config["asm-canary:services"] = value;
        }
        fs.writeFileSync(file, yaml.dump(doc));
    }

    let weightBefore: string;
    beforeAll(async () => {
        weightBefore = (await stack.getConfig("canaryWeight")).value;
        setServices(SERVICES);
        await stack.setConfig("canaryWeight", { value: "0" });
        await stack.up();
    }, 10 * 60_000);

    // The scenarios appended after this block find the demo stack as the ones above left it.
    afterAll(async () => {
        setServices(undefined);
        await stack.setConfig("canaryWeight", { value: weightBefore });
        await stack.up();
    }, 10 * 60_000);

    scenario(
        "two services by the stack's canaryWeight, ratings' canary answering 5xx: both judged, the step fails on ratings, both rolled back (exit 2)",
        async () => {
            await setScenario({ name: "ratings-5xx", services: { ...GRPC, ratings: { v2: { errorRate: 0.3 } } } });
            const r = await promote(args("10,50,100"));
            const a = r.report.steps[0]?.analyses[0];
            expect({
                code: r.code,
                weightKey: r.report.weightKey,
                judged: r.report.judged.map((j: any) => j.service),
                verdicts: a?.services?.map((v: any) => [v.service, v.verdict]),
                failedChecks: r.report.failedChecks?.map((c: any) => [c.service, c.metric]),
                // one up moved both: their two VirtualServices
                stepUpdates: r.report.steps[0]?.up?.changes?.update,
            }).toEqual({
                code: 2,
                weightKey: "canaryWeight",
                judged: ["reviews", "ratings"],
                verdicts: [
                    ["reviews", "pass"],
                    ["ratings", "fail"],
                ],
                failedChecks: [["ratings", "errorRate"]],
                stepUpdates: 2,
            });
            // reviews' canary did get its share at 10 %, and passed on it
            expect(a.services[0].canary.requests).toBeGreaterThanOrEqual(10);
            expect(r.out).toContain("[1/3] canaryWeight 10: FAIL (1 of 2 services pass)");
            expect(r.out).toMatch(/ROLLED BACK from canaryWeight 10: ratings: error rate \d+\.\d+% > max 1\.00%/);
            expect({ config: (await stack.getConfig("canaryWeight")).value, weights: weights() }).toEqual({
                config: "0",
                weights: { reviews: at(0), ratings: at(0), greeter: at(0) },
            });
        },
    );

    scenario(
        "gRPC canary answering HTTP 200 with grpc-status 14: no 5xx at all, yet judged failing by the gRPC query, its own weight rolled back (exit 2)",
        async () => {
            await setScenario({
                name: "greeter-grpc-14",
                services: { greeter: { protocol: "grpc", v2: { grpcErrorRate: 0.3 } } },
            });
            const r = await promote([...args("10,100"), "--service", "greeter"]);
            expect({
                code: r.code,
                weightKey: r.report.weightKey,
                judged: r.report.judged.map((j: any) => [j.service, j.protocol]),
                failedChecks: r.report.failedChecks?.map((c: any) => c.metric),
            }).toEqual({
                code: 2,
                weightKey: "services[2].canaryWeight",
                judged: [["greeter", "grpc"]],
                failedChecks: ["errorRate"],
            });
            // about 0.3
            expect(r.report.failedChecks[0].value).toBeGreaterThan(0.2);
            expect(r.report.failedChecks[0].value).toBeLessThan(0.4);
            expect(r.out).toMatch(/ROLLED BACK from services\[2\]\.canaryWeight 10: error rate \d+\.\d+% > max 1\.00%/);
            // Prometheus has greeter-v2's failures, every one behind HTTP 200: a 5xx query would have passed it.
            const count = async (matchers: string) =>
                Number(
                    (
                        (await (
                            await fetch(
                                `${promUrl}/api/v1/query?query=${encodeURIComponent(`sum(istio_requests_total{reporter="destination",destination_workload="greeter-v2",${matchers}}) or vector(0)`)}`,
                            )
                        ).json()) as any
                    ).data.result[0].value[1],
                );
            expect({
                grpc14: (await count('grpc_response_status="14"')) > 0,
                http5xx: await count('response_code=~"5.."'),
            }).toEqual({
                grpc14: true,
                http5xx: 0,
            });
            expect({
                config: (await stack.getConfig("services[2].canaryWeight", true)).value,
                stackWeight: (await stack.getConfig("canaryWeight")).value,
                weights: weights(),
            }).toEqual({ config: "0", stackWeight: "0", weights: { reviews: at(0), ratings: at(0), greeter: at(0) } });
        },
    );

    scenario(
        "healthy gRPC canary (grpc-status 0): passes at 50 and 100, its release finished (stable runs the canary's image, canary at 0 replicas); a plain up then changes nothing",
        async () => {
            await setScenario({ name: "greeter-healthy", services: GRPC });
            // Two steps: the policy pack, on for every step, allows at most +50 at once (canary-weight-step).
            const r = await promote([...args("50,100"), "--service", "greeter"]);
            expect({
                code: r.code,
                steps: steps(r.report),
                finalized: r.report.finalize?.config,
                finishUpError: r.report.finalize?.up?.error,
            }).toEqual({
                code: 0,
                steps: [
                    [50, ["pass"]],
                    [100, ["pass"]],
                ],
                finalized: {
                    "services[2].stable.image": image("greeter", "3.1"),
                    "services[2].canaryWeight": 0,
                    "services[2].canary.replicas": 0,
                },
                finishUpError: undefined,
            });
            // 100 was previewed while 50 was analysed: the path key staged in a copy of the config, then committed
            expect(r.report.steps.map((s: any) => s.plan?.preparedSeconds > 0)).toEqual([false, true]);
            expect(r.out).toContain("the config now holds services[2].canaryWeight 100");
            // the canary carried everything while judged, and its requests were gRPC OK
            expect(r.report.steps[1].analyses[0].canary.requests).toBeGreaterThanOrEqual(10);
            expect(r.out).toContain(
                `PROMOTED and FINISHED (greeter runs ${image("greeter", "3.1")} as its stable version, its canary scaled to 0): services[2].canaryWeight 0 is in force.`,
            );
            const container = (d: any) => d.spec.template.spec.containers[0];
            const [v1, v2] = [manifest("deployment", "greeter-v1"), manifest("deployment", "greeter-v2")];
            expect({
                config: JSON.parse((await stack.getConfig("services")).value)[2],
                v1: [container(v1).image, v1.spec.replicas],
                v2Replicas: v2.spec.replicas,
                weights: weights(),
            }).toEqual({
                config: {
                    ...SERVICES[2],
                    stable: { image: image("greeter", "3.1") },
                    canary: { image: image("greeter", "3.1"), replicas: 0 },
                },
                v1: [image("greeter", "3.1"), 1],
                v2Replicas: 0,
                weights: { reviews: at(0), ratings: at(0), greeter: at(0) },
            });
            expect(await pendingChanges()).toEqual({});
        },
    );
});

describe("a step held to its plan", () => {
    /** The rendered PeerAuthentication's mTLS mode (the change this scenario slips into the config). */
    function renderedMtlsMode(): string {
        const dir = path.join(manifestsDir, "1-manifest");
        const f = fs.readdirSync(dir).find((n) => /peerauthentication/i.test(n));
        if (!f) {
            throw new Error(`no rendered PeerAuthentication in ${dir}`);
        }
        return (yaml.load(fs.readFileSync(path.join(dir, f), "utf8")) as any).spec.mtls.mode;
    }

    /** Sets a key in the stack's config file at once, as `pulumi config set` would (synchronous: no race with the run). */
    function setConfigNow(key: string, value: string): void {
        const file = path.join(work, `Pulumi.${STACK}.yaml`);
        const doc = yaml.load(fs.readFileSync(file, "utf8")) as { config: Record<string, unknown> };
        doc.config[`asm-canary:${key}`] = value;
        fs.writeFileSync(file, yaml.dump(doc));
    }

    scenario(
        "the stack's config changes between two steps: the next step aborts before changing anything, says why, and the rollback to 0 applies only the weight (exit 1)",
        async () => {
            // From 0, whatever the scenarios before left (the healthy one ends at 100).
            await stack.setConfig("canaryWeight", { value: "0" });
            await stack.up();
            await setScenario({ name: "healthy" });
            expect(renderedMtlsMode()).toBe("PERMISSIVE");
            let changed = false;
            const r = await promote(quick(), (line) => {
                if (!changed && /\[1\/4\] canaryWeight 10: interval 1/.test(line)) {
                    changed = true;
                    setConfigNow("mtlsMode", "STRICT");
                }
            });
            const step2 = r.report?.steps[1];
            expect({
                code: r.code,
                outcome: r.report?.outcome,
                steps: steps(r.report, true),
                planOk: r.report?.steps.map((s: any) => s.plan?.check?.ok),
                rolledBackTo: r.report?.rollback?.weight,
            }).toEqual({
                code: 1,
                outcome: "failed",
                // step 2 was never applied: no up, no analysis
                steps: [
                    [10, true, ["pass"]],
                    [25, false, []],
                ],
                planOk: [true, false],
                rolledBackTo: 0,
            });
            expect(step2.plan.check.unexpected).toEqual(
                expect.arrayContaining([expect.stringMatching(/^update PeerAuthentication canary-demo\//)]),
            );
            expect(r.out).toMatch(
                /step 2\/4 \(canaryWeight 25\) aborted before any change: besides the weight, it would also update .*PeerAuthentication canary-demo\//,
            );
            // The rollback moved the weight only: the slipped-in change is still only in the config.
            expect(r.report.rollback.targets).toEqual([expect.stringMatching(/VirtualService::/)]);
            await expectInForce(0);
            expect(renderedMtlsMode()).toBe("PERMISSIVE");
            expect((await stack.getConfig("mtlsMode")).value).toBe("STRICT");
            // The outcome is recorded with the stack (a tag), and `npm run status` shows it with the route.
            const tag = JSON.parse((await stack.workspace.listTags(STACK))["asm-canary:lastPromotion"]);
            expect(tag).toMatchObject({ outcome: "failed", exitCode: 1, weightKey: "canaryWeight", from: 0, to: 0 });
            const status = await new Promise<string>((resolve, reject) => {
                const child = spawn(
                    process.execPath,
                    [
                        path.join(root, "bin", "promote", "statusCli.js"),
                        "--stack",
                        STACK,
                        "--project-dir",
                        work,
                        "--no-preview",
                    ],
                    { env, stdio: ["ignore", "pipe", "inherit"] },
                );
                let out = "";
                child.stdout.on("data", (d: Buffer) => (out += d.toString()));
                child.on("error", reject);
                child.on("exit", (code) =>
                    code === 0 ? resolve(out) : reject(new Error(`status exited ${code}: ${out}`)),
                );
            });
            expect(status.split("\n")).toEqual(
                expect.arrayContaining([
                    "Stack render (namespace canary-demo), as last applied:",
                    "  hello: v1 100% / v2 0%",
                    "    mTLS: PERMISSIVE; authorization: off",
                    expect.stringMatching(/^Last promotion: failed \(exit 1\) at \S+, canaryWeight 0 -> 0$/),
                ]),
            );
            await stack.setConfig("mtlsMode", { value: "PERMISSIVE" });
            expect(await pendingChanges()).toEqual({});
        },
    );
});
