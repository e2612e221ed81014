import { byType, depsOf, one, Recorded, settle } from "../support/harness";
import { demoWorkloads } from "../support/mesh";

const NS = "kubernetes:core/v1:Namespace";
const DEP = "kubernetes:apps/v1:Deployment";
const SVC = "kubernetes:core/v1:Service";
const SA = "kubernetes:core/v1:ServiceAccount";

describe("MeshNamespace and DemoWorkloads (defaults: one service, hello)", () => {
    let resources: Recorded[];
    beforeAll(async () => {
        const { rec } = await demoWorkloads();
        await settle();
        resources = rec.resources;
    });

    test("the namespace carries the injection label ASM honours", () => {
        expect(one(resources, NS).inputs.metadata).toEqual({
            name: "canary-demo",
            labels: { "istio-injection": "enabled" },
        });
    });

    test("Service hello: port 80 named http to 5678, selecting app=hello", () => {
        expect(one(resources, SVC).inputs).toMatchObject({
            metadata: { name: "hello", namespace: "canary-demo" },
            spec: {
                selector: { app: "hello" },
                ports: [{ name: "http", appProtocol: "http", port: 80, targetPort: 5678 }],
            },
        });
    });

    test.each([
        ["v1", "hello from v1"],
        ["v2", "hello from v2"],
    ])("Deployment hello-%s runs http-echo with its text, labels, probe and limits", (version, textOut) => {
        const d = one(resources, DEP, `demo-hello-${version}`);
        expect(d.inputs.metadata).toEqual({
            name: `hello-${version}`,
            namespace: "canary-demo",
            labels: { app: "hello", version },
        });
        expect(d.inputs.spec.selector.matchLabels).toEqual({ app: "hello", version });
        const pod = d.inputs.spec.template;
        expect(pod.metadata.labels).toEqual({ app: "hello", version });
        expect(pod.spec.serviceAccountName).toBe(`hello-${version}`);
        const [c] = pod.spec.containers;
        expect(c).toMatchObject({
            image: "hashicorp/http-echo:1.0",
            args: [`-text=${textOut}`, "-listen=:5678"],
            readinessProbe: { httpGet: { path: "/", port: 5678 } },
            resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "100m", memory: "64Mi" } },
        });
        expect(d.inputs.spec.replicas).toBe(1);
    });

    test("a curl client Deployment (not a bare Pod) with its own identity", () => {
        expect(byType(resources, "kubernetes:core/v1:Pod")).toEqual([]);
        const client = one(resources, DEP, "demo-curl");
        expect(client.inputs.spec.template.spec).toMatchObject({
            serviceAccountName: "curl",
            containers: [{ name: "curl", image: "curlimages/curl:8.14.1", command: ["/bin/sleep", "infinity"] }],
        });
    });

    test("one ServiceAccount per workload", () => {
        expect(
            byType(resources, SA)
                .map((s) => s.inputs.metadata.name)
                .sort(),
        ).toEqual(["curl", "hello-v1", "hello-v2"]);
    });

    test("every workload depends on the labelled namespace and its ServiceAccount", () => {
        for (const d of byType(resources, DEP)) {
            const deps = depsOf(resources, d);
            expect(deps).toContain(`${NS}::namespace`);
            expect(deps).toContain(`${SA}::${d.name}`);
        }
        for (const r of [...byType(resources, SVC), ...byType(resources, SA)]) {
            expect(depsOf(resources, r)).toContain(`${NS}::namespace`);
        }
    });

    test("everything goes through the namespace's provider", () => {
        for (const r of resources.filter((x) => x.type.startsWith("kubernetes:"))) {
            expect(r.provider).toMatch(/::pulumi:providers:kubernetes::k8s::/);
        }
    });
});

test("image, replicas and texts are the arguments'", async () => {
    const { rec } = await demoWorkloads({
        image: "registry.example/echo:2",
        replicas: 3,
        stableText: "old",
        canaryText: "new",
    });
    await settle();
    const v2 = one(rec.resources, DEP, "demo-hello-v2");
    expect(v2.inputs.spec.replicas).toBe(3);
    expect(v2.inputs.spec.template.spec.containers[0]).toMatchObject({
        image: "registry.example/echo:2",
        args: ["-text=new", "-listen=:5678"],
    });
    expect(one(rec.resources, DEP, "demo-hello-v1").inputs.spec.template.spec.containers[0].args[0]).toBe("-text=old");
});

test("what the workloads tell routing and security: per version its pods' and its subset's labels", async () => {
    const { workloads } = await demoWorkloads({ services: ["hello", "billing"] });
    expect(
        workloads.apps.map((a) => ({
            name: a.name,
            selector: a.selector,
            v1: [a.versions.v1.name, a.versions.v1.podLabels, a.versions.v1.subsetLabels],
            v2: [a.versions.v2.name, a.versions.v2.podLabels, a.versions.v2.subsetLabels],
        })),
    ).toEqual([
        {
            name: "hello",
            selector: { app: "hello" },
            v1: ["hello-v1", { app: "hello", version: "v1" }, { version: "v1" }],
            v2: ["hello-v2", { app: "hello", version: "v2" }, { version: "v2" }],
        },
        {
            name: "billing",
            selector: { app: "billing" },
            v1: ["billing-v1", { app: "billing", version: "v1" }, { version: "v1" }],
            v2: ["billing-v2", { app: "billing", version: "v2" }, { version: "v2" }],
        },
    ]);
    expect(workloads.client).toEqual({ name: "curl", serviceAccount: "curl", podLabels: { app: "curl" } });
    await settle();
});
