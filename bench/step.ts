/**
 * Benchmark of one weight step (issue 18): how long from a `canaryWeight` change in the stack's config to
 *   (a) `pulumi up` done (the real engine, Automation API), run two ways in turns: a plain `pulumi up`
 *       (`pulumi up --skip-preview`, as the Automation API runs it), and a step as `npm run promote` takes
 *       it after the first, through promote's own driver: its preview was made while the step before was
 *       analysed (the weight staged in a copy of the config, the copy previewed with the policy pack saving
 *       its plan, the plan checked: timed apart and printed beside), and the step is the copy committed (the
 *       config change) then the up held to that plan and targeted at its VirtualServices (the state saved
 *       once, at the end: promote/stack.ts `inPlaceRoutesOnly`), and
 *   (b) the curl sidecar's pushed route showing the new weight for every service (istiod's xDS, received by
 *       xdsprobe -watch: tools/live-cluster/istio/xdsprobe),
 * on the live fixture (tools/live-cluster.sh: a real API server and istiod; kwok pods), for 1 and 50
 * services, median of several runs; and beside them, in the same run, the floor: the same VirtualServices
 * written straight to the API server (a server-side apply each, all at once), timed to (a) the last answer
 * and (b) the same pushed route. Also where (a)'s time goes, from the engine's own events as they arrive.
 * Not a test: it prints figures.
 *
 *   npm run bench:step [-- --runs 5 --services 1,50]
 *
 * (b) is the arrival of the route push that tells curl's sidecar the new weight, on one xDS connection held
 * from before the change (xdsprobe -watch: tests/live/xds.ts RouteWatch). Until 2026-12-07 it was polled, one
 * xdsprobe process per look: late by up to one look (~0.1-0.3 s), and each look cost the 2-core machine CPU
 * beside what it measured.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { EngineEvent } from "@pulumi/pulumi/automation";
import { checkPlan, stepPackConfig, upTargets } from "../promote/guard";
import { AutomationStack, StagedConfig } from "../promote/stack";
import { newProgram, Program, setConfig } from "../tests/live/engine";
import { freePortOffset, LiveCluster } from "../tests/live/fixture";
import { Kube, kubeClient } from "../tests/live/kube";
import { RoutePush, RouteWatch } from "../tests/live/xds";

const NS = "canary-demo";

function argument(name: string, fallback: string): string {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}
const RUNS = Number(argument("runs", "5"));
const SIZES = argument("services", "1,50").split(",").map(Number);

const now = () => performance.now();
const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const secs = (ms: number) => (ms / 1000).toFixed(2);
const log = (s: string) => process.stderr.write(`[bench:step] ${s}\n`);

/** The canary weight curl's sidecar is told for `service` (its weighted route's v2 cluster), if any. */
function pushedWeight(p: RoutePush, service: string): number | undefined {
    const host = `${service}.${NS}.svc.cluster.local:80`;
    for (const rc of p.routes) {
        for (const vh of rc.virtual_hosts ?? []) {
            if (vh.name !== host) {
                continue;
            }
            const weighted = vh.routes?.find((r) => r.name === "weighted");
            const v2 = weighted?.route?.weighted_clusters?.clusters.find((c) => c.name.includes("|v2|"));
            return v2?.weight;
        }
    }
    return undefined;
}

class Bench {
    constructor(
        readonly kube: Kube,
        readonly xdsAddress: string,
    ) {}

    async curlPod(): Promise<unknown> {
        const r = await this.kube.get(`/api/v1/namespaces/${NS}/pods?labelSelector=app%3Dcurl`);
        const pods = (r.body.items as any[]).filter((p) => !p.metadata.deletionTimestamp);
        if (pods.length !== 1) {
            throw new Error(`expected one curl pod, found ${pods.length}`);
        }
        return pods[0];
    }

    /** Starts watching curl's sidecar (RouteWatch): what istiod pushes to it, as it arrives. */
    watch(pod: unknown): Promise<RouteWatch> {
        return RouteWatch.start(this.xdsAddress, pod);
    }

    /** The time (performance.now) the push telling curl `weight` for every service arrived. */
    static told(watch: RouteWatch, services: string[], weight: number): Promise<number> {
        return watch.until((p) => services.every((s) => pushedWeight(p, s) === weight));
    }

