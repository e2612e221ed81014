/**
 * AutomationStack.up (promote/stack.ts) on a stand-in Automation API stack: an up marked in-place-routes-only
 * runs with PULUMI_SKIP_CHECKPOINTS in the workspace's environment (what every pulumi command of the stack
 * runs with), any other up without it, and the variable never outlives the up.
 */
import type { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import { AutomationStack } from "../../promote/stack";

function standIn(failing = false) {
    const envVars: Record<string, string> = { PULUMI_BACKEND_URL: "file:///state" };
    const seen: (string | undefined)[] = [];
    const stack = {
        name: "dev",
        workspace: { envVars },
        up: async (opts: { onEvent?: (e: unknown) => void }) => {
            seen.push(envVars.PULUMI_SKIP_CHECKPOINTS);
            opts.onEvent?.({ summaryEvent: { result: "succeeded" } });
            if (failing) {
                throw new Error("update failed");
            }
            return { summary: { resourceChanges: { update: 1, same: 17 } } };
        },
    };
    const driver = new AutomationStack(stack as unknown as Stack, "asm-canary");
    return { driver, envVars, seen };
}

test("an in-place routes-only up skips the intermediate checkpoints; a plain up does not; neither leaves it set", async () => {
    const { driver, envVars, seen } = standIn();
    expect((await driver.up({ inPlaceRoutesOnly: true })).changes).toEqual({ update: 1, same: 17 });
    await driver.up({});
    expect(seen).toEqual(["true", undefined]);
    expect(envVars).toEqual({ PULUMI_BACKEND_URL: "file:///state" });
});

test("a failed up leaves no PULUMI_SKIP_CHECKPOINTS behind", async () => {
    const { driver, envVars, seen } = standIn(true);
    await expect(driver.up({ inPlaceRoutesOnly: true })).rejects.toThrow("update failed");
    expect(seen).toEqual(["true"]);
    expect(envVars).toEqual({ PULUMI_BACKEND_URL: "file:///state" });
});

test("the caller's onEvent sees every engine event of the up (bench/step.ts times the phases with it)", async () => {
    const { driver } = standIn();
    const events: EngineEvent[] = [];
    await driver.up({ onEvent: (e) => events.push(e) });
    expect(events).toEqual([{ summaryEvent: { result: "succeeded" } }]);
});
