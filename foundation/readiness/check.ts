/**
 * The mesh readiness check: does the data-plane (ACK) cluster serve the Istio APIs the program uses, and is
 * ASM's sidecar-injector webhook registered in it? Used by the MeshReadinessGate's dynamic provider
 * (foundation/readiness/meshReadinessGate.ts), which runs in a separate Node process started by the Pulumi
 * engine from a SERIALIZED copy of `readinessProvider` below.
 *
 * That is why this module is written the way it is: every function the provider reaches is a plain
 * `function` declaration (the closure serializer copies them by source text), and modules are `require`d
 * inside the functions that use them, never captured from the top of the file (the serializer would try to
 * copy a captured module by value). `@kubernetes/client-node` and `js-yaml` must therefore be runtime
 * dependencies: the provider process resolves them from the program's node_modules. `@kubernetes/client-node`
 * is an ES module (no top-level await), which Node >= 22.12 loads with a plain `require`
 * (https://nodejs.org/api/modules.html#loading-ecmascript-modules-using-require); the type-only import below
 * is erased from the compiled code.
 *
 * The Kubernetes client (kubeconfig contexts, client certificates, tokens, exec and auth-provider credential
 * plugins, CA and TLS options, proxies) is `@kubernetes/client-node`'s `KubeConfig` and its generated API
 * clients; this module only decides what to ask and what the answers mean.
 *
 * Why a gate at all: the ASM provider waits for the mesh to be "running", not for the cluster attachment; data-plane
 * KubeAPI access needs 1-2 minutes after it is enabled
 * (https://www.alibabacloud.com/help/en/asm/sidecar/access-istio-resources-via-kubeapi-of-data-plane-cluster);
 * the Kubernetes provider retries a missing kind for about a minute and a 503 from a not-yet-serving
 * APIService not at all; and pods created before the injector webhook exists run without sidecars, which a
 * second `pulumi up` does not fix.
 */
import type * as k8s from "@kubernetes/client-node" with { "resolution-mode": "import" };
import type { IstioApi } from "../../istio/manifests";

/** The suffix of every Istio sidecar-injector webhook name (`rev.namespace.sidecar-injector.istio.io`, ...). */
const INJECTOR_SUFFIX = "sidecar-injector.istio.io";
/** Backoff between checks: 2 s, doubling, at most 30 s. */
const FIRST_DELAY_MS = 2000;
const MAX_DELAY_MS = 30000;
/** How long one HTTP request may take before it counts as "no answer". */
const REQUEST_TIMEOUT_MS = 10000;

/** The dynamic resource's inputs. Exactly one of kubeconfig and kubeconfigPath is set. */
export interface GateInputs {
    /** Kubeconfig contents (a secret in the program and in the state). */
    kubeconfig?: string;
    /** Or a kubeconfig file on the machine running `pulumi`, read when the gate runs. */
    kubeconfigPath?: string;
    /** The cluster's stable identity (ACK cluster id); "" = the kubeconfig's API server URL. */
    clusterId: string;
    /** The Istio APIs to wait for. */
    apis: IstioApi[];
    /** How long to wait before failing. */
    timeoutSeconds: number;
}

/** What the gate records once satisfied. No credentials: the kubeconfig is not among them. */
export interface GateOutputs {
    clusterId: string;
    apis: IstioApi[];
    timeoutSeconds: number;
    kubeconfigPath?: string;
    /** clusterId, or the API server URL when no id is given: what "the same cluster" means to `diff`. */
    identity: string;
    /** The injector webhooks found, as `<configuration>/<webhook>`. */
    injectorWebhooks: string[];
    /** Seconds the first satisfied check took to come. */
    waitedSeconds: number;
}

/** One thing the cluster does not have yet, and why we think so. */
export interface Missing {
    /** What is missing, e.g. "VirtualService (networking.istio.io/v1beta1)". */
    item: string;
    /** What the API server said. */
    reason: string;
    cause: "unreachable" | "auth" | "api" | "webhook";
}

