/**
 * Stack configuration: every key the program reads, parsed and validated in one place, before any
 * resource is declared. Pulumi.yaml declares the same keys (type, default, description) for the CLI;
 * tests/program/pulumiYaml.test.ts keeps the two in step. Ranges, enums and cross-key rules live here, because a
 * Pulumi.yaml schema cannot express them.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { durationProblem, namespaceProblem, retryOnProblem } from "../istio/validation";
import * as cidr from "./cidr";
import type { RoutingPolicy } from "./routing";
import { ISTIO_API_VERSIONS, MTLS_MODES } from "../istio/manifests";
import {
    CLUSTER_SPECS,
    DISK_CATEGORIES,
    MAX_NODE_VSWITCHES,
    MESH_CLUSTER_SPECS,
    MESH_EDITIONS,
    MODES,
    NETWORK_PLUGINS,
    PROJECT,
    PROXY_MODES,
} from "./constants";
import { FAULT_SCOPES, faultOf, OUTBOUND_TRAFFIC_POLICIES } from "./features";
import { defaultPromotion, parsePromotion } from "./promotion";
import { parseServices, ServiceSpec } from "./services";

// ---------------------------------------------------------------------------------------------------
// Field parsers. Stack config reaches the program as strings (arrays as JSON text), whatever the YAML
// type, so each parser takes `string | undefined` and yields the typed value or its default.
// ---------------------------------------------------------------------------------------------------

type Field<T> = z.ZodType<T, string | undefined>;

/** What a field parser returns for a bad value: the reason, phrased as "must be …". */
class Invalid {
    constructor(readonly message: string) {}
}

/** Bad values of a structured key: each problem already names its key path and value. */
class InvalidParts {
    constructor(readonly problems: string[]) {}
}

/** A config field: unset gives `def`; otherwise `parse` returns the typed value or an Invalid. */
function field<T>(def: T, parse: (raw: string) => T | Invalid | InvalidParts): Field<T> {
    return z
        .string()
        .optional()
        .transform((raw, ctx) => {
            const value = raw === undefined ? def : parse(raw);
            if (value instanceof Invalid) {
                ctx.addIssue({ code: "custom", message: value.message });
                return z.NEVER;
            }
            if (value instanceof InvalidParts) {
                for (const message of value.problems) {
                    ctx.addIssue({ code: "custom", message, params: { verbatim: true } });
                }
                return z.NEVER;
            }
            return value;
        });
}

function text(def: string, pattern?: RegExp, allowed?: string): Field<string> {
    return field(def, (raw) =>
        !pattern || pattern.test(raw) ? raw : new Invalid(`must be ${allowed ?? `a string matching ${pattern}`}`),
    );
}

/** One of `values`; `why` (optional) explains a refused value the provider itself would accept. */
function oneOf<const T extends readonly string[]>(values: T, def: T[number], why?: string): Field<T[number]> {
    return field<T[number]>(def, (raw) =>
        (values as readonly string[]).includes(raw)
            ? raw
            : new Invalid(
                  `must be ${values.length === 1 ? values[0] : `one of ${values.join(", ")}`}${why ? `: ${why}` : ""}`,
              ),
    );
}

function integer(min: number, max: number, def: number): Field<number> {
    return field(def, (raw) => {
        const n = Number(raw);
        return /^-?\d+$/.test(raw.trim()) && n >= min && n <= max
            ? n
            : new Invalid(`must be a whole number from ${min} to ${max}`);
    });
}

function bool(def: boolean): Field<boolean> {
    return field(def, (raw) =>
        raw === "true" || raw === "false" ? raw === "true" : new Invalid("must be true or false"),
    );
}

function list(def: string[], item: (s: string) => string | undefined, what: string): Field<string[]> {
    return field(def, (raw) => {
        let parsed: unknown;
        try {
            parsed = JSON.parse(raw);
        } catch {
            return new Invalid(`must be a list of ${what}`);
        }
        if (!Array.isArray(parsed) || parsed.some((v) => typeof v !== "string")) {
            return new Invalid(`must be a list of ${what}`);
        }
        for (const v of parsed as string[]) {
            const problem = item(v);
            if (problem) {
                return new Invalid(`item ${JSON.stringify(v)} ${problem}`);
            }
        }
        return parsed as string[];
    });
}

