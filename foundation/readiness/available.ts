/**
 * The availability check of Deployments the program does not own (a brought-your-own service, config
 * `services[].existing`): the route of such a service must never send weight to a version whose Deployment
 * is not rolled out and Available, as the Kubernetes provider guarantees for the program's own Deployments
 * (it waits for a created or updated Deployment to be Available before the VirtualService that depends on it).
 *
 * Why a dynamic resource whose DIFF asks the cluster (and not a read, `k8s.apps.v1.Deployment.get`, checked
 * before the VirtualService is declared):
 * - a weight change must change exactly one object in the plan, the VirtualService (promote's plan check).
 *   This resource's inputs carry the weights (which Deployments must be ready), but its `diff` answers "no
 *   change" when every Deployment that gets weight is ready, so the engine plans a `same` step (inputs
 *   recorded, nothing run) and the plan still shows the VirtualService alone. When one is not ready, `diff`
 *   says so: the plan shows this check as an update next to the route (visible in `pulumi preview`), and
 *   the update WAITS (backoff, progress lines, a timeout) the way the provider waits for its own Deployments,
 *   so a rollout by Helm or Argo CD that is still running delays the weight instead of failing the run;
 * - the VirtualService depends on it (mesh/canaryRouting.ts), so within one `pulumi up` the weight moves only
 *   after the check has passed;
 * - a read would register the user's Deployment in the state and would fail the render stack, which has no
 *   cluster; this resource exists only where the program reaches a cluster (not when rendering YAML).
 *
 * Written under the same rules as check.ts (a serialized dynamic provider: plain function declarations,
 * modules required inside the functions that use them).
 */
import type * as k8s from "@kubernetes/client-node" with { "resolution-mode": "import" };
import { loadKubeconfig, progressLine, readKubeconfig } from "./check";

/** How long the check waits for the Deployments: the Kubernetes provider's own default for a Deployment (10 minutes). */
export const AVAILABILITY_TIMEOUT_SECONDS = 600;
const FIRST_DELAY_MS = 2000;
const MAX_DELAY_MS = 15000;
const REQUEST_TIMEOUT_MS = 10000;

/** The dynamic resource's inputs. Exactly one of kubeconfig and kubeconfigPath is set. */
export interface AvailabilityInputs {
    kubeconfig?: string;
    kubeconfigPath?: string;
    /** The namespace of the Deployments. */
    namespace: string;
    /** Deployment name -> the weight its version gets; those with weight > 0 must be ready. */
    weights: Record<string, number>;
    timeoutSeconds: number;
}

/** What the check records: the Deployments it found ready (no credentials). */
export interface AvailabilityOutputs {
    namespace: string;
    ready: string[];
}

/** The one question the check asks: `GET /apis/apps/v1/namespaces/<ns>/deployments/<name>`. */
export interface DeploymentApi {
    deployment(namespace: string, name: string): Promise<k8s.V1Deployment>;
}

/**
 * Why a Deployment cannot take weight yet, or undefined when it can. The rollout rule is `kubectl rollout
 * status`'s (kubernetes/kubectl pkg/polymorphichelpers/rollout_status.go, DeploymentStatusViewer.Status): the
 * controller has observed the latest spec, every replica is updated, no old replica is left, every updated
 * replica is available. On top of it, at least one replica must be available (a Deployment scaled to 0
 * counts as rolled out, but weight on it is a 503 for that share) and its Available condition must be True.
 */
export function deploymentProblem(d: k8s.V1Deployment): string | undefined {
    const status = d.status ?? {};
    const wanted = d.spec?.replicas ?? 1;
    if ((d.metadata?.generation ?? 0) > (status.observedGeneration ?? 0)) {
        return "its controller has not observed the latest spec yet";
    }
    const progressing = (status.conditions ?? []).find((c) => c.type === "Progressing");
    const stuck =
        progressing?.reason === "ProgressDeadlineExceeded" ? " (its rollout exceeded its progress deadline)" : "";
    const updated = status.updatedReplicas ?? 0;
    const available = status.availableReplicas ?? 0;
    if (updated < wanted) {
        return `${updated} of ${wanted} replicas updated${stuck}`;
    }
    if ((status.replicas ?? 0) > updated) {
        return `${(status.replicas ?? 0) - updated} old replicas pending termination${stuck}`;
    }
    if (available < updated) {
        return `${available} of ${updated} updated replicas available${stuck}`;
    }
    if (available === 0) {
        return "it has no available replica (scaled to 0?)";
    }
    const condition = (status.conditions ?? []).find((c) => c.type === "Available");
    if (condition?.status !== "True") {
        return `its Available condition is ${condition?.status ?? "missing"}`;
    }
    return undefined;
}

/** The Deployments that get weight, in a stable order. */
function weighted(weights: Record<string, number>): string[] {
    return Object.keys(weights)
        .filter((name) => (weights[name] ?? 0) > 0)
        .sort();
}

/**
 * One check: each Deployment with weight > 0 is read; returns "<namespace>/<name>: <why>" for each that
 * cannot take weight (empty: all ready). A missing Deployment is a problem; a request without an answer
 * rejects (the caller decides).
 */
export async function checkDeployments(
    api: DeploymentApi,
    namespace: string,
    weights: Record<string, number>,
): Promise<string[]> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- see the module comment
    const { ApiException } = require("@kubernetes/client-node") as typeof k8s;
    const problems: string[] = [];
    for (const name of weighted(weights)) {
        try {
            const why = deploymentProblem(await api.deployment(namespace, name));
            if (why) {
                problems.push(`${namespace}/${name} gets ${weights[name]}% but ${why}`);
            }
        } catch (e) {
            if (e instanceof ApiException && e.code === 404) {
                problems.push(`${namespace}/${name} gets ${weights[name]}% but there is no such Deployment`);
            } else if (e instanceof ApiException) {
                problems.push(`${namespace}/${name}: the API server answered HTTP ${e.code}`);
            } else {
                throw e;
            }
        }
    }
    return problems;
}

