/**
 * Stops the processes the e2e test starts (Prometheus, the fixture, a promote run) when jest exits, however
 * it exits. A test file cannot do that itself: jest runs it in a sandbox whose `process` is a copy, and
 * `exit` or signal listeners added to that copy never fire. So this module's default export is the
 * config's `globalSetup`, which runs in jest's own process: it names a PID file (in the environment, which
 * the test sees) and, on `exit`, SIGINT, SIGTERM or SIGHUP, SIGKILLs every PID still listed. The test lists
 * each process it starts (`guard`) and unlists it when it exits (`release`); afterAll stops them gently first.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const VAR = "PROMOTE_E2E_PID_FILE";

/** PID -> whether it leads its own process group (then the whole group is killed). */
type Guarded = Record<string, { name: string; group: boolean }>;

function read(file: string): Guarded {
    try {
        return JSON.parse(fs.readFileSync(file, "utf8")) as Guarded;
    } catch {
        return {};
    }
}

function update(change: (g: Guarded) => void): void {
    const file = process.env[VAR];
    if (file) {
        const g = read(file);
        change(g);
        fs.writeFileSync(file, JSON.stringify(g));
    }
}

/** Lists a process to be killed if jest exits while it runs. */
export function guard(pid: number, name: string, group = false): void {
    update((g) => (g[pid] = { name, group }));
}

/** Unlists a process that has exited. */
export function release(pid: number): void {
    update((g) => delete g[pid]);
}

/** jest `globalSetup`: runs in jest's own process, whose `exit` and signals are the real ones. */
export default function globalSetup(): void {
    const file = path.join(os.tmpdir(), `asm-canary-promote-e2e-${process.pid}.pids`);
    process.env[VAR] = file;
    fs.writeFileSync(file, "{}");
    // Only synchronous work is possible on exit.
    const reap = () => {
        for (const [pid, { name, group }] of Object.entries(read(file))) {
            try {
                process.kill(group ? -Number(pid) : Number(pid), "SIGKILL");
                console.log(`(${name}, pid ${pid}, still running at exit: killed)`);
            } catch {
                // gone
            }
        }
        fs.rmSync(file, { force: true });
    };
    process.once("exit", reap);
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
        process.once(signal, () => {
            console.log(`${signal}: stopping Prometheus, the fixture and any promote run`);
            reap();
            process.exit(130);
        });
    }
}
