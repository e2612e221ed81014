/** The explicit alicloud provider takes its credentials from the `alicloud:` stack config, as secrets. */
import { ConfigError } from "../../config/stackConfig";
import { CREATE_CONFIG, isSecretInput, one, plain, refusedProgram, runProgram } from "../support/harness";

const PROVIDER = "pulumi:providers:alicloud";

test("accessKey, secretKey and securityToken arrive as secrets; profile and the credentials file as given", async () => {
    const run = await runProgram(
        {
            ...CREATE_CONFIG,
            "alicloud:accessKey": "LTAI-mock-id",
            "alicloud:secretKey": "mock-secret",
            "alicloud:securityToken": "mock-token",
            "alicloud:profile": "prod",
            "alicloud:sharedCredentialsFile": "/home/me/.aliyun/config.json",
        },
        { secretKeys: ["alicloud:accessKey", "alicloud:secretKey", "alicloud:securityToken"] },
    );
    const p = one(run.resources, PROVIDER).inputs;
    for (const key of ["accessKey", "secretKey", "securityToken"]) {
        expect({ key, secret: isSecretInput(p[key]) }).toEqual({ key, secret: true });
    }
    expect([plain(p.accessKey), plain(p.secretKey), plain(p.securityToken)]).toEqual([
        "LTAI-mock-id",
        "mock-secret",
        "mock-token",
    ]);
    expect(p).toMatchObject({
        region: "ap-southeast-1",
        profile: "prod",
        sharedCredentialsFile: "/home/me/.aliyun/config.json",
    });
    expect(JSON.stringify(run.outputs)).not.toMatch(/mock-secret|mock-token|LTAI-mock-id/);
});

test("a credential set without --secret is still handled as a secret", async () => {
    const run = await runProgram({ ...CREATE_CONFIG, "alicloud:secretKey": "plain-secret" });
    expect(isSecretInput(one(run.resources, PROVIDER).inputs.secretKey)).toBe(true);
});

test("without alicloud: config the provider has only the region (credentials come from the environment)", async () => {
    const run = await runProgram(CREATE_CONFIG);
    const p = one(run.resources, PROVIDER).inputs;
    expect(p.region).toBe("ap-southeast-1");
    expect(p.accessKey).toBeUndefined();
    expect(p.secretKey).toBeUndefined();
});

describe("refused before any resource is declared", () => {
    test.each([
        [
            { "alicloud:region": "eu-central-1" },
            'alicloud:region: got "eu-central-1"; the region comes from asm-canary:region ("ap-southeast-1"): set asm-canary:region instead and remove alicloud:region',
        ],
        [
            { "alicloud:skipRegionValidation": "true" },
            "alicloud:skipRegionValidation: not read by this program (its Alibaba Cloud provider takes alicloud:accessKey, alicloud:secretKey, alicloud:securityToken, alicloud:profile, alicloud:sharedCredentialsFile; the region comes from asm-canary:region)",
        ],
    ])("%j", async (extra, message) => {
        const { error, resources } = await refusedProgram({ ...CREATE_CONFIG, ...extra });
        expect(error).toBeInstanceOf(ConfigError);
        expect((error as ConfigError).message).toContain(message);
        expect(resources).toEqual([]);
    });

    test("an alicloud:region equal to asm-canary:region is fine", async () => {
        const run = await runProgram({ ...CREATE_CONFIG, "alicloud:region": "ap-southeast-1" });
        expect(one(run.resources, PROVIDER).inputs.region).toBe("ap-southeast-1");
    });
});
