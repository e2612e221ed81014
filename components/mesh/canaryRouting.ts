import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { CANARY, componentType, IstioApiVersion, STABLE, withLegacyType } from "../../lib/constants";
import { DestinationRuleSpec, istioManifest, Manifest, VirtualServiceSpec } from "../../lib/istio";
import { DemoApp } from "./demoWorkloads";
import { MeshNamespace } from "./meshNamespace";

type HttpRoute = NonNullable<VirtualServiceSpec["http"]>[number];
type TrafficPolicy = NonNullable<DestinationRuleSpec["trafficPolicy"]>;
/** Istio's HTTPRetry, as the upstream schema types it. */
type RetryPolicy = NonNullable<HttpRoute["retries"]>;
/** Istio's OutlierDetection, as the upstream schema types it. */
type OutlierDetection = NonNullable<TrafficPolicy["outlierDetection"]>;

export interface RoutingPolicy {
    /** Percent of requests (0-100) sent to the canary subset; the rest goes to the stable one. */
    readonly canaryWeight: number;
    /** Requests carrying this header with this exact value always go to the canary. */
    readonly header?: { readonly name: string; readonly value: string };
    /** Overall request timeout, e.g. "5s". */
    readonly timeout?: string;
    /** Retry policy. */
    readonly retries?: RetryPolicy;
    /** Outlier detection (passive health checking) for both subsets. */
    readonly outlierDetection?: OutlierDetection;
}

/** What the route builders need: the service, its two versions' subsets, the namespace, the policy. */
export interface RouteTarget {
    /** The Service (short name) to route; also the Istio host. */
    readonly service: string;
    readonly namespace: string;
    /** Subset name -> the pod labels that select it, stable first. */
    readonly subsets: { readonly name: string; readonly labels: Readonly<Record<string, string>> }[];
    readonly apiVersion: IstioApiVersion;
    readonly policy: RoutingPolicy;
}

export interface CanaryRoutingArgs {
    /** The demo service to route: its Service and the Deployments whose pods the subsets select. */
    readonly app: DemoApp;
    /** The namespace component the objects live in (and wait for). */
    readonly namespace: MeshNamespace;
    readonly policy: RoutingPolicy;
    readonly apiVersion: IstioApiVersion;
}

/** The route builders' view of a demo service: the subsets come from the workloads' own pod labels. */
function routeTarget(args: CanaryRoutingArgs): RouteTarget {
    return {
        service: args.app.name,
        namespace: args.namespace.name,
        subsets: ([STABLE, CANARY] as const).map((v) => ({ name: v, labels: args.app.versions[v].subsetLabels })),
        apiVersion: args.apiVersion,
        policy: args.policy,
    };
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

export function destinationRuleManifest(t: RouteTarget): Manifest<DestinationRuleSpec> {
    const spec: DestinationRuleSpec = {
        host: t.service,
        subsets: t.subsets.map((s) => ({ name: s.name, labels: { ...s.labels } })),
    };
    if (t.policy.outlierDetection) {
        spec.trafficPolicy = { outlierDetection: { ...t.policy.outlierDetection } };
    }
    return istioManifest("DestinationRule", t.apiVersion, { name: t.service, namespace: t.namespace }, spec);
}

export function virtualServiceManifest(t: RouteTarget): Manifest<VirtualServiceSpec> {
    const [stable, canary] = t.subsets.map((s) => s.name);
    const p = t.policy;
    const common: Pick<HttpRoute, "timeout" | "retries"> = {};
    if (p.timeout) {
        common.timeout = p.timeout;
    }
    if (p.retries) {
        common.retries = { ...p.retries };
    }
    const http: HttpRoute[] = [];
    if (p.header) {
        http.push({
            name: "canary-override",
            match: [{ headers: { [p.header.name]: { exact: p.header.value } } }],
            route: [{ destination: { host: t.service, subset: canary }, weight: 100 }],
            ...common,
        });
    }
    http.push({ name: "weighted", route: routeWeights(t.service, stable, canary, p.canaryWeight), ...common });
    return istioManifest(
        "VirtualService",
        t.apiVersion,
        { name: t.service, namespace: t.namespace },
        { hosts: [t.service], http },
    );
}

/** Weight per subset of the route that unmatched requests take (the VirtualService's last HTTP route). */
function weightsOf(vs: Manifest<VirtualServiceSpec>): Record<string, number> {
    const route = vs.spec.http?.at(-1)?.route ?? [];
    return Object.fromEntries(route.map((r) => [r.destination?.subset ?? r.destination?.host ?? "", r.weight ?? 0]));
}

/**
 * Canary routing for one service: a DestinationRule with one subset per version and a VirtualService
 * that splits traffic by weight (plus an optional header override, timeout, retries, outlier detection).
 */
export class CanaryRouting extends pulumi.ComponentResource {
    /** Weight in force per subset name, e.g. { v1: 90, v2: 10 }, read from the VirtualService's route. */
    public readonly weights: Record<string, number>;
    public readonly destinationRule: k8s.apiextensions.CustomResource;
    public readonly virtualService: k8s.apiextensions.CustomResource;

    constructor(name: string, args: CanaryRoutingArgs, opts?: pulumi.ComponentResourceOptions) {
        super(componentType("mesh", "CanaryRouting"), name, {}, withLegacyType("asmcanary:mesh:CanaryRouting", opts));
        const target = routeTarget(args);
        const vs = virtualServiceManifest(target);
        this.destinationRule = new k8s.apiextensions.CustomResource(
            `${name}-dr`,
            destinationRuleManifest(target),
            args.namespace.childOptions(this),
        );
        // Subsets first: the VirtualService must never reference a subset that does not exist yet
        // (istio.io/latest/docs/ops/best-practices/traffic-management/#avoid-503-errors-while-reconfiguring-service-routes).
        this.virtualService = new k8s.apiextensions.CustomResource(
            `${name}-vs`,
            vs,
            args.namespace.childOptions(this, [this.destinationRule]),
        );
        this.weights = weightsOf(vs);
        this.registerOutputs({ weights: this.weights });
    }
}
