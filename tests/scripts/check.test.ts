/** `npm run check`: a stack file's config through the program's own checks, without the CLI or the engine. */
import { checkStackConfig, flattenStackConfig } from "../../scripts/check";

test("the shipped dev-like config passes; values arrive as the language host gives them (strings, JSON)", () => {
    expect(
        checkStackConfig({ "asm-canary:region": "ap-southeast-1", "asm-canary:nodeCount": 2, "asm-canary:zones": [] }),
    ).toEqual([]);
    expect(
        flattenStackConfig({ "asm-canary:nodeCount": 2, "asm-canary:zones": ["a", "b"], "alicloud:profile": "prod" }),
    ).toEqual({
        values: { "asm-canary:nodeCount": "2", "asm-canary:zones": '["a","b"]', "alicloud:profile": "prod" },
        secrets: [],
    });
});

test("every problem at once: the project's keys and, in mode=create, the provider's settings", () => {
    expect(
        checkStackConfig({
            "asm-canary:canaryWeight": -5,
            "asm-canary:mtlsMode": "STRCT",
            "asm-canary:typo": 1,
            "alicloud:protocol": "https",
        }),
    ).toEqual([
        "typo: not a key of this program (the known keys are declared in Pulumi.yaml)",
        'canaryWeight: got "-5"; must be a whole number from 0 to 100',
        'mtlsMode: got "STRCT"; must be one of PERMISSIVE, STRICT, DISABLE',
        'alicloud:protocol: got "https"; must be one of HTTP, HTTPS',
    ]);
});

test("secure values count as set without being decrypted, also inside an object set with --path --secret", () => {
    const config = {
        "alicloud:secretKey": { secure: "v1:abc" },
        "alicloud:assumeRole": { roleArn: { secure: "v1:xyz" }, sessionName: "pulumi" },
    };
    expect(flattenStackConfig(config).secrets).toEqual(["alicloud:secretKey", "alicloud:assumeRole"]);
    expect(checkStackConfig(config)).toEqual([]);
    // mode=existing: a secret kubeconfig is the cluster access the mode needs.
    expect(
        checkStackConfig({ "asm-canary:mode": "existing", "asm-canary:existingKubeconfig": { secure: "v1:k" } }),
    ).toEqual([]);
    expect(checkStackConfig({ "asm-canary:mode": "existing" })[0]).toMatch(
        /^mode: got "existing" with no cluster access/,
    );
});
