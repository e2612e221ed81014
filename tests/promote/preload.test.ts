/**
 * promote/preload.cjs, which promote's previews and `up`s preload into the Node.js processes the CLI starts
 * (promote/stack.ts promoteNodeEnv): the Pulumi SDK loads without @npmcli/arborist, and what uses it (the
 * SDK's code paths of a serialized function, as for the readiness gate's dynamic provider) gets the real
 * module and the same answer. Each case runs in a Node.js process of its own, as the CLI starts them.
 */
import { execFileSync } from "child_process";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..", "..");
const PRELOAD = path.join(ROOT, "promote", "preload.cjs");

/** In a fresh Node.js process (with the preload or without): arborist loaded after the SDK, and the code paths. */
function sdkIn(withPreload: boolean): { arboristAfterSdk: boolean; arboristAfterUse: boolean; paths: string[] } {
    const script = `
        const loaded = () => Object.keys(require.cache).some((k) => k.includes("@npmcli/arborist"));
        const pulumi = require("@pulumi/pulumi");
        const arboristAfterSdk = loaded();
        pulumi.runtime.computeCodePaths({ extraIncludePackages: ["zod"] }).then((m) => {
            const paths = [...m.keys()].map((p) => p.replace(process.cwd(), ".")).sort();
            console.log(JSON.stringify({ arboristAfterSdk, arboristAfterUse: loaded(), paths }));
        });
    `;
    const out = execFileSync(process.execPath, [...(withPreload ? ["--require", PRELOAD] : []), "-e", script], {
        cwd: ROOT,
        encoding: "utf8",
    });
    return JSON.parse(out.trim().split("\n").pop()!);
}

test("with the preload the SDK loads without @npmcli/arborist; without it, arborist comes with the SDK", () => {
    expect(sdkIn(true).arboristAfterSdk).toBe(false);
    expect(sdkIn(false).arboristAfterSdk).toBe(true);
});

test("a serialized function's code paths (which use arborist) are the same with the preload, which loads it then", () => {
    const preloaded = sdkIn(true);
    expect(preloaded.arboristAfterUse).toBe(true);
    expect(preloaded.paths).toContain("node_modules/@kubernetes-models/istio");
    expect(preloaded.paths).toEqual(sdkIn(false).paths);
});
