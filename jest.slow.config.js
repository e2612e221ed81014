// @ts-check
/**
 * The base of the suites that drive real processes for minutes (jest.engine.config.js,
 * jest.promote.config.js, jest.live.config.js): jest's own runner, for its per-test timeout and a fresh
 * module registry per file; TypeScript through @swc/jest (transpile only; `npm run typecheck` checks types).
 * Loading the SDKs per file costs seconds, which is nothing next to a real engine. `npm test` runs on
 * jest-light-runner instead (jest.config.js).
 * @type {import("jest").Config}
 */
module.exports = {
    testEnvironment: "node",
    testMatch: ["**/*.test.ts"],
    testPathIgnorePatterns: ["/node_modules/"],
    transform: {
        "^.+\\.ts$": [
            "@swc/jest",
            { jsc: { parser: { syntax: "typescript" }, target: "es2022" }, module: { type: "commonjs" } },
        ],
    },
    // After jest's own summary, the plain "N passed, N failed" line CI reads.
    reporters: ["default", "<rootDir>/tests/support/summaryReporter.js"],
    testTimeout: 10 * 60_000,
};
