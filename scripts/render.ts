/**
 * `npm run render`: runs the render stack (Pulumi.render.yaml: mode=existing + renderYamlToDirectory) with
 * the real Pulumi CLI on a local file backend in .render/state, and leaves the manifests in
 * .render/manifests. Extra arguments replace the default `up --yes`, e.g. `npm run render -- preview --diff`.
 *
 * Node runs this file as is (type stripping, Node >= 22.18): no build step.
 */
import { spawnSync } from "child_process";
import * as path from "path";
import { engineEnv, stackCommand, toolchain } from "./engine.ts";

const STACK = "render";
const root = path.resolve(path.dirname(process.argv[1]), "..");
const tools = toolchain(root);
// The render stack's passphrase is always "render": Pulumi.render.yaml's tracked salt was made with it and the
// stack holds no secrets, so a passphrase exported for the user's own stacks must not reach it (nor a
// passphrase file, which the CLI would read instead).
const { PULUMI_CONFIG_PASSPHRASE_FILE: _file, ...userEnv } = process.env;
const env = { ...userEnv, ...engineEnv(tools, path.join(root, ".render", "state"), "render") };

function pulumi(args: string[], stdio: "inherit" | "pipe" = "inherit") {
    return spawnSync(tools.pulumi, args, { cwd: root, env, stdio, encoding: "utf8" });
}

if (pulumi(["stack", "select", STACK, "--non-interactive"], "pipe").status !== 0) {
    const init = pulumi(["stack", "init", STACK, "--secrets-provider", "passphrase", "--non-interactive"]);
    if (init.status !== 0) {
        process.exit(init.status ?? 1);
    }
}
const command = stackCommand(process.argv.slice(2), STACK);
const r = pulumi(command);
if (r.status === 0 && command[0] === "up") {
    console.log(`\nManifests: ${path.join(root, ".render", "manifests")}`);
}
process.exit(r.status ?? 1);
