#!/usr/bin/env node
/**
 * `npm run promote -- --stack <name> [options]`: progressive delivery of the canary from the stack config.
 * Compiled by `npm run promote` (tsc -p promote/tsconfig.json -> bin/promote/cli.js). See docs/promotion.md
 * and `--help`.
 *
 * Signals: the first Ctrl-C (or SIGTERM) stops at the next safe point — a running `pulumi up` is allowed to
 * finish (from a terminal the CLI itself got the same Ctrl-C and cancels gracefully, finishing in-flight
 * operations), an interval wait ends at once — then the weight in force is read back and printed, exit 130.
 * A second Ctrl-C asks a running `pulumi up` to stop (SIGINT to the CLI). A third exits at once.
 * (`stack.cancel()` is not used: it is `pulumi cancel`, which is for updates running on Pulumi Cloud, not
 * supported by a file backend, and it abandons the update rather than letting it finish.)
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Flags, flagOverrides, parseCli, resolvePlan, stackEnv, UsageError, USAGE } from "./options";
import { policySetting } from "./policySetting";
import { authFromEnv, describeAuth, PrometheusClient } from "./prometheus";
import { Clock, errorText, EXIT_CODES, runPromotion, Ui } from "./run";
import { AutomationStack, StackInfo } from "./stack";

/** The Pulumi project this tool belongs to: the nearest directory above it with a Pulumi.yaml. */
function defaultProjectDir(): string {
    for (let dir = __dirname; ; dir = path.dirname(dir)) {
        if (fs.existsSync(path.join(dir, "Pulumi.yaml"))) {
            return dir;
        }
        if (path.dirname(dir) === dir) {
            return process.cwd();
        }
    }
}

function onPath(cmd: string): boolean {
    return (process.env.PATH ?? "").split(path.delimiter).some((d) => d && fs.existsSync(path.join(d, cmd)));
}

const clock: Clock = {
    now: () => Date.now(),
    sleep: (ms, signal) =>
        new Promise<void>((resolve) => {
            if (signal?.aborted || ms <= 0) {
                return resolve();
            }
            const t = setTimeout(done, ms);
            function done() {
                clearTimeout(t);
                signal?.removeEventListener("abort", done);
                resolve();
            }
            signal?.addEventListener("abort", done, { once: true });
        }),
};

function terminalUi(): Ui {
    const tty = Boolean(process.stdout.isTTY);
    let transient = false;
    const stamp = () => new Date().toISOString().slice(11, 19);
    const clear = () => {
        if (transient) {
            process.stdout.write("\r\x1b[K");
            transient = false;
        }
    };
    return {
        line(text) {
            clear();
            process.stdout.write(`${stamp()} ${text}\n`);
        },
        countdown(text, left, total) {
            if (tty) {
                process.stdout.write(`\r\x1b[K${stamp()} ${text}: ${left} s left`);
                transient = true;
            } else if (left === total || left % 30 === 0) {
                // Logs (CI, a pipe): a line when the interval starts and every 30 s, not one per second.
                const ends = new Date(Date.now() + left * 1000).toISOString().slice(11, 19);
                process.stdout.write(`${stamp()} ${text}: ${left} s left (ends ${ends} UTC)\n`);
            }
        },
    };
}

function writeReport(file: string | undefined, report: object): void {
    if (!file) {
        return;
    }
    try {
        fs.writeFileSync(file, JSON.stringify(report, null, 2) + "\n");
    } catch (e) {
        process.stderr.write(`warning: could not write the report to ${file}: ${(e as Error).message}\n`);
    }
}

/** The flags, or the exit code when there is nothing to run (a usage error, --help). */
function readFlags(argv: string[]): Flags | number {
    let flags;
    try {
        flags = parseCli(argv);
    } catch (e) {
        if (e instanceof UsageError) {
            process.stderr.write(`error: ${e.problems.join("\n       ")}\n\n${USAGE}\n`);
            return 1;
        }
        throw e;
    }
    if (flags === "help") {
        process.stdout.write(USAGE + "\n");
        return 0;
    }
    const early = flagOverrides(flags).problems;
    if (early.length) {
        process.stderr.write(`error: ${early.join("\n       ")}\n`);
        return 1;
    }
    return flags;
}

/** A failure before the run could start: said on the terminal and in the report file, exit 1. */
function failEarly(ui: Ui, flags: Flags, message: string): number {
    ui.line(`error: ${message}`);
    writeReport(flags.report, {
        tool: "asm-canary promote",
        stack: flags.stack,
        outcome: "failed",
        exitCode: 1,
        message,
        finishedAt: new Date().toISOString(),
    });
    return 1;
}

