/** The ASM ingress gateway: CLB, IstioGateway on the ASM control plane, Istio Gateway, VirtualService binding. */
import * as yaml from "js-yaml";
import { publicKubeconfig } from "../../foundation/alibaba/asmIngressGateway";
import { gatewayManifest } from "../../mesh/meshIngress";
import { routeWeights } from "../../mesh/canaryRouting";
import { ingressGatewayManifest } from "../../foundation/alibaba/ingressGatewayManifest";
import {
    byType,
    CREATE_CONFIG,
    depsOf,
    EXISTING_CONFIG,
    FEATURE,
    ISTIO,
    isSecretInput,
    MOCK_INGRESS_ADDRESS,
    MOCK_KUBECONFIG,
    MOCK_MESH_PUBLIC_ENDPOINT,
    one,
    plain,
    runProgram,
} from "../support/harness";

const PRIVATE_KUBECONFIG = `apiVersion: v1
kind: Config
clusters:
- name: asm
  cluster:
    server: https://192.168.0.5:6443
    certificate-authority-data: Q0EK
contexts:
- name: asm
  context: { cluster: asm, user: asm }
current-context: asm
users:
- name: asm
  user: { client-certificate-data: Q0VSVAo=, client-key-data: S0VZCg== }
`;
const INGRESS = { ...CREATE_CONFIG, meshApiServerPublic: "true", ingressGateway: "true" };

describe("the ASM control plane's public kubeconfig", () => {
    test("same credentials, public server, certificate checked against the private address", () => {
        const kc = yaml.load(publicKubeconfig(PRIVATE_KUBECONFIG, "https://47.1.2.3:6443")) as any;
        expect(kc.clusters).toEqual([
            {
                name: "asm",
                cluster: {
                    server: "https://47.1.2.3:6443",
                    "certificate-authority-data": "Q0EK",
                    "tls-server-name": "192.168.0.5",
                },
            },
        ]);
        expect(kc.users).toEqual((yaml.load(PRIVATE_KUBECONFIG) as any).users);
        expect(kc["current-context"]).toBe("asm");
    });

    test("an endpoint without scheme gets https; no endpoint is a clear error", () => {
        const kc = yaml.load(publicKubeconfig(PRIVATE_KUBECONFIG, "47.1.2.3:6443")) as any;
        expect(kc.clusters[0].cluster.server).toBe("https://47.1.2.3:6443");
        expect(() => publicKubeconfig(PRIVATE_KUBECONFIG, "")).toThrow(
            /reports no public API endpoint; it needs meshApiServerPublic true at creation/,
        );
        expect(() => publicKubeconfig("apiVersion: v1\nkind: Config\n", "https://47.1.2.3:6443")).toThrow(
            /names no cluster server/,
        );
    });
});

describe("manifests", () => {
    test("IstioGateway: ingress, in istio-system, on the given CLB, with this program's pod label", () => {
        expect(
            ingressGatewayManifest({
                name: "canary-ingressgateway",
                clusterId: "c123",
                replicas: 2,
                loadBalancerId: "lb-t4nabc",
                podLabels: { "asm-canary/gateway": "canary-ingressgateway" },
            }),
        ).toEqual({
            apiVersion: "istio.alibabacloud.com/v1beta1",
            kind: "IstioGateway",
            metadata: {
                name: "canary-ingressgateway",
                namespace: "istio-system",
                labels: { "asm-gateway-type": "ingress" },
            },
            spec: {
                gatewayType: "ingress",
                clusterIds: ["c123"],
                replicaCount: 2,
                serviceType: "LoadBalancer",
                serviceAnnotations: {
                    "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-id": "lb-t4nabc",
                    "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-force-override-listeners": "true",
                },
                podLabels: { "asm-canary/gateway": "canary-ingressgateway" },
                ports: [{ name: "http2", port: 80, targetPort: 80 }],
                resources: { requests: { cpu: "200m", memory: "256Mi" }, limits: { cpu: "2", memory: "2G" } },
            },
        });
    });

    test("IstioGateway: malformed values are refused before Pulumi sees them", () => {
        expect(() =>
            ingressGatewayManifest({ name: "GW", clusterId: "", replicas: 0, loadBalancerId: "x", podLabels: {} }),
        ).toThrow(
            /^IstioGateway istio-system\/GW: name "GW" must be a DNS label.*; clusterId is empty; replicas 0 must be .*; loadBalancerId "x" is not a CLB id.*; podLabels is empty/,
        );
    });

    test("Gateway: HTTP on 80 for the hosts, bindable from its own namespace only, on the gateway pods", () => {
        expect(gatewayManifest("demo", ["hello.example.com"], { gw: "x" }, "v1beta1")).toEqual({
            apiVersion: "networking.istio.io/v1beta1",
            kind: "Gateway",
            metadata: { name: "ingress", namespace: "demo" },
            spec: {
                selector: { gw: "x" },
                servers: [{ port: { number: 80, name: "http", protocol: "HTTP" }, hosts: ["./hello.example.com"] }],
            },
        });
    });
});

