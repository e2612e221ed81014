#!/usr/bin/env node
// End-to-end test of `npm run promote` (`npm run test:promote`): a REAL Prometheus server (Debian's
// package: scripts/setup-prometheus.sh) on 127.0.0.1 scraping scripts/promote-fixture.js, which serves
// Istio-shaped metrics for hello-v1/hello-v2 whose traffic split follows the weight the promoted stack has
// actually applied; the stack is a throwaway copy of the render stack under the REAL Pulumi engine
// (scripts/engine.js). Scenarios: Prometheus down, slow p99, 5xx at the second step, no traffic, Ctrl-C,
// a healthy canary promoted to 100. Prints "N passed, N failed"; exits non-zero on any failure.
// Prometheus and the fixture are started here and stopped by PID whatever happens.
"use strict";
const fs = require("fs");
const net = require("net");
const os = require("os");
const path = require("path");
const { spawn } = require("child_process");
const yaml = require("js-yaml");
const { isDeepStrictEqual } = require("util");
const { root, engineEnv, pulumiOk } = require("./engine");

const STACK = "render";
const PROMETHEUS = process.env.PROMETHEUS_BIN || "/usr/bin/prometheus";
// Short intervals keep the test fast: at 60 requests/s, 10 % of the traffic is 18 requests in 3 s, with
// Prometheus scraping every second.
const INTERVAL = process.env.PROMOTE_E2E_INTERVAL || "3s";
const CLI = path.join(root, "bin", "promote", "cli.js");

