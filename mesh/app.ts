/**
 * What the routing and the policies need to know of a canaried service, whoever built it (the demo's
 * DemoWorkloads or a described service's ServiceWorkloads): its Service, the pod labels of each version,
 * and the Deployments behind them. Labels are defined once here; the Service selector, the subsets and the
 * AuthorizationPolicy selector are all derived from them.
 */
import type * as pulumi from "@pulumi/pulumi";
import type * as k8s from "@pulumi/kubernetes";
import { Version } from "../config/constants";
import type { Protocol } from "../config/services";

/** One version of one service: the Deployment and the labels its pods carry. */
export interface VersionWorkload {
    readonly version: Version;
    /** Deployment and ServiceAccount name, e.g. hello-v1 (also the Istio metrics' destination_workload). */
    readonly name: string;
    /** Labels of its pods: `app` is what the Service selects, `version` what the subset selects. */
    readonly podLabels: Readonly<Record<string, string>>;
    /** The labels a DestinationRule subset uses to pick exactly these pods among the Service's. */
    readonly subsetLabels: Readonly<Record<string, string>>;
    /** The Deployment, when the program owns it (a brought-your-own service's is the user's: absent). */
    readonly deployment?: k8s.apps.v1.Deployment;
    /** Its replicas, when the program owns it: a version with none (an idle canary) is not waited for, and takes no weight. */
    readonly replicas?: number;
}

/** A canaried service: its Service and the stable and canary versions behind it. */
export interface CanaryApp {
    /** The Service name, also the Istio host. */
    readonly name: string;
    /** The Service's selector: matches the pods of both versions and nothing else. */
    readonly selector: Readonly<Record<string, string>>;
    /** The Service, when the program owns it (a brought-your-own service's is the user's: absent). */
    readonly service?: k8s.core.v1.Service;
    /** The namespace it runs in, when it is not the stack's own (a brought-your-own service). */
    readonly namespace?: string;
    /**
     * For Deployments the program does not own: the check that the ones getting weight are rolled out and
     * Available (foundation/readiness/available.ts). The route waits for it. Absent when rendering YAML.
     */
    readonly availability?: pulumi.Resource;
    /** The Service port callers use, and how Istio routes it. */
    readonly port: number;
    readonly protocol: Protocol;
    readonly versions: Readonly<Record<Version, VersionWorkload>>;
}

/** A workload the AuthorizationPolicy admits: one ServiceAccount, or (no serviceAccount) a whole namespace. */
export interface MeshCaller {
    readonly namespace: string;
    readonly serviceAccount?: string;
}

/** The in-mesh demo client: its name, mesh identity and pod labels. */
export interface DemoClient {
    readonly name: string;
    /** Its ServiceAccount, i.e. its mesh identity (its principal ends in /ns/<namespace>/sa/<serviceAccount>). */
    readonly serviceAccount: string;
    readonly podLabels: Readonly<Record<string, string>>;
}

/** Labels of one version's pods: `app` selects the Service, `version` the DestinationRule subset. */
export function versionLabels(app: string, version: Version): Record<string, string> {
    return { app, version };
}

/** The labels a subset needs to tell this version's pods from the other version's (both carry `app`). */
export function subsetLabelsOf(podLabels: Readonly<Record<string, string>>): Record<string, string> {
    return { version: podLabels.version };
}

/** The label pairs that every one of `labelSets` carries: the Service selector of both versions. */
export function sharedLabels(labelSets: Readonly<Record<string, string>>[]): Record<string, string> {
    const [first, ...rest] = labelSets;
    return Object.fromEntries(Object.entries(first ?? {}).filter(([k, v]) => rest.every((l) => l[k] === v)));
}
