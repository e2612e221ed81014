/**
 * Benchmark of `npm test`: runs the mock suite once and prints its wall time, the number of test files,
 * tests and whole-program evaluations (the expensive unit: index.ts under mocks), and the slowest files.
 * Not a test. Extra arguments go to jest, e.g. `npm run bench:tests -- tests/program`.
 *
 *   npm run bench:tests
 *
 * Node runs this file as is (type stripping, Node >= 22.18): no build step.
 */
import { spawnSync } from "child_process";
import { mkdtempSync, readFileSync, rmSync } from "fs";
import * as os from "os";
import * as path from "path";

interface JestResult {
    numTotalTests: number;
    numPassedTests: number;
    numFailedTests: number;
    testResults: { name: string; startTime: number; endTime: number; assertionResults: unknown[] }[];
}

const root = path.resolve(path.dirname(process.argv[1]), "..");
const work = mkdtempSync(path.join(os.tmpdir(), "asm-canary-bench-tests-"));
const evaluationLog = path.join(work, "evaluations.log");
const resultFile = path.join(work, "jest.json");

console.log(`running the mock suite (npx jest) on ${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(2)} ...`);
const start = process.hrtime.bigint();
const run = spawnSync("npx", ["jest", "--json", "--outputFile", resultFile, ...process.argv.slice(2)], {
    cwd: root,
    env: { ...process.env, ASM_CANARY_EVALUATION_LOG: evaluationLog },
    stdio: ["ignore", "ignore", "pipe"],
    encoding: "utf8",
});
const wallSeconds = Number(process.hrtime.bigint() - start) / 1e9;

let result: JestResult;
try {
    result = JSON.parse(readFileSync(resultFile, "utf8")) as JestResult;
} catch {
    console.error(run.stderr);
    console.error(`jest wrote no results (exit ${run.status}): run \`npx jest\` to see why.`);
    process.exit(1);
}
let evaluations: string[] = [];
try {
    evaluations = readFileSync(evaluationLog, "utf8").split("\n").filter(Boolean);
} catch {
    // No evaluation at all (e.g. only tests/promote was run).
}
rmSync(work, { recursive: true, force: true });

const perFile = new Map<string, number>();
for (const file of evaluations) {
    perFile.set(file, (perFile.get(file) ?? 0) + 1);
}
const files = result.testResults
    .map((t) => ({
        file: path.relative(root, t.name),
        seconds: (t.endTime - t.startTime) / 1000,
        tests: t.assertionResults.length,
        evaluations: perFile.get(t.name) ?? 0,
    }))
    .sort((a, b) => b.seconds - a.seconds);

console.log("");
console.log(`wall time                  ${wallSeconds.toFixed(1)} s`);
console.log(`test files                 ${files.length}`);
console.log(
    `tests                      ${result.numTotalTests} (${result.numPassedTests} passed, ${result.numFailedTests} failed)`,
);
console.log(`whole-program evaluations  ${evaluations.length} in ${perFile.size} files`);
console.log(`sum of the files' times    ${files.reduce((s, f) => s + f.seconds, 0).toFixed(1)} s`);
console.log("");
console.log("slowest files               seconds  tests  evaluations");
for (const f of files.slice(0, 8)) {
    console.log(
        `  ${f.file.padEnd(48)} ${f.seconds.toFixed(1).padStart(5)} ${String(f.tests).padStart(6)} ${String(f.evaluations).padStart(12)}`,
    );
}
process.exit(run.status ?? 1);