describe("ingressGateway in mode create", () => {
    let run: Awaited<ReturnType<typeof runProgram>>;
    beforeAll(async () => {
        run = await runProgram({
            ...INGRESS,
            ingressReplicas: "2",
            canaryWeight: "20",
            canaryHeaderName: "x-canary",
            canaryHeaderValue: "always",
        });
    });

    test("an internet CLB, pay-as-you-go, whose address is the stack output ingressAddress", () => {
        const clb = one(run.resources, FEATURE.clb);
        expect(clb.inputs).toEqual({
            loadBalancerName: "asm-canary-ingress",
            addressType: "internet",
            paymentType: "PayAsYouGo",
            instanceChargeType: "PayByCLCU",
            internetChargeType: "PayByTraffic",
        });
        expect(run.outputs.ingressAddress).toBe(MOCK_INGRESS_ADDRESS);
        expect(run.outputs.ingressHosts).toEqual(["hello.example.com"]);
    });

    test("a second Kubernetes provider reaches the ASM control plane through its public endpoint", () => {
        expect(run.invokes.find((i) => i.token.endsWith("getServiceMeshes"))?.inputs).toEqual({
            ids: [run.outputs.meshId],
            enableDetails: true,
        });
        const provider = one(run.resources, "pulumi:providers:kubernetes", "asm-ingress-asm-k8s");
        expect(isSecretInput(provider.inputs.kubeconfig)).toBe(true);
        const kc = yaml.load(plain<string>(provider.inputs.kubeconfig)) as any;
        expect(kc.clusters[0].cluster).toMatchObject({
            server: MOCK_MESH_PUBLIC_ENDPOINT,
            "tls-server-name": "192.168.0.5",
        });
        expect(kc.clusters[0].cluster.server).not.toBe((yaml.load(MOCK_KUBECONFIG) as any).clusters[0].cluster.server);
        expect(provider.inputs.clusterIdentifier).toBe(run.outputs.meshId);
    });

    test("the IstioGateway goes to the ASM control plane, after the mesh, on the CLB", () => {
        const gw = one(run.resources, FEATURE.istioGateway);
        expect(gw.provider).toMatch(/pulumi:providers:kubernetes::asm-ingress-asm-k8s::/);
        expect(depsOf(run.resources, gw)).toContain(`${FEATURE.mesh}::asm`);
        expect(depsOf(run.resources, gw)).toContain(`${FEATURE.clb}::asm-ingress-clb`);
        expect(gw.inputs.metadata).toEqual({
            name: "canary-ingressgateway",
            namespace: "istio-system",
            labels: { "asm-gateway-type": "ingress" },
        });
        expect(gw.inputs.spec).toMatchObject({
            clusterIds: [run.outputs.clusterId],
            replicaCount: 2,
            serviceAnnotations: {
                "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-id":
                    expect.stringMatching(/^lb-t4n[0-9a-f]{17}$/),
            },
        });
    });

    test("the Istio Gateway sits in the app namespace on the ACK cluster and selects the gateway pods", () => {
        const gw = one(run.resources, FEATURE.gateway);
        expect(gw.provider).toMatch(/pulumi:providers:kubernetes::ack-k8s::/);
        expect(gw.inputs.metadata).toEqual({ name: "ingress", namespace: "canary-demo" });
        expect(gw.inputs.spec.selector).toEqual(one(run.resources, FEATURE.istioGateway).inputs.spec.podLabels);
        expect(gw.inputs.spec.servers[0].hosts).toEqual(["./hello.example.com"]);
    });

    test("one VirtualService for mesh and gateway: weights and header override apply to external traffic", () => {
        const vs = one(run.resources, ISTIO.vs);
        expect(vs.inputs.spec.hosts).toEqual(["hello", "hello.example.com"]);
        expect(vs.inputs.spec.gateways).toEqual(["mesh", "canary-demo/ingress"]);
        expect(vs.inputs.spec.http.map((r: { name: string }) => r.name)).toEqual(["canary-override", "weighted"]);
        expect(vs.inputs.spec.http[1].route).toEqual(routeWeights("hello", "v1", "v2", 20));
    });

    test("verify: curl through the gateway's address, with and without the canary header", () => {
        const verify = run.outputs.verify as Record<string, string>;
        expect(verify.ingress).toBe(
            "for i in $(seq 1 50); do curl -s -H 'Host: hello.example.com' http://$(pulumi stack output ingressAddress)/; done | sort | uniq -c",
        );
        expect(verify.ingressCanaryHeader).toBe(
            "curl -s -H 'Host: hello.example.com' -H 'x-canary: always' http://$(pulumi stack output ingressAddress)/",
        );
    });
});

