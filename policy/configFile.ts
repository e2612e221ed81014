/**
 * Reading a policy pack config file (`pulumi preview --policy-pack-config <file>`) with the pack's own
 * check: the engine lets an unknown policy name through and refuses a bad level without the allowed ones.
 */
import * as fs from "fs";
import { packConfigProblems } from "./packConfig";

/** Reads and checks a pack config file; throws one error listing every problem. */
export function readPackConfig(file: string): Record<string, unknown> {
    let parsed: unknown;
    try {
        parsed = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (e) {
        throw new Error(`policy pack config ${file}: ${(e as Error).message}`, { cause: e });
    }
    const problems = packConfigProblems(parsed);
    if (problems.length > 0) {
        throw new Error(`policy pack config ${file}:\n  - ${problems.join("\n  - ")}`);
    }
    return parsed as Record<string, unknown>;
}
