/**
 * Review 2, M1-M3: upgrades and ownership changes that cannot succeed (or would leave the mesh in a state
 * nothing in the stack shows) are refused before anything is declared, against the stack's previous outputs.
 */
import type { PreviousOutputs } from "../../config/createOnly";
import { parseConfig } from "../../config/stackConfig";
import { nextAckMinor, upgradeProblems } from "../../config/upgrades";
import { CREATE_CONFIG, runProgram } from "../support/harness";

const problems = (raw: Record<string, string>, previous: PreviousOutputs) =>
    upgradeProblems(parseConfig(raw), previous);
const K8S = { kubernetesVersion: "1.31.9-aliyun.1", meshVersion: "v1.22.6.28-g8f5ebc7d-aliyun" };

describe("kubernetesVersion (M3)", () => {
    test("a patch or the next minor is an upgrade the stack makes", () => {
        expect(problems({ kubernetesVersion: "1.31.12-aliyun.1" }, K8S)).toEqual([]);
        expect(problems({ kubernetesVersion: "1.32.1-aliyun.1" }, K8S)).toEqual([]);
    });

    test("skipping a minor is refused, naming the next one", () => {
        expect(problems({ kubernetesVersion: "1.33.3-aliyun.1" }, K8S)).toEqual([
            'kubernetesVersion: got "1.33.3-aliyun.1"; the cluster runs "1.31.9-aliyun.1", and ACK upgrades one ' +
                "minor version at a time: the next is 1.32. Upgrade to a 1.32 version first (pulumi up), then on; " +
                "the versions on offer: aliyun cs GET /api/v1/metadata/versions --region <region>",
        ]);
    });

    test("a downgrade is refused", () => {
        expect(problems({ kubernetesVersion: "1.30.7-aliyun.1" }, K8S)).toEqual([
            'kubernetesVersion: got "1.30.7-aliyun.1"; the cluster runs "1.31.9-aliyun.1", and ACK cannot downgrade ' +
                'a cluster. Set it to "1.31.9-aliyun.1" or a later version',
        ]);
        expect(problems({ kubernetesVersion: "1.31.8-aliyun.1" }, K8S)).toHaveLength(1);
    });

    test("before 1.31 ACK offered only even minors: 1.28 goes to 1.30, 1.30 to 1.31, then every minor", () => {
        expect([28, 30, 31, 34].map(nextAckMinor)).toEqual([30, 31, 32, 35]);
        expect(problems({ kubernetesVersion: "1.30.1-aliyun.1" }, { kubernetesVersion: "1.28.15-aliyun.1" })).toEqual(
            [],
        );
    });

    test("unset (ACK's choice at creation), or a first up: nothing to compare", () => {
        expect(problems({}, K8S)).toEqual([]);
        expect(problems({ kubernetesVersion: "1.33.3-aliyun.1" }, {})).toEqual([]);
    });
});

describe("meshVersion (M1)", () => {
    test("a later version is left to ASM (only it knows the next one); a lower one is refused", () => {
        expect(problems({ meshVersion: "v1.23.6.46-g1a2b3c4d-aliyun" }, K8S)).toEqual([]);
        expect(problems({ meshVersion: "v1.9.7.93-gaaa-aliyun" }, K8S)).toEqual([
            'meshVersion: got "v1.9.7.93-gaaa-aliyun"; the mesh runs "v1.22.6.28-g8f5ebc7d-aliyun", and ASM cannot ' +
                'downgrade a mesh. Set it to "v1.22.6.28-g8f5ebc7d-aliyun", or to the version ASM offers as the next ' +
                "upgrade: aliyun servicemesh DescribeUpgradeVersion --ServiceMeshId <meshId>",
        ]);
    });
});

test("review 2 M1: a meshVersion that skips a minor is refused, naming the next minor and where ASM tells the exact version", () => {
    expect(problems({ meshVersion: "v1.23.6.46-g1a2b3c4d-aliyun" }, K8S)).toEqual([]);
    expect(problems({ meshVersion: "v1.22.9.12-g5e6f7a8b-aliyun" }, K8S)).toEqual([]);
    expect(problems({ meshVersion: "v1.24.6.60-ge2d7d9ed-aliyun" }, K8S)).toEqual([
        'meshVersion: got "v1.24.6.60-ge2d7d9ed-aliyun"; the mesh runs "v1.22.6.28-g8f5ebc7d-aliyun", and ASM ' +
            "upgrades a mesh in place one minor version at a time: the next is v1.23. Upgrade to the v1.23 version " +
            "ASM offers first (pulumi up), then on: aliyun servicemesh DescribeUpgradeVersion --ServiceMeshId <meshId>",
    ]);
});

