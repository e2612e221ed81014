/** The `services` key: a name is the demo, an object a service of your own; every problem with its key path. */
import * as pulumi from "@pulumi/pulumi";
import { imageProblem } from "../../config/services";
import { ConfigError, parseConfig } from "../../config/stackConfig";

function problems(raw: Record<string, string>): string[] {
    try {
        parseConfig(raw);
    } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        expect(e).toBeInstanceOf(pulumi.RunError);
        return (e as ConfigError).problems;
    }
    throw new Error(`config was accepted: ${JSON.stringify(raw)}`);
}

const REVIEWS = {
    name: "reviews",
    port: 9080,
    stable: { image: "registry.example.com/shop/reviews:1.4.0" },
    canary: { image: "registry.example.com/shop/reviews:1.5.0" },
};

test("a plain name is today's demo service, and the default is the demo's hello", () => {
    expect(parseConfig({}).services).toEqual([{ kind: "demo", name: "hello" }]);
    expect(parseConfig({ services: '["hello","billing"]' }).services).toEqual([
        { kind: "demo", name: "hello" },
        { kind: "demo", name: "billing" },
    ]);
});

test("an object describes a real service; what it leaves out takes the documented defaults", () => {
    expect(parseConfig({ services: JSON.stringify(["hello", REVIEWS]) }).services).toEqual([
        { kind: "demo", name: "hello" },
        {
            kind: "described",
            name: "reviews",
            port: 9080,
            containerPort: 9080,
            protocol: "http",
            stable: { image: "registry.example.com/shop/reviews:1.4.0", replicas: 1, env: {} },
            canary: { image: "registry.example.com/shop/reviews:1.5.0", replicas: 1, env: {} },
            canaryWeight: undefined,
            header: undefined,
            readinessPath: "/",
            env: {},
            resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "256Mi" } },
            args: undefined,
            disruptionBudget: true,
        },
    ]);
});

test("every field given is kept: replicas per version, env merged per version, weight and header per service", () => {
    const [s] = parseConfig({
        services: JSON.stringify([
            {
                ...REVIEWS,
                containerPort: 8080,
                protocol: "grpc",
                replicas: 2,
                stable: { ...REVIEWS.stable, env: { COLOR: "blue" } },
                canary: { ...REVIEWS.canary, replicas: 1 },
                canaryWeight: 25,
                header: { name: "x-reviews-canary", value: "yes" },
                env: { LOG_LEVEL: "info" },
                resources: { requests: { cpu: "200m" }, limits: { memory: "1Gi" } },
                args: ["--port=8080"],
                disruptionBudget: false,
            },
        ]),
    }).services;
    expect(s).toEqual({
        kind: "described",
        name: "reviews",
        port: 9080,
        containerPort: 8080,
        protocol: "grpc",
        stable: { image: "registry.example.com/shop/reviews:1.4.0", replicas: 2, env: { COLOR: "blue" } },
        canary: { image: "registry.example.com/shop/reviews:1.5.0", replicas: 1, env: {} },
        canaryWeight: 25,
        header: { name: "x-reviews-canary", value: "yes" },
        readinessPath: "/",
        env: { LOG_LEVEL: "info" },
        resources: { requests: { cpu: "200m" }, limits: { memory: "1Gi" } },
        args: ["--port=8080"],
        disruptionBudget: false,
    });
});

test("every problem at once, each with its key path, the value and what is allowed", () => {
    expect(
        problems({
            services: JSON.stringify([
                "hello",
                {
                    name: "Reviews",
                    port: 70000,
                    protocol: "tcp",
                    stable: { image: "Registry/Shop:1.4" },
                    canary: { image: "registry.example.com/shop/reviews", replicas: -1 },
                    canaryWeight: 101,
                    header: { name: "X-Canary", value: "it's" },
                    resources: { limits: { memory: "lots" } },
                    colour: "blue",
                },
            ]),
        }),
    ).toEqual([
        "services[1].port: got 70000; must be a whole number from 1 to 65535",
        'services[1].protocol: got "tcp"; must be one of http, http2, grpc',
        'services[1].stable.image: got "Registry/Shop:1.4"; is not an image reference such as registry.example.com/shop/reviews:1.4.0',
        'services[1].canary.image: got "registry.example.com/shop/reviews"; has no tag or digest (an untagged image is `latest`, which can change under a release)',
        "services[1].canary.replicas: got -1; must be a whole number from 0 to 50",
        "services[1].canaryWeight: got 101; must be a whole number from 0 to 100",
        'services[1].header.name: got "X-Canary"; must be a lower-case HTTP header name such as "x-canary"',
        'services[1].header.value: got "it\'s"; must be letters, digits and . _ ~ + -',
        'services[1].resources.limits.memory: got "lots"; must be a Kubernetes quantity such as 100m or 128Mi',
        "services[1]: unknown key colour (the keys are in docs/services.md)",
    ]);
});

