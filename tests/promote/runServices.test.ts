/**
 * The promotion run on a stack with several services (tests/promote/servicesFixture.ts: hello (demo) and
 * ratings (gRPC) follow the stack's canaryWeight, reviews has its own): a fake stack that records every
 * config set and up, fake metrics per service and workload, a fake clock.
 */
import type { Sample } from "../../promote/decision";
import { parseCli, Plan, resolvePlan } from "../../promote/options";
import { runPromotion } from "../../promote/run";
import type { StackDriver, StackInfo, UpOptions, UpResult, WeightKey } from "../../promote/stack";
import { fakeDeps, vsUpdate } from "./fakeDeps";
import { SERVICES_CONFIG } from "./servicesFixture";

/** Config keys the fake knows, and which service each weight key moves. */
const MOVED_BY: Record<string, string[]> = {
    canaryWeight: ["hello", "ratings"],
    "services[1].canaryWeight": ["reviews"],
};

class ConfigStack implements StackDriver {
    readonly name = "dev";
    log: string[] = [];
    config: Record<string, string> = { canaryWeight: "0", "services[1].canaryWeight": "0" };
    /** Another services config, with the weight keys that move each of its services. */
    constructor(
        private readonly servicesConfig = SERVICES_CONFIG,
        private readonly movedBy = MOVED_BY,
    ) {}
    /** The n-th up (1-based) fails before applying anything. */
    failUp?: number;
    private ups = 0;
    /** The canary weight each service's VirtualService applies. */
    applied: Record<string, number> = { hello: 0, reviews: 0, ratings: 0 };
    async info(): Promise<StackInfo> {
        return {
            project: "asm-canary",
            namespace: "canary-demo",
            services: Object.values(this.movedBy).flat(),
            canaryWeight: Number(this.config.canaryWeight),
            servicesConfig: this.servicesConfig,
        };
    }
    async configuredWeight(key?: WeightKey) {
        return Number(this.config[key?.key ?? "canaryWeight"]);
    }
    async pendingChanges() {
        this.log.push("preview");
        return {};
    }
    async previewPlan() {
        this.log.push("plan");
        const moved = Object.entries(this.movedBy).flatMap(([key, services]) =>
            services.filter((s) => this.applied[s] !== Number(this.config[key])),
        );
        return { changes: moved.map((s) => vsUpdate(s)), findings: [] };
    }
    async rawConfig() {
        return { values: { services: this.servicesConfig }, hasSecretKubeconfig: false };
    }
    async virtualServiceUrns(services: readonly string[]) {
        return services.map((s) => vsUpdate(s).urn);
    }
    async setWeight(w: number, key?: WeightKey) {
        this.log.push(`set ${key?.path ? "--path " : ""}${key?.key ?? "canaryWeight"} ${w}`);
        this.config[key?.key ?? "canaryWeight"] = String(w);
    }
    async setPaths(values: ReadonlyArray<[string, string]>) {
        this.log.push(`set-all --path ${values.map(([k, v]) => `${k}=${v}`).join(" ")}`);
        for (const [k, v] of values) {
            this.config[k] = v;
        }
    }
    /** The policy pack each up ran with (undefined: none). */
    upPacks: Array<string | undefined> = [];
    /** The URNs each up was targeted at (undefined: the whole stack). */
    upTargets: Array<string[] | undefined> = [];
    async up(opts: UpOptions): Promise<UpResult> {
        this.log.push("up");
        this.upPacks.push(opts.policy?.pack);
        this.upTargets.push(opts.targets);
        if (++this.ups === this.failUp) {
            throw new Error(
                "error: update failed\nkubernetes:apps/v1:Deployment (reviews-v1): timed out waiting to be Ready",
            );
        }
        for (const [key, services] of Object.entries(this.movedBy)) {
            for (const s of services) {
                this.applied[s] = Number(this.config[key]);
            }
        }
        return { changes: { update: 1, same: 30 }, seconds: 5 };
    }
    async appliedWeight(service: string) {
        return this.applied[service];
    }
}

type Shape = (service: string, version: "v1" | "v2", weight: number) => Sample;

