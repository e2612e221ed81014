/**
 * Review 2, m1: a mode=create stack reads its own previous outputs (config/previous.ts), and the review found
 * in the engine's source that the read of a StackReference whose outputs changed counts as a `read` step;
 * promote's preflight must not take it for a pending change, or `npm run promote` could not start right after
 * a first `up`. mode=create cannot be planned offline, so a stand-in program (fixtures/selfReference.ts) does
 * the same read; the driver under test is promote's own. (With the CLI built here, 3.274, the previews
 * after each `up` report the read as `same`; the op filter itself is unit-tested in tests/promote.)
 */
import * as fs from "fs";
import * as path from "path";
import { Stack } from "@pulumi/pulumi/automation";
import { AutomationStack } from "../../promote/stack";
import { copyProgram } from "../support/engine";

let work: string;
let stack: Stack;
let envVars: Record<string, string>;

beforeAll(async () => {
    ({ work, stack, envVars } = await copyProgram("asm-canary-self-", "selfref", "selfref"));
    fs.writeFileSync(path.join(work, "index.ts"), 'import "./tests/engine/fixtures/selfReference";\n');
}, 30 * 60_000);

afterAll(() => {
    if (work) {
        fs.rmSync(work, { recursive: true, force: true });
    }
});

test("review 2 m1: right after the first up and after a step, no pending change; a real change still is one", async () => {
    fs.writeFileSync(path.join(work, "weight"), "0\n");
    expect((await stack.up()).summary.result).toBe("succeeded");

    const saved = process.env.PATH;
    process.env.PATH = envVars.PATH;
    try {
        const driver = await AutomationStack.select("selfref", work, envVars);
        expect(await driver.pendingChanges()).toEqual({});

        // A step: the outputs the next run reads change again.
        fs.writeFileSync(path.join(work, "weight"), "5\n");
        expect((await stack.up()).summary.result).toBe("succeeded");
        expect(await driver.pendingChanges()).toEqual({});

        // The check still sees a change that would be applied.
        fs.writeFileSync(path.join(work, "weight"), "10\n");
        // (pulumi-kubernetes replaces an auto-named ConfigMap whose data changes.)
        expect(await driver.pendingChanges()).toEqual({ replace: 1 });
    } finally {
        process.env.PATH = saved;
    }
}, 300_000);
