/**
 * istioApiVersion changes the type token of every Istio object; the aliases make the engine find each
 * object's state under the other version's token, so that it updates the object in place instead of
 * creating it again and then deleting it (one stored object in the API server: the delete would remove
 * it). Here: each alias, resolved the way the engine resolves an alias spec (same name and parent, the
 * alias's type), is exactly the URN the same object has when the program runs at the other version.
 * tests/live proves the in-place update against a live API server.
 */
import * as pulumi from "@pulumi/pulumi";
import { otherVersionAliases } from "../../../components/mesh/istioResource";
import { EXISTING_CONFIG, installMocks, settle } from "../../support/harness";

/** Prod-like: every Istio kind the program creates, for two services. */
const CONFIG = { ...EXISTING_CONFIG, authorizationPolicy: "true", services: '["hello","world"]' };

interface Registered {
    urn: string;
    type: string;
    parent: string;
    aliases: { name: string; type: string; project: string; stack: string; parent: string; noParent: boolean }[];
}

/** Evaluates the program at `istioApiVersion` and returns its Istio objects, by resource name. */
async function istioObjects(istioApiVersion: string): Promise<Map<string, Registered>> {
    await installMocks({ ...CONFIG, istioApiVersion });
    const found = new Map<string, Registered>();
    const monitor = pulumi.runtime.getMonitor() as any;
    const original = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, callback: any) => {
        original(req, (err: any, resp: any) => {
            const type: string = req.getType();
            if (!err && /^kubernetes:[a-z.]+\.istio\.io\//.test(type)) {
                found.set(req.getName(), {
                    urn: resp.getUrn(),
                    type,
                    parent: req.getParent(),
                    aliases: (req.getAliasesList() as any[]).map((a) => {
                        const spec = a.getSpec();
                        return {
                            name: spec.getName(),
                            type: spec.getType(),
                            project: spec.getProject(),
                            stack: spec.getStack(),
                            parent: spec.getParenturn(),
                            noParent: spec.getNoparent(),
                        };
                    }),
                });
            }
            callback(err, resp);
        });
    };
    jest.isolateModules(() => {
        require("../../../index");
    });
    await settle();
    return found;
}

/** The URN an alias spec names, resolved as the engine does: unset name, project, stack and parent are the resource's own. */
function aliasUrn(r: Registered, alias: Registered["aliases"][number]): string {
    // Only the type may differ: another name, project, stack or parent would be another object.
    expect({ ...alias, type: "" }).toEqual({
        name: "",
        type: "",
        project: "",
        stack: "",
        parent: r.parent,
        noParent: false,
    });
    return r.urn.replace(`$${r.type}::`, `$${alias.type}::`);
}

test("otherVersionAliases: the same kind under each other API version the program supports", () => {
    expect(otherVersionAliases("networking.istio.io/v1beta1", "VirtualService")).toEqual([
        { type: "kubernetes:networking.istio.io/v1:VirtualService" },
    ]);
    expect(otherVersionAliases("security.istio.io/v1", "AuthorizationPolicy")).toEqual([
        { type: "kubernetes:security.istio.io/v1beta1:AuthorizationPolicy" },
    ]);
});

test.each([
    ["v1beta1", "v1"],
    ["v1", "v1beta1"],
])(
    "istioApiVersion %s -> %s: every Istio object's alias is its URN at the old version, so the engine updates it in place",
    async (from, to) => {
        const before = await istioObjects(from);
        const after = await istioObjects(to);
        expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
        expect([...after.keys()].sort()).toEqual([
            "route-hello-dr",
            "route-hello-vs",
            "route-world-dr",
            "route-world-vs",
            "security-hello-authz",
            "security-peer-auth",
            "security-world-authz",
        ]);
        for (const [name, now] of after) {
            const old = before.get(name)!;
            expect(now.type).toBe(old.type.replace(`.istio.io/${from}:`, `.istio.io/${to}:`));
            expect(now.urn).not.toBe(old.urn);
            expect(now.aliases.map((a) => aliasUrn(now, a))).toEqual([old.urn]);
        }
    },
);
