import { byType, CREATE_CONFIG, depsOf, EXISTING_CONFIG, one, runProgram } from "../../support/harness";

const NS = "kubernetes:core/v1:Namespace";
const DEP = "kubernetes:apps/v1:Deployment";
const SVC = "kubernetes:core/v1:Service";
const SA = "kubernetes:core/v1:ServiceAccount";

describe.each([
    ["create", CREATE_CONFIG],
    ["existing", EXISTING_CONFIG],
])("mesh namespace and demo workloads (mode %s)", (_mode, base) => {
    let run: Awaited<ReturnType<typeof runProgram>>;
    beforeAll(async () => {
        run = await runProgram(base);
    });

    test("the namespace carries the injection label ASM honours", () => {
        expect(one(run.resources, NS).inputs.metadata).toEqual({
            name: "canary-demo",
            labels: { "istio-injection": "enabled" },
        });
        expect(run.outputs.namespace).toBe("canary-demo");
    });

    test("Service hello: port 80 named http to 5678, selecting app=hello", () => {
        expect(one(run.resources, SVC).inputs).toMatchObject({
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
        const d = one(run.resources, DEP, `demo-hello-${version}`);
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
        expect(byType(run.resources, "kubernetes:core/v1:Pod")).toEqual([]);
        const client = one(run.resources, DEP, "demo-curl");
        expect(client.inputs.spec.template.spec).toMatchObject({
            serviceAccountName: "curl",
            containers: [{ name: "curl", image: "curlimages/curl:8.14.1", command: ["/bin/sleep", "infinity"] }],
        });
    });

    test("one ServiceAccount per workload", () => {
        expect(
            byType(run.resources, SA)
                .map((s) => s.inputs.metadata.name)
                .sort(),
        ).toEqual(["curl", "hello-v1", "hello-v2"]);
    });

    test("every workload depends on the labelled namespace and its ServiceAccount", () => {
        for (const d of byType(run.resources, DEP)) {
            const deps = depsOf(run.resources, d);
            expect(deps).toContain(`${NS}::namespace`);
            expect(deps).toContain(`${SA}::${d.name}`);
        }
        for (const r of [...byType(run.resources, SVC), ...byType(run.resources, SA)]) {
            expect(depsOf(run.resources, r)).toContain(`${NS}::namespace`);
        }
    });
});

test("image, replicas and texts come from config", async () => {
    const run = await runProgram({
        ...EXISTING_CONFIG,
        appImage: "registry.example/echo:2",
        replicas: "3",
        stableText: "old",
        canaryText: "new",
    });
    const v2 = one(run.resources, DEP, "demo-hello-v2");
    expect(v2.inputs.spec.replicas).toBe(3);
    expect(v2.inputs.spec.template.spec.containers[0]).toMatchObject({
        image: "registry.example/echo:2",
        args: ["-text=new", "-listen=:5678"],
    });
    expect(one(run.resources, DEP, "demo-hello-v1").inputs.spec.template.spec.containers[0].args[0]).toBe("-text=old");
});
