/**
 * Arguments of the one explicit alicloud.Provider (mode=create). Pulumi builds only DEFAULT providers from
 * the `alicloud:` stack config; an explicit provider gets nothing but what it is given, so the keys a user
 * may set with `pulumi config set alicloud:…` are read here and passed on. Without them the provider falls
 * back to the environment (ALIBABA_CLOUD_ACCESS_KEY_ID / ALIBABA_CLOUD_ACCESS_KEY_SECRET, …).
 */
import * as pulumi from "@pulumi/pulumi";
import type * as alicloud from "@pulumi/alicloud";
import { ConfigError } from "./stackConfig";
import { PROJECT } from "./constants";

const NS = "alicloud";
/** Credentials: read as secrets, so they stay encrypted in the provider's state even if set without --secret. */
const ALICLOUD_SECRET_KEYS = ["accessKey", "secretKey", "securityToken"] as const;
/** Where the Alibaba Cloud credentials file and the profile in it are (as the aliyun CLI writes them). */
const ALICLOUD_PLAIN_KEYS = ["profile", "sharedCredentialsFile"] as const;

/**
 * The provider's credentials from the `alicloud:` stack config and its region from `asm-canary:region`,
 * the program's one source of region. Throws a ConfigError for an `alicloud:` key the provider would
 * silently ignore, or an `alicloud:region` that disagrees with `asm-canary:region`.
 */
export function alicloudProviderArgs(region: string): alicloud.ProviderArgs {
    const problems: string[] = [];
    const set = Object.keys(pulumi.runtime.allConfig())
        .filter((k) => k.startsWith(`${NS}:`))
        .map((k) => k.slice(NS.length + 1));
    const known: readonly string[] = [...ALICLOUD_SECRET_KEYS, ...ALICLOUD_PLAIN_KEYS, "region"];
    for (const key of set.filter((k) => !known.includes(k))) {
        problems.push(
            `${NS}:${key}: not read by this program (its Alibaba Cloud provider takes ${[...ALICLOUD_SECRET_KEYS, ...ALICLOUD_PLAIN_KEYS].map((k) => `${NS}:${k}`).join(", ")}; the region comes from ${PROJECT}:region)`,
        );
    }
    const config = new pulumi.Config(NS);
    const aliRegion = set.includes("region") ? config.get("region") : undefined;
    if (aliRegion !== undefined && aliRegion !== region) {
        problems.push(
            `${NS}:region: got ${JSON.stringify(aliRegion)}; the region comes from ${PROJECT}:region (${JSON.stringify(region)}): ` +
                `set ${PROJECT}:region instead and remove ${NS}:region`,
        );
    }
    if (problems.length > 0) {
        throw new ConfigError(problems);
    }
    const args: { -readonly [K in keyof alicloud.ProviderArgs]: alicloud.ProviderArgs[K] } = { region };
    for (const key of ALICLOUD_SECRET_KEYS) {
        if (set.includes(key)) {
            args[key] = config.requireSecret(key);
        }
    }
    for (const key of ALICLOUD_PLAIN_KEYS) {
        if (set.includes(key)) {
            args[key] = config.require(key);
        }
    }
    return args;
}
