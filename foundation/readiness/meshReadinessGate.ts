import * as pulumi from "@pulumi/pulumi";
import type { MeshReadyRecord } from "../../config/createOnly";
import { MeshTarget } from "../meshTarget";
import { componentType } from "../../config/constants";
import { istioApis, IstioApiVersion } from "../../istio/manifests";
import { GateInputs, readinessProvider } from "./check";

export interface MeshReadinessGateArgs {
    /** The foundation's target: the gate runs after its `dependsOn` and passes its provider on. */
    readonly target: MeshTarget;
    /** Kubeconfig contents of the data-plane cluster; kept secret in the program and in the state. */
    readonly kubeconfig?: pulumi.Input<string>;
    /** Or a path to it on the machine running `pulumi`, read when the gate runs. */
    readonly kubeconfigPath?: string;
    /** The cluster's stable id: with it a rotated kubeconfig does not re-run the gate. */
    readonly clusterId?: pulumi.Input<string>;
    /** The API version the Istio objects use; the gate waits for every Istio kind at this version. */
    readonly apiVersion: IstioApiVersion;
    /** Seconds to wait before failing. */
    readonly timeoutSeconds: number;
    /**
     * What the stack's last `up` recorded in its output `meshReady`: the gate passed for that cluster at that
     * API version. When this `up` is for the same cluster (a `clusterId` that is not "") at the same API
     * version, the mesh layer does not wait for the gate (see `target`).
     */
    readonly previouslyPassed?: MeshReadyRecord;
}

/**
 * Whether the gate has passed for this very cluster at this API version in the stack's last `up`, as far as
 * the program knows before any resource exists: a cluster id given as a plain value (mode=existing's
 * existingClusterId) equal to the one recorded. "" (the API server's URL identifies the cluster, known only
 * to the gate) and a cluster id still to be created (mode=create) say no here; `MeshReadinessGate.target`
 * then decides once the id is known.
 */
export function passedBefore(args: MeshReadinessGateArgs): boolean {
    return typeof args.clusterId === "string" && passedFor(args, args.clusterId);
}

/** Whether the record names this cluster id (not "") at the configured API version. */
function passedFor(args: MeshReadinessGateArgs, clusterId: string): boolean {
    const before = args.previouslyPassed;
    return clusterId !== "" && before?.clusterId === clusterId && before.istioApiVersion === args.apiVersion;
}

type Props = { [K in keyof GateInputs]: pulumi.Input<GateInputs[K]> };

/** The dynamic resource that does the waiting (foundation/readiness/check.ts); its type shows in the plan. */
class MeshReadiness extends pulumi.dynamic.Resource {
    constructor(name: string, props: Props, opts: pulumi.CustomResourceOptions) {
        super(readinessProvider, name, props, opts, undefined, "MeshReadiness");
    }
}

/**
 * The gate's own instance of the engine's Node.js dynamic-provider plugin, with no inputs. The default
 * instance would get the whole stack config as its inputs (the engine passes every key to a dynamic provider:
 * pulumi/pulumi pkg/resource/deploy/target.go, GetPackageConfig), so any config change, even a canary weight,
 * would show as an "update" of it. The gate's provider reads no config, so it needs none; a stack that
 * recorded the gate under the default instance keeps the resource (the engine only diffs the resource when
 * its provider changes and the plugin has no DiffConfig: pkg/resource/deploy/step_generator.go, providerChanged).
 * The availability check of brought-your-own Deployments (mesh/existingWorkloads.ts) uses one too, for the same reason.
 */
export class GateProvider extends pulumi.ProviderResource {
    constructor(name: string, opts: pulumi.ResourceOptions) {
        super("pulumi-nodejs", name, {}, opts);
    }
}

