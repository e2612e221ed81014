/**
 * Test harness: evaluates the whole program (index.ts) or a single component under Pulumi mocks and
 * records every resource registration (type, name, inputs, provider, direct dependencies) and every
 * invoke. Invokes the program does not make are rejected, so a new data source cannot hide behind an echo.
 */
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import { appendFileSync } from "fs";

export interface Recorded {
    type: string;
    name: string;
    urn: string;
    inputs: Record<string, any>;
    provider: string;
    /** URNs of direct dependencies (dependsOn plus resources whose outputs feed the inputs). */
    dependencies: string[];
    parent: string;
    /** The `protect` option. */
    protect: boolean;
    /** The `ignoreChanges` option. */
    ignoreChanges: string[];
    /** The `retainOnDelete` option. */
    retainOnDelete: boolean;
    /** `customTimeouts.delete` ("" when not set). */
    deleteTimeout: string;
    /** The `aliases` option, as the engine receives them (alias specs; "" = the resource's own value). */
    aliases: AliasSpec[];
}

/**
 * One alias of a registration: a URN, or a spec whose empty name, type, project and stack the engine fills
 * from the resource itself.
 */
export interface AliasSpec {
    urn: string;
    name: string;
    type: string;
    project: string;
    stack: string;
    parent: string;
    noParent: boolean;
}

const REGION = "ap-southeast-1";
const MOCK_ZONES = ["ap-southeast-1a", "ap-southeast-1b", "ap-southeast-1c"];
const MOCK_NAT_ZONES = ["ap-southeast-1b", "ap-southeast-1c"];
/** Zones where the node type can have an ESSD AutoPL (cloud_auto) system disk. */
export const MOCK_AUTOPL_ZONES = ["ap-southeast-1a", "ap-southeast-1c"];
const MOCK_MESH_VERSIONS = ["v1.22.6.28-g8f5ebc7d-aliyun", "v1.24.6.60-ge2d7d9ed-aliyun", "v1.9.7.93-g7e8dcf6f-aliyun"];
/** Mesh features: the ingress CLB's address, the ASM API server's public endpoint, the ARMS instance. */
export const MOCK_INGRESS_ADDRESS = "47.236.20.30";
export const MOCK_MESH_PUBLIC_ENDPOINT = "https://47.236.30.40:6443";
export const MOCK_PROMETHEUS_URL = "https://cn-prometheus.ap-southeast-1.arms.aliyuncs.com/api/v1/prometheus/mock";
export const MOCK_PROMETHEUS_TOKEN = "eyJhbGciOiJIUzI1NiJ9.mock";
export const MOCK_KUBECONFIG =
    "apiVersion: v1\nkind: Config\nclusters:\n- name: mock\n  cluster:\n    server: https://47.0.0.10:6443\n";

function hex(seed: string, n: number): string {
    return createHash("sha256").update(seed).digest("hex").slice(0, n);
}

/** Realistic ids and computed outputs per resource type (shapes from @pulumi/alicloud's typings). */
function mockState(
    type: string,
    name: string,
    inputs: Record<string, any>,
    previousOutputs?: Record<string, unknown>,
): { id: string; state: Record<string, any> } {
    const h = (n: number) => hex(`${type}/${name}`, n);
    switch (type) {
        case "alicloud:vpc/network:Network":
            return { id: `vpc-t4n${h(17)}`, state: {} };
        case "alicloud:vpc/switch:Switch":
            return { id: `vsw-t4n${h(17)}`, state: {} };
        case "alicloud:vpc/natGateway:NatGateway":
            return {
                id: `ngw-t4n${h(17)}`,
                state: { snatTableIds: `stb-t4n${h(17)}`, forwardTableIds: `ftb-t4n${h(17)}` },
            };
        case "alicloud:ecs/eipAddress:EipAddress":
            return { id: `eip-t4n${h(17)}`, state: { ipAddress: "47.236.10.20" } };
        case "alicloud:ecs/eipAssociation:EipAssociation":
            return { id: `eip-t4n${h(17)}:${inputs.instanceId}`, state: {} };
        case "alicloud:vpc/snatEntry:SnatEntry":
            return { id: `${inputs.snatTableId}:snat-${h(17)}`, state: {} };
        case "alicloud:cs/managedKubernetes:ManagedKubernetes":
            return { id: `c${h(32)}`, state: { version: inputs.version ?? "1.33.3-aliyun.1" } };
        case "alicloud:cs/nodePool:NodePool":
            return { id: `${inputs.clusterId}:np${h(32)}`, state: {} };
        case "alicloud:servicemesh/serviceMesh:ServiceMesh":
            return {
                id: h(33),
                state: { kubeconfig: MOCK_KUBECONFIG.replace("47.0.0.10", "192.168.0.5"), status: "running" },
            };
        // --- mesh features ---
        case "alicloud:slb/applicationLoadBalancer:ApplicationLoadBalancer":
            return { id: `lb-t4n${h(17)}`, state: { address: MOCK_INGRESS_ADDRESS } };
        case "alicloud:log/project:Project":
            return { id: inputs.projectName, state: {} };
        case "alicloud:cs/kubernetesAddon:KubernetesAddon":
            return { id: `${inputs.clusterId}:${inputs.name}`, state: { version: "1.1.31" } };
        case "random:index/randomString:RandomString":
            return { id: "k3x9qz", state: { result: "k3x9qz" } };
        case "random:index/randomPassword:RandomPassword":
            return { id: "none", state: { result: "Mock-Pa55word!x" } };
        case "pulumi:pulumi:StackReference":
            // The engine's read of a stack: its outputs at the last successful `up` ({} before the first).
            return { id: inputs.name, state: { outputs: previousOutputs ?? {}, secretOutputNames: [] } };
        default:
            if (type.startsWith("kubernetes:")) {
                const md = inputs.metadata ?? {};
                return { id: md.namespace ? `${md.namespace}/${md.name}` : (md.name ?? name), state: {} };
            }
            return { id: `${name}-id`, state: {} };
    }
}