test("a missing required field is named, a mistyped one says the type", () => {
    expect(problems({ services: JSON.stringify([{ ...REVIEWS, port: "9080" }]) })).toEqual([
        'services[0].port: got "9080"; must be a whole number from 1 to 65535',
    ]);
    expect(problems({ services: JSON.stringify([{ ...REVIEWS, env: ["A=1"] }]) })).toEqual([
        'services[0].env: got ["A=1"]; must be a map of names to values',
    ]);
    expect(problems({ services: JSON.stringify([{ name: "reviews", port: 9080, stable: REVIEWS.stable }]) })).toEqual([
        "services[0].canary: got nothing; is required (docs/services.md lists the fields)",
    ]);
});

test("names: a DNS label that is a Kubernetes Service name, not the client's, distinct across kinds", () => {
    expect(problems({ services: JSON.stringify(["reviews", { ...REVIEWS, name: "reviews" }]) })).toEqual([
        'services: got ["reviews","reviews"] as names; reviews twice: names must be distinct',
    ]);
    expect(problems({ services: JSON.stringify([{ ...REVIEWS, name: "curl" }]) })).toEqual([
        'services[0].name: got "curl"; "curl" is the in-mesh client\'s name',
    ]);
    expect(problems({ services: "hello" })).toEqual([
        'services: got "hello"; must be a list of service names or objects',
    ]);
});

test("a gRPC service gets a gRPC probe: a readinessPath is refused", () => {
    expect(
        problems({ services: JSON.stringify([{ ...REVIEWS, protocol: "grpc", readinessPath: "/healthz" }]) }),
    ).toEqual([
        'services[0].readinessPath: got "/healthz" with protocol grpc; a gRPC service gets a gRPC health-check probe ' +
            "(grpc.health.v1) on its port: remove readinessPath",
    ]);
});

test("weight never points at a version without pods", () => {
    const idleCanary = { ...REVIEWS, canary: { ...REVIEWS.canary, replicas: 0 } };
    expect(problems({ services: JSON.stringify([idleCanary]), canaryWeight: "10" })).toEqual([
        "services[0].canary.replicas: got 0 with canaryWeight 10; a canary without pods cannot take traffic: give it " +
            "replicas or set its weight to 0",
    ]);
    expect(parseConfig({ services: JSON.stringify([idleCanary]), canaryWeight: "0" }).services).toHaveLength(1);
    const idleStable = { ...REVIEWS, stable: { ...REVIEWS.stable, replicas: 0 }, canaryWeight: 90 };
    expect(problems({ services: JSON.stringify([idleStable]) })).toEqual([
        "services[0].stable.replicas: got 0 with services[0].canaryWeight 90; the stable version takes 10% of the " +
            "requests: give it replicas, or move the weight to 100 first",
    ]);
});

test("mirroring is refused for a service whose own weight is 100, naming it", () => {
    expect(
        problems({ services: JSON.stringify(["hello", { ...REVIEWS, canaryWeight: 100 }]), mirrorPercent: "10" }),
    ).toEqual([
        "mirrorPercent: got 10 with the canaryWeight of reviews 100; v2 already receives every request, so each " +
            "mirrored request would reach v2 twice: mirror at a lower canaryWeight (0 for a dark launch)",
    ]);
});

test("callers: <namespace>/<serviceAccount> or <namespace>/*; a policy nobody can pass is refused", () => {
    expect(parseConfig({ allowedCallers: '["shop/frontend","ops/*"]' }).allowedCallers).toEqual([
        "shop/frontend",
        "ops/*",
    ]);
    expect(problems({ allowedCallers: '["frontend"]' })).toEqual([
        'allowedCallers: got "[\\"frontend\\"]"; item "frontend" is not "<namespace>/<serviceAccount>" or "<namespace>/*"',
    ]);
    expect(problems({ authorizationPolicy: "true", demoClient: "false" })).toEqual([
        "authorizationPolicy: got true with demoClient false and no allowedCallers; the policy would deny every " +
            'caller: name the callers in allowedCallers (e.g. ["shop/frontend"]) or turn authorizationPolicy off',
    ]);
});