const healthy: Shape = (_s, version, w) => {
    const share = version === "v2" ? w : 100 - w;
    return { requests: share * 6, errors: 0, p99Ms: share > 0 ? 45 : undefined };
};

/**
 * Answers a query for `<service>-<version>` from `shape`. A gRPC failure counts only in the gRPC error
 * query (HTTP 200 with a non-OK grpc_response_status): the plain 5xx query finds none.
 */
function metricsFor(stack: ConfigStack, shape: Shape, grpcFailures: Shape = () => ({ requests: 0, errors: 0 })) {
    return {
        queries: [] as string[],
        async probe() {},
        async query(q: string): Promise<number | undefined> {
            const m = /destination_workload="([a-z]+)-(v1|v2)"/.exec(q)!;
            const [service, version] = [m[1], m[2] as "v1" | "v2"];
            if (q.startsWith("count(") || q.startsWith("sum(rate(")) {
                return 1; // the preflight's survey: the series exist, 1 req/s
            }
            this.queries.push(q);
            const s = shape(service, version, stack.applied[service]);
            if (q.startsWith("histogram_quantile")) {
                return s.p99Ms;
            }
            if (q.includes('grpc_response_status!~"0|"')) {
                return s.errors + grpcFailures(service, version, stack.applied[service]).errors;
            }
            return q.includes('response_code=~"5.."') ? s.errors : s.requests;
        },
    };
}

function harness(stack: ConfigStack, shape: Shape, grpcFailures?: Shape) {
    const metrics = metricsFor(stack, shape, grpcFailures);
    const { deps, lines } = fakeDeps(stack, metrics);
    return {
        lines,
        metrics,
        run: async (args: string[], policy?: Plan["policy"]) => {
            const plan: Plan = resolvePlan(
                parseCli([
                    "--stack",
                    "dev",
                    "--prometheus-url",
                    "http://prom:9090",
                    "--steps",
                    "10,50,100",
                    ...args,
                ]) as never,
                await stack.info(),
            );
            return runPromotion({ ...plan, policy }, deps);
        },
    };
}