/** The part of a registration the mock monitor does not pass to newResource: its resource options. */
type RegistrationOptions = Pick<
    Recorded,
    "dependencies" | "parent" | "protect" | "ignoreChanges" | "retainOnDelete" | "deleteTimeout" | "aliases"
>;
const NO_OPTIONS: RegistrationOptions = {
    dependencies: [],
    parent: "",
    protect: false,
    ignoreChanges: [],
    retainOnDelete: false,
    deleteTimeout: "",
    aliases: [],
};

/**
 * The invokes the program makes, answered with realistic shapes (from @pulumi/alicloud types/output.d.ts);
 * an invoke missing here fails the test.
 */
const MOCK_INVOKES: Record<string, (inputs: Record<string, any>) => Record<string, any>> = {
    "alicloud:index/getZones:getZones": () => ({
        ids: MOCK_ZONES,
        zones: MOCK_ZONES.map((id) => ({ id, localName: id })),
    }),
    "alicloud:vpc/getEnhancedNatAvailableZones:getEnhancedNatAvailableZones": () => ({
        ids: MOCK_NAT_ZONES,
        zones: MOCK_NAT_ZONES.map((zoneId) => ({ zoneId, localName: zoneId })),
    }),
    "alicloud:ecs/getInstanceTypes:getInstanceTypes": (inputs) => ({
        id: "mock",
        ids: [inputs.instanceType],
        instanceTypes: [
            {
                id: inputs.instanceType,
                availabilityZones: inputs.systemDiskCategory === "cloud_auto" ? MOCK_AUTOPL_ZONES : MOCK_ZONES,
                cpuCoreCount: 4,
                memorySize: 8,
                family: "ecs.c7",
                eniAmount: 4,
            },
        ],
    }),
    "alicloud:servicemesh/getVersions:getVersions": (inputs) => ({
        ids: MOCK_MESH_VERSIONS.map((v) => `${inputs.edition}:${v}`),
        versions: MOCK_MESH_VERSIONS.map((version) => ({
            edition: inputs.edition,
            id: `${inputs.edition}:${version}`,
            version,
        })),
    }),
    "alicloud:cs/getClusterCredential:getClusterCredential": (inputs) => ({
        id: inputs.clusterId,
        clusterId: inputs.clusterId,
        clusterName: "mock",
        kubeConfig: MOCK_KUBECONFIG,
        expiration: "2029-11-27T00:00:00Z",
        certificateAuthority: {},
    }),
    // --- mesh features: shapes from @pulumi/alicloud types/output.d.ts ---
    "alicloud:servicemesh/getServiceMeshes:getServiceMeshes": (inputs) => ({
        id: "servicemeshes",
        ids: inputs.ids,
        names: ["asm-canary-mesh"],
        meshes: (inputs.ids as string[]).map((id) => ({
            id,
            serviceMeshId: id,
            serviceMeshName: "asm-canary-mesh",
            status: "running",
            kubeConfig: MOCK_KUBECONFIG.replace("47.0.0.10", "192.168.0.5"),
            endpoints: [
                {
                    intranetApiServerEndpoint: "https://192.168.0.5:6443",
                    publicApiServerEndpoint: MOCK_MESH_PUBLIC_ENDPOINT,
                    intranetPilotEndpoint: "",
                    publicPilotEndpoint: "",
                },
            ],
        })),
    }),
    // Two instances in the account: another cluster's, and the stack's (its cluster id is the
    // ManagedKubernetes mock id).
    "alicloud:arms/getPrometheus:getPrometheus": () => ({
        id: "prometheis",
        ids: ["prom-other", "prom-mock"],
        names: ["other", "mock"],
        prometheis: [
            { id: "prom-other", clusterId: "cother", httpApiInterUrl: "https://other", authToken: "x" },
            {
                id: "prom-mock",
                clusterId: `c${hex("alicloud:cs/managedKubernetes:ManagedKubernetes/ack", 32)}`,
                httpApiInterUrl: MOCK_PROMETHEUS_URL,
                authToken: MOCK_PROMETHEUS_TOKEN,
            },
        ],
    }),
};

