/**
 * The availability check of brought-your-own Deployments (foundation/readiness/available.ts): when a
 * Deployment may take weight (kubectl's rollout rule, plus at least one available replica), which
 * Deployments are asked (only those that get weight), the wait on a fake clock, and the library's client
 * against a real local HTTPS API server (test-only certificates in ./tls) serving Deployments that are
 * available and not: the provider's `diff` (plans nothing while ready) and `runAvailability` (waits, then
 * passes or fails naming the Deployment).
 */
import * as fs from "fs";
import * as https from "https";
import type * as net from "net";
import * as path from "path";
import type * as k8s from "@kubernetes/client-node" with { "resolution-mode": "import" };
import {
    availabilityChanges,
    availabilityProvider,
    checkDeployments,
    DeploymentApi,
    deploymentProblem,
    runAvailability,
    waitForDeployments,
} from "../../../foundation/readiness/available";

const { ApiException } = require("@kubernetes/client-node") as typeof k8s;

/** A Deployment of `replicas` that has finished rolling out, all of them available. */
function rolledOut(replicas = 2): k8s.V1Deployment {
    return {
        metadata: { name: "ratings-v1", generation: 3 },
        spec: { replicas } as k8s.V1DeploymentSpec,
        status: {
            observedGeneration: 3,
            replicas,
            updatedReplicas: replicas,
            readyReplicas: replicas,
            availableReplicas: replicas,
            conditions: [
                { type: "Available", status: "True" },
                { type: "Progressing", status: "True", reason: "NewReplicaSetAvailable" },
            ],
        },
    };
}
function withStatus(status: Partial<k8s.V1DeploymentStatus>, d = rolledOut()): k8s.V1Deployment {
    return { ...d, status: { ...d.status, ...status } };
}

