/**
 * The routing policy of every canary service, as the stack config shapes it (config/stackConfig.ts) and the
 * route builders render it (mesh/canaryRouting.ts). Retries and outlier detection are Istio's own types.
 */
import type { DestinationRuleSpec, VirtualServiceSpec } from "../istio/manifests";
import type { FaultInjection, FaultScope } from "./features";
import type { ServiceSpec } from "./services";

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
    /** Fault injection: on the header route to the canary ("canary") or on every route ("service"). */
    readonly fault?: { readonly scope: FaultScope; readonly injection: FaultInjection };
    /** Percent (1-100) of the weighted route's requests also sent to the canary as shadow traffic. */
    readonly mirrorPercent?: number;
}

/**
 * The policy one service is routed by: the stack's, with the service's own weight and header override
 * where its config gives them (a demo service takes the stack's), and nothing that targets an idle canary.
 */
export function routingFor(stack: RoutingPolicy, service: ServiceSpec): RoutingPolicy {
    if (service.kind === "demo") {
        return stack;
    }
    const own: RoutingPolicy = {
        ...stack,
        canaryWeight: service.canaryWeight ?? stack.canaryWeight,
        header: service.header ?? stack.header,
    };
    // A brought service's replicas are the user's: its availability check (mesh/existingWorkloads.ts) gates it.
    if (service.kind === "existing" || service.canary.replicas > 0) {
        return own;
    }
    // An idle canary (0 replicas, between releases) has no pods: a header route to it would answer every
    // matching request with a 503 ("no healthy upstream"), and mirrored requests would go nowhere. So while it
    // idles the route has neither (a fault scoped to the canary lives on the header route and goes with it);
    // they come back with the next release's canary replicas, in the same up that starts its pods, and the
    // route waits for those pods (mesh/canaryRouting.ts). config/stackConfig.ts refuses weight on it.
    const { header: _header, mirrorPercent: _mirror, ...rest } = own;
    return rest;
}
