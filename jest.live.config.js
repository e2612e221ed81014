// @ts-check
/**
 * `npm run test:live`: the real program and the real Pulumi engine against a live Kubernetes + Istio
 * control plane (tests/live, tools/live-cluster.sh). Minutes, not seconds, and it needs the fixture's
 * binaries, so `npm test` does not run it: its files end in `.live.ts`, which jest.config.js does not match.
 * The tests share one fixture and one stack and run in order, in this process.
 * @type {import("jest").Config}
 */
module.exports = {
    ...require("./jest.slow.config"),
    roots: ["<rootDir>/tests/live"],
    testMatch: ["**/*.live.ts"],
    // Builds the toolchain and the fixture if missing; takes down any fixture left at exit.
    globalSetup: "<rootDir>/tests/live/globalSetup.js",
    maxWorkers: 1,
};
