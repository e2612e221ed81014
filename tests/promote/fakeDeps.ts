/** What a promotion run on fakes needs besides its stack and metrics: shared by the promote unit tests. */
import type { Deps, Metrics } from "../../promote/run";
import type { StackDriver } from "../../promote/stack";

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
    };
    return { deps, lines };
}
