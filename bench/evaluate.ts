/**
 * Benchmark: how long the whole program (index.ts) takes to evaluate under Pulumi mocks, and how much
 * heap it holds, for 1, 10 and 50 canaried services (each adds a Service, two Deployments, two
 * ServiceAccounts, a DestinationRule and a VirtualService). Prints a table; not a test.
 *
 *   npm run bench            (RUNS=5 npm run bench for more repetitions)
 */
import { installMocks, program, settle } from "../tests/support/harness";

const SIZES = [1, 10, 50];
const RUNS = Number(process.env.RUNS ?? 3);

async function evaluate(
    services: number,
    mode: "create" | "existing",
): Promise<{ ms: number; resources: number; heapMb: number }> {
    const names = Array.from({ length: services }, (_, i) => (i === 0 ? "hello" : `svc-${i}`));
    const config: Record<string, string> = { services: JSON.stringify(names), canaryWeight: "10" };
    if (mode === "existing") {
        Object.assign(config, { mode: "existing", renderYamlDirectory: "/tmp/asm-canary-bench" });
    }
    const rec = await installMocks(config);
    global.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    const start = process.hrtime.bigint();
    // index.ts exports the program as an async function (it reads its config when it runs).
    await program()();
    await settle();
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    const heapMb = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
    return { ms, resources: rec.resources.length, heapMb };
}

function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)];
}

async function main(): Promise<void> {
    await evaluate(1, "create"); // warm-up: module loading is not what we measure
    console.log(`whole-program evaluation under mocks, median of ${RUNS} runs (node ${process.version})`);
    console.log("mode      services  resources  median ms  ms/service  heap delta MB");
    for (const mode of ["create", "existing"] as const) {
        for (const n of SIZES) {
            const runs = [];
            for (let i = 0; i < RUNS; i++) {
                runs.push(await evaluate(n, mode));
            }
            const ms = median(runs.map((r) => r.ms));
            console.log(
                `${mode.padEnd(9)} ${String(n).padStart(8)}  ${String(runs[0].resources).padStart(9)}  ${ms.toFixed(0).padStart(9)}  ${(
                    ms / n
                )
                    .toFixed(1)
                    .padStart(10)}  ${median(runs.map((r) => r.heapMb))
                    .toFixed(1)
                    .padStart(13)}`,
            );
        }
    }
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
