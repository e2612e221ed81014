/**
 * The mesh readiness check: does the data-plane (ACK) cluster serve the Istio APIs the program uses, and is
 * ASM's sidecar-injector webhook registered in it? Used by the MeshReadinessGate's dynamic provider
 * (foundation/readiness/meshReadinessGate.ts), which runs in a separate Node process started by the Pulumi
 * engine from a SERIALIZED copy of `readinessProvider` below.
 *
 * That is why this module is written the way it is: every function the provider reaches is a plain
 * `function` declaration (the closure serializer copies them by source text), and modules are `require`d
 * inside the functions that use them, never captured from the top of the file (the serializer would try to
 * copy a captured module by value). `js-yaml` must therefore be a runtime dependency: the provider process
 * resolves it from the program's node_modules.
 *
 * Why a gate at all: the ASM provider waits for the mesh to be "running", not for the cluster attachment; data-plane
 * KubeAPI access needs 1-2 minutes after it is enabled
 * (https://www.alibabacloud.com/help/en/asm/sidecar/access-istio-resources-via-kubeapi-of-data-plane-cluster);
 * the Kubernetes provider retries a missing kind for about a minute and a 503 from a not-yet-serving
 * APIService not at all; and pods created before the injector webhook exists run without sidecars, which a
 * second `pulumi up` does not fix.
 */
import type * as http from "http";
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

/** An HTTP GET against the API server: status and body, or a rejection for a network/TLS failure. */
export type Getter = (path: string) => Promise<{ status: number; body: string }>;

/** Where and how to reach the API server, from a kubeconfig. */
export interface KubeAccess {
    server: string;
    ca?: Buffer;
    cert?: Buffer;
    key?: Buffer;
    token?: string;
    basic?: { username: string; password: string };
    insecure: boolean;
    tlsServerName?: string;
}

interface KubeconfigDoc {
    "current-context"?: string;
    contexts?: Array<{ name: string; context?: { cluster?: string; user?: string } }>;
    clusters?: Array<{ name: string; cluster?: Record<string, unknown> }>;
    users?: Array<{ name: string; user?: Record<string, unknown> }>;
}

/**
 * Reads the current context of a kubeconfig: server, CA, and client certificate or token. Relative file
 * references are resolved against `baseDir` (the kubeconfig file's directory), as kubectl does. Exec and
 * auth-provider credential plugins are not run: such a kubeconfig is refused with a message.
 */
export function kubeAccess(text: string, baseDir: string): KubeAccess {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- see the module comment
    const yaml = require("js-yaml") as typeof import("js-yaml");
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- see the module comment
    const fs = require("fs") as typeof import("fs");
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- see the module comment
    const path = require("path") as typeof import("path");
    let doc: KubeconfigDoc;
    try {
        doc = yaml.load(text) as KubeconfigDoc;
    } catch (e) {
        throw new Error(`the kubeconfig is not valid YAML: ${(e as Error).message.split("\n")[0]}`, { cause: e });
    }
    if (!doc || typeof doc !== "object") {
        throw new Error("the kubeconfig is empty or not a YAML mapping");
    }
    const contexts = doc.contexts ?? [];
    const contextName = doc["current-context"] || (contexts.length === 1 ? contexts[0].name : "");
    const context = contexts.find((c) => c.name === contextName)?.context;
    if (!context) {
        throw new Error(
            contextName
                ? `the kubeconfig has no context named "${contextName}"`
                : "the kubeconfig sets no current-context and has more than one context",
        );
    }
    const cluster = (doc.clusters ?? []).find((c) => c.name === context.cluster)?.cluster;
    if (!cluster || typeof cluster.server !== "string") {
        throw new Error(`the kubeconfig's cluster "${context.cluster ?? ""}" has no server`);
    }
    const user = (doc.users ?? []).find((u) => u.name === context.user)?.user ?? {};
    const str = (o: Record<string, unknown>, k: string) => (typeof o[k] === "string" ? o[k] : undefined);
    const bytes = (o: Record<string, unknown>, dataKey: string, fileKey: string): Buffer | undefined => {
        const data = str(o, dataKey);
        if (data) {
            return Buffer.from(data, "base64");
        }
        const file = str(o, fileKey);
        return file ? fs.readFileSync(path.resolve(baseDir, file)) : undefined;
    };
    const tokenFile = str(user, "tokenFile");
    const access: KubeAccess = {
        server: cluster.server,
        ca: bytes(cluster, "certificate-authority-data", "certificate-authority"),
        cert: bytes(user, "client-certificate-data", "client-certificate"),
        key: bytes(user, "client-key-data", "client-key"),
        token:
            str(user, "token") ??
            (tokenFile ? fs.readFileSync(path.resolve(baseDir, tokenFile), "utf8").trim() : undefined),
        insecure: cluster["insecure-skip-tls-verify"] === true,
        tlsServerName: str(cluster, "tls-server-name"),
    };
    const username = str(user, "username");
    if (username !== undefined) {
        access.basic = { username, password: str(user, "password") ?? "" };
    }
    if (!access.cert && !access.token && !access.basic && (user.exec || user["auth-provider"])) {
        throw new Error(
            `the kubeconfig's user "${context.user ?? ""}" gets its credentials from an exec or auth-provider plugin, ` +
                "which the mesh readiness gate does not run: use a kubeconfig with a client certificate or a token " +
                "(ACK's admin kubeconfig has one), or set meshReadyTimeout to 0 to skip the gate",
        );
    }
    return access;
}

