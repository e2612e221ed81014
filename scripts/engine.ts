/**
 * The real Pulumi engine, offline: where its CLI is, and the environment it runs in (a local file
 * backend, passphrase secrets, no update checks or plugin downloads). Used by scripts/render.ts and
 * the engine test (tests/engine).
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

/** A Pulumi CLI and the directory to put first on PATH (its language host and plugins). */
export interface Toolchain {
    /** Absolute path of the `pulumi` binary. */
    readonly pulumi: string;
    /** Directory with the Node.js language host and plugins built for this project. */
    readonly binDir: string;
}

const WHAT_TO_DO =
    "put a pulumi CLI (>= 3.200) on PATH, or set PULUMI_TOOLCHAIN_BIN to a directory holding pulumi and " +
    "pulumi-language-nodejs, or install Go >= 1.26.6 so that tools/pulumi-toolchain.sh can build them " +
    "(~12-15 min cold on 2 cores)";

/** `command -v name` in `dirs` (then PATH), or undefined. */
function which(name: string, dirs: string[]): string | undefined {
    for (const dir of [...dirs, ...(process.env.PATH ?? "").split(path.delimiter)]) {
        const candidate = path.join(dir, name);
        try {
            fs.accessSync(candidate, fs.constants.X_OK);
            return candidate;
        } catch {
            // not here
        }
    }
    return undefined;
}

/**
 * Finds the Pulumi CLI: PULUMI_TOOLCHAIN_BIN as is, else whatever tools/pulumi-toolchain.sh prints (an
 * installed CLI on PATH, or the one it builds from Go modules on first use). Throws what to do if there
 * is none.
 */
export function toolchain(root: string): Toolchain {
    let binDir = process.env.PULUMI_TOOLCHAIN_BIN;
    if (!binDir) {
        try {
            const out = execFileSync("bash", [path.join(root, "tools", "pulumi-toolchain.sh")], {
                encoding: "utf8",
                stdio: ["ignore", "pipe", "inherit"],
            });
            binDir = out.trim().split("\n").pop() ?? "";
        } catch (e) {
            throw new Error(`No Pulumi CLI: tools/pulumi-toolchain.sh failed; ${WHAT_TO_DO}`, { cause: e });
        }
    }
    const pulumi = which("pulumi", [binDir]);
    if (!pulumi) {
        throw new Error(`No Pulumi CLI in ${binDir} or on PATH; ${WHAT_TO_DO}`);
    }
    return { pulumi, binDir };
}

/** Environment for an offline CLI: local file backend in `stateDir`, passphrase secrets, no downloads. */
export function engineEnv(tools: Toolchain, stateDir: string, passphrase: string): Record<string, string> {
    fs.mkdirSync(stateDir, { recursive: true });
    return {
        PATH: [tools.binDir, path.dirname(tools.pulumi), path.dirname(process.execPath), process.env.PATH].join(
            path.delimiter,
        ),
        PULUMI_BACKEND_URL: `file://${path.resolve(stateDir)}`,
        PULUMI_CONFIG_PASSPHRASE: passphrase,
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        PULUMI_SKIP_CONFIRMATIONS: "true",
        PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
        CI: "true",
    };
}

/**
 * The CLI arguments of `npm run render -- <args>`: `up --yes` when none are given, and `--stack <stack>` placed
 * before a `--` among them, since after it the CLI takes every word as a value (`config set canaryWeight -- -5`).
 */
export function stackCommand(args: readonly string[], stack: string): string[] {
    const given = args.length > 0 ? [...args] : ["up", "--yes"];
    const end = given.indexOf("--");
    const at = end === -1 ? given.length : end;
    return [...given.slice(0, at), "--stack", stack, ...given.slice(at)];
}