    /**
     * Runs `change` (which sets every service to `weight`) with curl's sidecar watched from just before it:
     * (a) the ms until `change` returned, (b) until the push telling curl the new weight arrived.
     */
    async timed<T>(
        pod: unknown,
        services: string[],
        weight: number,
        change: () => Promise<T>,
    ): Promise<{ a: number; b: number; result: T }> {
        const watch = await this.watch(pod);
        try {
            const t0 = now();
            const told = Bench.told(watch, services, weight);
            const result = await change();
            const a = now() - t0;
            return { a, b: (await told) - t0, result };
        } finally {
            watch.stop();
        }
    }

    /** The floor: each service's VirtualService patched straight to `weight`; times to the last answer and to the push. */
    async direct(pod: unknown, services: string[], weight: number): Promise<{ a: number; b: number }> {
        const { a, b } = await this.timed(pod, services, weight, () => this.writeDirect(services, weight));
        return { a, b };
    }

    /** Each service's VirtualService server-side applied to `weight`, all at once. */
    private async writeDirect(services: string[], weight: number): Promise<void> {
        await Promise.all(
            services.map(async (s) => {
                const path = `/apis/networking.istio.io/v1/namespaces/${NS}/virtualservices/${s}`;
                const vs = (await this.kube.get(path)).body;
                // Server-side apply as the stack's own field manager (the provider applies the same way), so
                // that the objects stay the stack's: a plain patch would take the fields over, and the next
                // `pulumi up` would stop on a field-manager conflict.
                const manager = (vs.metadata.managedFields as { manager: string }[]).find((f) =>
                    f.manager.startsWith("pulumi-kubernetes"),
                )?.manager;
                if (!manager) {
                    throw new Error(`${path}: no pulumi-kubernetes field manager in its managedFields`);
                }
                const spec = {
                    ...vs.spec,
                    http: vs.spec.http.map((r: any) =>
                        r.name === "weighted"
                            ? {
                                  ...r,
                                  route: r.route.map((d: any) => ({
                                      ...d,
                                      weight: d.destination.subset === "v2" ? weight : 100 - weight,
                                  })),
                              }
                            : r,
                    ),
                };
                const res = await this.kube.request(
                    "PATCH",
                    `${path}?fieldManager=${encodeURIComponent(manager)}&force=true`,
                    { apiVersion: vs.apiVersion, kind: vs.kind, metadata: { name: s, namespace: NS }, spec },
                    "application/apply-patch+yaml",
                );
                if (res.status !== 200) {
                    throw new Error(`PATCH ${path}: HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
                }
            }),
        );
    }
}

/** When each engine milestone arrived, relative to the up's start. */
interface UpTimes {
    prelude: number;
    firstResource: number;
    firstStep: number;
    lastStep: number;
    summary: number;
    done: number;
}

/** Records when each engine milestone of an up arrives, relative to `t0`. */
function upTimer(t0: number): { t: Partial<UpTimes>; onEvent: (e: EngineEvent) => void } {
    const t: Partial<UpTimes> = {};
    const onEvent = (e: EngineEvent) => {
        const at = now() - t0;
        if (e.preludeEvent) {
            t.prelude ??= at;
        } else if (e.resourcePreEvent) {
            t.firstResource ??= at;
            if (e.resourcePreEvent.metadata.op !== "same") {
                t.firstStep ??= at;
            }
        } else if (e.resOutputsEvent && e.resOutputsEvent.metadata.op !== "same") {
            t.lastStep = at;
        } else if (e.summaryEvent) {
            t.summary = at;
        }
    };
    return { t, onEvent };
}

/** One plain `pulumi up` through the Automation API (no preview), timed by its events. */
async function timedUp(p: Program): Promise<UpTimes> {
    delete p.stack.workspace.envVars.PULUMI_SKIP_CHECKPOINTS;
    const t0 = now();
    const { t, onEvent } = upTimer(t0);
    const r = await p.stack.up({ onEvent });
    if (r.summary.result !== "succeeded") {
        throw new Error(`pulumi up: ${r.summary.result}`);
    }
    t.done = now() - t0;
    return t as UpTimes;
}

/** A step of `npm run promote` whose preview is made (promotePrepare), waiting to be taken (promoteStep). */
interface PreparedStep {
    driver: AutomationStack;
    staged: StagedConfig;
    planFile: string;
    /** What the step's up is targeted at, as promote's (promote/guard.ts upTargets). */
    targets?: string[];
}

/**
 * What `npm run promote` does for a step while the step before it is analysed (promote/run.ts prepare),
 * through promote's own driver (promote/stack.ts AutomationStack): the weight set in a copy of the stack's
 * config, the preview of that copy saving its plan with the policy pack (policy/analyzer, the pack config
 * promote writes for the step), and the plan check. The stack's config is not changed yet.
 */
async function promotePrepare(p: Program, services: string[], from: number, to: number): Promise<PreparedStep> {
    const driver = new AutomationStack(p.stack, "asm-canary");
    const configFile = path.join(p.work, "bench-step.policy-config.json");
    const previous = Object.fromEntries(services.map((s) => [s, from]));
    fs.writeFileSync(configFile, JSON.stringify(stepPackConfig({}, previous)));
    const policy = { pack: path.join(p.work, "policy", "analyzer"), configFile };
    const planFile = path.join(p.work, "bench-step.plan.json");
    const staged = await driver.stageWeight(to, undefined, path.join(p.work, "bench-step.config.yaml"));
    const preview = await driver.previewPlan({ planFile, policy, configFile: staged.file });
    const check = checkPlan(preview.changes, services, NS);
    if (!check.ok) {
        throw new Error(`the step's plan check failed: ${JSON.stringify(check)}`);
    }
    return { driver, staged, planFile, targets: upTargets(preview, check, services, NS) };
}

/**
 * The step itself, as promote takes it once the analysis before it passes: the staged config committed
 * (the config change), then the up held to the preview's plan (no pack: the plan binds the up to the inputs
 * the pack judged; state saved once at the end: `inPlaceRoutesOnly`) and targeted at the planned
 * VirtualServices. Returns the up's phases, from the commit.
 */
async function promoteStep(prepared: PreparedStep): Promise<UpTimes> {
    const t0 = now();
    const { t, onEvent } = upTimer(t0);
    if (!(await prepared.driver.commitStaged(prepared.staged))) {
        throw new Error("the stack's config changed since the step was staged");
    }
    await prepared.driver.up({
        plan: prepared.planFile,
        targets: prepared.targets,
        inPlaceRoutesOnly: true,
        onEvent,
    });
    t.done = now() - t0;
    return t as UpTimes;
}

/** The two ways a step's up is run: as a person runs `pulumi up`, and as promote runs a step. */
const WAYS = ["pulumi up", "promote step"] as const;
type Way = (typeof WAYS)[number];

interface Row {
    services: number;
    a: Record<Way, number[]>;
    b: Record<Way, number[]>;
    phases: Record<Way, UpTimes[]>;
    /** Promote's step: its preview, made while the step before is analysed (stage, preview with the pack, check). */
    prepared: number[];
    floorA: number[];
    floorB: number[];
    firstUp: number;
}

async function measure(cluster: LiveCluster, bench: Bench, n: number): Promise<Row> {
    const services = Array.from({ length: n }, (_, i) => (n === 1 ? "hello" : `svc-${String(i + 1).padStart(2, "0")}`));
    const p = await newProgram(`step-${n}`);
    setConfig(p, {
        mode: "existing",
        existingKubeconfigPath: cluster.kubeconfig,
        existingClusterId: "live-fixture",
        meshReadyTimeout: 120,
        mtlsMode: "PERMISSIVE",
        canaryWeight: 10,
        services,
    });
    log(`${n} service(s): first up (creates ${n * 2} Deployments and their routes) ...`);
    const t0 = now();
    await timedUp(p);
    const firstUp = now() - t0;
    log(`${n} service(s): first up ${secs(firstUp)} s`);
    const pod = await bench.curlPod();
    const first = await bench.watch(pod);
    await Bench.told(first, services, 10).finally(() => first.stop());
    const byWay = <T>(): Record<Way, T[]> => ({ "pulumi up": [], "promote step": [] });
    const row: Row = {
        services: n,
        a: byWay(),
        b: byWay(),
        phases: byWay(),
        prepared: [],
        floorA: [],
        floorB: [],
        firstUp,
    };
    let weight = 10;
    for (let run = 1; run <= RUNS; run++) {
        const took: string[] = [];
        // Both ways in every run, in turns, so that both see the same machine.
        for (const way of WAYS) {
            const next = weight === 10 ? 20 : 10;
            let prepared: PreparedStep | undefined;
            if (way === "promote step") {
                const p0 = now();
                prepared = await promotePrepare(p, services, weight, next);
                row.prepared.push(now() - p0);
            }
            // Watched from the change on: the sidecar is told as soon as the up writes the VirtualService,
            // before the up itself returns (the Automation API then still reads the stack's outputs and history).
            const step = prepared;
            const {
                a,
                b,
                result: times,
            } = await bench.timed(pod, services, next, () => {
                if (step) {
                    return promoteStep(step);
                }
                setConfig(p, { canaryWeight: next });
                return timedUp(p);
            });
            row.a[way].push(a);
            row.b[way].push(b);
            row.phases[way].push(times);
            weight = next;
            took.push(`${way} ${secs(a)} s, pushed ${secs(b)} s`);
        }
        // The floor: the same objects to another weight, written directly; then back, so that the stack's
        // state and the live objects agree again before the next step.
        const floor = await bench.direct(pod, services, 30);
        row.floorA.push(floor.a);
        row.floorB.push(floor.b);
        await bench.direct(pod, services, weight);
        log(
            `${n} service(s) run ${run}/${RUNS}: ${took.join("; ")}; ` +
                `direct ${secs(floor.a)} s, pushed ${secs(floor.b)} s (load ${os.loadavg()[0].toFixed(1)})`,
        );
    }
    log(`${n} service(s): destroy ...`);
    await p.stack.destroy();
    if (!process.env.LIVE_TEST_KEEP) {
        fs.rmSync(p.work, { recursive: true, force: true });
    }
    return row;
}

function report(rows: Row[]) {
    console.log(
        `\nweight step, median of ${RUNS} runs (s), ${os.cpus().length} cores, load ${os
            .loadavg()
            .map((l) => l.toFixed(1))
            .join(" ")}`,
    );
    console.log(
        "| services | how | (a) up done | (b) pushed to curl | promote: its preview, made during the analysis before | floor (a) direct write | floor (b) pushed | (b) / floor (b) |",
    );
    console.log("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (const r of rows) {
        const fb = median(r.floorB);
        for (const way of WAYS) {
            const b = median(r.b[way]);
            const before = way === "promote step" ? secs(median(r.prepared)) : "-";
            console.log(
                `| ${r.services} | ${way} | ${secs(median(r.a[way]))} | ${secs(b)} | ${before} | ${secs(median(r.floorA))} | ${secs(fb)} | ${(b / fb).toFixed(1)} |`,
            );
        }
    }
    console.log("\nwhere the up's time goes (median s from its start, as the engine's events arrive):");
    console.log(
        "| services | how | engine started (prelude) | program's first resource | first change | last change done | summary | up returned |",
    );
    console.log("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (const r of rows) {
        for (const way of WAYS) {
            const m = (k: keyof UpTimes) => secs(median(r.phases[way].map((p) => p[k])));
            console.log(
                `| ${r.services} | ${way} | ${m("prelude")} | ${m("firstResource")} | ${m("firstStep")} | ${m("lastStep")} | ${m("summary")} | ${m("done")} |`,
            );
        }
    }
    console.log(`\nfirst up: ${rows.map((r) => `${r.services} service(s) ${secs(r.firstUp)} s`).join(", ")}`);
}

async function main() {
    const cluster = new LiveCluster(await freePortOffset());
    const down = () => {
        try {
            cluster.downSync();
        } finally {
            cluster.remove();
        }
    };
    process.on("exit", down);
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
        process.on(signal, () => process.exit(130));
    }
    log(`live cluster with Istio: starting (port offset ${cluster.portOffset}) ...`);
    await cluster.run("up");
    const bench = new Bench(kubeClient(cluster.kubeconfig), `127.0.0.1:${15010 + cluster.portOffset}`);
    const rows: Row[] = [];
    for (const n of SIZES) {
        rows.push(await measure(cluster, bench, n));
    }
    report(rows);
}

main().catch((e: Error) => {
    console.error(`bench:step failed: ${e.message}`);
    console.error("Its fixture logs are in the run directory above (LIVE_TEST_KEEP=1 keeps it).");
    process.exit(1);
});
