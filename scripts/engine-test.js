#!/usr/bin/env node
// Integration test with the REAL Pulumi engine, offline: the render stack (mode=existing +
// renderYamlToDirectory) from fresh state through preview, up, config changes measured by the engine's
// own `pulumi preview --json`, an invalid weight, destroy and stack rm; then the mesh readiness gate (a
// dynamic provider) against an unreachable cluster. Prints "N passed, N failed".
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const yaml = require("js-yaml");
const { isDeepStrictEqual } = require("util");
const { root, engineEnv, pulumi, pulumiOk } = require("./engine");

const STACK = "render";
const results = [];
function check(name, fn) {
    try {
        fn();
        results.push([name, true]);
        console.log(`ok   ${name}`);
    } catch (e) {
        results.push([name, false]);
        console.log(`FAIL ${name}\n     ${String(e.message).split("\n").join("\n     ")}`);
    }
}
function assert(cond, msg) {
    if (!cond) {
        throw new Error(msg);
    }
}
function eq(actual, expected, what) {
    assert(
        isDeepStrictEqual(actual, expected),
        `${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`,
    );
}

// A throwaway copy of the program, sharing node_modules: the run never touches the work tree.
const work = fs.mkdtempSync(path.join(os.tmpdir(), "asm-canary-engine-"));
for (const f of ["Pulumi.yaml", "Pulumi.render.yaml", "package.json", "tsconfig.json", "index.ts"]) {
    fs.copyFileSync(path.join(root, f), path.join(work, f));
}
for (const d of ["components", "lib"]) {
    fs.cpSync(path.join(root, d), path.join(work, d), { recursive: true });
}
fs.symlinkSync(path.join(root, "node_modules"), path.join(work, "node_modules"));
// Pulumi.render.yaml carries a salt made with the passphrase "render" (the stack holds no secrets).
const env = engineEnv(path.join(work, ".state"), "render");
const opts = { cwd: work, env };
const manifestsDir = path.join(work, ".render", "manifests");

/** Every rendered object, keyed "Kind/namespace/name". */
function manifests() {
    const out = {};
    const walk = (dir) => {
        for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
            const p = path.join(dir, e.name);
            if (e.isDirectory()) {
                walk(p);
            } else if (/\.ya?ml$/.test(e.name)) {
                for (const doc of yaml.loadAll(fs.readFileSync(p, "utf8"))) {
                    if (doc && doc.kind) {
                        out[`${doc.kind}/${doc.metadata.namespace ?? ""}/${doc.metadata.name}`] = doc;
                    }
                }
            }
        }
    };
    if (fs.existsSync(manifestsDir)) {
        walk(manifestsDir);
    }
    return out;
}
const weightsOf = (vs) => Object.fromEntries(vs.spec.http.at(-1).route.map((r) => [r.destination.subset, r.weight]));

/** The engine's own plan: { counts: {op: n}, changed: [{op, name}] } from `pulumi preview --json`. */
function plan() {
    const r = pulumiOk(["preview", "--json", "--stack", STACK], opts);
    const doc = JSON.parse(r.stdout);
    const changed = (doc.steps ?? [])
        .filter((s) => s.op !== "same")
        .map((s) => ({ op: s.op, name: s.urn.split("::").pop() }));
    const counts = { ...(doc.changeSummary ?? {}) };
    delete counts.same;
    return { counts, changed };
}

