/**
 * The `services` stack config key: what the stack canaries. A plain name is the built-in demo service
 * (http-echo, today's behaviour); an object describes a real service: its images, port, protocol, replicas,
 * env, resources and readiness, and optionally its own weight and header override. Parsed and validated
 * here, before any resource is declared; every problem names its key path (`services[1].stable.image`).
 */
import { z } from "zod";
import { namespaceProblem } from "../istio/validation";
// The one definition of "the labels both versions carry" (the policies' selector); mesh/app.ts has only
// type imports from config/, so this is no import cycle.
import { sharedLabels } from "../mesh/app";
import { CLIENT_NAME } from "./constants";

/** How Istio routes a service's port: the Service port's name and appProtocol. */
export const PROTOCOLS = ["http", "http2", "grpc"] as const;
export type Protocol = (typeof PROTOCOLS)[number];

/** The demo's own images and texts (the `appImage`, `stableText`, `canaryText` keys) serve every demo entry. */
export interface DemoService {
    readonly kind: "demo";
    readonly name: string;
}

/** One version (stable or canary) of a described service. */
export interface VersionSpec {
    readonly image: string;
    readonly replicas: number;
    /** Extra environment on top of the service's `env` (this version's wins). */
    readonly env: Readonly<Record<string, string>>;
}

/** Kubernetes resource requests and limits, as quantities (`100m`, `128Mi`). */
export interface ResourceSpec {
    readonly requests?: Readonly<Record<string, string>>;
    readonly limits?: Readonly<Record<string, string>>;
}

/** A real service, described in config: the program owns its Service, Deployments and routing. */
export interface DescribedService {
    readonly kind: "described";
    readonly name: string;
    /** The Service port. */
    readonly port: number;
    /** The port the containers listen on. */
    readonly containerPort: number;
    readonly protocol: Protocol;
    readonly stable: VersionSpec;
    readonly canary: VersionSpec;
    /** This service's canary weight; unset: the stack's `canaryWeight`. */
    readonly canaryWeight?: number;
    /** This service's header override; unset: the stack's `canaryHeaderName`/`canaryHeaderValue`. */
    readonly header?: { readonly name: string; readonly value: string };
    /** HTTP readiness path (http/http2); a gRPC service gets a gRPC health probe on its port instead. */
    readonly readinessPath: string;
    readonly env: Readonly<Record<string, string>>;
    readonly resources: ResourceSpec;
    /** The container's command arguments (the image's own when unset). */
    readonly args?: readonly string[];
    /** A PodDisruptionBudget per version (maxUnavailable 1) while it runs 2 or more replicas. */
    readonly disruptionBudget: boolean;
}

/** One version of a service the user runs: its Deployment and the labels its pods carry. */
export interface ExistingVersion {
    /** The Deployment's name: its readiness gates the weight this version gets. */
    readonly deployment: string;
    /** Labels every pod of this version carries; the DestinationRule subset selects them. */
    readonly labels: Readonly<Record<string, string>>;
}

/**
 * A service the user already runs (Helm, Argo CD): the program owns only its DestinationRule,
 * VirtualService and policies, never its Deployments or its Service.
 */
export interface ExistingService {
    readonly kind: "existing";
    /** The user's Service name, also the Istio host. */
    readonly name: string;
    /** The namespace the Service and the Deployments run in (not the stack's own namespace). */
    readonly namespace: string;
    /** The Service port. */
    readonly port: number;
    /** What the Service port's name/appProtocol declare (docs/services.md). */
    readonly protocol: Protocol;
    readonly stable: ExistingVersion;
    readonly canary: ExistingVersion;
    readonly canaryWeight?: number;
    readonly header?: { readonly name: string; readonly value: string };
}

export type ServiceSpec = DemoService | DescribedService | ExistingService;

/** Defaults of a described service: the field reference in docs/services.md shows the same. */
export const SERVICE_DEFAULTS = {
    protocol: "http" as Protocol,
    replicas: 1,
    readinessPath: "/",
    resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "256Mi" } },
    disruptionBudget: true,
};

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Why `name` cannot be a service name, or undefined. */
export function serviceNameProblem(s: string): string | undefined {
    if (!DNS_LABEL.test(s) || s.length > 50) {
        return "must be a DNS-1123 label of at most 50 characters (lower-case letters, digits, dashes)";
    }
    // Each name is a Kubernetes Service, a DNS-1035 label (ValidateServiceName in kubernetes/kubernetes
    // pkg/apis/core/validation/validation.go); Istio would take "1hello" as a host, Kubernetes refuses it.
    if (!/^[a-z]/.test(s)) {
        return "must start with a letter (a Kubernetes Service name)";
    }
    return s === CLIENT_NAME ? `"${CLIENT_NAME}" is the in-mesh client's name` : undefined;
}

