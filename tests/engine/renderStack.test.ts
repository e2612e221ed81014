/**
 * The real Pulumi engine, offline, on a throwaway copy of the render stack (mode=existing with the
 * Kubernetes provider's renderYamlToDirectory: no cloud, no cluster), through the Automation API: fresh
 * state, preview, up and the rendered manifests; state written by the component type tokens before the
 * rename plans no change; a config change is exactly one update of its object, as the engine plans it;
 * an invalid weight fails with the program's message and changes nothing; destroy and stack rm.
 *
 * `npm run test:engine` (jest.engine.config.js); `npm test` does not run it. The tests run in order and
 * share the stack.
 */
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import * as yaml from "js-yaml";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { copyProgram, plan as enginePlan, RENDER_STACK_CONFIG } from "../support/engine";

const STACK = "render";
/**
 * Component type tokens before the layers were split (the program keeps aliases to them): the types as
 * existing stacks' state records them.
 */
const LEGACY_TYPES: Record<string, string> = {
    "asm-canary:foundation:Network": "asmcanary:network:Network",
    "asm-canary:foundation:AckCluster": "asmcanary:cluster:AckCluster",
    "asm-canary:foundation:AsmMesh": "asmcanary:mesh:AsmMesh",
    "asm-canary:foundation:ExistingMesh": "asmcanary:mesh:ExistingMesh",
    "asm-canary:mesh:MeshNamespace": "asmcanary:mesh:MeshNamespace",
    "asm-canary:mesh:DemoWorkloads": "asmcanary:mesh:DemoWorkloads",
    "asm-canary:mesh:CanaryRouting": "asmcanary:mesh:CanaryRouting",
    "asm-canary:mesh:MeshSecurity": "asmcanary:mesh:MeshSecurity",
};

let work: string;
let stack: Stack;

// The first run on a machine may build the Pulumi toolchain (tools/pulumi-toolchain.sh), hence the time.
beforeAll(async () => {
    ({ work, stack } = await copyProgram("asm-canary-engine-", STACK, "render", RENDER_STACK_CONFIG));
}, 30 * 60_000);

afterAll(() => {
    if (work && !process.env.KEEP_ENGINE_WORKDIR) {
        fs.rmSync(work, { recursive: true, force: true });
    } else if (work) {
        console.log(`work dir kept: ${work}`);
    }
});

/** Every rendered object, keyed "Kind/namespace/name". */
function manifests(): Record<string, any> {
    const out: Record<string, any> = {};
    const dir = path.join(work, ".render", "manifests");
    if (!fs.existsSync(dir)) {
        return out;
    }
    for (const file of fs.readdirSync(dir, { recursive: true, encoding: "utf8" })) {
        if (/\.ya?ml$/.test(file)) {
            for (const doc of yaml.loadAll(fs.readFileSync(path.join(dir, file), "utf8")) as any[]) {
                if (doc?.kind) {
                    out[`${doc.kind}/${doc.metadata.namespace ?? ""}/${doc.metadata.name}`] = doc;
                }
            }
        }
    }
    return out;
}

const renderedWeights = (vs: any) =>
    Object.fromEntries(vs.spec.http.at(-1).route.map((r: any) => [r.destination.subset, r.weight]));

/** The engine's own plan (tests/support/engine.ts), each changed step as op and name. */
async function plan(): Promise<{ counts: Record<string, number>; changed: { op: string; name: string }[] }> {
    const { counts, changed } = await enginePlan(stack);
    return { counts, changed: changed.map(({ op, name }) => ({ op, name })) };
}

test("preview from a fresh state plans only creates", async () => {
    const { counts } = await plan();
    expect(Object.keys(counts)).toEqual(["create"]);
    expect(counts.create).toBeGreaterThan(10);
});