let failedEarly = false;
try {
    const started = Date.now();
    pulumiOk(["stack", "init", STACK, "--secrets-provider", "passphrase"], opts);

    check("pulumi preview succeeds from a fresh state", () => {
        const r = pulumi(["preview", "--stack", STACK], opts);
        assert(r.status === 0, `preview failed:\n${r.stdout}\n${r.stderr}`);
    });
    check("pulumi up renders the mesh layer", () => {
        pulumiOk(["up", "--yes", "--skip-preview", "--stack", STACK], opts);
        const m = manifests();
        eq(m["Namespace//canary-demo"]?.metadata.labels?.["istio-injection"], "enabled", "namespace injection label");
        for (const v of ["v1", "v2"]) {
            const d = m[`Deployment/canary-demo/hello-${v}`];
            assert(d, `Deployment hello-${v} not rendered`);
            eq(d.spec.template.metadata.labels, { app: "hello", version: v }, `hello-${v} pod labels`);
        }
        assert(m["Deployment/canary-demo/curl"], "curl client Deployment not rendered");
        eq(
            m["Service/canary-demo/hello"]?.spec.ports,
            [{ name: "http", appProtocol: "http", port: 80, targetPort: 5678 }],
            "Service ports",
        );
        eq(
            m["DestinationRule/canary-demo/hello"]?.spec.subsets.map((s) => s.name),
            ["v1", "v2"],
            "DestinationRule subsets",
        );
        eq(weightsOf(m["VirtualService/canary-demo/hello"]), { v1: 90, v2: 10 }, "VirtualService weights");
        eq(m["PeerAuthentication/canary-demo/default"]?.spec.mtls.mode, "PERMISSIVE", "PeerAuthentication mode");
    });

    /** `config set key value`: the engine must plan exactly one update, of `resource`; then `up`. */
    const changeUpdatesOnly = (key, value, resource) => {
        pulumiOk(["config", "set", key, value, "--stack", STACK], opts);
        const p = plan();
        eq(p.counts, { update: 1 }, "change summary");
        eq(p.changed, [{ op: "update", name: resource }], "changed resources");
        pulumiOk(["up", "--yes", "--skip-preview", "--stack", STACK], opts);
    };

    check("canaryWeight 10 -> 50: the engine plans exactly one update, the VirtualService", () => {
        changeUpdatesOnly("canaryWeight", "50", "route-hello-vs");
        eq(weightsOf(manifests()["VirtualService/canary-demo/hello"]), { v1: 50, v2: 50 }, "rendered weights after up");
    });

    check("mtlsMode PERMISSIVE -> STRICT: exactly one update, the PeerAuthentication", () => {
        changeUpdatesOnly("mtlsMode", "STRICT", "security-peer-auth");
        eq(manifests()["PeerAuthentication/canary-demo/default"].spec.mtls.mode, "STRICT", "rendered mode after up");
    });

    // --- mesh features: each switch renders its own objects (the Alibaba-side parts exist only in mode create) ---
    /** `config set args…`: the engine must plan exactly `changes` ({op, name} sorted by name); then `up`. */
    const changePlans = (args, changes) => {
        pulumiOk(["config", "set", ...args, "--stack", STACK], opts);
        const p = plan();
        const byName = (a, b) => a.name.localeCompare(b.name);
        eq([...p.changed].sort(byName), [...changes].sort(byName), "changed resources");
        pulumiOk(["up", "--yes", "--skip-preview", "--stack", STACK], opts);
    };

    check("ingressGateway on (render): the Gateway is created, the VirtualService bound to it", () => {
        changePlans(
            ["ingressGateway", "true"],
            [
                { op: "create", name: "ingress" },
                { op: "create", name: "ingress-gateway" },
                { op: "update", name: "route-hello-vs" },
            ],
        );
        const m = manifests();
        const gw = m["Gateway/canary-demo/ingress"];
        assert(gw, "Gateway not rendered");
        eq(gw.spec.servers[0].hosts, ["./hello.example.com"], "Gateway hosts");
        eq(gw.spec.selector, { "asm-canary/gateway": "canary-ingressgateway" }, "Gateway selector");
        const vs = m["VirtualService/canary-demo/hello"];
        eq(vs.spec.gateways, ["mesh", "canary-demo/ingress"], "VirtualService gateways");
        eq(vs.spec.hosts, ["hello", "hello.example.com"], "VirtualService hosts");
    });

    check("egressHosts[0] = httpbin.org: one ServiceEntry created", () => {
        changePlans(
            ["--path", "egressHosts[0]", "httpbin.org"],
            [
                { op: "create", name: "egress" },
                { op: "create", name: "egress-httpbin.org" },
            ],
        );
        const se = manifests()["ServiceEntry/canary-demo/httpbin.org"];
        assert(se, "ServiceEntry not rendered");
        eq([se.spec.location, se.spec.resolution, se.spec.exportTo], ["MESH_EXTERNAL", "DNS", ["."]], "ServiceEntry");
    });

    check("accessLogs on: the namespace's Telemetry is created", () => {
        changePlans(
            ["accessLogs", "true"],
            [
                { op: "create", name: "access-logging" },
                { op: "create", name: "access-logging-telemetry" },
            ],
        );
        const t = manifests()["Telemetry/canary-demo/access-logs"];
        assert(t, "Telemetry not rendered");
        eq(t.apiVersion, "telemetry.istio.io/v1alpha1", "Telemetry apiVersion");
        eq(t.spec.accessLogging, [{ providers: [{ name: "envoy" }] }], "Telemetry accessLogging");
    });

    check("fault (service scope, 503 on 10%) and mirror 20%: each one update, the VirtualService", () => {
        pulumiOk(["config", "set", "faultScope", "service", "--stack", STACK], opts);
        pulumiOk(["config", "set", "faultAbortPercent", "10", "--stack", STACK], opts);
        changeUpdatesOnly("faultAbortStatus", "503", "route-hello-vs");
        changeUpdatesOnly("mirrorPercent", "20", "route-hello-vs");
        const weighted = manifests()["VirtualService/canary-demo/hello"].spec.http.at(-1);
        eq(weighted.fault, { abort: { httpStatus: 503, percentage: { value: 10 } } }, "rendered fault");
        eq([weighted.mirror, weighted.mirrorPercentage], [{ host: "hello", subset: "v2" }, { value: 20 }], "mirror");
    });

    check("canaryWeight 101: preview fails with the program's message and changes nothing", () => {
        const before = pulumiOk(["stack", "export", "--stack", STACK], opts).stdout;
        const filesBefore = JSON.stringify(manifests());
        pulumiOk(["config", "set", "canaryWeight", "101", "--stack", STACK], opts);
        const r = pulumi(["preview", "--stack", STACK], opts);
        assert(r.status !== 0, "preview should fail");
        const out = r.stdout + r.stderr;
        assert(
            out.includes('canaryWeight: got "101"; must be a whole number from 0 to 100'),
            `message not found in:\n${out}`,
        );
        assert(!/\bat parseConfig\b/.test(out), `the error should come without a stack trace:\n${out}`);
        eq(pulumiOk(["stack", "export", "--stack", STACK], opts).stdout === before, true, "state unchanged");
        eq(JSON.stringify(manifests()) === filesBefore, true, "manifests unchanged");
        pulumiOk(["config", "set", "canaryWeight", "50", "--stack", STACK], opts);
    });

    check("pulumi destroy and stack rm", () => {
        pulumiOk(["destroy", "--yes", "--skip-preview", "--stack", STACK], opts);
        const r = pulumiOk(["stack", "export", "--stack", STACK], opts);
        eq((JSON.parse(r.stdout).deployment.resources ?? []).length, 0, "resources left after destroy");
        pulumiOk(["stack", "rm", "--yes", STACK], opts);
    });

    // The readiness gate is a dynamic provider: this runs it in the engine's plugin process (the toolchain's
    // pulumi-resource-pulumi-nodejs script, the serialized provider) against a server that does not exist.
    check(
        "readiness gate: against an unreachable cluster, up fails after meshReadyTimeout and creates nothing in the mesh layer",
        () => {
            const gate = "gate";
            const server = "https://127.0.0.1:1";
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
            pulumiOk(["stack", "init", gate, "--secrets-provider", "passphrase"], opts);
            const config = {
                mode: "existing",
                existingKubeconfigPath: "unreachable.kubeconfig",
                meshReadyTimeout: "10",
            };
            for (const [k, v] of Object.entries(config)) {
                pulumiOk(["config", "set", k, v, "--stack", gate], opts);
            }
            const r = pulumi(["up", "--yes", "--skip-preview", "--stack", gate], opts);
            const out = r.stdout + r.stderr;
            assert(r.status !== 0, `up should fail:\n${out}`);
            for (const line of [
                `mesh readiness: waiting for cluster ${server} (0 s of 10 s; next check in 2 s): the API server: connect ECONNREFUSED 127.0.0.1:1`,
                `mesh readiness gate: cluster ${server} is not ready for the mesh layer after 10 s (4 checks); still missing:`,
                "Nothing in the mesh layer was created.",
            ]) {
                assert(out.includes(line), `${JSON.stringify(line)} not found in:\n${out}`);
            }
            const state = JSON.parse(pulumiOk(["stack", "export", "--stack", gate], opts).stdout).deployment;
            const types = (state.resources ?? []).map((res) => res.type);
            eq(
                types.filter((t) => t.startsWith("kubernetes:") || t === "pulumi-nodejs:dynamic:MeshReadiness"),
                [],
                "mesh-layer objects (or a satisfied gate) in the state",
            );
            pulumiOk(["destroy", "--yes", "--skip-preview", "--stack", gate], opts);
            pulumiOk(["stack", "rm", "--yes", gate], opts);
        },
    );
    console.log(`engine test took ${((Date.now() - started) / 1000).toFixed(0)} s`);
} catch (e) {
    failedEarly = true;
    console.log(`FAIL set-up: ${e.message}`);
} finally {
    if (!process.env.KEEP_ENGINE_WORKDIR) {
        fs.rmSync(work, { recursive: true, force: true });
    } else {
        console.log(`work dir kept: ${work}`);
    }
}
const passed = results.filter(([, ok]) => ok).length;
const failed = results.length - passed + (failedEarly ? 1 : 0);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
