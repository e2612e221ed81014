/**
 * Change safety: each rollout step is a config change, and it must alter exactly the object it is about.
 * The whole program is evaluated once per change and compared, resource by resource (inputs, provider,
 * parent), with one base evaluation; a changed name would be a replacement. Create mode, so the cloud
 * foundation is in the comparison too; the mesh layer is the same in brownfield mode (brownfield.test.ts)
 * and every weight from 0 to 100 leaves the DestinationRule alone (canaryRouting.test.ts).
 */
import { CREATE_CONFIG, ISTIO, runProgram } from "../support/harness";

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

const BASE = { ...CREATE_CONFIG, canaryWeight: "10", mtlsMode: "PERMISSIVE" };
let base: Snapshot;
beforeAll(async () => {
    base = await snapshot(BASE);
});

test("the comparison covers the whole program: cloud foundation and mesh layer", () => {
    const types = [...base.keys()].map((k) => k.split(":")[0]);
    expect(types.filter((t) => t === "alicloud").length).toBeGreaterThan(10);
    expect(types.filter((t) => t === "kubernetes").length).toBeGreaterThan(10);
});

test("canaryWeight 10 -> 50 alters the VirtualService and nothing else", async () => {
    const after = await snapshot({ ...BASE, canaryWeight: "50" });
    expect(changed(base, after)).toEqual({ added: [], removed: [], altered: [`${ISTIO.vs}::route-hello-vs`] });
});

test("mtlsMode PERMISSIVE -> STRICT alters the PeerAuthentication and nothing else", async () => {
    const after = await snapshot({ ...BASE, mtlsMode: "STRICT" });
    expect(changed(base, after)).toEqual({ added: [], removed: [], altered: [`${ISTIO.pa}::security-peer-auth`] });
});

test("turning the AuthorizationPolicy on only adds it", async () => {
    const after = await snapshot({ ...BASE, authorizationPolicy: "true" });
    expect(changed(base, after)).toEqual({ added: [`${ISTIO.ap}::security-hello-authz`], removed: [], altered: [] });
});
