import * as pulumi from "@pulumi/pulumi";
import { CANARY, componentType, STABLE, Version } from "../config/constants";
import type { RoutingPolicy } from "../config/routing";
import type { ExistingService } from "../config/services";
import type { ClusterAccess } from "../foundation/meshTarget";
import {
    availabilityProvider,
    AvailabilityInputs,
    AVAILABILITY_TIMEOUT_SECONDS,
} from "../foundation/readiness/available";
import { GateProvider } from "../foundation/readiness/meshReadinessGate";
import { CanaryApp, sharedLabels, VersionWorkload } from "./app";
import { MeshNamespace } from "./meshNamespace";

export interface ExistingWorkloadsArgs {
    /** The service as its config names it (config/services.ts): namespace, Service, Deployments, labels. */
    readonly service: ExistingService;
    /** Its routing policy: the weight each version gets decides which Deployments must be ready. */
    readonly policy: RoutingPolicy;
    /** How to reach the cluster; absent when rendering YAML (no cluster: nothing to check). */
    readonly access?: ClusterAccess;
    /** The stack's namespace component: its provider, and (through it) the readiness gate to wait for. */
    readonly namespace: MeshNamespace;
    /** How long the check waits for the Deployments; default AVAILABILITY_TIMEOUT_SECONDS. */
    readonly timeoutSeconds?: number;
}

type Props = { [K in keyof AvailabilityInputs]: pulumi.Input<AvailabilityInputs[K]> };

/** The dynamic resource that checks (and waits for) the user's Deployments; its type shows in the plan. */
class DeploymentAvailability extends pulumi.dynamic.Resource {
    constructor(name: string, props: Props, opts: pulumi.CustomResourceOptions) {
        super(availabilityProvider, name, props, opts, undefined, "DeploymentAvailability");
    }
}

/**
 * A service the user already runs (Helm, Argo CD), brought into the canary: this component creates NO
 * Kubernetes object of the user's (no Deployment, no Service). It hands the routing and the policies the
 * service as a CanaryApp (the subsets select the configured labels of each version, the policies the labels
 * both versions share) and, where the program reaches a cluster, a check that the Deployments getting
 * weight are rolled out and Available, which the route waits for (foundation/readiness/available.ts says
 * why it is a dynamic resource).
 */
export class ExistingWorkloads extends pulumi.ComponentResource {
    public readonly app: CanaryApp;

    constructor(name: string, args: ExistingWorkloadsArgs, opts?: pulumi.ComponentResourceOptions) {
        super(componentType("mesh", "ExistingWorkloads"), name, {}, opts);
        const s = args.service;
        const versions = {} as Record<Version, VersionWorkload>;
        for (const version of [STABLE, CANARY] as const) {
            const v = version === STABLE ? s.stable : s.canary;
            // The Deployment's name is also Istio's destination_workload in the metrics promote reads.
            versions[version] = { version, name: v.deployment, podLabels: v.labels, subsetLabels: { ...v.labels } };
        }
        const weight = args.policy.canaryWeight;
        // The highest weight any route gives each version: a header route sends every matching request to
        // the canary (weight 100 on that route) whatever the split says, so with a header the canary must be
        // ready even at canaryWeight 0 (a brought canary scaled to 0 would answer those requests with 503s).
        const canaryWeight = args.policy.header ? 100 : weight;
        const availability = args.access
            ? new DeploymentAvailability(
                  `${name}-available`,
                  {
                      ...(args.access.kubeconfig !== undefined
                          ? { kubeconfig: pulumi.secret(args.access.kubeconfig) }
                          : { kubeconfigPath: args.access.kubeconfigPath }),
                      namespace: s.namespace,
                      weights: { [s.stable.deployment]: 100 - weight, [s.canary.deployment]: canaryWeight },
                      timeoutSeconds: args.timeoutSeconds ?? AVAILABILITY_TIMEOUT_SECONDS,
                  },
                  {
                      parent: this,
                      // Its own provider instance: on the default one every config change would plan an
                      // update of the provider (foundation/readiness/meshReadinessGate.ts, GateProvider).
                      provider: new GateProvider(`${name}-provider`, { parent: this }),
                      // After the readiness gate (the stack's namespace waits for it): the cluster answers.
                      dependsOn: [args.namespace.namespace],
                  },
              )
            : undefined;
        this.app = {
            name: s.name,
            namespace: s.namespace,
            selector: sharedLabels([s.stable.labels, s.canary.labels]),
            port: s.port,
            protocol: s.protocol,
            versions,
            availability,
        };
        this.registerOutputs({ service: s.name, namespace: s.namespace });
    }
}
