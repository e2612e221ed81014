import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { componentType, withLegacyType } from "../config/constants";
import {
    AuthorizationPolicySpec,
    IstioApiVersion,
    istioManifest,
    Manifest,
    MtlsMode,
    PeerAuthenticationSpec,
} from "../istio/manifests";
import { CanaryApp, MeshCaller } from "./app";
import { istioResource } from "./istioResource";
import { MeshNamespace } from "./meshNamespace";

export interface MeshSecurityArgs {
    /** The namespace the policies cover (and wait for). */
    readonly namespace: MeshNamespace;
    /** PeerAuthentication mode for the whole namespace, and for the pods of services outside it. */
    readonly mtlsMode: MtlsMode;
    /** Every canaried service: those in another namespace (bring your own) get a PeerAuthentication on their pods. */
    readonly apps: CanaryApp[];
    /** When set, only `allowedCallers` may call the services (`apps`); every other caller is denied. */
    readonly authorization?: {
        /** The workloads (or whole namespaces) admitted, e.g. the demo client. */
        readonly allowedCallers: MeshCaller[];
        /** With the ingress gateway on: the namespace of the gateway, whose proxies are admitted too. */
        readonly allowedGatewayNamespace?: string;
    };
    readonly apiVersion: IstioApiVersion;
}

function peerAuthenticationManifest(
    namespace: string,
    mtlsMode: MtlsMode,
    apiVersion: IstioApiVersion,
): Manifest<PeerAuthenticationSpec> {
    return istioManifest(
        "PeerAuthentication",
        apiVersion,
        { name: "default", namespace },
        { mtls: { mode: mtlsMode } },
    );
}

/**
 * The principal of a workload's mesh identity. A suffix match ("*" prefix) avoids assuming the trust
 * domain, which ASM lets users change (istio.io/latest/docs/reference/config/security/authorization-policy/#Source).
 */
function principalOf(namespace: string, serviceAccount: string): string {
    return `*/ns/${namespace}/sa/${serviceAccount}`;
}

/**
 * An ALLOW policy on the app's pods that admits only the callers' identities (a ServiceAccount's principal,
 * or every workload of a namespace) and, with the ingress gateway on, the gateway's.
 */
function authorizationPolicyManifest(
    app: Pick<CanaryApp, "name" | "selector">,
    namespace: string,
    callers: MeshCaller[],
    apiVersion: IstioApiVersion,
    gatewayNamespace?: string,
): Manifest<AuthorizationPolicySpec> {
    type Source = NonNullable<NonNullable<AuthorizationPolicySpec["rules"]>[number]["from"]>[number];
    const from: Source[] = callers.map((c) =>
        c.serviceAccount
            ? { source: { principals: [principalOf(c.namespace, c.serviceAccount)] } }
            : // Source.namespaces matches the namespace in the caller's mTLS certificate, like a principal does.
              { source: { namespaces: [c.namespace] } },
    );
    if (gatewayNamespace) {
        // The gateway's ServiceAccount name is not documented by ASM (docs/open-points.md), so the gateway is
        // admitted by its namespace, still an mTLS identity: Source.namespaces matches the peer certificate
        // (https://istio.io/latest/docs/reference/config/security/authorization-policy/#Source).
        from.push({ source: { namespaces: [gatewayNamespace] } });
    }
    return istioManifest(
        "AuthorizationPolicy",
        apiVersion,
        { name: `${app.name}-allow-client`, namespace },
        {
            // An ALLOW policy that selects a workload denies everything it does not match.
            selector: { matchLabels: { ...app.selector } },
            action: "ALLOW",
            rules: [{ from }],
        },
    );
}

/** Namespace-wide PeerAuthentication (mTLS mode from config) and, optionally, per-service AuthorizationPolicies. */
export class MeshSecurity extends pulumi.ComponentResource {
    public readonly mtlsMode: MtlsMode;
    public readonly peerAuthentication: k8s.apiextensions.CustomResource;
    public readonly authorizationPolicies: k8s.apiextensions.CustomResource[];
    /** The mTLS mode on the pods of each service outside the stack's namespace (bring your own). */
    public readonly workloadPeerAuthentications: k8s.apiextensions.CustomResource[];

    constructor(name: string, args: MeshSecurityArgs, opts?: pulumi.ComponentResourceOptions) {
        super(componentType("mesh", "MeshSecurity"), name, {}, withLegacyType("asmcanary:mesh:MeshSecurity", opts));
        const ns = args.namespace;
        this.peerAuthentication = istioResource(
            `${name}-peer-auth`,
            peerAuthenticationManifest(ns.name, args.mtlsMode, args.apiVersion),
            ns.childOptions(this),
        );
        // A brought-your-own service runs in a namespace of the user's, which this PeerAuthentication does not
        // cover, and whose namespace-wide policy is the user's: its mTLS mode is set on its own pods instead, by
        // a workload-selector PeerAuthentication, which takes precedence over a namespace-wide one
        // (https://istio.io/latest/docs/reference/config/security/peer_authentication/).
        this.workloadPeerAuthentications = args.apps
            .filter((app) => app.namespace !== undefined && app.namespace !== ns.name)
            .map((app) =>
                istioResource(
                    `${name}-${app.name}-peer-auth`,
                    istioManifest(
                        "PeerAuthentication",
                        args.apiVersion,
                        { name: `${app.name}-mtls`, namespace: app.namespace! },
                        { selector: { matchLabels: { ...app.selector } }, mtls: { mode: args.mtlsMode } },
                    ),
                    ns.childOptions(this),
                ),
            );
        const authz = args.authorization;
        this.authorizationPolicies = (authz ? args.apps : []).map((app) =>
            istioResource(
                `${name}-${app.name}-authz`,
                authorizationPolicyManifest(
                    app,
                    // A selector applies only to workloads in the policy's own namespace.
                    app.namespace ?? ns.name,
                    authz!.allowedCallers,
                    args.apiVersion,
                    authz!.allowedGatewayNamespace,
                ),
                ns.childOptions(this),
            ),
        );
        this.mtlsMode = args.mtlsMode;
        this.registerOutputs({ mtlsMode: this.mtlsMode });
    }
}
