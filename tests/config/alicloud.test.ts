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
            { "alicloud:stsEndpoint": "sts-vpc.ap-southeast-1.aliyuncs.com" },
            "alicloud:stsEndpoint: not a setting of the Alibaba Cloud provider (it reads alicloud:accessKey, alicloud:secretKey, " +
                "alicloud:securityToken, alicloud:profile, alicloud:sharedCredentialsFile, alicloud:assumeRole, " +
                "alicloud:assumeRoleWithOidc, alicloud:ecsRoleName, alicloud:credentialsUri, alicloud:accountId, " +
                "alicloud:accountType, alicloud:endpoints, alicloud:features, alicloud:signVersion, alicloud:protocol, " +
                "alicloud:clientConnectTimeout, alicloud:clientReadTimeout, alicloud:maxRetryTimeout, " +
                "alicloud:skipRegionValidation, alicloud:sourceIp, alicloud:secureTransport, alicloud:configurationSource; " +
                "the region comes from asm-canary:region)",
        ],
        [
            { "alicloud:accountType": "Global" },
            'alicloud:accountType: got "Global"; must be one of Domestic, International',
        ],
        [{ "alicloud:protocol": "https" }, 'alicloud:protocol: got "https"; must be one of HTTP, HTTPS'],
        [
            { "alicloud:clientReadTimeout": "30s" },
            'alicloud:clientReadTimeout: got "30s"; must be a whole number (milliseconds for the timeouts, seconds for maxRetryTimeout)',
        ],
        [{ "alicloud:skipRegionValidation": "yes" }, 'alicloud:skipRegionValidation: got "yes"; must be true or false'],
        [
            { "alicloud:logEndpoint": "log.example" },
            "alicloud:logEndpoint: deprecated by the Alibaba Cloud provider: use alicloud:endpoints (its log field)",
        ],
        [{ "alicloud:endpoints": '{"sts": "x"}' }, "alicloud:endpoints: must be a list of objects"],
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

test("review 2: every other provider setting reaches the explicit provider, typed; the assume-role blocks as secrets", async () => {
    const assumeRole = { roleArn: "acs:ram::123456789:role/deployer", sessionName: "pulumi", externalId: "ext-1" };
    const run = await runProgram(
        {
            ...CREATE_CONFIG,
            "alicloud:assumeRole": JSON.stringify(assumeRole),
            "alicloud:accountType": "international",
            "alicloud:ecsRoleName": "ecs-deployer",
            "alicloud:endpoints": JSON.stringify([{ sts: "sts-vpc.ap-southeast-1.aliyuncs.com" }]),
            "alicloud:protocol": "HTTPS",
            "alicloud:clientReadTimeout": "120000",
            "alicloud:maxRetryTimeout": "60",
            "alicloud:skipRegionValidation": "true",
            "alicloud:sourceIp": "203.0.113.7",
        },
        { secretKeys: ["alicloud:assumeRole"] },
    );
    const p = one(run.resources, PROVIDER).inputs;
    // The SDK hands a provider every non-string setting as JSON text (@pulumi/alicloud provider.js).
    expect(isSecretInput(p.assumeRole)).toBe(true);
    expect(JSON.parse(plain(p.assumeRole))).toEqual(assumeRole);
    expect(p).toMatchObject({
        region: "ap-southeast-1",
        // The provider matches account_type ignoring case; it gets the canonical spelling.
        accountType: "International",
        ecsRoleName: "ecs-deployer",
        protocol: "HTTPS",
        sourceIp: "203.0.113.7",
    });
    expect(
        [p.endpoints, p.clientReadTimeout, p.maxRetryTimeout, p.skipRegionValidation].map((v) => JSON.parse(v)),
    ).toEqual([[{ sts: "sts-vpc.ap-southeast-1.aliyuncs.com" }], 120000, 60, true]);
    expect(JSON.stringify(run.outputs)).not.toMatch(/ext-1|deployer/);
});

test("an assume-role block set without --secret is still a secret, and a broken one is refused without echoing it", async () => {
    const run = await runProgram({ ...CREATE_CONFIG, "alicloud:assumeRoleWithOidc": '{"oidcToken": "tok"}' });
    expect(isSecretInput(one(run.resources, PROVIDER).inputs.assumeRoleWithOidc)).toBe(true);
    const { error } = await refusedProgram({ ...CREATE_CONFIG, "alicloud:assumeRole": "{role: secret-arn" });
    expect((error as ConfigError).message).toContain(
        "alicloud:assumeRole: got a value that is not JSON; set its fields with pulumi config set --path alicloud:assumeRole.<field> <value>",
    );
    expect((error as ConfigError).message).not.toContain("secret-arn");
});
