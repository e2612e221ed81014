/**
 * The policies of the asm-canary policy pack (policy/index.ts serves them; docs/policies.md explains them).
 * Each checks the inputs the program declares, as the policy framework hands them over: `type` is the
 * resource's type token, `props` its inputs (for a Kubernetes object: the manifest, {apiVersion, kind,
 * metadata, spec}). Every violation names the object (namespace/name or the resource's name) and what to
 * change. Names, levels and config are in policy/packConfig.ts.
 */
import type {
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";
import { CANARY, INJECTION_LABEL, STABLE } from "../config/constants";
import type {
    AuthorizationPolicySpec,
    DestinationRuleSpec,
    Manifest,
    PeerAuthenticationSpec,
    VirtualServiceSpec,
} from "../istio/manifests";
import { DEFAULT_LEVELS, DEFAULT_MAX_WEIGHT_STEP, POLICY, WeightStepConfig } from "./packConfig";

/** Type tokens of the alicloud resources the production rules look at (node_modules/@pulumi/alicloud: __pulumiType). */
const MANAGED_KUBERNETES = "alicloud:cs/managedKubernetes:ManagedKubernetes";
const SERVICE_MESH = "alicloud:servicemesh/serviceMesh:ServiceMesh";
const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const NAMESPACE = "kubernetes:core/v1:Namespace";
const SERVICE = "kubernetes:core/v1:Service";

/** An Istio kind as the Kubernetes SDK types a CustomResource: `kubernetes:<group>/<version>:<Kind>`. */
function isIstio(type: string, group: "networking" | "security", kind: string): boolean {
    return type.startsWith(`kubernetes:${group}.istio.io/`) && type.endsWith(`:${kind}`);
}

/** `namespace/name` of a Kubernetes object, as kubectl and the violation messages name it. */
function objectName(m: { metadata?: { name?: string; namespace?: string } }): string {
    return `${m.metadata?.namespace ?? "default"}/${m.metadata?.name ?? "?"}`;
}

type Resource = Pick<PolicyResource, "type" | "props" | "urn" | "name">;

function ofKind<S>(resources: Resource[], group: "networking" | "security", kind: string) {
    return resources
        .filter((r) => isIstio(r.type, group, kind))
        .map((r) => ({ urn: r.urn, m: r.props as Manifest<S> }));
}

type HttpRoute = NonNullable<VirtualServiceSpec["http"]>[number];

/** The route that unmatched requests take: the VirtualService's last HTTP route (the program's "weighted"). */
function weightedRoute(vs: Manifest<VirtualServiceSpec>): HttpRoute | undefined {
    const http = vs.spec?.http ?? [];
    return http[http.length - 1];
}

// ---------------------------------------------------------------------------------------------------
// Canary routing
// ---------------------------------------------------------------------------------------------------

/** Problems of one VirtualService's weighted route, given the stack's DestinationRules. */
export function routeProblems(vs: Manifest<VirtualServiceSpec>, rules: Manifest<DestinationRuleSpec>[]): string[] {
    const name = `VirtualService ${objectName(vs)}`;
    const route = weightedRoute(vs)?.route ?? [];
    const subsets = route.map((d) => d.destination?.subset ?? "(none)");
    const want = [STABLE, CANARY];
    if (subsets.length !== 2 || !want.every((s) => subsets.includes(s))) {
        return [
            `${name}: its weighted route (the last HTTP route) must have exactly the subsets ${want.join(" and ")}; ` +
                `it has ${subsets.length === 0 ? "none" : subsets.join(", ")}`,
        ];
    }
    const problems: string[] = [];
    const total = route.reduce((sum, d) => sum + (d.weight ?? 0), 0);
    if (total !== 100) {
        problems.push(
            `${name}: the weights of its weighted route sum to ${total} (${route
                .map((d) => `${d.destination?.subset}=${d.weight ?? 0}`)
                .join(", ")}); they must sum to 100`,
        );
    }
    const namespace = vs.metadata?.namespace;
    for (const host of new Set(route.map((d) => d.destination?.host ?? ""))) {
        const rule = rules.find((r) => r.spec?.host === host && r.metadata?.namespace === namespace);
        const defined = new Set((rule?.spec?.subsets ?? []).map((s) => s.name));
        const missing = want.filter((s) => !defined.has(s));
        if (!rule) {
            problems.push(`${name}: no DestinationRule in namespace ${namespace} has host ${host}`);
        } else if (missing.length > 0) {
            problems.push(
                `${name}: DestinationRule ${objectName(rule)} (host ${host}) does not define subset ${missing.join(", ")}`,
            );
        }
    }
    return problems;
}

export const canaryRouteSubsets: StackValidationPolicy = {
    name: POLICY.routeSubsets,
    description:
        "Every VirtualService's weighted route has exactly the stable and the canary subset, weights summing to 100, both defined by the DestinationRule of the same host.",
    enforcementLevel: DEFAULT_LEVELS[POLICY.routeSubsets],
    validateStack: (args: StackValidationArgs, report: ReportViolation) => {
        const rules = ofKind<DestinationRuleSpec>(args.resources, "networking", "DestinationRule").map((r) => r.m);
        for (const { urn, m } of ofKind<VirtualServiceSpec>(args.resources, "networking", "VirtualService")) {
            routeProblems(m, rules).forEach((p) => report(p, urn));
        }
    },
};

/** The canary (v2) weight of a VirtualService's weighted route, or undefined when it has none. */
export function canaryWeightOf(vs: Manifest<VirtualServiceSpec>): number | undefined {
    return weightedRoute(vs)?.route?.find((d) => d.destination?.subset === CANARY)?.weight;
}

export const canaryWeightStep: ResourceValidationPolicy = {
    name: POLICY.weightStep,
    description:
        "A step never raises a canary's weight by more than maxStep points at once (the previous weights are given in the pack config).",
    enforcementLevel: DEFAULT_LEVELS[POLICY.weightStep],
    configSchema: {
        properties: {
            maxStep: { type: "integer", minimum: 1, maximum: 100, default: DEFAULT_MAX_WEIGHT_STEP },
            previousWeights: { type: "object", additionalProperties: { type: "integer", minimum: 0, maximum: 100 } },
        },
    },
    validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
        if (!isIstio(args.type, "networking", "VirtualService")) {
            return;
        }
        const problem = weightStepProblem(
            args.props as Manifest<VirtualServiceSpec>,
            args.getConfig<WeightStepConfig>(),
        );
        if (problem) {
            report(problem);
        }
    },
};

