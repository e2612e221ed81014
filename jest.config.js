// @ts-check
/**
 * Jest: TypeScript through @swc/jest (transpile only, fast); `npm run typecheck` type-checks everything.
 * `npm test` runs every suite but the real-engine ones: tests/engine (jest.engine.config.js, `npm run
 * test:engine`) and tests/e2e (jest.promote.config.js, `npm run test:promote`).
 * @type {import("jest").Config}
 */
module.exports = {
    testEnvironment: "<rootDir>/tests/support/pulumiEnvironment.js",
    roots: ["<rootDir>/tests"],
    testMatch: ["**/*.test.ts"],
    testPathIgnorePatterns: ["/node_modules/", "<rootDir>/tests/engine/", "<rootDir>/tests/e2e/"],
    transform: {
        "^.+\\.ts$": [
            "@swc/jest",
            { jsc: { parser: { syntax: "typescript" }, target: "es2022" }, module: { type: "commonjs" } },
        ],
    },
    // After jest's own summary, the plain "N passed, N failed" line CI reads.
    reporters: ["default", "<rootDir>/tests/support/summaryReporter.js"],
    // Jest's default on a 2-core machine is one worker; two halve the wall time (137 s -> 82 s measured):
    // each file's cost is mostly loading the provider SDKs, which runs in parallel well.
    maxWorkers: 2,
    testTimeout: 60000,
};
