/**
 * Entry point: read and validate the stack config, compose the components, export the outputs.
 * mode=create builds Network -> AckCluster -> AsmMesh on Alibaba Cloud; mode=existing uses an existing
 * ACK + ASM (or renders YAML). A readiness gate then waits until that cluster can take the mesh layer
 * (Istio APIs served, sidecar injector registered); the mesh layer on top is the same in both modes.
 *
 * The module exports an async function (Pulumi runs it and exports what it returns): in mode=create it
 * first reads the stack's own previous outputs, to refuse a change of a create-only key before any
 * resource is declared and to reuse the zones and the mesh version the stack already has.
 */
import * as pulumi from "@pulumi/pulumi";
import * as alicloud from "@pulumi/alicloud";
import { ConfigError, loadConfig, StackConfig } from "./config/stackConfig";
import { alicloudProviderArgs } from "./config/alicloud";
import { createdWith, createOnlyProblems, previousZones } from "./config/createOnly";
import { readPreviousOutputs } from "./config/previous";
import { MeshTarget } from "./foundation/meshTarget";
import { verificationCommands } from "./mesh/verify";
import { Network } from "./foundation/alibaba/network";
import { AckCluster } from "./foundation/alibaba/ackCluster";
import { AsmMesh } from "./foundation/alibaba/asmMesh";
import { ExistingMesh } from "./foundation/existing/existingMesh";
import { MeshReadinessGate, MeshReadinessGateArgs } from "./foundation/readiness/meshReadinessGate";
import { MeshNamespace } from "./mesh/meshNamespace";
import { DemoWorkloads } from "./mesh/demoWorkloads";
import { CanaryRouting } from "./mesh/canaryRouting";
import { MeshSecurity } from "./mesh/meshSecurity";
// --- mesh features: ingress gateway, egress control, observability, fault injection, mirroring ---
import { AsmIngressGateway } from "./foundation/alibaba/asmIngressGateway";
import { MeshObservability } from "./foundation/alibaba/meshObservability";
import { MeshIngress } from "./mesh/meshIngress";
import { MeshEgress } from "./mesh/meshEgress";
import { AccessLogging } from "./mesh/accessLogging";
import { meshConfigOf } from "./foundation/alibaba/meshConfig";
import { GATEWAY_NAMESPACE, ingressHost, INGRESS_GATEWAY_POD_LABELS } from "./config/features";
import { featureVerification } from "./mesh/verifyFeatures";

/** How the readiness gate reaches the data-plane cluster; absent when rendering YAML (no cluster). */
type GateAccess = Pick<MeshReadinessGateArgs, "kubeconfig" | "kubeconfigPath" | "clusterId">;

async function createFoundation(c: StackConfig, alicloudArgs: alicloud.ProviderArgs) {
    const previous = await readPreviousOutputs();
    const problems = createOnlyProblems(c, previous);
    if (problems.length > 0) {
        throw new ConfigError(problems);
    }
    // The zones the stack already has (configured, or looked up at its first `up`) stay its zones: the
    // look-up runs once, so a change in what a zone sells or in nodeInstanceTypes[0] / nodeDiskCategory
    // cannot move a vSwitch (zone_id is ForceNew).
    const knownZones = previousZones(previous);
    const zones = c.zones.length > 0 ? c.zones : knownZones?.length === c.nodeVswitchCidrs.length ? knownZones : [];

    const provider = new alicloud.Provider("alicloud", alicloudArgs);
    const network = new Network("network", {
        namePrefix: c.namePrefix,
        vpcCidr: c.vpcCidr,
        nodeVswitchCidrs: c.nodeVswitchCidrs,
        podVswitchCidrs: c.networkPlugin === "terway" ? c.podVswitchCidrs : [],
        zones,
        instanceType: c.nodeInstanceTypes[0],
        diskCategory: c.nodeDiskCategory,
        protect: c.deletionProtection,
        provider,
    });
    const cluster = new AckCluster("ack", {
        namePrefix: c.namePrefix,
        vswitchIds: network.nodeVswitchIds,
        podVswitchIds: network.podVswitchIds,
        networkPlugin: c.networkPlugin,
        podCidr: c.podCidr,
        serviceCidr: c.serviceCidr,
        kubernetesVersion: c.kubernetesVersion,
        clusterSpec: c.clusterSpec,
        proxyMode: c.proxyMode,
        apiServerPublic: c.apiServerPublic,
        deletionProtection: c.deletionProtection,
        nodeInstanceTypes: c.nodeInstanceTypes,
        nodeCount: c.nodeCount,
        nodeDiskCategory: c.nodeDiskCategory,
        nodeDiskSizeGb: c.nodeDiskSizeGb,
        dependsOn: network.snatEntries,
        provider,
    });
    // Mesh features, Alibaba side: the SLS project and ARMS add-on exist only while their switch is on.
    const observability =
        c.accessLogs || c.meshMetrics
            ? new MeshObservability("observability", {
                  namePrefix: c.namePrefix,
                  accessLogs: c.accessLogs,
                  metrics: c.meshMetrics,
                  clusterId: cluster.readyClusterId,
                  provider,
              })
            : undefined;
    const mesh = new AsmMesh("asm", {
        namePrefix: c.namePrefix,
        edition: c.meshEdition,
        clusterSpec: c.meshClusterSpec,
        version: c.meshVersion,
        vpcId: network.vpcId,
        vswitchId: network.nodeVswitchIds.apply((ids) => ids[0]),
        apiServerPublic: c.meshApiServerPublic,
        clusterId: cluster.readyClusterId,
        dataPlaneProvider: cluster.k8sProvider,
        currentVersion: previous.meshVersion,
        protect: c.deletionProtection,
        provider,
        meshConfig: meshConfigOf({
            manage: c.manageMeshConfig,
            outboundTrafficPolicy: c.outboundTrafficPolicy,
            accessLogProject: observability?.accessLogProject,
            metrics: c.meshMetrics,
        }),
    });
    const ingress = c.ingressGateway
        ? new AsmIngressGateway("asm-ingress", {
              namePrefix: c.namePrefix,
              meshId: mesh.meshId,
              meshKubeconfig: mesh.kubeconfig,
              clusterId: cluster.clusterId,
              replicas: c.ingressReplicas,
              dependsOn: mesh.target.dependsOn,
              provider,
          })
        : undefined;
    return {
        target: mesh.target,
        access: { kubeconfig: cluster.kubeconfig, clusterId: cluster.clusterId },
        outputs: {
            vpcId: network.vpcId,
            zoneIds: network.zoneIds,
            nodeVswitchIds: network.nodeVswitchIds,
            podVswitchIds: network.podVswitchIds,
            egressIp: network.egressIp,
            clusterId: cluster.clusterId,
            clusterName: cluster.clusterName,
            clusterSpec: cluster.clusterSpec,
            kubeconfig: cluster.kubeconfig,
            meshId: mesh.meshId,
            meshVersion: mesh.version,
            meshKubeconfig: mesh.kubeconfig,
            // What the next run compares the create-only keys with (config/createOnly.ts); plain values.
            createdWith: pulumi.output(createdWith(c, network.zoneIds)),
            ...(ingress ? { ingressAddress: ingress.address } : {}),
            ...(observability?.accessLogProject ? { accessLogProject: observability.accessLogProject } : {}),
            ...(observability?.prometheusUrl
                ? { prometheusUrl: observability.prometheusUrl, prometheusToken: observability.prometheusToken }
                : {}),
        },
    };
}