/**
 * The two questions a check asks the API server, as the library's API clients ask them (`kubeApi`); tests
 * hand in their own answers here. Each rejects with the library's `ApiException` (`code`, `body`) for an
 * HTTP error status, and with any other error when there is no answer (network, TLS, timeout) or no
 * credentials (a failing exec plugin).
 */
export interface MeshApi {
    /** `GET /apis/<group>/<version>`: the resources served there. */
    apiResources(group: string, version: string): Promise<k8s.V1APIResourceList>;
    /** `GET /apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations`. */
    mutatingWebhookConfigurations(): Promise<k8s.V1MutatingWebhookConfigurationList>;
}

/**
 * A `KubeConfig` for the current context of a kubeconfig (`@kubernetes/client-node` reads it: contexts,
 * certificates, tokens, credential plugins). Relative file references are resolved against `baseDir` (the
 * kubeconfig file's directory), as kubectl does. Two gaps of the library are filled here: a kubeconfig
 * without `current-context` but with one context uses that one (kubectl's behaviour), and the user's
 * `tokenFile` (client-go's name for it, k8s.io/client-go/tools/clientcmd/api/v1/types.go) is read, where the
 * library only knows `token-file` and keeps the file's trailing newline (@kubernetes/client-node
 * dist/config_types.js, findToken).
 */
export function loadKubeconfig(text: string, baseDir: string): k8s.KubeConfig {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- see the module comment
    const { KubeConfig } = require("@kubernetes/client-node") as typeof k8s;
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- see the module comment
    const yaml = require("js-yaml") as typeof import("js-yaml");
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- see the module comment
    const fs = require("fs") as typeof import("fs");
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- see the module comment
    const path = require("path") as typeof import("path");
    let doc: unknown;
    try {
        doc = yaml.load(text);
    } catch (e) {
        throw new Error(`the kubeconfig is not valid YAML: ${(e as Error).message.split("\n")[0]}`, { cause: e });
    }
    if (!doc || typeof doc !== "object" || Array.isArray(doc)) {
        throw new Error("the kubeconfig is empty or not a YAML mapping");
    }
    const config = doc as {
        "current-context"?: string;
        contexts?: Array<{ name?: string }>;
        users?: Array<{ user?: Record<string, unknown> }>;
    };
    for (const { user } of config.users ?? []) {
        if (user && typeof user.tokenFile === "string" && user.token === undefined) {
            user.token = fs.readFileSync(path.resolve(baseDir, user.tokenFile), "utf8").trim();
        }
    }
    const kc = new KubeConfig();
    try {
        kc.loadFromString(JSON.stringify(config));
    } catch (e) {
        throw new Error(`the kubeconfig is not usable: ${(e as Error).message}`, { cause: e });
    }
    kc.makePathsAbsolute(baseDir);
    const contexts = kc.getContexts();
    if (!kc.getCurrentContext() && contexts.length === 1) {
        kc.setCurrentContext(contexts[0].name);
    }
    const contextName = kc.getCurrentContext();
    const context = kc.getContextObject(contextName);
    if (!context) {
        throw new Error(
            contextName
                ? `the kubeconfig has no context named "${contextName}"`
                : "the kubeconfig sets no current-context and has more than one context",
        );
    }
    if (!kc.getCurrentCluster()) {
        throw new Error(
            `the kubeconfig's context "${contextName}" names a cluster it does not have: "${context.cluster}"`,
        );
    }
    return kc;
}

/** The API server URL of the kubeconfig's current context (`loadKubeconfig` made sure there is one). */
function serverOf(kc: k8s.KubeConfig): string {
    return kc.getCurrentCluster()?.server ?? "";
}

/**
 * `MeshApi` through the library's generated clients for `kc`'s current context; every request is given up
 * after `timeoutMs` (an abort signal set by a request middleware). No retries of its own.
 */
