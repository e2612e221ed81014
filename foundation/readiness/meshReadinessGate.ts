import * as pulumi from "@pulumi/pulumi";
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
    /** The foundation's target, now waiting for this gate. */
    public readonly target: MeshTarget;
    /** The resource that waits. */
    public readonly ready: pulumi.dynamic.Resource;

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
        this.target = { provider: args.target.provider, dependsOn: [this.ready] };
        this.registerOutputs({});
    }
}
