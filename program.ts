/**
 * The program, in the order the architecture reads: config -> foundation -> readiness gate -> mesh layer
 * -> outputs.
 * - config/: every key validated (one error listing every problem) before any resource is declared;
 * - foundation/: one component per mode: AlibabaFoundation (mode=create: VPC, ACK, ASM on Alibaba Cloud)
 *   or ExistingMesh (mode=existing: an existing ACK + ASM, or YAML rendering);
 * - foundation/readiness/: the gate that waits until the cluster can take the mesh layer;
 * - mesh/: the same in both modes (namespace, workloads, routing, security, features).
 *
 * `program` is an async function (index.ts exports it; Pulumi runs it and exports what it returns): in mode=create it
 * first reads the stack's own previous outputs, to refuse a change of a create-only key or an upgrade that
 * cannot succeed before any resource is declared, and to reuse the zones and the mesh version it has; in
 * mode=existing with a kubeconfig, to refuse a switch from mode=create. In both, the output `meshReady` of
 * the last `up` tells the readiness gate whether the mesh layer still has to wait for it (it does not on the
 * cluster it passed for: a weight step's `up` then skips the gate's plugin start, foundation/readiness).
 */
import * as pulumi from "@pulumi/pulumi";
import { alicloudProviderArgs } from "./config/alicloud";
import { createOnlyProblems, modeSwitchProblems, PreviousOutputs } from "./config/createOnly";
import { readPreviousOutputs } from "./config/previous";
import { ConfigError, loadConfig, StackConfig } from "./config/stackConfig";
import { upgradeProblems } from "./config/upgrades";
import type { AlibabaFoundation as AlibabaFoundationType } from "./foundation/alibaba/alibabaFoundation";
import { ExistingMesh } from "./foundation/existing/existingMesh";
import type { Foundation } from "./foundation/meshTarget";
import { MeshReadinessGate, MeshReadinessGateArgs, passedBefore } from "./foundation/readiness/meshReadinessGate";
import { meshLayer } from "./mesh/meshLayer";

async function foundationFor(cfg: StackConfig): Promise<{ foundation: Foundation; previous?: PreviousOutputs }> {
    if (cfg.mode === "existing") {
        // A create-mode stack switched to existing would delete its cloud resources (review 2, m12). The
        // render stack (renderYamlDirectory) never reads itself: it has no cloud resources and no reference.
        const previous = cfg.renderYamlDirectory ? undefined : await readPreviousOutputs();
        const problems = previous ? modeSwitchProblems(cfg.mode, previous) : [];
        if (problems.length > 0) {
            throw new ConfigError(problems);
        }
        const foundation = new ExistingMesh("existing", {
            kubeconfig: cfg.existingKubeconfig,
            kubeconfigPath: cfg.existingKubeconfigPath,
            renderYamlDirectory: cfg.renderYamlDirectory,
            clusterId: cfg.existingClusterId,
        });
        return { foundation, previous };
    }
    const providerArgs = alicloudProviderArgs(cfg.region);
    const previous = await readPreviousOutputs();
    const problems = [...createOnlyProblems(cfg, previous), ...upgradeProblems(cfg, previous)];
    if (problems.length > 0) {
        throw new ConfigError(problems);
    }
    // Loaded only in this mode: @pulumi/alicloud and the Alibaba components cost every `up` of a
    // mode=existing stack ~0.2 s of start-up otherwise (docs/development.md, "Weight step benchmark").
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { AlibabaFoundation } = require("./foundation/alibaba/alibabaFoundation") as {
        AlibabaFoundation: typeof AlibabaFoundationType;
    };
    return { foundation: new AlibabaFoundation("alibaba", { config: cfg, previous, providerArgs }), previous };
}

/** The program, as index.ts hands it to the Pulumi language host. */
export async function program() {
    // Config problems (this project's keys and the alicloud provider's) stop the program right here,
    // before any resource is declared.
    const cfg = loadConfig();
    const { foundation, previous } = await foundationFor(cfg);

    // --- readiness gate: nothing in the mesh layer is created before the cluster can take it ---
    const gateArgs: MeshReadinessGateArgs | undefined =
        foundation.access && cfg.meshReadyTimeout > 0
            ? {
                  target: foundation.target,
                  ...foundation.access,
                  apiVersion: cfg.istioApiVersion,
                  timeoutSeconds: cfg.meshReadyTimeout,
                  previouslyPassed: previous?.meshReady,
              }
            : undefined;
    // A gate that has passed for this very cluster (a cluster id in the config) holds nothing up, and it is
    // declared after the routes: the engine starts its plugin when its provider is registered, and it starts
    // plugins one at a time, so a gate declared first would hold the routes back by that start (~1 s) on
    // every weight step. Otherwise it comes first, and the mesh layer waits for it.
    const passed = gateArgs !== undefined && passedBefore(gateArgs);
    let gate = gateArgs && !passed ? new MeshReadinessGate("mesh-ready", gateArgs) : undefined;
    if (gate) {
        await gate.started;
    }

    const mesh = meshLayer(cfg, gate?.target ?? foundation.target, foundation);
    if (gateArgs && passed) {
        await new Promise<void>((applied) =>
            pulumi.all(mesh.virtualServices.map((vs) => vs.urn)).apply(() => applied()),
        );
        gate = new MeshReadinessGate("mesh-ready", gateArgs);
    }

    // --- outputs (the cloud ids exist only in mode=create) ---
    return { mode: cfg.mode, ...foundation.outputs, ...mesh.outputs, ...(gate ? { meshReady: gate.passed } : {}) };
}
