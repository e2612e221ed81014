/**
 * Istio manifests built on @kubernetes-models/istio, whose types and JSON schemas are generated from the
 * upstream Istio CRDs (Istio 1.18 for the 2.3.x line, the last one that ships CommonJS). Every manifest is
 * validated against that schema before it reaches Pulumi, so a malformed spec fails `pulumi preview`.
 *
 * API versions: networking.istio.io/v1beta1 and security.istio.io/v1beta1 are served by every ASM 1.2x;
 * the v1 APIs need Istio >= 1.22 (https://istio.io/latest/blog/2024/v1-apis/), so v1beta1 is the default
 * and v1 is opt-in (config istioApiVersion). The specs of the two versions are identical.
 */
import {
    DestinationRule,
    IDestinationRule,
    IVirtualService,
    VirtualService,
} from "@kubernetes-models/istio/networking.istio.io/v1beta1";
import {
    AuthorizationPolicy,
    IAuthorizationPolicy,
    IPeerAuthentication,
    PeerAuthentication,
} from "@kubernetes-models/istio/security.istio.io/v1beta1";
import type { IstioApiVersion } from "./constants";

export type VirtualServiceSpec = NonNullable<IVirtualService["spec"]>;
export type DestinationRuleSpec = NonNullable<IDestinationRule["spec"]>;
export type PeerAuthenticationSpec = NonNullable<IPeerAuthentication["spec"]>;
export type AuthorizationPolicySpec = NonNullable<IAuthorizationPolicy["spec"]>;

export interface Manifest<S> {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace: string; labels?: Record<string, string> };
    spec: S;
}

const models = {
    VirtualService: { group: "networking.istio.io", model: VirtualService },
    DestinationRule: { group: "networking.istio.io", model: DestinationRule },
    PeerAuthentication: { group: "security.istio.io", model: PeerAuthentication },
    AuthorizationPolicy: { group: "security.istio.io", model: AuthorizationPolicy },
} as const;

type Kind = keyof typeof models;
type SpecOf<K extends Kind> = K extends "VirtualService"
    ? VirtualServiceSpec
    : K extends "DestinationRule"
      ? DestinationRuleSpec
      : K extends "PeerAuthentication"
        ? PeerAuthenticationSpec
        : AuthorizationPolicySpec;

/** Builds an Istio manifest and validates it against the upstream schema; throws on any violation. */
export function istioManifest<K extends Kind>(
    kind: K,
    apiVersion: IstioApiVersion,
    metadata: Manifest<unknown>["metadata"],
    spec: SpecOf<K>,
): Manifest<SpecOf<K>> {
    const { group, model } = models[kind];
    // Each model class takes {metadata, spec} of its own kind; the map's union of classes needs this cast.
    const Model = model as unknown as new (data: { metadata: object; spec: unknown }) => { validate(): void };
    try {
        new Model({ metadata, spec }).validate();
    } catch (e) {
        throw new Error(
            `${kind} ${metadata.namespace}/${metadata.name} does not match the Istio schema: ${(e as Error).message}`,
            { cause: e },
        );
    }
    return { apiVersion: `${group}/${apiVersion}`, kind, metadata, spec };
}
