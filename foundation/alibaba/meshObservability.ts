import * as pulumi from "@pulumi/pulumi";
import * as alicloud from "@pulumi/alicloud";
import * as random from "@pulumi/random";
import { componentType } from "../../config/constants";

export interface MeshObservabilityArgs {
    /** Prefix for the SLS project's name (a random suffix makes it globally unique). */
    readonly namePrefix: string;
    /** Create the SLS project the mesh collects access logs into. */
    readonly accessLogs: boolean;
    /** Install ARMS Prometheus on the cluster and look up its query endpoint. */
    readonly metrics: boolean;
    /** The data-plane cluster; pass the node pool's clusterId so the add-on waits for the nodes. */
    readonly clusterId: pulumi.Input<string>;
    /** Pulumi `protect` on the project and the add-on (deletionProtection). */
    readonly protect: boolean;
    /** The Alibaba Cloud provider. */
    readonly provider: alicloud.Provider;
}

/** The ARMS Prometheus instance of a cluster among those the account has, or undefined. */
export function prometheusOfCluster<T extends { clusterId: string }>(instances: T[], clusterId: string): T | undefined {
    return instances.find((p) => p.clusterId === clusterId);
}

/**
 * The Alibaba Cloud side of the mesh's observability (mode create): an SLS project for access logs (the
 * mesh's meshConfig.accessLog points at it: foundation/alibaba/meshConfig.ts) and the ARMS Prometheus add-on on the
 * cluster, with its query endpoint and token read back for the stack outputs.
 */
export class MeshObservability extends pulumi.ComponentResource {
    /** Name of the SLS project access logs go to (when accessLogs is on). */
    public readonly accessLogProject?: pulumi.Output<string>;
    /** Prometheus HTTP API (public) of the cluster's ARMS instance; "" until ARMS has made it. */
    public readonly prometheusUrl?: pulumi.Output<string>;
    /** Its token, as a secret ("" when the instance needs none or is not there yet). */
    public readonly prometheusToken?: pulumi.Output<string>;

    constructor(name: string, args: MeshObservabilityArgs, opts?: pulumi.ComponentResourceOptions) {
        super(componentType("foundation", "MeshObservability"), name, {}, opts);
        const child = { parent: this, provider: args.provider };

        if (args.accessLogs) {
            const suffix = new random.RandomString(
                `${name}-sls-suffix`,
                { length: 6, special: false, upper: false },
                { parent: this },
            );
            // Created here rather than left to ASM: whether ASM creates a custom accessLog.project by itself
            // is not documented (docs/open-points.md), and the provider's own example passes a project it
            // created (website/docs/r/service_mesh_service_mesh.html.markdown, audit.project). Project names
            // are global across Alibaba Cloud: 3-63 lower-case letters, digits and dashes (log/project.d.ts).
            const project = new alicloud.log.Project(
                `${name}-sls`,
                {
                    projectName: pulumi.interpolate`${args.namePrefix}-mesh-logs-${suffix.result}`,
                    description: "Access logs of the asm-canary service mesh (sidecars and ingress gateway)",
                },
                {
                    ...child,
                    protect: args.protect,
                    // The project holds the logs: no config switch may delete it (review 2, N2). Turning
                    // accessLogs off (or `pulumi destroy`) drops it from the stack and leaves it, with its
                    // logs, in the account; deleting it is a deliberate act outside Pulumi (docs/features.md). A new
                    // namePrefix must not replace it either (projectName is ForceNew): it keeps its name.
                    retainOnDelete: true,
                    ignoreChanges: ["projectName"],
                },
            );
            this.accessLogProject = project.projectName;
        }

        if (args.metrics) {
            // ASM's ARMS integration needs ack-arms-prometheus in the data-plane cluster
            // (https://www.alibabacloud.com/help/en/asm/use-cases/monitor-service-meshes-based-on-arms-prometheus-1694487233437);
            // "arms-prometheus" is its ACK add-on name (the provider's tests: alicloud/service_alicloud_common_test.go).
            // Creating it adopts an add-on that is already installed (resource_alicloud_cs_kubernetes_addon.go).
            const addon = new alicloud.cs.KubernetesAddon(
                `${name}-arms`,
                { clusterId: args.clusterId, name: "arms-prometheus" },
                // cleanupCloudResources stays unset: uninstalling the add-on then leaves the ARMS instance and
                // its metrics (review 2, m5: it keeps billing; docs/features.md says how to remove it).
                { ...child, protect: args.protect },
            );
            // The instance the add-on creates, found by cluster id; enableDetails is what fills in the
            // URLs and the token (alicloud/data_source_alicloud_arms_prometheis.go).
            const instance = pulumi
                .all([
                    // `ids` filters on the instances' ClusterId (data_source_alicloud_arms_prometheis.go), so
                    // only this cluster's instance is described, not every one in the region (review 2, m6).
                    alicloud.arms.getPrometheusOutput(
                        { ids: [args.clusterId], enableDetails: true },
                        { ...child, dependsOn: [addon] },
                    ),
                    addon.clusterId,
                ])
                .apply(([r, clusterId]) => prometheusOfCluster(r.prometheis, clusterId));
            this.prometheusUrl = instance.apply((p) => p?.httpApiInterUrl ?? "");
            this.prometheusToken = pulumi.secret(instance.apply((p) => p?.authToken ?? ""));
        }
        this.registerOutputs({ accessLogProject: this.accessLogProject, prometheusUrl: this.prometheusUrl });
    }
}
