/**
 * Change safety: evaluate the whole program twice with two configs and compare every resource's inputs.
 * A config change must alter exactly the object it is about; a changed name would be a replacement.
 */
import { CREATE_CONFIG, EXISTING_CONFIG, ISTIO, runProgram } from "../support/harness";

type Snapshot = Map<string, string>;

async function snapshot(config: Record<string, string>): Promise<Snapshot> {
    const run = await runProgram(config);
    return new Map(
        run.resources.map((r) => [
            `${r.type}::${r.name}`,
            JSON.stringify({ inputs: r.inputs, provider: r.provider, parent: r.parent }),
        ]),
    );
}

function changed(a: Snapshot, b: Snapshot): { added: string[]; removed: string[]; altered: string[] } {
    return {
        added: [...b.keys()].filter((k) => !a.has(k)),
        removed: [...a.keys()].filter((k) => !b.has(k)),
        altered: [...a.keys()].filter((k) => b.has(k) && a.get(k) !== b.get(k)),
    };
}

describe.each([
    ["create", CREATE_CONFIG],
    ["existing", EXISTING_CONFIG],
])("mode %s", (_mode, base) => {
    test.each([
        ["10", "50"],
        ["50", "100"],
        ["100", "0"],
    ])("canaryWeight %s -> %s alters the VirtualService and nothing else", async (from, to) => {
        const a = await snapshot({ ...base, canaryWeight: from });
        const b = await snapshot({ ...base, canaryWeight: to });
        expect(a.size).toBeGreaterThan(10);
        expect(changed(a, b)).toEqual({ added: [], removed: [], altered: [`${ISTIO.vs}::route-hello-vs`] });
    });

    test.each([
        ["PERMISSIVE", "STRICT"],
        ["STRICT", "DISABLE"],
    ])("mtlsMode %s -> %s alters the PeerAuthentication and nothing else", async (from, to) => {
        const a = await snapshot({ ...base, mtlsMode: from, canaryWeight: "10" });
        const b = await snapshot({ ...base, mtlsMode: to, canaryWeight: "10" });
        expect(changed(a, b)).toEqual({ added: [], removed: [], altered: [`${ISTIO.pa}::security-peer-auth`] });
    });

    test("turning the AuthorizationPolicy on only adds it", async () => {
        const a = await snapshot(base);
        const b = await snapshot({ ...base, authorizationPolicy: "true" });
        expect(changed(a, b)).toEqual({ added: [`${ISTIO.ap}::security-hello-authz`], removed: [], altered: [] });
    });
});
