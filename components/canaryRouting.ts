import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { DestinationRuleSpec, IstioApiVersion, istioManifest, Manifest, VirtualServiceSpec } from "../lib/istio";
import { MeshTarget } from "../lib/meshTarget";

export interface Subset {
    /** Subset name, e.g. "v1". */
    readonly name: string;
    /** Pod labels that select it, e.g. { version: "v1" }. */
    readonly labels: Record<string, string>;
}

export interface RoutingPolicy {
    /** Percent of requests (0-100) sent to the canary subset; the rest goes to the stable one. */
    readonly canaryWeight: number;
    /** Requests carrying this header with this exact value always go to the canary. */
    readonly header?: { readonly name: string; readonly value: string };
    /** Overall request timeout, e.g. "5s". */
    readonly timeout?: string;
    /** Retry policy. */
    readonly retries?: { readonly attempts: number; readonly perTryTimeout?: string; readonly retryOn?: string };
    /** Outlier detection (passive health checking) for both subsets. */
    readonly outlierDetection?: { readonly consecutive5xxErrors: number; readonly interval: string; readonly baseEjectionTime: string };
}

export interface CanaryRoutingArgs extends RoutingPolicy {
    /** The Kubernetes Service (short name) in `namespace` to route. */
    readonly service: string;
    readonly namespace: string;
    readonly stable: Subset;
    readonly canary: Subset;
    readonly apiVersion: IstioApiVersion;
    /** Where to apply; the objects wait for `target.dependsOn` (the mesh attachment) and `dependsOn`. */
    readonly target: MeshTarget;
    readonly dependsOn?: pulumi.Resource[];
}

/** The weighted destinations: both subsets always present, weights summing to 100. */
export function routeWeights(service: string, stable: string, canary: string, canaryWeight: number) {
    if (!Number.isInteger(canaryWeight) || canaryWeight < 0 || canaryWeight > 100) {
        throw new Error(`canaryWeight: got ${JSON.stringify(canaryWeight)}; must be a whole number from 0 to 100`);
    }
    return [
        { destination: { host: service, subset: stable }, weight: 100 - canaryWeight },
        { destination: { host: service, subset: canary }, weight: canaryWeight },
    ];
}

export function destinationRuleManifest(a: Omit<CanaryRoutingArgs, "target" | "dependsOn">): Manifest<DestinationRuleSpec> {
    const spec: DestinationRuleSpec = {
        host: a.service,
        subsets: [a.stable, a.canary].map((s) => ({ name: s.name, labels: { ...s.labels } })),
    };
    if (a.outlierDetection) {
        spec.trafficPolicy = { outlierDetection: { ...a.outlierDetection } };
    }
    return istioManifest("DestinationRule", a.apiVersion, { name: a.service, namespace: a.namespace }, spec);
}

export function virtualServiceManifest(a: Omit<CanaryRoutingArgs, "target" | "dependsOn">): Manifest<VirtualServiceSpec> {
    const common: Record<string, unknown> = {};
    if (a.timeout) {
        common.timeout = a.timeout;
    }
    if (a.retries) {
        common.retries = { ...a.retries };
    }
    type HttpRoute = NonNullable<VirtualServiceSpec["http"]>[number];
    const http: HttpRoute[] = [];
    if (a.header) {
        http.push({
            name: "canary-override",
            match: [{ headers: { [a.header.name]: { exact: a.header.value } } }],
            route: [{ destination: { host: a.service, subset: a.canary.name }, weight: 100 }],
            ...common,
        });
    }
    http.push({ name: "weighted", route: routeWeights(a.service, a.stable.name, a.canary.name, a.canaryWeight), ...common });
    return istioManifest("VirtualService", a.apiVersion, { name: a.service, namespace: a.namespace }, { hosts: [a.service], http });
}

/**
 * Canary routing for one service: a DestinationRule with one subset per version and a VirtualService
 * that splits traffic by weight (plus an optional header override, timeout, retries, outlier detection).
 */
export class CanaryRouting extends pulumi.ComponentResource {
    /** Weight in force per subset name, e.g. { v1: 90, v2: 10 }. */
    public readonly weights: Record<string, number>;
    public readonly destinationRule: k8s.apiextensions.CustomResource;
    public readonly virtualService: k8s.apiextensions.CustomResource;

    constructor(name: string, args: CanaryRoutingArgs, opts?: pulumi.ComponentResourceOptions) {
        super("asmcanary:mesh:CanaryRouting", name, {}, opts);
        const child = { parent: this, provider: args.target.provider };
        const dependsOn = [...args.target.dependsOn, ...(args.dependsOn ?? [])];

        this.destinationRule = new k8s.apiextensions.CustomResource(`${name}-dr`, destinationRuleManifest(args), { ...child, dependsOn });
        // Subsets first: the VirtualService must never reference a subset that does not exist yet
        // (istio.io/latest/docs/ops/best-practices/traffic-management/#avoid-503-errors-while-reconfiguring-service-routes).
        this.virtualService = new k8s.apiextensions.CustomResource(`${name}-vs`, virtualServiceManifest(args), {
            ...child,
            dependsOn: [...dependsOn, this.destinationRule],
        });

        this.weights = { [args.stable.name]: 100 - args.canaryWeight, [args.canary.name]: args.canaryWeight };
        this.registerOutputs({ weights: this.weights });
    }
}
