// @ts-check
/**
 * Jest's Node environment, minus the cost of Pulumi's bookkeeping stack traces.
 *
 * @pulumi/pulumi reads `new Error().stack` for every promise it creates (kept for its leak report) and
 * for every resource (its source position for the engine, captured at unlimited depth). Under jest every
 * `.stack` read goes through jest's source-map formatter frame by frame: profiled, that was a third of a
 * whole-program evaluation's CPU time. Under mocks nothing reads those two stacks, so they come back as
 * the bare "Error" line (Pulumi then sends no source position, which the mock monitor ignores). Every
 * other error, a failing test's included, still gets jest's source-mapped stack.
 */
const { TestEnvironment } = require("jest-environment-node");

/** The functions in @pulumi/pulumi that create an Error only to read its stack. */
const PULUMI_STACK_READERS = [
    { file: /[\\/]@pulumi[\\/]pulumi[\\/]runtime[\\/]debuggable\.js$/, fn: "debuggablePromise" },
    { file: /[\\/]@pulumi[\\/]pulumi[\\/]resource\.js$/, fn: "callsites" },
];

/** @param {NodeJS.CallSite[]} frames */
function readByPulumiOnly(frames) {
    const top = frames[0];
    const file = top?.getFileName() ?? "";
    const fn = top?.getFunctionName() ?? "";
    return PULUMI_STACK_READERS.some((r) => r.fn === fn && r.file.test(file));
}

/** @param {Error} error @param {NodeJS.CallSite[]} frames */
const v8Format = (error, frames) => `${error}${frames.map((f) => `\n    at ${f}`).join("")}`;

class PulumiEnvironment extends TestEnvironment {
    /** @param {ConstructorParameters<typeof TestEnvironment>} args */
    constructor(...args) {
        super(...args);
        // Node asks the error's own realm (the test's) for a formatter first, then the main realm, where
        // jest installs its source-mapping one: this answers in the test's realm and passes the rest on.
        this.global.Error.prepareStackTrace = (/** @type {Error} */ error, /** @type {NodeJS.CallSite[]} */ frames) => {
            if (readByPulumiOnly(frames)) {
                return `${error}`;
            }
            return (Error.prepareStackTrace ?? v8Format)(error, frames);
        };
    }
}

module.exports = PulumiEnvironment;
