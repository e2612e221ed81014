/**
 * The last promotion's outcome, recorded by `npm run promote` at the end of every run that changed or
 * judged something (not a dry run, not a refusal before the stack was opened) as a stack tag, and read by
 * `npm run status`. A tag lives with the stack in its backend, so every machine sees it: the file ("DIY")
 * backend keeps tags too since Pulumi v3.211.0 (pulumi/pulumi#19882, a `.pulumi-tags` file next to the
 * checkpoint). Not the stack's config (the program refuses keys it does not declare) nor its outputs (only
 * the program sets those). The Pulumi Cloud caps a tag value at 256 characters, so the record is compact
 * (no message: the run's --report has the whole story).
 */
export const LAST_RUN_TAG = "asm-canary:lastPromotion";

export interface LastRun {
    outcome: string;
    exitCode: number;
    /** The config key the run moved. */
    weightKey: string;
    /** The weight in force when it started and when it ended (null: could not be read). */
    from: number | null;
    to: number | null;
    finishedAt: string;
}

export function encodeLastRun(run: LastRun): string {
    return JSON.stringify(run);
}

/** The record, or undefined when the tag is absent or not one of ours. */
export function decodeLastRun(value: string | undefined): LastRun | undefined {
    if (!value) {
        return undefined;
    }
    try {
        const v = JSON.parse(value) as LastRun;
        return typeof v.outcome === "string" && typeof v.weightKey === "string" ? v : undefined;
    } catch {
        return undefined;
    }
}
