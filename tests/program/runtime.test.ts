/**
 * runtime.ts, which index.ts loads first: the Pulumi SDK's debug messages are not sent to the engine (each
 * would be one more gRPC call per resource, in series: docs/development.md "Weight step benchmark") unless
 * ASM_CANARY_SDK_DEBUG is set. Each case loads it in a Node.js process of its own, as the language host
 * does. The real engine's side (no "Registering resource" message arrives during an `up`) is asserted in
 * tests/engine/renderStack.test.ts.
 */
import { execFileSync } from "child_process";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..", "..");

/**
 * Runs `script` in a Node.js process of its own (the project's root as its directory) and returns the JSON its
 * last line prints. `env` is added to the environment; each of `controlled` is removed unless `env` sets it,
 * so the machine running the tests does not decide the case.
 */
function inOwnProcess<T>(script: string, env: Record<string, string>, controlled: string[]): T {
    const childEnv: Record<string, string | undefined> = { ...process.env, ...env };
    for (const name of controlled.filter((n) => !(n in env))) {
        delete childEnv[name];
    }
    const out = execFileSync(process.execPath, ["-r", "@swc-node/register", "-e", script], {
        cwd: ROOT,
        env: childEnv,
        encoding: "utf8",
    });
    return JSON.parse(out.trim().split("\n").pop()!) as T;
}

/** The SDK's `log.debug` after runtime.ts has run: its source, and what calling it returns. */
function debugAfterRuntime(env: Record<string, string>): { source: string; returns: string } {
    const script = `
        require("./runtime");
        const log = require("@pulumi/pulumi/log");
        const r = log.debug("Registering resource: t=x");
        Promise.resolve(r).then((v) => console.log(JSON.stringify({ source: log.debug.toString(), returns: String(v) })));
    `;
    return inOwnProcess(script, env, ["ASM_CANARY_SDK_DEBUG"]);
}

test("the SDK's debug messages stop at the program: debug never reaches for the engine", () => {
    const { source, returns } = debugAfterRuntime({});
    expect(source).not.toContain("getEngine");
    expect(returns).toBe("undefined");
});

test("ASM_CANARY_SDK_DEBUG=1 keeps the SDK's own debug, which sends each message to the engine", () => {
    const { source } = debugAfterRuntime({ ASM_CANARY_SDK_DEBUG: "1" });
    expect(source).toContain("getEngine");
});

/**
 * A promise made debuggable by the SDK after runtime.ts has run, from a function named `makeOutputPromise`
 * and never settled, in a Node.js process of its own with `env`: how many stack frames were taken while it
 * was made, and what the SDK's report of the promises still pending at exit says (debuggable.js
 * leakedPromises: its message, and each promise's debug string, which it prints with
 * PULUMI_DEBUG_PROMISE_LEAKS).
 */
function debuggableAfterRuntime(env: Record<string, string>): {
    framesAtMaking: number;
    message: string;
    leaks: string[];
} {
    const script = `
        require("./runtime");
        let frames = 0;
        Error.prepareStackTrace = (e, callSites) => {
            frames += callSites.length;
            return [String(e), ...callSites.map((c) => "    at " + c.toString())].join("\\n");
        };
        const debuggable = require("@pulumi/pulumi/runtime/debuggable");
        function makeOutputPromise() {
            return debuggable.debuggablePromise(new Promise(() => {}), "transferProperty(demo, spec)");
        }
        makeOutputPromise();
        const framesAtMaking = frames;
        const [leaked, message] = debuggable.leakedPromises();
        const leaks = [...leaked].map((l) => debuggable.promiseDebugString(l));
        console.log(JSON.stringify({ framesAtMaking, message, leaks }));
        process.exit(0);
    `;
    return inOwnProcess(script, env, ["PULUMI_DEBUG_PROMISE_LEAKS"]);
}

test("no stack is taken for a debuggable promise (runtime.ts 4); the SDK's leak report still says how to get them", () => {
    const { framesAtMaking, message, leaks } = debuggableAfterRuntime({});
    expect(framesAtMaking).toBe(0);
    // The SDK still tracks the promise, and its report at exit is its own: one promise, rerun with the variable.
    expect(leaks).toHaveLength(1);
    expect(message).toContain("detected that 1 promise was still active");
    expect(message).toContain("PULUMI_DEBUG_PROMISE_LEAKS");
});

test("with PULUMI_DEBUG_PROMISE_LEAKS the SDK takes each promise's stack, and its report shows where it was made", () => {
    const { framesAtMaking, leaks } = debuggableAfterRuntime({ PULUMI_DEBUG_PROMISE_LEAKS: "1" });
    expect(framesAtMaking).toBeGreaterThan(0);
    expect(leaks).toHaveLength(1);
    const lines = leaks[0].split("\n");
    expect(lines.slice(0, 3)).toEqual([
        expect.stringMatching(/^CONTEXT\(\d+\): transferProperty\(demo, spec\)$/),
        "STACK_TRACE:",
        "Error",
    ]);
    // The SDK's own frame first, then the code that made the promise.
    expect(lines[3]).toMatch(/^ {4}at (Object\.)?debuggablePromise \(.*debuggable\.js:/);
    expect(lines[4]).toMatch(/^ {4}at makeOutputPromise \(/);
});
