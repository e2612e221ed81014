/** Which pack config a promotion runs with: --policy-config, else policy/<stack>.json, else the defaults. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { policySetting } from "../../promote/policySetting";

let project: string;
beforeEach(() => {
    project = fs.mkdtempSync(path.join(os.tmpdir(), "policy-setting-"));
    fs.mkdirSync(path.join(project, "policy"));
});
afterEach(() => fs.rmSync(project, { recursive: true, force: true }));

const write = (rel: string, value: unknown) => fs.writeFileSync(path.join(project, rel), JSON.stringify(value));

test("no file: the project's pack with its default levels", () => {
    expect(policySetting({ stack: "dev", noPolicy: false }, project)).toEqual({
        pack: path.join(project, "policy", "analyzer"),
        config: {},
        source: "the pack's default levels",
    });
});

test("the stack's own policy/<stack>.json is used when there is one", () => {
    write("policy/prod.json", { "production-mtls-strict": "mandatory" });
    expect(policySetting({ stack: "prod", noPolicy: false }, project)).toMatchObject({
        config: { "production-mtls-strict": "mandatory" },
        source: path.join("policy", "prod.json"),
    });
    expect(policySetting({ stack: "dev", noPolicy: false }, project)?.config).toEqual({});
});

test("--policy-config wins over the stack's file", () => {
    write("policy/prod.json", { "production-mtls-strict": "mandatory" });
    const file = path.join(project, "other.json");
    write("other.json", { all: "advisory" });
    expect(policySetting({ stack: "prod", noPolicy: false, policyConfig: file }, project)).toMatchObject({
        config: { all: "advisory" },
        source: file,
    });
});

test("--no-policy: no pack", () => {
    write("policy/prod.json", { "production-mtls-strict": "mandatory" });
    expect(policySetting({ stack: "prod", noPolicy: true }, project)).toBeUndefined();
});

test("a config the pack would refuse stops the run, with the allowed values", () => {
    write("policy/prod.json", { "production-mtls": "mandatory" });
    expect(() => policySetting({ stack: "prod", noPolicy: false }, project)).toThrow(
        /unknown policy "production-mtls"; the policies are: all, canary-route-subsets, canary-weight-step/,
    );
});
