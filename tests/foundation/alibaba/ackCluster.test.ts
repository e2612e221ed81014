import {
    byType,
    CREATE_CONFIG,
    depsOf,
    isSecretInput,
    MOCK_KUBECONFIG,
    one,
    plain,
    runProgram,
} from "../../support/harness";

const ACK = "alicloud:cs/managedKubernetes:ManagedKubernetes";
const POOL = "alicloud:cs/nodePool:NodePool";

describe("AckCluster (Flannel defaults)", () => {
    let run: Awaited<ReturnType<typeof runProgram>>;
    beforeAll(async () => {
        run = await runProgram({
            ...CREATE_CONFIG,
            nodeCount: "3",
            deletionProtection: "true",
            kubernetesVersion: "1.33.3-aliyun.1",
        });
    });

    test("a managed cluster with the configured spec, network and protection", () => {
        const ack = one(run.resources, ACK);
        expect(ack.inputs).toMatchObject({
            name: "asm-canary-k3x9qz",
            clusterSpec: "ack.pro.small",
            version: "1.33.3-aliyun.1",
            vswitchIds: run.outputs.nodeVswitchIds,
            podCidr: "172.20.0.0/16",
            serviceCidr: "172.21.0.0/20",
            addons: [{ name: "flannel" }],
            proxyMode: "iptables",
            newNatGateway: false,
            slbInternetEnabled: true,
            deletionProtection: true,
        });
        expect(ack.inputs.podVswitchIds).toBeUndefined();
        // No removed worker_* arguments: workers live in the node pool.
        expect(Object.keys(ack.inputs).filter((k) => k.startsWith("worker"))).toEqual([]);
    });

    test("the cluster waits for the SNAT entries (nodes need outbound internet to join and pull images)", () => {
        const deps = depsOf(run.resources, one(run.resources, ACK));
        expect(deps).toEqual(
            expect.arrayContaining([
                "alicloud:vpc/snatEntry:SnatEntry::network-snat-node-0",
                "alicloud:vpc/snatEntry:SnatEntry::network-snat-node-1",
            ]),
        );
    });

    test("workers are a node pool: size as a string, instance types, disk, secret password", () => {
        const pool = one(run.resources, POOL);
        expect(pool.inputs).toMatchObject({
            nodePoolName: "asm-canary-nodes",
            clusterId: run.outputs.clusterId,
            vswitchIds: run.outputs.nodeVswitchIds,
            instanceTypes: ["ecs.c7.xlarge", "ecs.c6.xlarge", "ecs.g7.xlarge"],
            desiredSize: "3",
            systemDiskCategory: "cloud_essd",
            systemDiskSize: 120,
        });
        expect(isSecretInput(pool.inputs.password)).toBe(true);
        const pw = one(run.resources, "random:index/randomPassword:RandomPassword");
        expect(pw.inputs).toMatchObject({ length: 24, minUpper: 2, minLower: 2, minNumeric: 2, minSpecial: 2 });
    });

    test("the node pool spreads its nodes evenly across the zones (multi-AZ policy BALANCE)", () => {
        expect(one(run.resources, POOL).inputs.multiAzPolicy).toBe("BALANCE");
    });

    test("cluster and node pool never wait less than the provider's own defaults (delete 60 min)", () => {
        expect(one(run.resources, ACK).deleteTimeout).toBe("60m");
        expect(one(run.resources, POOL).deleteTimeout).toBe("60m");
    });

    test("the spec the cluster has is an output (the next run checks a spec change against it)", () => {
        expect(run.outputs.clusterSpec).toBe("ack.pro.small");
    });

    test("the kubeconfig comes from the credential data source and is a secret output", () => {
        const cred = run.invokes.find((i) => i.token === "alicloud:cs/getClusterCredential:getClusterCredential");
        expect(cred?.inputs).toEqual({ clusterId: run.outputs.clusterId });
        expect(run.outputs.kubeconfig).toBe(MOCK_KUBECONFIG);
        expect(run.secretOutputs).toContain("kubeconfig");
    });

    test("the Kubernetes provider gets the secret kubeconfig and the cluster id as its identity", () => {
        const k8s = one(run.resources, "pulumi:providers:kubernetes");
        expect(isSecretInput(k8s.inputs.kubeconfig)).toBe(true);
        expect(plain(k8s.inputs.kubeconfig)).toBe(MOCK_KUBECONFIG);
        expect(k8s.inputs.clusterIdentifier).toBe(run.outputs.clusterId);
    });

    test("no secret leaks into a plain output", () => {
        const plainOutputs = Object.entries(run.outputs).filter(([k]) => !run.secretOutputs.includes(k));
        expect(JSON.stringify(plainOutputs)).not.toContain("apiVersion: v1");
        expect(JSON.stringify(run.outputs)).not.toContain("Mock-Pa55word");
    });
});

describe("AckCluster with Terway", () => {
    test("pods on pod vSwitches, terway-eniip add-on, no pod CIDR", async () => {
        const run = await runProgram({ ...CREATE_CONFIG, networkPlugin: "terway" });
        const ack = one(run.resources, ACK);
        expect(ack.inputs.addons).toEqual([{ name: "terway-eniip" }]);
        expect(ack.inputs.podCidr).toBeUndefined();
        expect(ack.inputs.podVswitchIds).toEqual(run.outputs.podVswitchIds);
        expect(run.outputs.podVswitchIds).toHaveLength(2);
        expect(byType(run.resources, "alicloud:vpc/snatEntry:SnatEntry")).toHaveLength(4);
    });
});