/** `DeploymentApi` through the library's AppsV1Api for `kc`'s current context, each request cut after `timeoutMs`. */
export function deploymentApi(kc: k8s.KubeConfig, timeoutMs: number = REQUEST_TIMEOUT_MS): DeploymentApi {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- see the module comment
    const { AppsV1Api, Observable } = require("@kubernetes/client-node") as typeof k8s;
    const apps = kc.makeApiClient(AppsV1Api);
    const timeout: k8s.ObservableMiddleware = {
        pre: (request) => {
            request.setSignal(AbortSignal.timeout(timeoutMs));
            return new Observable(Promise.resolve(request));
        },
        post: (response) => new Observable(Promise.resolve(response)),
    };
    const options: k8s.ConfigurationOptions = { middleware: [timeout], middlewareMergeStrategy: "append" };
    return { deployment: (namespace, name) => apps.readNamespacedDeployment({ namespace, name }, options) };
}

export interface AvailabilityWait {
    check: () => Promise<string[]>;
    timeoutSeconds: number;
    now: () => number;
    sleep: (ms: number) => Promise<void>;
    log: (line: string) => void;
}

/**
 * Checks until nothing is left or the timeout has passed (backoff 2 s, doubling, at most 15 s); a line
 * before every wait. A request without an answer counts as "not ready yet" (the reason is shown). Rejects
 * with what is still not ready and what to do.
 */
export async function waitForDeployments(o: AvailabilityWait): Promise<void> {
    const start = o.now();
    const deadline = start + o.timeoutSeconds * 1000;
    let delay = FIRST_DELAY_MS;
    for (;;) {
        let problems: string[];
        try {
            problems = await o.check();
        } catch (e) {
            problems = [`no answer from the API server: ${(e as Error).message}`];
        }
        const elapsed = Math.round((o.now() - start) / 1000);
        if (problems.length === 0) {
            return;
        }
        const left = deadline - o.now();
        if (left <= 0) {
            throw new Error(
                [
                    `deployment availability: not ready after ${elapsed} s, so the route keeps its old weights:`,
                    ...problems.map((p) => `  - ${p}`),
                    "Weight moves only onto a rolled-out, Available Deployment. Finish or fix its rollout (kubectl -n " +
                        "<namespace> rollout status deployment/<name>), or set this version's weight to 0, and run " +
                        "`pulumi up` again.",
                ].join("\n"),
            );
        }
        const wait = Math.min(delay, left);
        o.log(
            `deployment availability: waiting (${elapsed} s of ${o.timeoutSeconds} s; next check in ` +
                `${Math.round(wait / 1000)} s): ${problems.join("; ")}`,
        );
        await o.sleep(wait);
        delay = Math.min(delay * 2, MAX_DELAY_MS);
    }
}

/** The API client for the inputs' kubeconfig. */
function apiFor(inputs: AvailabilityInputs): DeploymentApi {
    const { text, baseDir } = readKubeconfig({ kubeconfig: inputs.kubeconfig, kubeconfigPath: inputs.kubeconfigPath });
    return deploymentApi(loadKubeconfig(text, baseDir));
}

/** Waits for the Deployments that get weight; returns what the check records. */
export async function runAvailability(
    inputs: AvailabilityInputs,
    log: (line: string) => void,
): Promise<AvailabilityOutputs> {
    const api = apiFor(inputs);
    await waitForDeployments({
        check: () => checkDeployments(api, inputs.namespace, inputs.weights),
        timeoutSeconds: inputs.timeoutSeconds,
        now: () => Date.now(),
        sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
        log,
    });
    return { namespace: inputs.namespace, ready: weighted(inputs.weights) };
}

/**
 * Whether the check must run: true when any Deployment that gets weight is not ready now, or the cluster
 * cannot be asked (then the update waits and reports why). False plans a `same` step: see the module comment.
 */
export async function availabilityChanges(inputs: AvailabilityInputs): Promise<boolean> {
    try {
        return (await checkDeployments(apiFor(inputs), inputs.namespace, inputs.weights)).length > 0;
    } catch {
        return true;
    }
}

/** The dynamic provider. Serialized into the state with each check; see the module comment. */
export const availabilityProvider = {
    async create(inputs: AvailabilityInputs): Promise<{ id: string; outs: AvailabilityOutputs }> {
        const outs = await runAvailability(inputs, progressLine);
        return { id: `${inputs.namespace}/${Object.keys(inputs.weights).sort().join(",")}`, outs };
    },
    async diff(_id: string, _olds: AvailabilityOutputs, news: AvailabilityInputs): Promise<{ changes: boolean }> {
        return { changes: await availabilityChanges(news) };
    },
    async update(
        _id: string,
        _olds: AvailabilityOutputs,
        news: AvailabilityInputs,
    ): Promise<{ outs: AvailabilityOutputs }> {
        return { outs: await runAvailability(news, progressLine) };
    },
    // A refresh does not wait: the recorded state stands.
    // eslint-disable-next-line @typescript-eslint/require-await -- the provider interface is async
    async read(id: string, props: AvailabilityOutputs): Promise<{ id: string; props: AvailabilityOutputs }> {
        return { id, props };
    },
    // Nothing exists outside the state (the Deployments are the user's): delete is a no-op.
};