test.each([
    ["registry.example.com/shop/reviews:1.4.0", undefined],
    ["registry.example.com:5000/shop/reviews:1.4.0", undefined],
    ["hashicorp/http-echo:1.0", undefined],
    ["nginx@sha256:" + "a".repeat(64), undefined],
    ["nginx:1.27@sha256:" + "0".repeat(64), undefined],
    ["localhost:5000/app", "has no tag or digest (an untagged image is `latest`, which can change under a release)"],
    ["nginx", "has no tag or digest (an untagged image is `latest`, which can change under a release)"],
    ["Shop/App:1", "is not an image reference such as registry.example.com/shop/reviews:1.4.0"],
    ["shop/app:-1", "is not an image reference such as registry.example.com/shop/reviews:1.4.0"],
    ["shop//app:1", "is not an image reference such as registry.example.com/shop/reviews:1.4.0"],
    ["shop/app:1 ", "is not an image reference such as registry.example.com/shop/reviews:1.4.0"],
])("image reference %j", (ref, expected) => {
    expect(imageProblem(ref)).toBe(expected);
});

describe("bring your own Deployments (`existing`)", () => {
    const BYO = {
        name: "ratings",
        port: 9080,
        existing: {
            namespace: "bookinfo",
            stable: { deployment: "ratings-v1", labels: { app: "ratings", version: "v1" } },
            canary: { deployment: "ratings-v2", labels: { app: "ratings", version: "v2" } },
        },
    };
    const byo = (existing: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
        JSON.stringify([{ ...BYO, ...extra, existing: { ...BYO.existing, ...existing } }]);

    test("an object with `existing` names the user's workloads; protocol defaults to http", () => {
        expect(parseConfig({ services: JSON.stringify(["hello", { ...BYO, canaryWeight: 5 }]) }).services).toEqual([
            { kind: "demo", name: "hello" },
            {
                kind: "existing",
                name: "ratings",
                namespace: "bookinfo",
                port: 9080,
                protocol: "http",
                stable: { deployment: "ratings-v1", labels: { app: "ratings", version: "v1" } },
                canary: { deployment: "ratings-v2", labels: { app: "ratings", version: "v2" } },
                canaryWeight: 5,
                header: undefined,
            },
        ]);
    });

    test("identical labels cannot tell the versions apart", () => {
        expect(
            problems({
                services: byo({ canary: { deployment: "ratings-v2", labels: { version: "v1", app: "ratings" } } }),
            }),
        ).toEqual([
            'services[0].existing.canary.labels: got {"version":"v1","app":"ratings"}, the same as stable.labels; both ' +
                "subsets would select the same pods: the versions must differ in at least one label (e.g. version: v1 / version: v2)",
        ]);
    });

    test("a stable label set inside the canary's: the stable subset would also select the canary's pods", () => {
        expect(
            problems({
                services: byo({
                    stable: { deployment: "ratings", labels: { app: "ratings" } },
                    canary: { deployment: "ratings-next", labels: { app: "ratings", track: "canary" } },
                }),
            }),
        ).toEqual([
            'services[0].existing.stable.labels: got {"app":"ratings"}; the canary\'s pods (canary.labels ' +
                '{"app":"ratings","track":"canary"}) carry every one of them, so the stable subset would select the ' +
                "canary's pods too: add a label only the stable pods carry (e.g. version: v1)",
        ]);
    });

    test("a canary label set inside the stable's: the canary subset would also select the stable pods", () => {
        expect(
            problems({
                services: byo({
                    stable: { deployment: "ratings", labels: { app: "ratings", track: "stable" } },
                    canary: { deployment: "ratings-next", labels: { app: "ratings" } },
                }),
            }),
        ).toEqual([
            'services[0].existing.canary.labels: got {"app":"ratings"}; the stable pods (stable.labels ' +
                '{"app":"ratings","track":"stable"}) carry every one of them, so the canary subset would select the ' +
                "stable pods too: add a label only the canary pods carry (e.g. version: v2)",
        ]);
    });

    test("an empty label set is refused (it would select every pod)", () => {
        expect(problems({ services: byo({ canary: { deployment: "ratings-v2", labels: {} } }) })).toEqual([
            "services[0].existing.canary.labels: got {}; must name at least one label (an empty selector matches every pod)",
        ]);
    });

    test("versions that share no label: the policies would have nothing to select the service's pods by", () => {
        expect(
            problems({
                services: byo({
                    stable: { deployment: "ratings-v1", labels: { "app.kubernetes.io/instance": "ratings-stable" } },
                    canary: { deployment: "ratings-v2", labels: { "app.kubernetes.io/instance": "ratings-canary" } },
                }),
            }),
        ).toEqual([
            'services[0].existing: got stable.labels {"app.kubernetes.io/instance":"ratings-stable"} and canary.labels ' +
                '{"app.kubernetes.io/instance":"ratings-canary"}, which share no label; the AuthorizationPolicy and mTLS ' +
                "policy select the service's pods by the labels both versions carry: list the Service's selector " +
                "(e.g. app: reviews) in both",
        ]);
    });

    test("label keys and values, Deployment names and the namespace are Kubernetes names", () => {
        expect(
            problems({
                services: byo({
                    namespace: "Bookinfo",
                    stable: { deployment: "Ratings_v1", labels: { "-app": "ratings", version: "v1!" } },
                }),
            }),
        ).toEqual([
            'services[0].existing.namespace: got "Bookinfo"; must be a namespace name (a DNS label: lower-case letters, digits, dashes)',
            'services[0].existing.stable.deployment: got "Ratings_v1"; must be a Deployment name (lower-case letters, digits, - and .)',
            'services[0].existing.stable.labels.version: got "v1!"; must be a Kubernetes label value (at most 63 letters, digits, - _ . starting and ending with a letter or digit)',
            'services[0].existing.stable.labels.-app: got "ratings"; must be a Kubernetes label key such as app or app.kubernetes.io/name',
        ]);
    });

    test("not the stack's own namespace (deleted with the stack), nor istio-system (policies there are mesh-wide)", () => {
        expect(problems({ services: byo({ namespace: "canary-demo" }) })).toEqual([
            'services[0].existing.namespace: got "canary-demo", the stack\'s own namespace; the program owns that ' +
                "namespace (and deletes it with the stack): bring your own workloads from a namespace of yours, with " +
                "sidecar injection on",
        ]);
        expect(problems({ services: byo({ namespace: "istio-system" }) })).toEqual([
            'services[0].existing.namespace: got "istio-system"; must be a namespace of your own: istio-system holds ' +
                "the mesh's own components (ASM runs its gateways there)",
        ]);
    });

    test("clashes: a name another service has, one Deployment as two versions or two services", () => {
        expect(problems({ services: JSON.stringify(["ratings", BYO]) })).toEqual([
            'services: got ["ratings","ratings"] as names; ratings twice: names must be distinct',
        ]);
        expect(problems({ services: JSON.stringify([{ ...REVIEWS, name: "ratings" }, BYO]) })).toEqual([
            'services: got ["ratings","ratings"] as names; ratings twice: names must be distinct',
        ]);
        expect(
            problems({
                services: byo({ canary: { deployment: "ratings-v1", labels: { app: "ratings", version: "v2" } } }),
            }),
        ).toEqual([
            'services[0].existing.canary.deployment: got "ratings-v1" in namespace bookinfo, already ' +
                "services[0].existing.stable.deployment; each Deployment is one version of one service",
        ]);
        const other = { ...BYO, name: "details", existing: { ...BYO.existing, stable: { ...BYO.existing.stable } } };
        expect(problems({ services: JSON.stringify([BYO, other]) })).toEqual([
            'services[1].existing.stable.deployment: got "ratings-v1" in namespace bookinfo, already ' +
                "services[0].existing.stable.deployment; each Deployment is one version of one service",
            'services[1].existing.canary.deployment: got "ratings-v2" in namespace bookinfo, already ' +
                "services[0].existing.canary.deployment; each Deployment is one version of one service",
        ]);
    });

    test("the program builds nothing for it: image, replicas or env are unknown keys, listed with what it takes", () => {
        expect(problems({ services: JSON.stringify([{ ...BYO, replicas: 2 }]) })).toEqual([
            'services[0]: unknown key replicas (the keys are in docs/services.md; a service with "existing" takes ' +
                "name, port, protocol, existing, canaryWeight, header)",
        ]);
        expect(problems({ services: byo({ labels: { app: "ratings" } }) })).toEqual([
            "services[0].existing: unknown key labels (the keys are in docs/services.md)",
        ]);
        expect(problems({ services: JSON.stringify([{ ...BYO, existing: { namespace: "bookinfo" } }]) })).toEqual([
            "services[0].existing.stable: got nothing; is required (docs/services.md lists the fields)",
            "services[0].existing.canary: got nothing; is required (docs/services.md lists the fields)",
        ]);
    });

    test("its own weight and header are checked like a described service's", () => {
        expect(
            problems({ services: byo({}, { canaryWeight: 101, header: { name: "X-Canary", value: "1" } }) }),
        ).toEqual([
            "services[0].canaryWeight: got 101; must be a whole number from 0 to 100",
            'services[0].header.name: got "X-Canary"; must be a lower-case HTTP header name such as "x-canary"',
        ]);
    });
});
