/** Copy-paste commands that let a user check the mesh by hand (outputs of the stack). */
export function verificationCommands(
    namespace: string,
    services: string[],
    client: string,
    header?: { name: string; value: string },
    hasKubeconfigOutput = true,
): Record<string, string> {
    const svc = services[0];
    const commands: Record<string, string> = {
        sidecars: `kubectl -n ${namespace} get pods -o custom-columns=POD:.metadata.name,CONTAINERS:.spec.containers[*].name,READY:.status.containerStatuses[*].ready`,
        istioObjects: `kubectl -n ${namespace} get virtualservices,destinationrules,peerauthentications,authorizationpolicies`,
        split: `kubectl -n ${namespace} exec deploy/${client} -c ${client} -- sh -c 'for i in $(seq 1 50); do curl -s http://${svc}/; done' | sort | uniq -c`,
    };
    if (hasKubeconfigOutput) {
        commands.kubeconfig =
            "pulumi stack output kubeconfig --show-secrets > kubeconfig.yaml && export KUBECONFIG=$PWD/kubeconfig.yaml";
    }
    if (header) {
        commands.canaryHeader = `kubectl -n ${namespace} exec deploy/${client} -c ${client} -- curl -s -H '${header.name}: ${header.value}' http://${svc}/`;
    }
    return commands;
}
