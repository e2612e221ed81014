import * as pulumi from "@pulumi/pulumi";
import { ConfigError, parseConfig, shapeConfig } from "../../config/stackConfig";
import { refusedProgram } from "../support/harness";

/** The problems parseConfig reports for `raw` (fails the test if it accepts it). */
function problems(raw: Record<string, string>, hasSecretKubeconfig = false): string[] {
    try {
        parseConfig(raw, hasSecretKubeconfig);
    } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        // A RunError: the CLI shows the message alone, without a stack trace.
        expect(e).toBeInstanceOf(pulumi.RunError);
        return (e as ConfigError).problems;
    }
    throw new Error(`config was accepted: ${JSON.stringify(raw)}`);
}

describe("stack config validation", () => {
    test("an empty config takes the documented defaults", () => {
        const c = parseConfig({});
        expect(c).toMatchObject({
            mode: "create",
            region: "ap-southeast-1",
            vpcCidr: "192.168.0.0/16",
            nodeVswitchCidrs: ["192.168.0.0/20", "192.168.16.0/20"],
            networkPlugin: "flannel",
            podCidr: "172.20.0.0/16",
            serviceCidr: "172.21.0.0/20",
            clusterSpec: "ack.pro.small",
            nodeCount: 2,
            meshEdition: "Pro",
            meshClusterSpec: "enterprise",
            canaryWeight: 0,
            mtlsMode: "PERMISSIVE",
            appImage: "hashicorp/http-echo:1.0",
            stableText: "hello from v1",
            canaryText: "hello from v2",
            services: [{ kind: "demo", name: "hello" }],
        });
    });

    test("typed values are parsed from the strings Pulumi hands over", () => {
        const c = parseConfig({
            canaryWeight: "50",
            deletionProtection: "true",
            zones: '["ap-southeast-1a","ap-southeast-1b"]',
        });
        expect(c.canaryWeight).toBe(50);
        expect(c.deletionProtection).toBe(true);
        expect(c.zones).toEqual(["ap-southeast-1a", "ap-southeast-1b"]);
    });

    test.each([
        ["-1", 'canaryWeight: got "-1"; must be a whole number from 0 to 100'],
        ["101", 'canaryWeight: got "101"; must be a whole number from 0 to 100'],
        ["12.5", 'canaryWeight: got "12.5"; must be a whole number from 0 to 100'],
        ["ten", 'canaryWeight: got "ten"; must be a whole number from 0 to 100'],
    ])("canaryWeight %s is rejected with a clear message", (value, message) => {
        expect(problems({ canaryWeight: value })).toEqual([message]);
    });

    test.each(["0", "10", "50", "100"])("canaryWeight %s is accepted", (value) => {
        expect(parseConfig({ canaryWeight: value }).canaryWeight).toBe(Number(value));
    });

    test("an unknown mTLS mode names the allowed ones", () => {
        expect(problems({ mtlsMode: "strict" })).toEqual([
            'mtlsMode: got "strict"; must be one of PERMISSIVE, STRICT, DISABLE',
        ]);
    });

    test("wrong types are named with the value given", () => {
        expect(problems({ deletionProtection: "yes" })).toEqual([
            'deletionProtection: got "yes"; must be true or false',
        ]);
        expect(problems({ nodeCount: "0" })).toEqual(['nodeCount: got "0"; must be a whole number from 1 to 100']);
        expect(problems({ zones: "ap-southeast-1a" })).toEqual([
            'zones: got "ap-southeast-1a"; must be a list of zone ids',
        ]);
        expect(problems({ networkPlugin: "calico" })).toEqual([
            'networkPlugin: got "calico"; must be one of flannel, terway',
        ]);
    });

    test("several problems are reported together", () => {
        const p = problems({ canaryWeight: "ten", mtlsMode: "ON", nodeCount: "-3" });
        expect(p).toHaveLength(3);
        expect(p.map((s) => s.split(":")[0]).sort()).toEqual(["canaryWeight", "mtlsMode", "nodeCount"]);
    });

    test("a misspelt key is reported, not silently ignored", () => {
        expect(problems({ canaryWieght: "50" })).toEqual([
            "canaryWieght: not a key of this program (the known keys are declared in Pulumi.yaml)",
        ]);
    });

    describe("CIDR plan", () => {
        test("malformed and misaligned CIDRs", () => {
            expect(problems({ vpcCidr: "10.0.0.0/33" })).toEqual([
                'vpcCidr: got "10.0.0.0/33"; is not an IPv4 CIDR block such as 10.0.0.0/16',
            ]);
            expect(problems({ vpcCidr: "192.168.1.0/16" })).toEqual([
                'vpcCidr: got "192.168.1.0/16"; has host bits set (the network address is 192.168.0.0/16)',
            ]);
            expect(problems({ nodeVswitchCidrs: '["192.168.0.0/20","nope"]' })).toEqual([
                'nodeVswitchCidrs: got "[\\"192.168.0.0/20\\",\\"nope\\"]"; item "nope" is not an IPv4 CIDR block such as 10.0.0.0/16',
            ]);
        });

        test("the VPC must be in a private range", () => {
            expect(problems({ vpcCidr: "8.8.0.0/16", nodeVswitchCidrs: '["8.8.0.0/20","8.8.16.0/20"]' })).toEqual([
                'vpcCidr: got "8.8.0.0/16"; must lie inside 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16',
            ]);
        });

        test("vSwitches must lie inside the VPC and not overlap each other", () => {
            expect(problems({ nodeVswitchCidrs: '["192.168.0.0/20","10.0.0.0/20"]' })).toEqual([
                'nodeVswitchCidrs: got ["192.168.0.0/20","10.0.0.0/20"]; 10.0.0.0/20 is not inside vpcCidr 192.168.0.0/16',
            ]);
            expect(problems({ nodeVswitchCidrs: '["192.168.0.0/20","192.168.8.0/21"]' })).toEqual([
                'nodeVswitchCidrs: got ["192.168.0.0/20","192.168.8.0/21"]; 192.168.8.0/21 overlaps 192.168.0.0/20 (nodeVswitchCidrs)',
            ]);
        });

        test("Terway pod vSwitches are checked against node vSwitches", () => {
            expect(
                problems({ networkPlugin: "terway", podVswitchCidrs: '["192.168.0.0/19","192.168.96.0/19"]' }),
            ).toEqual([
                'podVswitchCidrs: got ["192.168.0.0/19","192.168.96.0/19"]; 192.168.0.0/19 overlaps 192.168.0.0/20 (nodeVswitchCidrs)',
                'podVswitchCidrs: got ["192.168.0.0/19","192.168.96.0/19"]; 192.168.0.0/19 overlaps 192.168.16.0/20 (nodeVswitchCidrs)',
            ]);
            // Flannel ignores pod vSwitches entirely.
            expect(() => parseConfig({ podVswitchCidrs: '["192.168.0.0/19"]' })).not.toThrow();
        });

        test("pod and service CIDRs must not overlap the VPC or each other", () => {
            expect(problems({ podCidr: "192.168.128.0/17" })).toEqual([
                'podCidr: got "192.168.128.0/17"; overlaps vpcCidr 192.168.0.0/16',
            ]);
            expect(problems({ serviceCidr: "192.168.200.0/24" })).toEqual([
                'serviceCidr: got "192.168.200.0/24"; overlaps vpcCidr 192.168.0.0/16',
            ]);
            expect(problems({ serviceCidr: "172.20.16.0/20" })).toEqual([
                'serviceCidr: got "172.20.16.0/20"; overlaps podCidr 172.20.0.0/16',
            ]);
        });

        test("at least two node vSwitches (zones)", () => {
            expect(problems({ nodeVswitchCidrs: '["192.168.0.0/20"]' })).toEqual([
                'nodeVswitchCidrs: got ["192.168.0.0/20"]; needs at least two blocks, one per zone',
            ]);
        });

        test("at most five node vSwitches (what an ACK cluster takes)", () => {
            const blocks = (n: number) => JSON.stringify(Array.from({ length: n }, (_, i) => `192.168.${i * 16}.0/20`));
            expect(parseConfig({ nodeVswitchCidrs: blocks(5) }).nodeVswitchCidrs).toHaveLength(5);
            expect(problems({ nodeVswitchCidrs: blocks(6) })).toEqual([
                `nodeVswitchCidrs: got ${blocks(6)}; at most 5 blocks (an ACK cluster takes at most 5 vSwitches)`,
            ]);
        });
    });

    describe("zones", () => {
        test("must be distinct, one per vSwitch, in the region", () => {
            expect(problems({ zones: '["ap-southeast-1a","ap-southeast-1a"]' })).toEqual([
                'zones: got ["ap-southeast-1a","ap-southeast-1a"]; zones must be distinct',
            ]);
            expect(problems({ zones: '["ap-southeast-1a"]' })).toEqual([
                'zones: got ["ap-southeast-1a"]; needs one zone per nodeVswitchCidrs block (2), or [] to look them up',
            ]);
            expect(problems({ zones: '["cn-hangzhou-h","cn-hangzhou-i"]' })).toEqual([
                'zones: got ["cn-hangzhou-h","cn-hangzhou-i"]; every zone must be in region ap-southeast-1',
            ]);
        });

        test("a protected (prod-like) stack needs a node in every zone", () => {
            expect(problems({ deletionProtection: "true", nodeCount: "1" })).toEqual([
                "nodeCount: got 1; a protected (prod-like) stack needs at least one node per zone (2)",
            ]);
        });
    });

    describe("brownfield mode", () => {
        test("needs exactly one way to reach the cluster", () => {
            expect(problems({ mode: "existing" })).toEqual([
                'mode: got "existing" with no cluster access; set exactly one of existingKubeconfig (secret), existingKubeconfigPath or renderYamlDirectory',
            ]);
            expect(problems({ mode: "existing", existingKubeconfigPath: "/k", renderYamlDirectory: "/r" })[0]).toMatch(
                /with existingKubeconfigPath and renderYamlDirectory/,
            );
            expect(parseConfig({ mode: "existing" }, true).mode).toBe("existing");
        });

        test("skips the cloud network checks", () => {
            expect(() =>
                parseConfig({ mode: "existing", renderYamlDirectory: "out", vpcCidr: "8.8.0.0/16" }),
            ).not.toThrow();
        });

        test("renderYamlDirectory is refused in create mode", () => {
            expect(problems({ renderYamlDirectory: "out" })).toEqual([
                'renderYamlDirectory: got "out"; only allowed with mode "existing"',
            ]);
        });
    });

    describe("mesh layer keys", () => {
        test("header override needs both name and value", () => {
            expect(problems({ canaryHeaderName: "x-canary" })).toEqual([
                'canaryHeaderName: got "x-canary" with canaryHeaderValue ""; set both or neither',
            ]);
        });

        test("durations and retries", () => {
            expect(problems({ routeTimeout: "5 seconds" })).toEqual([
                'routeTimeout: got "5 seconds"; must be a duration such as "500ms", "5s" or "1m" (or "" for none)',
            ]);
            expect(problems({ retryOn: "5xx" })).toEqual([
                "retryAttempts: got 0 with retryPerTryTimeout/retryOn set; set retryAttempts >= 1 or clear them",
            ]);
        });

        test("an AuthorizationPolicy needs mTLS identities", () => {
            expect(problems({ authorizationPolicy: "true", mtlsMode: "DISABLE" })[0]).toMatch(
                /^authorizationPolicy: got true with mtlsMode "DISABLE"; .*every call would be denied/,
            );
        });

        test("the header value cannot break the copy-paste command", () => {
            expect(problems({ canaryHeaderName: "x-canary", canaryHeaderValue: "it's" })[0]).toMatch(
                /^canaryHeaderValue: got "it's"; must be letters, digits/,
            );
        });

        test("the client's name is reserved", () => {
            expect(problems({ services: '["hello","curl"]' })).toEqual([
                'services[1]: got "curl"; "curl" is the in-mesh client\'s name',
            ]);
        });

        test("service names must be distinct DNS labels", () => {
            expect(problems({ services: '["hello","hello"]' })).toEqual([
                'services: got ["hello","hello"] as names; hello twice: names must be distinct',
            ]);
            expect(problems({ services: '["Hello"]' })[0]).toMatch(
                /^services\[0\]: got "Hello"; must be a DNS-1123 label/,
            );
            expect(problems({ services: "[]" })).toEqual([
                "services: got []; must be a non-empty list of service names or objects",
            ]);
        });
    });

    test("create mode needs the public API endpoint", () => {
        expect(problems({ apiServerPublic: "false" })[0]).toMatch(
            /^apiServerPublic: got false; mode "create" needs the public API endpoint/,
        );
        expect(() =>
            parseConfig({ mode: "existing", renderYamlDirectory: "out", apiServerPublic: "false" }),
        ).not.toThrow();
    });

    test("the Standard mesh edition is refused: the mesh layer needs data-plane KubeAPI access", () => {
        expect(problems({ meshEdition: "Default" })).toEqual([
            'meshEdition: got "Default"; must be Pro: the Standard edition ("Default") has no data-plane KubeAPI ' +
                "access, through which this program applies every Istio object (it needs Enterprise or Ultimate, " +
                "i.e. Pro), and ap-southeast-1 does not offer it",
        ]);
        expect(problems({ meshEdition: "Default", meshClusterSpec: "standard" })).toHaveLength(2);
        expect(problems({ meshClusterSpec: "standard" })).toEqual([
            'meshClusterSpec: got "standard"; must be one of enterprise, ultimate: "standard" is the spec of the Standard edition',
        ]);
        expect(parseConfig({ meshEdition: "Pro", meshClusterSpec: "ultimate" }).meshClusterSpec).toBe("ultimate");
    });
});