const cidrText = (def: string) => text(def, /^\d+\.\d+\.\d+\.\d+\/\d+$/, "an IPv4 CIDR block such as 10.0.0.0/16");
const cidrItem = (v: string) => cidr.problem(v);
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** A caller the AuthorizationPolicy admits: `<namespace>/<serviceAccount>`, or `<namespace>/*` for any workload there. */
const callerItem = (v: string) => {
    const [ns, sa, ...rest] = v.split("/");
    return rest.length === 0 &&
        DNS_LABEL.test(ns ?? "") &&
        (sa === "*" || /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(sa ?? ""))
        ? undefined
        : 'is not "<namespace>/<serviceAccount>" or "<namespace>/*"';
};
/** A string checked by one of istio/validation's rules (what Istio's admission accepts); "" means none when `optional`. */
function istioText(def: string, problem: (raw: string) => string | undefined, optional: boolean): Field<string> {
    return field(def, (raw) => {
        const p = optional && raw === "" ? undefined : problem(raw);
        return p ? new Invalid(p) : raw;
    });
}
const durationText = (def: string, optional = true) =>
    istioText(def, (raw) => durationProblem(raw)?.concat(optional ? ' (or "" for none)' : ""), optional);
/** A DNS name with at least two labels (RFC 1123 subdomain, lower case), such as example.com. */
const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)+$/;
const hostItem = (h: string) =>
    DNS_NAME.test(h) && !/^[\d.]+$/.test(h)
        ? undefined
        : "is not a DNS host name such as api.example.com (lower case, no wildcard, no IP address)";

// ---------------------------------------------------------------------------------------------------
// The schema. Keys are the stack config keys (without the "asm-canary:" prefix).
// ---------------------------------------------------------------------------------------------------