/** An HTTPS (or HTTP) GET client for the API server described by `access`; no retries of its own. */
export function kubeGetter(access: KubeAccess, timeoutMs: number = REQUEST_TIMEOUT_MS): Getter {
    const url = new URL(access.server);
    const lib = (
        url.protocol === "http:"
            ? // eslint-disable-next-line @typescript-eslint/no-require-imports -- see the module comment
              require("http")
            : // eslint-disable-next-line @typescript-eslint/no-require-imports -- see the module comment
              require("https")
    ) as typeof import("https");
    const base = url.pathname.replace(/\/+$/, "");
    const headers: Record<string, string> = { Accept: "application/json" };
    if (access.token) {
        headers.Authorization = `Bearer ${access.token}`;
    } else if (access.basic) {
        headers.Authorization = `Basic ${Buffer.from(`${access.basic.username}:${access.basic.password}`).toString("base64")}`;
    }
    return (p) =>
        new Promise((resolve, reject) => {
            const req = lib.request(
                {
                    protocol: url.protocol,
                    hostname: url.hostname.replace(/^\[(.*)\]$/, "$1"),
                    port: url.port || undefined,
                    path: base + p,
                    method: "GET",
                    headers,
                    ca: access.ca,
                    cert: access.cert,
                    key: access.key,
                    rejectUnauthorized: !access.insecure,
                    servername: access.tlsServerName,
                    agent: false,
                    timeout: timeoutMs,
                },
                (res: http.IncomingMessage) => {
                    const chunks: Buffer[] = [];
                    res.on("data", (c: Buffer) => chunks.push(c));
                    res.on("end", () =>
                        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
                    );
                    res.on("error", reject);
                },
            );
            req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
            req.on("error", reject);
            req.end();
        });
}

