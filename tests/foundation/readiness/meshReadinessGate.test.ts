/**
 * The mesh readiness gate's place in the program: between the foundation and the mesh layer in every mode
 * that reaches a cluster, absent when rendering YAML; its inputs (the kubeconfig secret, the Istio kinds at
 * the configured version, the timeout); and nothing in the mesh layer registered without waiting for it.
 */
import * as k8s from "@pulumi/kubernetes";
import { parseConfig } from "../../../config/stackConfig";
import { MeshReadinessGate } from "../../../foundation/readiness/meshReadinessGate";
import {
    CREATE_CONFIG,
    dependencyClosure,
    EXISTING_CONFIG,
    installMocks,
    isSecretInput,
    MOCK_KUBECONFIG,
    one,
    plain,
    ProgramRun,
    Recorded,
    runProgram,
    settle,
} from "../../support/harness";

const GATE = "asm-canary:foundation:MeshReadinessGate";
const READY = "pulumi-nodejs:dynamic:MeshReadiness";
const MESH = "alicloud:servicemesh/serviceMesh:ServiceMesh";
const NAMESPACE = "kubernetes:core/v1:Namespace";

const apisAt = (version: string) => [
    { group: "networking.istio.io", version, kind: "VirtualService", plural: "virtualservices" },
    { group: "networking.istio.io", version, kind: "DestinationRule", plural: "destinationrules" },
    { group: "security.istio.io", version, kind: "PeerAuthentication", plural: "peerauthentications" },
    { group: "security.istio.io", version, kind: "AuthorizationPolicy", plural: "authorizationpolicies" },
];

/** Every Kubernetes object of the mesh layer (not the providers) that does NOT wait for `gate`. */
function notGated(resources: Recorded[], gate: Recorded): string[] {
    return resources
        .filter((r) => r.type.startsWith("kubernetes:"))
        .filter((r) => !dependencyClosure(resources, r).has(gate.urn))
        .map((r) => `${r.type}::${r.name}`);
}

describe("mode=create", () => {
    let run: Awaited<ReturnType<typeof runProgram>>;
    beforeAll(async () => {
        run = await runProgram({ ...CREATE_CONFIG, authorizationPolicy: "true" });
    });

    test("one gate: a component with one dynamic resource, visible in the plan as MeshReadiness", () => {
        const component = one(run.resources, GATE, "mesh-ready");
        const ready = one(run.resources, READY, "mesh-ready");
        expect(ready.parent).toBe(component.urn);
    });

    test("its own dynamic-provider instance, with no inputs: a config change is no provider update", () => {
        const component = one(run.resources, GATE, "mesh-ready");
        const provider = one(run.resources, "pulumi:providers:pulumi-nodejs", "mesh-ready");
        expect(provider.parent).toBe(component.urn);
        expect(provider.inputs).toEqual({});
        // A provider reference is "<provider URN>::<provider id>".
        const reference = one(run.resources, READY).provider;
        expect(reference.slice(0, reference.lastIndexOf("::"))).toBe(provider.urn);
    });

    test("inputs: the ACK kubeconfig as a secret, the cluster id, every Istio kind at v1beta1, 600 s", () => {
        const ready = one(run.resources, READY);
        expect(isSecretInput(ready.inputs.kubeconfig)).toBe(true);
        expect(plain(ready.inputs.kubeconfig)).toBe(MOCK_KUBECONFIG);
        expect(ready.inputs.kubeconfigPath).toBeUndefined();
        expect(ready.inputs.clusterId).toBe(run.outputs.clusterId);
        expect(ready.inputs.apis).toEqual(apisAt("v1beta1"));
        expect(ready.inputs.timeoutSeconds).toBe(600);
        // The serialized provider is code only: no kubeconfig captured in it.
        expect(ready.inputs.__provider).toMatch(/^exports\.handler = /);
        expect(ready.inputs.__provider).not.toContain("47.0.0.10");
    });

    test("the gate waits for the mesh with the cluster attached", () => {
        expect(one(run.resources, READY).dependencies).toContain(one(run.resources, MESH).urn);
    });

    test("the namespace waits for the gate, and nothing in the mesh layer is registered without it", () => {
        const ready = one(run.resources, READY);
        expect(one(run.resources, NAMESPACE).dependencies).toEqual([ready.urn]);
        const meshLayer = run.resources.filter((r) => r.type.startsWith("kubernetes:"));
        expect(meshLayer.length).toBe(12);
        expect(notGated(run.resources, ready)).toEqual([]);
    });
});

