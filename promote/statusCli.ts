#!/usr/bin/env node
/**
 * `npm run status -- --stack <name> [--project-dir <dir>] [--no-preview]`: the stack at a glance
 * (promote/status.ts). Compiled with the promote tool (tsc -p promote/tsconfig.json -> bin/promote/statusCli.js).
 * Read only: a preview for the pending changes, the state, the outputs and the stack's tags.
 */
import * as fs from "fs";
import * as path from "path";
import { parseArgs } from "util";
import { stackEnv } from "./options";
import { errorText } from "./run";
import { AutomationStack } from "./stack";
import { formatStatus, StackStatus, statusFromDeployment } from "./status";

const USAGE = `Usage: npm run status -- --stack <name> [options]

Per service of the stack, as last applied: the weights in force, the header override, mirror and fault, the
mTLS mode and authorization; then what a pulumi up would change now (a preview) and the last promotion's
outcome (the stack tag asm-canary:lastPromotion, written by npm run promote).

  --stack <name>        the stack (required)
  --project-dir <dir>   the Pulumi project (default: this repository)
  --no-preview          skip the preview (pending changes not shown; default: run it)
  -h, --help            this text

The backend and passphrase come from the environment, as for any pulumi command (--stack render without
PULUMI_BACKEND_URL: the render stack's own, .render/state).`;

function projectDir(given: string | undefined): string {
    if (given) {
        return path.resolve(given);
    }
    for (let dir = __dirname; path.dirname(dir) !== dir; dir = path.dirname(dir)) {
        if (fs.existsSync(path.join(dir, "Pulumi.yaml"))) {
            return dir;
        }
    }
    return process.cwd();
}

async function main(argv: string[]): Promise<number> {
    let values;
    try {
        values = parseArgs({
            args: argv,
            strict: true,
            options: {
                stack: { type: "string", short: "s" },
                "project-dir": { type: "string" },
                "no-preview": { type: "boolean" },
                help: { type: "boolean", short: "h" },
            },
        }).values;
    } catch (e) {
        process.stderr.write(`error: ${(e as Error).message}\n\n${USAGE}\n`);
        return 1;
    }
    if (values.help) {
        process.stdout.write(USAGE + "\n");
        return 0;
    }
    if (!values.stack) {
        process.stderr.write(`error: --stack <name> is required\n\n${USAGE}\n`);
        return 1;
    }
    const dir = projectDir(values["project-dir"]);
    const envVars = stackEnv(values.stack, dir, process.env);
    if (envVars.PULUMI_BACKEND_URL) {
        delete process.env.PULUMI_CONFIG_PASSPHRASE_FILE; // the render stack's passphrase is "render"
    }
    let stack: AutomationStack;
    try {
        stack = await AutomationStack.select(values.stack, dir, envVars);
    } catch (e) {
        process.stderr.write(`error: cannot open stack ${values.stack} of the project in ${dir}: ${errorText(e)}\n`);
        return 1;
    }
    const outputs = await stack.outputs();
    const namespace = typeof outputs.namespace === "string" ? outputs.namespace : undefined;
    const services = Array.isArray(outputs.services) ? (outputs.services as string[]) : [];
    const status: StackStatus = {
        stack: values.stack,
        namespace,
        services: namespace ? statusFromDeployment(await stack.deployment(), services, namespace) : [],
        lastRun: await stack.lastRun(),
    };
    if (!values["no-preview"]) {
        process.stdout.write(`(pulumi preview --stack ${values.stack} for the pending changes …)\n`);
        try {
            status.pending = await stack.pendingChanges();
        } catch (e) {
            status.pendingError = errorText(e);
        }
    }
    process.stdout.write(formatStatus(status).join("\n") + "\n");
    return 0;
}

main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
        process.stderr.write(`status: unexpected error: ${(e as Error).stack ?? e}\n`);
        process.exit(1);
    },
);
