/**
 * What the program does to its own Node.js process before anything else is loaded (index.ts imports this
 * first). Neither changes a resource; both cut the time of every `pulumi up`, which a weight step pays in
 * full (issue 18: docs/development.md "Weight step benchmark" has the figures and how they were measured).
 *
 * 1. Node's compile cache (node:module enableCompileCache, Node >= 22.1; https://nodejs.org/api/module.html#module-compile-cache):
 *    the V8 code of every module loaded from here on (@pulumi/kubernetes, @pulumi/alicloud, this program's
 *    own files as ts-node emits them) is kept on disk (NODE_COMPILE_CACHE, else <tmpdir>/node-compile-cache)
 *    and reused by the next run instead of being compiled again. A stale entry is never used: the cache is
 *    keyed by each file's contents.
 *
 * 2. The Pulumi Node.js SDK's debug messages ("Registering resource …", "RegisterResource RPC prepared …",
 *    several per resource) are each sent to the engine as one gRPC call, one after the other
 *    (@pulumi/pulumi log/index.js `debug` → `log`), whatever the CLI's verbosity; the engine then forwards
 *    every one as an event. For 50 services that is ~1,700 calls per `up`: measured, ~2.5 s of the program's
 *    CPU and much of the engine's. The CLI only shows them with `--debug` or `-v`; set
 *    ASM_CANARY_SDK_DEBUG=1 to keep them when you need them.
 *
 * 3. Stack traces mapped to the TypeScript lines by Node.js itself (module.setSourceMapsSupport, Node >= 22.14,
 *    https://nodejs.org/api/module.html#modulesetsourcemapssupportenabled-options). For every resource the SDK records
 *    where it was declared: it takes the whole stack (@pulumi/pulumi resource.js `callsites`: `new
 *    Error().stack` with Error.stackTraceLimit = Infinity). Under the language host that stack goes through
 *    ts-node's mapper (source-map-support, vendored by the SDK with ts-node 7), which clones every call site
 *    and maps it in JavaScript: for 50 services 2.3 s of the program's ~10 s of CPU in an `up` (CPU profile,
 *    docs/development.md). Node.js reads the source map ts-node puts inline in each module it compiles and
 *    gives the same positions (the state's `sourcePosition` of every resource, tests/engine/renderStack.test.ts)
 *    for ~0.7 s. It maps only modules compiled after this line, which is why index.ts holds no code. Only
 *    under the language host (its run module is the main module): jest maps its own stack traces.
 *
 * 4. No stack taken for each promise the SDK makes debuggable, unless PULUMI_DEBUG_PROMISE_LEAKS is set. The
 *    SDK keeps, for every promise it wraps (@pulumi/pulumi runtime/debuggable.js `debuggablePromise`), the
 *    stack where it was made: `new Error().stack`, formatted (and mapped, 3.) at once. That is four promises
 *    per output property of every resource (runtime/rpc.js transferProperty), thousands in a 50-service
 *    `up`: ~0.6 s of the program's CPU before its first resource reaches the engine (CPU profile,
 *    docs/development.md "Weight step benchmark"). The SDK prints those stacks only in its report of promises
 *    left pending at exit, and only when PULUMI_DEBUG_PROMISE_LEAKS is set (debuggable.js leakedPromises;
 *    without it the report says to set it and run again). So without it the SDK's function runs with no
 *    stack frames to take; with it, the SDK's own function is left as it is. The SDK's modules call it
 *    through the module's exports at every use, as for log.debug (2.).
 */
import * as nodeModule from "node:module";

nodeModule.enableCompileCache?.();

if (!process.env.ASM_CANARY_SDK_DEBUG) {
    // A property of the SDK's log module, which the SDK's own modules call through at every use
    // (`log.debug(…)` on the module object), so replacing it here reaches all of them.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const sdkLog = require("@pulumi/pulumi/log") as { debug: (...args: unknown[]) => Promise<void> };
    sdkLog.debug = () => Promise.resolve();
}

const languageHost = /[\\/]@pulumi[\\/]pulumi[\\/]cmd[\\/]run[\\/]index\.js$/;
if (languageHost.test(require.main?.filename ?? "") && nodeModule.setSourceMapsSupport) {
    // Not for node_modules (the option's default): reading the source maps of every package module loaded
    // from here on cost more than it saved, and their frames keep their JavaScript positions.
    nodeModule.setSourceMapsSupport(true);
    // ts-node's mapper, which Node.js would call instead of its own.
    delete (Error as { prepareStackTrace?: unknown }).prepareStackTrace;
}

type DebuggableModule = {
    debuggablePromise?: <T>(p: Promise<T>, ctx: unknown) => Promise<T>;
    debugPromiseLeaks?: boolean;
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const debuggable = require("@pulumi/pulumi/runtime/debuggable") as DebuggableModule;
const sdkDebuggablePromise = debuggable.debuggablePromise;
if (sdkDebuggablePromise && !debuggable.debugPromiseLeaks) {
    debuggable.debuggablePromise = function debuggablePromise<T>(p: Promise<T>, ctx: unknown): Promise<T> {
        const limit = Error.stackTraceLimit;
        Error.stackTraceLimit = 0; // the SDK's `new Error().stack` then takes and formats no frame
        try {
            return sdkDebuggablePromise(p, ctx);
        } finally {
            Error.stackTraceLimit = limit;
        }
    };
}
