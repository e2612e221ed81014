/**
 * The pack's Configure guard (policy/configGuard.ts): a config naming a policy the pack does not have is
 * refused with the names there are, and the pack's own handler never sees it.
 */
import { ConfigureCall, guardConfigure, INVALID_ARGUMENT } from "../../policy/configGuard";

const call = (names: string[]): ConfigureCall => ({
    request: { getPolicyconfigMap: () => new Map(names.map((n) => [n, {}])) },
});

test("known names and `all` reach the pack's handler", () => {
    const configure = jest.fn();
    const callback = jest.fn();
    guardConfigure(configure)(call(["all", "production-mtls-strict", "canary-weight-step"]), callback);
    expect(configure).toHaveBeenCalledTimes(1);
    expect(callback).not.toHaveBeenCalled();
});

test("an unknown name is refused with INVALID_ARGUMENT and the names allowed", () => {
    const configure = jest.fn();
    const callback = jest.fn();
    guardConfigure(configure)(call(["production-mtls-strict", "production-mtls"]), callback);
    expect(configure).not.toHaveBeenCalled();
    expect(callback).toHaveBeenCalledWith({
        code: INVALID_ARGUMENT,
        details:
            'policy pack config: unknown policy "production-mtls"; the policies are: all, canary-route-subsets, ' +
            "canary-weight-step, production-mtls-strict, production-authorization-policy, production-no-fault-injection, " +
            "production-deletion-protection, production-private-api-endpoint, production-egress-registry-only, " +
            "mesh-deployment-hygiene",
    });
});
