/** Which key a promotion moves and which services it judges, from the stack's `services` config. */
import { parseCli, resolvePlan, UsageError } from "../../promote/options";
import type { StackInfo } from "../../promote/stack";
import { SERVICES_CONFIG } from "./servicesFixture";

const INFO: StackInfo = {
    project: "asm-canary",
    namespace: "canary-demo",
    services: ["hello", "reviews", "ratings"],
    canaryWeight: 0,
    servicesConfig: SERVICES_CONFIG,
};

const plan = (args: string[], info: StackInfo = INFO) =>
    resolvePlan(parseCli(["--stack", "dev", "--prometheus-url", "http://p", ...args]) as never, info);

function problems(args: string[], info: StackInfo = INFO): string[] {
    try {
        plan(args, info);
    } catch (e) {
        expect(e).toBeInstanceOf(UsageError);
        return (e as UsageError).problems;
    }
    throw new Error("no UsageError");
}

describe("the release a promotion walks", () => {
    test("--service on a service with its own canaryWeight: that key (a path), that service, finished at 100", () => {
        const p = plan(["--service", "reviews"]);
        expect(p.service).toBe("reviews");
        expect(p.release).toEqual({
            weightKey: "services[1].canaryWeight",
            weightKeyIsPath: true,
            judged: [{ name: "reviews", protocol: "http" }],
            finish: {
                services: [{ index: 1, name: "reviews", canaryImage: "reg.example/shop/reviews:1.1" }],
                config: {
                    "services[1].stable.image": "reg.example/shop/reviews:1.1",
                    "services[1].canaryWeight": 0,
                    "services[1].canary.replicas": 0,
                },
            },
        });
        expect(p.noFinalize).toBeUndefined();
        expect(plan(["--service", "reviews", "--no-finalize"]).noFinalize).toBe(true);
    });

    test("without --service: the stack's canaryWeight, judging every service it moves (gRPC as gRPC)", () => {
        expect(plan([]).release).toEqual({
            weightKey: "canaryWeight",
            weightKeyIsPath: false,
            judged: [
                { name: "hello", protocol: "http" },
                { name: "ratings", protocol: "grpc" },
            ],
            notFinished:
                "the stack's canaryWeight also moves the demo service hello, with no image to make stable, which would go back to v1 " +
                "with the weight: ratings stays at 100 (finish by hand: docs/services.md; or give ratings its own canaryWeight)",
        });
        expect(plan([]).service).toBe("hello");
    });

    test("--service on a service that shares the stack's weight with others is refused, saying how to give it its own", () => {
        expect(problems(["--service", "ratings"])).toEqual([
            "service ratings follows the stack's canaryWeight, and so do hello: moving it would move them too. " +
                "Promote without --service to move and judge all of them, or give ratings its own weight first: " +
                "`pulumi config set --path 'services[2].canaryWeight' 0 --stack dev`, then `pulumi up --stack dev`",
        ]);
        expect(problems(["--service", "hello"])).toEqual([
            "service hello follows the stack's canaryWeight, and so do ratings: moving it would move them too. " +
                "Promote without --service to move and judge all of them (hello is a demo service: it always follows the stack's canaryWeight)",
        ]);
    });

    test("the only service following the stack's weight may be named", () => {
        const info = { ...INFO, servicesConfig: JSON.stringify(["hello", JSON.parse(SERVICES_CONFIG)[1]]) };
        expect(plan(["--service", "hello"], info).release).toEqual({
            weightKey: "canaryWeight",
            weightKeyIsPath: false,
            judged: [{ name: "hello", protocol: "http" }],
            notFinished: "hello is a demo service, with no image to make stable: it stays at 100",
        });
    });

    test("a demo-only stack: the stack's canaryWeight, nothing to finish and nothing said about it", () => {
        const info = { ...INFO, services: ["hello", "world"], servicesConfig: '["hello","world"]' };
        expect(plan([], info).release).toEqual({
            weightKey: "canaryWeight",
            weightKeyIsPath: false,
            judged: [
                { name: "hello", protocol: "http" },
                { name: "world", protocol: "http" },
            ],
        });
    });

    test("every service with its own weight and no --service: refused", () => {
        const info = {
            ...INFO,
            services: ["reviews"],
            servicesConfig: JSON.stringify([JSON.parse(SERVICES_CONFIG)[1]]),
        };
        expect(problems([], info)).toEqual([
            "every service of stack dev has its own canaryWeight (reviews), so the stack's canaryWeight moves none of them: " +
                "promote one service per run with --service <name> (`npm run promote -- --stack dev --service reviews`); " +
                "to move services together in one run, remove their own canaryWeight so that they follow the stack's (docs/promotion.md)",
        ]);
    });

    test("several services with their own weight and no --service: refused, naming a --service run for each", () => {
        const [, reviews, ratings] = JSON.parse(SERVICES_CONFIG);
        const info = {
            ...INFO,
            services: ["reviews", "ratings"],
            servicesConfig: JSON.stringify([reviews, { ...ratings, canaryWeight: 5 }]),
        };
        expect(problems([], info)).toEqual([
            "every service of stack dev has its own canaryWeight (reviews, ratings), so the stack's canaryWeight moves none of them: " +
                "promote one service per run with --service <name> (`npm run promote -- --stack dev --service reviews`, then --service ratings); " +
                "to move services together in one run, remove their own canaryWeight so that they follow the stack's (docs/promotion.md)",
        ]);
        // Each one alone is fine.
        expect(plan(["--service", "ratings"], info).release?.weightKey).toBe("services[1].canaryWeight");
    });

    test("the stack's canaryWeight moving only described services: all of them finished at 100, the stack's weight back to 0", () => {
        const [, reviews, ratings] = JSON.parse(SERVICES_CONFIG);
        const { canaryWeight: _own, ...follower } = reviews;
        const info = {
            ...INFO,
            services: ["reviews", "ratings"],
            servicesConfig: JSON.stringify([follower, ratings]),
        };
        expect(plan([], info).release).toEqual({
            weightKey: "canaryWeight",
            weightKeyIsPath: false,
            judged: [
                { name: "reviews", protocol: "http" },
                { name: "ratings", protocol: "grpc" },
            ],
            finish: {
                services: [
                    { index: 0, name: "reviews", canaryImage: "reg.example/shop/reviews:1.1" },
                    { index: 1, name: "ratings", canaryImage: "reg.example/shop/ratings:2.1" },
                ],
                config: {
                    "services[0].stable.image": "reg.example/shop/reviews:1.1",
                    "services[1].stable.image": "reg.example/shop/ratings:2.1",
                    canaryWeight: 0,
                    "services[0].canary.replicas": 0,
                    "services[1].canary.replicas": 0,
                },
            },
        });
    });

    test("a service with its own weight is not finished by a release of the stack's weight", () => {
        const [, reviews, ratings] = JSON.parse(SERVICES_CONFIG);
        const info = { ...INFO, services: ["reviews", "ratings"], servicesConfig: JSON.stringify([reviews, ratings]) };
        expect(plan([], info).release?.finish?.config).toEqual({
            "services[1].stable.image": "reg.example/shop/ratings:2.1",
            canaryWeight: 0,
            "services[1].canary.replicas": 0,
        });
    });

    test("an invalid services config is reported as the program reports it", () => {
        expect(problems([], { ...INFO, servicesConfig: '["hello", {"name": "reviews"}]' })).toEqual([
            "stack config services[1].port: got nothing; must be a whole number from 1 to 65535",
            "stack config services[1].stable: got nothing; is required (docs/services.md lists the fields)",
            "stack config services[1].canary: got nothing; is required (docs/services.md lists the fields)",
        ]);
    });

    describe("a brought service (services[i].existing) is refused, saying how to move it by hand", () => {
        const RATINGS = {
            name: "ratings",
            port: 9080,
            existing: {
                namespace: "bookinfo",
                stable: { deployment: "ratings-v1", labels: { app: "ratings", version: "v1" } },
                canary: { deployment: "ratings-v2", labels: { app: "ratings", version: "v2" } },
            },
        };
        const info = (ratings: object) => ({
            ...INFO,
            services: ["hello", "ratings"],
            servicesConfig: JSON.stringify(["hello", ratings]),
        });

        test("following the stack's canaryWeight: a run of the stack's weight would move it", () => {
            expect(problems([], info(RATINGS))).toEqual([
                "ratings is a brought service (services[1].existing: namespace bookinfo, Deployments ratings-v1 and ratings-v2), " +
                    "which promote cannot judge yet: move its weight step by step with " +
                    "`pulumi config set canaryWeight <weight> --stack dev && pulumi up --stack dev` (docs/services.md)",
            ]);
        });

        test("with its own weight: --service ratings is refused, and the stack's weight still promotes hello", () => {
            expect(problems(["--service", "ratings"], info({ ...RATINGS, canaryWeight: 0 }))).toEqual([
                "ratings is a brought service (services[1].existing: namespace bookinfo, Deployments ratings-v1 and ratings-v2), " +
                    "which promote cannot judge yet: move its weight step by step with " +
                    "`pulumi config set --path 'services[1].canaryWeight' <weight> --stack dev && pulumi up --stack dev` (docs/services.md)",
            ]);
            expect(plan([], info({ ...RATINGS, canaryWeight: 0 })).release?.judged).toEqual([
                { name: "hello", protocol: "http" },
            ]);
        });
    });
});
