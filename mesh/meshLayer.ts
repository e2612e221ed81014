/**
 * The mesh layer, the same in both modes: the sidecar-injected namespace, the workloads, the features'
 * mesh-side objects, a CanaryRouting per service and the security policies, on the foundation's target
 * (behind the readiness gate). It declares the components at the stack's root, as index.ts did before it
 * was thinned (their URNs are unchanged), and returns the layer's stack outputs.
 */
import type * as pulumi from "@pulumi/pulumi";
import { GATEWAY_NAMESPACE, ingressHost, INGRESS_GATEWAY_POD_LABELS } from "../config/features";
import type { StackConfig } from "../config/stackConfig";
import type { Foundation, MeshTarget } from "../foundation/meshTarget";
import { AccessLogging } from "./accessLogging";
import { CanaryRouting } from "./canaryRouting";
import { DemoWorkloads } from "./demoWorkloads";
import { MeshEgress } from "./meshEgress";
import { MeshIngress } from "./meshIngress";
import { MeshNamespace } from "./meshNamespace";
import { MeshSecurity } from "./meshSecurity";
import { verificationCommands } from "./verify";
import { featureVerification } from "./verifyFeatures";

export function meshLayer(cfg: StackConfig, target: MeshTarget, foundation: Foundation): Record<string, unknown> {
    const namespace = new MeshNamespace("namespace", { name: cfg.namespace, target });
    const workloads = new DemoWorkloads("demo", {
        namespace,
        services: cfg.services,
        image: cfg.appImage,
        replicas: cfg.replicas,
        stableText: cfg.stableText,
        canaryText: cfg.canaryText,
        clientImage: cfg.clientImage,
    });
    // --- mesh features, mesh side: each object exists only while its switch is on ---
    const hosts = cfg.services.map((s) => ingressHost(s, cfg.ingressDomain));
    const meshIngress = meshFeatures(cfg, namespace, hosts);
    const routes = workloads.apps.map(
        (app) =>
            new CanaryRouting(`route-${app.name}`, {
                app,
                namespace,
                policy: cfg.routing,
                apiVersion: cfg.istioApiVersion,
                ingress: meshIngress
                    ? { gateway: meshIngress.gatewayRef, host: ingressHost(app.name, cfg.ingressDomain) }
                    : undefined,
            }),
    );
    const security = new MeshSecurity("security", {
        namespace,
        mtlsMode: cfg.mtlsMode,
        authorization: cfg.authorizationPolicy
            ? {
                  apps: workloads.apps,
                  allowedClient: workloads.client,
                  // Gateway traffic must still reach the services: the gateway's proxies are admitted too.
                  allowedGatewayNamespace: cfg.ingressGateway ? GATEWAY_NAMESPACE : undefined,
              }
            : undefined,
        apiVersion: cfg.istioApiVersion,
    });

    const outputs: Record<string, pulumi.Input<unknown>> = {
        namespace: namespace.name,
        services: workloads.apps.map((a) => a.name),
        weights: routes[0].weights,
        mtlsMode: security.mtlsMode,
        authorizationPolicy: cfg.authorizationPolicy,
        ...(cfg.ingressGateway ? { ingressHosts: hosts } : {}),
        verify: verification(cfg, workloads.client.name, foundation),
    };
    return outputs;
}

/** The `verify` output: commands that show each switched-on behaviour working on the cluster. */
function verification(cfg: StackConfig, client: string, foundation: Foundation): Record<string, unknown> {
    return {
        ...verificationCommands(
            cfg.namespace,
            cfg.services,
            client,
            cfg.routing.header,
            "kubeconfig" in foundation.outputs,
        ),
        ...featureVerification({
            namespace: cfg.namespace,
            services: cfg.services,
            client,
            header: cfg.routing.header,
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

/** The features' mesh-side objects (ingress, egress, access logging), each only while its switch is on. */
function meshFeatures(cfg: StackConfig, namespace: MeshNamespace, hosts: string[]): MeshIngress | undefined {
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
    return meshIngress;
}
