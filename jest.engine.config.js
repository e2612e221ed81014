// @ts-check
/**
 * `npm run test:engine`: the real Pulumi engine on the render stack (tests/engine), minutes rather than
 * seconds, so apart from `npm test`.
 * @type {import("jest").Config}
 */
module.exports = {
    ...require("./jest.slow.config"),
    roots: ["<rootDir>/tests/engine"],
};
