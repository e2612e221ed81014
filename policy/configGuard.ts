/**
 * Refuses a pack config that names a policy this pack does not have. The engine passes every name of the
 * config file on to the pack (Analyzer.Configure) without checking it, and @pulumi/policy ignores the
 * unknown ones, so a typo would silently leave a policy at its default level. This wraps the pack's
 * Configure handler: with an unknown name it answers INVALID_ARGUMENT, naming the policies there are, and
 * the engine stops before the preview ("configuring policy pack asm-canary: ...").
 *
 * @pulumi/policy builds its gRPC server inside `new PolicyPack` and offers no hook, so the handler is
 * wrapped where it is registered: Server.prototype.addService of the @grpc/grpc-js instance @pulumi/policy
 * itself loads (resolved from its own directory). Call this before `new PolicyPack`.
 */
import * as path from "path";
import { unknownPolicyProblems } from "./packConfig";

/** The part of a Configure call this needs: the names in AnalyzerConfigureRequest.policy_config. */
export interface ConfigureCall {
    request: { getPolicyconfigMap(): { keys(): Iterable<string> } };
}
type Callback = (err: { code: number; details: string } | null, value?: unknown) => void;
type Handler = (call: ConfigureCall, callback: Callback) => unknown;

/** gRPC status INVALID_ARGUMENT (https://grpc.github.io/grpc/core/md_doc_statuscodes.html). */
export const INVALID_ARGUMENT = 3;

/** `configure`, refusing a config with an unknown policy name before `configure` sees it. */
export function guardConfigure(configure: Handler): Handler {
    return (call, callback) => {
        const problems = unknownPolicyProblems([...call.request.getPolicyconfigMap().keys()]);
        if (problems.length > 0) {
            callback({ code: INVALID_ARGUMENT, details: `policy pack config: ${problems.join("; ")}` });
            return undefined;
        }
        return configure(call, callback);
    };
}

interface GrpcServer {
    prototype: { addService: (this: unknown, service: unknown, impl: Record<string, unknown>) => void };
}

/** Installs guardConfigure on the Configure handler @pulumi/policy registers. */
export function installConfigGuard(): void {
    const policyDir = path.dirname(require.resolve("@pulumi/policy"));
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const grpc = require(require.resolve("@grpc/grpc-js", { paths: [policyDir] })) as { Server: GrpcServer };
    const addService = grpc.Server.prototype.addService;
    grpc.Server.prototype.addService = function (this: unknown, service: unknown, impl: Record<string, unknown>) {
        const configure = impl.configure;
        const guarded =
            typeof configure === "function" ? { ...impl, configure: guardConfigure(configure as Handler) } : impl;
        return addService.call(this, service, guarded);
    };
}