describe("promotion of one service by its own weight", () => {
    test("--service reviews sets exactly services[1].canaryWeight, then finishes the release in one config change + up", async () => {
        const stack = new ConfigStack();
        const h = harness(stack, healthy);
        const r = await h.run(["--service", "reviews"]);
        expect(r.outcome).toBe("promoted");
        expect(r.exitCode).toBe(0);
        expect(stack.log).toEqual([
            "preview",
            "set --path services[1].canaryWeight 10",
            "plan",
            "up",
            "set --path services[1].canaryWeight 50",
            "plan",
            "up",
            "set --path services[1].canaryWeight 100",
            "plan",
            "up",
            "set-all --path services[1].stable.image=reg.example/shop/reviews:1.1 services[1].canaryWeight=0 services[1].canary.replicas=0",
            "up",
        ]);
        // The stack's weight, and the services it moves, were never touched.
        expect(stack.config.canaryWeight).toBe("0");
        expect(stack.applied).toEqual({ hello: 0, reviews: 0, ratings: 0 });
        // Only reviews was judged.
        expect(new Set(h.metrics.queries.map((q) => /destination_workload="([a-z]+)-/.exec(q)![1]))).toEqual(
            new Set(["reviews"]),
        );
        expect(r.weightKey).toBe("services[1].canaryWeight");
        expect(r.finalize).toEqual({
            service: "reviews",
            config: {
                "services[1].stable.image": "reg.example/shop/reviews:1.1",
                "services[1].canaryWeight": 0,
                "services[1].canary.replicas": 0,
            },
            up: { weight: 0, changes: { update: 1, same: 30 }, seconds: 5 },
        });
        expect(r.message).toBe(
            "PROMOTED and FINISHED (reviews runs reg.example/shop/reviews:1.1 as its stable version, its canary scaled to 0): " +
                "services[1].canaryWeight 0 is in force. (3 step(s) in 180 s)",
        );
        expect(h.lines[0]).toBe(
            "Promoting stack dev: service reviews (namespace canary-demo), services[1].canaryWeight 0 -> 10 -> 50 -> 100",
        );
    });

    test("--no-finalize stops at 100: no finishing config change, both versions keep running", async () => {
        const stack = new ConfigStack();
        const h = harness(stack, healthy);
        const r = await h.run(["--service", "reviews", "--no-finalize"]);
        expect(r.exitCode).toBe(0);
        expect(stack.log.slice(-3)).toEqual(["set --path services[1].canaryWeight 100", "plan", "up"]);
        expect(stack.log.some((l) => l.startsWith("set-all"))).toBe(false);
        expect(r.finalize).toBeUndefined();
        expect(r.message).toBe("PROMOTED: services[1].canaryWeight 100 is in force. (3 step(s) in 180 s)");
        expect(h.lines).toContain(
            "  not finished (--no-finalize): reviews stays at 100 with both versions running; finish with " +
                "`pulumi config set --path 'services[1].stable.image' reg.example/shop/reviews:1.1 --stack dev && " +
                "pulumi config set --path 'services[1].canaryWeight' 0 --stack dev && " +
                "pulumi config set --path 'services[1].canary.replicas' 0 --stack dev && pulumi up --stack dev`",
        );
    });

    test("a failing canary rolls back its own key only, and the rollback hint names that key", async () => {
        const stack = new ConfigStack();
        const h = harness(stack, (s, v, w) =>
            v === "v2" && w >= 50 ? { requests: 300, errors: 30, p99Ms: 40 } : healthy(s, v, w),
        );
        const r = await h.run(["--service", "reviews"]);
        expect(r.exitCode).toBe(2);
        expect(stack.log.slice(-5)).toEqual([
            "set --path services[1].canaryWeight 50",
            "plan",
            "up",
            "set --path services[1].canaryWeight 0",
            "up",
        ]);
        expect(stack.config.canaryWeight).toBe("0");
        expect(r.message).toBe(
            "ROLLED BACK from services[1].canaryWeight 50: error rate 10.00% > max 1.00% at services[1].canaryWeight 50 (step 2/3). services[1].canaryWeight 0 is in force.",
        );
    });
});

test("a failed finishing up: exit 1, the config keeps the finished release (no weight set back), a plain up applies it", async () => {
    const stack = new ConfigStack();
    stack.failUp = 4;
    const h = harness(stack, healthy);
    const r = await h.run(["--service", "reviews"]);
    expect(r.outcome).toBe("failed");
    expect(r.exitCode).toBe(1);
    expect(stack.log.slice(-2)).toEqual([
        "set-all --path services[1].stable.image=reg.example/shop/reviews:1.1 services[1].canaryWeight=0 services[1].canary.replicas=0",
        "up",
    ]);
    expect(stack.config["services[1].canaryWeight"]).toBe("0");
    expect(r.finalize?.up?.error).toContain("timed out waiting to be Ready");
    expect(r.message).toBe(
        "PROMOTED to 100, but finishing the release of reviews did not complete: the config holds the finished release; " +
            "apply it with `pulumi up --stack dev` (`pulumi preview --diff --stack dev` shows what is left). " +
            "services[1].canaryWeight 0 is configured, 100 is applied (a pending change: check `pulumi preview --diff --stack dev`).",
    );
});

test("--dry-run says the release would be finished, and changes nothing", async () => {
    const stack = new ConfigStack();
    const h = harness(stack, healthy);
    const r = await h.run(["--service", "reviews", "--dry-run"]);
    expect(r.outcome).toBe("dry-run");
    expect(stack.log).toEqual(["preview"]);
    expect(h.lines).toContain(
        "  then: finish the release of reviews (services[1].stable.image := reg.example/shop/reviews:1.1, services[1].canaryWeight := 0, " +
            "services[1].canary.replicas := 0; one pulumi up)",
    );
});

describe("a step of the stack's canaryWeight judges every service it moves", () => {
    test("both healthy: promoted, both judged at every step; not finished, and the output says why", async () => {
        const stack = new ConfigStack();
        const h = harness(stack, healthy);
        const r = await h.run([]);
        expect(r.exitCode).toBe(0);
        expect(stack.log).toEqual([
            "preview",
            "set canaryWeight 10",
            "plan",
            "up",
            "set canaryWeight 50",
            "plan",
            "up",
            "set canaryWeight 100",
            "plan",
            "up",
        ]);
        expect(r.steps.map((s) => s.analyses[0].services?.map((v) => `${v.service} ${v.verdict}`))).toEqual([
            ["hello pass", "ratings pass"],
            ["hello pass", "ratings pass"],
            ["hello pass", "ratings pass"],
        ]);
        expect(h.lines).toContain(
            "[1/3] canaryWeight 10: ratings: canary 60 req, 0.00% errors, p99 45 ms | stable 540 req, 0.00% errors, p99 45 ms -> PASS",
        );
        expect(h.lines).toContain(
            "  not finished: the stack's canaryWeight also moves the demo service hello, with no image to make stable, which would go back " +
                "to v1 with the weight: ratings stays at 100 (finish by hand: docs/services.md; or give ratings its own canaryWeight)",
        );
        expect(stack.applied).toEqual({ hello: 100, reviews: 0, ratings: 100 });
        // Each step's up is targeted at the VirtualServices it moves, both of them, and nothing else.
        const routes = [
            "urn:pulumi:dev::asm-canary::kubernetes:networking.istio.io/v1beta1:VirtualService::route-hello-vs",
            "urn:pulumi:dev::asm-canary::kubernetes:networking.istio.io/v1beta1:VirtualService::route-ratings-vs",
        ];
        expect(stack.upTargets).toEqual([routes, routes, routes]);
    });

    test("the gRPC service failing with HTTP 200 + a non-OK gRPC status: the step fails, everything it moved is rolled back", async () => {
        const stack = new ConfigStack();
        const h = harness(stack, healthy, (s, v, w) =>
            s === "ratings" && v === "v2" && w >= 50 ? { requests: 0, errors: 150 } : { requests: 0, errors: 0 },
        );
        const r = await h.run([]);
        expect(r.outcome).toBe("rolled-back");
        expect(r.exitCode).toBe(2);
        expect(stack.log).toEqual([
            "preview",
            "set canaryWeight 10",
            "plan",
            "up",
            "set canaryWeight 50",
            "plan",
            "up",
            "set canaryWeight 0",
            "up",
        ]);
        expect(stack.applied).toEqual({ hello: 0, reviews: 0, ratings: 0 });
        expect(r.steps[1].analyses[0].verdict).toBe("fail");
        expect(r.steps[1].analyses[0].services?.map((v) => [v.service, v.verdict])).toEqual([
            ["hello", "pass"],
            ["ratings", "fail"],
        ]);
        expect(r.failedChecks).toEqual([
            { metric: "errorRate", value: 0.5, threshold: 0.01, status: "fail", service: "ratings" },
        ]);
        expect(r.message).toBe(
            "ROLLED BACK from canaryWeight 50: ratings: error rate 50.00% > max 1.00% at canaryWeight 50 (step 2/3). canaryWeight 0 is in force.",
        );
        expect(h.lines).toContain("[2/3] canaryWeight 50: FAIL (1 of 2 services pass)");
    });

    test("the demo service is judged with the HTTP query, the gRPC one with the gRPC query", async () => {
        const stack = new ConfigStack();
        const h = harness(stack, healthy);
        await h.run([]);
        const errorQueries = (svc: string) =>
            h.metrics.queries.filter(
                (q) => q.includes(`destination_workload="${svc}-v2"`) && q.includes("response_code"),
            );
        expect(errorQueries("hello").every((q) => !q.includes("grpc_response_status"))).toBe(true);
        expect(errorQueries("ratings").length).toBeGreaterThan(0);
        expect(errorQueries("ratings").every((q) => q.includes('grpc_response_status!~"0|"'))).toBe(true);
    });
});

describe("a release of the stack's canaryWeight that moved only described services is finished", () => {
    /** reviews (HTTP) and ratings (gRPC), both following the stack's canaryWeight. */
    const FOLLOWERS = JSON.stringify(
        JSON.parse(SERVICES_CONFIG)
            .slice(1)
            .map(({ canaryWeight: _own, ...s }: Record<string, unknown>) => s),
    );
    const followers = () => new ConfigStack(FOLLOWERS, { canaryWeight: ["reviews", "ratings"] });
    const FINISH =
        "set-all --path services[0].stable.image=reg.example/shop/reviews:1.1 services[1].stable.image=reg.example/shop/ratings:2.1 " +
        "canaryWeight=0 services[0].canary.replicas=0 services[1].canary.replicas=0";

    test("after the 100 step: every service it moved gets its canary's image as stable, the weight back to 0, canaries to 0 replicas, in one up", async () => {
        const stack = followers();
        const h = harness(stack, healthy);
        const r = await h.run([]);
        expect(r.outcome).toBe("promoted");
        expect(stack.log).toEqual([
            "preview",
            "set canaryWeight 10",
            "plan",
            "up",
            "set canaryWeight 50",
            "plan",
            "up",
            "set canaryWeight 100",
            "plan",
            "up",
            FINISH,
            "up",
        ]);
        expect(stack.applied).toEqual({ hello: 0, reviews: 0, ratings: 0 });
        expect(r.finalize?.service).toBe("reviews, ratings");
        expect(r.message).toBe(
            "PROMOTED and FINISHED (reviews runs reg.example/shop/reviews:1.1, ratings runs reg.example/shop/ratings:2.1 as their stable versions, " +
                "their canaries scaled to 0): canaryWeight 0 is in force. (3 step(s) in 180 s)",
        );
    });

    test("the steps' ups run no pack (each is held to the plan its preview's pack judged); the finishing up, which has no plan, runs it", async () => {
        const stack = followers();
        const pack = "/p/policy/analyzer";
        const r = await harness(stack, healthy).run([], { pack, config: {}, source: "the pack's default levels" });
        expect(r.outcome).toBe("promoted");
        expect(stack.upPacks).toEqual([undefined, undefined, undefined, pack]);
        // The finishing up changes images, replicas and weights at once: never targeted.
        expect(stack.upTargets.map((t) => t?.length)).toEqual([2, 2, 2, undefined]);
    });

    test("a failing step rolls both back and finishes nothing", async () => {
        const stack = followers();
        const h = harness(stack, (s, v, w) =>
            s === "ratings" && v === "v2" && w >= 50 ? { requests: 300, errors: 30, p99Ms: 40 } : healthy(s, v, w),
        );
        const r = await h.run([]);
        expect(r.outcome).toBe("rolled-back");
        expect(stack.log.slice(-2)).toEqual(["set canaryWeight 0", "up"]);
        expect(stack.log.some((l) => l.startsWith("set-all"))).toBe(false);
        expect(r.finalize).toBeUndefined();
        expect(stack.applied).toEqual({ hello: 0, reviews: 0, ratings: 0 });
    });

    test("--no-finalize stops at 100 and prints the commands; --dry-run names the change", async () => {
        const stack = followers();
        const h = harness(stack, healthy);
        const r = await h.run(["--no-finalize"]);
        expect(r.message).toBe("PROMOTED: canaryWeight 100 is in force. (3 step(s) in 180 s)");
        expect(stack.log.some((l) => l.startsWith("set-all"))).toBe(false);
        expect(h.lines).toContain(
            "  not finished (--no-finalize): reviews, ratings stay at 100 with both versions running; finish with " +
                "`pulumi config set --path 'services[0].stable.image' reg.example/shop/reviews:1.1 --stack dev && " +
                "pulumi config set --path 'services[1].stable.image' reg.example/shop/ratings:2.1 --stack dev && " +
                "pulumi config set canaryWeight 0 --stack dev && pulumi config set --path 'services[0].canary.replicas' 0 --stack dev && " +
                "pulumi config set --path 'services[1].canary.replicas' 0 --stack dev && pulumi up --stack dev`",
        );
        const dry = harness(followers(), healthy);
        await dry.run(["--dry-run"]);
        expect(dry.lines).toContain(
            "  then: finish the release of reviews, ratings (services[0].stable.image := reg.example/shop/reviews:1.1, " +
                "services[1].stable.image := reg.example/shop/ratings:2.1, canaryWeight := 0, services[0].canary.replicas := 0, " +
                "services[1].canary.replicas := 0; one pulumi up)",
        );
    });
});
