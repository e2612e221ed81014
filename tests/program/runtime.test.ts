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

/** The SDK's `log.debug` after runtime.ts has run: its source, and what calling it returns. */
function debugAfterRuntime(env: Record<string, string>): { source: string; returns: string } {
    const script = `
        require("./runtime");
        const log = require("@pulumi/pulumi/log");
        const r = log.debug("Registering resource: t=x");
        Promise.resolve(r).then((v) => console.log(JSON.stringify({ source: log.debug.toString(), returns: String(v) })));
    `;
    const childEnv = { ...process.env, ...env };
    if (!("ASM_CANARY_SDK_DEBUG" in env)) {
        delete childEnv.ASM_CANARY_SDK_DEBUG;
    }
    const out = execFileSync(process.execPath, ["-r", "@swc-node/register", "-e", script], {
        cwd: ROOT,
        env: childEnv,
        encoding: "utf8",
    });
    return JSON.parse(out.trim().split("\n").pop()!);
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
 * and never settled: how many stack frames were formatted while it was made, and the SDK's own report of the
 * promises still pending (what its "Promise leak detected" message prints at exit).
 */
function debuggableAfterRuntime(): { framesFormattedAtMaking: number; report: string } {
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
        const framesFormattedAtMaking = frames;
        const [leaked] = debuggable.leakedPromises();
        const report = [...leaked].map((l) => debuggable.promiseDebugString(l)).join("\\n");
        console.log(JSON.stringify({ framesFormattedAtMaking, report }));
        process.exit(0);
    `;
    const out = execFileSync(process.execPath, ["-r", "@swc-node/register", "-e", script], {
        cwd: ROOT,
        encoding: "utf8",
    });
    return JSON.parse(out.trim().split("\n").pop()!);
}

test("a debuggable promise's stack is not formatted when it is made (runtime.ts 4)", () => {
    expect(debuggableAfterRuntime().framesFormattedAtMaking).toBe(0);
});

test("the SDK's report of a pending promise still shows its context and where it was made", () => {
    const { report } = debuggableAfterRuntime();
    // The SDK still tracks it: one promise pending at exit, this one.
    expect(report.match(/^CONTEXT\(/gm)).toHaveLength(1);
    const lines = report.split("\n");
    expect(lines.slice(0, 3)).toEqual([
        expect.stringMatching(/^CONTEXT\(\d+\): transferProperty\(demo, spec\)$/),
        "STACK_TRACE:",
        "Error",
    ]);
    // After the wrapper's own frame (the SDK's report starts with its debuggablePromise too), the code that
    // made the promise.
    expect(lines[3]).toMatch(/^ {4}at (Object\.)?debuggablePromise \(/);
    expect(lines[4]).toMatch(/^ {4}at makeOutputPromise \(/);
});