export function kubeApi(kc: k8s.KubeConfig, timeoutMs: number = REQUEST_TIMEOUT_MS): MeshApi {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- see the module comment
    const lib = require("@kubernetes/client-node") as typeof k8s;
    const { CustomObjectsApi, AdmissionregistrationV1Api, Observable } = lib;
    const discovery = kc.makeApiClient(CustomObjectsApi);
    const admission = kc.makeApiClient(AdmissionregistrationV1Api);
    // The object-parameter clients take the library's observable middleware (dist/gen/types/ObjectParamAPI.d.ts).
    const timeout: k8s.ObservableMiddleware = {
        pre: (request) => {
            request.setSignal(AbortSignal.timeout(timeoutMs));
            return new Observable(Promise.resolve(request));
        },
        post: (response) => new Observable(Promise.resolve(response)),
    };
    const options: k8s.ConfigurationOptions = { middleware: [timeout], middlewareMergeStrategy: "append" };
    // The abort rejects with a bare "The operation was aborted due to timeout": say how long we waited.
    const timed = <T>(answer: Promise<T>): Promise<T> =>
        answer.catch((e: unknown) => {
            if ((e as Error | undefined)?.name === "TimeoutError") {
                throw Object.assign(new Error(`no answer within ${timeoutMs / 1000} s`), { name: "TimeoutError" });
            }
            throw e;
        });
    return {
        apiResources: (group, version) => timed(discovery.getAPIResources({ group, version }, options)),
        mutatingWebhookConfigurations: () => timed(admission.listMutatingWebhookConfiguration({}, options)),
    };
}

/** A short reason for an HTTP error status. */
function httpReason(status: number, body: unknown): string {
    let message = "";
    if (typeof body === "string") {
        try {
            const parsed = JSON.parse(body) as { message?: unknown };
            message = typeof parsed.message === "string" ? parsed.message : "";
        } catch {
            message = body.trim().split("\n")[0] ?? "";
        }
    } else if (body && typeof body === "object" && typeof (body as { message?: unknown }).message === "string") {
        message = (body as { message: string }).message;
    }
    const hint =
        status === 404
            ? "not served"
            : status === 503
              ? "registered but not serving yet"
              : status === 401
                ? "credentials refused"
                : status === 403
                  ? "forbidden"
                  : "unexpected answer";
    const detail = message.length > 160 ? `${message.slice(0, 157)}...` : message;
    return `${hint} (HTTP ${status}${detail ? `: ${detail}` : ""})`;
}

/** An HTTP error status from the API server, if `e` is one (the library's `ApiException`). */
function httpError(e: unknown): { status: number; body: unknown } | undefined {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- see the module comment
    const { ApiException } = require("@kubernetes/client-node") as typeof k8s;
    return e instanceof ApiException ? { status: e.code, body: e.body } : undefined;
}

/**
 * What a request that got no HTTP answer tells: no connection, TLS refused or no answer in time (fetch's
 * "fetch failed" with the socket's error as its cause, or the timeout's abort) is the API server not
 * answering; anything else failed before a request went out, i.e. the credentials (an exec plugin).
 */
function noAnswer(e: unknown): Missing {
    const error = e instanceof Error ? e : new Error(String(e));
    if (error.name === "TimeoutError") {
        return { item: "the API server", reason: error.message, cause: "unreachable" };
    }
    if (error instanceof TypeError && error.message === "fetch failed") {
        let inner: unknown = error;
        while (inner instanceof Error && inner.cause instanceof Error) {
            inner = inner.cause;
        }
        return { item: "the API server", reason: (inner as Error).message || error.message, cause: "unreachable" };
    }
    const message = (error.message || String(e)).trim().split("\n")[0];
    return { item: "the kubeconfig's credentials", reason: message, cause: "auth" };
}

/**
 * One check: API discovery for every group/version of `apis` must list each kind's plural, and some
 * MutatingWebhookConfiguration must have a webhook named `*.sidecar-injector.istio.io`. Returns what is
 * missing (empty: ready) and the injector webhooks found.
 */
