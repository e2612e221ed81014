// @ts-check
/**
 * Jest globalSetup of `npm run test:live`, run in jest's own process before any test:
 * 1. builds what is missing: the Pulumi toolchain and the live-cluster binaries (cached; < 1 s each when
 *    built), here rather than in a test so that a cold build is not cut short by a test timeout;
 * 2. takes down, at process exit or on SIGINT/SIGTERM/SIGHUP, every fixture the test listed in the file
 *    LIVE_TEST_FIXTURES (tests/live/fixture.ts): test code runs in a VM whose `process` never sees those
 *    events, and the fixture's processes (own sessions) would outlive an interrupted run.
 */
const { execFileSync, spawnSync } = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");

const ROOT = path.resolve(__dirname, "..", "..");

/**
 * Runs a build script, its progress on stderr; returns the last line of its stdout.
 * @param {string} script
 * @param {string[]} args
 */
function build(script, args) {
    const out = execFileSync("bash", [path.join(ROOT, "tools", script), ...args], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
    });
    return out.trim().split("\n").pop() ?? "";
}

/**
 * `down` for every fixture still listed, then its run directory (unless LIVE_TEST_KEEP); then the list.
 * @param {string} file
 */
function downAll(file) {
    if (!fs.existsSync(file)) {
        return;
    }
    for (const line of fs.readFileSync(file, "utf8").split("\n").filter(Boolean)) {
        const { dir, offset } = JSON.parse(line);
        process.stderr.write(`live test: taking down the fixture in ${dir}\n`);
        const r = spawnSync("bash", [path.join(ROOT, "tools", "live-cluster.sh"), "down"], {
            env: { ...process.env, LIVE_CLUSTER_DIR: dir, LIVE_CLUSTER_PORT_OFFSET: String(offset) },
            encoding: "utf8",
        });
        if (r.status !== 0) {
            process.stderr.write(`live-cluster.sh down failed for ${dir}:\n${r.stderr}\n`);
        } else if (!process.env.LIVE_TEST_KEEP) {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }
    fs.rmSync(file, { force: true });
}

module.exports = function globalSetup() {
    process.stderr.write(
        "\nlive test: building what is missing. Cold, on an idle 2-core machine: the Pulumi toolchain ~12-13 min, " +
            "the live cluster ~12-14 min (+1-3 min of module downloads); both cached afterwards (< 1 s).\n",
    );
    if (!process.env.PULUMI_TOOLCHAIN_BIN) {
        process.env.PULUMI_TOOLCHAIN_BIN = build("pulumi-toolchain.sh", []);
    }
    if (!process.env.LIVE_CLUSTER_BIN) {
        build("live-cluster.sh", ["build"]);
    }
    const file = path.join(os.tmpdir(), `asm-canary-live-fixtures-${process.pid}`);
    process.env.LIVE_TEST_FIXTURES = file;
    process.once("exit", () => downAll(file));
    for (const [signal, code] of [
        ["SIGINT", 130],
        ["SIGTERM", 143],
        ["SIGHUP", 129],
    ]) {
        process.once(/** @type {NodeJS.Signals} */ (signal), () => {
            downAll(file);
            process.exit(/** @type {number} */ (code));
        });
    }
};
