/**
 * tools/pulumi-toolchain.sh needs Go only to build: without Go and without the build in its cache it stops
 * before building, saying what to do (with every tool cached it uses them; verified by hand, see
 * tools/lib/build-cache.sh go_env, since a test cannot make a real cached build without building it).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..", "..");

test("no Go on PATH and an empty cache: one error that says to install Go or skip with an installed pulumi", () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "toolchain-nogo-"));
    try {
        // A PATH with every system tool but go and pulumi.
        const bin = path.join(tmp, "bin");
        fs.mkdirSync(bin);
        for (const dir of ["/usr/bin", "/bin"]) {
            for (const f of fs.readdirSync(dir)) {
                if (!["go", "gofmt", "pulumi"].includes(f) && !fs.existsSync(path.join(bin, f))) {
                    fs.symlinkSync(path.join(dir, f), path.join(bin, f));
                }
            }
        }
        const r = spawnSync("bash", [path.join(ROOT, "tools", "pulumi-toolchain.sh")], {
            env: { HOME: tmp, PATH: bin, PULUMI_TOOLCHAIN_CACHE: path.join(tmp, "cache") },
            encoding: "utf8",
        });
        expect(r.status).toBe(1);
        expect(r.stderr).toContain("cache: " + path.join(tmp, "cache") + " (no Go toolchain)");
        expect(r.stderr).toContain(
            `ERROR: go not found on PATH, and the cache (${path.join(tmp, "cache")}) does not hold this build: install ` +
                "Go >= 1.26.6 and run again, or set PULUMI_TOOLCHAIN_BIN=/dir (pulumi, pulumi-language-nodejs) or put " +
                "pulumi on PATH to skip",
        );
        expect(r.stderr).not.toContain("building");
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
});