/**
 * The policy framework sees only the new inputs, so the weights in force come from the pack config
 * (`previousWeights`, by VirtualService name; promote passes them from the stack's `weights` output).
 * Without a previous weight for this VirtualService there is nothing to compare: no violation.
 */
export function weightStepProblem(vs: Manifest<VirtualServiceSpec>, cfg: WeightStepConfig): string | undefined {
    const name = vs.metadata?.name ?? "";
    const previous = cfg.previousWeights?.[name];
    const next = canaryWeightOf(vs);
    const maxStep = cfg.maxStep ?? DEFAULT_MAX_WEIGHT_STEP;
    if (previous === undefined || next === undefined || next - previous <= maxStep) {
        return undefined;
    }
    return (
        `VirtualService ${objectName(vs)}: the canary weight goes from ${previous} to ${next} (+${next - previous}); ` +
        `one step may raise it by at most ${maxStep}: take an intermediate step (e.g. ${previous + maxStep})`
    );
}

// ---------------------------------------------------------------------------------------------------
// Production rules
// ---------------------------------------------------------------------------------------------------

export const productionMtlsStrict: ResourceValidationPolicy = {
    name: POLICY.mtlsStrict,
    description: "Production: every PeerAuthentication's mTLS mode is STRICT.",
    enforcementLevel: DEFAULT_LEVELS[POLICY.mtlsStrict],
    validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
        if (!isIstio(args.type, "security", "PeerAuthentication")) {
            return;
        }
        const pa = args.props as Manifest<PeerAuthenticationSpec>;
        const mode = pa.spec?.mtls?.mode ?? "(unset: inherits the mesh default)";
        if (mode !== "STRICT") {
            report(`PeerAuthentication ${objectName(pa)}: mTLS mode is ${mode}; production needs STRICT (mtlsMode)`);
        }
    },
};

/** True when every label the selector asks for is among the labels. */
function selects(matchLabels: Record<string, string> | undefined, labels: Record<string, string>): boolean {
    return Object.entries(matchLabels ?? {}).every(([k, v]) => labels[k] === v);
}

interface PodOwner {
    metadata?: { name?: string; namespace?: string };
    spec?: { selector?: Record<string, string>; template?: { metadata?: { labels?: Record<string, string> } } };
}

