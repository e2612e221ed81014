/** `npm run status`: the stack's objects as last applied, per service, and how it is printed. */
import { decodeLastRun, encodeLastRun } from "../../promote/lastRun";
import { formatStatus, statusFromDeployment } from "../../promote/status";

const res = (type: string, name: string, spec: unknown, namespace = "canary-demo") => ({
    type,
    outputs: { metadata: { name, namespace }, spec },
});

const DEPLOYMENT = {
    resources: [
        res("kubernetes:networking.istio.io/v1beta1:VirtualService", "hello", {
            http: [
                {
                    match: [{ headers: { "x-canary": { exact: "always" } } }],
                    route: [{ destination: { host: "hello", subset: "v2" } }],
                    fault: { abort: { httpStatus: 503, percentage: { value: 5 } } },
                },
                {
                    route: [
                        { destination: { host: "hello", subset: "v1" }, weight: 75 },
                        { destination: { host: "hello", subset: "v2" }, weight: 25 },
                    ],
                    mirror: { host: "hello", subset: "v2" },
                    mirrorPercentage: { value: 20 },
                    fault: { delay: { fixedDelay: "2s", percentage: { value: 10 } } },
                },
            ],
        }),
        res("kubernetes:networking.istio.io/v1beta1:VirtualService", "ratings", {
            http: [
                {
                    route: [
                        { destination: { host: "ratings", subset: "v1" }, weight: 100 },
                        { destination: { host: "ratings", subset: "v2" }, weight: 0 },
                    ],
                },
            ],
        }),
        // Another namespace's objects are not this stack's services'.
        res("kubernetes:networking.istio.io/v1beta1:VirtualService", "hello", { http: [] }, "other"),
        res("kubernetes:security.istio.io/v1beta1:PeerAuthentication", "default", { mtls: { mode: "STRICT" } }),
        res("kubernetes:security.istio.io/v1beta1:AuthorizationPolicy", "hello", {
            selector: { matchLabels: { app: "hello" } },
        }),
    ],
};

test("per service: weights, header override, mirror, faults, mTLS and authorization, as last applied", () => {
    expect(statusFromDeployment(DEPLOYMENT, ["hello", "ratings", "gone"], "canary-demo")).toEqual([
        {
            service: "hello",
            weights: { v1: 75, v2: 25 },
            headerOverride: "x-canary: always",
            mirror: "v2 20%",
            fault: ["abort 503 5% (the header route)", "delay 2s 10% (every request)"],
            mtlsMode: "STRICT",
            authorization: true,
        },
        { service: "ratings", weights: { v1: 100, v2: 0 }, mtlsMode: "STRICT", authorization: false },
        { service: "gone", mtlsMode: "STRICT", authorization: false },
    ]);
});

test("printed, with the pending changes and the last promotion", () => {
    const services = statusFromDeployment(DEPLOYMENT, ["hello", "ratings"], "canary-demo");
    const lastRun = decodeLastRun(
        encodeLastRun({
            outcome: "rolled-back",
            exitCode: 2,
            weightKey: "canaryWeight",
            from: 0,
            to: 0,
            finishedAt: "2026-12-07T05:00:00.000Z",
        }),
    );
    expect(
        formatStatus({ stack: "prod", namespace: "canary-demo", services, pending: { update: 1 }, lastRun }),
    ).toEqual([
        "Stack prod (namespace canary-demo), as last applied:",
        "  hello: v1 75% / v2 25%",
        "    header override: x-canary: always",
        "    mirror: v2 20%; fault: abort 503 5% (the header route), delay 2s 10% (every request)",
        "    mTLS: STRICT; authorization: on",
        "  ratings: v1 100% / v2 0%",
        "    header override: none",
        "    mirror: none; fault: none",
        "    mTLS: STRICT; authorization: off",
        "Pending changes: 1 to update (`pulumi preview --diff --stack prod`)",
        "Last promotion: rolled-back (exit 2) at 2026-12-07T05:00:00.000Z, canaryWeight 0 -> 0",
    ]);
    expect(formatStatus({ stack: "new", services: [], pending: {} })).toEqual([
        "Stack new, as last applied:",
        "  no services: run `pulumi up --stack new` first",
        "Pending changes: none (a pulumi up would change nothing)",
        "Last promotion: none recorded (stack tag asm-canary:lastPromotion)",
    ]);
});

test("a tag that is not a record of ours reads as none", () => {
    expect(decodeLastRun(undefined)).toBeUndefined();
    expect(decodeLastRun("not json")).toBeUndefined();
    expect(decodeLastRun('{"x":1}')).toBeUndefined();
});