test("both upgrades in one up are refused: the mesh goes first (M3, ordering)", () => {
    expect(problems({ kubernetesVersion: "1.32.1-aliyun.1", meshVersion: "v1.23.6.46-g1a2b3c4d-aliyun" }, K8S)).toEqual(
        [
            'kubernetesVersion: got "1.32.1-aliyun.1" together with meshVersion "v1.23.6.46-g1a2b3c4d-aliyun"; in one ' +
                "pulumi up the cluster would be upgraded before the mesh (the mesh depends on it). Upgrade the mesh " +
                'first: set kubernetesVersion back to "1.31.9-aliyun.1", pulumi up, then set it again',
        ],
    );
    // The pinned mesh version unchanged: only the cluster moves.
    expect(problems({ kubernetesVersion: "1.32.1-aliyun.1", meshVersion: K8S.meshVersion }, K8S)).toEqual([]);
});

describe("manageMeshConfig off (M2)", () => {
    const owned = (s: Partial<{ outboundTrafficPolicy: string; accessLogs: boolean; metrics: boolean }>) => ({
        meshSettings: { manage: true, outboundTrafficPolicy: "ALLOW_ANY", accessLogs: false, metrics: false, ...s },
    });

    test("refused while the mesh was last left with a setting on, naming each", () => {
        expect(problems({}, owned({ outboundTrafficPolicy: "REGISTRY_ONLY", accessLogs: true }))).toEqual([
            'manageMeshConfig: got false; the mesh was last set to outboundTrafficPolicy "REGISTRY_ONLY", ' +
                "access-log collection on, and without the program's ownership it would stay so (ASM keeps settings " +
                "nobody sends). First, with manageMeshConfig still true, set outboundTrafficPolicy ALLOW_ANY, " +
                "accessLogs false and meshMetrics false and pulumi up; then set manageMeshConfig false",
        ]);
        expect(problems({}, owned({ metrics: true }))[0]).toMatch(/last set to Prometheus metrics on,/);
    });

    test("allowed from the off values, and whenever the program keeps ownership", () => {
        expect(problems({}, owned({}))).toEqual([]);
        expect(problems({ manageMeshConfig: "true" }, owned({ outboundTrafficPolicy: "REGISTRY_ONLY" }))).toEqual([]);
    });
});

describe("the program refuses before declaring anything, and records what the next run compares", () => {
    test("a refused upgrade stops the program with the problem (no resource declared)", async () => {
        await expect(
            runProgram(
                { ...CREATE_CONFIG, kubernetesVersion: "1.33.3-aliyun.1" },
                { previousOutputs: { kubernetesVersion: "1.31.9-aliyun.1" } },
            ),
        ).rejects.toThrow(/kubernetesVersion: got "1\.33\.3-aliyun\.1"; the cluster runs "1\.31\.9-aliyun\.1"/);
    });

    test("the previous meshSettings output is read back and checked", async () => {
        const meshSettings = {
            manage: true,
            outboundTrafficPolicy: "REGISTRY_ONLY",
            accessLogs: false,
            metrics: false,
        };
        await expect(runProgram(CREATE_CONFIG, { previousOutputs: { meshSettings } })).rejects.toThrow(
            /manageMeshConfig: got false; the mesh was last set to outboundTrafficPolicy "REGISTRY_ONLY"/,
        );
    });

    test("outputs kubernetesVersion (what the cluster runs) and meshSettings", async () => {
        const run = await runProgram({
            ...CREATE_CONFIG,
            manageMeshConfig: "true",
            outboundTrafficPolicy: "REGISTRY_ONLY",
        });
        expect(run.outputs.kubernetesVersion).toBe("1.33.3-aliyun.1");
        expect(run.outputs.meshSettings).toEqual({
            manage: true,
            outboundTrafficPolicy: "REGISTRY_ONLY",
            accessLogs: false,
            metrics: false,
        });
    });
});