/** Ctrl-C / SIGTERM, as the header says: the first interrupts, the second force-stops an up, the third exits. */
function handleSignals(ui: Ui, stackName: string): { interrupt: AbortController; forceStop: AbortController } {
    const interrupt = new AbortController();
    const forceStop = new AbortController();
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals) => {
        signals++;
        if (signals === 1) {
            ui.line(
                `${sig}: stopping at the next safe point (a running pulumi up finishes first; Ctrl-C again to ask it to stop)`,
            );
            interrupt.abort();
        } else if (signals === 2) {
            ui.line(
                `${sig} again: asking pulumi up to stop (Ctrl-C once more exits at once, leaving the weight to be checked by hand)`,
            );
            forceStop.abort();
        } else {
            ui.line(
                `${sig}: exiting now. Check the weight in force: pulumi config get canaryWeight --stack ${stackName}; pulumi preview --diff --stack ${stackName}`,
            );
            process.exit(130);
        }
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    return { interrupt, forceStop };
}

/** The stack and what its config says, or why it cannot be opened. */
async function openStack(
    flags: Flags,
): Promise<{ stack: AutomationStack; info: StackInfo; projectDir: string } | string> {
    const projectDir = path.resolve(flags.projectDir ?? defaultProjectDir());
    const envVars = stackEnv(flags.stack, projectDir, process.env);
    if (envVars.PULUMI_BACKEND_URL) {
        // The render stack's passphrase is "render": a passphrase file for the user's own stacks would win over it.
        delete process.env.PULUMI_CONFIG_PASSPHRASE_FILE;
    }
    try {
        const stack = await AutomationStack.select(flags.stack, projectDir, envVars);
        return { stack, info: await stack.info(), projectDir };
    } catch (e) {
        const render =
            flags.stack === "render"
                ? `\n  (the render stack lives in ${envVars.PULUMI_BACKEND_URL ?? "its own backend, .render/state: unset PULUMI_BACKEND_URL to use it"}; \`npm run render\` creates it)`
                : "";
        return `cannot open stack ${flags.stack} of the project in ${projectDir}: ${errorText(e).split("\n").join("\n  ")}${render}`;
    }
}

async function main(argv: string[]): Promise<number> {
    const flags = readFlags(argv);
    if (typeof flags === "number") {
        return flags;
    }
    const ui = terminalUi();
    const fail = (message: string): number => failEarly(ui, flags, message);
    const { interrupt, forceStop } = handleSignals(ui, flags.stack);

    let auth;
    try {
        auth = authFromEnv(process.env);
    } catch (e) {
        return fail((e as Error).message);
    }
    if (!onPath("pulumi")) {
        return fail(
            'the pulumi CLI is not on PATH (offline: export PATH="$(bash tools/pulumi-toolchain.sh | tail -1):$PATH")',
        );
    }
    const opened = await openStack(flags);
    if (typeof opened === "string") {
        return fail(opened);
    }
    if (interrupt.signal.aborted) {
        return EXIT_CODES.interrupted;
    }
    let plan;
    try {
        plan = resolvePlan(flags, opened.info);
        plan.policy = policySetting(flags, opened.projectDir);
    } catch (e) {
        if (e instanceof UsageError) {
            return fail(e.problems.join("\n       "));
        }
        return fail(errorText(e));
    }
    // Each step's saved plan and policy pack config; removed when the run ends.
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "asm-canary-promote-run-"));
    const report = await runPromotion(plan, {
        workDir,
        stack: opened.stack,
        metrics: new PrometheusClient({ baseUrl: plan.prometheusUrl, auth }),
        clock,
        ui,
        interrupt: interrupt.signal,
        forceStop: forceStop.signal,
        prometheusAuth: describeAuth(auth),
        onPulumiOutput: flags.verbose ? (t) => process.stderr.write(t.replace(/^(?=.)/gm, "    | ")) : undefined,
    });
    fs.rmSync(workDir, { recursive: true, force: true });
    if (!plan.dryRun && report.outcome !== undefined) {
        try {
            await opened.stack.recordLastRun({
                outcome: report.outcome,
                exitCode: report.exitCode ?? 1,
                weightKey: report.weightKey,
                from: report.startWeight,
                to: report.weightInForce,
                finishedAt: report.finishedAt ?? new Date().toISOString(),
            });
        } catch (e) {
            report.notes.push(
                `could not record the outcome as the stack tag asm-canary:lastPromotion: ${errorText(e)}`,
            );
        }
    }
    for (const note of report.notes) {
        ui.line(`note: ${note}`);
    }
    ui.line(`${report.message} Exit ${report.exitCode}.`);
    writeReport(flags.report, report);
    return report.exitCode ?? 1;
}

main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
        process.stderr.write(`promote: unexpected error: ${(e as Error).stack ?? e}\n`);
        process.exit(1);
    },
);