describe("mode=existing", () => {
    test("with a secret kubeconfig and a cluster id", async () => {
        const kubeconfig = "apiVersion: v1\nkind: Config\nclusters: []\n";
        const run = await runProgram(
            { mode: "existing", existingKubeconfig: kubeconfig, existingClusterId: "c0ffee" },
            { secretKeys: ["existingKubeconfig"] },
        );
        const ready = one(run.resources, READY);
        expect(isSecretInput(ready.inputs.kubeconfig)).toBe(true);
        expect(plain(ready.inputs.kubeconfig)).toBe(kubeconfig);
        expect(ready.inputs.clusterId).toBe("c0ffee");
        expect(notGated(run.resources, ready)).toEqual([]);
    });

    test("with a kubeconfig path: the path (read when the gate runs), no cluster id", async () => {
        const run = await runProgram({ mode: "existing", existingKubeconfigPath: "/home/me/.kube/ack" });
        const ready = one(run.resources, READY);
        expect(ready.inputs).toMatchObject({
            kubeconfigPath: "/home/me/.kube/ack",
            clusterId: "",
            timeoutSeconds: 600,
        });
        expect(ready.inputs.kubeconfig).toBeUndefined();
        expect(one(run.resources, NAMESPACE).dependencies).toEqual([ready.urn]);
        expect(notGated(run.resources, ready)).toEqual([]);
    });

    test("rendering YAML: no cluster, so no gate", async () => {
        const run = await runProgram(EXISTING_CONFIG);
        expect(run.resources.filter((r) => r.type === GATE || r.type === READY)).toEqual([]);
        expect(one(run.resources, NAMESPACE).dependencies).toEqual([]);
    });

    test("canaryWeight and mtlsMode changes leave the gate's inputs as they are", async () => {
        const base = { mode: "existing", existingKubeconfigPath: "/home/me/.kube/ack" };
        const a = one((await runProgram({ ...base, canaryWeight: "10" })).resources, READY);
        const b = one((await runProgram({ ...base, canaryWeight: "60", mtlsMode: "STRICT" })).resources, READY);
        expect(b.inputs).toEqual(a.inputs);
        expect(b.dependencies.length).toBe(a.dependencies.length);
    });
});

describe("config", () => {
    test("meshReadyTimeout and istioApiVersion reach the gate", async () => {
        const run = await runProgram({ ...CREATE_CONFIG, meshReadyTimeout: "120", istioApiVersion: "v1" });
        expect(one(run.resources, READY).inputs).toMatchObject({ timeoutSeconds: 120, apis: apisAt("v1") });
    });

    test("meshReadyTimeout 0 turns the gate off: the namespace waits for the mesh directly", async () => {
        const run = await runProgram({ ...CREATE_CONFIG, meshReadyTimeout: "0" });
        expect(run.resources.filter((r) => r.type === GATE || r.type === READY)).toEqual([]);
        expect(one(run.resources, NAMESPACE).dependencies).toEqual([one(run.resources, MESH).urn]);
    });

    test("meshReadyTimeout: default 600, whole seconds from 0 to 3600", () => {
        expect(parseConfig({}).meshReadyTimeout).toBe(600);
        expect(parseConfig({ meshReadyTimeout: "3600" }).meshReadyTimeout).toBe(3600);
        for (const bad of ["-1", "3601", "1.5", "ten"]) {
            expect(() => parseConfig({ meshReadyTimeout: bad })).toThrow(
                `meshReadyTimeout: got "${bad}"; must be a whole number from 0 to 3600`,
            );
        }
    });
});

