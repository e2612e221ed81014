/**
 * AutomationStack.up (promote/stack.ts) on a stand-in Automation API stack: an up marked in-place-routes-only
 * runs with PULUMI_SKIP_CHECKPOINTS in the workspace's environment (what every pulumi command of the stack
 * runs with), any other up without it, and the variable never outlives the up. Promote's ups and previews
 * run with Node.js's compile cache, a larger young generation and promote/preload.cjs (promoteNodeEnv), and only
 * they.
 */
import type { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import * as os from "os";
import * as path from "path";
import { AutomationStack, promoteNodeEnv } from "../../promote/stack";

function standIn(failing = false) {
    const envVars: Record<string, string> = { PULUMI_BACKEND_URL: "file:///state" };
    const seen: (string | undefined)[] = [];
    const node: Record<string, string | undefined>[] = [];
    const nodeEnv = () => ({ NODE_COMPILE_CACHE: envVars.NODE_COMPILE_CACHE, NODE_OPTIONS: envVars.NODE_OPTIONS });
    const stack = {
        name: "dev",
        workspace: { envVars },
        preview: async () => {
            node.push(nodeEnv());
        },
        exportStack: async () => ({ deployment: { resources: [] } }),
        up: async (opts: { onEvent?: (e: unknown) => void }) => {
            seen.push(envVars.PULUMI_SKIP_CHECKPOINTS);
            node.push(nodeEnv());
            opts.onEvent?.({ summaryEvent: { result: "succeeded" } });
            if (failing) {
                throw new Error("update failed");
            }
            return { summary: { resourceChanges: { update: 1, same: 17 } } };
        },
    };
    const driver = new AutomationStack(stack as unknown as Stack, "asm-canary");
    return { driver, envVars, seen, node };
}

// The user's own settings, which promoteNodeEnv keeps, must not leak in from the machine running the tests.
const saved = { NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE, NODE_OPTIONS: process.env.NODE_OPTIONS };
beforeEach(() => {
    delete process.env.NODE_COMPILE_CACHE;
    delete process.env.NODE_OPTIONS;
});
afterAll(() => Object.assign(process.env, saved));

const CACHE = path.join(os.tmpdir(), "node-compile-cache");

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

test("promote's previews and ups run with the compile cache and a 64 MB semi-space; the environment is as before after each", async () => {
    const { driver, envVars, node } = standIn();
    await driver.previewPlan({});
    expect(envVars).toEqual({ PULUMI_BACKEND_URL: "file:///state" });
    await driver.up({ inPlaceRoutesOnly: true });
    expect(envVars).toEqual({ PULUMI_BACKEND_URL: "file:///state" });
    const options = `--max-semi-space-size=64 --require ${path.resolve(__dirname, "..", "..", "promote", "preload.cjs")}`;
    expect(node).toEqual([
        { NODE_COMPILE_CACHE: CACHE, NODE_OPTIONS: options },
        { NODE_COMPILE_CACHE: CACHE, NODE_OPTIONS: options },
    ]);
});

test("a failed up leaves neither variable behind", async () => {
    const { driver, envVars } = standIn(true);
    await expect(driver.up({})).rejects.toThrow("update failed");
    expect(envVars).toEqual({ PULUMI_BACKEND_URL: "file:///state" });
});

describe("promoteNodeEnv keeps what the user set", () => {
    const P = "/p/promote/preload.cjs";
    test.each([
        [{}, { NODE_COMPILE_CACHE: CACHE, NODE_OPTIONS: `--max-semi-space-size=64 --require ${P}` }],
        [
            { NODE_OPTIONS: "--inspect" },
            { NODE_COMPILE_CACHE: CACHE, NODE_OPTIONS: `--inspect --max-semi-space-size=64 --require ${P}` },
        ],
        [
            { NODE_OPTIONS: "--max-semi-space-size=16" },
            { NODE_COMPILE_CACHE: CACHE, NODE_OPTIONS: `--max-semi-space-size=16 --require ${P}` },
        ],
        [{ NODE_OPTIONS: `--require ${P} --max-semi-space-size=16` }, { NODE_COMPILE_CACHE: CACHE }],
        [{ NODE_COMPILE_CACHE: "/cache" }, { NODE_OPTIONS: `--max-semi-space-size=64 --require ${P}` }],
    ])("%j -> %j", (env, added) => {
        expect(promoteNodeEnv(env, P)).toEqual(added);
    });

    test("a preload path with a space is quoted, as NODE_OPTIONS reads it", () => {
        expect(promoteNodeEnv({ NODE_COMPILE_CACHE: "/c" }, "/my dir/promote/preload.cjs")).toEqual({
            NODE_OPTIONS: '--max-semi-space-size=64 --require "/my dir/promote/preload.cjs"',
        });
    });
});
