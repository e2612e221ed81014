/**
 * The live test's stacks: copies of the program on the real engine (tests/support/engine.ts), their config
 * written as YAML, and the engine's diagnostics. The CLI is the one tests/live/globalSetup.js found or
 * built (PULUMI_TOOLCHAIN_BIN).
 */
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { EngineEvent } from "@pulumi/pulumi/automation";
import { copyProgram, ProgramCopy } from "../support/engine";

const PASSPHRASE = "live-test";

export type Program = ProgramCopy;

/** Copies the program into a temporary directory and creates `stackName` in a fresh local backend there. */
export function newProgram(stackName: string): Promise<Program> {
    return copyProgram("asm-canary-live-", stackName, PASSPHRASE);
}

/**
 * Sets stack config keys (without the project prefix) in Pulumi.<stack>.yaml, as YAML values: lists and
 * objects stay structured, as `pulumi config set --path` stores them (a plain `pulumi config set` would store
 * a string). `undefined` removes a key.
 */
export function setConfig(p: Program, values: Record<string, unknown>) {
    const file = path.join(p.work, `Pulumi.${p.stack.name}.yaml`);
    const doc = (fs.existsSync(file) ? yaml.load(fs.readFileSync(file, "utf8")) : {}) as {
        config?: Record<string, unknown>;
    };
    const config = (doc.config ??= {});
    for (const [key, value] of Object.entries(values)) {
        if (value === undefined) {
            delete config[`asm-canary:${key}`];
        } else {
            config[`asm-canary:${key}`] = value;
        }
    }
    fs.writeFileSync(file, yaml.dump(doc));
}

/** Every diagnostic line the engine reports (program and provider messages, incl. the gate's progress). */
export function diagnostics(collect: string[]): (e: EngineEvent) => void {
    return (e) => {
        if (e.diagnosticEvent) {
            collect.push(e.diagnosticEvent.message);
        }
    };
}
