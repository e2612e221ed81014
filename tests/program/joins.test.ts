/**
 * The joins between objects, checked on what the program declares: which pods each selector picks.
 * A label typo in any one object type passes every per-object test and still breaks traffic (a subset
 * that selects no pod gives 503s; a Service that misses a version starves it), so these tests evaluate
 * selectors against the pods the Deployments create. Expectations are literal: two services, 30% to the
 * canary, so a swapped pair of weights cannot pass.
 */
import { byType, EXISTING_CONFIG, ISTIO, one, Recorded, runProgram } from "../support/harness";

const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const SERVICE = "kubernetes:core/v1:Service";
const SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount";

type Labels = Record<string, string>;

/** A label selector (equality-based, as Services, subsets and policy selectors use) matches these labels. */
function selects(selector: Labels, labels: Labels): boolean {
    return Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
}

interface PodTemplate {
    deployment: string;
    namespace: string;
    labels: Labels;
    serviceAccount: string;
    ports: number[];
}

let run: Awaited<ReturnType<typeof runProgram>>;
let pods: PodTemplate[];

/** The Deployments (by name) whose pods `selector` picks in the namespace, sorted. */
function selected(selector: Labels, namespace: string, among: PodTemplate[] = pods): string[] {
    return among
        .filter((p) => p.namespace === namespace && selects(selector, p.labels))
        .map((p) => p.deployment)
        .sort();
}

function named(type: string, name: string): Recorded {
    const found = byType(run.resources, type).filter((r) => r.inputs.metadata.name === name);
    expect(found).toHaveLength(1);
    return found[0];
}

beforeAll(async () => {
    run = await runProgram({
        ...EXISTING_CONFIG,
        services: '["hello","billing"]',
        canaryWeight: "30",
        mtlsMode: "STRICT",
        authorizationPolicy: "true",
        canaryHeaderName: "x-canary",
        canaryHeaderValue: "always",
        routeTimeout: "3s",
        retryAttempts: "2",
        retryPerTryTimeout: "1s",
        retryOn: "5xx,reset",
        outlierConsecutive5xx: "5",
    });
    pods = byType(run.resources, DEPLOYMENT).map((d) => ({
        deployment: d.inputs.metadata.name,
        namespace: d.inputs.metadata.namespace,
        labels: d.inputs.spec.template.metadata.labels,
        serviceAccount: d.inputs.spec.template.spec.serviceAccountName,
        ports: d.inputs.spec.template.spec.containers.flatMap((c: { ports?: { containerPort: number }[] }) =>
            (c.ports ?? []).map((p) => p.containerPort),
        ),
    }));
});

test("the program declares the pods these joins are about", () => {
    expect(pods.map((p) => p.deployment).sort()).toEqual(["billing-v1", "billing-v2", "curl", "hello-v1", "hello-v2"]);
    // A Deployment's selector must pick its own pod template, or the API server refuses it.
    for (const d of byType(run.resources, DEPLOYMENT)) {
        expect(selects(d.inputs.spec.selector.matchLabels, d.inputs.spec.template.metadata.labels)).toBe(true);
    }
});

