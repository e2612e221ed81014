/** Pulumi.yaml (what the CLI checks) and config/stackConfig.ts (what the program checks) describe the same keys. */
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { CONFIG_KEYS, parseConfig, SECRET_KEYS } from "../../config/stackConfig";
import { PROJECT } from "../../config/constants";

const root = path.join(__dirname, "..", "..");
const project = yaml.load(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as {
    name: string;
    config: Record<string, { type: string; default?: unknown; description?: string; items?: { type: string } }>;
};

function yamlType(v: unknown): string {
    if (Array.isArray(v)) {
        return "array";
    }
    return typeof v === "number" ? "integer" : typeof v;
}

/** A stack file's values as the CLI hands them to the program: strings, arrays as JSON. */
function stackConfig(file: string): Record<string, string> {
    const doc = yaml.load(fs.readFileSync(path.join(root, file), "utf8")) as { config: Record<string, unknown> };
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(doc.config ?? {})) {
        const [ns, key] = k.split(":");
        if (ns === PROJECT) {
            out[key] = typeof v === "string" ? v : JSON.stringify(v);
        }
    }
    return out;
}

describe("Pulumi.yaml", () => {
    test("is the asm-canary project", () => {
        expect(project.name).toBe(PROJECT);
    });

    test("declares exactly the keys the program reads", () => {
        expect(Object.keys(project.config).sort()).toEqual([...CONFIG_KEYS].sort());
    });

    test("every key has a type (but services, whose items are names or objects), a default and a description", () => {
        for (const [key, decl] of Object.entries(project.config)) {
            if (key === "services") {
                expect(decl.type).toBeUndefined();
                continue;
            }
            expect({
                key,
                type: typeof decl.type,
                hasDefault: "default" in decl,
                description: typeof decl.description,
            }).toEqual({
                key,
                type: "string",
                hasDefault: true,
                description: "string",
            });
        }
    });

    test("its defaults and types are the program's", () => {
        const defaults = parseConfig({}) as unknown as Record<string, unknown>;
        for (const [key, decl] of Object.entries(project.config)) {
            if ((SECRET_KEYS as readonly string[]).includes(key)) {
                expect(decl.default).toBe("");
                continue;
            }
            if (key === "services") {
                expect(parseConfig({ services: JSON.stringify(decl.default) }).services).toEqual(defaults.services);
                continue;
            }
            expect({ key, default: decl.default, type: decl.type }).toEqual({
                key,
                default: defaults[key],
                type: yamlType(defaults[key]),
            });
        }
    });
});

describe.each(["Pulumi.dev.yaml", "Pulumi.prod.yaml", "Pulumi.render.yaml"])("%s", (file) => {
    test("sets only declared keys, with valid values", () => {
        const cfg = stackConfig(file);
        for (const key of Object.keys(cfg)) {
            expect(CONFIG_KEYS).toContain(key);
        }
        expect(() => parseConfig(cfg)).not.toThrow();
    });
});

test("the prod example makes production choices", () => {
    const prod = parseConfig(stackConfig("Pulumi.prod.yaml"));
    expect(prod.deletionProtection).toBe(true);
    expect(prod.zones).toHaveLength(2);
    expect(new Set(prod.zones).size).toBe(2);
    expect(prod.nodeCount).toBeGreaterThan(parseConfig(stackConfig("Pulumi.dev.yaml")).nodeCount);
    expect(prod.mtlsMode).toBe("STRICT");
});