describe("deploymentProblem: may this Deployment take weight?", () => {
    test("rolled out and Available: yes", () => {
        expect(deploymentProblem(rolledOut())).toBeUndefined();
    });

    test.each<[string, k8s.V1Deployment, string]>([
        [
            "a new spec not yet observed",
            withStatus({ observedGeneration: 2 }),
            "its controller has not observed the latest spec yet",
        ],
        ["a rollout half-way", withStatus({ updatedReplicas: 1 }), "1 of 2 replicas updated"],
        ["old pods still terminating", withStatus({ replicas: 3 }), "1 old replicas pending termination"],
        ["updated pods not available yet", withStatus({ availableReplicas: 1 }), "1 of 2 updated replicas available"],
        [
            "a rollout past its deadline",
            withStatus({
                updatedReplicas: 1,
                conditions: [{ type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded" }],
            }),
            "1 of 2 replicas updated (its rollout exceeded its progress deadline)",
        ],
        ["scaled to 0 (rolled out, but nothing to serve)", rolledOut(0), "it has no available replica (scaled to 0?)"],
        [
            "an Available condition that is False",
            withStatus({ conditions: [{ type: "Available", status: "False" }] }),
            "its Available condition is False",
        ],
        [
            "no status at all (just created)",
            { metadata: { generation: 1 }, spec: { replicas: 1 } as k8s.V1DeploymentSpec },
            "its controller has not observed the latest spec yet",
        ],
    ])("%s: no", (_what, d, why) => {
        expect(deploymentProblem(d)).toBe(why);
    });
});

describe("checkDeployments: only the Deployments that get weight are asked", () => {
    function fakeApi(deployments: Record<string, k8s.V1Deployment>): DeploymentApi & { asked: string[] } {
        const asked: string[] = [];
        return {
            asked,
            deployment: (namespace, name) => {
                asked.push(`${namespace}/${name}`);
                const d = deployments[name];
                return d
                    ? Promise.resolve(d)
                    : Promise.reject(new ApiException(404, "not found", { message: "not found" }, {}));
            },
        };
    }

    test("canary at 0: the canary is not asked, even if it is idle", async () => {
        const api = fakeApi({ "ratings-v1": rolledOut(), "ratings-v2": rolledOut(0) });
        expect(await checkDeployments(api, "bookinfo", { "ratings-v1": 100, "ratings-v2": 0 })).toEqual([]);
        expect(api.asked).toEqual(["bookinfo/ratings-v1"]);
    });

    test("weight on a version whose Deployment is not ready, or does not exist: named, with why", async () => {
        const api = fakeApi({ "ratings-v1": rolledOut(), "ratings-v2": withStatus({ availableReplicas: 0 }) });
        expect(await checkDeployments(api, "bookinfo", { "ratings-v1": 90, "ratings-v2": 10 })).toEqual([
            "bookinfo/ratings-v2 gets 10% but 0 of 2 updated replicas available",
        ]);
        expect(await checkDeployments(api, "bookinfo", { "ratings-v1": 90, "ratings-v3": 10 })).toEqual([
            "bookinfo/ratings-v3 gets 10% but there is no such Deployment",
        ]);
    });

    test("stable at 0 (the canary holds 100): the stable Deployment is not asked", async () => {
        const api = fakeApi({ "ratings-v2": rolledOut() });
        expect(await checkDeployments(api, "bookinfo", { "ratings-v1": 0, "ratings-v2": 100 })).toEqual([]);
        expect(api.asked).toEqual(["bookinfo/ratings-v2"]);
    });
});

describe("waitForDeployments on a fake clock", () => {
    function clock() {
        let t = 0;
        return { now: () => t, sleep: (ms: number) => ((t += ms), Promise.resolve()) };
    }

    test("waits with backoff and a line per wait until the Deployments are ready", async () => {
        const answers = [["bookinfo/ratings-v2 gets 10% but 1 of 2 replicas updated"], [], []];
        const lines: string[] = [];
        await waitForDeployments({
            check: () => Promise.resolve(answers.shift()!),
            timeoutSeconds: 60,
            ...clock(),
            log: (l) => lines.push(l),
        });
        expect(lines).toEqual([
            "deployment availability: waiting (0 s of 60 s; next check in 2 s): bookinfo/ratings-v2 gets 10% but 1 of 2 replicas updated",
        ]);
        expect(answers).toHaveLength(1);
    });

    test("never ready: fails after the timeout, the route keeping its weights, with what to do", async () => {
        const lines: string[] = [];
        await expect(
            waitForDeployments({
                check: () =>
                    Promise.resolve(["bookinfo/ratings-v2 gets 10% but it has no available replica (scaled to 0?)"]),
                timeoutSeconds: 10,
                ...clock(),
                log: (l) => lines.push(l),
            }),
        ).rejects.toThrow(
            "deployment availability: not ready after 10 s, so the route keeps its old weights:\n" +
                "  - bookinfo/ratings-v2 gets 10% but it has no available replica (scaled to 0?)\n" +
                "Weight moves only onto a rolled-out, Available Deployment.",
        );
        // 2 s, 4 s, then the last wait cut to the deadline.
        expect(lines.map((l) => l.match(/next check in (\d+) s/)![1])).toEqual(["2", "4", "4"]);
    });

    test("no answer from the API server counts as not ready, with the reason", async () => {
        const lines: string[] = [];
        let calls = 0;
        await waitForDeployments({
            check: () => (calls++ === 0 ? Promise.reject(new Error("connect ECONNREFUSED")) : Promise.resolve([])),
            timeoutSeconds: 60,
            ...clock(),
            log: (l) => lines.push(l),
        });
        expect(lines).toEqual([
            "deployment availability: waiting (0 s of 60 s; next check in 2 s): no answer from the API server: connect ECONNREFUSED",
        ]);
    });
});

describe("over HTTPS, against a local API server", () => {
    const TLS = path.join(__dirname, "tls");
    const pem = (file: string) => fs.readFileSync(path.join(TLS, file), "utf8");
    let server: https.Server;
    let kubeconfig = "";
    /** The Deployments the server holds, by namespace/name. */
    const deployments = new Map<string, k8s.V1Deployment>();
    const asked: string[] = [];

    beforeAll(async () => {
        server = https.createServer({ key: pem("server.key"), cert: pem("server.crt") }, (req, res) => {
            asked.push(req.url ?? "");
            res.setHeader("Content-Type", "application/json");
            const m = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/deployments\/([^/?]+)$/.exec(req.url ?? "");
            const d = m && req.headers.authorization === "Bearer tok" ? deployments.get(`${m[1]}/${m[2]}`) : undefined;
            if (d) {
                res.end(JSON.stringify({ apiVersion: "apps/v1", kind: "Deployment", ...d }));
            } else {
                res.statusCode = 404;
                res.end(JSON.stringify({ kind: "Status", message: "not found" }));
            }
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        kubeconfig = JSON.stringify({
            apiVersion: "v1",
            kind: "Config",
            "current-context": "c",
            contexts: [{ name: "c", context: { cluster: "c", user: "u" } }],
            clusters: [
                {
                    name: "c",
                    cluster: {
                        server: `https://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
                        "certificate-authority-data": Buffer.from(pem("ca.crt")).toString("base64"),
                    },
                },
            ],
            users: [{ name: "u", user: { token: "tok" } }],
        });
    });
    afterAll(() => {
        server.closeAllConnections();
        return new Promise<void>((r) => server.close(() => r()));
    });
    beforeEach(() => {
        deployments.clear();
        asked.length = 0;
    });

    const inputs = (weights: Record<string, number>, timeoutSeconds = 5) => ({
        kubeconfig,
        namespace: "bookinfo",
        weights,
        timeoutSeconds,
    });

    test("available: diff plans nothing (the engine's `same`), runAvailability passes at once", async () => {
        deployments.set("bookinfo/ratings-v1", rolledOut());
        deployments.set("bookinfo/ratings-v2", rolledOut(1));
        const weights = { "ratings-v1": 80, "ratings-v2": 20 };
        expect(await availabilityProvider.diff("id", { namespace: "bookinfo", ready: [] }, inputs(weights))).toEqual({
            changes: false,
        });
        const lines: string[] = [];
        expect(await runAvailability(inputs(weights), (l) => lines.push(l))).toEqual({
            namespace: "bookinfo",
            ready: ["ratings-v1", "ratings-v2"],
        });
        expect(lines).toEqual([]);
        expect(asked).toContain("/apis/apps/v1/namespaces/bookinfo/deployments/ratings-v2");
    });

    test("not available: diff plans the check (an update), runAvailability fails after its timeout naming it", async () => {
        deployments.set("bookinfo/ratings-v1", rolledOut());
        deployments.set("bookinfo/ratings-v2", withStatus({ availableReplicas: 0 }, rolledOut(1)));
        const weights = { "ratings-v1": 80, "ratings-v2": 20 };
        expect(await availabilityChanges(inputs(weights))).toBe(true);
        const lines: string[] = [];
        await expect(runAvailability(inputs(weights, 1), (l) => lines.push(l))).rejects.toThrow(
            "deployment availability: not ready after 1 s, so the route keeps its old weights:\n" +
                "  - bookinfo/ratings-v2 gets 20% but 0 of 1 updated replicas available\n",
        );
        expect(lines[0]).toBe(
            "deployment availability: waiting (0 s of 1 s; next check in 1 s): bookinfo/ratings-v2 gets 20% but 0 of 1 updated replicas available",
        );
    });

    test("the same not-ready canary at weight 0: nothing to wait for", async () => {
        deployments.set("bookinfo/ratings-v1", rolledOut());
        deployments.set("bookinfo/ratings-v2", withStatus({ availableReplicas: 0 }, rolledOut(1)));
        expect(await availabilityChanges(inputs({ "ratings-v1": 100, "ratings-v2": 0 }))).toBe(false);
    });

    test("becoming available while it waits: runAvailability passes", async () => {
        deployments.set("bookinfo/ratings-v1", withStatus({ updatedReplicas: 1 }));
        setTimeout(() => deployments.set("bookinfo/ratings-v1", rolledOut()), 500);
        const lines: string[] = [];
        await runAvailability(inputs({ "ratings-v1": 100, "ratings-v2": 0 }, 10), (l) => lines.push(l));
        expect(lines).toEqual([
            "deployment availability: waiting (0 s of 10 s; next check in 2 s): bookinfo/ratings-v1 gets 100% but 1 of 2 replicas updated",
        ]);
    });

    test("a cluster that cannot be asked: diff plans the check, so the update runs and says why", async () => {
        const unreachable = kubeconfig.replace(/127\.0\.0\.1:\d+/, "127.0.0.1:1");
        expect(await availabilityChanges({ ...inputs({ "ratings-v1": 100 }), kubeconfig: unreachable })).toBe(true);
    });
});
