#!/usr/bin/env node
// `npm run render`: runs the render stack (Pulumi.render.yaml: mode=existing + renderYamlToDirectory) with
// the real Pulumi CLI on a local file backend in .render/state, and leaves the manifests in
// .render/manifests. Extra arguments replace the default `up --yes`, e.g. `npm run render -- preview --diff`.
"use strict";
const path = require("path");
const { root, engineEnv, pulumi } = require("./engine");

const STACK = "render";
const env = engineEnv(path.join(root, ".render", "state"), process.env.PULUMI_CONFIG_PASSPHRASE ?? "render");
const opts = { cwd: root, env };
if (pulumi(["stack", "select", STACK], { ...opts, echo: false }).status !== 0) {
    const init = pulumi(["stack", "init", STACK, "--secrets-provider", "passphrase"], opts);
    if (init.status !== 0) {
        process.stderr.write(init.stdout + init.stderr);
        process.exit(init.status ?? 1);
    }
}
const args = process.argv.slice(2);
const cmd = [...(args.length ? args : ["up", "--yes"]), "--stack", STACK];
const r = require("child_process").spawnSync("pulumi", cmd, { ...opts, stdio: "inherit" });
if (r.status === 0 && cmd[0] === "up") {
    console.log(`\nManifests: ${path.join(root, ".render", "manifests")}`);
}
process.exit(r.status ?? 1);