describe("what the components receive", () => {
    test("unset optional text is undefined, not the empty string the stack file defaults to", () => {
        const c = shapeConfig(parseConfig({ mode: "existing", renderYamlDirectory: "out" }));
        expect(c.renderYamlDirectory).toBe("out");
        for (const key of [
            "existingKubeconfig",
            "existingKubeconfigPath",
            "existingClusterId",
            "kubernetesVersion",
            "meshVersion",
        ] as const) {
            expect({ key, value: c[key] }).toEqual({ key, value: undefined });
        }
    });

    test("the default routing policy: all traffic to the stable subset, nothing else set", () => {
        expect(shapeConfig(parseConfig({})).routing).toEqual({ canaryWeight: 0 });
    });

    test("the routing keys arrive as one policy, retries and outlier detection in Istio's shapes", () => {
        const c = shapeConfig(
            parseConfig({
                canaryWeight: "30",
                canaryHeaderName: "x-canary",
                canaryHeaderValue: "always",
                routeTimeout: "5s",
                retryAttempts: "3",
                retryOn: "5xx,reset",
                outlierConsecutive5xx: "7",
            }),
        );
        expect(c.routing).toEqual({
            canaryWeight: 30,
            header: { name: "x-canary", value: "always" },
            timeout: "5s",
            retries: { attempts: 3, retryOn: "5xx,reset" },
            outlierDetection: { consecutive5xxErrors: 7, interval: "10s", baseEjectionTime: "30s" },
        });
        // The raw keys are not handed on: there is one place that reads them.
        expect(Object.keys(c).filter((k) => /^(canaryWeight|canaryHeader|retry|outlier|routeTimeout)/.test(k))).toEqual(
            [],
        );
    });
});

