/**
 * The real Pulumi engine for the suites that drive it (tests/engine, tests/e2e, tests/live), through the
 * Automation API: a throwaway copy of the program (the work tree is never touched), a local file backend
 * in it, passphrase secrets, no update checks or plugin downloads (scripts/engine.ts).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { EngineEvent, LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { changesThatModify, modifies } from "../../promote/stack";
import { engineEnv, toolchain } from "../../scripts/engine";

const ROOT = path.resolve(__dirname, "..", "..");
/** Top-level entries that are not the program: dependencies (linked instead), VCS data, build output, state. */
const NOT_THE_PROGRAM = new Set([".git", "node_modules", "bin", ".render", ".pulumi-state"]);
/**
 * Stack config files (Pulumi.<stack>.yaml, not Pulumi.yaml): a user's own, edited by `npm run render -- config
 * set …` and the like, so never copied; a test gives its stack the config it needs.
 */
const STACK_FILE = /^Pulumi\.[^/]+\.ya?ml$/;

/**
 * The render stack's config as Pulumi.render.yaml ships it (mode=existing, manifests rendered to YAML, weight
 * 10, PERMISSIVE), written out here so that the tests do not depend on what a user's render runs left in
 * that file.
 */
export const RENDER_STACK_CONFIG: Readonly<Record<string, string>> = {
    mode: "existing",
    renderYamlDirectory: ".render/manifests",
    canaryWeight: "10",
    mtlsMode: "PERMISSIVE",
};

export interface ProgramCopy {
    /** The copy's directory (its state is in .state below it). */
    work: string;
    stack: Stack;
    /** What the engine runs with: the toolchain's bin dir on PATH, the backend, the passphrase. */
    envVars: Record<string, string>;
}

/**
 * Copies the program (without stack config files) into a new temporary directory (`prefix` names it) and
 * creates `stackName` there in a fresh local backend, with passphrase secrets and `config` (keys of this
 * project). Throws what to do when there is no Pulumi CLI.
 */
export async function copyProgram(
    prefix: string,
    stackName: string,
    passphrase: string,
    config: Readonly<Record<string, string>> = {},
): Promise<ProgramCopy> {
    const tools = toolchain(ROOT);
    const work = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    fs.cpSync(ROOT, work, {
        recursive: true,
        filter: (src) => {
            const rel = path.relative(ROOT, src);
            return !NOT_THE_PROGRAM.has(rel.split(path.sep)[0]) && !STACK_FILE.test(rel);
        },
    });
    fs.symlinkSync(fs.realpathSync(path.join(ROOT, "node_modules")), path.join(work, "node_modules"));
    // PulumiCommand takes the directory above bin/pulumi.
    const pulumiCommand = await PulumiCommand.get({
        root: path.dirname(path.dirname(tools.pulumi)),
        skipVersionCheck: true,
    });
    const envVars = engineEnv(tools, path.join(work, ".state"), passphrase);
    const stack = await LocalWorkspace.createStack(
        { stackName, workDir: work },
        { pulumiCommand, envVars, secretsProvider: "passphrase" },
    );
    if (Object.keys(config).length > 0) {
        await stack.setAllConfig(Object.fromEntries(Object.entries(config).map(([k, value]) => [k, { value }])));
    }
    return { work, stack, envVars };
}

export interface Step {
    op: string;
    /** The resource's name (last part of its URN). */
    name: string;
    /** Its type token. */
    type: string;
}

/**
 * The engine's own plan: the change summary and each resource step that changes something, provider steps
 * included (the readiness gate has its own dynamic-provider instance with no inputs, so a config change
 * re-configures no provider: tests/engine/readinessGate.test.ts). `same` and reads are left out by promote's own
 * rule (promote/stack.ts): the stack's read of its own previous outputs (mode=create, and mode=existing with a
 * kubeconfig) changes nothing.
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
    return {
        counts: changesThatModify(result.changeSummary ?? {}),
        changed: steps
            .filter((s) => modifies(s.op))
            .map((s) => ({ op: s.op, name: s.urn.split("::").pop() ?? "", type: s.type })),
    };
}