const fields = {
    // --- how the program gets its cluster ---
    mode: oneOf(MODES, "create"),
    existingKubeconfigPath: text(""),
    existingClusterId: text(""),
    renderYamlDirectory: text(""),
    // --- Alibaba Cloud foundation (mode = create) ---
    region: text("ap-southeast-1", /^[a-z]{2}(-[a-z0-9]+)+$/, "an Alibaba Cloud region id such as ap-southeast-1"),
    namePrefix: text(
        "asm-canary",
        /^[a-z][a-z0-9-]{1,22}[a-z0-9]$/,
        "3-24 lower-case letters, digits and dashes, starting with a letter",
    ),
    vpcCidr: cidrText("192.168.0.0/16"),
    nodeVswitchCidrs: list(["192.168.0.0/20", "192.168.16.0/20"], cidrItem, "CIDR blocks"),
    podVswitchCidrs: list(["192.168.64.0/19", "192.168.96.0/19"], cidrItem, "CIDR blocks"),
    zones: list(
        [],
        (z) => (/^[a-z]{2}(-[a-z0-9]+)+$/.test(z) ? undefined : "is not a zone id such as ap-southeast-1a"),
        "zone ids",
    ),
    networkPlugin: oneOf(NETWORK_PLUGINS, "flannel"),
    podCidr: cidrText("172.20.0.0/16"),
    serviceCidr: cidrText("172.21.0.0/20"),
    kubernetesVersion: text(
        "",
        /^$|^1\.\d+\.\d+(-aliyun\.\d+)?$/,
        'an ACK version such as "1.33.3-aliyun.1", or "" for the latest',
    ),
    clusterSpec: oneOf(CLUSTER_SPECS, "ack.pro.small"),
    proxyMode: oneOf(PROXY_MODES, "iptables"),
    apiServerPublic: bool(true),
    deletionProtection: bool(false),
    nodeInstanceTypes: list(
        ["ecs.c7.xlarge", "ecs.c6.xlarge", "ecs.g7.xlarge"],
        (t) =>
            /^ecs\.[a-z0-9-]+\.[a-z0-9]+$/.test(t) ? undefined : "is not an ECS instance type such as ecs.c7.xlarge",
        "ECS instance types",
    ),
    nodeCount: integer(1, 100, 2),
    nodeDiskCategory: oneOf(DISK_CATEGORIES, "cloud_essd"),
    nodeDiskSizeGb: integer(40, 2048, 120),
    meshEdition: oneOf(
        MESH_EDITIONS,
        "Pro",
        'the Standard edition ("Default") has no data-plane KubeAPI access, through which this program applies ' +
            "every Istio object (it needs Enterprise or Ultimate, i.e. Pro), and ap-southeast-1 does not offer it",
    ),
    meshClusterSpec: oneOf(MESH_CLUSTER_SPECS, "enterprise", '"standard" is the spec of the Standard edition'),
    meshVersion: text(
        "",
        /^$|^v\d+\.\d+\.\d+(\.\d+)?(-[a-z0-9]+)*$/,
        'an ASM version such as "v1.24.6.60-ge2d7d9ed-aliyun", or "" for the newest',
    ),
    meshApiServerPublic: bool(false),
    // --- the mesh readiness gate (between the foundation and the mesh layer; not used when rendering) ---
    meshReadyTimeout: integer(0, 3600, 600),
    // --- mesh layer ---
    istioApiVersion: oneOf(ISTIO_API_VERSIONS, "v1beta1"),
    namespace: text("canary-demo", DNS_LABEL, "a DNS-1123 label (lower-case letters, digits, dashes; at most 63)"),
    services: field<ServiceSpec[]>([{ kind: "demo", name: "hello" }], (raw) => {
        const r = parseServices(raw);
        return "value" in r ? r.value : new InvalidParts(r.problems);
    }),
    canaryWeight: integer(0, 100, 0),
    mtlsMode: oneOf(MTLS_MODES, "PERMISSIVE"),
    authorizationPolicy: bool(false),
    allowedCallers: list([], callerItem, "callers"),
    demoClient: bool(true),
    canaryHeaderName: text("", /^$|^[a-z0-9-]+$/, 'a lower-case HTTP header name such as "x-canary", or ""'),
    canaryHeaderValue: text("", /^[A-Za-z0-9._~+-]*$/, 'letters, digits and . _ ~ + - (or "")'),
    routeTimeout: durationText(""),
    retryAttempts: integer(0, 10, 0),
    retryPerTryTimeout: durationText(""),
    retryOn: istioText("", retryOnProblem, true),
    outlierConsecutive5xx: integer(0, 100, 0),
    // Always sent when outlier detection is on, so "" is no choice.
    outlierInterval: durationText("10s", false),
    outlierBaseEjectionTime: durationText("30s", false),
    appImage: text("hashicorp/http-echo:1.0", /^\S+:\S+$/, "an image reference with a tag"),
    clientImage: text("curlimages/curl:8.14.1", /^\S+:\S+$/, "an image reference with a tag"),
    replicas: integer(1, 20, 1),
    stableText: text("hello from v1"),
    canaryText: text("hello from v2"),
    // --- mesh features: ingress gateway, egress control, observability, fault injection, mirroring ---
    ingressGateway: bool(false),
    ingressDomain: text(
        "example.com",
        DNS_NAME,
        "a DNS domain such as example.com (services answer at <service>.<domain>)",
    ),
    ingressReplicas: integer(1, 10, 1),
    manageMeshConfig: bool(false),
    outboundTrafficPolicy: oneOf(OUTBOUND_TRAFFIC_POLICIES, "ALLOW_ANY"),
    egressHosts: list([], hostItem, "host names"),
    accessLogs: bool(false),
    meshMetrics: bool(false),
    faultScope: oneOf(FAULT_SCOPES, "canary"),
    faultDelay: durationText(""),
    faultDelayPercent: integer(1, 100, 100),
    faultAbortStatus: field(0, (raw) => {
        const n = Number(raw);
        return /^\d+$/.test(raw.trim()) && (n === 0 || (n >= 400 && n <= 599))
            ? n
            : new Invalid("must be an HTTP error status from 400 to 599 (or 0 for none)");
    }),
    faultAbortPercent: integer(1, 100, 100),
    mirrorPercent: integer(0, 100, 0),
    // --- progressive delivery: read by `npm run promote` (config/promotion.ts), only validated here ---
    promotion: field(defaultPromotion(), (raw) => {
        const r = parsePromotion(raw);
        return "value" in r ? r.value : new Invalid(r.problems.join("; "));
    }),
};

/** Keys read as secrets (their value never passes through validation or logs). */
export const SECRET_KEYS = ["existingKubeconfig"] as const;
export const CONFIG_KEYS = [...Object.keys(fields), ...SECRET_KEYS];

/** Every key's validated value, as the stack sets it: "" and 0 still stand for "not set". */
type Parsed = { [K in keyof typeof fields]: z.output<(typeof fields)[K]> };

/** Text keys whose "" (their Pulumi.yaml default) means "not set": the program sees `undefined`. */
type OptionalTextKey =
    "existingKubeconfigPath" | "existingClusterId" | "renderYamlDirectory" | "kubernetesVersion" | "meshVersion";
/** Keys the routing policy is built from: the program sees them only as `routing`. */
type RoutingKey =
    | "canaryWeight"
    | "canaryHeaderName"
    | "canaryHeaderValue"
    | "routeTimeout"
    | "retryAttempts"
    | "retryPerTryTimeout"
    | "retryOn"
    | "outlierConsecutive5xx"
    | "outlierInterval"
    | "outlierBaseEjectionTime"
    | "faultScope"
    | "faultDelay"
    | "faultDelayPercent"
    | "faultAbortStatus"
    | "faultAbortPercent"
    | "mirrorPercent";