describe("a later `up` on a cluster the gate has passed for (its output meshReady): nothing waits for the gate", () => {
    const EXISTING = { mode: "existing", existingKubeconfigPath: "/home/me/.kube/ack", existingClusterId: "c0ffee" };
    const VS = "kubernetes:networking.istio.io/v1beta1:VirtualService";
    const GATE_PROVIDER = "pulumi:providers:pulumi-nodejs";
    const at = (run: ProgramRun, type: string) => run.resources.findIndex((r) => r.type === type);
    const last = (run: ProgramRun, type: string) => run.resources.map((r) => r.type).lastIndexOf(type);

    test("the first `up` records the cluster id and API version the gate passed for", async () => {
        const run = await runProgram(EXISTING);
        expect(run.outputs.meshReady).toEqual({ clusterId: "c0ffee", istioApiVersion: "v1beta1" });
        // The gate's provider goes to the engine before the mesh layer is declared, so that the engine starts
        // the gate's plugin while the program declares the rest (program.ts awaits gate.started).
        expect(at(run, GATE_PROVIDER)).toBeGreaterThanOrEqual(0);
        expect(at(run, GATE_PROVIDER)).toBeLessThan(at(run, "asm-canary:mesh:MeshNamespace"));
        expect(at(run, GATE_PROVIDER)).toBeLessThan(at(run, "asm-canary:mesh:CanaryRouting"));
    });

    test("same cluster id and API version: the namespace waits for nothing, the gate comes after the routes", async () => {
        const run = await runProgram(EXISTING, {
            previousOutputs: { meshReady: { clusterId: "c0ffee", istioApiVersion: "v1beta1" } },
        });
        const ready = one(run.resources, READY);
        expect(one(run.resources, NAMESPACE).dependencies).toEqual([]);
        const meshObjects = run.resources
            .filter((r) => r.type.startsWith("kubernetes:"))
            .map((r) => `${r.type}::${r.name}`);
        expect(meshObjects.length).toBe(11);
        expect(notGated(run.resources, ready)).toEqual(meshObjects);
        // Still declared, with the same inputs as on the first `up` (a changed input re-runs it)...
        expect(ready.inputs).toMatchObject({ kubeconfigPath: "/home/me/.kube/ack", clusterId: "c0ffee" });
        // ... but only once every VirtualService has been applied: its plugin's start holds up no route.
        expect(at(run, GATE_PROVIDER)).toBeGreaterThan(last(run, VS));
        expect(run.outputs.meshReady).toEqual({ clusterId: "c0ffee", istioApiVersion: "v1beta1" });
    });

    test.each([
        ["another cluster id", { clusterId: "c0ld", istioApiVersion: "v1beta1" }, EXISTING],
        ["another API version", { clusterId: "c0ffee", istioApiVersion: "v1" }, EXISTING],
        [
            "no cluster id (the API server's URL is the identity, known only to the gate)",
            { clusterId: "", istioApiVersion: "v1beta1" },
            { ...EXISTING, existingClusterId: "" },
        ],
    ])("%s: the mesh layer waits for the gate again", async (_why, meshReady, config) => {
        const run = await runProgram(config, { previousOutputs: { meshReady } });
        const ready = one(run.resources, READY);
        expect(one(run.resources, NAMESPACE).dependencies).toEqual([ready.urn]);
        expect(notGated(run.resources, ready)).toEqual([]);
        expect(at(run, GATE_PROVIDER)).toBeLessThan(at(run, "asm-canary:mesh:CanaryRouting"));
    });

    test("mode=create, the cluster the gate passed for: the namespace waits for the mesh, not the gate", async () => {
        const first = await runProgram(CREATE_CONFIG);
        const record = first.outputs.meshReady as { clusterId: string; istioApiVersion: string };
        expect(record).toEqual({ clusterId: first.outputs.clusterId, istioApiVersion: "v1beta1" });
        const again = await runProgram(CREATE_CONFIG, { previousOutputs: JSON.parse(JSON.stringify(first.outputs)) });
        // The mesh with the cluster attached (what the gate itself waits for), and the cluster whose id decided it.
        expect(one(again.resources, NAMESPACE).dependencies).toEqual([
            one(again.resources, MESH).urn,
            one(again.resources, "alicloud:cs/managedKubernetes:ManagedKubernetes").urn,
        ]);
        const other = await runProgram(CREATE_CONFIG, {
            previousOutputs: {
                ...JSON.parse(JSON.stringify(first.outputs)),
                meshReady: { ...record, clusterId: "c-replaced" },
            },
        });
        expect(one(other.resources, NAMESPACE).dependencies).toContain(one(other.resources, READY).urn);
    });
});

describe("MeshReadinessGate on its own", () => {
    test("a kubeconfig handed in as plain text still reaches the state only as a secret", async () => {
        const rec = await installMocks();
        const provider = new k8s.Provider("k", { kubeconfig: "unused" });
        new MeshReadinessGate("g", {
            target: { provider, dependsOn: [] },
            kubeconfig: "apiVersion: v1\nkind: Config\n",
            apiVersion: "v1beta1",
            timeoutSeconds: 60,
        });
        await settle();
        const ready = one(rec.resources, READY, "g");
        expect(isSecretInput(ready.inputs.kubeconfig)).toBe(true);
        expect(plain(ready.inputs.kubeconfig)).toBe("apiVersion: v1\nkind: Config\n");
    });
});
