/**
 * Copy-paste checks for the mesh features (merged into the stack's `verify` output next to mesh/verify.ts's).
 * Each command appears only when its feature is on.
 */
import { GATEWAY_NAMESPACE, ingressHost, INGRESS_GATEWAY_SERVICE } from "../config/features";
import { serviceUrl } from "./verify";

export interface FeatureChecks {
    readonly namespace: string;
    /** The first canaried service: its name and port. */
    readonly service: { readonly name: string; readonly port: number; readonly namespace?: string };
    /** The in-mesh client Deployment (and container) name; without it, no command that runs from it. */
    readonly client?: string;
    readonly header?: { readonly name: string; readonly value: string };
    /** Ingress gateway on: the domain, and whether the stack has an `ingressAddress` output (mode create). */
    readonly ingress?: { readonly domain: string; readonly addressOutput: boolean };
    readonly egressHosts: string[];
    readonly registryOnly: boolean;
    readonly accessLogs: boolean;
    readonly fault: boolean;
    readonly mirror: boolean;
}

/** A host that is certainly not in the allow-list, to show REGISTRY_ONLY refusing it. */
function unlistedHost(hosts: string[]): string {
    return ["example.org", "example.net", "example.edu"].find((h) => !hosts.includes(h)) ?? "example.invalid";
}

export function featureVerification(c: FeatureChecks): Record<string, string> {
    const svc = c.service.name;
    const exec = c.client ? `kubectl -n ${c.namespace} exec deploy/${c.client} -c ${c.client} --` : undefined;
    const out: Record<string, string> = {};
    if (c.ingress) {
        const host = ingressHost(svc, c.ingress.domain);
        // ASM names the gateway's Service istio-<IstioGateway name>
        // (https://www.alibabacloud.com/help/en/asm/sidecar/crd-fields-for-an-asm-gateway).
        const address = c.ingress.addressOutput
            ? "$(pulumi stack output ingressAddress)"
            : `$(kubectl -n ${GATEWAY_NAMESPACE} get svc ${INGRESS_GATEWAY_SERVICE} -o jsonpath='{.status.loadBalancer.ingress[0].ip}')`;
        out.ingress = `for i in $(seq 1 50); do curl -s -H 'Host: ${host}' http://${address}/; done | sort | uniq -c`;
        if (c.header) {
            out.ingressCanaryHeader = `curl -s -H 'Host: ${host}' -H '${c.header.name}: ${c.header.value}' http://${address}/`;
        }
    }
    if (c.egressHosts.length > 0 && exec) {
        out.egressAllowed = `${exec} curl -sS -o /dev/null -w '%{http_code}\\n' https://${c.egressHosts[0]}/`;
    }
    if (c.registryOnly && exec) {
        // Under REGISTRY_ONLY a host without a ServiceEntry is refused (plain HTTP gets 502 from the sidecar).
        out.egressBlocked = `${exec} curl -sS -o /dev/null -w '%{http_code}\\n' http://${unlistedHost(c.egressHosts)}/`;
    }
    if (c.accessLogs) {
        out.accessLogs = `kubectl -n ${c.namespace} logs deploy/${svc}-v1 -c istio-proxy --tail=5`;
    }
    if (c.fault && exec) {
        // Inside sh -c '…': the header in double quotes.
        const h = c.header ? ` -H "${c.header.name}: ${c.header.value}"` : "";
        out.fault = `${exec} sh -c 'for i in $(seq 1 20); do curl -s -o /dev/null -w "%{http_code} %{time_total}s\\n"${h} ${serviceUrl(c.service)}; done'`;
    }
    if (c.mirror) {
        // Mirrored requests reach v2 with "-shadow" appended to the Host (https://istio.io/latest/docs/tasks/traffic-management/mirroring/);
        // the sidecar logs them when accessLogs is on.
        out.mirror = `kubectl -n ${c.namespace} logs deploy/${svc}-v2 -c istio-proxy --since=5m | grep -c -- '-shadow'`;
    }
    return out;
}