/** The configuration the program runs with: validated, and shaped as the components take it. */
export type StackConfig = Omit<Parsed, OptionalTextKey | RoutingKey> & {
    readonly [K in OptionalTextKey]?: string;
} & {
    /** The kubeconfig for mode=existing, as a secret (undefined when not set). */
    readonly existingKubeconfig?: pulumi.Output<string>;
    /** How every demo service is routed (CanaryRouting's policy). */
    readonly routing: RoutingPolicy;
};

/** A RunError: the CLI prints just the message, without a stack trace. */
export class ConfigError extends pulumi.RunError {
    constructor(public readonly problems: string[]) {
        super(
            `Invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
                problems.map((p) => `  - ${p}`).join("\n"),
        );
        this.name = "ConfigError";
    }
}

/**
 * Validates raw config values (key -> string as Pulumi hands them over). Throws one ConfigError that
 * lists every problem; each names the key, the value given and what is allowed.
 */
export function parseConfig(raw: Record<string, string | undefined>, hasSecretKubeconfig = false): Parsed {
    const problems: string[] = [];
    const known = new Set(CONFIG_KEYS);
    for (const key of Object.keys(raw)) {
        if (!known.has(key)) {
            // The value is not echoed: an unknown key may hold a secret.
            problems.push(`${key}: not a key of this program (the known keys are declared in Pulumi.yaml)`);
        }
    }
    const result = z.object(fields).safeParse(raw);
    if (!result.success) {
        for (const issue of result.error.issues) {
            const key = String(issue.path[0]);
            const verbatim = issue.code === "custom" && (issue.params as { verbatim?: boolean } | undefined)?.verbatim;
            problems.push(verbatim ? issue.message : `${key}: got ${JSON.stringify(raw[key])}; ${issue.message}`);
        }
        throw new ConfigError(problems);
    }
    problems.push(
        ...crossChecks(result.data, hasSecretKubeconfig),
        ...meshChecks(result.data),
        ...featureChecks(result.data),
    );
    if (problems.length > 0) {
        throw new ConfigError(problems);
    }
    return result.data;
}

/** Rules across keys of the cluster: how mode "existing" reaches it, or the network plan of mode "create". */
function crossChecks(c: Parsed, hasSecretKubeconfig: boolean): string[] {
    if (c.mode === "existing") {
        return existingAccessChecks(c, hasSecretKubeconfig);
    }
    const out = createModeChecks(c);
    // Network plan (https://www.alibabacloud.com/help/doc-detail/86500.htm): the VPC inside 10/8,
    // 172.16/12 or 192.168/16; vSwitches inside the VPC and disjoint; pod and service CIDRs outside it.
    const vpcProblem = cidr.problem(c.vpcCidr, { minPrefix: 8, maxPrefix: 24 });
    if (vpcProblem) {
        out.push(`vpcCidr: got ${JSON.stringify(c.vpcCidr)}; ${vpcProblem}`);
        return out;
    }
    if (!cidr.PRIVATE_RANGES.some((r) => cidr.contains(r, c.vpcCidr))) {
        out.push(`vpcCidr: got ${JSON.stringify(c.vpcCidr)}; must lie inside ${cidr.PRIVATE_RANGES.join(", ")}`);
    }
    out.push(...vswitchChecks(c), ...zoneChecks(c), ...clusterCidrChecks(c));
    if (c.deletionProtection && c.nodeCount < c.nodeVswitchCidrs.length) {
        out.push(
            `nodeCount: got ${c.nodeCount}; a protected (prod-like) stack needs at least one node per zone (${c.nodeVswitchCidrs.length})`,
        );
    }
    return out;
}

/** Mode "existing": exactly one way to reach the cluster. */
function existingAccessChecks(c: Parsed, hasSecretKubeconfig: boolean): string[] {
    const sources = [
        hasSecretKubeconfig && "existingKubeconfig",
        c.existingKubeconfigPath && "existingKubeconfigPath",
        c.renderYamlDirectory && "renderYamlDirectory",
    ].filter(Boolean);
    if (sources.length !== 1) {
        return [
            `mode: got "existing" with ${sources.length ? sources.join(" and ") : "no cluster access"}; ` +
                "set exactly one of existingKubeconfig (secret), existingKubeconfigPath or renderYamlDirectory",
        ];
    }
    return [];
}

/** Mode "create": no render directory, and a public API endpoint the program can apply the mesh layer through. */
function createModeChecks(c: Parsed): string[] {
    const out: string[] = [];
    if (c.renderYamlDirectory) {
        out.push(
            `renderYamlDirectory: got ${JSON.stringify(c.renderYamlDirectory)}; only allowed with mode "existing"`,
        );
    }
    // The program reaches the new cluster through cs.getClusterCredential, which returns the kubeconfig
    // of the PUBLIC endpoint (provider 3.108 offers no private-IP variant): without one nothing can apply
    // the mesh layer. Private-only clusters: create them elsewhere and use mode=existing from the VPC.
    if (!c.apiServerPublic) {
        out.push(
            'apiServerPublic: got false; mode "create" needs the public API endpoint (the program applies the mesh layer ' +
                'through it); for a private-only cluster use mode "existing" with a kubeconfig that reaches it',
        );
    }
    return out;
}

/** The node (and, with Terway, pod) vSwitch blocks: valid masks, inside the VPC, disjoint, one per zone. */
function vswitchChecks(c: Parsed): string[] {
    const out: string[] = [];
    const vswitchKeys: Array<[string, string[]]> = [["nodeVswitchCidrs", c.nodeVswitchCidrs]];
    if (c.networkPlugin === "terway") {
        vswitchKeys.push(["podVswitchCidrs", c.podVswitchCidrs]);
    }
    const seen: Array<[string, string]> = [];
    for (const [key, blocks] of vswitchKeys) {
        for (const b of blocks) {
            // vSwitch masks must be /16 to /29 (https://www.alibabacloud.com/help/en/vpc/user-guide/create-and-manage-vswitch).
            const p = cidr.problem(b, { minPrefix: 16, maxPrefix: 29 });
            if (p) {
                out.push(`${key}: got ${JSON.stringify(blocks)}; ${b} ${p}`);
                continue;
            }
            if (!cidr.contains(c.vpcCidr, b)) {
                out.push(`${key}: got ${JSON.stringify(blocks)}; ${b} is not inside vpcCidr ${c.vpcCidr}`);
            }
            for (const [otherKey, other] of seen) {
                if (cidr.overlaps(b, other)) {
                    out.push(`${key}: got ${JSON.stringify(blocks)}; ${b} overlaps ${other} (${otherKey})`);
                }
            }
            seen.push([key, b]);
        }
    }
    if (c.nodeVswitchCidrs.length < 2) {
        out.push(
            `nodeVswitchCidrs: got ${JSON.stringify(c.nodeVswitchCidrs)}; needs at least two blocks, one per zone`,
        );
    }
    if (c.nodeVswitchCidrs.length > MAX_NODE_VSWITCHES) {
        out.push(
            `nodeVswitchCidrs: got ${JSON.stringify(c.nodeVswitchCidrs)}; at most ${MAX_NODE_VSWITCHES} blocks (an ACK cluster takes at most ${MAX_NODE_VSWITCHES} vSwitches)`,
        );
    }
    if (c.networkPlugin === "terway" && c.podVswitchCidrs.length !== c.nodeVswitchCidrs.length) {
        out.push(
            `podVswitchCidrs: got ${JSON.stringify(c.podVswitchCidrs)}; needs one block per node vSwitch (${c.nodeVswitchCidrs.length})`,
        );
    }
    return out;
}

/** Zones given by hand ([] looks them up): distinct, one per node vSwitch, in the region. */
function zoneChecks(c: Parsed): string[] {
    const out: string[] = [];
    if (c.zones.length > 0) {
        if (new Set(c.zones).size !== c.zones.length) {
            out.push(`zones: got ${JSON.stringify(c.zones)}; zones must be distinct`);
        }
        if (c.zones.length !== c.nodeVswitchCidrs.length) {
            out.push(
                `zones: got ${JSON.stringify(c.zones)}; needs one zone per nodeVswitchCidrs block (${c.nodeVswitchCidrs.length}), or [] to look them up`,
            );
        }
        if (!c.zones.every((z) => z.startsWith(c.region))) {
            out.push(`zones: got ${JSON.stringify(c.zones)}; every zone must be in region ${c.region}`);
        }
    }
    return out;
}

/** The service CIDR (and, with Flannel, the pod CIDR): valid, outside the VPC and apart from each other. */
function clusterCidrChecks(c: Parsed): string[] {
    const out: string[] = [];
    const clusterBlocks: Array<[string, string]> = [["serviceCidr", c.serviceCidr]];
    if (c.networkPlugin === "flannel") {
        clusterBlocks.unshift(["podCidr", c.podCidr]);
    }
    for (const [key, block] of clusterBlocks) {
        const p = cidr.problem(block, { minPrefix: 8, maxPrefix: 24 });
        if (p) {
            out.push(`${key}: got ${JSON.stringify(block)}; ${p}`);
        } else if (cidr.overlaps(block, c.vpcCidr)) {
            out.push(`${key}: got ${JSON.stringify(block)}; overlaps vpcCidr ${c.vpcCidr}`);
        }
    }
    if (
        clusterBlocks.length === 2 &&
        clusterBlocks.every(([, b]) => !cidr.problem(b)) &&
        cidr.overlaps(c.podCidr, c.serviceCidr)
    ) {
        out.push(`serviceCidr: got ${JSON.stringify(c.serviceCidr)}; overlaps podCidr ${c.podCidr}`);
    }
    return out;
}

function meshChecks(c: Parsed): string[] {
    const out: string[] = [];
    const nsProblem = namespaceProblem(c.namespace);
    if (nsProblem) {
        out.push(`namespace: got ${JSON.stringify(c.namespace)}; ${nsProblem}`);
    }
    if (Boolean(c.canaryHeaderName) !== Boolean(c.canaryHeaderValue)) {
        out.push(
            `canaryHeaderName: got ${JSON.stringify(c.canaryHeaderName)} with canaryHeaderValue ${JSON.stringify(c.canaryHeaderValue)}; set both or neither`,
        );
    }
    if (c.retryAttempts === 0 && (c.retryPerTryTimeout || c.retryOn)) {
        out.push(`retryAttempts: got 0 with retryPerTryTimeout/retryOn set; set retryAttempts >= 1 or clear them`);
    }
    if (c.authorizationPolicy && c.mtlsMode === "DISABLE") {
        out.push(
            'authorizationPolicy: got true with mtlsMode "DISABLE"; the policy admits the client by its mTLS identity, so every call would be denied: use PERMISSIVE or STRICT',
        );
    }
    const names = c.services.map((s) => s.name);
    if (c.promotion.service !== undefined && !names.includes(c.promotion.service)) {
        out.push(
            `promotion: got service ${JSON.stringify(c.promotion.service)}; must be one of services ${JSON.stringify(names)}`,
        );
    }
    if (c.authorizationPolicy && !c.demoClient && c.allowedCallers.length === 0 && !c.ingressGateway) {
        out.push(
            "authorizationPolicy: got true with demoClient false and no allowedCallers; the policy would deny every " +
                'caller: name the callers in allowedCallers (e.g. ["shop/frontend"]) or turn authorizationPolicy off',
        );
    }
    return [...out, ...serviceChecks(c)];
}

/** Each described service: no weight on a version without pods; a brought one lives outside the stack's namespace. */
function serviceChecks(c: Parsed): string[] {
    const out: string[] = [];
    c.services.forEach((s, i) => {
        if (s.kind === "existing" && s.namespace === c.namespace) {
            // The program owns that namespace (mesh/meshNamespace.ts): deleting the stack, or renaming its
            // namespace, would delete the user's own Deployments and Service with it.
            out.push(
                `services[${i}].existing.namespace: got ${JSON.stringify(s.namespace)}, the stack's own namespace; the ` +
                    "program owns that namespace (and deletes it with the stack): bring your own workloads from a " +
                    "namespace of yours, with sidecar injection on",
            );
        }
        if (s.kind !== "described") {
            return;
        }
        const weight = s.canaryWeight ?? c.canaryWeight;
        const from = s.canaryWeight === undefined ? "canaryWeight" : `services[${i}].canaryWeight`;
        // Weight on a subset without pods is a 503 for that share of requests (Istio answers "no healthy upstream").
        if (weight > 0 && s.canary.replicas === 0) {
            out.push(
                `services[${i}].canary.replicas: got 0 with ${from} ${weight}; a canary without pods cannot take traffic: ` +
                    "give it replicas or set its weight to 0",
            );
        }
        if (weight < 100 && s.stable.replicas === 0) {
            out.push(
                `services[${i}].stable.replicas: got 0 with ${from} ${weight}; the stable version takes ${100 - weight}% ` +
                    "of the requests: give it replicas, or move the weight to 100 first",
            );
        }
    });
    return out;
}

