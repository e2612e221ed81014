/**
 * The live control plane (tools/live-cluster.sh) as the live test uses it: its own run directory and its
 * own ports, so it never touches a fixture someone else runs on the machine. The fixture's processes run in
 * their own sessions and would outlive the test, so `down` is guaranteed: afterAll runs it, and every
 * fixture is listed in the file LIVE_TEST_FIXTURES names, which tests/live/globalSetup.js takes down at
 * process exit or on a signal (test code cannot do that itself: jest gives it a copy of `process` whose
 * exit and signal events never fire).
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..", "..");
const SCRIPT = path.join(ROOT, "tools", "live-cluster.sh");
/** The fixture's base ports (tools/live-cluster.sh); the offset is added to each. */
const BASE_PORTS = [36443, 32379, 32380, 32381, 30257, 30259, 15017, 15010, 15012, 15014, 18080, 19876];

/** True when nothing listens on 127.0.0.1:port. */
function portFree(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const server = net.createServer();
        server.once("error", () => resolve(false));
        server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
    });
}

/**
 * A port offset at which every fixture port is free: LIVE_TEST_PORT_OFFSET if set, else the first free
 * one of 300, 600, ... (0 is left to a developer's own fixture).
 */
export async function freePortOffset(): Promise<number> {
    const fixed = process.env.LIVE_TEST_PORT_OFFSET;
    const candidates = fixed ? [Number(fixed)] : Array.from({ length: 20 }, (_, i) => 300 * (i + 1));
    for (const offset of candidates) {
        const free = await Promise.all(BASE_PORTS.map((p) => portFree(p + offset)));
        if (free.every(Boolean)) {
            return offset;
        }
    }
    throw new Error(`no free port offset for the live cluster among ${candidates.join(", ")}`);
}

export class LiveCluster {
    /** Run directory: pki, etcd data, logs, pids and the admin kubeconfig. */
    readonly dir: string;
    readonly kubeconfig: string;
    /** istioctl from the same Istio module version as the fixture's istiod. */
    readonly istioctl: string;
    /** The sidecar image istiod injects (`<hub>/proxyv2:<tag>`, from the fixture's build). */
    readonly proxyImage: string;
    private started = false;
    private readonly env: NodeJS.ProcessEnv;

    constructor(readonly portOffset: number) {
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "asm-canary-live-cluster-"));
        this.kubeconfig = path.join(this.dir, "kubeconfig");
        const cache = process.env.LIVE_CLUSTER_CACHE || path.join(os.homedir(), ".cache", "asm-canary", "live-cluster");
        this.istioctl = path.join(process.env.LIVE_CLUSTER_BIN || path.join(cache, "bin"), "istioctl");
        this.proxyImage = fs.readFileSync(path.join(cache, "assets", "proxy-image"), "utf8").trim();
        this.env = { ...process.env, LIVE_CLUSTER_DIR: this.dir, LIVE_CLUSTER_PORT_OFFSET: String(portOffset) };
    }

    /** Adds or removes this fixture in the list globalSetup.js takes down at exit. */
    private register(on: boolean): void {
        const file = process.env.LIVE_TEST_FIXTURES;
        if (!file) {
            return;
        }
        const entry = JSON.stringify({ dir: this.dir, offset: this.portOffset });
        const lines = fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter(Boolean) : [];
        const kept = lines.filter((l) => l !== entry);
        fs.writeFileSync(file, [...kept, ...(on ? [entry] : [])].map((l) => `${l}\n`).join(""));
    }

    /** Runs `tools/live-cluster.sh <args>`; resolves with its stdout, rejects with the tail of its log. */
    run(...args: string[]): Promise<string> {
        if (args[0] === "up") {
            // Marked before it runs: an `up` cut short still leaves processes for `down` to stop.
            this.started = true;
            this.register(true);
        }
        return new Promise((resolve, reject) => {
            const child = spawn("bash", [SCRIPT, ...args], { env: this.env, stdio: ["ignore", "pipe", "pipe"] });
            let out = "";
            let err = "";
            child.stdout.on("data", (c: Buffer) => (out += c.toString()));
            child.stderr.on("data", (c: Buffer) => {
                err += c.toString();
                if (process.env.LIVE_TEST_VERBOSE) {
                    process.stderr.write(c);
                }
            });
            child.on("error", reject);
            child.on("close", (code) =>
                code === 0
                    ? resolve(out)
                    : reject(new Error(`live-cluster.sh ${args.join(" ")} failed (${code}):\n${err.slice(-3000)}`)),
            );
        });
    }

    /** Stops everything the fixture started (idempotent; synchronous so it also works at process exit). */
    downSync(): void {
        if (!this.started) {
            return;
        }
        this.started = false;
        const r = spawnSync("bash", [SCRIPT, "down"], { env: this.env, encoding: "utf8" });
        if (r.status !== 0) {
            throw new Error(`live-cluster.sh down failed (${r.status}):\n${r.stderr}`);
        }
        this.register(false);
    }

    /** Removes the run directory (after `down`), unless LIVE_TEST_KEEP asks to keep it for its logs. */
    remove(): void {
        if (process.env.LIVE_TEST_KEEP) {
            process.stderr.write(`live cluster directory kept: ${this.dir}\n`);
        } else {
            fs.rmSync(this.dir, { recursive: true, force: true });
        }
    }
}
