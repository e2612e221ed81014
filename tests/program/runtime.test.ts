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