/** Rules of the mesh features (ingress gateway, egress, observability, fault injection, mirroring). */
function featureChecks(c: Parsed): string[] {
    return [...ingressGatewayChecks(c), ...meshConfigChecks(c), ...routeFeatureChecks(c)];
}

/** The ASM ingress gateway: the program must be able to reach the ASM control plane that owns it. */
function ingressGatewayChecks(c: Parsed): string[] {
    const out: string[] = [];
    const create = c.mode === "create";
    if (c.ingressGateway && create && !c.meshApiServerPublic) {
        // The IstioGateway object lives on the ASM control plane; the provider only returns its PRIVATE
        // kubeconfig, so the program reaches it through the public endpoint (foundation/alibaba/asmIngressGateway.ts).
        out.push(
            "ingressGateway: got true with meshApiServerPublic false; the ASM gateway is an IstioGateway object on the " +
                "ASM control plane, which the program reaches only through the mesh's public API endpoint: set " +
                "meshApiServerPublic true (fixed at creation: on an existing stack that replaces the ASM instance)",
        );
    }
    if (c.ingressGateway && !create && !c.renderYamlDirectory) {
        out.push(
            'ingressGateway: got true in mode "existing"; the program cannot reach the ASM control plane that owns the ' +
                "gateway (an IstioGateway object) in this mode: use mode create with meshApiServerPublic, or " +
                "renderYamlDirectory to write the Gateway and VirtualService changes for review",
        );
    }
    return out;
}

