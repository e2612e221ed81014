/**
 * A measured traffic split on a real xDS data plane: grpcsplit (tools/live-cluster/grpcsplit, built by
 * tools/live-cluster.sh) is a proxyless gRPC client. grpc-go's xDS resolver takes istiod's listeners and
 * routes (weighted clusters, header matches) for the client pod and picks a cluster for every RPC; the
 * fixture's pods run no containers (kwok), so grpcsplit serves each pod's `<podIP>:<port>` locally with a
 * gRPC server that answers with its version, and counts the answers. The client announces itself as the
 * node xdsprobe builds for the pod (`xdsprobe -node`: one definition of the node), plus GENERATOR=grpc.
 * Facts: ../../../shared/notes/xds-from-istiod.md, last section.
 */
import { execFile } from "child_process";
import * as path from "path";
import { xdsprobePath } from "./xds";

/** grpcsplit's output. */
export interface Split {
    target: string;
    rpcs: number;
    header: string;
    /** Answers per version (a version that answered none is absent). */
    counts: Record<string, number>;
    errors: number;
    firstError: string;
}

/** The grpcsplit binary of the fixture's build (beside xdsprobe). */
export function grpcsplitPath(): string {
    return path.join(path.dirname(xdsprobePath()), "grpcsplit");
}

function run(file: string, args: string[], stdin: string): Promise<string> {
    return new Promise((resolve, reject) => {
        const child = execFile(file, args, { maxBuffer: 16 * 1024 * 1024, timeout: 60_000 }, (error, stdout, stderr) =>
            error
                ? reject(new Error(`${path.basename(file)} failed: ${stderr.trim() || error.message}`))
                : resolve(stdout),
        );
        child.stdin?.end(stdin);
    });
}

/**
 * Sends `rpcs` unary RPCs to `xds:///<host>:<port>` as the proxyless gRPC twin of `clientPod` (the pod as the
 * API server returns it), through istiod's plaintext xDS at `xdsAddress`; `backends` maps every endpoint
 * istiod may send (`<podIP>:<targetPort>`) to the version its local server answers with; `header` is sent
 * as metadata with every RPC (`name=value`).
 */
export async function measureSplit(opts: {
    xdsAddress: string;
    clientPod: unknown;
    host: string;
    port: number;
    backends: Record<string, string>;
    rpcs: number;
    header?: string;
}): Promise<Split> {
    const node = await run(xdsprobePath(), ["-node", "-pod", "-"], JSON.stringify(opts.clientPod));
    const args = ["-xds", opts.xdsAddress, "-node", "-", "-target", `xds:///${opts.host}:${opts.port}`];
    args.push("-n", String(opts.rpcs), "-timeout", "30s");
    for (const [address, version] of Object.entries(opts.backends)) {
        args.push("-backend", `${address}=${version}`);
    }
    if (opts.header) {
        args.push("-header", opts.header);
    }
    return JSON.parse(await run(grpcsplitPath(), args, node)) as Split;
}
