// @ts-check
/**
 * Loaded by jest-light-runner in each test process before any test file (jest.config.js, setupFiles).
 *
 * 1. TypeScript. The runner imports each test file with Node's own `import()`; @swc-node/register
 *    compiles every `.ts` the program and the tests `require` (tsconfig.json's settings, source maps
 *    for stack traces). The hooks below hand the test file itself to that same CommonJS loader: without
 *    them Node would strip its types and run it as an ES module, which cannot import the project's
 *    extensionless CommonJS modules. They are synchronous, in-thread hooks (module.registerHooks): the
 *    off-thread `module.register` loader deadlocked now and then with two test processes.
 *
 * 2. Pulumi's bookkeeping stacks. @pulumi/pulumi reads `new Error().stack` for every promise it creates
 *    (kept for its leak report) and for every resource (its source position, captured at unlimited
 *    depth). Each read runs the installed source-map formatter frame by frame: profiled, a third of a
 *    whole-program evaluation's CPU time. Under mocks nothing reads those two stacks, so they come back
 *    as the bare "Error" line (Pulumi then sends no source position; the mock monitor takes none). Every
 *    other error, a failing test's included, keeps its source-mapped stack.
 */
require("@swc-node/register/register").register();
const { registerHooks } = require("node:module");

/** The project's own TypeScript files (not a package's), with the runner's cache-busting query. */
const OWN_TS = /^file:(?!.*\/node_modules\/).*\.ts(\?.*)?$/;
/** @param {{ conditions?: string[] }} context */
const byImport = (context) => !(context.conditions ?? []).includes("require");

registerHooks({
    resolve(specifier, context, next) {
        const resolved = next(specifier, context);
        return OWN_TS.test(resolved.url) && byImport(context)
            ? { ...resolved, format: "commonjs", shortCircuit: true }
            : resolved;
    },
    load(url, context, next) {
        // No source: Node then loads the file with its CommonJS loader, where @swc-node/register compiles it.
        return OWN_TS.test(url) && byImport(context)
            ? { format: "commonjs", source: undefined, shortCircuit: true }
            : next(url, context);
    },
});

/** The functions in @pulumi/pulumi that create an Error only to read its stack. */
const PULUMI_STACK_READERS = [
    { file: /[\\/]@pulumi[\\/]pulumi[\\/]runtime[\\/]debuggable\.js$/, fn: "debuggablePromise" },
    { file: /[\\/]@pulumi[\\/]pulumi[\\/]resource\.js$/, fn: "callsites" },
];
const formatWithSourceMaps = Error.prepareStackTrace;
Error.prepareStackTrace = (error, frames) => {
    const top = frames[0];
    const file = top?.getFileName() ?? "";
    const fn = top?.getFunctionName() ?? "";
    if (PULUMI_STACK_READERS.some((r) => r.fn === fn && r.file.test(file))) {
        return `${error}`;
    }
    return formatWithSourceMaps
        ? formatWithSourceMaps(error, frames)
        : `${error}${frames.map((f) => `\n    at ${f}`).join("")}`;
};