describe.each(["hello", "billing"])("service %s", (svc) => {
    test("its Service selects the pods of both versions and no other pod (not the client's)", () => {
        const service = named(SERVICE, svc);
        expect(selected(service.inputs.spec.selector, "canary-demo")).toEqual([`${svc}-v1`, `${svc}-v2`]);
    });

    test("its Service sends traffic to a port the pods listen on", () => {
        const targetPort = named(SERVICE, svc).inputs.spec.ports[0].targetPort;
        for (const p of pods.filter((x) => x.deployment.startsWith(`${svc}-`))) {
            expect(p.ports).toContain(targetPort);
        }
    });

    test("each DestinationRule subset selects, among the Service's pods, the pods of exactly one Deployment", () => {
        const dr = named(ISTIO.dr, svc);
        expect(dr.inputs.spec.host).toBe(svc);
        const servicePods = pods.filter((p) =>
            selected(named(SERVICE, svc).inputs.spec.selector, "canary-demo").includes(p.deployment),
        );
        const bySubset = Object.fromEntries(
            dr.inputs.spec.subsets.map((s: { name: string; labels: Labels }) => [
                s.name,
                selected(s.labels, "canary-demo", servicePods),
            ]),
        );
        expect(bySubset).toEqual({ v1: [`${svc}-v1`], v2: [`${svc}-v2`] });
    });

    test("the VirtualService splits 70/30 between subsets its DestinationRule defines; the header goes to v2", () => {
        const vs = named(ISTIO.vs, svc);
        expect(vs.inputs.spec.hosts).toEqual([svc]);
        const [override, weighted] = vs.inputs.spec.http;
        expect(weighted.route).toEqual([
            { destination: { host: svc, subset: "v1" }, weight: 70 },
            { destination: { host: svc, subset: "v2" }, weight: 30 },
        ]);
        expect(override.route).toEqual([{ destination: { host: svc, subset: "v2" }, weight: 100 }]);
        const subsets = named(ISTIO.dr, svc).inputs.spec.subsets.map((s: { name: string }) => s.name);
        for (const route of vs.inputs.spec.http) {
            for (const r of route.route) {
                expect(subsets).toContain(r.destination.subset);
            }
        }
    });

    test("its AuthorizationPolicy selects exactly the Service's pods and admits only the client's identity", () => {
        const ap = named(ISTIO.ap, `${svc}-allow-client`);
        expect(selected(ap.inputs.spec.selector.matchLabels, "canary-demo")).toEqual([`${svc}-v1`, `${svc}-v2`]);
        expect(ap.inputs.spec.rules).toEqual([{ from: [{ source: { principals: ["*/ns/canary-demo/sa/curl"] } }] }]);
    });
});

test("the admitted principal is the identity the client's pods run as, and that ServiceAccount exists", () => {
    const client = pods.find((p) => p.deployment === "curl");
    expect(client?.serviceAccount).toBe("curl");
    const accounts = byType(run.resources, SERVICE_ACCOUNT).map((s) => s.inputs.metadata.name);
    for (const p of pods) {
        expect(accounts).toContain(p.serviceAccount);
    }
});

test("the weights output is the route's weights: { v1: 70, v2: 30 }", () => {
    expect(run.outputs.weights).toEqual({ v1: 70, v2: 30 });
});

test("every Istio object passes the upstream schema's validation as declared", async () => {
    const { DestinationRule, VirtualService } = await import("@kubernetes-models/istio/networking.istio.io/v1beta1");
    const { AuthorizationPolicy, PeerAuthentication } =
        await import("@kubernetes-models/istio/security.istio.io/v1beta1");
    const models: Record<string, new (data: any) => { validate(): void }> = {
        DestinationRule,
        VirtualService,
        AuthorizationPolicy,
        PeerAuthentication,
    };
    const istio = run.resources.filter((r) => /istio\.io/.test(r.type));
    expect(istio.map((r) => r.inputs.kind).sort()).toEqual([
        "AuthorizationPolicy",
        "AuthorizationPolicy",
        "DestinationRule",
        "DestinationRule",
        "PeerAuthentication",
        "VirtualService",
        "VirtualService",
    ]);
    for (const r of istio) {
        const { apiVersion: _apiVersion, ...data } = r.inputs;
        expect(() => new models[r.inputs.kind](data).validate()).not.toThrow();
    }
});

test("every object lives in the sidecar-injected namespace", () => {
    const ns = one(run.resources, "kubernetes:core/v1:Namespace").inputs.metadata;
    expect(ns).toEqual({ name: "canary-demo", labels: { "istio-injection": "enabled" } });
    for (const r of run.resources.filter((x) => x.type.startsWith("kubernetes:") && x.inputs.metadata?.namespace)) {
        expect(r.inputs.metadata.namespace).toBe("canary-demo");
    }
});
