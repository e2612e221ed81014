/**
 * `npm run docs`: writes the configuration reference in docs/configuration.md from the one source of the
 * config keys, Pulumi.yaml (type, default, description; its `# --- … ---` comments are the groups). The rest
 * of that file is prose; only the block between the markers is generated. tests/program/configDocs.test.ts
 * fails when the block is stale.
 */
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";

const ROOT = path.resolve(__dirname, "..");
export const DOCS_FILE = path.join(ROOT, "docs", "configuration.md");
export const BEGIN = "<!-- BEGIN GENERATED from Pulumi.yaml by `npm run docs`: do not edit by hand -->";
export const END = "<!-- END GENERATED -->";

interface Declared {
    /** Unset for a key the program alone checks (see its description). */
    type?: string;
    default?: unknown;
    description?: string;
}

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

/** The reference block for a Pulumi.yaml's text: one table per group, keys in declaration order. */
export function configReference(pulumiYaml: string): string {
    const declared = (yaml.load(pulumiYaml) as { config: Record<string, Declared> }).config;
    const groups: { title: string; keys: string[] }[] = [];
    let inConfig = false;
    for (const line of pulumiYaml.split("\n")) {
        if (/^config:\s*$/.test(line)) {
            inConfig = true;
            continue;
        }
        if (!inConfig) {
            continue;
        }
        const group = /^ {2}# --- (.+) ---\s*$/.exec(line);
        const key = /^ {2}([A-Za-z][\w]*):\s*$/.exec(line);
        if (group) {
            groups.push({ title: group[1], keys: [] });
        } else if (key) {
            if (groups.length === 0) {
                groups.push({ title: "keys", keys: [] });
            }
            groups[groups.length - 1].keys.push(key[1]);
        }
    }
    const out: string[] = [BEGIN, ""];
    for (const g of groups) {
        out.push(
            `### ${g.title[0].toUpperCase()}${g.title.slice(1)}`,
            "",
            "| Key | Type | Default | Meaning |",
            "| --- | --- | --- | --- |",
        );
        for (const k of g.keys) {
            const d = declared[k];
            const def = d.default === undefined ? "" : `\`${JSON.stringify(d.default)}\``;
            out.push(`| \`${k}\` | ${d.type ?? "see meaning"} | ${def} | ${cell(d.description ?? "")} |`);
        }
        out.push("");
    }
    out.push(END);
    return out.join("\n");
}

/** docs/configuration.md with its generated block replaced. */
export function withReference(doc: string, reference: string): string {
    const i = doc.indexOf(BEGIN);
    const j = doc.indexOf(END);
    if (i < 0 || j < i) {
        throw new Error(`${DOCS_FILE}: the markers ${BEGIN} … ${END} are missing`);
    }
    return doc.slice(0, i) + reference + doc.slice(j + END.length);
}

if (require.main === module) {
    const reference = configReference(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"));
    fs.writeFileSync(DOCS_FILE, withReference(fs.readFileSync(DOCS_FILE, "utf8"), reference));
    console.log(`wrote the configuration reference in ${path.relative(ROOT, DOCS_FILE)}`);
}