test("up renders the mesh layer, and the program sends the engine none of the SDK's debug messages (runtime.ts)", async () => {
    const debug: string[] = [];
    await stack.up({
        onEvent: (e) => {
            const d = e.diagnosticEvent;
            if (d && (d.severity as string) === "debug") {
                debug.push(d.message);
            }
        },
    });
    // The SDK sends several per resource ("Registering resource: t=…", "RegisterResource RPC prepared: …");
    // only the stack's own, registered by the language runtime before it loads the program, still come.
    const sdk = debug.filter((m) => /^(Registering resource|RegisterResource RPC)/.test(m));
    expect(sdk.length).toBe(3);
    expect(sdk.filter((m) => !m.includes("pulumi:pulumi:Stack"))).toEqual([]);
    const m = manifests();
    expect(m["Namespace//canary-demo"]?.metadata.labels?.["istio-injection"]).toBe("enabled");
    for (const v of ["v1", "v2"]) {
        expect(m[`Deployment/canary-demo/hello-${v}`]?.spec.template.metadata.labels).toEqual({
            app: "hello",
            version: v,
        });
    }
    expect(m["Deployment/canary-demo/curl"]).toBeDefined();
    expect(m["Service/canary-demo/hello"]?.spec.ports).toEqual([
        { name: "http", appProtocol: "http", port: 80, targetPort: 5678 },
    ]);
    expect(m["DestinationRule/canary-demo/hello"]?.spec.subsets.map((s: any) => s.name)).toEqual(["v1", "v2"]);
    expect(renderedWeights(m["VirtualService/canary-demo/hello"])).toEqual({ v1: 90, v2: 10 });
    expect(m["PeerAuthentication/canary-demo/default"]?.spec.mtls.mode).toBe("PERMISSIVE");
});

