import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { CANARY, componentType, STABLE, Version } from "../config/constants";
import type { DescribedService } from "../config/services";
import { CanaryApp, sharedLabels, subsetLabelsOf, versionLabels, VersionWorkload } from "./app";
import { MeshNamespace } from "./meshNamespace";

export interface ServiceWorkloadsArgs {
    /** The sidecar-injected namespace; every object waits for it, so every pod gets its sidecar. */
    readonly namespace: MeshNamespace;
    /** The service as its config describes it (config/services.ts). */
    readonly service: DescribedService;
    /**
     * The route of this service (its VirtualService), resolved once it is declared: an idle canary (0
     * replicas) is scaled down only after it, so its pods go only once the route no longer sends them weight.
     */
    readonly route: Promise<pulumi.Resource>;
}

/**
 * The readiness probe of one version. HTTP(/2): a GET on the configured path. gRPC: Kubernetes' gRPC
 * probe (stable since 1.27), which calls grpc.health.v1.Health/Check on the port
 * (https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/#define-a-grpc-liveness-probe).
 * Under the sidecar both work unchanged: the injector rewrites HTTP and gRPC probes to go through the
 * pilot-agent, so they pass under STRICT mTLS too (https://istio.io/latest/docs/ops/configuration/mesh/app-health-check/).
 */
function readinessProbe(s: DescribedService): k8s.types.input.core.v1.Probe {
    return s.protocol === "grpc"
        ? { grpc: { port: s.containerPort }, periodSeconds: 5 }
        : { httpGet: { path: s.readinessPath, port: s.containerPort }, periodSeconds: 5 };
}

/** The Deployment spec of one version: its image, replicas and env; the service's port, probe, resources. */
function deploymentSpec(s: DescribedService, version: Version): k8s.types.input.apps.v1.DeploymentSpec {
    const v = version === STABLE ? s.stable : s.canary;
    const labels = versionLabels(s.name, version);
    const env = { ...s.env, ...v.env };
    return {
        replicas: v.replicas,
        selector: { matchLabels: labels },
        template: {
            metadata: { labels },
            spec: {
                serviceAccountName: `${s.name}-${version}`,
                // Safe defaults that every well-behaved image runs with; the sidecar's own containers set theirs.
                securityContext: { seccompProfile: { type: "RuntimeDefault" } },
                containers: [
                    {
                        name: s.name,
                        image: v.image,
                        ...(s.args ? { args: [...s.args] } : {}),
                        ports: [{ name: s.protocol, containerPort: s.containerPort }],
                        env: Object.entries(env).map(([name, value]) => ({ name, value })),
                        resources: {
                            requests: { ...s.resources.requests },
                            limits: { ...s.resources.limits },
                        },
                        readinessProbe: readinessProbe(s),
                        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
                    },
                ],
            },
        },
    };
}

/**
 * A real service described in config: its Service (port named after the protocol, so Istio routes it as
 * HTTP, HTTP/2 or gRPC), and per version a ServiceAccount (its own mesh identity), a Deployment on the
 * version's image and, with two or more replicas, a PodDisruptionBudget.
 */
export class ServiceWorkloads extends pulumi.ComponentResource {
    public readonly app: CanaryApp;

    constructor(name: string, args: ServiceWorkloadsArgs, opts?: pulumi.ComponentResourceOptions) {
        super(componentType("mesh", "ServiceWorkloads"), name, {}, opts);
        const ns = args.namespace;
        const s = args.service;
        const versions = {} as Record<Version, VersionWorkload>;
        for (const version of [STABLE, CANARY] as const) {
            const workload = `${s.name}-${version}`;
            const podLabels = versionLabels(s.name, version);
            const sa = new k8s.core.v1.ServiceAccount(
                `${name}-${version}-sa`,
                { metadata: { name: workload, namespace: ns.name } },
                ns.childOptions(this),
            );
            const replicas = (version === STABLE ? s.stable : s.canary).replicas;
            // A version with replicas waits only for its ServiceAccount, and the route waits for it
            // (mesh/canaryRouting.ts): weight moves onto it once it is Available. A version scaled to 0 is the
            // opposite case: it goes after the route has taken its weight away (config/services.ts refuses
            // weight on a version without replicas), so pods never leave while they hold weight.
            const deployment = new k8s.apps.v1.Deployment(
                `${name}-${version}`,
                {
                    metadata: { name: workload, namespace: ns.name, labels: podLabels },
                    spec: deploymentSpec(s, version),
                },
                ns.childOptions(this, replicas > 0 ? [sa] : [sa, args.route]),
            );
            if (s.disruptionBudget && replicas >= 2) {
                // One pod of the version at a time during node drains (ACK's upgrades drain nodes in batches).
                new k8s.policy.v1.PodDisruptionBudget(
                    `${name}-${version}-pdb`,
                    {
                        metadata: { name: workload, namespace: ns.name, labels: podLabels },
                        spec: { maxUnavailable: 1, selector: { matchLabels: podLabels } },
                    },
                    ns.childOptions(this),
                );
            }
            versions[version] = {
                version,
                name: workload,
                podLabels,
                subsetLabels: subsetLabelsOf(podLabels),
                deployment,
                replicas,
            };
        }
        const selector = sharedLabels(Object.values(versions).map((v) => v.podLabels));
        const service = new k8s.core.v1.Service(
            `${name}-service`,
            {
                metadata: { name: s.name, namespace: ns.name, labels: { app: s.name } },
                spec: {
                    selector,
                    // The port's name and appProtocol tell Istio the protocol; without them it is TCP and no
                    // HTTP route or weight applies (https://istio.io/latest/docs/ops/configuration/traffic-management/protocol-selection/).
                    ports: [{ name: s.protocol, port: s.port, targetPort: s.containerPort, appProtocol: s.protocol }],
                },
            },
            ns.childOptions(this),
        );
        this.app = { name: s.name, selector, service, port: s.port, protocol: s.protocol, versions };
        this.registerOutputs({ service: s.name });
    }
}
