/** Observability: namespace access logging (Telemetry), SLS collection and ARMS Prometheus (mode create). */
import { telemetryManifest } from "../../mesh/accessLogging";
import { prometheusOfCluster } from "../../foundation/alibaba/meshObservability";
import {
    byType,
    CREATE_CONFIG,
    depsOf,
    EXISTING_CONFIG,
    FEATURE,
    MOCK_PROMETHEUS_TOKEN,
    MOCK_PROMETHEUS_URL,
    one,
    runProgram,
} from "../support/harness";

const MANAGED = { ...CREATE_CONFIG, manageMeshConfig: "true" };

test("a namespace-wide Telemetry turns on Envoy access logs; v1alpha1 unless the v1 APIs are chosen", () => {
    expect(telemetryManifest("demo", "v1beta1")).toEqual({
        apiVersion: "telemetry.istio.io/v1alpha1",
        kind: "Telemetry",
        metadata: { name: "access-logs", namespace: "demo" },
        spec: { accessLogging: [{ providers: [{ name: "envoy" }] }] },
    });
    expect(telemetryManifest("demo", "v1").apiVersion).toBe("telemetry.istio.io/v1");
});

test("the Prometheus instance is the one of this cluster", () => {
    const list = [
        { clusterId: "ca", httpApiInterUrl: "a" },
        { clusterId: "cb", httpApiInterUrl: "b" },
    ];
    expect(prometheusOfCluster(list, "cb")?.httpApiInterUrl).toBe("b");
    expect(prometheusOfCluster(list, "cc")).toBeUndefined();
});

test("everything off by default: no Telemetry, no SLS project, no add-on, no outputs", async () => {
    const run = await runProgram(CREATE_CONFIG);
    for (const t of [FEATURE.telemetry, FEATURE.sls, FEATURE.addon]) {
        expect(byType(run.resources, t)).toEqual([]);
    }
    expect(run.invokes.map((i) => i.token)).not.toContain("alicloud:arms/getPrometheus:getPrometheus");
    expect(run.outputs).not.toHaveProperty("prometheusUrl");
    expect(run.outputs).not.toHaveProperty("prometheusToken");
    expect(run.outputs).not.toHaveProperty("accessLogProject");
});

describe("accessLogs", () => {
    test("mode existing: the Telemetry only, through the cluster's provider", async () => {
        const run = await runProgram({ ...EXISTING_CONFIG, accessLogs: "true" });
        const t = one(run.resources, FEATURE.telemetry);
        expect(t.inputs.metadata).toEqual({ name: "access-logs", namespace: "canary-demo" });
        expect(depsOf(run.resources, t)).toContain("kubernetes:core/v1:Namespace::namespace");
        expect(run.resources.filter((r) => r.type.startsWith("alicloud:"))).toEqual([]);
        expect((run.outputs.verify as Record<string, string>).accessLogs).toBe(
            "kubectl -n canary-demo logs deploy/hello-v1 -c istio-proxy --tail=5",
        );
    });

    test("mode create: an SLS project the stack creates, and the mesh collecting sidecar and gateway logs into it", async () => {
        const run = await runProgram({ ...MANAGED, accessLogs: "true" });
        const project = one(run.resources, FEATURE.sls);
        expect(project.inputs.projectName).toBe("asm-canary-mesh-logs-k3x9qz");
        expect(project.provider).toMatch(/pulumi:providers:alicloud::alicloud::/);
        const mesh = one(run.resources, FEATURE.mesh);
        expect(mesh.inputs.meshConfig).toEqual({
            outboundTrafficPolicy: "ALLOW_ANY",
            telemetry: false,
            accessLog: {
                enabled: true,
                project: "asm-canary-mesh-logs-k3x9qz",
                sidecarEnabled: true,
                gatewayEnabled: true,
            },
        });
        expect(depsOf(run.resources, mesh)).toContain(`${FEATURE.sls}::observability-sls`);
        expect(one(run.resources, FEATURE.telemetry).inputs.spec).toEqual({
            accessLogging: [{ providers: [{ name: "envoy" }] }],
        });
        expect(byType(run.resources, FEATURE.addon)).toEqual([]);
        expect(run.outputs.accessLogProject).toBe("asm-canary-mesh-logs-k3x9qz");
    });
});

describe("meshMetrics (mode create)", () => {
    test("the ARMS add-on on the cluster after its nodes, the mesh's metrics on, the query endpoint as outputs", async () => {
        const run = await runProgram({ ...MANAGED, meshMetrics: "true" });
        const addon = one(run.resources, FEATURE.addon);
        expect(addon.inputs).toEqual({ clusterId: run.outputs.clusterId, name: "arms-prometheus" });
        expect(depsOf(run.resources, addon)).toContain("alicloud:cs/nodePool:NodePool::ack-nodes");
        expect(one(run.resources, FEATURE.mesh).inputs.meshConfig).toMatchObject({ telemetry: true });
        // Review 2, m6: only this cluster's instance is described (ids filters on ClusterId).
        expect(run.invokes.find((i) => i.token === "alicloud:arms/getPrometheus:getPrometheus")?.inputs).toEqual({
            ids: [run.outputs.clusterId],
            enableDetails: true,
        });
        expect(run.outputs.prometheusUrl).toBe(MOCK_PROMETHEUS_URL);
        expect(run.outputs.prometheusToken).toBe(MOCK_PROMETHEUS_TOKEN);
        expect(run.secretOutputs).toContain("prometheusToken");
        expect(run.secretOutputs).not.toContain("prometheusUrl");
        expect(byType(run.resources, FEATURE.sls)).toEqual([]);
    });

    test("the mesh's write-only Prometheus fields are never set", async () => {
        const run = await runProgram({ ...MANAGED, meshMetrics: "true" });
        const mesh = one(run.resources, FEATURE.mesh).inputs;
        expect(mesh).not.toHaveProperty("customizedPrometheus");
        expect(mesh).not.toHaveProperty("prometheusUrl");
    });
});