/** Settings of the ASM instance (outbound policy, access logs, metrics): only where the program owns meshConfig. */
function meshConfigChecks(c: Parsed): string[] {
    const out: string[] = [];
    const create = c.mode === "create";
    // meshConfig is Optional+Computed on the ServiceMesh: once set, leaving it out again changes nothing on
    // the mesh, so a switch turned off would silently stay on. The program therefore owns meshConfig only
    // when asked to, and then always sends the off values too.
    const meshSwitches: Array<[string, string]> = [];
    if (c.outboundTrafficPolicy === "REGISTRY_ONLY") {
        meshSwitches.push(["outboundTrafficPolicy", '"REGISTRY_ONLY"']);
    }
    if (c.accessLogs) {
        meshSwitches.push(["accessLogs", "true"]);
    }
    if (c.meshMetrics) {
        meshSwitches.push(["meshMetrics", "true"]);
    }
    if (create && !c.manageMeshConfig) {
        for (const [key, value] of meshSwitches) {
            out.push(
                `${key}: got ${value} with manageMeshConfig false; this is a setting of the ASM instance (its ` +
                    "meshConfig): set manageMeshConfig true so the program owns outboundTrafficPolicy, telemetry and " +
                    "access-log collection there (turning a switch off later then sends the off value)",
            );
        }
    }
    if (!create) {
        if (c.manageMeshConfig) {
            out.push('manageMeshConfig: got true in mode "existing"; the program manages no ASM instance in this mode');
        }
        if (c.outboundTrafficPolicy === "REGISTRY_ONLY") {
            out.push(
                'outboundTrafficPolicy: got "REGISTRY_ONLY" in mode "existing"; it is a setting of the ASM instance, which ' +
                    "this mode does not manage: set it there (`aliyun servicemesh UpdateMeshFeature --ServiceMeshId <id> " +
                    "--OutboundTrafficPolicy REGISTRY_ONLY`) and keep egressHosts here",
            );
        }
        if (c.meshMetrics) {
            out.push(
                'meshMetrics: got true in mode "existing"; the ARMS Prometheus add-on and the mesh\'s telemetry setting are ' +
                    "Alibaba Cloud resources, which this mode does not manage",
            );
        }
    }
    return out;
}