export const productionAuthorizationPolicy: StackValidationPolicy = {
    name: POLICY.authorization,
    description:
        "Production: every Deployment behind a DestinationRule's host is selected by an AuthorizationPolicy (authorizationPolicy on).",
    enforcementLevel: DEFAULT_LEVELS[POLICY.authorization],
    validateStack: (args: StackValidationArgs, report: ReportViolation) => {
        const policies = ofKind<AuthorizationPolicySpec>(args.resources, "security", "AuthorizationPolicy").map(
            (r) => r.m,
        );
        const ofType = (type: string) =>
            args.resources.filter((r) => r.type === type).map((r) => ({ urn: r.urn, k: r.props as PodOwner }));
        const services = ofType(SERVICE);
        const deployments = ofType(DEPLOYMENT);
        for (const { m: rule } of ofKind<DestinationRuleSpec>(args.resources, "networking", "DestinationRule")) {
            const ns = rule.metadata?.namespace;
            // The host is the Service's short name or its FQDN (<name>.<namespace>.svc.<domain>).
            const service = services.find(
                (s) => s.k.metadata?.namespace === ns && s.k.metadata?.name === rule.spec?.host?.split(".")[0],
            );
            if (!service) {
                continue;
            }
            for (const { urn, k: d } of deployments) {
                const labels = d.spec?.template?.metadata?.labels ?? {};
                if (d.metadata?.namespace !== ns || !selects(service.k.spec?.selector, labels)) {
                    continue;
                }
                // A policy without a selector covers the whole namespace.
                const covered = policies.some(
                    (p) => p.metadata?.namespace === ns && selects(p.spec?.selector?.matchLabels, labels),
                );
                if (!covered) {
                    report(
                        `Deployment ${objectName(d)} (behind DestinationRule ${objectName(rule)}): its pods are ` +
                            `selected by no AuthorizationPolicy; production needs one (authorizationPolicy true)`,
                        urn,
                    );
                }
            }
        }
    },
};

export const productionNoFaultInjection: ResourceValidationPolicy = {
    name: POLICY.noFault,
    description: "Production: no VirtualService route injects faults (delays or aborts).",
    enforcementLevel: DEFAULT_LEVELS[POLICY.noFault],
    validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
        if (!isIstio(args.type, "networking", "VirtualService")) {
            return;
        }
        const vs = args.props as Manifest<VirtualServiceSpec>;
        const faulty = (vs.spec?.http ?? []).filter((r) => r.fault).map((r, i) => r.name ?? `#${i}`);
        if (faulty.length > 0) {
            report(
                `VirtualService ${objectName(vs)}: route ${faulty.join(", ")} injects faults; production allows none ` +
                    "(unset faultDelay and faultAbortStatus)",
            );
        }
    },
};

export const productionDeletionProtection: ResourceValidationPolicy = {
    name: POLICY.deletionProtection,
    description:
        "Production: the ACK cluster has deletion protection on, and the cluster and the ASM mesh are protected from pulumi destroy (mode=create).",
    enforcementLevel: DEFAULT_LEVELS[POLICY.deletionProtection],
    validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
        if (args.type === MANAGED_KUBERNETES && args.props.deletionProtection !== true) {
            report(`ACK cluster ${args.name}: deletionProtection is off; production needs it on (deletionProtection)`);
        }
        if ((args.type === MANAGED_KUBERNETES || args.type === SERVICE_MESH) && !args.opts.protect) {
            report(
                `${args.type} ${args.name}: not protected (Pulumi protect); production needs it (deletionProtection)`,
            );
        }
    },
};

export const productionPrivateApiEndpoint: ResourceValidationPolicy = {
    name: POLICY.privateApi,
    description:
        "Production: neither the ACK cluster's nor the ASM mesh's Kubernetes API server has a public endpoint (mode=create).",
    enforcementLevel: DEFAULT_LEVELS[POLICY.privateApi],
    validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
        // ACK: slbInternetEnabled puts an EIP on the API server's SLB; ASM: loadBalancer.apiServerPublicEip
        // (node_modules/@pulumi/alicloud/cs/managedKubernetes.d.ts, types/input.d.ts ServiceMeshLoadBalancer).
        if (args.type === MANAGED_KUBERNETES && args.props.slbInternetEnabled === true) {
            report(
                `ACK cluster ${args.name}: its API server has a public endpoint (slbInternetEnabled); production ` +
                    "keeps it private (apiServerPublic false)",
            );
        }
        const lb = args.props.loadBalancer as { apiServerPublicEip?: boolean } | undefined;
        if (args.type === SERVICE_MESH && lb?.apiServerPublicEip === true) {
            report(
                `ASM mesh ${args.name}: its API server has a public endpoint (loadBalancer.apiServerPublicEip); ` +
                    "production keeps it private (meshApiServerPublic false)",
            );
        }
    },
};

