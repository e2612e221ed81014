import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { CANARY, componentType, STABLE, withLegacyType } from "../config/constants";
import type { FaultScope } from "../config/features";
import type { RoutingPolicy } from "../config/routing";
import { DestinationRuleSpec, IstioApiVersion, istioManifest, Manifest, VirtualServiceSpec } from "../istio/manifests";
import { CanaryApp } from "./app";
import { istioResource } from "./istioResource";
import { MeshNamespace } from "./meshNamespace";

type HttpRoute = NonNullable<VirtualServiceSpec["http"]>[number];

/** Publishing a service on the ingress gateway: the Gateway (namespace/name) and the external host. */
export interface IngressBinding {
    readonly gateway: string;
    readonly host: string;
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
    /** When set, the VirtualService also serves this host on this gateway (same routes, same weights). */
    readonly ingress?: IngressBinding;
}

export interface CanaryRoutingArgs {
    /** The service to route: its Service and the Deployments whose pods the subsets select. */
    readonly app: CanaryApp;
    /** The namespace component the objects live in (and wait for). */
    readonly namespace: MeshNamespace;
    readonly policy: RoutingPolicy;
    readonly apiVersion: IstioApiVersion;
    /** Also route this service's external host on the ingress gateway. */
    readonly ingress?: IngressBinding;
}

/** The route builders' view of a service: the subsets come from the versions' own pod labels. */
function routeTarget(args: CanaryRoutingArgs): RouteTarget {
    return {
        service: args.app.name,
        // A brought-your-own service's routing lives next to it: a VirtualService's short host is resolved
        // in the VirtualService's own namespace (istio.io/latest/docs/reference/config/networking/virtual-service/#VirtualService, hosts).
        namespace: args.app.namespace ?? args.namespace.name,
        subsets: ([STABLE, CANARY] as const).map((v) => ({ name: v, labels: args.app.versions[v].subsetLabels })),
        apiVersion: args.apiVersion,
        policy: args.policy,
        ingress: args.ingress,
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
    // Istio applies a fault on the client side and then drops the route's timeout and retries
    // (istio/api networking/v1alpha3/virtual_service.proto, HTTPRoute.fault); config/stackConfig.ts refuses the pair.
    const fault = (scopes: FaultScope[]): Pick<HttpRoute, "fault"> =>
        p.fault && scopes.includes(p.fault.scope) ? { fault: structuredClone(p.fault.injection) } : {};
    const http: HttpRoute[] = [];
    if (p.header) {
        http.push({
            name: "canary-override",
            match: [{ headers: { [p.header.name]: { exact: p.header.value } } }],
            route: [{ destination: { host: t.service, subset: canary }, weight: 100 }],
            ...common,
            ...fault(["canary", "service"]),
        });
    }
    // Shadow traffic: `mirror` + `mirrorPercentage`, which every Istio 1.2x serves (`mirrors` needs 1.19+ and
    // is not in the 1.18 schema this program validates against). Mirrored requests are fire-and-forget and
    // count in the canary's metrics (docs/features.md).
    const mirror: Pick<HttpRoute, "mirror" | "mirrorPercentage"> = p.mirrorPercent
        ? { mirror: { host: t.service, subset: canary }, mirrorPercentage: { value: p.mirrorPercent } }
        : {};
    http.push({
        name: "weighted",
        route: routeWeights(t.service, stable, canary, p.canaryWeight),
        ...common,
        ...fault(["service"]),
        ...mirror,
    });
    // Bound to the ingress gateway as well, the same routes (weights, header override) serve external
    // traffic; "mesh" must then be listed, or sidecars stop applying the routes (VirtualService.gateways).
    const spec: VirtualServiceSpec = t.ingress
        ? { hosts: [t.service, t.ingress.host], gateways: ["mesh", t.ingress.gateway], http }
        : { hosts: [t.service], http };
    return istioManifest("VirtualService", t.apiVersion, { name: t.service, namespace: t.namespace }, spec);
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
        this.destinationRule = istioResource(
            `${name}-dr`,
            destinationRuleManifest(target),
            args.namespace.childOptions(this),
        );
        // Subsets first: the VirtualService must never reference a subset that does not exist yet
        // (istio.io/latest/docs/ops/best-practices/traffic-management/#avoid-503-errors-while-reconfiguring-service-routes).
        // And the versions' Deployments first: the Kubernetes provider waits for a created or updated
        // Deployment to be Available, so new weight never reaches pods that are not ready (a release's new
        // stable image rolls out while the canary still holds the traffic). An idle version (0 replicas) is not
        // waited for: it is scaled down after the route instead (mesh/serviceWorkloads.ts). Deployments the
        // program does not own (bring your own) are waited for by their availability check instead.
        const running = Object.values(args.app.versions).flatMap((v) =>
            v.deployment && (v.replicas ?? 0) > 0 ? [v.deployment] : [],
        );
        const availability = args.app.availability ? [args.app.availability] : [];
        this.virtualService = istioResource(
            `${name}-vs`,
            vs,
            args.namespace.childOptions(this, [this.destinationRule, ...running, ...availability]),
        );
        this.weights = weightsOf(vs);
        this.registerOutputs({ weights: this.weights });
    }
}
