/**
 * Entry point: read and validate the stack config, compose the components, export the outputs.
 * mode=create builds Network -> AckCluster -> AsmMesh on Alibaba Cloud; mode=existing uses an existing
 * ACK + ASM (or renders YAML). The mesh layer on top is the same in both modes.
 *
 * The module exports an async function (Pulumi runs it and exports what it returns): in mode=create it
 * first reads the stack's own previous outputs, to refuse a change of a create-only key before any
 * resource is declared and to reuse the zones and the mesh version the stack already has.
 */
import * as pulumi from "@pulumi/pulumi";
import * as alicloud from "@pulumi/alicloud";
import { ConfigError, loadConfig, StackConfig } from "./lib/config";
import { alicloudProviderArgs } from "./lib/alicloudProvider";
import { createdWith, createOnlyProblems, previousZones } from "./lib/createOnly";
import { readPreviousOutputs } from "./lib/previous";
import { MeshTarget } from "./lib/meshTarget";
import { verificationCommands } from "./lib/verify";
import { Network } from "./components/foundation/network";
import { AckCluster } from "./components/foundation/ackCluster";
import { AsmMesh } from "./components/foundation/asmMesh";
import { ExistingMesh } from "./components/foundation/existingMesh";
import { MeshNamespace } from "./components/mesh/meshNamespace";
import { DemoWorkloads } from "./components/mesh/demoWorkloads";
import { CanaryRouting } from "./components/mesh/canaryRouting";
import { MeshSecurity } from "./components/mesh/meshSecurity";

// Config problems (this project's keys and the alicloud provider's) stop the program right here.
const cfg = loadConfig();
const providerArgs = cfg.mode === "create" ? alicloudProviderArgs(cfg.region) : undefined;

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
    const mesh = new AsmMesh("asm", {
        namePrefix: c.namePrefix,
        edition: c.meshEdition,
        clusterSpec: c.meshClusterSpec,
        version: c.meshVersion,
        currentVersion: previous.meshVersion,
        protect: c.deletionProtection,
        vpcId: network.vpcId,
        vswitchId: network.nodeVswitchIds.apply((ids) => ids[0]),
        apiServerPublic: c.meshApiServerPublic,
        clusterId: cluster.readyClusterId,
        dataPlaneProvider: cluster.k8sProvider,
        provider,
    });
    return {
        target: mesh.target,
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
            // What the next run compares the create-only keys with (lib/createOnly.ts); plain values.
            createdWith: pulumi.output(createdWith(c, network.zoneIds)),
        },
    };
}

function existingFoundation(c: StackConfig): { target: MeshTarget; outputs: { kubeconfig?: pulumi.Output<string> } } {
    const existing = new ExistingMesh("existing", {
        kubeconfig: c.existingKubeconfig,
        kubeconfigPath: c.existingKubeconfigPath,
        renderYamlDirectory: c.renderYamlDirectory,
        clusterId: c.existingClusterId,
    });
    return { target: existing.target, outputs: c.existingKubeconfig ? { kubeconfig: c.existingKubeconfig } : {} };
}

export = async () => {
    const foundation =
        cfg.mode === "create" && providerArgs ? await createFoundation(cfg, providerArgs) : existingFoundation(cfg);
    const target = foundation.target;

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
    const header = cfg.canaryHeaderName ? { name: cfg.canaryHeaderName, value: cfg.canaryHeaderValue } : undefined;
    const policy = {
        canaryWeight: cfg.canaryWeight,
        header,
        timeout: cfg.routeTimeout || undefined,
        retries:
            cfg.retryAttempts > 0
                ? {
                      attempts: cfg.retryAttempts,
                      perTryTimeout: cfg.retryPerTryTimeout || undefined,
                      retryOn: cfg.retryOn || undefined,
                  }
                : undefined,
        outlierDetection:
            cfg.outlierConsecutive5xx > 0
                ? {
                      consecutive5xxErrors: cfg.outlierConsecutive5xx,
                      interval: cfg.outlierInterval,
                      baseEjectionTime: cfg.outlierBaseEjectionTime,
                  }
                : undefined,
    };
    const routes = workloads.apps.map(
        (app) => new CanaryRouting(`route-${app.name}`, { app, namespace, policy, apiVersion: cfg.istioApiVersion }),
    );
    const security = new MeshSecurity("security", {
        namespace,
        mtlsMode: cfg.mtlsMode,
        authorization: cfg.authorizationPolicy ? { apps: workloads.apps, allowedClient: workloads.client } : undefined,
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
        verify: verificationCommands(
            cfg.namespace,
            cfg.services,
            workloads.client.name,
            header,
            "kubeconfig" in foundation.outputs,
        ),
    };
};