/**
 * The mesh readiness gate: between the foundation (the ASM mesh with the cluster attached, or an existing
 * cluster) and the mesh layer. Its one resource waits, with backoff and progress lines, until the
 * data-plane cluster serves the Istio kinds the program uses at the configured API version and has an
 * Istio sidecar-injector webhook, and fails after the timeout with what is missing and the likely cause.
 * Everything in the mesh layer depends on it (through `target`), so no namespace, pod or Istio object is
 * created before the cluster can take it and inject sidecars. Once satisfied it is not re-run unless the
 * cluster or the API version changes.
 *
 * It is a foundation component: it decides when the foundation is ready, and the mesh layer only sees the
 * `MeshTarget` it hands on.
 */
export class MeshReadinessGate extends pulumi.ComponentResource {
    /**
     * The foundation's target, now waiting for this gate, except on a cluster the gate has passed for already
     * (`previouslyPassed`, the same cluster id and API version): then it waits for what the gate itself waits
     * for (the foundation's `dependsOn`) and not for the gate. The gate is still declared and checked in that
     * `up` (it re-runs if its inputs changed: a new timeout, a path), but nothing else waits for its
     * dynamic-provider plugin, a Node.js process the engine starts for it (~0.7-1.5 s on this project's
     * 2-core machine): that start was the longest link of a weight step's `up` (docs/development.md,
     * "Weight step benchmark"). A new or replaced cluster has another id, so the mesh layer waits again.
     */
    public readonly target: MeshTarget;
    /** The stack output `meshReady` (MeshReadyRecord): known once the gate's resource has passed in this `up`. */
    public readonly passed: pulumi.Output<MeshReadyRecord>;
    /** The resource that waits. */
    public readonly ready: pulumi.dynamic.Resource;
    /**
     * Resolves once the gate's provider is on its way to the engine (program.ts awaits it before declaring
     * the mesh layer). The engine starts the dynamic-provider plugin, a Node.js process of its own (~0.7 s
     * here), when that registration arrives, and every mesh-layer resource waits for the gate; declaring the
     * mesh layer is synchronous, so without this pause the registration would only leave after it, and the
     * plugin's start would be added to every `up` instead of overlapping it (docs/development.md, "Weight
     * step benchmark").
     */
    public readonly started: Promise<void>;

    constructor(name: string, args: MeshReadinessGateArgs, opts?: pulumi.ComponentResourceOptions) {
        super(componentType("foundation", "MeshReadinessGate"), name, {}, opts);
        if ((args.kubeconfig === undefined) === !args.kubeconfigPath) {
            throw new pulumi.ResourceError("MeshReadinessGate needs exactly one of kubeconfig or kubeconfigPath", this);
        }
        const props: Props = {
            clusterId: args.clusterId ?? "",
            apis: istioApis(args.apiVersion),
            timeoutSeconds: args.timeoutSeconds,
        };
        if (args.kubeconfig !== undefined) {
            props.kubeconfig = pulumi.secret(args.kubeconfig);
        } else {
            props.kubeconfigPath = args.kubeconfigPath;
        }
        const provider = new GateProvider(name, { parent: this });
        this.ready = new MeshReadiness(name, props, { parent: this, dependsOn: args.target.dependsOn, provider });
        const waitForGate: pulumi.Resource[] = [this.ready];
        const clusterId = pulumi.output(args.clusterId ?? "");
        this.target = {
            provider: args.target.provider,
            dependsOn: args.previouslyPassed
                ? pulumi
                      .all([clusterId, args.target.dependsOn])
                      .apply(([id, foundation]) => (passedFor(args, id) ? foundation : waitForGate))
                : waitForGate,
        };
        this.passed = pulumi
            .all([this.ready.id, clusterId])
            .apply(([, id]): MeshReadyRecord => ({ clusterId: id, istioApiVersion: args.apiVersion }));
        // The provider's registration waits for this component's URN; one more turn of the event loop
        // after it lets the SDK send it.
        this.started = new Promise((resolve) => this.urn.apply(() => setImmediate(resolve)));
        this.registerOutputs({});
    }
}
