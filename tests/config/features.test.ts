/** Config keys of the mesh features: defaults (all off), parsing, and every refusal with its message. */
import { ConfigError, parseConfig } from "../../config/stackConfig";
import { faultOf, ingressHost } from "../../config/features";

const EXISTING = { mode: "existing", renderYamlDirectory: "/tmp/render" };
const CREATE_PUBLIC = { meshApiServerPublic: "true" };

function problems(raw: Record<string, string>): string[] {
    try {
        parseConfig(raw);
    } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as ConfigError).problems;
    }
    throw new Error(`config was accepted: ${JSON.stringify(raw)}`);
}

test("every feature is off by default", () => {
    expect(parseConfig({})).toMatchObject({
        ingressGateway: false,
        ingressDomain: "example.com",
        ingressReplicas: 1,
        manageMeshConfig: false,
        outboundTrafficPolicy: "ALLOW_ANY",
        egressHosts: [],
        accessLogs: false,
        meshMetrics: false,
        faultScope: "canary",
        faultDelay: "",
        faultDelayPercent: 100,
        faultAbortStatus: 0,
        faultAbortPercent: 100,
        mirrorPercent: 0,
    });
});

test("feature values are parsed from the strings Pulumi hands over", () => {
    const c = parseConfig({
        ...CREATE_PUBLIC,
        ingressGateway: "true",
        ingressDomain: "apps.example.net",
        ingressReplicas: "3",
        manageMeshConfig: "true",
        outboundTrafficPolicy: "REGISTRY_ONLY",
        egressHosts: '["api.github.com","httpbin.org"]',
        accessLogs: "true",
        meshMetrics: "true",
        faultScope: "service",
        faultDelay: "2s",
        faultDelayPercent: "10",
        faultAbortStatus: "503",
        faultAbortPercent: "5",
        mirrorPercent: "25",
    });
    expect(c).toMatchObject({
        ingressGateway: true,
        ingressDomain: "apps.example.net",
        ingressReplicas: 3,
        outboundTrafficPolicy: "REGISTRY_ONLY",
        egressHosts: ["api.github.com", "httpbin.org"],
        faultDelayPercent: 10,
        faultAbortStatus: 503,
        mirrorPercent: 25,
    });
    expect(faultOf(c)).toEqual({
        scope: "service",
        injection: {
            delay: { fixedDelay: "2s", percentage: { value: 10 } },
            abort: { httpStatus: 503, percentage: { value: 5 } },
        },
    });
    expect(ingressHost("hello", c.ingressDomain)).toBe("hello.apps.example.net");
});

test("no fault is configured by default; a delay or an abort alone is one", () => {
    const base = parseConfig({});
    expect(faultOf(base)).toBeUndefined();
    expect(faultOf({ ...base, faultAbortStatus: 500 })?.injection).toEqual({
        abort: { httpStatus: 500, percentage: { value: 100 } },
    });
});

test.each([
    [{ ingressDomain: "Example.com" }, 'ingressDomain: got "Example.com"; must be a DNS domain such as example.com'],
    [{ ingressDomain: "localhost" }, 'ingressDomain: got "localhost"; must be a DNS domain'],
    [{ ingressReplicas: "0" }, 'ingressReplicas: got "0"; must be a whole number from 1 to 10'],
    [{ outboundTrafficPolicy: "DENY" }, 'outboundTrafficPolicy: got "DENY"; must be one of ALLOW_ANY, REGISTRY_ONLY'],
    [{ egressHosts: '["*.example.com"]' }, 'egressHosts: got "[\\"*.example.com\\"]"; item "*.example.com" is not'],
    [{ egressHosts: '["10.0.0.1"]' }, 'item "10.0.0.1" is not a DNS host name'],
    [
        { egressHosts: '["a.example.com","a.example.com"]' },
        'egressHosts: got ["a.example.com","a.example.com"]; hosts must be distinct',
    ],
    [{ faultScope: "pod" }, 'faultScope: got "pod"; must be one of canary, service'],
    [{ faultDelay: "2" }, 'faultDelay: got "2"; must be a duration such as "500ms"'],
    [{ faultDelayPercent: "0" }, 'faultDelayPercent: got "0"; must be a whole number from 1 to 100'],
    [
        { faultAbortStatus: "200" },
        'faultAbortStatus: got "200"; must be an HTTP error status from 400 to 599 (or 0 for none)',
    ],
    [{ faultAbortPercent: "101" }, 'faultAbortPercent: got "101"; must be a whole number from 1 to 100'],
    [{ mirrorPercent: "-5" }, 'mirrorPercent: got "-5"; must be a whole number from 0 to 100'],
])("%p is refused", (raw, message) => {
    const found = problems(raw);
    expect(found.filter((p) => p.includes(message))).toHaveLength(1);
});

