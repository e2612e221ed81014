/** Component hygiene across the whole program: parents, explicit providers, type tokens. */
import { CREATE_CONFIG, EXISTING_CONFIG, runProgram } from "../support/harness";

describe.each([
    ["create", CREATE_CONFIG],
    ["existing", EXISTING_CONFIG],
])("mode %s", (_mode, config) => {
    let run: Awaited<ReturnType<typeof runProgram>>;
    beforeAll(async () => {
        run = await runProgram(config);
    });

    test("components use pkg:module:Name type tokens and sit at the top", () => {
        const components = run.resources.filter((r) => r.type.startsWith("asm-canary:"));
        expect(components.length).toBeGreaterThanOrEqual(5);
        for (const c of components) {
            expect(c.type).toMatch(/^asm-canary:(foundation|mesh):[A-Z][A-Za-z]+$/);
        }
    });

    test("every other resource is the child of a component (except the stack's read of itself)", () => {
        const topLevel = ["pulumi:pulumi:StackReference"];
        const leaves = run.resources.filter((r) => !r.type.startsWith("asm-canary:") && !topLevel.includes(r.type));
        expect(leaves.length).toBeGreaterThan(10);
        for (const r of leaves) {
            expect({ name: r.name, parent: r.parent }).toEqual({
                name: r.name,
                parent: expect.stringMatching(/[:$]asm-canary:(foundation|mesh):[A-Z]\w+::[^:]+$/),
            });
        }
    });

    test("every Kubernetes and Alibaba resource names its provider explicitly", () => {
        for (const r of run.resources.filter((x) => /^(kubernetes|alicloud):/.test(x.type))) {
            expect({ name: r.name, provider: r.provider }).toEqual({
                name: r.name,
                provider: expect.stringMatching(/[:$]pulumi:providers:(kubernetes|alicloud)::/),
            });
        }
    });
});
