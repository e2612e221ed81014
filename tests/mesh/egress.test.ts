/** Egress control: the mesh's outbound traffic policy (in place, on the ASM instance) and a ServiceEntry allow-list. */
import { serviceEntryManifest } from "../../mesh/meshEgress";
import { meshConfigOf } from "../../foundation/alibaba/meshConfig";
import { byType, CREATE_CONFIG, depsOf, EXISTING_CONFIG, FEATURE, one, runProgram } from "../support/harness";

test("a ServiceEntry per host: external, DNS-resolved, HTTP on 80 and HTTPS on 443, this namespace only", () => {
    expect(serviceEntryManifest("demo", "api.github.com", "v1beta1")).toEqual({
        apiVersion: "networking.istio.io/v1beta1",
        kind: "ServiceEntry",
        metadata: { name: "api.github.com", namespace: "demo" },
        spec: {
            hosts: ["api.github.com"],
            exportTo: ["."],
            location: "MESH_EXTERNAL",
            resolution: "DNS",
            ports: [
                { number: 80, name: "http", protocol: "HTTP" },
                { number: 443, name: "https", protocol: "HTTPS" },
            ],
        },
    });
    expect(serviceEntryManifest("demo", "httpbin.org", "v1").apiVersion).toBe("networking.istio.io/v1");
});

describe("egressHosts in the program", () => {
    test("none by default", async () => {
        const run = await runProgram(EXISTING_CONFIG);
        expect(byType(run.resources, FEATURE.serviceEntry)).toEqual([]);
        expect(byType(run.resources, "asm-canary:mesh:MeshEgress")).toEqual([]);
    });

    test("one ServiceEntry per host, in the namespace, after it; a check in the verify output", async () => {
        const run = await runProgram({ ...EXISTING_CONFIG, egressHosts: '["api.github.com","httpbin.org"]' });
        const entries = byType(run.resources, FEATURE.serviceEntry);
        expect(entries.map((e) => [e.name, e.inputs.metadata])).toEqual([
            ["egress-api.github.com", { name: "api.github.com", namespace: "canary-demo" }],
            ["egress-httpbin.org", { name: "httpbin.org", namespace: "canary-demo" }],
        ]);
        for (const e of entries) {
            expect(depsOf(run.resources, e)).toContain("kubernetes:core/v1:Namespace::namespace");
            expect(e.provider).toMatch(/pulumi:providers:kubernetes::existing-k8s::/);
        }
        const verify = run.outputs.verify as Record<string, string>;
        expect(verify.egressAllowed).toBe(
            "kubectl -n canary-demo exec deploy/curl -c curl -- curl -sS -o /dev/null -w '%{http_code}\\n' https://api.github.com/",
        );
        expect(verify.egressBlocked).toBeUndefined();
    });
});

describe("outboundTrafficPolicy on the ASM instance (mode create)", () => {
    test("meshConfig is only sent when the program owns it, and then with every owned field", () => {
        const off = { manage: false, outboundTrafficPolicy: "REGISTRY_ONLY", metrics: true } as const;
        expect(meshConfigOf(off)).toBeUndefined();
        expect(meshConfigOf({ ...off, manage: true, metrics: false })).toEqual({
            outboundTrafficPolicy: "REGISTRY_ONLY",
            telemetry: false,
            accessLog: { enabled: false, sidecarEnabled: false, gatewayEnabled: false },
        });
    });

    test("existing stacks: no meshConfig at all by default", async () => {
        const run = await runProgram(CREATE_CONFIG);
        expect(one(run.resources, FEATURE.mesh).inputs).not.toHaveProperty("meshConfig");
    });

    test("REGISTRY_ONLY is set in place on the mesh; the blocked check appears", async () => {
        const run = await runProgram({
            ...CREATE_CONFIG,
            manageMeshConfig: "true",
            outboundTrafficPolicy: "REGISTRY_ONLY",
            egressHosts: '["httpbin.org"]',
        });
        expect(one(run.resources, FEATURE.mesh).inputs.meshConfig).toEqual({
            outboundTrafficPolicy: "REGISTRY_ONLY",
            telemetry: false,
            accessLog: { enabled: false, sidecarEnabled: false, gatewayEnabled: false },
        });
        expect(one(run.resources, FEATURE.serviceEntry).inputs.spec.hosts).toEqual(["httpbin.org"]);
        expect((run.outputs.verify as Record<string, string>).egressBlocked).toBe(
            "kubectl -n canary-demo exec deploy/curl -c curl -- curl -sS -o /dev/null -w '%{http_code}\\n' http://example.org/",
        );
    });

    test("back to ALLOW_ANY sends ALLOW_ANY (the switch really turns off)", async () => {
        const run = await runProgram({ ...CREATE_CONFIG, manageMeshConfig: "true" });
        expect(one(run.resources, FEATURE.mesh).inputs.meshConfig.outboundTrafficPolicy).toBe("ALLOW_ANY");
    });
});
