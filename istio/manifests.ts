/**
 * Istio manifests built on @kubernetes-models/istio, whose types and JSON schemas are generated from the
 * upstream Istio CRDs (Istio 1.18 for the 2.3.x line, the last one that ships CommonJS). In a preview every
 * manifest is validated against that schema before it reaches Pulumi, so a malformed spec fails `pulumi preview`.
 *
 * API versions: networking.istio.io/v1beta1 and security.istio.io/v1beta1 are served by every ASM 1.2x;
 * the v1 APIs need Istio >= 1.22 (https://istio.io/latest/blog/2024/v1-apis/), so v1beta1 is the default
 * and v1 is opt-in (config istioApiVersion). The specs of the two versions are identical.
 */
import * as pulumi from "@pulumi/pulumi";
import {
    DestinationRule,
    Gateway,
    IDestinationRule,
    IGateway,
    IServiceEntry,
    IVirtualService,
    ServiceEntry,
    VirtualService,
} from "@kubernetes-models/istio/networking.istio.io/v1beta1";
import {
    AuthorizationPolicy,
    IAuthorizationPolicy,
    IPeerAuthentication,
    PeerAuthentication,
} from "@kubernetes-models/istio/security.istio.io/v1beta1";
import { ITelemetry, Telemetry } from "@kubernetes-models/istio/telemetry.istio.io/v1alpha1";

/** API versions (the allowed values of istioApiVersion) of the Istio objects: v1beta1 is served by every ASM 1.2x, v1 needs Istio >= 1.22. */
export const ISTIO_API_VERSIONS = ["v1beta1", "v1"] as const;
export type IstioApiVersion = (typeof ISTIO_API_VERSIONS)[number];
/** PeerAuthentication mTLS modes (the allowed values of mtlsMode). */
export const MTLS_MODES = ["PERMISSIVE", "STRICT", "DISABLE"] as const;
export type MtlsMode = (typeof MTLS_MODES)[number];

export type VirtualServiceSpec = NonNullable<IVirtualService["spec"]>;
export type DestinationRuleSpec = NonNullable<IDestinationRule["spec"]>;
export type PeerAuthenticationSpec = NonNullable<IPeerAuthentication["spec"]>;
export type AuthorizationPolicySpec = NonNullable<IAuthorizationPolicy["spec"]>;
export type GatewaySpec = NonNullable<IGateway["spec"]>;
export type ServiceEntrySpec = NonNullable<IServiceEntry["spec"]>;
export type TelemetrySpec = NonNullable<ITelemetry["spec"]>;

export interface Manifest<S> {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace: string; labels?: Record<string, string> };
    spec: S;
}

/**
 * The API version a kind is served at for the configured istioApiVersion. telemetry.istio.io has no
 * v1beta1: its v1alpha1 is served by every Istio (and ASM) 1.2x, its v1 from Istio 1.22, as for the other
 * groups (istio/istio manifests/charts/base/crds/crd-all.gen.yaml at tags 1.21.0 and 1.22.0).
 */
const telemetryVersion = (v: IstioApiVersion) => (v === "v1" ? "v1" : "v1alpha1");

/**
 * Every Istio kind the program creates: its API group, the resource name the API server lists it under in
 * discovery (`GET /apis/<group>/<version>`), and the schema model. `always` marks the kinds every stack
 * creates: the mesh readiness gate waits for exactly those, so that turning an optional feature on or off
 * never changes (and re-runs) the gate; the optional kinds share their groups except Telemetry.
 */
