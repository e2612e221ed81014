/** Component tests of the mesh layer: its components built on their own, without evaluating the program. */
import * as k8s from "@pulumi/kubernetes";
import type { RouteTarget } from "../../mesh/canaryRouting";
import { DemoWorkloads, DemoWorkloadsArgs } from "../../mesh/demoWorkloads";
import { MeshNamespace } from "../../mesh/meshNamespace";
import { installMocks, Recorder } from "./harness";

/**
 * Installs fresh mocks and a MeshNamespace "namespace" (canary-demo) on a Kubernetes provider "k8s":
 * the base every mesh component stands on.
 */
export async function meshNamespace(): Promise<{ rec: Recorder; namespace: MeshNamespace }> {
    const rec = await installMocks();
    const provider = new k8s.Provider("k8s", { renderYamlToDirectory: "/tmp/asm-canary-render" });
    const namespace = new MeshNamespace("namespace", { name: "canary-demo", target: { provider, dependsOn: [] } });
    return { rec, namespace };
}

/** The demo workloads with the program's defaults (one service, hello), on a fresh namespace. */
export async function demoWorkloads(
    args: Partial<Omit<DemoWorkloadsArgs, "namespace">> = {},
): Promise<{ rec: Recorder; namespace: MeshNamespace; workloads: DemoWorkloads }> {
    const { rec, namespace } = await meshNamespace();
    const workloads = new DemoWorkloads("demo", {
        namespace,
        services: ["hello"],
        image: "hashicorp/http-echo:1.0",
        replicas: 1,
        stableText: "hello from v1",
        canaryText: "hello from v2",
        clientImage: "curlimages/curl:8.14.1",
        ...args,
    });
    return { rec, namespace, workloads };
}

/**
 * What the route builders take, for their pure tests: service hello in namespace demo, its subsets v1 and
 * v2 on the `version` label, 10 % to the canary, nothing else in the policy.
 */
export const ROUTE_TARGET: RouteTarget = {
    service: "hello",
    namespace: "demo",
    subsets: [
        { name: "v1", labels: { version: "v1" } },
        { name: "v2", labels: { version: "v2" } },
    ],
    apiVersion: "v1beta1",
    policy: { canaryWeight: 10 },
};
