/**
 * The documentation stays true to its sources: the configuration reference is generated from Pulumi.yaml
 * (`npm run docs`) and must be current, and every relative link in the README and docs/ reaches a file and,
 * where it names one, a heading.
 */
import * as fs from "fs";
import * as path from "path";
import { BEGIN, configReference, DOCS_FILE, END, withReference } from "../../scripts/configDocs";

const ROOT = path.join(__dirname, "..", "..");
const read = (f: string) => fs.readFileSync(path.join(ROOT, f), "utf8");

test("docs/configuration.md's key reference is the one generated from Pulumi.yaml (else: npm run docs)", () => {
    const doc = fs.readFileSync(DOCS_FILE, "utf8");
    const block = doc.slice(doc.indexOf(BEGIN), doc.indexOf(END) + END.length);
    expect(block).toBe(configReference(read("Pulumi.yaml")));
});

test("the generator: one table per Pulumi.yaml group, keys in order, pipes escaped", () => {
    const pulumiYaml = [
        "name: x",
        "config:",
        "  # --- first group ---",
        "  a:",
        "    type: integer",
        "    default: 1",
        '    description: "one | two"',
        "  # --- second ---",
        "  b:",
        "    type: string",
        "    description: no default",
        "",
    ].join("\n");
    expect(configReference(pulumiYaml)).toBe(
        [
            BEGIN,
            "",
            "### First group",
            "",
            "| Key | Type | Default | Meaning |",
            "| --- | --- | --- | --- |",
            "| `a` | integer | `1` | one \\| two |",
            "",
            "### Second",
            "",
            "| Key | Type | Default | Meaning |",
            "| --- | --- | --- | --- |",
            "| `b` | string |  | no default |",
            "",
            END,
        ].join("\n"),
    );
    expect(withReference(`intro\n${BEGIN}\nold\n${END}\noutro`, "NEW")).toBe("intro\nNEW\noutro");
});

test("every relative link in README.md and docs/ reaches its file and heading", () => {
    const slug = (t: string) =>
        t
            .toLowerCase()
            .replace(/[^\w\- ]/g, "")
            .replace(/ /g, "-");
    const files = ["README.md", ...fs.readdirSync(path.join(ROOT, "docs")).map((f) => `docs/${f}`)];
    const headings = (f: string) => new Set([...read(f).matchAll(/^#{1,4} (.*)$/gm)].map((m) => slug(m[1])));
    const broken: string[] = [];
    for (const f of files) {
        for (const [, target] of read(f).matchAll(/\[[^\]]*\]\(([^)\s]+)\)/g)) {
            if (/^(https?:|mailto:)/.test(target)) {
                continue;
            }
            const [file, anchor] = target.split("#");
            const full = file ? path.normalize(path.join(path.dirname(f), file)) : f;
            if (!fs.existsSync(path.join(ROOT, full))) {
                broken.push(`${f}: ${target}`);
            } else if (anchor && full.endsWith(".md") && !headings(full).has(anchor)) {
                broken.push(`${f}: ${target} (no such heading)`);
            }
        }
    }
    expect(broken).toEqual([]);
});
