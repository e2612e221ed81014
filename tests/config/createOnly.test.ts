/** The create-only check as a pure function, and the docs that must name the same keys. */
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { parseConfig } from "../../config/stackConfig";
import {
    CREATE_ONLY,
    CREATE_ONLY_KEYS,
    createdWith,
    createOnlyProblems,
    PreviousOutputs,
} from "../../config/createOnly";

const ZONES = ["ap-southeast-1b", "ap-southeast-1a"];
/** The config a stack was created with, and what its first `up` exported. */
const created = parseConfig({});
const previous: PreviousOutputs = {
    createdWith: JSON.parse(JSON.stringify(createdWith(created, ZONES))) as Record<string, unknown>,
    zoneIds: ZONES,
    clusterSpec: created.clusterSpec,
};
const problemsWith = (raw: Record<string, string>, prev: PreviousOutputs = previous) =>
    createOnlyProblems(parseConfig(raw), prev);

describe("createOnlyProblems", () => {
    test("the first `up` has nothing to compare", () => {
        expect(problemsWith({ serviceCidr: "172.30.0.0/20", proxyMode: "ipvs" }, {})).toEqual([]);
    });

    test("the record holds each key's value, the zones the vSwitches have, and nothing secret", () => {
        expect(previous.createdWith).toEqual({
            region: "ap-southeast-1",
            nodeVswitchCidrs: ["192.168.0.0/20", "192.168.16.0/20"],
            podVswitchCidrs: null, // Flannel: no pod vSwitches
            zones: ZONES,
            networkPlugin: "flannel",
            podCidr: "172.20.0.0/16",
            serviceCidr: "172.21.0.0/20",
            proxyMode: "iptables",
            meshEdition: "Pro",
            meshApiServerPublic: false,
        });
        expect(Object.keys(previous.createdWith ?? {}).sort()).toEqual([...CREATE_ONLY_KEYS].sort());
    });

    test("an unchanged config, or any in-place key changed, is no problem", () => {
        expect(problemsWith({})).toEqual([]);
        expect(
            problemsWith({
                canaryWeight: "50",
                nodeCount: "4",
                nodeInstanceTypes: '["ecs.g7.xlarge"]',
                nodeDiskCategory: "cloud_auto",
                kubernetesVersion: "1.33.3-aliyun.1",
                meshVersion: "v1.24.6.60-ge2d7d9ed-aliyun",
                deletionProtection: "true",
                namePrefix: "renamed",
            }),
        ).toEqual([]);
    });

    test("a changed create-only key names the key, both values and what to do instead", () => {
        expect(problemsWith({ serviceCidr: "172.30.0.0/20" })).toEqual([
            'serviceCidr: got "172.30.0.0/20"; this stack was created with "172.21.0.0/20", and serviceCidr cannot ' +
                "change after creation (service_cidr is ForceNew: the ACK cluster would be replaced under the same name). " +
                'Set it back to "172.21.0.0/20"; for "172.30.0.0/20" create a new stack (pulumi stack init) or destroy ' +
                "this one first (pulumi destroy)",
        ]);
    });

    test.each([
        ["region", { region: "eu-central-1" }],
        ["nodeVswitchCidrs", { nodeVswitchCidrs: '["192.168.0.0/20","192.168.32.0/20"]' }],
        ["zones", { zones: '["ap-southeast-1b","ap-southeast-1c"]' }],
        ["networkPlugin", { networkPlugin: "terway" }],
        ["podCidr", { podCidr: "172.22.0.0/16" }],
        ["serviceCidr", { serviceCidr: "172.30.0.0/20" }],
        ["proxyMode", { proxyMode: "ipvs" }],
        ["meshApiServerPublic", { meshApiServerPublic: "true" }],
    ])("%s is refused when changed", (key, raw) => {
        const problems = problemsWith(raw);
        expect(problems).toHaveLength(1);
        expect(problems[0]).toMatch(new RegExp(`^${key}: got .*; this stack was created with `));
    });

    test("meshEdition is create-only too (a record from an older Default-edition stack is refused)", () => {
        const old = { ...previous, createdWith: { ...previous.createdWith, meshEdition: "Default" } };
        expect(problemsWith({}, old)[0]).toMatch(/^meshEdition: got "Pro"; this stack was created with "Default"/);
    });

    test("zones: [] keeps the stack's zones; explicit zones equal to them are fine (pinning after the fact)", () => {
        expect(problemsWith({ zones: JSON.stringify(ZONES) })).toEqual([]);
        // An older stack without a createdWith record: its zoneIds output is the record.
        expect(problemsWith({ zones: '["ap-southeast-1a","ap-southeast-1c"]' }, { zoneIds: ZONES })[0]).toMatch(
            /^zones: got \["ap-southeast-1a","ap-southeast-1c"\]; this stack was created with \["ap-southeast-1b","ap-southeast-1a"\]/,
        );
    });

    test("keys without effect are not compared (Terway's pod vSwitches under Flannel, and the reverse)", () => {
        expect(problemsWith({ podVswitchCidrs: '["192.168.128.0/19","192.168.160.0/19"]' })).toEqual([]);
        const terway = parseConfig({ networkPlugin: "terway" });
        const prev = { createdWith: JSON.parse(JSON.stringify(createdWith(terway, ZONES))) as Record<string, unknown> };
        expect(createOnlyProblems(parseConfig({ networkPlugin: "terway", podCidr: "172.22.0.0/16" }), prev)).toEqual(
            [],
        );
        expect(
            createOnlyProblems(
                parseConfig({ networkPlugin: "terway", podVswitchCidrs: '["192.168.128.0/19","192.168.160.0/19"]' }),
                prev,
            )[0],
        ).toMatch(/^podVswitchCidrs: got /);
    });

    test("a key the record does not hold yet (added to CREATE_ONLY later) is not compared", () => {
        const { serviceCidr: _dropped, ...older } = previous.createdWith ?? {};
        expect(problemsWith({ serviceCidr: "172.30.0.0/20" }, { createdWith: older })).toEqual([]);
    });

    test("all problems are reported together", () => {
        expect(problemsWith({ serviceCidr: "172.30.0.0/20", proxyMode: "ipvs" }).map((p) => p.split(":")[0])).toEqual([
            "serviceCidr",
            "proxyMode",
        ]);
    });
});