/** Egress hosts, fault injection and mirroring on the routes. */
function routeFeatureChecks(c: Parsed): string[] {
    const out: string[] = [];
    if (new Set(c.egressHosts).size !== c.egressHosts.length) {
        out.push(`egressHosts: got ${JSON.stringify(c.egressHosts)}; hosts must be distinct`);
    }
    const fault = c.faultDelay !== "" || c.faultAbortStatus > 0;
    if (fault && (c.routeTimeout || c.retryAttempts > 0)) {
        // "timeouts or retries will not be enabled when faults are enabled on the client side"
        // (istio/api networking/v1alpha3/virtual_service.proto, HTTPRoute.fault).
        out.push(
            "faultDelay/faultAbortStatus: set together with routeTimeout/retryAttempts; Istio silently turns timeout and " +
                "retries off on a route that injects a fault: clear routeTimeout and retryAttempts for the chaos test, or the fault",
        );
    }
    const own = c.services.filter((s) => s.kind !== "demo" && s.header !== undefined);
    const withoutHeader = c.canaryHeaderName ? [] : c.services.filter((s) => !own.includes(s));
    if (fault && c.faultScope === "canary" && withoutHeader.length > 0) {
        const which =
            own.length > 0
                ? ` (services without a header of their own: ${withoutHeader.map((s) => s.name).join(", ")})`
                : "";
        out.push(
            `faultScope: got "canary" without canaryHeaderName/canaryHeaderValue${which}; the canary route is the ` +
                'header-match route to v2: set the header, or faultScope "service"',
        );
    }
    for (const s of c.services) {
        const own = s.kind === "demo" ? undefined : s.canaryWeight;
        if (c.mirrorPercent > 0 && (own ?? c.canaryWeight) === 100) {
            const of = own === undefined ? "canaryWeight" : `the canaryWeight of ${s.name}`;
            out.push(
                `mirrorPercent: got ${c.mirrorPercent} with ${of} 100; v2 already receives every request, so each ` +
                    "mirrored request would reach v2 twice: mirror at a lower canaryWeight (0 for a dark launch)",
            );
            break;
        }
    }
    return out;
}

