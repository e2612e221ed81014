/**
 * Which policy pack config a promotion runs with (docs/promotion.md, "Policies on every step"): --policy-config,
 * else the stack's own file policy/<stack>.json (the convention docs/policies.md gives: one pack config per
 * stack; a production stack's copies or is policy/production.json), else the pack's default levels. The
 * file is checked by the pack's own check (policy/configFile.ts), so a typo in a policy name stops the run
 * before anything changes. --no-policy runs no pack.
 */
import * as fs from "fs";
import * as path from "path";
import { readPackConfig } from "../policy/configFile";
import type { Flags, PolicySetting } from "./options";

/** The pack a promotion runs, relative to the project (a script: docs/policies.md says why not the folder). */
export const PACK = path.join("policy", "analyzer");

/** The policy setting for `flags` in the project at `projectDir`; throws with the problems of a bad config file. */
export function policySetting(
    flags: Pick<Flags, "stack" | "noPolicy" | "policyConfig">,
    projectDir: string,
): PolicySetting | undefined {
    if (flags.noPolicy) {
        return undefined;
    }
    const pack = path.join(projectDir, PACK);
    if (flags.policyConfig !== undefined) {
        const file = path.resolve(flags.policyConfig);
        return { pack, config: readPackConfig(file), source: flags.policyConfig };
    }
    const own = path.join(projectDir, "policy", `${flags.stack}.json`);
    if (fs.existsSync(own)) {
        return { pack, config: readPackConfig(own), source: path.join("policy", `${flags.stack}.json`) };
    }
    return { pack, config: {}, source: "the pack's default levels" };
}
