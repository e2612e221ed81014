/**
 * Change safety of the mesh features: turning a switch on adds only its own objects (or updates only the
 * VirtualService / the mesh, where that is the design), and changing its value updates only its object.
 * With every feature off, the program is what it was before they existed (see also changeSafety.test.ts).
 */
import { changesBetween } from "../support/changes";
import { CREATE_CONFIG, EXISTING_CONFIG, FEATURE, ISTIO } from "../support/harness";

const VS = `${ISTIO.vs}::route-hello-vs`;
const MESH = `${FEATURE.mesh}::asm`;
const none = { added: [], removed: [], altered: [] };
/** Create mode with the mesh's public API endpoint (which the ingress gateway needs). */
const CREATE = { ...CREATE_CONFIG, meshApiServerPublic: "true" };
const MANAGED = { ...CREATE, manageMeshConfig: "true" };
const HEADER = { canaryHeaderName: "x-canary", canaryHeaderValue: "always" };

const ingressObjects = [
    "asm-canary:foundation:AsmIngressGateway::asm-ingress",
    "asm-canary:mesh:MeshIngress::ingress",
    `${FEATURE.clb}::asm-ingress-clb`,
    `${FEATURE.istioGateway}::asm-ingress`,
    `${FEATURE.gateway}::ingress-gateway`,
    "pulumi:providers:kubernetes::asm-ingress-asm-k8s",
].sort();

describe("mesh-level settings (mode create)", () => {
    test("taking ownership of meshConfig updates the mesh and nothing else", async () => {
        expect(await changesBetween(CREATE, MANAGED)).toEqual({ ...none, altered: [MESH] });
    });

    test.each([
        ["ALLOW_ANY", "REGISTRY_ONLY"],
        ["REGISTRY_ONLY", "ALLOW_ANY"],
    ])("outboundTrafficPolicy %s -> %s updates the mesh in place and nothing else", async (from, to) => {
        expect(
            await changesBetween(
                { ...MANAGED, outboundTrafficPolicy: from },
                { ...MANAGED, outboundTrafficPolicy: to },
            ),
        ).toEqual({ ...none, altered: [MESH] });
    });

    test("accessLogs on: the SLS project and the Telemetry are added, the mesh updated", async () => {
        expect(await changesBetween(MANAGED, { ...MANAGED, accessLogs: "true" })).toEqual({
            ...none,
            added: [
                "asm-canary:foundation:MeshObservability::observability",
                "asm-canary:mesh:AccessLogging::access-logging",
                `${FEATURE.sls}::observability-sls`,
                `${FEATURE.telemetry}::access-logging-telemetry`,
                "random:index/randomString:RandomString::observability-sls-suffix",
            ].sort(),
            altered: [MESH],
        });
    });

    test("meshMetrics on: the ARMS add-on is added, the mesh updated", async () => {
        expect(await changesBetween(MANAGED, { ...MANAGED, meshMetrics: "true" })).toEqual({
            ...none,
            added: [
                "asm-canary:foundation:MeshObservability::observability",
                `${FEATURE.addon}::observability-arms`,
            ].sort(),
            altered: [MESH],
        });
    });

    test("meshMetrics off again removes the add-on and sends telemetry false; the SLS project stays", async () => {
        const both = { ...MANAGED, accessLogs: "true", meshMetrics: "true" };
        expect(await changesBetween(both, { ...both, meshMetrics: "false" })).toEqual({
            ...none,
            removed: [`${FEATURE.addon}::observability-arms`],
            altered: [MESH],
        });
    });
});

