/**
 * Benchmark: how long the whole program (index.ts) takes to evaluate under Pulumi mocks, per stack and per
 * declared resource, and how much heap it holds, for 1, 10 and 50 canaried services (each adds a Service, two
 * Deployments, two ServiceAccounts, a DestinationRule and a VirtualService). Prints tables; not a test.
 *
 *   npm run bench                              this tree (RUNS=5 npm run bench for more repetitions)
 *   npm run bench -- --baseline <git ref>      also the program at <ref>, measured in the same run, with the ratio
 *
 * With a baseline, both trees are measured in child processes, taking turns (this tree, the baseline, this
 * tree, …), so a machine that gets busier or quieter during the run weighs on both alike. The baseline is
 * exported with `git archive` into ~/.cache/asm-canary/bench/<commit> and compiled there once.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const SIZES = [1, 10, 50];
const COMPARED_SIZES = [1, 50];
const RUNS = Number(process.env.RUNS ?? 3);
const ROOT = path.resolve(__dirname, "..", "..");

interface Sample {
    ms: number;
    resources: number;
    heapMb: number;
}

interface Harness {
    installMocks(config: Record<string, string>): Promise<{ resources: unknown[] }>;
    program(): () => Promise<unknown>;
    settle(): Promise<void>;
}

async function evaluate(h: Harness, services: number, mode: "create" | "existing"): Promise<Sample> {
    const names = Array.from({ length: services }, (_, i) => (i === 0 ? "hello" : `svc-${i}`));
    const config: Record<string, string> = { services: JSON.stringify(names), canaryWeight: "10" };
    if (mode === "existing") {
        Object.assign(config, { mode: "existing", renderYamlDirectory: "/tmp/asm-canary-bench" });
    }
    const rec = await h.installMocks(config);
    global.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    const start = process.hrtime.bigint();
    // index.ts exports the program as an async function (it reads its config when it runs).
    await h.program()();
    await h.settle();
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    const heapMb = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
    return { ms, resources: rec.resources.length, heapMb };
}

function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)];
}

const pad = (v: string | number, n: number) => String(v).padStart(n);

/** This tree, in this process: the table of every size and mode. */
async function thisTree(): Promise<void> {
    const h = require("../tests/support/harness") as Harness;
    await evaluate(h, 1, "create"); // warm-up: module loading is not what we measure
    console.log(`whole-program evaluation under mocks, median of ${RUNS} runs (node ${process.version})`);
    console.log("mode      services  resources  median ms  ms/resource  ms/service  heap delta MB");
    for (const mode of ["create", "existing"] as const) {
        for (const n of SIZES) {
            const runs: Sample[] = [];
            for (let i = 0; i < RUNS; i++) {
                runs.push(await evaluate(h, n, mode));
            }
            const ms = median(runs.map((r) => r.ms));
            console.log(
                `${mode.padEnd(9)} ${pad(n, 8)}  ${pad(runs[0].resources, 9)}  ${pad(ms.toFixed(0), 9)}  ` +
                    `${pad((ms / runs[0].resources).toFixed(2), 11)}  ${pad((ms / n).toFixed(1), 10)}  ` +
                    `${pad(median(runs.map((r) => r.heapMb)).toFixed(1), 13)}`,
            );
        }
    }
}

/** `--child <harness.js> <services> <mode> <runs>`: one warm-up, then the runs, as JSON on stdout. */
async function child(harnessJs: string, services: number, mode: "create" | "existing", runs: number): Promise<void> {
    const h = require(harnessJs) as Harness;
    await evaluate(h, 1, "create");
    const samples: Sample[] = [];
    for (let i = 0; i < runs; i++) {
        samples.push(await evaluate(h, services, mode));
    }
    process.stdout.write(JSON.stringify(samples));
}

/** The baseline's compiled harness: `git archive <ref>` into the cache, node_modules linked, compiled once. */
function baselineHarness(ref: string): { commit: string; harness: string } {
    const commit = execFileSync("git", ["rev-parse", "--verify", `${ref}^{commit}`], {
        cwd: ROOT,
        encoding: "utf8",
    }).trim();
    const dir = path.join(
        process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"),
        "asm-canary",
        "bench",
        commit,
    );
    const harness = path.join(dir, "bin", "tests", "support", "harness.js");
    if (!fs.existsSync(harness)) {
        console.error(`bench: exporting ${ref} (${commit.slice(0, 7)}) to ${dir} and compiling it (once)`);
        fs.rmSync(dir, { recursive: true, force: true });
        fs.mkdirSync(dir, { recursive: true });
        execFileSync("sh", ["-c", `git archive ${commit} | tar -x -C "${dir}"`], { cwd: ROOT, stdio: "inherit" });
        fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
        execFileSync(
            process.execPath,
            [path.join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"],
            {
                cwd: dir,
                stdio: "inherit",
            },
        );
    }
    return { commit, harness };
}

function runChild(harness: string, services: number, mode: string, runs: number): Sample[] {
    const out = execFileSync(
        process.execPath,
        ["--expose-gc", __filename, "--child", harness, String(services), mode, String(runs)],
        { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 1 << 24 },
    );
    return JSON.parse(out) as Sample[];
}

/** This tree against the baseline, taking turns, for the default stack and 50 services (create mode). */
function compare(ref: string): void {
    const base = baselineHarness(ref);
    const here = path.join(ROOT, "bin", "tests", "support", "harness.js");
    const rounds = Math.max(RUNS, 3);
    console.log(
        `\nthis tree vs ${ref} (${base.commit.slice(0, 7)}), mode create, ${rounds} rounds taking turns, ` +
            `${RUNS} evaluations each (median of all)`,
    );
    console.log("services  tree      resources  median ms  ms/resource");
    for (const n of COMPARED_SIZES) {
        const samples: Record<"this" | "baseline", Sample[]> = { this: [], baseline: [] };
        for (let round = 0; round < rounds; round++) {
            if (process.stderr.isTTY) {
                process.stderr.write(`bench: ${n} service(s), round ${round + 1}/${rounds}\r`);
            }
            samples.this.push(...runChild(here, n, "create", RUNS));
            samples.baseline.push(...runChild(base.harness, n, "create", RUNS));
        }
        if (process.stderr.isTTY) {
            process.stderr.write("\r\x1b[K");
        }
        const row = (tree: "this" | "baseline") => {
            const ms = median(samples[tree].map((s) => s.ms));
            const resources = samples[tree][0].resources;
            console.log(
                `${pad(n, 8)}  ${tree.padEnd(8)}  ${pad(resources, 9)}  ${pad(ms.toFixed(0), 9)}  ${pad((ms / resources).toFixed(2), 11)}`,
            );
            return ms / resources;
        };
        const mine = row("this");
        const theirs = row("baseline");
        console.log(`${pad(n, 8)}  ratio this/baseline per resource: ${(mine / theirs).toFixed(2)} (< 1: faster)`);
    }
}

async function main(): Promise<void> {
    const args = process.argv.slice(2);
    if (args[0] === "--child") {
        await child(args[1], Number(args[2]), args[3] as "create" | "existing", Number(args[4]));
        return;
    }
    const at = args.indexOf("--baseline");
    const ref = at >= 0 ? args[at + 1] : process.env.BASELINE;
    if (at >= 0 && !ref) {
        throw new Error("--baseline needs a git ref, e.g. npm run bench -- --baseline 09a5eef");
    }
    await thisTree();
    if (ref) {
        compare(ref);
    }
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