/** "" (a text key's Pulumi.yaml default) is "not set". */
function unlessEmpty(value: string): string | undefined {
    return value === "" ? undefined : value;
}

/**
 * Shapes validated values for the components: unset optional text is `undefined`, and the routing keys
 * become one RoutingPolicy (retries and outlier detection in Istio's own types; 0 attempts or 0 errors
 * leave them out, so Istio's defaults apply).
 */
export function shapeConfig(c: Parsed, existingKubeconfig?: pulumi.Output<string>): StackConfig {
    const {
        existingKubeconfigPath,
        existingClusterId,
        renderYamlDirectory,
        kubernetesVersion,
        meshVersion,
        canaryWeight,
        canaryHeaderName,
        canaryHeaderValue,
        routeTimeout,
        retryAttempts,
        retryPerTryTimeout,
        retryOn,
        outlierConsecutive5xx,
        outlierInterval,
        outlierBaseEjectionTime,
        faultScope,
        faultDelay,
        faultDelayPercent,
        faultAbortStatus,
        faultAbortPercent,
        mirrorPercent,
        ...rest
    } = c;
    return {
        ...rest,
        existingKubeconfig,
        existingKubeconfigPath: unlessEmpty(existingKubeconfigPath),
        existingClusterId: unlessEmpty(existingClusterId),
        renderYamlDirectory: unlessEmpty(renderYamlDirectory),
        kubernetesVersion: unlessEmpty(kubernetesVersion),
        meshVersion: unlessEmpty(meshVersion),
        routing: {
            canaryWeight,
            header: canaryHeaderName ? { name: canaryHeaderName, value: canaryHeaderValue } : undefined,
            timeout: unlessEmpty(routeTimeout),
            retries:
                retryAttempts > 0
                    ? {
                          attempts: retryAttempts,
                          perTryTimeout: unlessEmpty(retryPerTryTimeout),
                          retryOn: unlessEmpty(retryOn),
                      }
                    : undefined,
            outlierDetection:
                outlierConsecutive5xx > 0
                    ? {
                          consecutive5xxErrors: outlierConsecutive5xx,
                          interval: unlessEmpty(outlierInterval),
                          baseEjectionTime: unlessEmpty(outlierBaseEjectionTime),
                      }
                    : undefined,
            fault: faultOf({ faultScope, faultDelay, faultDelayPercent, faultAbortStatus, faultAbortPercent }),
            mirrorPercent: mirrorPercent > 0 ? mirrorPercent : undefined,
        },
    };
}

/** Reads every declared key from the stack's config, validates it and shapes it for the components. */
export function loadConfig(config = new pulumi.Config(PROJECT)): StackConfig {
    const raw: Record<string, string | undefined> = {};
    const all = pulumi.runtime.allConfig();
    for (const fullKey of Object.keys(all)) {
        const [ns, key] = fullKey.split(":", 2);
        if (ns === PROJECT && key && !(SECRET_KEYS as readonly string[]).includes(key)) {
            raw[key] = config.get(key);
        }
    }
    // Presence is read from the raw store so the secret is never read as plain text; "" (the
    // Pulumi.yaml default) counts as unset.
    const hasKubeconfig = Boolean(all[`${PROJECT}:existingKubeconfig`]);
    return shapeConfig(
        parseConfig(raw, hasKubeconfig),
        hasKubeconfig ? config.requireSecret("existingKubeconfig") : undefined,
    );
}
