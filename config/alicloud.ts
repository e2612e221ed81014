/**
 * Arguments of the one explicit alicloud.Provider (mode=create). Pulumi builds only DEFAULT providers from
 * the `alicloud:` stack config; an explicit provider gets nothing but what it is given, so the keys a user
 * may set with `pulumi config set alicloud:…` are read here and passed on. Without them the provider falls
 * back to the environment (ALIBABA_CLOUD_ACCESS_KEY_ID / ALIBABA_CLOUD_ACCESS_KEY_SECRET, …). Credentials and
 * the assume-role blocks reach it as Pulumi secrets, whether or not they were set with --secret.
 */
import * as pulumi from "@pulumi/pulumi";
import type * as alicloud from "@pulumi/alicloud";
import { ConfigError } from "./stackConfig";
import { PROJECT } from "./constants";

const NS = "alicloud";

/** How a provider setting is read from `alicloud:` config. */
type Setting =
    | "secret" // a string, always a Pulumi secret (even if set without --secret)
    | "text"
    | "number"
    | "boolean"
    | "object" // JSON (pulumi config set --path alicloud:endpoints[0].sts sts-vpc.…)
    | "secretObject" // JSON that can carry credentials (role ARN and external id, OIDC token)
    | { readonly oneOf: readonly string[] }
    | { readonly deprecated: string };

/**
 * Every setting of the alicloud provider, typed from its ProviderArgs (a setting the provider adds fails to
 * compile here until it is classified), with the Terraform provider's own rules where it has them
 * (aliyun/terraform-provider-alicloud alicloud/provider.go: account_type, protocol; the deprecations).
 * `region` is not here: the program's one source of region is asm-canary:region.
 */
export const ALICLOUD_SETTINGS = {
    accessKey: "secret",
    secretKey: "secret",
    securityToken: "secret",
    profile: "text",
    sharedCredentialsFile: "text",
    // The usual way into a production account: an STS role assumed with the credentials above.
    assumeRole: "secretObject",
    assumeRoleWithOidc: "secretObject",
    ecsRoleName: "text",
    credentialsUri: "text",
    accountId: "text",
    // Without it the provider looks the account's site up (an API call that, unreachable, retries ~30 s).
    accountType: { oneOf: ["Domestic", "International"] },
    endpoints: "object",
    features: "object",
    signVersion: "object",
    protocol: { oneOf: ["HTTP", "HTTPS"] },
    clientConnectTimeout: "number",
    clientReadTimeout: "number",
    maxRetryTimeout: "number",
    skipRegionValidation: "boolean",
    sourceIp: "text",
    secureTransport: "text",
    securityTransport: { deprecated: "use alicloud:secureTransport" },
    configurationSource: "text",
    fc: { deprecated: "use alicloud:endpoints (its fc field)" },
    logEndpoint: { deprecated: "use alicloud:endpoints (its log field)" },
    mnsEndpoint: { deprecated: "use alicloud:endpoints (its mns field)" },
    otsInstanceName: { deprecated: "the provider no longer reads it" },
} as const satisfies Record<Exclude<keyof alicloud.ProviderArgs, "region">, Setting>;

type SettingKey = keyof typeof ALICLOUD_SETTINGS;
/** The settings a stack can give (the deprecated ones are refused with their replacement). */
const READ_KEYS = (Object.keys(ALICLOUD_SETTINGS) as SettingKey[]).filter((k) => {
    const kind: Setting = ALICLOUD_SETTINGS[k];
    return typeof kind !== "object" || !("deprecated" in kind);
});
const isSetting = (k: string): k is SettingKey => Object.prototype.hasOwnProperty.call(ALICLOUD_SETTINGS, k);

/**
 * The provider's settings from the `alicloud:` stack config and its region from `asm-canary:region`, the
 * program's one source of region. Throws one ConfigError for every `alicloud:` key the provider would not
 * read (unknown or deprecated), every value it would refuse, and an `alicloud:region` that disagrees with
 * `asm-canary:region`.
 */
export function alicloudProviderArgs(region: string): alicloud.ProviderArgs {
    const problems: string[] = [];
    const raw = pulumi.runtime.allConfig();
    const set = Object.keys(raw)
        .filter((k) => k.startsWith(`${NS}:`))
        .map((k) => k.slice(NS.length + 1));
    const config = new pulumi.Config(NS);
    const args: Record<string, unknown> = { region };
    for (const key of set) {
        const value = raw[`${NS}:${key}`];
        if (key === "region") {
            if (value !== region) {
                problems.push(
                    `${NS}:region: got ${JSON.stringify(value)}; the region comes from ${PROJECT}:region (${JSON.stringify(region)}): ` +
                        `set ${PROJECT}:region instead and remove ${NS}:region`,
                );
            }
            continue;
        }
        if (!isSetting(key)) {
            problems.push(
                `${NS}:${key}: not a setting of the Alibaba Cloud provider (it reads ${READ_KEYS.map((k) => `${NS}:${k}`).join(", ")}; ` +
                    `the region comes from ${PROJECT}:region)`,
            );
            continue;
        }
        const kind: Setting = ALICLOUD_SETTINGS[key];
        const problem = readSetting(config, key, kind, value, args);
        if (problem) {
            problems.push(`${NS}:${key}: ${problem}`);
        }
    }
    if (problems.length > 0) {
        throw new ConfigError(problems);
    }
    return args;
}

/** Reads one setting into `args`; returns the problem with its value, if any. */
function readSetting(
    config: pulumi.Config,
    key: SettingKey,
    kind: Setting,
    value: string,
    args: Record<string, unknown>,
): string | undefined {
    const got = `got ${JSON.stringify(value)}`;
    if (typeof kind === "object") {
        if ("deprecated" in kind) {
            return `deprecated by the Alibaba Cloud provider: ${kind.deprecated}`;
        }
        // account_type is matched ignoring case by the provider; protocol exactly.
        const match = kind.oneOf.find((v) =>
            key === "accountType" ? v.toLowerCase() === value.toLowerCase() : v === value,
        );
        if (!match) {
            return `${got}; must be one of ${kind.oneOf.join(", ")}`;
        }
        args[key] = match;
        return undefined;
    }
    switch (kind) {
        case "secret":
            args[key] = config.requireSecret(key);
            return undefined;
        case "text":
            args[key] = value;
            return undefined;
        case "number": {
            const n = Number(value);
            if (value.trim() === "" || !Number.isInteger(n) || n < 0) {
                return `${got}; must be a whole number (milliseconds for the timeouts, seconds for maxRetryTimeout)`;
            }
            args[key] = n;
            return undefined;
        }
        case "boolean":
            if (value !== "true" && value !== "false") {
                return `${got}; must be true or false`;
            }
            args[key] = value === "true";
            return undefined;
        case "object":
        case "secretObject": {
            let parsed: unknown;
            try {
                parsed = JSON.parse(value);
            } catch {
                return `${kind === "secretObject" ? "got a value" : got} that is not JSON; set its fields with pulumi config set --path ${NS}:${key}.<field> <value>`;
            }
            const list = key === "endpoints";
            if (
                list ? !Array.isArray(parsed) : typeof parsed !== "object" || parsed === null || Array.isArray(parsed)
            ) {
                return `must be ${list ? "a list of objects (pulumi config set --path 'alicloud:endpoints[0].sts' <host>)" : "an object"}`;
            }
            args[key] = kind === "secretObject" ? pulumi.secret(parsed) : parsed;
            return undefined;
        }
    }
}