export async function checkMesh(api: MeshApi, apis: IstioApi[]): Promise<{ missing: Missing[]; injectors: string[] }> {
    const missing: Missing[] = [];
    const groupVersions = [...new Set(apis.map((a) => `${a.group}/${a.version}`))];
    for (const gv of groupVersions) {
        const wanted = apis.filter((a) => `${a.group}/${a.version}` === gv);
        let served: string[] | undefined;
        let failed: { status: number; body: unknown } | undefined;
        try {
            served = (await api.apiResources(wanted[0].group, wanted[0].version)).resources.map((r) => r.name);
        } catch (e) {
            failed = httpError(e);
            if (!failed) {
                return { missing: [noAnswer(e)], injectors: [] };
            }
        }
        for (const a of wanted) {
            if (served?.includes(a.plural)) {
                continue;
            }
            missing.push({
                item: `${a.kind} (${gv})`,
                reason: failed
                    ? `GET /apis/${gv}: ${httpReason(failed.status, failed.body)}`
                    : `${a.plural} not listed by GET /apis/${gv}`,
                cause: failed && (failed.status === 401 || failed.status === 403) ? "auth" : "api",
            });
        }
    }
    const injectors: string[] = [];
    let failed: { status: number; body: unknown } | undefined;
    try {
        for (const cfg of (await api.mutatingWebhookConfigurations()).items) {
            for (const w of cfg.webhooks ?? []) {
                if (w.name === INJECTOR_SUFFIX || w.name.endsWith(`.${INJECTOR_SUFFIX}`)) {
                    injectors.push(`${cfg.metadata?.name ?? ""}/${w.name}`);
                }
            }
        }
    } catch (e) {
        failed = httpError(e);
        if (!failed) {
            return { missing: [noAnswer(e)], injectors: [] };
        }
    }
    if (injectors.length === 0) {
        missing.push({
            item: "the sidecar-injector webhook",
            reason: failed
                ? `GET /apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations: ${httpReason(failed.status, failed.body)}`
                : `no MutatingWebhookConfiguration has a webhook named *.${INJECTOR_SUFFIX}`,
            cause: failed && (failed.status === 401 || failed.status === 403) ? "auth" : "webhook",
        });
    }
    return { missing, injectors };
}

/** "A, B: reason; C: reason": missing items grouped by reason, in first-seen order. */
function describeMissing(missing: Missing[]): string[] {
    const byReason = new Map<string, string[]>();
    for (const m of missing) {
        byReason.set(m.reason, [...(byReason.get(m.reason) ?? []), m.item]);
    }
    return [...byReason].map(([reason, items]) => `${items.join(", ")}: ${reason}`);
}

/** The likely cause of each kind of gap, and what to do about it. */
function likelyCause(cause: Missing["cause"]): string {
    switch (cause) {
        case "unreachable":
            return (
                "the API server does not answer from this machine: check the kubeconfig's server address, that this " +
                "machine can reach it (mode=create uses the ACK cluster's public endpoint) and its certificates"
            );
        case "auth":
            return (
                "the kubeconfig's credentials are refused, cannot be obtained (its exec or auth-provider plugin fails on " +
                "this machine) or may not read API discovery and mutatingwebhookconfigurations: use an admin kubeconfig"
            );
        case "api":
            return (
                "data-plane KubeAPI access is off for this mesh, or still starting (it needs 1-2 minutes after it is " +
                "enabled): mode=create turns it on (crAggregationEnabled); for an existing mesh turn it on in the ASM " +
                "console (https://www.alibabacloud.com/help/en/asm/sidecar/access-istio-resources-via-kubeapi-of-data-plane-cluster); " +
                "istioApiVersion v1 also needs Istio >= 1.22"
            );
        case "webhook":
            return (
                "the cluster is not attached to the ASM instance, or the attachment has not finished: ASM installs the " +
                "sidecar injector when the cluster joins the mesh (ASM console: Cluster & Workload Management > " +
                "Kubernetes Clusters shows its state)"
            );
    }
}