/** A short reason for a non-200 answer. */
function httpReason(status: number, body: string): string {
    let message: string;
    try {
        const parsed = JSON.parse(body) as { message?: unknown };
        message = typeof parsed.message === "string" ? parsed.message : "";
    } catch {
        message = body.trim().split("\n")[0] ?? "";
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

/**
 * One check: API discovery for every group/version of `apis` must list each kind's plural, and some
 * MutatingWebhookConfiguration must have a webhook named `*.sidecar-injector.istio.io`. Returns what is
 * missing (empty: ready) and the injector webhooks found.
 */
export async function checkMesh(get: Getter, apis: IstioApi[]): Promise<{ missing: Missing[]; injectors: string[] }> {
    const missing: Missing[] = [];
    const unreachable = (e: unknown): { missing: Missing[]; injectors: string[] } => ({
        missing: [{ item: "the API server", reason: (e as Error).message || String(e), cause: "unreachable" }],
        injectors: [],
    });
    const groupVersions = [...new Set(apis.map((a) => `${a.group}/${a.version}`))];
    for (const gv of groupVersions) {
        const wanted = apis.filter((a) => `${a.group}/${a.version}` === gv);
        let res: { status: number; body: string };
        try {
            res = await get(`/apis/${gv}`);
        } catch (e) {
            return unreachable(e);
        }
        const auth = res.status === 401 || res.status === 403;
        let served: string[] = [];
        if (res.status === 200) {
            try {
                const list = JSON.parse(res.body) as { resources?: Array<{ name?: string }> };
                served = (list.resources ?? []).map((r) => r.name ?? "");
            } catch {
                served = [];
            }
        }
        for (const api of wanted) {
            if (res.status === 200 && served.includes(api.plural)) {
                continue;
            }
            missing.push({
                item: `${api.kind} (${gv})`,
                reason:
                    res.status === 200
                        ? `${api.plural} not listed by GET /apis/${gv}`
                        : `GET /apis/${gv}: ${httpReason(res.status, res.body)}`,
                cause: auth ? "auth" : "api",
            });
        }
    }
    const webhooksPath = "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations";
    let res: { status: number; body: string };
    try {
        res = await get(webhooksPath);
    } catch (e) {
        return unreachable(e);
    }
    const injectors: string[] = [];
    if (res.status === 200) {
        try {
            const list = JSON.parse(res.body) as {
                items?: Array<{ metadata?: { name?: string }; webhooks?: Array<{ name?: string }> }>;
            };
            for (const cfg of list.items ?? []) {
                for (const w of cfg.webhooks ?? []) {
                    const name = w.name ?? "";
                    if (name === INJECTOR_SUFFIX || name.endsWith(`.${INJECTOR_SUFFIX}`)) {
                        injectors.push(`${cfg.metadata?.name ?? ""}/${name}`);
                    }
                }
            }
        } catch {
            // An unparsable list counts as "no injector" below.
        }
    }
    if (injectors.length === 0) {
        missing.push({
            item: "the sidecar-injector webhook",
            reason:
                res.status === 200
                    ? `no MutatingWebhookConfiguration has a webhook named *.${INJECTOR_SUFFIX}`
                    : `GET ${webhooksPath}: ${httpReason(res.status, res.body)}`,
            cause: res.status === 401 || res.status === 403 ? "auth" : "webhook",
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
            return "the kubeconfig's credentials are refused or may not read API discovery and mutatingwebhookconfigurations: use an admin kubeconfig";
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
function readKubeconfig(inputs: GateInputs): { text: string; baseDir: string } {
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
    return kubeAccess(text, baseDir).server;
}

/** Runs the gate for real: reads the kubeconfig, waits, returns the outputs (without credentials). */
export async function runGate(inputs: GateInputs, log: (line: string) => void): Promise<GateOutputs> {
    const { text, baseDir } = readKubeconfig(inputs);
    let access: KubeAccess;
    try {
        access = kubeAccess(text, baseDir);
    } catch (e) {
        throw new Error(`mesh readiness gate: ${(e as Error).message}`, { cause: e });
    }
    const target = inputs.clusterId ? `cluster ${inputs.clusterId} (${access.server})` : `cluster ${access.server}`;
    const get = kubeGetter(access);
    const kinds = inputs.apis.map((a) => a.kind).join(", ");
    const version = [...new Set(inputs.apis.map((a) => a.version))].join(", ");
    log(
        `mesh readiness: checking ${target} for ${kinds} at ${version} and the sidecar-injector webhook ` +
            `(timeout ${inputs.timeoutSeconds} s)`,
    );
    const result = await waitForMesh({
        check: () => checkMesh(get, inputs.apis),
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
        identity: inputs.clusterId || access.server,
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
function progressLine(line: string): void {
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