/**
 * An image reference as the registry's own grammar has it (github.com/distribution/reference, regexp.go):
 * an optional registry host[:port], lower-case path components separated by `/` (each made of [a-z0-9]
 * joined by `.`, `_`, `__` or dashes), and a tag (`:` + up to 128 of [\w.-], not starting with `.` or `-`)
 * or a digest (`@sha256:` + 64 hex), or both. A tag or digest is required here: an untagged image means
 * `latest`, which changes under a running release.
 */
const IMAGE_REFERENCE = new RegExp(
    "^" +
        "(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*(?::[0-9]+)?/)?" +
        "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*" +
        "(?::[\\w][\\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$",
);

export function imageProblem(ref: string): string | undefined {
    if (!IMAGE_REFERENCE.test(ref) || ref.length > 255) {
        return "is not an image reference such as registry.example.com/shop/reviews:1.4.0";
    }
    return /(:[\w][\w.-]*|@sha256:[a-f0-9]{64})$/.test(ref.replace(/^[^/]*\//, ""))
        ? undefined
        : "has no tag or digest (an untagged image is `latest`, which can change under a release)";
}

/** A Kubernetes quantity (k8s.io/apimachinery resource.Quantity): a number with an optional suffix. */
const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;
/** An environment variable name Kubernetes accepts (a C identifier is the portable subset). */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const HEADER_NAME = /^[a-z0-9-]+$/;
const HEADER_VALUE = /^[A-Za-z0-9._~+-]+$/;

/** A whole number in a range, with the same message as the program's other integer keys. */
const whole = (min: number, max: number) => {
    const error = `must be a whole number from ${min} to ${max}`;
    return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
};
const port = whole(1, 65535);
const env = z.record(z.string().regex(ENV_NAME, "must be an environment variable name"), z.string());
const quantities = z.partialRecord(
    z.enum(["cpu", "memory", "ephemeral-storage"]),
    z.string().regex(QUANTITY, "must be a Kubernetes quantity such as 100m or 128Mi"),
);
const image = z.string().superRefine((v, ctx) => {
    const p = imageProblem(v);
    if (p) {
        ctx.addIssue({ code: "custom", message: p });
    }
});
const version = z.strictObject({
    image,
    replicas: whole(0, 50).optional(),
    env: env.optional(),
});

const described = z.strictObject({
    name: z.string(),
    port,
    containerPort: port.optional(),
    protocol: z.enum(PROTOCOLS, { error: `must be one of ${PROTOCOLS.join(", ")}` }).optional(),
    replicas: whole(1, 50).optional(),
    stable: version,
    canary: version,
    canaryWeight: whole(0, 100).optional(),
    header: z
        .strictObject({
            name: z.string().regex(HEADER_NAME, 'must be a lower-case HTTP header name such as "x-canary"'),
            value: z.string().regex(HEADER_VALUE, "must be letters, digits and . _ ~ + -"),
        })
        .optional(),
    readinessPath: z
        .string()
        .regex(/^\/\S*$/, 'must be an HTTP path such as "/healthz"')
        .optional(),
    env: env.optional(),
    resources: z.strictObject({ requests: quantities.optional(), limits: quantities.optional() }).optional(),
    args: z.array(z.string()).optional(),
    disruptionBudget: z.boolean().optional(),
});

/**
 * A label key as Kubernetes validates it (IsQualifiedName in k8s.io/apimachinery pkg/util/validation/validation.go):
 * an optional DNS-subdomain prefix and `/`, then a name of at most 63 characters of [A-Za-z0-9-_.], starting and
 * ending with an alphanumeric; a value is such a name or empty (IsValidLabelValue).
 */
const LABEL_NAME = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
function labelKeyOk(key: string): boolean {
    const slash = key.lastIndexOf("/");
    const prefix = slash < 0 ? undefined : key.slice(0, slash);
    return (
        LABEL_NAME.test(slash < 0 ? key : key.slice(slash + 1)) &&
        (prefix === undefined || (prefix.length <= 253 && DNS_SUBDOMAIN.test(prefix)))
    );
}
const labels = z
    .record(
        z.string(),
        z.string().regex(/^$|^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/, {
            error: "must be a Kubernetes label value (at most 63 letters, digits, - _ . starting and ending with a letter or digit)",
        }),
    )
    .superRefine((l, ctx) => {
        if (Object.keys(l).length === 0) {
            ctx.addIssue({
                code: "custom",
                message: "must name at least one label (an empty selector matches every pod)",
            });
        }
        // Checked here rather than as the record's key schema, whose failure zod reports as "Invalid key in record".
        for (const key of Object.keys(l).filter((k) => !labelKeyOk(k))) {
            ctx.addIssue({
                code: "custom",
                path: [key],
                message: "must be a Kubernetes label key such as app or app.kubernetes.io/name",
            });
        }
    });
/** A Deployment name: a DNS-1123 subdomain (ValidateDeploymentName, kubernetes pkg/apis/apps/validation). */
const existingVersion = z.strictObject({
    deployment: z
        .string()
        .regex(DNS_SUBDOMAIN, "must be a Deployment name (lower-case letters, digits, - and .)")
        .max(253, "must be a Deployment name of at most 253 characters"),
    labels,
});
const existing = z.strictObject({
    name: z.string(),
    port,
    protocol: described.shape.protocol,
    existing: z.strictObject({
        namespace: z
            .string()
            .regex(DNS_LABEL, "must be a namespace name (a DNS label: lower-case letters, digits, dashes)"),
        stable: existingVersion,
        canary: existingVersion,
    }),
    canaryWeight: described.shape.canaryWeight,
    header: described.shape.header,
});

/** Whether every label pair of `a` is also in `b` (then a selector made of `a` also matches `b`'s pods). */
function within(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
    return Object.entries(a).every(([k, v]) => b[k] === v);
}

/** The problems of a well-typed bring-your-own service: namespace, and labels that tell the versions apart. */
function existingProblems(i: number, s: z.infer<typeof existing>): string[] {
    const out: string[] = [];
    const at = `services[${i}].existing`;
    const nsProblem = namespaceProblem(s.existing.namespace);
    if (nsProblem) {
        // istio-system is also Istio's root namespace, where a policy with a selector applies mesh-wide
        // (https://istio.io/latest/docs/reference/config/security/authorization-policy/).
        out.push(`${at}.namespace: got ${JSON.stringify(s.existing.namespace)}; ${nsProblem}`);
    }
    const { stable, canary } = s.existing;
    const [sl, cl] = [JSON.stringify(stable.labels), JSON.stringify(canary.labels)];
    if (within(stable.labels, canary.labels) && within(canary.labels, stable.labels)) {
        out.push(
            `${at}.canary.labels: got ${cl}, the same as stable.labels; both subsets would select the same pods: ` +
                "the versions must differ in at least one label (e.g. version: v1 / version: v2)",
        );
    } else if (within(stable.labels, canary.labels)) {
        out.push(
            `${at}.stable.labels: got ${sl}; the canary's pods (canary.labels ${cl}) carry every one of them, so the ` +
                "stable subset would select the canary's pods too: add a label only the stable pods carry (e.g. version: v1)",
        );
    } else if (within(canary.labels, stable.labels)) {
        out.push(
            `${at}.canary.labels: got ${cl}; the stable pods (stable.labels ${sl}) carry every one of them, so the ` +
                "canary subset would select the stable pods too: add a label only the canary pods carry (e.g. version: v2)",
        );
    }
    if (Object.keys(sharedLabels([stable.labels, canary.labels])).length === 0) {
        out.push(
            `${at}: got stable.labels ${sl} and canary.labels ${cl}, which share no label; the AuthorizationPolicy and ` +
                "mTLS policy select the service's pods by the labels both versions carry: list the Service's selector " +
                "(e.g. app: reviews) in both",
        );
    }
    return out;
}

/** `services[1].stable.image` from a zod issue path under `services`. */
function keyPath(path: readonly PropertyKey[]): string {
    return path.reduce<string>(
        (out, p) => (typeof p === "number" ? `${out}[${p}]` : `${out}.${String(p)}`),
        "services",
    );
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
    return path.reduce<unknown>(
        (v, p) => (v !== null && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[p] : undefined),
        root,
    );
}

/**
 * Parses the `services` value (JSON text, as Pulumi hands over arrays) into specs, or every problem, each
 * naming the key path, the value given and what is allowed.
 */
export function parseServices(raw: string): { value: ServiceSpec[] } | { problems: string[] } {
    let parsed: unknown;
    try {
        parsed = JSON.parse(raw);
    } catch {
        return { problems: [`services: got ${JSON.stringify(raw)}; must be a list of service names or objects`] };
    }
    if (!Array.isArray(parsed) || parsed.length === 0) {
        return { problems: [`services: got ${raw}; must be a non-empty list of service names or objects`] };
    }
    const problems: string[] = [];
    const specs: ServiceSpec[] = [];
    parsed.forEach((item: unknown, i) => {
        if (typeof item === "string") {
            const p = serviceNameProblem(item);
            if (p) {
                problems.push(`services[${i}]: got ${JSON.stringify(item)}; ${p}`);
            }
            specs.push({ kind: "demo", name: item });
            return;
        }
        // An object with `existing` names workloads the user runs; any other object describes one to build.
        const byo = item !== null && typeof item === "object" && "existing" in item;
        // zod's own wording for a missing or mistyped field, in the program's "must be" form.
        const r = (byo ? existing : described).safeParse(item, {
            error: (iss) =>
                iss.code === "invalid_type"
                    ? iss.input === undefined
                        ? "is required (docs/services.md lists the fields)"
                        : `must be ${{ object: "an object", array: "a list", record: "a map of names to values" }[String(iss.expected)] ?? `a ${iss.expected}`}`
                    : undefined,
        });
        if (!r.success) {
            for (const issue of r.error.issues) {
                const at = [i, ...issue.path];
                const unknownKeys = issue.code === "unrecognized_keys" ? issue.keys : undefined;
                problems.push(
                    unknownKeys
                        ? `${keyPath(at)}: unknown key${unknownKeys.length > 1 ? "s" : ""} ${unknownKeys.join(", ")} (the keys are in docs/services.md${byo && issue.path.length === 0 ? `; a service with "existing" takes ${Object.keys(existing.shape).join(", ")}` : ""})`
                        : `${keyPath(at)}: got ${JSON.stringify(valueAt(parsed, at)) ?? "nothing"}; ${issue.message}`,
                );
            }
            return;
        }
        const nameProblem = serviceNameProblem(r.data.name);
        if (nameProblem) {
            problems.push(`services[${i}].name: got ${JSON.stringify(r.data.name)}; ${nameProblem}`);
        }
        if ("existing" in r.data) {
            const e = r.data;
            problems.push(...existingProblems(i, e));
            specs.push({
                kind: "existing",
                name: e.name,
                namespace: e.existing.namespace,
                port: e.port,
                protocol: e.protocol ?? SERVICE_DEFAULTS.protocol,
                stable: { deployment: e.existing.stable.deployment, labels: e.existing.stable.labels },
                canary: { deployment: e.existing.canary.deployment, labels: e.existing.canary.labels },
                canaryWeight: e.canaryWeight,
                header: e.header,
            });
            return;
        }
        const s = r.data;
        const protocol = s.protocol ?? SERVICE_DEFAULTS.protocol;
        if (s.readinessPath !== undefined && protocol === "grpc") {
            problems.push(
                `services[${i}].readinessPath: got ${JSON.stringify(s.readinessPath)} with protocol grpc; a gRPC service ` +
                    "gets a gRPC health-check probe (grpc.health.v1) on its port: remove readinessPath",
            );
        }
        const replicas = s.replicas ?? SERVICE_DEFAULTS.replicas;
        specs.push({
            kind: "described",
            name: s.name,
            port: s.port,
            containerPort: s.containerPort ?? s.port,
            protocol,
            stable: { image: s.stable.image, replicas: s.stable.replicas ?? replicas, env: s.stable.env ?? {} },
            canary: { image: s.canary.image, replicas: s.canary.replicas ?? replicas, env: s.canary.env ?? {} },
            canaryWeight: s.canaryWeight,
            header: s.header,
            readinessPath: s.readinessPath ?? SERVICE_DEFAULTS.readinessPath,
            env: s.env ?? {},
            resources: s.resources ?? SERVICE_DEFAULTS.resources,
            args: s.args,
            disruptionBudget: s.disruptionBudget ?? SERVICE_DEFAULTS.disruptionBudget,
        });
    });
    const names = specs.map((s) => s.name);
    const dup = names.filter((n, i) => names.indexOf(n) !== i);
    if (dup.length > 0) {
        problems.push(
            `services: got ${JSON.stringify(names)} as names; ${[...new Set(dup)].join(", ")} twice: names must be distinct`,
        );
    }
    problems.push(...deploymentClashes(specs));
    return problems.length > 0 ? { problems } : { value: specs };
}

/** Two brought services that name the same Deployment: one set of pods cannot be two subsets. */
function deploymentClashes(specs: ServiceSpec[]): string[] {
    const seen = new Map<string, string>();
    const out: string[] = [];
    specs.forEach((s, i) => {
        if (s.kind !== "existing") {
            return;
        }
        for (const v of ["stable", "canary"] as const) {
            const key = `${s.namespace}/${s[v].deployment}`;
            const first = seen.get(key);
            if (first) {
                out.push(
                    `services[${i}].existing.${v}.deployment: got ${JSON.stringify(s[v].deployment)} in namespace ` +
                        `${s.namespace}, already ${first}; each Deployment is one version of one service`,
                );
            } else {
                seen.set(key, `services[${i}].existing.${v}.deployment`);
            }
        }
    });
    return out;
}