/** The error text after the timeout: what is missing, the likely causes, what to do. */
function timeoutMessage(target: string, waitedSeconds: number, checks: number, missing: Missing[]): string {
    const causes = [...new Set(missing.map((m) => m.cause))];
    return [
        `mesh readiness gate: ${target} is not ready for the mesh layer after ${waitedSeconds} s (${checks} checks); still missing:`,
        ...describeMissing(missing).map((l) => `  - ${l}`),
        `Likely cause${causes.length > 1 ? "s" : ""}:`,
        ...causes.map((c) => `  - ${likelyCause(c)}`),
        "Nothing in the mesh layer was created. Fix the cause and run `pulumi up` again " +
            "(the config key meshReadyTimeout sets how long the gate waits, in seconds).",
    ].join("\n");
}

export interface WaitOptions {
    /** One check; resolves to what is missing (empty: ready). */
    check: () => Promise<{ missing: Missing[]; injectors: string[] }>;
    /** Who is being waited for, e.g. "cluster c123 (https://47.0.0.10:6443)". */
    target: string;
    timeoutSeconds: number;
    /** Milliseconds since some epoch. */
    now: () => number;
    sleep: (ms: number) => Promise<void>;
    /** One progress line. */
    log: (line: string) => void;
}

/**
 * Checks until the mesh is ready or the timeout has passed, with backoff (2 s, doubling, at most 30 s; the
 * last wait is cut so that the final check falls on the deadline). Logs a line before every wait. Resolves
 * with the injector webhooks found and the seconds it took; rejects with `timeoutMessage`.
 */
export async function waitForMesh(
    o: WaitOptions,
): Promise<{ injectors: string[]; waitedSeconds: number; checks: number }> {
    const start = o.now();
    const deadline = start + o.timeoutSeconds * 1000;
    let delay = FIRST_DELAY_MS;
    for (let checks = 1; ; checks++) {
        const { missing, injectors } = await o.check();
        const elapsed = Math.round((o.now() - start) / 1000);
        if (missing.length === 0) {
            if (checks > 1) {
                o.log(`mesh readiness: ${o.target} is ready after ${elapsed} s`);
            }
            return { injectors, waitedSeconds: elapsed, checks };
        }
        const left = deadline - o.now();
        if (left <= 0) {
            throw new Error(timeoutMessage(o.target, elapsed, checks, missing));
        }
        const wait = Math.min(delay, left);
        o.log(
            `mesh readiness: waiting for ${o.target} (${elapsed} s of ${o.timeoutSeconds} s; next check in ` +
                `${Math.round(wait / 1000)} s): ${describeMissing(missing).join("; ")}`,
        );
        await o.sleep(wait);
        delay = Math.min(delay * 2, MAX_DELAY_MS);
    }
}

/** The kubeconfig text and the directory its relative file references are resolved against. */
export function readKubeconfig(inputs: Pick<GateInputs, "kubeconfig" | "kubeconfigPath">): {
    text: string;
    baseDir: string;
} {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- see the module comment
    const fs = require("fs") as typeof import("fs");
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- see the module comment
    const path = require("path") as typeof import("path");
    if (inputs.kubeconfig) {
        return { text: inputs.kubeconfig, baseDir: process.cwd() };
    }
    if (!inputs.kubeconfigPath) {
        throw new Error("mesh readiness gate: neither kubeconfig nor kubeconfigPath is set");
    }
    const file = path.resolve(inputs.kubeconfigPath);
    try {
        return { text: fs.readFileSync(file, "utf8"), baseDir: path.dirname(file) };
    } catch (e) {
        throw new Error(`mesh readiness gate: cannot read the kubeconfig ${file}: ${(e as Error).message}`, {
            cause: e,
        });
    }
}

/** The cluster id, or else the kubeconfig's API server URL. */
function identityOf(inputs: GateInputs): string {
    if (inputs.clusterId) {
        return inputs.clusterId;
    }
    const { text, baseDir } = readKubeconfig(inputs);
    return serverOf(loadKubeconfig(text, baseDir));
}

