/**
 * The URL of a service's port as a client in the stack's namespace calls it (`http://hello/` on port 80); a
 * service in another namespace (bring your own) by `<name>.<namespace>`, as DNS resolves it from there.
 */
export function serviceUrl(service: { name: string; port: number; namespace?: string }): string {
    const host = service.namespace ? `${service.name}.${service.namespace}` : service.name;
    return `http://${host}${service.port === 80 ? "" : `:${service.port}`}/`;
}

/** Copy-paste commands that let a user check the mesh by hand (outputs of the stack). */
export function verificationCommands(
    namespace: string,
    service: { name: string; port: number; namespace?: string },
    client: string | undefined,
    header?: { name: string; value: string },
    hasKubeconfigOutput = true,
): Record<string, string> {
    const url = serviceUrl(service);
    const commands: Record<string, string> = {
        sidecars: `kubectl -n ${namespace} get pods -o custom-columns=POD:.metadata.name,CONTAINERS:.spec.containers[*].name,READY:.status.containerStatuses[*].ready`,
        istioObjects: `kubectl -n ${namespace} get virtualservices,destinationrules,peerauthentications,authorizationpolicies`,
    };
    // The split and the header check run from the demo client; without it, from any pod of your own.
    if (client) {
        commands.split = `kubectl -n ${namespace} exec deploy/${client} -c ${client} -- sh -c 'for i in $(seq 1 50); do curl -s ${url}; done' | sort | uniq -c`;
    }
    if (hasKubeconfigOutput) {
        commands.kubeconfig =
            "pulumi stack output kubeconfig --show-secrets > kubeconfig.yaml && export KUBECONFIG=$PWD/kubeconfig.yaml";
    }
    if (header && client) {
        commands.canaryHeader = `kubectl -n ${namespace} exec deploy/${client} -c ${client} -- curl -s -H '${header.name}: ${header.value}' ${url}`;
    }
    return commands;
}
