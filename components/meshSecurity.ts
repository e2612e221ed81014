import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { AuthorizationPolicySpec, IstioApiVersion, istioManifest, Manifest, PeerAuthenticationSpec } from "../lib/istio";
import { MeshTarget } from "../lib/meshTarget";

export type MtlsMode = "PERMISSIVE" | "STRICT" | "DISABLE";

export interface MeshSecurityArgs {
    readonly namespace: string;
    /** PeerAuthentication mode for the whole namespace. */
    readonly mtlsMode: MtlsMode;
    /** When set, only `allowedClient` may call these services (app labels); every other caller is denied. */
    readonly authorization?: { readonly services: string[]; readonly allowedClient: { namespace: string; serviceAccount: string } };
    readonly apiVersion: IstioApiVersion;
    readonly target: MeshTarget;
    readonly dependsOn?: pulumi.Resource[];
}

export function peerAuthenticationManifest(a: Pick<MeshSecurityArgs, "namespace" | "mtlsMode" | "apiVersion">): Manifest<PeerAuthenticationSpec> {
    return istioManifest("PeerAuthentication", a.apiVersion, { name: "default", namespace: a.namespace }, { mtls: { mode: a.mtlsMode } });
}

/**
 * The principal of a workload's mesh identity. A suffix match ("*" prefix) avoids assuming the trust
 * domain, which ASM lets users change (istio.io/latest/docs/reference/config/security/authorization-policy/#Source).
 */
export function principalOf(namespace: string, serviceAccount: string): string {
    return `*/ns/${namespace}/sa/${serviceAccount}`;
}

export function authorizationPolicyManifest(
    service: string,
    a: Pick<MeshSecurityArgs, "namespace" | "apiVersion"> & { allowedClient: { namespace: string; serviceAccount: string } },
): Manifest<AuthorizationPolicySpec> {
    return istioManifest(
        "AuthorizationPolicy",
        a.apiVersion,
        { name: `${service}-allow-client`, namespace: a.namespace },
        {
            // An ALLOW policy that selects a workload denies everything it does not match.
            selector: { matchLabels: { app: service } },
            action: "ALLOW",
            rules: [{ from: [{ source: { principals: [principalOf(a.allowedClient.namespace, a.allowedClient.serviceAccount)] } }] }],
        },
    );
}

/** Namespace-wide PeerAuthentication (mTLS mode from config) and, optionally, per-service AuthorizationPolicies. */
export class MeshSecurity extends pulumi.ComponentResource {
    public readonly mtlsMode: MtlsMode;
    public readonly peerAuthentication: k8s.apiextensions.CustomResource;
    public readonly authorizationPolicies: k8s.apiextensions.CustomResource[];

    constructor(name: string, args: MeshSecurityArgs, opts?: pulumi.ComponentResourceOptions) {
        super("asmcanary:mesh:MeshSecurity", name, {}, opts);
        const child = { parent: this, provider: args.target.provider, dependsOn: [...args.target.dependsOn, ...(args.dependsOn ?? [])] };
        this.peerAuthentication = new k8s.apiextensions.CustomResource(`${name}-peer-auth`, peerAuthenticationManifest(args), child);
        const authz = args.authorization;
        this.authorizationPolicies = authz
            ? authz.services.map(
                  (svc) =>
                      new k8s.apiextensions.CustomResource(
                          `${name}-${svc}-authz`,
                          authorizationPolicyManifest(svc, { ...args, allowedClient: authz.allowedClient }),
                          child,
                      ),
              )
            : [];
        this.mtlsMode = args.mtlsMode;
        this.registerOutputs({ mtlsMode: this.mtlsMode });
    }
}
