/** What a promotion run on fakes needs besides its stack and metrics: shared by the promote unit tests. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { Deps, Metrics } from "../../promote/run";
import type { PlannedChange, StackDriver } from "../../promote/stack";

/** The test file's work dir for the runs' plan and pack config files, removed after its tests. */
let workDir: string | undefined;
function runWorkDir(): string {
    workDir ??= fs.mkdtempSync(path.join(os.tmpdir(), "promote-unit-"));
    return workDir;
}
// (A hook of every test file that imports this module: jest's workers do not always exit normally.)
afterAll(() => {
    if (workDir) {
        fs.rmSync(workDir, { recursive: true, force: true });
        workDir = undefined;
    }
});

/** The change a step's preview plans for `service`'s VirtualService (what the plan check expects). */
export function vsUpdate(service: string, namespace = "canary-demo"): PlannedChange {
    return {
        op: "update",
        type: "kubernetes:networking.istio.io/v1beta1:VirtualService",
        name: `route-${service}-vs`,
        urn: `urn:pulumi:dev::asm-canary::kubernetes:networking.istio.io/v1beta1:VirtualService::route-${service}-vs`,
        object: `${namespace}/${service}`,
    };
}

/**
 * Deps on a fake clock (2026-01-01 03:00 UTC, jumping ahead when slept on, so intervals take no time), with
 * the run's log lines collected, no Prometheus auth and no pause before retries.
 */
export function fakeDeps(
    stack: StackDriver,
    metrics: Metrics,
    interrupt: AbortController = new AbortController(),
): { deps: Deps; lines: string[] } {
    const lines: string[] = [];
    let now = Date.UTC(2026, 0, 1, 3, 0, 0);
    const deps: Deps = {
        stack,
        metrics,
        clock: {
            now: () => now,
            sleep: async (ms) => {
                now += ms;
            },
        },
        ui: { line: (t) => lines.push(t), countdown: () => undefined },
        interrupt: interrupt.signal,
        prometheusAuth: "no auth",
        retryDelayMs: 0,
        workDir: runWorkDir(),
    };
    return { deps, lines };
}