/** `project:///<file>#<line>,<column>` of the first `new <what>(` in one of the program's TypeScript files. */
function declaredAt(file: string, what: string): string {
    const lines = fs.readFileSync(path.join(work, file), "utf8").split("\n");
    const line = lines.findIndex((l) => l.includes(`new ${what}(`));
    expect(line).toBeGreaterThanOrEqual(0);
    return `project:///${file}#${line + 1},${lines[line].indexOf(`new ${what}(`) + 1}`;
}

test("the state records where each resource is declared, as TypeScript lines (runtime.ts 3: mapped by Node.js)", async () => {
    const resources: { urn: string; sourcePosition?: string }[] = (await stack.exportStack()).deployment.resources;
    const at = (suffix: string) => resources.find((r) => r.urn.endsWith(suffix))?.sourcePosition;
    expect(at("VirtualService::route-hello-vs")).toBe(
        declaredAt("mesh/istioResource.ts", "k8s.apiextensions.CustomResource"),
    );
    expect(at("MeshNamespace::namespace")).toBe(declaredAt("mesh/meshLayer.ts", "MeshNamespace"));
    expect(at("kubernetes:core/v1:Namespace::namespace")).toBe(
        declaredAt("mesh/meshNamespace.ts", "k8s.core.v1.Namespace"),
    );
});

test("state recorded under the old type tokens plans no create, delete or replace: the aliases hold", async () => {
    const current = await stack.exportStack();
    let legacy = JSON.stringify(current);
    expect(legacy).toMatch(/asm-canary:(foundation|mesh):/);
    for (const [type, old] of Object.entries(LEGACY_TYPES)) {
        legacy = legacy.split(type).join(old);
    }
    // Every component type (and so every URN under it) is now the old one.
    expect(legacy).not.toMatch(/asm-canary:(foundation|mesh):/);
    await stack.importStack(JSON.parse(legacy));
    try {
        const { counts, changed } = await plan();
        expect({ counts, changed }).toEqual({ counts: {}, changed: [] });
    } finally {
        await stack.importStack(current);
    }
});

test("canaryWeight 10 -> 50: the engine plans exactly one update, the VirtualService", async () => {
    await stack.setConfig("canaryWeight", { value: "50" });
    expect(await plan()).toEqual({ counts: { update: 1 }, changed: [{ op: "update", name: "route-hello-vs" }] });
    await stack.up();
    expect(renderedWeights(manifests()["VirtualService/canary-demo/hello"])).toEqual({ v1: 50, v2: 50 });
});

test("mtlsMode PERMISSIVE -> STRICT: exactly one update, the PeerAuthentication", async () => {
    await stack.setConfig("mtlsMode", { value: "STRICT" });
    expect(await plan()).toEqual({ counts: { update: 1 }, changed: [{ op: "update", name: "security-peer-auth" }] });
    await stack.up();
    expect(manifests()["PeerAuthentication/canary-demo/default"].spec.mtls.mode).toBe("STRICT");
});

// --- mesh features: each switch renders its own objects (the Alibaba-side parts exist only in mode create) ---

/** Sets config, expects the engine to plan exactly `changes` (any order), then runs `up`. */
async function changePlans(config: Record<string, string>, changes: { op: string; name: string }[], path = false) {
    for (const [key, value] of Object.entries(config)) {
        await stack.setConfig(key, { value }, path);
    }
    const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
    expect([...(await plan()).changed].sort(byName)).toEqual([...changes].sort(byName));
    await stack.up();
}

test("ingressGateway on (render): the Gateway is created, the VirtualService bound to it", async () => {
    await changePlans({ ingressGateway: "true" }, [
        { op: "create", name: "ingress" },
        { op: "create", name: "ingress-gateway" },
        { op: "update", name: "route-hello-vs" },
    ]);
    const m = manifests();
    const gw = m["Gateway/canary-demo/ingress"];
    expect(gw?.spec.servers[0].hosts).toEqual(["./hello.example.com"]);
    expect(gw.spec.selector).toEqual({ "asm-canary/gateway": "canary-ingressgateway" });
    const vs = m["VirtualService/canary-demo/hello"];
    expect(vs.spec.gateways).toEqual(["mesh", "canary-demo/ingress"]);
    expect(vs.spec.hosts).toEqual(["hello", "hello.example.com"]);
});

test("egressHosts[0] = httpbin.org: one ServiceEntry created", async () => {
    await changePlans(
        { "egressHosts[0]": "httpbin.org" },
        [
            { op: "create", name: "egress" },
            { op: "create", name: "egress-httpbin.org" },
        ],
        true,
    );
    const se = manifests()["ServiceEntry/canary-demo/httpbin.org"];
    expect([se?.spec.location, se?.spec.resolution, se?.spec.exportTo]).toEqual(["MESH_EXTERNAL", "DNS", ["."]]);
});

test("accessLogs on: the namespace's Telemetry is created", async () => {
    await changePlans({ accessLogs: "true" }, [
        { op: "create", name: "access-logging" },
        { op: "create", name: "access-logging-telemetry" },
    ]);
    const t = manifests()["Telemetry/canary-demo/access-logs"];
    expect(t?.apiVersion).toBe("telemetry.istio.io/v1alpha1");
    expect(t.spec.accessLogging).toEqual([{ providers: [{ name: "envoy" }] }]);
});

test("fault (service scope, 503 on 10%) and mirror 20%: each one update, the VirtualService", async () => {
    await stack.setAllConfig({ faultScope: { value: "service" }, faultAbortPercent: { value: "10" } });
    await changePlans({ faultAbortStatus: "503" }, [{ op: "update", name: "route-hello-vs" }]);
    await changePlans({ mirrorPercent: "20" }, [{ op: "update", name: "route-hello-vs" }]);
    const weighted = manifests()["VirtualService/canary-demo/hello"].spec.http.at(-1);
    expect(weighted.fault).toEqual({ abort: { httpStatus: 503, percentage: { value: 10 } } });
    expect([weighted.mirror, weighted.mirrorPercentage]).toEqual([{ host: "hello", subset: "v2" }, { value: 20 }]);
});

test("review 2 (issue 16.2): every render-side feature on, the stack converges: after up, a preview plans nothing and another up changes nothing", async () => {
    // On at this point: ingressGateway (Gateway + binding), egressHosts, accessLogs, fault, mirror, STRICT.
    // A refresh cannot run here: the render provider has no cluster to read ("failed to read resource state
    // due to unreachable cluster"); the refresh side is the mock tests' (tests/foundation/alibaba/asmMesh.test.ts).
    const m = manifests();
    expect(
        Object.keys(m)
            .filter((k) => /^(Gateway|ServiceEntry|Telemetry)\//.test(k))
            .sort(),
    ).toEqual([
        "Gateway/canary-demo/ingress",
        "ServiceEntry/canary-demo/httpbin.org",
        "Telemetry/canary-demo/access-logs",
    ]);
    expect(await plan()).toEqual({ counts: {}, changed: [] });
    const again = await stack.up();
    const { same: _same, ...changes } = (again.summary.resourceChanges ?? {}) as Record<string, number>;
    expect(changes).toEqual({});
    expect(await plan()).toEqual({ counts: {}, changed: [] });
});

test("canaryWeight 101: preview fails with the program's message, no stack trace, and changes nothing", async () => {
    const state = JSON.stringify(await stack.exportStack());
    const files = JSON.stringify(manifests());
    await stack.setConfig("canaryWeight", { value: "101" });
    try {
        const error: Error = await stack.preview().then(
            () => new Error("preview succeeded"),
            (e: Error) => e,
        );
        expect(error.message).toContain('canaryWeight: got "101"; must be a whole number from 0 to 100');
        expect(error.message).not.toMatch(/\bat parseConfig\b/);
        expect(JSON.stringify(await stack.exportStack())).toBe(state);
        expect(JSON.stringify(manifests())).toBe(files);
    } finally {
        await stack.setConfig("canaryWeight", { value: "50" });
    }
});

test("destroy leaves no resource, and the stack can be removed", async () => {
    await stack.destroy();
    expect((await stack.exportStack()).deployment.resources ?? []).toEqual([]);
    await stack.workspace.removeStack(STACK);
    expect((await stack.workspace.listStacks()).map((s) => s.name)).not.toContain(STACK);
});

// The readiness gate is a dynamic provider: this runs it in the engine's plugin process (the toolchain's
// pulumi-resource-pulumi-nodejs script, the serialized provider) against a server that does not exist: a
// port that was just free (not a fixed one such as 1, which fetch refuses as a "bad port" before connecting).
test("readiness gate: against an unreachable cluster, up fails after meshReadyTimeout and creates nothing in the mesh layer", async () => {
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const server = `https://127.0.0.1:${port}`;
    fs.writeFileSync(
        path.join(work, "unreachable.kubeconfig"),
        yaml.dump({
            apiVersion: "v1",
            kind: "Config",
            clusters: [{ name: "none", cluster: { server, "insecure-skip-tls-verify": true } }],
            users: [{ name: "none", user: { token: "none" } }],
            contexts: [{ name: "none", context: { cluster: "none", user: "none" } }],
            "current-context": "none",
        }),
    );
    const gate = await LocalWorkspace.createStack(
        { stackName: "gate", workDir: work },
        {
            pulumiCommand: stack.workspace.pulumiCommand,
            envVars: stack.workspace.envVars,
            secretsProvider: "passphrase",
        },
    );
    await gate.setAllConfig({
        mode: { value: "existing" },
        existingKubeconfigPath: { value: "unreachable.kubeconfig" },
        meshReadyTimeout: { value: "10" },
    });
    const error: Error = await gate.up().then(
        () => new Error("up succeeded"),
        (e: Error) => e,
    );
    for (const line of [
        `mesh readiness: waiting for cluster ${server} (0 s of 10 s; next check in 2 s): the API server: connect ECONNREFUSED 127.0.0.1:${port}`,
        `mesh readiness gate: cluster ${server} is not ready for the mesh layer after 10 s (4 checks); still missing:`,
        "Nothing in the mesh layer was created.",
    ]) {
        expect(error.message).toContain(line);
    }
    const types = ((await gate.exportStack()).deployment.resources ?? []).map((r: { type: string }) => r.type);
    expect(
        types.filter((t: string) => t.startsWith("kubernetes:") || t === "pulumi-nodejs:dynamic:MeshReadiness"),
    ).toEqual([]);
    await gate.destroy();
    await gate.workspace.removeStack("gate");
});
