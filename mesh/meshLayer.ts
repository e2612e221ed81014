/**
 * The mesh layer, the same in both modes: the sidecar-injected namespace, the workloads, the features'
 * mesh-side objects, a CanaryRouting per service and the security policies, on the foundation's target
 * (behind the readiness gate). It declares the components at the stack's root, as index.ts did before it
 * was thinned (their URNs are unchanged), and returns the layer's stack outputs and its VirtualServices.
 */
import * as pulumi from "@pulumi/pulumi";
import { GATEWAY_NAMESPACE, ingressHost, INGRESS_GATEWAY_POD_LABELS } from "../config/features";
import { CANARY, STABLE } from "../config/constants";
import { routingFor } from "../config/routing";
import type { StackConfig } from "../config/stackConfig";
import type { Foundation, MeshTarget } from "../foundation/meshTarget";
import { AccessLogging } from "./accessLogging";
import { CanaryRouting } from "./canaryRouting";
import type { CanaryApp, DemoClient, MeshCaller } from "./app";
import { DemoWorkloads } from "./demoWorkloads";
import { ExistingWorkloads } from "./existingWorkloads";
import { MeshEgress } from "./meshEgress";
import { MeshIngress } from "./meshIngress";
import { MeshNamespace } from "./meshNamespace";
import { MeshSecurity } from "./meshSecurity";
import { ServiceWorkloads } from "./serviceWorkloads";
import { verificationCommands } from "./verify";
import { featureVerification } from "./verifyFeatures";

/** What the mesh layer hands program.ts: its stack outputs, and the routes a weight step changes. */
export interface MeshLayer {
    outputs: Record<string, unknown>;
    /** Every service's VirtualService (program.ts waits for them before declaring a gate that has passed already). */
    virtualServices: pulumi.Resource[];
}

export function meshLayer(cfg: StackConfig, target: MeshTarget, foundation: Foundation): MeshLayer {
    const namespace = new MeshNamespace("namespace", { name: cfg.namespace, target });
    const { apps, client, routeDeclared } = workloads(cfg, namespace, foundation);
    const meshIngress = meshFeatures(cfg, namespace, apps);
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
        apps,
        authorization: cfg.authorizationPolicy
            ? {
                  allowedCallers: allowedCallers(cfg, client?.serviceAccount),
                  // Gateway traffic must still reach the services: the gateway's proxies are admitted too.
                  allowedGatewayNamespace: cfg.ingressGateway ? GATEWAY_NAMESPACE : undefined,
              }
            : undefined,
        apiVersion: cfg.istioApiVersion,
    });
    const serviceNames = apps.map((a) => a.name);
    const outputs = {
        namespace: namespace.name,
        services: serviceNames,
        weights: routes[0].weights,
        // Only for stacks with a service of their own: a demo stack's outputs stay as they were.
        ...(cfg.services.some((s) => s.kind !== "demo")
            ? { serviceWeights: Object.fromEntries(routes.map((r, i) => [serviceNames[i], r.weights])) }
            : {}),
        // Where a brought-your-own service runs, for promote's metrics (destination_workload_namespace and
        // destination_workload are the Deployment's namespace and name): only when there is one.
        ...(apps.some((a) => a.namespace !== undefined)
            ? {
                  existingServices: Object.fromEntries(
                      apps
                          .filter((a) => a.namespace !== undefined)
                          .map((a) => [
                              a.name,
                              {
                                  namespace: a.namespace,
                                  stable: a.versions[STABLE].name,
                                  canary: a.versions[CANARY].name,
                              },
                          ]),
                  ),
              }
            : {}),
        mtlsMode: security.mtlsMode,
        authorizationPolicy: cfg.authorizationPolicy,
        ...(cfg.ingressGateway ? { ingressHosts: serviceNames.map((s) => ingressHost(s, cfg.ingressDomain)) } : {}),
        verify: verification(cfg, apps[0], client, foundation),
    };
    return { outputs, virtualServices: routes.map((r) => r.virtualService) };
}

/**
 * The workloads, in config order: the demo (http-echo services and the curl client) keeps its component and
 * names, so an existing stack that canaries the demo sees no change; each described service gets its own;
 * a brought-your-own service gets no workload at all, only its availability check (mesh/existingWorkloads.ts).
 * `routeDeclared` resolves a described service's route once it is declared (ServiceWorkloadsArgs.route).
 */
function workloads(
    cfg: StackConfig,
    namespace: MeshNamespace,
    foundation: Foundation,
): { apps: CanaryApp[]; client?: DemoClient; routeDeclared: Map<string, (route: pulumi.Resource) => void> } {
    const demoNames = cfg.services.flatMap((s) => (s.kind === "demo" ? [s.name] : []));
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
    const routeDeclared = new Map<string, (route: pulumi.Resource) => void>();
    const apps = cfg.services.map((s) => {
        switch (s.kind) {
            case "demo":
                return demo!.apps.find((a) => a.name === s.name)!;
            case "described":
                return new ServiceWorkloads(`service-${s.name}`, {
                    namespace,
                    service: s,
                    route: new Promise<pulumi.Resource>((resolve) => routeDeclared.set(s.name, resolve)),
                }).app;
            case "existing":
                return new ExistingWorkloads(`existing-${s.name}`, {
                    service: s,
                    policy: routingFor(cfg.routing, s),
                    access: foundation.access,
                    namespace,
                }).app;
        }
    });
    return { apps, client: demo?.client, routeDeclared };
}

/** The features' mesh-side objects, each only while its switch is on; returns the ingress, if on. */
function meshFeatures(cfg: StackConfig, namespace: MeshNamespace, apps: CanaryApp[]): MeshIngress | undefined {
    if (cfg.egressHosts.length > 0) {
        new MeshEgress("egress", { namespace, hosts: cfg.egressHosts, apiVersion: cfg.istioApiVersion });
    }
    if (cfg.accessLogs) {
        new AccessLogging("access-logging", { namespace, apiVersion: cfg.istioApiVersion });
    }
    return cfg.ingressGateway
        ? new MeshIngress("ingress", {
              namespace,
              hosts: apps.map((a) => ingressHost(a.name, cfg.ingressDomain)),
              gatewayPodLabels: INGRESS_GATEWAY_POD_LABELS,
              apiVersion: cfg.istioApiVersion,
          })
        : undefined;
}

/** The `verify` output: copy-paste checks on the first service, from the demo client when it runs. */
function verification(
    cfg: StackConfig,
    first: CanaryApp,
    client: DemoClient | undefined,
    foundation: Foundation,
): Record<string, string> {
    const header = routingFor(cfg.routing, cfg.services[0]).header;
    return {
        ...verificationCommands(cfg.namespace, first, client?.name, header, "kubeconfig" in foundation.outputs),
        ...featureVerification({
            namespace: cfg.namespace,
            service: first,
            client: client?.name,
            header,
            ingress: cfg.ingressGateway
                ? { domain: cfg.ingressDomain, addressOutput: "ingressAddress" in foundation.outputs }
                : undefined,
            egressHosts: cfg.egressHosts,
            registryOnly: cfg.outboundTrafficPolicy === "REGISTRY_ONLY",
            accessLogs: cfg.accessLogs,
            fault: cfg.routing.fault !== undefined,
            mirror: cfg.routing.mirrorPercent !== undefined,
        }),
    };
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
