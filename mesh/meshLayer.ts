/**
 * The mesh layer, the same in both modes: the sidecar-injected namespace, the workloads, the features'
 * mesh-side objects, a CanaryRouting per service and the security policies, on the foundation's target
 * (behind the readiness gate). It declares the components at the stack's root, as index.ts did before it
 * was thinned (their URNs are unchanged), and returns the layer's stack outputs.
 */
import * as pulumi from "@pulumi/pulumi";
import { GATEWAY_NAMESPACE, ingressHost, INGRESS_GATEWAY_POD_LABELS } from "../config/features";
import { routingFor } from "../config/routing";
import type { StackConfig } from "../config/stackConfig";
import type { Foundation, MeshTarget } from "../foundation/meshTarget";
import { AccessLogging } from "./accessLogging";
import { CanaryRouting } from "./canaryRouting";
import type { CanaryApp, MeshCaller } from "./app";
import { DemoWorkloads } from "./demoWorkloads";
import { MeshEgress } from "./meshEgress";
import { MeshIngress } from "./meshIngress";
import { MeshNamespace } from "./meshNamespace";
import { MeshSecurity } from "./meshSecurity";
import { ServiceWorkloads } from "./serviceWorkloads";
import { verificationCommands } from "./verify";
import { featureVerification } from "./verifyFeatures";

export function meshLayer(cfg: StackConfig, target: MeshTarget, foundation: Foundation): Record<string, unknown> {
    const namespace = new MeshNamespace("namespace", { name: cfg.namespace, target });
    const demoNames = cfg.services.flatMap((s) => (s.kind === "demo" ? [s.name] : []));
    // The demo (http-echo services and the curl client) keeps its component and names: an existing stack
    // that canaries the demo sees no change. Described services get a component each.
    const demo =
        demoNames.length > 0 || cfg.demoClient
            ? new DemoWorkloads("demo", {
                  namespace,
                  services: demoNames,
                  image: cfg.appImage,
                  replicas: cfg.replicas,
                  stableText: cfg.stableText,
                  canaryText: cfg.canaryText,
                  clientImage: cfg.demoClient ? cfg.clientImage : undefined,
              })
            : undefined;
    // Each described service's route, handed to its workloads before it exists (ServiceWorkloadsArgs.route).
    const routeDeclared = new Map<string, (route: pulumi.Resource) => void>();
    const apps: CanaryApp[] = cfg.services.map((s) =>
        s.kind === "demo"
            ? demo!.apps.find((a) => a.name === s.name)!
            : new ServiceWorkloads(`service-${s.name}`, {
                  namespace,
                  service: s,
                  route: new Promise<pulumi.Resource>((resolve) => routeDeclared.set(s.name, resolve)),
              }).app,
    );
    const client = demo?.client;
    const serviceNames = apps.map((a) => a.name);
    // --- mesh features, mesh side: each object exists only while its switch is on ---
    const hosts = serviceNames.map((s) => ingressHost(s, cfg.ingressDomain));
    const meshIngress = cfg.ingressGateway
        ? new MeshIngress("ingress", {
              namespace,
              hosts,
              gatewayPodLabels: INGRESS_GATEWAY_POD_LABELS,
              apiVersion: cfg.istioApiVersion,
          })
        : undefined;
    if (cfg.egressHosts.length > 0) {
        new MeshEgress("egress", { namespace, hosts: cfg.egressHosts, apiVersion: cfg.istioApiVersion });
    }
    if (cfg.accessLogs) {
        new AccessLogging("access-logging", { namespace, apiVersion: cfg.istioApiVersion });
    }
    const routes = apps.map((app, i) => {
        const route = new CanaryRouting(`route-${app.name}`, {
            app,
            namespace,
            policy: routingFor(cfg.routing, cfg.services[i]),
            apiVersion: cfg.istioApiVersion,
            ingress: meshIngress
                ? { gateway: meshIngress.gatewayRef, host: ingressHost(app.name, cfg.ingressDomain) }
                : undefined,
        });
        routeDeclared.get(app.name)?.(route.virtualService);
        return route;
    });
    const security = new MeshSecurity("security", {
        namespace,
        mtlsMode: cfg.mtlsMode,
        authorization: cfg.authorizationPolicy
            ? {
                  apps,
                  allowedCallers: allowedCallers(cfg, client?.serviceAccount),
                  // Gateway traffic must still reach the services: the gateway's proxies are admitted too.
                  allowedGatewayNamespace: cfg.ingressGateway ? GATEWAY_NAMESPACE : undefined,
              }
            : undefined,
        apiVersion: cfg.istioApiVersion,
    });

    const firstRouting = routingFor(cfg.routing, cfg.services[0]);
    const outputs: Record<string, pulumi.Input<unknown>> = {
        namespace: namespace.name,
        services: serviceNames,
        weights: routes[0].weights,
        ...(cfg.services.some((s) => s.kind === "described")
            ? { serviceWeights: Object.fromEntries(routes.map((r, i) => [serviceNames[i], r.weights])) }
            : {}),
        mtlsMode: security.mtlsMode,
        authorizationPolicy: cfg.authorizationPolicy,
        ...(cfg.ingressGateway ? { ingressHosts: hosts } : {}),
        verify: {
            ...verificationCommands(
                cfg.namespace,
                apps[0],
                client?.name,
                firstRouting.header,
                "kubeconfig" in foundation.outputs,
            ),
            ...featureVerification({
                namespace: cfg.namespace,
                service: apps[0],
                client: client?.name,
                header: firstRouting.header,
                ingress: cfg.ingressGateway
                    ? { domain: cfg.ingressDomain, addressOutput: "ingressAddress" in foundation.outputs }
                    : undefined,
                egressHosts: cfg.egressHosts,
                registryOnly: cfg.outboundTrafficPolicy === "REGISTRY_ONLY",
                accessLogs: cfg.accessLogs,
                fault: cfg.routing.fault !== undefined,
                mirror: cfg.routing.mirrorPercent !== undefined,
            }),
        },
    };
    return outputs;
}

/** Who the AuthorizationPolicies admit: the demo client (when it runs) and the callers the config names. */
function allowedCallers(cfg: StackConfig, clientServiceAccount: string | undefined): MeshCaller[] {
    const named = cfg.allowedCallers.map((c): MeshCaller => {
        const [namespace, serviceAccount] = c.split("/");
        return serviceAccount === "*" ? { namespace } : { namespace, serviceAccount };
    });
    return clientServiceAccount
        ? [{ namespace: cfg.namespace, serviceAccount: clientServiceAccount }, ...named]
        : named;
}
