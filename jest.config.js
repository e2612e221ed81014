// @ts-check
/**
 * `npm test`: every suite but the real-engine ones, tests/engine (jest.engine.config.js, `npm run
 * test:engine`), tests/e2e (jest.promote.config.js, `npm run test:promote`) and tests/live.
 *
 * The runner is jest-light-runner: each worker is one plain Node process that runs its share of the test
 * files one after another, so @pulumi/pulumi, the provider SDKs and the Istio schemas load once per
 * worker instead of once per test file (jest's own runner gives every file a fresh module registry;
 * that load was most of the suite's time). Jest's globals, expect, jest.fn/spyOn and fake timers work as
 * usual; module mocks (jest.mock) and per-file isolation do not exist here, and none of these tests
 * need them: Pulumi's mocks are installed afresh by every evaluation (tests/support/harness.ts).
 * tests/support/setup.cjs compiles the TypeScript (@swc-node/register; `npm run typecheck` type-checks).
 * @type {import("jest").Config}
 */
module.exports = {
    roots: ["<rootDir>/tests"],
    testMatch: ["**/*.test.ts"],
    testPathIgnorePatterns: ["/node_modules/", "<rootDir>/tests/engine/", "<rootDir>/tests/e2e/"],
    // Child processes, not worker threads: Pulumi's closure serialization (the readiness gate's dynamic
    // provider) needs the inspector, which a worker thread does not have.
    runner: ["jest-light-runner", { runtime: "child_process" }],
    setupFiles: ["<rootDir>/tests/support/setup.cjs"],
    // After jest's own summary, the plain "N passed, N failed" line CI reads.
    reporters: ["default", "<rootDir>/tests/support/summaryReporter.js"],
    // Both cores: the two processes each take about half the files.
    maxWorkers: 2,
};
