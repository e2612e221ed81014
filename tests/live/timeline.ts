/**
 * Replays what the API server stored (tests/live/watch.ts), write by write, for one routed service, and
 * checks after every write the promise a release makes to the requests in flight:
 * - a subset the VirtualService sends any weight to (the weighted split or the header route) has at least
 *   one Ready pod that is not terminating, among the pods its DestinationRule subset selects;
 * - no Deployment whose pods a weighted subset selects is scaled to 0 (its pods would be going).
 * Pure: tests/live/timeline.test.ts feeds it written-out writes; the live release cycle feeds it the watch.
 */
import type { WatchEvent } from "./watch";

type Labels = Record<string, string>;

/** The service's routing and workloads as stored after one write. */
export interface Snapshot {
    revision: number;
    /** What the write was: `<collection> <type> <name>`. */
    write: string;
    /** Weight per subset of the weighted split (the VirtualService's last HTTP route). */
    split: Record<string, number>;
    /** Every subset any route sends weight to (the header route's 100 included). */
    held: string[];
    /** Ready, not terminating pods per DestinationRule subset. */
    ready: Record<string, number>;
    /** Per Deployment: spec.replicas, available replicas, the first container's image, rolled out. */
    deployments: Record<string, { replicas: number; available: number; image: string; rolledOut: boolean }>;
}

const matches = (selector: Labels | undefined, labels: Labels | undefined) =>
    !!selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);

/** Weight per subset of a route: a lone destination without a weight takes 100 (Istio's rule). */
function weightsOf(route: any[] | undefined): Record<string, number> {
    const out: Record<string, number> = {};
    for (const d of route ?? []) {
        const subset = d.destination?.subset ?? "";
        out[subset] = (out[subset] ?? 0) + (d.weight ?? (route!.length === 1 ? 100 : 0));
    }
    return out;
}

const podReady = (p: any) =>
    !p.metadata.deletionTimestamp &&
    (p.status?.conditions ?? []).some((c: any) => c.type === "Ready" && c.status === "True");

/**
 * A Deployment whose latest spec has rolled out: every replica updated and available, and the controller
 * has seen the latest generation (the `kubectl rollout status` rule).
 */
const rolledOut = (d: any) => {
    const want = d.spec?.replicas ?? 1;
    const s = d.status ?? {};
    return (
        (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0) &&
        (s.updatedReplicas ?? 0) === want &&
        (s.availableReplicas ?? 0) === want &&
        (s.replicas ?? 0) === want
    );
};

/** The service's state after every write, in write order, and every broken promise with its revision. */
export function replay(
    events: readonly WatchEvent[],
    service: string,
): { snapshots: Snapshot[]; violations: string[] } {
    const stores: Record<string, Map<string, any>> = {};
    const snapshots: Snapshot[] = [];
    const violations: string[] = [];
    for (const e of [...events].sort((a, b) => a.revision - b.revision)) {
        const store = (stores[e.collection] ??= new Map());
        const key = `${e.object.metadata.namespace}/${e.object.metadata.name}`;
        if (e.type === "DELETED") {
            store.delete(key);
        } else {
            store.set(key, e.object);
        }
        const of = (collection: string) => [...(stores[collection]?.values() ?? [])];
        const vs = of("virtualservices").find((o) => o.metadata.name === service);
        const dr = of("destinationrules").find((o) => o.metadata.name === service);
        const subsets: { name: string; labels: Labels }[] = dr?.spec?.subsets ?? [];
        const routes: any[] = vs?.spec?.http ?? [];
        const held = [
            ...new Set(
                routes.flatMap((r) =>
                    Object.entries(weightsOf(r.route))
                        .filter(([, w]) => w > 0)
                        .map(([s]) => s),
                ),
            ),
        ].sort();
        const pods = of("pods");
        const ready = Object.fromEntries(
            subsets.map((s) => [
                s.name,
                pods.filter((p) => matches(s.labels, p.metadata.labels) && podReady(p)).length,
            ]),
        );
        const deployments = Object.fromEntries(
            of("deployments").map((d) => [
                d.metadata.name as string,
                {
                    replicas: d.spec?.replicas ?? 1,
                    available: d.status?.availableReplicas ?? 0,
                    image: d.spec?.template?.spec?.containers?.[0]?.image ?? "",
                    rolledOut: rolledOut(d),
                },
            ]),
        );
        const snapshot: Snapshot = {
            revision: e.revision,
            write: `${e.collection} ${e.type} ${e.object.metadata.name}`,
            split: weightsOf(routes.at(-1)?.route),
            held,
            ready,
            deployments,
        };
        snapshots.push(snapshot);
        for (const subset of held) {
            const labels = subsets.find((s) => s.name === subset)?.labels;
            const at = `revision ${e.revision} (${snapshot.write})`;
            if (!labels) {
                violations.push(`${at}: weight on subset ${subset}, which the DestinationRule does not define`);
                continue;
            }
            if (ready[subset] === 0) {
                violations.push(`${at}: weight on subset ${subset}, which has no Ready pod`);
            }
            for (const d of of("deployments")) {
                if (matches(labels, d.spec?.template?.metadata?.labels) && d.spec?.replicas === 0) {
                    violations.push(
                        `${at}: Deployment ${d.metadata.name} scaled to 0 while subset ${subset} holds weight`,
                    );
                }
            }
        }
    }
    return { snapshots, violations };
}