/** Runs the gate for real: reads the kubeconfig, waits, returns the outputs (without credentials). */
export async function runGate(inputs: GateInputs, log: (line: string) => void): Promise<GateOutputs> {
    const { text, baseDir } = readKubeconfig(inputs);
    let kc: k8s.KubeConfig;
    try {
        kc = loadKubeconfig(text, baseDir);
    } catch (e) {
        throw new Error(`mesh readiness gate: ${(e as Error).message}`, { cause: e });
    }
    const server = serverOf(kc);
    const target = inputs.clusterId ? `cluster ${inputs.clusterId} (${server})` : `cluster ${server}`;
    const api = kubeApi(kc);
    const kinds = inputs.apis.map((a) => a.kind).join(", ");
    const version = [...new Set(inputs.apis.map((a) => a.version))].join(", ");
    log(
        `mesh readiness: checking ${target} for ${kinds} at ${version} and the sidecar-injector webhook ` +
            `(timeout ${inputs.timeoutSeconds} s)`,
    );
    const result = await waitForMesh({
        check: () => checkMesh(api, inputs.apis),
        target,
        timeoutSeconds: inputs.timeoutSeconds,
        now: () => Date.now(),
        sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
        log,
    });
    const outputs: GateOutputs = {
        clusterId: inputs.clusterId,
        apis: inputs.apis,
        timeoutSeconds: inputs.timeoutSeconds,
        identity: inputs.clusterId || server,
        injectorWebhooks: result.injectors,
        waitedSeconds: result.waitedSeconds,
    };
    if (inputs.kubeconfigPath) {
        outputs.kubeconfigPath = inputs.kubeconfigPath;
    }
    return outputs;
}

/** True when both lists name the same APIs (order does not matter). */
function sameApis(a: IstioApi[] | undefined, b: IstioApi[] | undefined): boolean {
    const key = (l: IstioApi[] | undefined) =>
        (l ?? [])
            .map((x) => `${x.group}/${x.version}/${x.plural}`)
            .sort()
            .join(",");
    return key(a) === key(b);
}

/**
 * Whether the gate must run again: only for another cluster (identity) or other APIs. A rotated kubeconfig
 * of the same cluster, or another timeout, changes nothing, so later `up`s cost nothing. An identity that
 * cannot be computed (unreadable kubeconfig) counts as a change, so the update reports the problem.
 */
export function gateChanges(olds: GateOutputs, news: GateInputs): string[] {
    const changed: string[] = [];
    if (!sameApis(olds.apis, news.apis)) {
        changed.push("apis");
    }
    let identity: string;
    try {
        identity = identityOf(news);
    } catch {
        identity = "";
    }
    if (identity !== olds.identity) {
        changed.push(
            news.clusterId || olds.clusterId ? "clusterId" : news.kubeconfigPath ? "kubeconfigPath" : "kubeconfig",
        );
    }
    return changed;
}

/** Progress lines go to stderr: the engine shows a dynamic provider's stderr during `pulumi up`. */
export function progressLine(line: string): void {
    process.stderr.write(`${line}\n`);
}

/** The dynamic provider. Serialized into the state with each gate; see the module comment. */
export const readinessProvider = {
    async create(inputs: GateInputs): Promise<{ id: string; outs: GateOutputs }> {
        const outs = await runGate(inputs, progressLine);
        return { id: outs.identity, outs };
    },
    // eslint-disable-next-line @typescript-eslint/require-await -- the provider interface is async
    async diff(_id: string, olds: GateOutputs, news: GateInputs): Promise<{ changes: boolean }> {
        return { changes: gateChanges(olds, news).length > 0 };
    },
    async update(_id: string, _olds: GateOutputs, news: GateInputs): Promise<{ outs: GateOutputs }> {
        return { outs: await runGate(news, progressLine) };
    },
    // A refresh does not re-check the cluster (it must not fail or wait): the recorded state stands.
    // eslint-disable-next-line @typescript-eslint/require-await -- the provider interface is async
    async read(id: string, props: GateOutputs): Promise<{ id: string; props: GateOutputs }> {
        return { id, props };
    },
    // Nothing exists outside the state, so delete is a no-op (no method needed).
};
