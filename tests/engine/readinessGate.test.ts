/**
 * The real engine on the mesh readiness gate (a stand-in program, fixtures/readinessGate.ts, with the gate
 * alone) against a local HTTPS API server (test-only certificates, tests/foundation/readiness/tls) that
 * serves the Istio APIs and the injector webhook: the gate's dynamic provider, serialized and run in the
 * engine's plugin process, loads @kubernetes/client-node and is satisfied; on the engine's default
 * `pulumi-nodejs` provider any config change plans an update of that provider, on the gate's own instance it
 * plans nothing; and moving a stack's gate from the default instance to its own keeps the resource (no
 * replace, no new check).
 */
import * as fs from "fs";
import * as https from "https";
import type * as net from "net";
import * as path from "path";
import { Stack } from "@pulumi/pulumi/automation";
import { copyProgram, plan } from "../support/engine";
import { tokenKubeconfig } from "../support/localKubeconfig";

const TLS = path.join(__dirname, "..", "foundation", "readiness", "tls");
const pem = (file: string) => fs.readFileSync(path.join(TLS, file), "utf8");

let work: string;
let stack: Stack;
let server: https.Server;
/** Requests the API server has answered. */
let requests = 0;

beforeAll(async () => {
    server = https.createServer({ key: pem("server.key"), cert: pem("server.crt") }, (req, res) => {
        requests++;
        res.setHeader("Content-Type", "application/json");
        const plurals: Record<string, string[]> = {
            "/apis/networking.istio.io/v1beta1": ["virtualservices", "destinationrules"],
            "/apis/security.istio.io/v1beta1": ["peerauthentications", "authorizationpolicies"],
        };
        if (req.url === "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations") {
            const webhooks = [{ name: "namespace.sidecar-injector.istio.io" }];
            res.end(JSON.stringify({ items: [{ metadata: { name: "istio-sidecar-injector" }, webhooks }] }));
        } else if (req.url && req.url in plurals) {
            res.end(JSON.stringify({ resources: plurals[req.url].map((name) => ({ name })) }));
        } else {
            res.statusCode = 404;
            res.end(JSON.stringify({ kind: "Status", message: "not found" }));
        }
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    ({ work, stack } = await copyProgram("asm-canary-gate-", "gate", "gate", { canaryWeight: "10" }));
    fs.writeFileSync(path.join(work, "index.ts"), 'import "./tests/engine/fixtures/readinessGate";\n');
    fs.writeFileSync(
        path.join(work, "gate.kubeconfig"),
        tokenKubeconfig(`https://127.0.0.1:${(server.address() as net.AddressInfo).port}`, pem("ca.crt")),
    );
}, 30 * 60_000);

afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    if (work) {
        fs.rmSync(work, { recursive: true, force: true });
    }
});

const GATE_URN =
    "urn:pulumi:gate::asm-canary::asm-canary:foundation:MeshReadinessGate$pulumi-nodejs:dynamic:MeshReadiness::mesh-ready";

/** The gate's resource in the state. */
async function gateState(): Promise<{ id: string; provider: string; outputs: Record<string, unknown> }> {
    const resources: { urn: string; id: string; provider: string; outputs: Record<string, unknown> }[] =
        (await stack.exportStack()).deployment.resources ?? [];
    const gate = resources.find((r) => r.urn === GATE_URN);
    if (!gate) {
        throw new Error(`no ${GATE_URN} in the state: ${resources.map((r) => r.urn).join(", ")}`);
    }
    return gate;
}

test("on the default provider: the gate is satisfied, and a config change plans an update of that provider", async () => {
    fs.writeFileSync(path.join(work, "phase"), "default\n");
    const up = await stack.up();
    expect(up.summary.result).toBe("succeeded");
    expect(requests).toBe(3);
    expect((await gateState()).outputs.injectorWebhooks).toEqual([
        "istio-sidecar-injector/namespace.sidecar-injector.istio.io",
    ]);

    await stack.setConfig("canaryWeight", { value: "20" });
    expect((await plan(stack)).changed).toEqual([
        { op: "update", name: "default", type: "pulumi:providers:pulumi-nodejs" },
    ]);
}, 300_000);

test("moved to the gate's own provider: the resource is kept (no replace, no new check), only the provider is new", async () => {
    const before = await gateState();
    fs.writeFileSync(path.join(work, "phase"), "own\n");
    // The gate's own provider is created, the default one (used by nothing now) deleted; the gate is `same`.
    expect(await plan(stack)).toEqual({
        counts: { create: 1 },
        changed: [
            { op: "create", name: "mesh-ready", type: "pulumi:providers:pulumi-nodejs" },
            { op: "delete", name: "default", type: "pulumi:providers:pulumi-nodejs" },
        ],
    });
    await stack.up();
    const after = await gateState();
    expect({ id: after.id, outputs: after.outputs }).toEqual({ id: before.id, outputs: before.outputs });
    expect(after.provider).toMatch(
        /^urn:pulumi:gate::asm-canary::asm-canary:foundation:MeshReadinessGate\$pulumi:providers:pulumi-nodejs::mesh-ready::/,
    );
    expect(requests).toBe(3);
}, 300_000);

test("on its own provider a config change plans nothing at all, providers included", async () => {
    await stack.setConfig("canaryWeight", { value: "30" });
    expect(await plan(stack)).toEqual({ counts: {}, changed: [] });
    await stack.destroy();
    expect((await stack.exportStack()).deployment.resources ?? []).toEqual([]);
}, 300_000);
