/**
 * `npm run check -- --stack <name>`: validates a stack's config file (Pulumi.<name>.yaml) with the program's
 * own checks (config/stackConfig.ts, and in mode=create the alicloud provider's settings, config/alicloud.ts),
 * in about a second and without the Pulumi CLI, the engine or a cloud account: every problem at once, each with
 * what is allowed and how to remove the value. Secret values are not decrypted: they count as set, their
 * content is checked at `pulumi preview`. What needs the stack's state (create-only keys, upgrades) is checked
 * by `pulumi preview`, before anything is declared.
 */
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import * as pulumi from "@pulumi/pulumi";
import { alicloudProviderArgs } from "../config/alicloud";
import { PROJECT } from "../config/constants";
import { ConfigError, loadConfig, parseConfig } from "../config/stackConfig";

/** What a secure value stands for here: set, content unknown. */
const SECRET_PLACEHOLDER = "secret-not-decrypted";

/** The stack file's config as the language host hands it to a program: strings, JSON for the rest. */
export function flattenStackConfig(config: Record<string, unknown>): {
    values: Record<string, string>;
    secrets: string[];
} {
    const values: Record<string, string> = {};
    const secrets: string[] = [];
    const isSecure = (v: unknown): boolean => typeof v === "object" && v !== null && "secure" in v;
    const unsecure = (v: unknown): unknown => {
        if (isSecure(v)) {
            return SECRET_PLACEHOLDER;
        }
        if (Array.isArray(v)) {
            return v.map(unsecure);
        }
        if (typeof v === "object" && v !== null) {
            return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unsecure(x)]));
        }
        return v;
    };
    const hasSecure = (v: unknown): boolean =>
        isSecure(v) || (typeof v === "object" && v !== null && Object.values(v).some(hasSecure));
    for (const [key, raw] of Object.entries(config)) {
        const fullKey = key.includes(":") ? key : `${PROJECT}:${key}`;
        const v = unsecure(raw);
        values[fullKey] = typeof v === "string" ? v : JSON.stringify(v);
        if (hasSecure(raw)) {
            secrets.push(fullKey);
        }
    }
    return { values, secrets };
}

/** The problems of a stack file's config, [] when the program would accept it. */
export function checkStackConfig(config: Record<string, unknown>): string[] {
    const { values, secrets } = flattenStackConfig(config);
    pulumi.runtime.setAllConfig(values, secrets);
    const problems = (f: () => unknown): string[] => {
        try {
            f();
            return [];
        } catch (e) {
            if (e instanceof ConfigError) {
                return e.problems;
            }
            throw e;
        }
    };
    const own = problems(loadConfig);
    // The provider's settings are checked as the program checks them in mode=create, even when the
    // project's own keys have problems (the mode and region as given, else their defaults).
    const defaults = parseConfig({});
    const mode = values[`${PROJECT}:mode`] ?? defaults.mode;
    const region = values[`${PROJECT}:region`] ?? defaults.region;
    return [...own, ...(mode === "create" ? problems(() => alicloudProviderArgs(region)) : [])];
}

function main(argv: string[]): number {
    const i = argv.indexOf("--stack");
    const stack = i >= 0 ? argv[i + 1] : undefined;
    if (!stack) {
        console.error("usage: npm run check -- --stack <name>   (checks Pulumi.<name>.yaml)");
        return 2;
    }
    const started = process.hrtime.bigint();
    const file = path.resolve(__dirname, "..", `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) {
        console.error(`${path.basename(file)} not found: create the stack first (pulumi stack init ${stack})`);
        return 2;
    }
    const doc = (yaml.load(fs.readFileSync(file, "utf8")) ?? {}) as { config?: Record<string, unknown> };
    const problems = checkStackConfig(doc.config ?? {});
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (problems.length === 0) {
        console.log(
            `${path.basename(file)}: config OK (${Object.keys(doc.config ?? {}).length} keys, ${ms.toFixed(0)} ms)`,
        );
        return 0;
    }
    console.log(`${path.basename(file)}: ${problems.length} problem${problems.length === 1 ? "" : "s"}`);
    for (const p of problems) {
        // Every problem starts with the key it is about ("canaryWeight: got …", "alicloud:protocol: got …").
        const key = /^([\w.:[\]-]+?):\s/.exec(p)?.[1];
        console.log(`  - ${p}`);
        if (key) {
            console.log(
                `    fix: pulumi config set ${key} <value> --stack ${stack}, or remove it: pulumi config rm ${key} --stack ${stack}`,
            );
        }
    }
    return 1;
}

if (require.main === module) {
    process.exit(main(process.argv.slice(2)));
}
