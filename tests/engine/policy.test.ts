/**
 * The policy pack (policy/) in the real engine, on a throwaway copy of the render stack: `pulumi preview
 * --policy-pack policy/analyzer [--policy-pack-config <file>]` through the Automation API. For each policy
 * a render config can violate, a preview with such a config fails and names the policy; the default and a
 * production-like config pass. Previews only, one stack.
 *
 * mesh-deployment-hygiene (advisory) reports the in-mesh curl client, which has no readiness probe: every
 * preview shows that warning, and raised to mandatory it fails the preview.
 *
 * Not here: canary-route-subsets, which no render config can violate (the program always builds both
 * subsets, weights summing to 100; it runs in every preview here and reports nothing), and the production
 * rules on alicloud resources (deletion protection, private API endpoint, REGISTRY_ONLY), which exist only
 * in mode=create. tests/policy/policies.test.ts covers each of them.
 */
import * as fs from "fs";
import * as path from "path";
import { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import { copyProgram, RENDER_STACK_CONFIG } from "../support/engine";

let work: string;
let stack: Stack;

beforeAll(async () => {
    ({ work, stack } = await copyProgram("asm-canary-policy-", "render", "render", RENDER_STACK_CONFIG));
}, 30 * 60_000);

afterAll(() => {
    if (work && !process.env.KEEP_ENGINE_WORKDIR) {
        fs.rmSync(work, { recursive: true, force: true });
    } else if (work) {
        console.log(`work dir kept: ${work}`);
    }
});

/** The render stack's keys this suite changes, at the render stack's values. */
const BASE = { mtlsMode: "PERMISSIVE", authorizationPolicy: "false", canaryWeight: "10", faultAbortStatus: "0" };
/** A production-like render config: the production rules it can show are all met. */
const PROD_LIKE = { ...BASE, mtlsMode: "STRICT", authorizationPolicy: "true" };
/** What mesh-deployment-hygiene reports on every render config: the curl client has no readiness probe. */
const CURL_NO_PROBE =
    "advisory mesh-deployment-hygiene: Deployment canary-demo/curl: container curl has no readiness probe";
/** policy/production.json as the repository ships it (in the copy). */
const production = () => path.join(work, "policy", "production.json");

interface Outcome {
    /** The preview's error (stdout and stderr of the CLI), or undefined when it passed. */
    error?: string;
    /** Every policy violation the engine reported: "<level> <policy>: <the policy's message>". */
    violations: string[];
}

/** A preview with the pack, after setting `config`; `packConfig` is a pack config file (or its contents). */
async function previewWith(config: Record<string, string>, packConfig?: string | object): Promise<Outcome> {
    await stack.setAllConfig(Object.fromEntries(Object.entries(config).map(([k, value]) => [k, { value }])));
    let configFile: string | undefined;
    if (typeof packConfig === "object") {
        configFile = path.join(work, `pack-config-${Date.now()}.json`);
        fs.writeFileSync(configFile, JSON.stringify(packConfig));
    } else {
        configFile = packConfig;
    }
    const violations: string[] = [];
    try {
        await stack.preview({
            policyPacks: [path.join(work, "policy", "analyzer")],
            policyPackConfigs: configFile ? [configFile] : undefined,
            onEvent: (e: EngineEvent) => {
                const p = e.policyEvent;
                if (p) {
                    // The message's last line is the policy's own; the engine may put the description before it.
                    const last = p.message.trim().split("\n").pop() ?? "";
                    violations.push(`${p.enforcementLevel} ${p.policyName}: ${last.trim()}`);
                }
            },
        });
        return { violations };
    } catch (e) {
        return { error: String(e), violations };
    }
}

/** Runs `fn` as a test with the engine's time limit. */
const slow = (name: string, fn: () => Promise<void>) => test(name, fn, 10 * 60_000);

slow("the render stack's config passes; the only report is the advisory on the curl client", async () => {
    const out = await previewWith(BASE);
    expect(out.error).toBeUndefined();
    expect(out.violations).toEqual([expect.stringContaining(CURL_NO_PROBE)]);
});

slow("a production-like config passes the production rules (policy/production.json)", async () => {
    const out = await previewWith(PROD_LIKE, production());
    expect(out.error).toBeUndefined();
    expect(out.violations).toEqual([expect.stringContaining(CURL_NO_PROBE)]);
});

const VIOLATIONS: [string, Record<string, string>, string][] = [
    [
        "production-mtls-strict",
        { ...PROD_LIKE, mtlsMode: "PERMISSIVE" },
        "PeerAuthentication canary-demo/default: mTLS mode is PERMISSIVE",
    ],
    [
        "production-authorization-policy",
        { ...PROD_LIKE, authorizationPolicy: "false" },
        "Deployment canary-demo/hello-v1 (behind DestinationRule canary-demo/hello): its pods are selected by no AuthorizationPolicy",
    ],
    [
        "production-no-fault-injection",
        { ...PROD_LIKE, faultScope: "service", faultAbortStatus: "503" },
        "VirtualService canary-demo/hello: route weighted injects faults",
    ],
];

describe.each(VIOLATIONS)("%s", (policy, config, message) => {
    slow("a production stack violating it fails the preview, naming it", async () => {
        const out = await previewWith(config, production());
        expect(out.error).toContain(policy);
        expect(out.violations).toEqual(
            expect.arrayContaining([expect.stringContaining(`mandatory ${policy}: ${message}`)]),
        );
        // Nothing else is mandatory: the production rules the config meets stay quiet.
        expect(out.violations.filter((v) => v.startsWith("mandatory")).every((v) => v.includes(policy))).toBe(true);
    });
});

slow("canary-weight-step: 10 -> 80 with maxStep 50 fails the preview, naming it", async () => {
    const out = await previewWith(
        { ...BASE, canaryWeight: "80" },
        { "canary-weight-step": { maxStep: 50, previousWeights: { hello: 10 } } },
    );
    expect(out.error).toContain("canary-weight-step");
    expect(out.violations).toHaveLength(2);
    expect(out.violations).toEqual(
        expect.arrayContaining([
            expect.stringContaining(CURL_NO_PROBE),
            expect.stringContaining(
                "mandatory canary-weight-step: VirtualService canary-demo/hello: the canary weight goes from 10 to " +
                    "80 (+70); one step may raise it by at most 50: take an intermediate step (e.g. 60)",
            ),
        ]),
    );
});

slow("mesh-deployment-hygiene raised to mandatory fails the preview, naming it", async () => {
    const out = await previewWith(BASE, { "mesh-deployment-hygiene": "mandatory" });
    expect(out.error).toContain("mesh-deployment-hygiene");
    expect(out.violations).toEqual([expect.stringContaining(CURL_NO_PROBE.replace("advisory", "mandatory"))]);
});

slow("a pack config with an unknown level is refused by the engine before the preview", async () => {
    const out = await previewWith(BASE, { "production-mtls-strict": "loud" });
    expect(out.error).toContain('"loud" is not a valid enforcement level');
    expect(out.violations).toEqual([]);
});

slow("a pack config naming an unknown policy is refused by the pack, with the policies there are", async () => {
    const out = await previewWith(BASE, { "production-mtls": "mandatory" });
    expect(out.error).toContain(
        'policy pack config: unknown policy "production-mtls"; the policies are: all, canary-route-subsets,',
    );
    expect(out.violations).toEqual([]);
});
