import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { componentType } from "../config/constants";
import { IstioApiVersion, istioManifest, Manifest, TelemetrySpec } from "../istio/manifests";
import { istioResource } from "./istioResource";
import { MeshNamespace } from "./meshNamespace";

export interface AccessLoggingArgs {
    /** The namespace whose proxies log every request. */
    readonly namespace: MeshNamespace;
    readonly apiVersion: IstioApiVersion;
}

/**
 * A namespace-wide Telemetry (no selector) that turns on Envoy access logs for the namespace's proxies.
 * "envoy" is the access-log provider of ASM's default mesh-level Telemetry
 * (https://www.alibabacloud.com/help/en/asm/ambient/user-guide/telemetry-crd-description). Istio allows one
 * selector-less Telemetry per namespace (https://istio.io/latest/docs/tasks/observability/telemetry/), so
 * the ASM console's namespace-level observability settings must stay unused for this namespace.
 */
export function telemetryManifest(namespace: string, apiVersion: IstioApiVersion): Manifest<TelemetrySpec> {
    return istioManifest(
        "Telemetry",
        apiVersion,
        { name: "access-logs", namespace },
        { accessLogging: [{ providers: [{ name: "envoy" }] }] },
    );
}

/** Access logging for the namespace (both modes; collection into SLS is the mesh's setting, mode create). */
export class AccessLogging extends pulumi.ComponentResource {
    public readonly telemetry: k8s.apiextensions.CustomResource;

    constructor(name: string, args: AccessLoggingArgs, opts?: pulumi.ComponentResourceOptions) {
        super(componentType("mesh", "AccessLogging"), name, {}, opts);
        const ns = args.namespace;
        this.telemetry = istioResource(
            `${name}-telemetry`,
            telemetryManifest(ns.name, args.apiVersion),
            ns.childOptions(this),
        );
        this.registerOutputs({});
    }
}
