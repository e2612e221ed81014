// @ts-check
/**
 * `npm run test:promote`: the promote CLI end to end (tests/e2e) against a real Prometheus and the real
 * Pulumi engine on the render stack, minutes rather than seconds, so apart from `npm test`. One worker: the
 * test runs in band, in jest's own process, and its globalSetup stops what it started when jest exits.
 * @type {import("jest").Config}
 */
module.exports = {
    ...require("./jest.slow.config"),
    roots: ["<rootDir>/tests/e2e"],
    globalSetup: "<rootDir>/tests/e2e/processGuard.ts",
    maxWorkers: 1,
};
