/**
 * The real engine on the foundation's move under AlibabaFoundation (index.ts thinned): mode=create cannot be
 * planned offline (no Alibaba Cloud provider plugin here), so a stand-in program (fixtures/foundationNesting.ts)
 * with the same options, WAS_AT_ROOT and withLegacyType, is brought up in the old layout, then previewed in
 * the new one: the engine must find the component and, through it, its child object by their aliases, so
 * the plan creates only the new AlibabaFoundation component and deletes nothing.
 */
import * as fs from "fs";
import * as path from "path";
import { Stack } from "@pulumi/pulumi/automation";
import { copyProgram, plan } from "../support/engine";

let work: string;
let stack: Stack;

beforeAll(async () => {
    ({ work, stack } = await copyProgram("asm-canary-nesting-", "nesting", "nesting"));
    fs.writeFileSync(path.join(work, "index.ts"), 'import "./tests/engine/fixtures/foundationNesting";\n');
}, 30 * 60_000);

afterAll(() => {
    if (work) {
        fs.rmSync(work, { recursive: true, force: true });
    }
});

test("old root layout -> nested under AlibabaFoundation: one create (the new component), nothing replaced", async () => {
    fs.writeFileSync(path.join(work, "phase"), "root\n");
    const first = await stack.up();
    expect(first.summary.result).toBe("succeeded");
    const before = (await stack.exportStack()).deployment.resources.map((r: { urn: string }) => r.urn);
    expect(before).toContain("urn:pulumi:nesting::asm-canary::asmcanary:network:Network::network");
    expect(before).toContain(
        "urn:pulumi:nesting::asm-canary::asmcanary:network:Network$kubernetes:core/v1:ConfigMap::vpc",
    );

    fs.writeFileSync(path.join(work, "phase"), "nested\n");
    expect(await plan(stack)).toEqual({
        counts: { create: 1 },
        changed: [{ op: "create", name: "alibaba", type: "asm-canary:foundation:AlibabaFoundation" }],
    });

    // And once applied, the state holds the same objects under their new URNs.
    await stack.up();
    const after = (await stack.exportStack()).deployment.resources.map((r: { urn: string }) => r.urn);
    expect(after).toContain(
        "urn:pulumi:nesting::asm-canary::asm-canary:foundation:AlibabaFoundation$asm-canary:foundation:Network$kubernetes:core/v1:ConfigMap::vpc",
    );
}, 300_000);
