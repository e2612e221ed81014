/**
 * AlibabaFoundation wraps what index.ts declared at the stack's root before it was thinned. Existing stacks
 * hold those resources under root URNs (and, from before the layer split, under the old type tokens): each
 * direct child must carry aliases that resolve to them, or `pulumi up` would delete and re-create the VPC,
 * the cluster and the mesh. The engine resolves a `noParent` alias spec at the stack's root; the old URNs
 * are written out below.
 */
import { CREATE_CONFIG, Recorded, runProgram } from "../../support/harness";

const PARENT = "urn:pulumi:dev::asm-canary::asm-canary:foundation:AlibabaFoundation::alibaba";

/** The URN each alias names, as the engine resolves it for a resource of this project and stack. */
function aliasUrns(r: Recorded): string[] {
    return r.aliases.map((a) => {
        expect({ urn: a.urn, name: a.name, project: a.project, stack: a.stack }).toEqual({
            urn: "",
            name: "",
            project: "",
            stack: "",
        });
        const type = a.type || r.type;
        if (a.noParent) {
            return `urn:pulumi:dev::asm-canary::${type}::${r.name}`;
        }
        const parentType = a.parent.split("::")[2];
        return `urn:pulumi:dev::asm-canary::${parentType}$${type}::${r.name}`;
    });
}

let children: Recorded[];
beforeAll(async () => {
    const run = await runProgram(CREATE_CONFIG);
    const foundation = run.resources.filter((r) => r.type === "asm-canary:foundation:AlibabaFoundation");
    // At the stack's root: its URN has no parent type in it.
    expect(foundation.map((f) => f.urn)).toEqual([PARENT]);
    children = run.resources.filter((r) => r.parent === PARENT);
});

test("its direct children are the provider and the three layers of the foundation", () => {
    expect(children.map((c) => c.urn).sort()).toEqual([
        `urn:pulumi:dev::asm-canary::asm-canary:foundation:AlibabaFoundation$asm-canary:foundation:AckCluster::ack`,
        `urn:pulumi:dev::asm-canary::asm-canary:foundation:AlibabaFoundation$asm-canary:foundation:AsmMesh::asm`,
        `urn:pulumi:dev::asm-canary::asm-canary:foundation:AlibabaFoundation$asm-canary:foundation:Network::network`,
        `urn:pulumi:dev::asm-canary::asm-canary:foundation:AlibabaFoundation$pulumi:providers:alicloud::alicloud`,
    ]);
});

test.each([
    ["network", ["asm-canary:foundation:Network", "asmcanary:network:Network"]],
    ["ack", ["asm-canary:foundation:AckCluster", "asmcanary:cluster:AckCluster"]],
    ["asm", ["asm-canary:foundation:AsmMesh", "asmcanary:mesh:AsmMesh"]],
    ["alicloud", ["pulumi:providers:alicloud"]],
])("%s keeps the root URN it had under every type token it was recorded with", (name, types) => {
    const child = children.find((c) => c.name === name);
    expect(child).toBeDefined();
    const urns = aliasUrns(child!);
    for (const type of types) {
        expect(urns).toContain(`urn:pulumi:dev::asm-canary::${type}::${name}`);
    }
});

test("with accessLogs and ingressGateway on, the features' components keep their root URNs too", async () => {
    const run = await runProgram({
        ...CREATE_CONFIG,
        accessLogs: "true",
        manageMeshConfig: "true",
        ingressGateway: "true",
        meshApiServerPublic: "true",
    });
    const byName = (n: string) => run.resources.find((r) => r.parent === PARENT && r.name === n);
    const observability = byName("observability");
    const ingress = byName("asm-ingress");
    expect(observability && ingress).toBeDefined();
    expect(aliasUrns(observability!)).toContain(
        "urn:pulumi:dev::asm-canary::asm-canary:foundation:MeshObservability::observability",
    );
    expect(aliasUrns(ingress!)).toContain(
        "urn:pulumi:dev::asm-canary::asm-canary:foundation:AsmIngressGateway::asm-ingress",
    );
});