describe("clusterSpec changes", () => {
    const withSpec = (clusterSpec: string, raw: Record<string, string>) =>
        createOnlyProblems(parseConfig(raw), { clusterSpec });

    test("Basic to Pro (MigrateCluster) is allowed; an unchanged spec too", () => {
        expect(withSpec("ack.standard", { clusterSpec: "ack.pro.small" })).toEqual([]);
        expect(withSpec("ack.pro.xlarge", { clusterSpec: "ack.pro.xlarge" })).toEqual([]);
    });

    test.each([
        ["ack.pro.small", "ack.standard"],
        ["ack.pro.small", "ack.pro.xlarge"],
        ["ack.standard", "ack.pro.2xlarge"],
    ])("%s -> %s is refused", (from, to) => {
        expect(withSpec(from, { clusterSpec: to })).toEqual([
            `clusterSpec: got "${to}"; the cluster was created as (or migrated to) "${from}", and the only spec change ` +
                `an existing ACK cluster can make is ack.standard -> ack.pro.small. Set it back to "${from}"; for ` +
                "another spec create a new stack (pulumi stack init) or destroy this one first (pulumi destroy)",
        ]);
    });
});

describe("the create-only keys are documented where users look", () => {
    const root = path.join(__dirname, "..", "..");
    const project = yaml.load(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as {
        config: Record<string, { description: string }>;
    };
    const docs = fs.readFileSync(path.join(root, "docs", "configuration.md"), "utf8");

    test("Pulumi.yaml says Create-only in exactly their descriptions", () => {
        const marked = Object.entries(project.config)
            .filter(([, d]) => /create-only/i.test(d.description))
            .map(([k]) => k);
        expect(marked.sort()).toEqual([...CREATE_ONLY_KEYS].sort());
    });

    test("docs/configuration.md's key tables (generated from Pulumi.yaml) mark exactly their rows", () => {
        const rows = docs.split("\n").filter((l) => /^\| `\w+`/.test(l));
        const marked = rows.filter((r) => /create-only/i.test(r)).map((r) => /^\| `(\w+)`/.exec(r)?.[1]);
        expect(marked.sort()).toEqual([...CREATE_ONLY_KEYS].sort());
        expect(rows.find((r) => r.startsWith("| `proxyMode`"))).toContain("Create-only");
    });

    test("docs/configuration.md's example refusal is the program's own message", () => {
        const [message] = problemsWith({ serviceCidr: "172.30.0.0/20" });
        expect(docs).toContain(`  - ${message}`);
    });

    test("every create-only key says what a change would do", () => {
        for (const key of CREATE_ONLY_KEYS) {
            expect(CREATE_ONLY[key].length).toBeGreaterThan(20);
        }
    });
});