export const productionEgressRegistryOnly: ResourceValidationPolicy = {
    name: POLICY.egress,
    description:
        "Production: the mesh lets sidecars reach only hosts in its registry (outboundTrafficPolicy REGISTRY_ONLY; mode=create).",
    enforcementLevel: DEFAULT_LEVELS[POLICY.egress],
    validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
        if (args.type !== SERVICE_MESH) {
            return;
        }
        const mc = args.props.meshConfig as { outboundTrafficPolicy?: string } | undefined;
        const policy = mc?.outboundTrafficPolicy ?? "(unset: ASM's default ALLOW_ANY)";
        if (policy !== "REGISTRY_ONLY") {
            report(
                `ASM mesh ${args.name}: outboundTrafficPolicy is ${policy}; production should be REGISTRY_ONLY ` +
                    "(outboundTrafficPolicy, with egressHosts for the external hosts needed)",
            );
        }
    },
};

// ---------------------------------------------------------------------------------------------------
// Workloads
// ---------------------------------------------------------------------------------------------------

interface Container {
    name?: string;
    resources?: { limits?: Record<string, string> };
    readinessProbe?: object;
}
interface DeploymentProps {
    metadata?: { name?: string; namespace?: string };
    spec?: {
        template?: {
            metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
            spec?: { containers?: Container[] };
        };
    };
}

/** Problems of one Deployment in a mesh namespace (`injected`: the namespace has the injection label). */
export function deploymentProblems(d: DeploymentProps, namespaceInjects: boolean): string[] {
    const name = `Deployment ${objectName(d)}`;
    const pod = d.spec?.template;
    const problems: string[] = [];
    // A pod-level sidecar.istio.io/inject label (or the older annotation) overrides the namespace's label
    // (https://istio.io/latest/docs/setup/additional-setup/sidecar-injection/#controlling-the-injection-policy).
    const override =
        pod?.metadata?.labels?.["sidecar.istio.io/inject"] ?? pod?.metadata?.annotations?.["sidecar.istio.io/inject"];
    if (override === "false" || (!namespaceInjects && override !== "true")) {
        problems.push(`${name}: its pods get no sidecar (namespace label or sidecar.istio.io/inject)`);
    }
    for (const c of pod?.spec?.containers ?? []) {
        if (Object.keys(c.resources?.limits ?? {}).length === 0) {
            problems.push(`${name}: container ${c.name} has no resource limits`);
        }
        if (!c.readinessProbe) {
            problems.push(`${name}: container ${c.name} has no readiness probe`);
        }
    }
    return problems;
}

export const meshDeploymentHygiene: StackValidationPolicy = {
    name: POLICY.deployments,
    description:
        "Every Deployment in a mesh namespace (one holding Istio objects) is sidecar-injected and has resource limits and a readiness probe.",
    enforcementLevel: DEFAULT_LEVELS[POLICY.deployments],
    validateStack: (args: StackValidationArgs, report: ReportViolation) => {
        const meshNamespaces = new Set<string | undefined>(
            args.resources
                .filter((r) => r.type.startsWith("kubernetes:") && r.type.includes(".istio.io/"))
                .map((r) => (r.props as Manifest<unknown>).metadata?.namespace),
        );
        const injecting = new Set(
            args.resources
                .filter((r) => r.type === NAMESPACE)
                .map((r) => r.props as { metadata?: { name?: string; labels?: Record<string, string> } })
                .filter((n) => selects(INJECTION_LABEL, n.metadata?.labels ?? {}))
                .map((n) => n.metadata?.name),
        );
        for (const r of args.resources.filter((x) => x.type === DEPLOYMENT)) {
            const d = r.props as DeploymentProps;
            const ns = d.metadata?.namespace;
            if (meshNamespaces.has(ns)) {
                deploymentProblems(d, injecting.has(ns)).forEach((p) => report(p, r.urn));
            }
        }
    },
};

/** Every policy of the pack, in the order docs/policies.md lists them. */
export const POLICIES = [
    canaryRouteSubsets,
    canaryWeightStep,
    productionMtlsStrict,
    productionAuthorizationPolicy,
    productionNoFaultInjection,
    productionDeletionProtection,
    productionPrivateApiEndpoint,
    productionEgressRegistryOnly,
    meshDeploymentHygiene,
];
