// @ts-check
/** A jest reporter that ends the run with one plain line, "N passed, N failed", for CI to read. */
class SummaryReporter {
    /**
     * @param {unknown} _contexts
     * @param {import("@jest/test-result").AggregatedResult} results
     */
    onRunComplete(_contexts, results) {
        // A suite that cannot run at all (a syntax error, a failing import) counts as a failure too.
        const line = `${results.numPassedTests} passed, ${results.numFailedTests + results.numRuntimeErrorTestSuites} failed\n`;
        // Jest prints its own summary after every custom reporter's; this line comes last, at exit.
        process.once("exit", () => process.stdout.write(line));
    }
}
module.exports = SummaryReporter;