test("with the AuthorizationPolicy on, the gateway's proxies are admitted next to the client", async () => {
    const run = await runProgram({ ...INGRESS, authorizationPolicy: "true", mtlsMode: "STRICT" });
    expect(one(run.resources, ISTIO.ap).inputs.spec.rules).toEqual([
        {
            from: [
                { source: { principals: ["*/ns/canary-demo/sa/curl"] } },
                { source: { namespaces: ["istio-system"] } },
            ],
        },
    ]);
});

test("several services: one host each, on the one Gateway", async () => {
    const run = await runProgram({ ...INGRESS, services: '["hello","billing"]', ingressDomain: "apps.example.net" });
    expect(one(run.resources, FEATURE.gateway).inputs.spec.servers[0].hosts).toEqual([
        "./hello.apps.example.net",
        "./billing.apps.example.net",
    ]);
    expect(one(run.resources, ISTIO.vs, "route-billing-vs").inputs.spec.hosts).toEqual([
        "billing",
        "billing.apps.example.net",
    ]);
});

test("mode existing (render): the Gateway and the binding render; the ASM gateway is left to the user", async () => {
    const run = await runProgram({ ...EXISTING_CONFIG, ingressGateway: "true" });
    expect(one(run.resources, FEATURE.gateway).inputs.metadata.namespace).toBe("canary-demo");
    expect(one(run.resources, ISTIO.vs).inputs.spec.gateways).toEqual(["mesh", "canary-demo/ingress"]);
    expect(byType(run.resources, FEATURE.istioGateway)).toEqual([]);
    expect(run.resources.filter((r) => r.type.startsWith("alicloud:"))).toEqual([]);
    expect(run.outputs).not.toHaveProperty("ingressAddress");
    expect((run.outputs.verify as Record<string, string>).ingress).toBe(
        "for i in $(seq 1 50); do curl -s -H 'Host: hello.example.com' http://$(kubectl -n istio-system get svc " +
            "istio-canary-ingressgateway -o jsonpath='{.status.loadBalancer.ingress[0].ip}')/; done | sort | uniq -c",
    );
});

test("refused without the mesh's public endpoint, with the reason", async () => {
    await expect(runProgram({ ...CREATE_CONFIG, ingressGateway: "true" })).rejects.toThrow(
        /ingressGateway: got true with meshApiServerPublic false; the ASM gateway is an IstioGateway object/,
    );
});