export class Recorder implements pulumi.runtime.Mocks {
    public readonly resources: Recorded[] = [];
    public readonly invokes: { token: string; inputs: Record<string, any> }[] = [];
    /** What the monitor saw of each registration's options, until the mock creates the resource. */
    private readonly pending = new Map<string, RegistrationOptions>();

    /** `previousOutputs`: what a StackReference (the program's read of its own stack) returns as outputs. */
    constructor(private readonly previousOutputs?: Record<string, unknown>) {}

    newResource(args: pulumi.runtime.MockResourceArgs): { id: string | undefined; state: Record<string, any> } {
        const { id, state } = mockState(args.type, args.name, args.inputs, this.previousOutputs);
        const meta = this.pending.get(`${args.type}::${args.name}`) ?? NO_OPTIONS;
        this.resources.push({
            type: args.type,
            name: args.name,
            urn: "",
            inputs: args.inputs,
            provider: args.provider ?? "",
            ...meta,
        });
        return { id, state: { ...args.inputs, ...state } };
    }

    call(args: pulumi.runtime.MockCallArgs): Record<string, any> {
        this.invokes.push({ token: args.token, inputs: args.inputs });
        const answer = MOCK_INVOKES[args.token];
        if (!answer) {
            throw new Error(`unexpected invoke ${args.token} in tests: add a realistic mock for it`);
        }
        return answer(args.inputs);
    }

    /** Hooks the mock monitor so each registration also records its dependencies and parent. */
    attach(): void {
        const monitor = pulumi.runtime.getMonitor() as any;
        const original = monitor.registerResource.bind(monitor);
        monitor.registerResource = (req: any, callback: any) => {
            this.pending.set(`${req.getType()}::${req.getName()}`, {
                dependencies: req.getDependenciesList(),
                parent: req.getParent(),
                protect: req.getProtect() === true,
                ignoreChanges: req.getIgnorechangesList(),
                retainOnDelete: req.getRetainondelete() === true,
                deleteTimeout: req.getCustomtimeouts()?.getDelete() ?? "",
                aliases: (req.getAliasesList() as any[]).map((a) => {
                    const spec = a.getSpec();
                    return {
                        urn: a.getUrn(),
                        name: spec?.getName() ?? "",
                        type: spec?.getType() ?? "",
                        project: spec?.getProject() ?? "",
                        stack: spec?.getStack() ?? "",
                        parent: spec?.getParenturn() ?? "",
                        noParent: spec?.getNoparent() ?? false,
                    };
                }),
            });
            original(req, (err: any, resp: any) => {
                if (!err && resp) {
                    const rec = [...this.resources]
                        .reverse()
                        .find((r) => r.type === req.getType() && r.name === req.getName());
                    if (rec) {
                        rec.urn = resp.getUrn();
                    }
                }
                callback(err, resp);
            });
        };
    }
}

export interface MockOptions {
    preview?: boolean;
    secretKeys?: string[];
    /** The stack's outputs from its last `up`, as its StackReference to itself reads them (default: none). */
    previousOutputs?: Record<string, unknown>;
}

/** A config key as Pulumi stores it: this project's keys without a prefix, others ("alicloud:…") as given. */
const fullKey = (k: string) => (k.includes(":") ? k : `asm-canary:${k}`);

