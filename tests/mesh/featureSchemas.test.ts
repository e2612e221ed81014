/** With every feature on at once, every Istio object the program declares passes the upstream schema. */
import { CREATE_CONFIG, FEATURE, runProgram } from "../support/harness";

const ALL_ON = {
    ...CREATE_CONFIG,
    services: '["hello","billing"]',
    canaryWeight: "20",
    mtlsMode: "STRICT",
    authorizationPolicy: "true",
    canaryHeaderName: "x-canary",
    canaryHeaderValue: "always",
    meshApiServerPublic: "true",
    ingressGateway: "true",
    manageMeshConfig: "true",
    outboundTrafficPolicy: "REGISTRY_ONLY",
    egressHosts: '["httpbin.org","api.github.com"]',
    accessLogs: "true",
    meshMetrics: "true",
    faultScope: "canary",
    faultDelay: "1500ms",
    faultDelayPercent: "50",
    faultAbortStatus: "503",
    faultAbortPercent: "10",
    mirrorPercent: "10",
};

test.each(["v1beta1", "v1"])("istioApiVersion %s: every Istio object validates; all kinds present", async (v) => {
    const networking = await import("@kubernetes-models/istio/networking.istio.io/v1beta1");
    const security = await import("@kubernetes-models/istio/security.istio.io/v1beta1");
    const telemetry = await import("@kubernetes-models/istio/telemetry.istio.io/v1alpha1");
    const models: Record<string, new (data: any) => { validate(): void }> = {
        DestinationRule: networking.DestinationRule,
        VirtualService: networking.VirtualService,
        Gateway: networking.Gateway,
        ServiceEntry: networking.ServiceEntry,
        AuthorizationPolicy: security.AuthorizationPolicy,
        PeerAuthentication: security.PeerAuthentication,
        Telemetry: telemetry.Telemetry,
    };
    const run = await runProgram({ ...ALL_ON, istioApiVersion: v });
    const istio = run.resources.filter((r) => /\.istio\.io\//.test(r.type));
    expect([...new Set(istio.map((r) => r.inputs.kind))].sort()).toEqual(Object.keys(models).sort());
    for (const r of istio) {
        expect(
            r.inputs.apiVersion.endsWith(r.inputs.kind === "Telemetry" && v === "v1beta1" ? "/v1alpha1" : `/${v}`),
        ).toBe(true);
        const { apiVersion: _apiVersion, ...data } = r.inputs;
        expect(() => new models[r.inputs.kind](data).validate()).not.toThrow();
    }
    // The ASM-side objects exist too.
    for (const t of [FEATURE.istioGateway, FEATURE.clb, FEATURE.sls, FEATURE.addon]) {
        expect(run.resources.filter((r) => r.type === t)).toHaveLength(1);
    }
});

test("with every feature on, each resource sits under a component and names its provider", async () => {
    const run = await runProgram(ALL_ON);
    for (const r of run.resources.filter(
        // The stack's read of its own outputs sits at the top, as in every stack.
        (x) => !x.type.startsWith("asm-canary:") && x.type !== "pulumi:pulumi:StackReference",
    )) {
        expect({ name: r.name, parent: r.parent }).toEqual({
            name: r.name,
            parent: expect.stringMatching(/[:$]asm-canary:(foundation|mesh):[A-Z]\w+::[^:]+$/),
        });
    }
    for (const r of run.resources.filter((x) => /^(kubernetes|alicloud):/.test(x.type))) {
        expect({ name: r.name, provider: r.provider }).toEqual({
            name: r.name,
            provider: expect.stringMatching(/[:$]pulumi:providers:(kubernetes|alicloud)::/),
        });
    }
    for (const c of run.resources.filter((x) => x.type.startsWith("asm-canary:"))) {
        expect(c.type).toMatch(/^asm-canary:(foundation|mesh):[A-Z][A-Za-z]+$/);
    }
});
