/**
 * Entry point, in the order the architecture reads: config -> foundation -> readiness gate -> mesh layer
 * -> outputs.
 * - config/: every key validated (one error listing every problem) before any resource is declared;
 * - foundation/: one component per mode: AlibabaFoundation (mode=create: VPC, ACK, ASM on Alibaba Cloud)
 *   or ExistingMesh (mode=existing: an existing ACK + ASM, or YAML rendering);
 * - foundation/readiness/: the gate that waits until the cluster can take the mesh layer;
 * - mesh/: the same in both modes (namespace, workloads, routing, security, features).
 *
 * The module exports an async function (Pulumi runs it and exports what it returns): in mode=create it
 * first reads the stack's own previous outputs, to refuse a change of a create-only key or an upgrade that
 * cannot succeed before any resource is declared, and to reuse the zones and the mesh version it has; in
 * mode=existing with a kubeconfig, to refuse a switch from mode=create.
 */
import { alicloudProviderArgs } from "./config/alicloud";
import { createOnlyProblems, modeSwitchProblems } from "./config/createOnly";
import { readPreviousOutputs } from "./config/previous";
import { ConfigError, loadConfig, StackConfig } from "./config/stackConfig";
import { upgradeProblems } from "./config/upgrades";
import { AlibabaFoundation } from "./foundation/alibaba/alibabaFoundation";
import { ExistingMesh } from "./foundation/existing/existingMesh";
import type { Foundation } from "./foundation/meshTarget";
import { MeshReadinessGate } from "./foundation/readiness/meshReadinessGate";
import { meshLayer } from "./mesh/meshLayer";

async function foundationFor(cfg: StackConfig): Promise<Foundation> {
    if (cfg.mode === "existing") {
        // A create-mode stack switched to existing would delete its cloud resources (review 2, m12). The
        // render stack (renderYamlDirectory) never reads itself: it has no cloud resources and no reference.
        const problems = cfg.renderYamlDirectory ? [] : modeSwitchProblems(cfg.mode, await readPreviousOutputs());
        if (problems.length > 0) {
            throw new ConfigError(problems);
        }
        return new ExistingMesh("existing", {
            kubeconfig: cfg.existingKubeconfig,
            kubeconfigPath: cfg.existingKubeconfigPath,
            renderYamlDirectory: cfg.renderYamlDirectory,
            clusterId: cfg.existingClusterId,
        });
    }
    const providerArgs = alicloudProviderArgs(cfg.region);
    const previous = await readPreviousOutputs();
    const problems = [...createOnlyProblems(cfg, previous), ...upgradeProblems(cfg, previous)];
    if (problems.length > 0) {
        throw new ConfigError(problems);
    }
    return new AlibabaFoundation("alibaba", { config: cfg, previous, providerArgs });
}

export = async () => {
    // Config problems (this project's keys and the alicloud provider's) stop the program right here,
    // before any resource is declared.
    const cfg = loadConfig();
    const foundation = await foundationFor(cfg);

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

    const mesh = meshLayer(cfg, gate?.target ?? foundation.target, foundation);

    // --- outputs (the cloud ids exist only in mode=create) ---
    return { mode: cfg.mode, ...foundation.outputs, ...mesh };
};