/** Installs fresh mocks and config (keys without the project prefix). */
export async function installMocks(config: Record<string, string> = {}, opts: MockOptions = {}): Promise<Recorder> {
    const rec = new Recorder(opts.previousOutputs);
    await pulumi.runtime.setMocks(rec, "asm-canary", "dev", opts.preview ?? false, "organization");
    rec.attach();
    const full: Record<string, string> = {};
    for (const [k, v] of Object.entries(config)) {
        full[fullKey(k)] = v;
    }
    pulumi.runtime.setAllConfig(full, (opts.secretKeys ?? []).map(fullKey));
    return rec;
}

/** Waits until every pending resource registration has finished (runtime.waitForRPCs is @internal). */
export async function settle(): Promise<void> {
    await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
}

export interface ProgramRun {
    resources: Recorded[];
    invokes: { token: string; inputs: Record<string, any> }[];
    outputs: Record<string, unknown>;
    secretOutputs: string[];
}

/** Resolves an Output (or plain value) to its value and secretness. */
export async function resolve<T>(
    value: pulumi.Input<T> | undefined,
): Promise<{ value: T | undefined; secret: boolean }> {
    if (!pulumi.Output.isInstance(value)) {
        return { value: value as T | undefined, secret: false };
    }
    const out = value as pulumi.Output<T>;
    const [v, secret] = await Promise.all([new Promise<T>((r) => out.apply((x) => r(x))), pulumi.isSecret(out)]);
    return { value: v, secret };
}

/**
 * Set by bench/tests.ts (`npm run bench:tests`): every whole-program evaluation appends its test file's
 * path to this file, so the benchmark can count them.
 */
const EVALUATION_LOG = process.env.ASM_CANARY_EVALUATION_LOG;

function countEvaluation(): void {
    if (EVALUATION_LOG) {
        appendFileSync(EVALUATION_LOG, `${expect.getState().testPath}\n`);
    }
}

/** What index.ts exports: the program, an async function, as the Pulumi language host runs it. */
type Program = () => Promise<Record<string, unknown>>;

/**
 * The program, loaded once per test file: index.ts declares nothing when imported (it reads its config
 * when the function runs), so every evaluation is a call of the same function under fresh mocks and config.
 */
export function program(): Program {
    return require("../../index") as Program;
}

/** Evaluates the program with the given config and waits until every registration is done. */
export async function runProgram(config: Record<string, string>, opts: MockOptions = {}): Promise<ProgramRun> {
    countEvaluation();
    const rec = await installMocks(config, opts);
    return failingAsPulumiDoes(async () => {
        const mod = await program()();
        const outputs: Record<string, unknown> = {};
        const secretOutputs: string[] = [];
        for (const [k, v] of Object.entries(mod)) {
            const r = await resolve(v);
            outputs[k] = r.value;
            if (r.secret) {
                secretOutputs.push(k);
            }
        }
        return { resources: rec.resources, invokes: rec.invokes, outputs, secretOutputs };
    });
}

/**
 * Runs an evaluation and waits for its RPCs; fails with the evaluation's error or, as Pulumi's own runtime
 * does (it reports a promise rejected in an apply nobody awaits as the program's error), with the first
 * rejection that escaped. A refusal thrown in an apply (a look-up's answer checked) reaches every resource
 * built on that Output: without this, those copies outlive the test and kill the test worker.
 */
async function failingAsPulumiDoes<T>(evaluate: () => Promise<T>): Promise<T> {
    const escaped: unknown[] = [];
    let reportEscape = () => {};
    const firstEscape = new Promise<void>((resolve) => (reportEscape = resolve));
    const onRejection = (e: unknown) => {
        escaped.push(e);
        reportEscape();
    };
    process.on("unhandledRejection", onRejection);
    const evaluation = evaluate().then((value) => ({ value }));
    // Whatever it does after an escape is not waited for, and must not escape itself once the listener is gone.
    evaluation.catch(() => {});
    let result: { value: T } | { error: unknown } | undefined;
    try {
        // An Output whose apply threw never resolves: the escaped rejection ends the wait instead.
        result = await Promise.race([evaluation, firstEscape.then(() => undefined)]);
    } catch (error) {
        result = { error };
    }
    try {
        // The same for the RPCs: one stuck behind the rejected value would keep settle() waiting forever,
        // so after an escape the rest gets a bounded time to drain.
        await Promise.race([settle(), firstEscape]);
        if (escaped.length > 0) {
            await within(settle(), 5000);
        }
    } catch (error) {
        escaped.push(error);
    }
    // One more turn, so rejections of the last RPCs are reported before the listener goes.
    await new Promise((r) => setImmediate(r));
    process.off("unhandledRejection", onRejection);
    if (result && "error" in result) {
        throw result.error;
    }
    if (escaped.length > 0 || result === undefined) {
        throw escaped[0];
    }
    return result.value;
}

