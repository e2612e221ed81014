import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import {
    APP_PORT,
    CANARY,
    CLIENT_NAME,
    componentType,
    SERVICE_PORT,
    STABLE,
    Version,
    withLegacyType,
} from "../config/constants";
import { CanaryApp, DemoClient, sharedLabels, subsetLabelsOf, versionLabels, VersionWorkload } from "./app";
import { MeshNamespace } from "./meshNamespace";

export interface DemoWorkloadsArgs {
    /** The sidecar-injected namespace; every object waits for it, so every pod gets its sidecar. */
    readonly namespace: MeshNamespace;
    /** One Service with a v1 and a v2 Deployment per name (none: only the client). */
    readonly services: string[];
    /** Image of the app, e.g. hashicorp/http-echo:1.0. */
    readonly image: string;
    /** Replicas per version. */
    readonly replicas: number;
    /** What v1 and v2 answer. */
    readonly stableText: string;
    readonly canaryText: string;
    /** Image of the in-mesh client, e.g. curlimages/curl:<tag>; unset: no client. */
    readonly clientImage?: string;
}

/** The Deployment spec of one version of one demo service. */
function appDeploymentSpec(
    app: string,
    version: Version,
    args: Pick<DemoWorkloadsArgs, "image" | "replicas">,
    text: string,
): k8s.types.input.apps.v1.DeploymentSpec {
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
                        ports: [{ name: SERVICE_PORT.name, containerPort: APP_PORT }],
                        resources: {
                            requests: { cpu: "10m", memory: "16Mi" },
                            limits: { cpu: "100m", memory: "64Mi" },
                        },
                        readinessProbe: { httpGet: { path: "/", port: APP_PORT }, periodSeconds: 5 },
                    },
                ],
            },
        },
    };
}

/** The Deployment spec of the in-mesh curl client. */
function clientDeploymentSpec(
    clientLabels: Record<string, string>,
    image: string,
): k8s.types.input.apps.v1.DeploymentSpec {
    return {
        replicas: 1,
        selector: { matchLabels: clientLabels },
        template: {
            metadata: { labels: clientLabels },
            spec: {
                serviceAccountName: CLIENT_NAME,
                containers: [
                    {
                        name: CLIENT_NAME,
                        image,
                        // The image's entrypoint is curl; keep the pod up for `kubectl exec`
                        // (as Istio's own client sample does: istio/istio samples/curl/curl.yaml).
                        command: ["/bin/sleep", "infinity"],
                        resources: {
                            requests: { cpu: "10m", memory: "16Mi" },
                            limits: { cpu: "100m", memory: "64Mi" },
                        },
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
    /** The demo services, in config order. */
    public readonly apps: CanaryApp[];
    /** The in-mesh client, when there is one. */
    public readonly client?: DemoClient;

    constructor(name: string, args: DemoWorkloadsArgs, opts?: pulumi.ComponentResourceOptions) {
        super(componentType("mesh", "DemoWorkloads"), name, {}, withLegacyType("asmcanary:mesh:DemoWorkloads", opts));
        const ns = args.namespace;
        const child = (dependsOn: pulumi.Resource[] = []) => ns.childOptions(this, dependsOn);
        const serviceAccount = (saName: string) =>
            new k8s.core.v1.ServiceAccount(
                `${name}-${saName}`,
                { metadata: { name: saName, namespace: ns.name } },
                child(),
            );

        const texts: Record<Version, string> = { [STABLE]: args.stableText, [CANARY]: args.canaryText };
        this.apps = args.services.map((app) => {
            const versions = {} as Record<Version, VersionWorkload>;
            for (const version of [STABLE, CANARY] as const) {
                const workload = `${app}-${version}`;
                const sa = serviceAccount(workload);
                const spec = appDeploymentSpec(app, version, args, texts[version]);
                const podLabels = versionLabels(app, version);
                const deployment = new k8s.apps.v1.Deployment(
                    `${name}-${workload}`,
                    { metadata: { name: workload, namespace: ns.name, labels: podLabels }, spec },
                    child([sa]),
                );
                versions[version] = {
                    version,
                    name: workload,
                    podLabels,
                    subsetLabels: subsetLabelsOf(podLabels),
                    deployment,
                    replicas: args.replicas,
                };
            }
            // The labels every version's pods share: exactly the app's pods, whatever their version.
            const selector = sharedLabels(Object.values(versions).map((v) => v.podLabels));
            const service = new k8s.core.v1.Service(
                `${name}-${app}`,
                {
                    metadata: { name: app, namespace: ns.name, labels: { app } },
                    spec: {
                        selector,
                        // Port named http (+ appProtocol): otherwise Istio may treat it as TCP and the HTTP
                        // routes and weights do not apply (Istio analyzer IST0118).
                        ports: [{ ...SERVICE_PORT, appProtocol: "http", targetPort: APP_PORT }],
                    },
                },
                child(),
            );
            return { name: app, selector, service, port: SERVICE_PORT.port, protocol: "http" as const, versions };
        });
        this.client = args.clientImage ? this.demoClient(name, args.clientImage, ns, serviceAccount) : undefined;

        this.registerOutputs({
            serviceNames: this.apps.map((a) => a.name),
            clientServiceAccount: this.client?.serviceAccount,
        });
    }

    /** The curl client Deployment inside the mesh (so it keeps working under STRICT mTLS). */
    private demoClient(
        name: string,
        image: string,
        namespace: MeshNamespace,
        serviceAccount: (saName: string) => k8s.core.v1.ServiceAccount,
    ): DemoClient {
        const clientLabels = { app: CLIENT_NAME };
        const clientSa = serviceAccount(CLIENT_NAME);
        new k8s.apps.v1.Deployment(
            `${name}-${CLIENT_NAME}`,
            {
                metadata: { name: CLIENT_NAME, namespace: namespace.name, labels: clientLabels },
                spec: clientDeploymentSpec(clientLabels, image),
            },
            namespace.childOptions(this, [clientSa]),
        );
        return { name: CLIENT_NAME, serviceAccount: CLIENT_NAME, podLabels: clientLabels };
    }
}
