import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { CLIENT_NAME } from "../lib/config";
import { MeshTarget } from "../lib/meshTarget";

export const STABLE = "v1";
export const CANARY = "v2";
/** http-echo's default listen port (https://github.com/hashicorp/http-echo, -listen=:5678). */
export const APP_PORT = 5678;

export interface DemoWorkloadsArgs {
    /** The sidecar-injected namespace (name) to deploy into. */
    readonly namespace: string;
    /** Resources that must exist first: the labelled Namespace (so every pod gets its sidecar). */
    readonly dependsOn: pulumi.Resource[];
    /** One Service with a v1 and a v2 Deployment per name. */
    readonly services: string[];
    /** Image of the app, e.g. hashicorp/http-echo:1.0. */
    readonly image: string;
    /** Replicas per version. */
    readonly replicas: number;
    /** What v1 and v2 answer. */
    readonly stableText: string;
    readonly canaryText: string;
    /** Image of the in-mesh client, e.g. curlimages/curl:<tag>. */
    readonly clientImage: string;
    /** Where to create the objects. */
    readonly target: MeshTarget;
}

/** Labels of one version's pods: `app` selects the Service, `version` the DestinationRule subset. */
export function versionLabels(app: string, version: string): Record<string, string> {
    return { app, version };
}

/** The Deployment spec of one version of one demo service. */
export function appDeploymentSpec(app: string, version: string, args: Pick<DemoWorkloadsArgs, "image" | "replicas">, text: string) {
    const labels = versionLabels(app, version);
    return {
        replicas: args.replicas,
        selector: { matchLabels: labels },
        template: {
            metadata: { labels },
            spec: {
                serviceAccountName: `${app}-${version}`,
                containers: [
                    {
                        name: app,
                        image: args.image,
                        args: [`-text=${text}`, `-listen=:${APP_PORT}`],
                        ports: [{ name: "http", containerPort: APP_PORT }],
                        resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "100m", memory: "64Mi" } },
                        readinessProbe: { httpGet: { path: "/", port: APP_PORT }, periodSeconds: 5 },
                    },
                ],
            },
        },
    };
}

/**
 * The demo: per service a Service (port 80 named `http`, so Istio routes it as HTTP) and Deployments
 * <svc>-v1 / <svc>-v2 on http-echo, each with its own ServiceAccount (its own mesh identity); plus a curl
 * client Deployment inside the mesh, so it keeps working under STRICT mTLS.
 */
export class DemoWorkloads extends pulumi.ComponentResource {
    /** Kubernetes Service names, one per demo service. */
    public readonly serviceNames: string[];
    /** The client's ServiceAccount name (its mesh identity). */
    public readonly clientServiceAccount: string;

    constructor(name: string, args: DemoWorkloadsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("asmcanary:mesh:DemoWorkloads", name, {}, opts);
        const child = { parent: this, provider: args.target.provider, dependsOn: args.dependsOn };
        const ns = args.namespace;

        const serviceAccount = (saName: string) =>
            new k8s.core.v1.ServiceAccount(`${name}-${saName}`, { metadata: { name: saName, namespace: ns } }, child);

        for (const app of args.services) {
            new k8s.core.v1.Service(
                `${name}-${app}`,
                {
                    metadata: { name: app, namespace: ns, labels: { app } },
                    spec: {
                        selector: { app },
                        // Port named http (+ appProtocol): otherwise Istio may treat it as TCP and the HTTP
                        // routes and weights do not apply (Istio analyzer IST0118).
                        ports: [{ name: "http", appProtocol: "http", port: 80, targetPort: APP_PORT }],
                    },
                },
                child,
            );
            for (const [version, text] of [
                [STABLE, args.stableText],
                [CANARY, args.canaryText],
            ] as const) {
                const sa = serviceAccount(`${app}-${version}`);
                new k8s.apps.v1.Deployment(
                        `${name}-${app}-${version}`,
                        {
                            metadata: { name: `${app}-${version}`, namespace: ns, labels: versionLabels(app, version) },
                            spec: appDeploymentSpec(app, version, args, text),
                        },
                        { ...child, dependsOn: [...args.dependsOn, sa] },
                );
            }
        }

        const clientSa = serviceAccount(CLIENT_NAME);
        new k8s.apps.v1.Deployment(
                `${name}-${CLIENT_NAME}`,
                {
                    metadata: { name: CLIENT_NAME, namespace: ns, labels: { app: CLIENT_NAME } },
                    spec: {
                        replicas: 1,
                        selector: { matchLabels: { app: CLIENT_NAME } },
                        template: {
                            metadata: { labels: { app: CLIENT_NAME } },
                            spec: {
                                serviceAccountName: CLIENT_NAME,
                                containers: [
                                    {
                                        name: CLIENT_NAME,
                                        image: args.clientImage,
                                        // The image's entrypoint is curl; keep the pod up for `kubectl exec`
                                        // (as Istio's own client sample does: istio/istio samples/curl/curl.yaml).
                                        command: ["/bin/sleep", "infinity"],
                                        resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "100m", memory: "64Mi" } },
                                    },
                                ],
                            },
                        },
                    },
                },
                { ...child, dependsOn: [...args.dependsOn, clientSa] },
        );

        this.serviceNames = [...args.services];
        this.clientServiceAccount = CLIENT_NAME;
        this.registerOutputs({ serviceNames: this.serviceNames, clientServiceAccount: this.clientServiceAccount });
    }
}
