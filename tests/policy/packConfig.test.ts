/**
 * The pack's config: defaults, policy/production.json, and the check that refuses an unknown policy name,
 * level or setting with the allowed values.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { readPackConfig } from "../../policy/configFile";
import { DEFAULT_LEVELS, packConfigProblems, PRODUCTION_LEVELS } from "../../policy/packConfig";

const ROOT = path.resolve(__dirname, "..", "..");

test("default levels: routing mandatory, production rules off, workloads advisory", () => {
    expect(DEFAULT_LEVELS).toEqual({
        "canary-route-subsets": "mandatory",
        "canary-weight-step": "mandatory",
        "production-mtls-strict": "disabled",
        "production-authorization-policy": "disabled",
        "production-no-fault-injection": "disabled",
        "production-deletion-protection": "disabled",
        "production-private-api-endpoint": "disabled",
        "production-egress-registry-only": "disabled",
        "mesh-deployment-hygiene": "advisory",
    });
});

test("policy/production.json turns the production rules on (egress advisory) and is valid", () => {
    const file = path.join(ROOT, "policy", "production.json");
    const expected = {
        "production-mtls-strict": "mandatory",
        "production-authorization-policy": "mandatory",
        "production-no-fault-injection": "mandatory",
        "production-deletion-protection": "mandatory",
        "production-private-api-endpoint": "mandatory",
        "production-egress-registry-only": "advisory",
    };
    expect(readPackConfig(file)).toEqual(expected);
    expect(PRODUCTION_LEVELS).toEqual(expected);
});

describe("packConfigProblems", () => {
    test("levels, settings and `all` are accepted", () => {
        expect(
            packConfigProblems({
                all: "advisory",
                "production-mtls-strict": "mandatory",
                "canary-weight-step": { enforcementLevel: "mandatory", maxStep: 20, previousWeights: { hello: 10 } },
                "mesh-deployment-hygiene": { enforcementLevel: "disabled" },
            }),
        ).toEqual([]);
    });

    test("an unknown policy name is refused with the names allowed", () => {
        expect(packConfigProblems({ "production-mtls": "mandatory" })).toEqual([
            'unknown policy "production-mtls"; the policies are: all, canary-route-subsets, canary-weight-step, ' +
                "production-mtls-strict, production-authorization-policy, production-no-fault-injection, " +
                "production-deletion-protection, production-private-api-endpoint, production-egress-registry-only, " +
                "mesh-deployment-hygiene",
        ]);
    });

    test("an unknown level is refused with the levels allowed, as a string or in an object, and for `all`", () => {
        expect(
            packConfigProblems({
                "production-mtls-strict": "loud",
                "canary-weight-step": { enforcementLevel: "remediate" },
                all: "strict",
            }),
        ).toEqual([
            'production-mtls-strict: enforcement level "loud" is not one of advisory, mandatory, disabled',
            'canary-weight-step: enforcement level "remediate" is not one of advisory, mandatory, disabled',
            'all: enforcement level "strict" is not one of advisory, mandatory, disabled',
        ]);
    });

    test("a setting the policy does not take is refused with the ones it takes", () => {
        expect(packConfigProblems({ "canary-weight-step": { maxstep: 20 } })).toEqual([
            'canary-weight-step: unknown setting "maxstep"; allowed: enforcementLevel, maxStep, previousWeights',
        ]);
        expect(packConfigProblems({ "production-mtls-strict": { mode: "STRICT" } })).toEqual([
            'production-mtls-strict: unknown setting "mode"; allowed: enforcementLevel',
        ]);
    });

    test("not an object", () => {
        expect(packConfigProblems(["mandatory"])).toEqual([
            'the pack config must be a JSON object of policy name -> level or settings; got ["mandatory"]',
        ]);
        expect(packConfigProblems({ "production-mtls-strict": 3 })).toEqual([
            "production-mtls-strict: got 3; give a level (advisory, mandatory, disabled) or an object of settings",
        ]);
    });
});

test("readPackConfig names the file and lists every problem", () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "pack-config-")), "bad.json");
    fs.writeFileSync(file, JSON.stringify({ nope: "mandatory", "production-mtls-strict": "loud" }));
    expect(() => readPackConfig(file)).toThrow(
        `policy pack config ${file}:\n  - unknown policy "nope"; the policies are: all, canary-route-subsets, ` +
            "canary-weight-step, production-mtls-strict, production-authorization-policy, production-no-fault-injection, " +
            "production-deletion-protection, production-private-api-endpoint, production-egress-registry-only, " +
            'mesh-deployment-hygiene\n  - production-mtls-strict: enforcement level "loud" is not one of advisory, ' +
            "mandatory, disabled",
    );
});