function existingFoundation(c: StackConfig): {
    target: MeshTarget;
    access?: GateAccess;
    outputs: { kubeconfig?: pulumi.Output<string> };
} {
    const existing = new ExistingMesh("existing", {
        kubeconfig: c.existingKubeconfig,
        kubeconfigPath: c.existingKubeconfigPath,
        renderYamlDirectory: c.renderYamlDirectory,
        clusterId: c.existingClusterId,
    });
    const access: GateAccess | undefined = c.renderYamlDirectory
        ? undefined
        : c.existingKubeconfig
          ? { kubeconfig: c.existingKubeconfig, clusterId: c.existingClusterId }
          : { kubeconfigPath: c.existingKubeconfigPath, clusterId: c.existingClusterId };
    return {
        target: existing.target,
        access,
        outputs: c.existingKubeconfig ? { kubeconfig: c.existingKubeconfig } : {},
    };
}

export = async () => {
    // Config problems (this project's keys and the alicloud provider's) stop the program right here,
    // before any resource is declared.
    const cfg = loadConfig();
    const providerArgs = cfg.mode === "create" ? alicloudProviderArgs(cfg.region) : undefined;
    const foundation =
        cfg.mode === "create" && providerArgs ? await createFoundation(cfg, providerArgs) : existingFoundation(cfg);

    // --- readiness gate: nothing in the mesh layer is created before the cluster can take it ---
    const gate =
        foundation.access && cfg.meshReadyTimeout > 0
            ? new MeshReadinessGate("mesh-ready", {
                  target: foundation.target,
                  ...foundation.access,
                  apiVersion: cfg.istioApiVersion,
                  timeoutSeconds: cfg.meshReadyTimeout,
              })
            : undefined;
    const target = gate?.target ?? foundation.target;

    // --- mesh layer ---
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
    const meshIngress = cfg.ingressGateway
        ? new MeshIngress("ingress", {
              namespace,
              hosts: cfg.services.map((s) => ingressHost(s, cfg.ingressDomain)),
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

    // --- outputs (the cloud ids exist only in mode=create) ---
    return {
        mode: cfg.mode,
        ...foundation.outputs,
        namespace: namespace.name,
        services: workloads.apps.map((a) => a.name),
        weights: routes[0].weights,
        mtlsMode: security.mtlsMode,
        authorizationPolicy: cfg.authorizationPolicy,
        ...(cfg.ingressGateway ? { ingressHosts: cfg.services.map((s) => ingressHost(s, cfg.ingressDomain)) } : {}),
        verify: {
            ...verificationCommands(
                cfg.namespace,
                cfg.services,
                workloads.client.name,
                cfg.routing.header,
                "kubeconfig" in foundation.outputs,
            ),
            ...featureVerification({
                namespace: cfg.namespace,
                services: cfg.services,
                client: workloads.client.name,
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
        },
    };
};