describe("ingress gateway", () => {
    test("mode create: on adds the gateway's objects and binds the VirtualService", async () => {
        expect(await changesBetween(CREATE, { ...CREATE, ingressGateway: "true" })).toEqual({
            ...none,
            added: ingressObjects,
            altered: [VS],
        });
    });

    test("with the AuthorizationPolicy on, it also admits the gateway", async () => {
        const authz = { ...CREATE, authorizationPolicy: "true" };
        expect(await changesBetween(authz, { ...authz, ingressGateway: "true" })).toEqual({
            ...none,
            added: ingressObjects,
            altered: [`${ISTIO.ap}::security-hello-authz`, VS].sort(),
        });
    });

    test("ingressReplicas 1 -> 3 updates the IstioGateway only", async () => {
        const on = { ...CREATE, ingressGateway: "true" };
        expect(await changesBetween(on, { ...on, ingressReplicas: "3" })).toEqual({
            ...none,
            altered: [`${FEATURE.istioGateway}::asm-ingress`],
        });
    });

    test("ingressDomain updates the Gateway and the VirtualService only", async () => {
        const on = { ...EXISTING_CONFIG, ingressGateway: "true" };
        expect(await changesBetween(on, { ...on, ingressDomain: "apps.example.net" })).toEqual({
            ...none,
            altered: [`${FEATURE.gateway}::ingress-gateway`, VS].sort(),
        });
    });

    test("mode existing (render): on adds the Gateway and binds the VirtualService", async () => {
        expect(await changesBetween(EXISTING_CONFIG, { ...EXISTING_CONFIG, ingressGateway: "true" })).toEqual({
            ...none,
            added: ["asm-canary:mesh:MeshIngress::ingress", `${FEATURE.gateway}::ingress-gateway`],
            altered: [VS],
        });
    });
});

describe("egress allow-list", () => {
    const SE = (host: string) => `${FEATURE.serviceEntry}::egress-${host}`;

    test("the first host adds the allow-list and its ServiceEntry", async () => {
        expect(await changesBetween(EXISTING_CONFIG, { ...EXISTING_CONFIG, egressHosts: '["httpbin.org"]' })).toEqual({
            ...none,
            added: ["asm-canary:mesh:MeshEgress::egress", SE("httpbin.org")],
        });
    });

    test("adding a host adds its ServiceEntry; removing one removes only it", async () => {
        const one = { ...EXISTING_CONFIG, egressHosts: '["httpbin.org"]' };
        const two = { ...EXISTING_CONFIG, egressHosts: '["httpbin.org","api.github.com"]' };
        expect(await changesBetween(one, two)).toEqual({ ...none, added: [SE("api.github.com")] });
        expect(await changesBetween(two, { ...EXISTING_CONFIG, egressHosts: '["api.github.com"]' })).toEqual({
            ...none,
            removed: [SE("httpbin.org")],
        });
    });
});

/** Fault injection and mirroring live in the VirtualService: each change is a one-object update. */
const vsOnlyChanges: Array<[Record<string, string>, Record<string, string>]> = [
    [{}, { faultDelay: "2s" }],
    [{ faultDelay: "2s" }, { faultDelay: "5s" }],
    [{ faultDelay: "2s" }, { faultDelay: "2s", faultDelayPercent: "10" }],
    [{ faultDelay: "2s" }, { faultDelay: "2s", faultScope: "service" }],
    [{}, { faultAbortStatus: "503", faultAbortPercent: "20" }],
    [{}, { mirrorPercent: "20" }],
    [{ mirrorPercent: "20" }, { mirrorPercent: "50" }],
];

describe("fault injection and mirroring", () => {
    test.each(vsOnlyChanges)("mode existing: %p -> %p updates the VirtualService only", async (from, to) => {
        const base = { ...EXISTING_CONFIG, ...HEADER };
        expect(await changesBetween({ ...base, ...from }, { ...base, ...to })).toEqual({ ...none, altered: [VS] });
    });

    test.each([vsOnlyChanges[0], vsOnlyChanges[5]])(
        "mode create: %p -> %p updates the VirtualService only",
        async (from, to) => {
            const base = { ...CREATE_CONFIG, ...HEADER };
            expect(await changesBetween({ ...base, ...from }, { ...base, ...to })).toEqual({ ...none, altered: [VS] });
        },
    );
});

test("mode existing: accessLogs adds the namespace's Telemetry and nothing else", async () => {
    expect(await changesBetween(EXISTING_CONFIG, { ...EXISTING_CONFIG, accessLogs: "true" })).toEqual({
        ...none,
        added: ["asm-canary:mesh:AccessLogging::access-logging", `${FEATURE.telemetry}::access-logging-telemetry`],
    });
});
