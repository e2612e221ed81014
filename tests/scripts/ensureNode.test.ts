/**
 * scripts/ensure-node.sh picks the Node.js the npm scripts run on (scripts/node.sh): the machine's own when it
 * is at least 22.19 (type stripping and module.registerHooks, which the tests use; undici 8 under
 * @kubernetes/client-node declares 22.19), else a cached official
 * binary. A stand-in `node` that only reports a version shows which one it chose.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const SCRIPT = path.resolve(__dirname, "..", "..", "scripts", "ensure-node.sh");

/** The directory ensure-node.sh prints when the only node before the system's reports `version`. */
function chosenFor(version: string): { fake: string; chosen: string } {
    const fake = fs.mkdtempSync(path.join(os.tmpdir(), "fake-node-"));
    fs.writeFileSync(path.join(fake, "node"), `#!/bin/sh\necho ${version}\n`, { mode: 0o755 });
    const chosen = execFileSync("bash", [SCRIPT], {
        encoding: "utf8",
        env: { ...process.env, PATH: `${fake}:${path.dirname(process.execPath)}:/usr/bin:/bin` },
    }).trim();
    fs.rmSync(fake, { recursive: true, force: true });
    return { fake, chosen };
}

test.each(["22.19.0", "22.23.3", "24.1.0"])("node %s on PATH is used as is", (version) => {
    const { fake, chosen } = chosenFor(version);
    expect(chosen).toBe(fake);
});

test.each(["22.12.0", "22.18.0", "20.20.2"])("node %s on PATH is too old: another binary is chosen", (version) => {
    const { fake, chosen } = chosenFor(version);
    expect(chosen).not.toBe(fake);
    expect(fs.existsSync(path.join(chosen, "node"))).toBe(true);
});
