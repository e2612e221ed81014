/**
 * promote's prepared step (promote/run.ts prepare) through its real driver (promote/stack.ts AutomationStack)
 * on the real engine and CLI, on a copy of the render stack: a weight staged in a copy of the stack's config
 * file leaves the stack's config as it is, the preview of the copy plans exactly the step, the commit puts
 * the copy in place byte for byte and the up held to the staged preview's plan applies it; a copy made
 * before someone else's config change is refused.
 */
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import { Stack } from "@pulumi/pulumi/automation";
import { AutomationStack } from "../../promote/stack";
import { copyProgram, RENDER_STACK_CONFIG } from "../support/engine";

const STACK = "staged";
let work: string;
let stack: Stack;

beforeAll(async () => {
    ({ work, stack } = await copyProgram("asm-canary-staged-", STACK, "staged", RENDER_STACK_CONFIG));
    expect((await stack.up()).summary.result).toBe("succeeded");
}, 30 * 60_000);

afterAll(() => {
    if (work) {
        fs.rmSync(work, { recursive: true, force: true });
    }
});

/** The canary weight of hello's rendered VirtualService (its last, weighted, route). */
function renderedWeight(): number {
    const dir = path.join(work, ".render", "manifests");
    for (const file of fs.readdirSync(dir, { recursive: true, encoding: "utf8" })) {
        if (!/\.ya?ml$/.test(file)) {
            continue;
        }
        for (const doc of yaml.loadAll(fs.readFileSync(path.join(dir, file), "utf8")) as any[]) {
            if (doc?.kind === "VirtualService" && doc.metadata.name === "hello") {
                return doc.spec.http.at(-1).route.find((r: any) => r.destination.subset === "v2").weight;
            }
        }
    }
    throw new Error(`no rendered VirtualService hello in ${dir}`);
}

test("a staged weight: the stack's config untouched until the commit, the staged preview plans only hello's route, the up held to its plan applies it; a stale copy is refused", async () => {
    const driver = new AutomationStack(stack, "asm-canary");
    const configFile = path.join(work, `Pulumi.${STACK}.yaml`);
    expect(await driver.configPath()).toBe(configFile);
    const before = fs.readFileSync(configFile, "utf8");

    const staged = await driver.stageWeight(30, undefined, path.join(work, "step-2.config.yaml"));
    expect(staged.base).toBe(before);
    expect(fs.readFileSync(configFile, "utf8")).toBe(before);
    expect((yaml.load(fs.readFileSync(staged.file, "utf8")) as any).config["asm-canary:canaryWeight"]).toBe("30");
    expect((await stack.getConfig("canaryWeight")).value).toBe("10");

    const planFile = path.join(work, "step-2.plan.json");
    const preview = await driver.previewPlan({ planFile, configFile: staged.file });
    expect(preview.changes.map((c) => [c.op, c.type, c.object])).toEqual([
        ["update", "kubernetes:networking.istio.io/v1beta1:VirtualService", "canary-demo/hello"],
    ]);
    // The preview wrote nothing: the config and the applied route are as before.
    expect(fs.readFileSync(configFile, "utf8")).toBe(before);
    expect(renderedWeight()).toBe(10);

    expect(await driver.commitStaged(staged)).toBe(true);
    expect(fs.readFileSync(configFile, "utf8")).toBe(fs.readFileSync(staged.file, "utf8"));
    expect((await stack.getConfig("canaryWeight")).value).toBe("30");
    const up = await driver.up({ plan: planFile, inPlaceRoutesOnly: true });
    expect(Object.keys(up.changes).sort()).toEqual(["same", "update"]);
    expect(up.changes.update).toBe(1);
    expect(renderedWeight()).toBe(30);

    // Someone's config change after the copy was made: the copy is not committed, nothing is written.
    const stale = await driver.stageWeight(50, undefined, path.join(work, "step-3.config.yaml"));
    await stack.setConfig("mtlsMode", { value: "STRICT" });
    const current = fs.readFileSync(configFile, "utf8");
    expect(await driver.commitStaged(stale)).toBe(false);
    expect(fs.readFileSync(configFile, "utf8")).toBe(current);
    expect((await stack.getConfig("canaryWeight")).value).toBe("30");
}, 300_000);
