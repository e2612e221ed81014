// Shared helpers for running the real Pulumi engine offline (scripts/render.js, scripts/engine-test.js).
"use strict";
const { execFileSync, spawnSync } = require("child_process");
const fs = require("fs");
const path = require("path");

const root = path.join(__dirname, "..");

/** PATH entry holding `pulumi`, its Node.js language host and the Kubernetes plugin (built if missing). */
function toolchainBin() {
    if (process.env.PULUMI_TOOLCHAIN_BIN) {
        return process.env.PULUMI_TOOLCHAIN_BIN; // a directory with pulumi + plugins, used as is
    }
    const out = execFileSync("bash", [path.join(root, "tools", "pulumi-toolchain.sh")], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
    });
    return out.trim().split("\n").pop();
}

/** Environment for an offline CLI: local file backend, passphrase secrets, no update checks or downloads. */
function engineEnv(stateDir, passphrase) {
    fs.mkdirSync(stateDir, { recursive: true });
    const bin = toolchainBin();
    return {
        ...process.env,
        PATH: `${bin}:${path.dirname(process.execPath)}:${process.env.PATH}`,
        PULUMI_BACKEND_URL: `file://${path.resolve(stateDir)}`,
        PULUMI_CONFIG_PASSPHRASE: passphrase,
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        PULUMI_SKIP_CONFIRMATIONS: "true",
        PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
        CI: "true",
    };
}

/** Runs `pulumi args…` in cwd; returns { status, stdout, stderr } (never throws). */
function pulumi(args, { cwd, env, echo = true }) {
    if (echo) {
        process.stderr.write(`$ pulumi ${args.join(" ")}\n`);
    }
    const r = spawnSync("pulumi", [...args, "--non-interactive"], {
        cwd,
        env,
        encoding: "utf8",
        maxBuffer: 64 * 2 ** 20,
    });
    if (r.error) {
        throw r.error;
    }
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs pulumi and throws with its output when it fails. */
function pulumiOk(args, opts) {
    const r = pulumi(args, opts);
    if (r.status !== 0) {
        throw new Error(`pulumi ${args.join(" ")} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
    }
    return r;
}

module.exports = { root, toolchainBin, engineEnv, pulumi, pulumiOk };