describe("cross-key rules", () => {
    test("ingressGateway in mode create needs the mesh's public API endpoint", () => {
        expect(problems({ ingressGateway: "true" })).toEqual([
            "ingressGateway: got true with meshApiServerPublic false; the ASM gateway is an IstioGateway object on the " +
                "ASM control plane, which the program reaches only through the mesh's public API endpoint: set " +
                "meshApiServerPublic true (fixed at creation: on an existing stack that replaces the ASM instance)",
        ]);
        expect(() => parseConfig({ ...CREATE_PUBLIC, ingressGateway: "true" })).not.toThrow();
    });

    test("ingressGateway in mode existing only renders", () => {
        expect(() => parseConfig({ ...EXISTING, ingressGateway: "true" })).not.toThrow();
        expect(problems({ mode: "existing", existingKubeconfigPath: "/kc", ingressGateway: "true" })).toEqual([
            'ingressGateway: got true in mode "existing"; the program cannot reach the ASM control plane that owns the ' +
                "gateway (an IstioGateway object) in this mode: use mode create with meshApiServerPublic, or " +
                "renderYamlDirectory to write the Gateway and VirtualService changes for review",
        ]);
    });

    test.each([
        ["outboundTrafficPolicy", "REGISTRY_ONLY", '"REGISTRY_ONLY"'],
        ["accessLogs", "true", "true"],
        ["meshMetrics", "true", "true"],
    ])("mode create: %s needs manageMeshConfig", (key, value, shown) => {
        expect(problems({ [key]: value })).toEqual([
            `${key}: got ${shown} with manageMeshConfig false; this is a setting of the ASM instance (its meshConfig): ` +
                "set manageMeshConfig true so the program owns outboundTrafficPolicy, telemetry and access-log " +
                "collection there (turning a switch off later then sends the off value)",
        ]);
        expect(() => parseConfig({ [key]: value, manageMeshConfig: "true" })).not.toThrow();
    });

    test("mode existing: no mesh settings, but access logs (Telemetry) and egress hosts", () => {
        expect(problems({ ...EXISTING, manageMeshConfig: "true" })).toEqual([
            'manageMeshConfig: got true in mode "existing"; the program manages no ASM instance in this mode',
        ]);
        expect(problems({ ...EXISTING, outboundTrafficPolicy: "REGISTRY_ONLY" })).toEqual([
            'outboundTrafficPolicy: got "REGISTRY_ONLY" in mode "existing"; it is a setting of the ASM instance, which ' +
                "this mode does not manage: set it there (`aliyun servicemesh UpdateMeshFeature --ServiceMeshId <id> " +
                "--OutboundTrafficPolicy REGISTRY_ONLY`) and keep egressHosts here",
        ]);
        expect(problems({ ...EXISTING, meshMetrics: "true" })).toEqual([
            'meshMetrics: got true in mode "existing"; the ARMS Prometheus add-on and the mesh\'s telemetry setting are ' +
                "Alibaba Cloud resources, which this mode does not manage",
        ]);
        expect(() => parseConfig({ ...EXISTING, accessLogs: "true", egressHosts: '["httpbin.org"]' })).not.toThrow();
    });

    test.each([[{ faultDelay: "2s", routeTimeout: "5s" }], [{ faultAbortStatus: "503", retryAttempts: "2" }]])(
        "a fault is refused together with timeout or retries: %p",
        (raw) => {
            expect(problems({ ...raw, faultScope: "service" })).toEqual([
                "faultDelay/faultAbortStatus: set together with routeTimeout/retryAttempts; Istio silently turns timeout and " +
                    "retries off on a route that injects a fault: clear routeTimeout and retryAttempts for the chaos test, or the fault",
            ]);
        },
    );

    test("the canary scope needs the header route", () => {
        expect(problems({ faultDelay: "1s" })).toEqual([
            'faultScope: got "canary" without canaryHeaderName/canaryHeaderValue; the canary route is the header-match ' +
                'route to v2: set the header, or faultScope "service"',
        ]);
        expect(() =>
            parseConfig({ faultDelay: "1s", canaryHeaderName: "x-canary", canaryHeaderValue: "always" }),
        ).not.toThrow();
    });

    test("mirroring is refused when v2 already takes every request", () => {
        expect(problems({ mirrorPercent: "10", canaryWeight: "100" })).toEqual([
            "mirrorPercent: got 10 with canaryWeight 100; v2 already receives every request, so each mirrored request " +
                "would reach v2 twice: mirror at a lower canaryWeight (0 for a dark launch)",
        ]);
        expect(() => parseConfig({ mirrorPercent: "10", canaryWeight: "0" })).not.toThrow();
    });
});
