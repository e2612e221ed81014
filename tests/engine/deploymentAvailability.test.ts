/**
 * The real engine on a brought-your-own service (fixtures/deploymentAvailability.ts: ExistingWorkloads and
 * its CanaryRouting, Kubernetes objects rendered to files) with its availability check asking a local HTTPS
 * API server (test-only certificates, tests/foundation/readiness/tls) for the user's Deployments:
 * - both Deployments Available: a weight change plans exactly one object, the VirtualService (the check's
 *   diff answers "no change", so the engine plans `same` for it);
 * - the canary's Deployment not Available: the plan shows the check next to the route; `up` waits, and
 *   writes the new weight only once the Deployment has become Available;
 * - still not Available after the check's timeout: `up` fails naming the Deployment, and the route keeps
 *   its old weight.
 */
import * as fs from "fs";
import * as https from "https";
import type * as net from "net";
import * as path from "path";
import * as yaml from "js-yaml";
import { Stack } from "@pulumi/pulumi/automation";
import { copyProgram, plan } from "../support/engine";
import { tokenKubeconfig } from "../support/localKubeconfig";

const TLS = path.join(__dirname, "..", "foundation", "readiness", "tls");
const pem = (file: string) => fs.readFileSync(path.join(TLS, file), "utf8");

let work: string;
let stack: Stack;
let server: https.Server;
/** availableReplicas of each Deployment in namespace bookinfo (2 replicas each). */
const available: Record<string, number> = { "ratings-v1": 2, "ratings-v2": 2 };
/** Paths the API server was asked for. */
const asked: string[] = [];
/** When set: the answer that makes ratings-v2 Available, counted down per request for it. */
let availableAfter: { asks: number; at: number } | undefined;

function deployment(name: string) {
    const n = available[name];
    return {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name, namespace: "bookinfo", generation: 1 },
        spec: { replicas: 2 },
        status: {
            observedGeneration: 1,
            replicas: 2,
            updatedReplicas: 2,
            availableReplicas: n,
            conditions: [{ type: "Available", status: n === 2 ? "True" : "False" }],
        },
    };
}

beforeAll(async () => {
    server = https.createServer({ key: pem("server.key"), cert: pem("server.crt") }, (req, res) => {
        asked.push(req.url ?? "");
        res.setHeader("Content-Type", "application/json");
        const m = /^\/apis\/apps\/v1\/namespaces\/bookinfo\/deployments\/([^/?]+)$/.exec(req.url ?? "");
        if (m?.[1] === "ratings-v2" && availableAfter && --availableAfter.asks === 0) {
            available["ratings-v2"] = 2;
            availableAfter.at = Date.now();
        }
        if (m && m[1] in available) {
            res.end(JSON.stringify(deployment(m[1])));
        } else {
            res.statusCode = 404;
            res.end(JSON.stringify({ kind: "Status", message: "not found" }));
        }
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    ({ work, stack } = await copyProgram("asm-canary-byo-", "byo", "byo", { canaryWeight: "10" }));
    fs.writeFileSync(path.join(work, "index.ts"), 'import "./tests/engine/fixtures/deploymentAvailability";\n');
    fs.writeFileSync(
        path.join(work, "gate.kubeconfig"),
        tokenKubeconfig(`https://127.0.0.1:${(server.address() as net.AddressInfo).port}`, pem("ca.crt")),
    );
}, 30 * 60_000);

afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    if (work) {
        fs.rmSync(work, { recursive: true, force: true });
    }
});

/** The rendered VirtualService's weights, and when its file was last written. */
function renderedRoute(): { weights: Record<string, number>; written: number } {
    const dir = path.join(work, "rendered");
    for (const file of fs.readdirSync(dir, { recursive: true, encoding: "utf8" })) {
        const full = path.join(dir, file);
        if (!/\.ya?ml$/.test(file)) {
            continue;
        }
        for (const doc of yaml.loadAll(fs.readFileSync(full, "utf8")) as any[]) {
            if (doc?.kind === "VirtualService" && doc.metadata.namespace === "bookinfo") {
                const route = doc.spec.http.at(-1).route as { destination: { subset: string }; weight: number }[];
                return {
                    weights: Object.fromEntries(route.map((r) => [r.destination.subset, r.weight])),
                    written: fs.statSync(full).mtimeMs,
                };
            }
        }
    }
    throw new Error(`no VirtualService bookinfo/ratings rendered in ${dir}`);
}

const VS = { name: "route-ratings-vs", type: "kubernetes:networking.istio.io/v1beta1:VirtualService" };
const CHECK = { name: "existing-ratings-available", type: "pulumi-nodejs:dynamic:DeploymentAvailability" };

test("first up: the check asks for both Deployments (both get weight), the route is written", async () => {
    const up = await stack.up();
    expect(up.summary.result).toBe("succeeded");
    expect([...new Set(asked)].sort()).toEqual([
        "/apis/apps/v1/namespaces/bookinfo/deployments/ratings-v1",
        "/apis/apps/v1/namespaces/bookinfo/deployments/ratings-v2",
    ]);
    expect(renderedRoute().weights).toEqual({ v1: 90, v2: 10 });
}, 300_000);

test("both Available: a weight change plans exactly one object, the VirtualService", async () => {
    await stack.setConfig("canaryWeight", { value: "20" });
    expect(await plan(stack)).toEqual({ counts: { update: 1 }, changed: [{ op: "update", ...VS }] });
    await stack.up();
    expect(renderedRoute().weights).toEqual({ v1: 80, v2: 20 });
}, 300_000);

test("the canary not Available: the plan shows the check; up waits and moves the weight only once it is", async () => {
    available["ratings-v2"] = 0;
    await stack.setConfig("canaryWeight", { value: "30" });
    const planned = await plan(stack);
    expect(planned.changed).toEqual([
        { op: "update", ...CHECK },
        { op: "update", ...VS },
    ]);
    // The third question during `up` is answered Available: the diff's (not Available, so the check runs),
    // the update's first check (not Available: it waits), its second check.
    availableAfter = { asks: 3, at: 0 };
    const up = await stack.up();
    expect(up.summary.result).toBe("succeeded");
    expect(up.stdout).toContain(
        "deployment availability: waiting (0 s of 3 s; next check in 2 s): bookinfo/ratings-v2 gets 30% but 0 of 2 updated replicas available",
    );
    const becameAvailable = availableAfter.at;
    availableAfter = undefined;
    const route = renderedRoute();
    expect(route.weights).toEqual({ v1: 70, v2: 30 });
    expect(becameAvailable).toBeGreaterThan(0);
    expect(route.written).toBeGreaterThanOrEqual(becameAvailable);
}, 300_000);

test("still not Available after the check's timeout: up fails naming it, the route keeps its weight", async () => {
    available["ratings-v2"] = 1;
    await stack.setConfig("canaryWeight", { value: "40" });
    const before = renderedRoute();
    await expect(stack.up()).rejects.toThrow(
        /deployment availability: not ready after \d s, so the route keeps its old weights:\s+- bookinfo\/ratings-v2 gets 40% but 1 of 2 updated replicas available/,
    );
    expect(renderedRoute()).toEqual(before);
    // The canary back at 0: nothing to wait for, the weight goes back to stable.
    await stack.setConfig("canaryWeight", { value: "0" });
    expect((await stack.up()).summary.result).toBe("succeeded");
    expect(renderedRoute().weights).toEqual({ v1: 100, v2: 0 });
    await stack.destroy();
}, 300_000);