const results = [];
async function check(name, fn) {
    const t0 = Date.now();
    try {
        await fn();
        results.push([name, true]);
        console.log(`ok   ${name} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
    } catch (e) {
        results.push([name, false]);
        console.log(`FAIL ${name}\n     ${String(e.message).split("\n").join("\n     ")}`);
    }
}
function assert(cond, msg) {
    if (!cond) {
        throw new Error(msg);
    }
}
function eq(actual, expected, what) {
    assert(isDeepStrictEqual(actual, expected), `${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

// --- processes we start, stopped by PID in every case ---
const children = new Map(); // pid -> { child, name }
function track(child, name) {
    children.set(child.pid, { child, name });
    child.on("exit", () => children.delete(child.pid));
    return child;
}
/** SIGTERM each by PID, SIGKILL whatever has not exited 5 s later. */
async function stopAll() {
    const waits = [...children.entries()].map(
        ([pid, { child, name }]) =>
            new Promise((resolve) => {
                if (child.exitCode !== null || child.signalCode !== null) {
                    return resolve();
                }
                const timer = setTimeout(() => {
                    try {
                        process.kill(pid, "SIGKILL");
                        console.log(`(${name}, pid ${pid}, did not stop on SIGTERM: killed)`);
                    } catch {
                        // gone
                    }
                    resolve();
                }, 5000);
                child.once("exit", () => {
                    clearTimeout(timer);
                    resolve();
                });
                try {
                    process.kill(pid, "SIGTERM");
                } catch {
                    clearTimeout(timer);
                    resolve();
                }
            }),
    );
    await Promise.all(waits);
    children.clear();
}
let work;
async function cleanup() {
    await stopAll();
    if (work && !process.env.KEEP_PROMOTE_WORKDIR) {
        fs.rmSync(work, { recursive: true, force: true });
    } else if (work) {
        console.log(`work dir kept: ${work}`);
    }
}
for (const sig of ["SIGINT", "SIGTERM"]) {
    process.on(sig, () => {
        console.log(`${sig}: stopping Prometheus and the fixture`);
        cleanup().finally(() => process.exit(130));
    });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function freePort() {
    return new Promise((resolve, reject) => {
        const s = net.createServer();
        s.on("error", reject);
        s.listen(0, "127.0.0.1", () => {
            const { port } = s.address();
            s.close(() => resolve(port));
        });
    });
}
async function waitFor(what, fn, timeoutMs = 30000) {
    const deadline = Date.now() + timeoutMs;
    let last;
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
    throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ""}`);
}

/**
 * Runs the promote CLI; resolves { code, out, report }. `onLine` sees each output line (e.g. to send a
 * signal). `group`: run it as its own process group, as a shell does, so that a Ctrl-C can be sent to the
 * whole group (the CLI, and the pulumi processes it runs) like a terminal does.
 */
function promote(args, env, onLine, group = false) {
    const reportFile = path.join(work, `report-${Date.now()}.json`);
    return new Promise((resolve, reject) => {
        const child = track(
            spawn(process.execPath, [CLI, "--stack", STACK, "--project-dir", work, "--report", reportFile, "--interval", INTERVAL, ...args], {
                env,
                stdio: ["ignore", "pipe", "pipe"],
                detached: group,
            }),
            "promote",
        );
        let out = "";
        let pending = "";
        const onData = (d) => {
            const text = d.toString();
            out += text;
            process.stdout.write(text.replace(/^(?=.)/gm, "     | "));
            pending += text;
            const lines = pending.split("\n");
            pending = lines.pop();
            for (const l of lines) {
                onLine?.(l, child);
            }
        };
        child.stdout.on("data", onData);
        child.stderr.on("data", onData);
        child.on("error", reject);
        child.on("exit", (code, signal) => {
            const report = fs.existsSync(reportFile) ? JSON.parse(fs.readFileSync(reportFile, "utf8")) : undefined;
            resolve({ code: code ?? (signal ? 128 : 1), out, report });
        });
    });
}

async function main() {
    assert(fs.existsSync(PROMETHEUS), `${PROMETHEUS} not found: run scripts/setup-prometheus.sh first`);
    assert(fs.existsSync(CLI), `${CLI} not found: npm run test:promote compiles it first`);

    // A throwaway copy of the program, sharing node_modules: the run never touches the work tree.
    work = fs.mkdtempSync(path.join(os.tmpdir(), "asm-canary-promote-"));
    for (const f of ["Pulumi.yaml", "Pulumi.render.yaml", "package.json", "tsconfig.json", "index.ts"]) {
        fs.copyFileSync(path.join(root, f), path.join(work, f));
    }
    for (const d of ["components", "lib"]) {
        fs.cpSync(path.join(root, d), path.join(work, d), { recursive: true });
    }
    fs.symlinkSync(path.join(root, "node_modules"), path.join(work, "node_modules"));
    const env = engineEnv(path.join(work, ".state"), "render");
    const opts = { cwd: work, env, echo: false };
    const manifestsDir = path.join(work, ".render", "manifests");

    const configured = () => Number(pulumiOk(["config", "get", "canaryWeight", "--stack", STACK], opts).stdout.trim());
    const rendered = () => {
        const dir = path.join(manifestsDir, "1-manifest");
        const f = fs.readdirSync(dir).find((n) => /virtualservice-canary-demo-hello\.yaml$/.test(n));
        const doc = yaml.load(fs.readFileSync(path.join(dir, f), "utf8"));
        return Object.fromEntries(doc.spec.http.at(-1).route.map((r) => [r.destination.subset, r.weight]));
    };
    const pendingChanges = () => {
        const doc = JSON.parse(pulumiOk(["preview", "--json", "--stack", STACK], opts).stdout);
        const counts = { ...(doc.changeSummary ?? {}) };
        delete counts.same;
        return counts;
    };
    /** The weight in force, three ways: the config, the rendered VirtualService, the fixture's view of it. */
    const inForce = async (w) => {
        eq(configured(), w, "pulumi config get canaryWeight");
        eq(rendered(), { v1: 100 - w, v2: w }, "rendered VirtualService weights");
        eq((await (await fetch(`${fixtureUrl}/state`)).json()).weight, w, "weight seen by the traffic fixture");
    };

    // --- the stack: render stack from fresh state, canary at 0 ---
    const t0 = Date.now();
    pulumiOk(["stack", "init", STACK, "--secrets-provider", "passphrase"], opts);
    pulumiOk(["config", "set", "canaryWeight", "0", "--stack", STACK], opts);
    pulumiOk(["up", "--yes", "--skip-preview", "--stack", STACK], opts);
    console.log(`stack ready (${((Date.now() - t0) / 1000).toFixed(0)} s)`);

    // --- the fixture and Prometheus ---
    const [fixturePort, promPort, deadPort] = [await freePort(), await freePort(), await freePort()];
    const fixtureUrl = `http://127.0.0.1:${fixturePort}`;
    const promUrl = `http://127.0.0.1:${promPort}`;
    const fixture = track(
        spawn(process.execPath, [path.join(__dirname, "promote-fixture.js"), "--port", String(fixturePort), "--manifests", manifestsDir], { stdio: ["ignore", "ignore", "inherit"] }),
        "fixture",
    );
    const promDir = path.join(work, "prometheus");
    fs.mkdirSync(promDir);
    fs.writeFileSync(
        path.join(promDir, "prometheus.yml"),
        `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: istio-fixture\n    static_configs:\n      - targets: ["127.0.0.1:${fixturePort}"]\n`,
    );
    const promLog = fs.openSync(path.join(promDir, "prometheus.log"), "w");
    const prom = track(
        spawn(PROMETHEUS, [`--config.file=${path.join(promDir, "prometheus.yml")}`, `--storage.tsdb.path=${path.join(promDir, "data")}`, `--web.listen-address=127.0.0.1:${promPort}`], {
            stdio: ["ignore", promLog, promLog],
        }),
        "prometheus",
    );
    console.log(`Prometheus pid ${prom.pid} on ${promUrl}, fixture pid ${fixture.pid} on ${fixtureUrl}`);
    prom.on("exit", (code, signal) => children.size && console.log(`Prometheus exited early (${code ?? signal}); its log: ${path.join(promDir, "prometheus.log")}`));
    const promQuery = async (q) => (await (await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`)).json()).data.result;
    await waitFor("Prometheus to scrape the fixture", async () => (await promQuery('istio_requests_total{reporter="destination"}')).length > 0);
    const scenario = async (s) => {
        const r = await fetch(`${fixtureUrl}/scenario`, { method: "POST", body: JSON.stringify(s) });
        assert(r.status === 204, `fixture refused scenario: ${r.status}`);
    };
    const common = ["--prometheus-url", promUrl, "--min-requests", "10", "--steps", "10,25,50,100"];
    // The preflight `pulumi preview` (no pending changes) runs in the dry-run, 5xx and healthy scenarios; the
    // others skip it (--allow-pending-changes) to keep the test short: each preview is a full program run.
    const quick = [...common, "--allow-pending-changes"];

    await check("--dry-run prints the plan and the PromQL, changes nothing (exit 0)", async () => {
        await scenario({ name: "healthy" });
        const r = await promote([...common, "--dry-run"], env);
        eq(r.code, 0, "exit code");
        assert(r.out.includes(`sum(increase(istio_requests_total{reporter="destination",destination_workload_namespace="canary-demo",destination_workload="hello-v2"}[${INTERVAL}]))`), "the requests query is printed");
        assert(r.out.includes("plan: 1. canaryWeight 10; 2. canaryWeight 25; 3. canaryWeight 50; 4. canaryWeight 100"), "the plan is printed");
        eq(r.report.outcome, "dry-run", "report outcome");
        await inForce(0);
    });

    await check("Prometheus down: fails clearly, names the URL, changes nothing (exit 1)", async () => {
        const r = await promote(["--prometheus-url", `http://127.0.0.1:${deadPort}`, "--min-requests", "10"], env);
        eq(r.code, 1, "exit code");
        assert(r.out.includes(`Prometheus is not usable, nothing was changed: cannot reach Prometheus at http://127.0.0.1:${deadPort}: ECONNREFUSED. canaryWeight 0 is in force.`), "the message");
        eq(r.report.outcome, "failed", "report outcome");
        eq(r.report.steps, [], "no step taken");
        await inForce(0);
    });

    await check("Ctrl-C (to the whole process group) during pulumi up: the CLI cancels, the run says the weight in force (exit 130)", async () => {
        await scenario({ name: "healthy" });
        let sent = false;
        const r = await promote(
            quick,
            env,
            (line, child) => {
                if (!sent && line.includes("[1/4] canaryWeight 10: pulumi up …")) {
                    sent = true;
                    // 3 s in, pulumi is usually running the program (an up here takes 6-10 s); earlier, the CLI may
                    // die of the signal before it handles it. Either way the weight said on exit must hold.
                    setTimeout(() => process.kill(-child.pid, "SIGINT"), 3000);
                }
            },
            true,
        );
        eq(r.code, 130, "exit code");
        eq(r.report.outcome, "interrupted", "report outcome");
        // Whether the CLI cancelled before or after the VirtualService was written, the weight said on exit
        // must be the one in force everywhere (cancelled before: 0, and the config is set back to it).
        const w = r.report.weightInForce;
        assert(w === 0 || w === 10, `weight in force ${w}`);
        assert(new RegExp(`INTERRUPTED (during|after) pulumi up to canaryWeight 10[.,].* canaryWeight ${w} is in force\\.`).test(r.out), "the message says the weight");
        await inForce(w);
        eq(pendingChanges(), {}, "plain preview after the run");
        if (w !== 0) {
            pulumiOk(["config", "set", "canaryWeight", "0", "--stack", STACK], opts);
            pulumiOk(["up", "--yes", "--skip-preview", "--stack", STACK], opts);
        }
    });

    await check("good error rate but slow p99: rolled back to 0 at the first step (exit 2)", async () => {
        await scenario({ name: "slow", v2: { slowFraction: 0.1, slowMs: 1200 } });
        const r = await promote(quick, env);
        eq(r.code, 2, "exit code");
        eq(r.report.failedChecks.map((c) => [c.metric, c.status, c.threshold]), [["p99Ms", "fail", 500]], "failed checks");
        assert(r.report.failedChecks[0].value > 1000, `p99 ${r.report.failedChecks[0].value} should be above 1000 ms`);
        eq(r.report.steps.map((s) => [s.weight, s.analyses.map((a) => a.verdict)]), [[10, ["fail"]]], "steps");
        eq(r.report.steps[0].analyses[0].checks.find((c) => c.metric === "errorRate").status, "pass", "error rate passes");
        assert(/ROLLED BACK from canaryWeight 10: p99 latency \d+ ms > max 500 ms/.test(r.out), "the report line names the metric, value and threshold");
        await inForce(0);
    });

    await check("5xx rising at the second step: step 1 passes, step 2 fails, rolled back to 0 (exit 2); a plain up then changes nothing", async () => {
        await scenario({ name: "errors-from-25", v2From: { weight: 25, errorRate: 0.3 } });
        const r = await promote(common, env);
        eq(r.code, 2, "exit code");
        eq(r.report.steps.map((s) => [s.weight, s.analyses.map((a) => a.verdict)]), [[10, ["pass"]], [25, ["fail"]]], "steps");
        eq(r.report.failedChecks.map((c) => [c.metric, c.threshold]), [["errorRate", 0.01]], "failed check");
        const rate = r.report.failedChecks[0].value;
        assert(rate > 0.2 && rate < 0.4, `error rate ${rate} should be about 0.3`);
        eq(r.report.outcome, "rolled-back", "report outcome");
        eq(r.report.weightInForce, 0, "report weightInForce");
        await inForce(0);
        eq(pendingChanges(), {}, "plain preview after the run");
    });

    await check("no traffic: not enough data, waits the extra interval, then halts in place at 10 (exit 3)", async () => {
        await scenario({ name: "no-traffic", rps: 0 });
        const r = await promote([...quick, "--max-wait-intervals", "1"], env);
        eq(r.code, 3, "exit code");
        eq(r.report.steps.map((s) => [s.weight, s.analyses.map((a) => a.verdict)]), [[10, ["no-data", "no-data"]]], "steps");
        assert(r.out.includes("NOT ENOUGH DATA: requests 0 < min 10"), "progress says not enough data");
        assert(r.out.includes("HALTED at canaryWeight 10 (step 1/4): not enough data after 2 intervals"), "final message");
        await inForce(10);
    });

    await check("Ctrl-C during an interval: stops, says the weight in force (exit 130)", async () => {
        await scenario({ name: "healthy" });
        let sent = false;
        const r = await promote(quick, env, (line, child) => {
            if (!sent && /\[2\/4\] canaryWeight 25: interval 1/.test(line)) {
                sent = true;
                child.kill("SIGINT");
            }
        });
        eq(r.code, 130, "exit code");
        assert(r.out.includes("INTERRUPTED while analysing canaryWeight 25. canaryWeight 25 is in force."), "the message says the weight");
        eq(r.report.outcome, "interrupted", "report outcome");
        await inForce(25);
    });

    await check("healthy canary (with the stable comparison): analysed at 25, promoted to 50 and 100 (exit 0); a plain up then changes nothing", async () => {
        await scenario({ name: "healthy" });
        const r = await promote([...common, "--max-error-rate-delta", "0.01", "--max-p99-delta-ms", "200"], env);
        eq(r.code, 0, "exit code");
        eq(r.report.steps.map((s) => [s.weight, Boolean(s.up), s.analyses.map((a) => a.verdict)]), [[25, false, ["pass"]], [50, true, ["pass"]], [100, true, ["pass"]]], "steps");
        const a50 = r.report.steps[1].analyses[0];
        assert(a50.stable.requests > 0 && a50.canary.requests > 0, "both versions measured at 50");
        eq(a50.checks.map((c) => [c.metric, c.status]), [["requests", "pass"], ["errorRate", "pass"], ["p99Ms", "pass"], ["errorRateDelta", "pass"], ["p99DeltaMs", "pass"]], "checks at 50");
        eq(r.report.steps[2].analyses[0].checks.slice(3).map((c) => c.status), ["skipped", "skipped"], "no comparison at 100");
        assert(r.out.includes("PROMOTED: canaryWeight 100 is in force."), "final message");
        await inForce(100);
        eq(pendingChanges(), {}, "plain preview after the run");
    });
}

const started = Date.now();
let failedEarly = false;
main()
    .catch((e) => {
        failedEarly = true;
        console.log(`FAIL set-up: ${e.message}`);
    })
    .finally(async () => {
        await cleanup();
        const passed = results.filter(([, ok]) => ok).length;
        const failed = results.length - passed + (failedEarly ? 1 : 0);
        console.log(`promote e2e took ${((Date.now() - started) / 1000).toFixed(0)} s`);
        console.log(`${passed} passed, ${failed} failed`);
        process.exit(failed === 0 ? 0 : 1);
    });