/** Waits for `p`, or at most `ms`. */
async function within(p: Promise<unknown>, ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([p, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
}

/**
 * Evaluates the program expecting it to refuse the config: returns the error and what was registered
 * (and invoked) before the refusal.
 */
export async function refusedProgram(
    config: Record<string, string>,
    opts: MockOptions = {},
): Promise<{ error: unknown; resources: Recorded[]; invokes: ProgramRun["invokes"] }> {
    countEvaluation();
    const rec = await installMocks(config, opts);
    let error: unknown;
    try {
        await program()();
    } catch (e) {
        error = e;
    }
    await settle();
    if (error === undefined) {
        throw new Error("the program accepted a config the test expects it to refuse");
    }
    return { error, resources: rec.resources, invokes: rec.invokes };
}

export function byType(resources: Recorded[], type: string): Recorded[] {
    return resources.filter((r) => r.type === type);
}

export function one(resources: Recorded[], type: string, name?: string): Recorded {
    const found = resources.filter((r) => r.type === type && (name === undefined || r.name === name));
    if (found.length !== 1) {
        throw new Error(
            `expected one ${type}${name ? ` named ${name}` : ""}, found ${found.length}: ${found.map((r) => r.name).join(", ")}`,
        );
    }
    return found[0];
}

/** Config of a create-mode stack (what Pulumi.dev.yaml sets, minus the defaults). */
export const CREATE_CONFIG: Record<string, string> = { region: REGION };
/** Config of a brownfield stack rendering YAML (no cloud, no cluster). */
export const EXISTING_CONFIG: Record<string, string> = {
    mode: "existing",
    renderYamlDirectory: "/tmp/asm-canary-render",
};

export const ISTIO = {
    vs: "kubernetes:networking.istio.io/v1beta1:VirtualService",
    dr: "kubernetes:networking.istio.io/v1beta1:DestinationRule",
    pa: "kubernetes:security.istio.io/v1beta1:PeerAuthentication",
    ap: "kubernetes:security.istio.io/v1beta1:AuthorizationPolicy",
};
/** Types of the mesh features' objects. */
export const FEATURE = {
    gateway: "kubernetes:networking.istio.io/v1beta1:Gateway",
    serviceEntry: "kubernetes:networking.istio.io/v1beta1:ServiceEntry",
    telemetry: "kubernetes:telemetry.istio.io/v1alpha1:Telemetry",
    istioGateway: "kubernetes:istio.alibabacloud.com/v1beta1:IstioGateway",
    clb: "alicloud:slb/applicationLoadBalancer:ApplicationLoadBalancer",
    sls: "alicloud:log/project:Project",
    addon: "alicloud:cs/kubernetesAddon:KubernetesAddon",
    mesh: "alicloud:servicemesh/serviceMesh:ServiceMesh",
};

const SECRET_SIG = "4dabf18193072939515e22adb298388d";
/** True if a recorded input value arrived as a Pulumi secret. */
export function isSecretInput(v: unknown): boolean {
    return typeof v === "object" && v !== null && SECRET_SIG in v;
}
/** The plain value of a recorded input (secret or not). */
export function plain<T = unknown>(v: unknown): T {
    return (isSecretInput(v) ? (v as { value: T }).value : v) as T;
}
/** The recorded resource with this URN. */
function byUrn(resources: Recorded[], urn: string): Recorded {
    const r = resources.find((x) => x.urn === urn);
    if (!r) {
        throw new Error(`no resource with URN ${urn}`);
    }
    return r;
}
/** "type::name" of each direct dependency, for readable assertions. */
export function depsOf(resources: Recorded[], r: Recorded): string[] {
    return r.dependencies.map((u) => {
        const d = byUrn(resources, u);
        return `${d.type}::${d.name}`;
    });
}
/** URNs of everything `r` waits for: its dependencies, theirs, and so on. */
export function dependencyClosure(resources: Recorded[], r: Recorded): Set<string> {
    const seen = new Set<string>();
    const todo = [...r.dependencies];
    while (todo.length > 0) {
        const urn = todo.pop() as string;
        if (!seen.has(urn)) {
            seen.add(urn);
            todo.push(...(resources.find((x) => x.urn === urn)?.dependencies ?? []));
        }
    }
    return seen;
}
