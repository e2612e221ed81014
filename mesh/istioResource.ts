import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { istioApiVersionsOf, Manifest } from "../istio/manifests";

/**
 * The type tokens the same Istio object has under the program's other API versions. The Kubernetes SDK
 * types a CustomResource `kubernetes:<group>/<version>:<Kind>`, so without these aliases a change of
 * `istioApiVersion` looks to the engine like a new resource plus an old one: it plans a create and a
 * delete of what the API server stores as ONE object (every served version reads and writes the same
 * stored object), and the delete, which runs last, removes it. With them the engine sees the same resource
 * under a new type and the Kubernetes provider updates the object in place (its diff shows `apiVersion`
 * only), the way the Kubernetes SDK aliases its own built-in kinds across API versions.
 */
export function otherVersionAliases(apiVersion: string, kind: string): pulumi.Alias[] {
    return istioApiVersionsOf(kind)
        .filter((v) => v !== apiVersion)
        .map((v) => ({ type: `kubernetes:${v}:${kind}` }));
}

/** An Istio object as a CustomResource, reachable from state written under any of the program's API versions. */
export function istioResource(
    name: string,
    manifest: Manifest<unknown>,
    opts: pulumi.CustomResourceOptions,
): k8s.apiextensions.CustomResource {
    return new k8s.apiextensions.CustomResource(name, manifest, {
        ...opts,
        aliases: [...(opts.aliases ?? []), ...otherVersionAliases(manifest.apiVersion, manifest.kind)],
    });
}
