/**
 * The real Pulumi engine for the live test, through the Automation API: a throwaway copy of the program
 * (the work tree is never touched), a local file backend in it, passphrase secrets, no update checks or
 * plugin downloads (scripts/engine.ts). The CLI is the one tests/live/globalSetup.js found or built
 * (PULUMI_TOOLCHAIN_BIN).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { EngineEvent, LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { engineEnv, toolchain } from "../../scripts/engine";

const ROOT = path.resolve(__dirname, "..", "..");
/** What a copy of the program needs (node_modules is linked, not copied). */
const PROGRAM = ["Pulumi.yaml", "package.json", "tsconfig.json", "index.ts", "components", "lib"];
const PASSPHRASE = "live-test";

export interface Program {
    work: string;
    stack: Stack;
}

/** Copies the program into a temporary directory and creates `stackName` in a fresh local backend there. */
export async function newProgram(stackName: string): Promise<Program> {
    const tools = toolchain(ROOT);
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "asm-canary-live-"));
    for (const entry of PROGRAM) {
        fs.cpSync(path.join(ROOT, entry), path.join(work, entry), { recursive: true });
    }
    fs.symlinkSync(fs.realpathSync(path.join(ROOT, "node_modules")), path.join(work, "node_modules"));
    // PulumiCommand takes the directory above bin/pulumi.
    const pulumiCommand = await PulumiCommand.get({
        root: path.dirname(path.dirname(tools.pulumi)),
        skipVersionCheck: true,
    });
    const stack = await LocalWorkspace.createStack(
        { stackName, workDir: work },
        {
            pulumiCommand,
            secretsProvider: "passphrase",
            envVars: engineEnv(tools, path.join(work, ".state"), PASSPHRASE),
        },
    );
    return { work, stack };
}

/**
 * Sets stack config keys (without the project prefix) in Pulumi.<stack>.yaml, as YAML values: lists stay
 * lists, as Pulumi.yaml declares them (`pulumi config set` would store a string). `undefined` removes a key.
 */
export function setConfig(p: Program, values: Record<string, string | number | boolean | string[] | undefined>) {
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

export interface Step {
    op: string;
    /** The resource's name (last part of its URN). */
    name: string;
    /** Its type token. */
    type: string;
}

/**
 * The engine's own plan: the change summary without `same`, and each resource step that is not `same`.
 * Provider steps are left out, as the change summary and `pulumi preview` leave them out: the readiness
 * gate's dynamic provider (`pulumi:providers:pulumi-nodejs`, "default") receives the whole stack config as
 * its own, so every config change re-configures it and shows as its "update"; nothing in the cluster
 * changes by it.
 */
export async function plan(stack: Stack): Promise<{ counts: Record<string, number>; changed: Step[] }> {
    const steps: { op: string; urn: string; type: string }[] = [];
    const result = await stack.preview({
        onEvent: (e: EngineEvent) => {
            if (e.resourcePreEvent) {
                steps.push(e.resourcePreEvent.metadata);
            }
        },
    });
    const { same: _same, ...counts } = result.changeSummary as Record<string, number>;
    return {
        counts,
        changed: steps
            .filter((s) => s.op !== "same" && !s.type.startsWith("pulumi:providers:"))
            .map((s) => ({ op: s.op, name: s.urn.split("::").pop() ?? "", type: s.type })),
    };
}

/** Every diagnostic line the engine reports (program and provider messages, incl. the gate's progress). */
export function diagnostics(collect: string[]): (e: EngineEvent) => void {
    return (e) => {
        if (e.diagnosticEvent) {
            collect.push(e.diagnosticEvent.message);
        }
    };
}
