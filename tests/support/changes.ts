/**
 * Change safety helpers: evaluate the whole program with a config and compare two evaluations resource by
 * resource (inputs, provider, parent). A changed name would be a replacement; a changed input an update.
 */
import { runProgram } from "./harness";

export type Snapshot = Map<string, string>;

export async function snapshot(config: Record<string, string>): Promise<Snapshot> {
    const run = await runProgram(config);
    return new Map(
        run.resources.map((r) => [
            `${r.type}::${r.name}`,
            JSON.stringify({ inputs: r.inputs, provider: r.provider, parent: r.parent }),
        ]),
    );
}

export interface Changes {
    added: string[];
    removed: string[];
    altered: string[];
}

export function changed(a: Snapshot, b: Snapshot): Changes {
    return {
        added: [...b.keys()].filter((k) => !a.has(k)).sort(),
        removed: [...a.keys()].filter((k) => !b.has(k)).sort(),
        altered: [...a.keys()].filter((k) => b.has(k) && a.get(k) !== b.get(k)).sort(),
    };
}

/** The changes between evaluating the program with config `a` and with config `b`. */
export async function changesBetween(a: Record<string, string>, b: Record<string, string>): Promise<Changes> {
    return changed(await snapshot(a), await snapshot(b));
}