const models = {
    VirtualService: { group: "networking.istio.io", plural: "virtualservices", always: true, model: VirtualService },
    DestinationRule: { group: "networking.istio.io", plural: "destinationrules", always: true, model: DestinationRule },
    PeerAuthentication: {
        group: "security.istio.io",
        plural: "peerauthentications",
        always: true,
        model: PeerAuthentication,
    },
    AuthorizationPolicy: {
        group: "security.istio.io",
        plural: "authorizationpolicies",
        always: true,
        model: AuthorizationPolicy,
    },
    // --- ingress gateway, egress allow-list, access logging ---
    Gateway: { group: "networking.istio.io", plural: "gateways", always: false, model: Gateway },
    ServiceEntry: { group: "networking.istio.io", plural: "serviceentries", always: false, model: ServiceEntry },
    Telemetry: { group: "telemetry.istio.io", plural: "telemetries", always: false, model: Telemetry },
} as const;

/** An API resource the mesh layer creates objects of, as the API server's discovery names it. */
export interface IstioApi {
    group: string;
    version: IstioApiVersion;
    kind: string;
    plural: string;
}

/** The Istio APIs every stack uses, at this API version: what the readiness gate waits for. */
export function istioApis(apiVersion: IstioApiVersion): IstioApi[] {
    return Object.entries(models)
        .filter(([, m]) => m.always)
        .map(([kind, { group, plural }]) => ({ group, version: apiVersion, kind, plural }));
}

type Kind = keyof typeof models;
/** Kinds whose group is served at other versions than the configured one. */
const versionOf: Partial<Record<Kind, (v: IstioApiVersion) => string>> = { Telemetry: telemetryVersion };
interface Specs {
    VirtualService: VirtualServiceSpec;
    DestinationRule: DestinationRuleSpec;
    PeerAuthentication: PeerAuthenticationSpec;
    AuthorizationPolicy: AuthorizationPolicySpec;
    Gateway: GatewaySpec;
    ServiceEntry: ServiceEntrySpec;
    Telemetry: TelemetrySpec;
}
type SpecOf<K extends Kind> = Specs[K];

/** The `apiVersion` (`<group>/<version>`) a kind's manifests carry for the configured istioApiVersion. */
function apiVersionOf(kind: Kind, apiVersion: IstioApiVersion): string {
    const version = versionOf[kind];
    return `${models[kind].group}/${version ? version(apiVersion) : apiVersion}`;
}

/**
 * Every `apiVersion` a kind's manifests can carry, one per istioApiVersion value (Telemetry:
 * telemetry.istio.io/v1alpha1 and /v1). Throws for a kind the program does not create.
 */
export function istioApiVersionsOf(kind: string): string[] {
    if (!Object.hasOwn(models, kind)) {
        throw new Error(`${kind} is not an Istio kind this program creates`);
    }
    return ISTIO_API_VERSIONS.map((v) => apiVersionOf(kind as Kind, v));
}

/**
 * Builds an Istio manifest; in a preview it also validates it against the upstream schema and throws on any
 * violation. Only in a preview: compiling the schemas (ajv) costs ~0.35 s of every run of the program, and
 * every way to an update previews first with the same config (`pulumi up` asks after its preview; promote's
 * steps run the preview whose plan their `up` must follow: docs/promotion.md). An update with
 * `--skip-preview` is checked by the API server against the CRDs' own schemas.
 */
export function istioManifest<K extends Kind>(
    kind: K,
    apiVersion: IstioApiVersion,
    metadata: Manifest<unknown>["metadata"],
    spec: SpecOf<K>,
): Manifest<SpecOf<K>> {
    const { model } = models[kind];
    // Each model class takes {metadata, spec} of its own kind; the map's union of classes needs this cast.
    const Model = model as unknown as new (data: { metadata: object; spec: unknown }) => { validate(): void };
    try {
        if (pulumi.runtime.isDryRun()) {
            new Model({ metadata, spec }).validate();
        }
    } catch (e) {
        throw new Error(
            `${kind} ${metadata.namespace}/${metadata.name} does not match the Istio schema: ${(e as Error).message}`,
            { cause: e },
        );
    }
    return { apiVersion: apiVersionOf(kind, apiVersion), kind, metadata, spec };
}