describe("values Istio's admission rejects are refused up front (istio/validation.ts)", () => {
    test("durations under 1ms, finer than 1ms or beyond Go's time.Duration", () => {
        expect(problems({ routeTimeout: "0s" })).toEqual([
            'routeTimeout: got "0s"; must be at least 1ms: Istio rejects shorter durations such as 0s (or "" for none)',
        ]);
        expect(problems({ retryAttempts: "2", retryPerTryTimeout: "1.5ms" })).toEqual([
            'retryPerTryTimeout: got "1.5ms"; must be whole milliseconds: Istio supports no finer precision (or "" for none)',
        ]);
        expect(problems({ routeTimeout: "2562048h" })).toEqual([
            'routeTimeout: got "2562048h"; must be at most 2562047h: Istio reads durations into Go\'s time.Duration, which holds no more (or "" for none)',
        ]);
        const c = parseConfig({ routeTimeout: "1ms", retryAttempts: "2", retryPerTryTimeout: "0.5s" });
        expect([c.routeTimeout, c.retryPerTryTimeout]).toEqual(["1ms", "0.5s"]);
    });

    test("retry conditions Istio does not know", () => {
        expect(problems({ retryAttempts: "2", retryOn: "5xx,bogus" })).toEqual([
            expect.stringMatching(
                /^retryOn: got "5xx,bogus"; must be a comma-separated list of retry conditions Istio accepts \(5xx, .*\) or HTTP status codes such as 503; "bogus" is neither$/,
            ),
        ]);
        expect(problems({ retryAttempts: "2", retryOn: "599" })[0]).toMatch(/^retryOn: got "599"; .*"599" is neither$/);
        expect(parseConfig({ retryAttempts: "2", retryOn: "5xx,503,retriable-status-codes" }).retryOn).toBe(
            "5xx,503,retriable-status-codes",
        );
    });

    test("outlier detection durations: Istio's duration rule, and always set", () => {
        expect(problems({ outlierConsecutive5xx: "5", outlierInterval: "0s", outlierBaseEjectionTime: "" })).toEqual([
            'outlierInterval: got "0s"; must be at least 1ms: Istio rejects shorter durations such as 0s',
            'outlierBaseEjectionTime: got ""; must be a duration such as "500ms", "5s" or "1m"',
        ]);
        expect(
            parseConfig({ outlierConsecutive5xx: "5", outlierInterval: "1ms", outlierBaseEjectionTime: "15m" })
                .outlierInterval,
        ).toBe("1ms");
    });

    test("namespaces that are never injected", () => {
        expect(problems({ namespace: "kube-system" })).toEqual([
            'namespace: got "kube-system"; must be a namespace Istio injects: its sidecar injector skips kube-system',
        ]);
        expect(problems({ namespace: "istio-system" })).toEqual([
            'namespace: got "istio-system"; must be a namespace of your own: istio-system holds the mesh\'s own components (ASM runs its gateways there)',
        ]);
        expect(problems({ namespace: "kube-flannel" })[0]).toMatch(
            /^namespace: got "kube-flannel"; .*the kube- prefix is reserved/,
        );
        expect(parseConfig({ namespace: "default" }).namespace).toBe("default");
    });

    test("header names Istio rejects in a mesh route (not a token; JWT claims, which need a gateway)", () => {
        for (const name of ["x canary", "x-canary:", "@request.auth.claims.group"]) {
            expect(problems({ canaryHeaderName: name, canaryHeaderValue: "always" })).toEqual([
                `canaryHeaderName: got ${JSON.stringify(name)}; must be a lower-case HTTP header name such as "x-canary", or ""`,
            ]);
        }
    });

    test("service names Kubernetes refuses as Service names", () => {
        expect(problems({ services: '["1hello"]' })).toEqual([
            'services[0]: got "1hello"; must start with a letter (a Kubernetes Service name)',
        ]);
    });
});

test("bad config stops the program before any resource is declared, with every problem in one error", async () => {
    const { error, resources } = await refusedProgram({ canaryWeight: "101", mtlsMode: "ON" });
    expect((error as Error).message).toBe(
        'Invalid stack configuration (2 problems):\n  - canaryWeight: got "101"; must be a whole number from 0 to 100\n' +
            '  - mtlsMode: got "ON"; must be one of PERMISSIVE, STRICT, DISABLE',
    );
    expect(resources).toEqual([]);
});
