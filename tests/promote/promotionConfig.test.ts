/** The `promotion` stack config key: config/promotion.ts, and its place in config/stackConfig.ts. */
import { ConfigError, parseConfig } from "../../config/stackConfig";
import { durationSeconds, parsePromotion, PROMOTION_DEFAULTS } from "../../config/promotion";

function problemsOf(raw: Record<string, string>): string[] {
    try {
        parseConfig(raw);
    } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as ConfigError).problems;
    }
    throw new Error("accepted");
}

describe("promotion config", () => {
    test("unset: the defaults", () => {
        expect(parsePromotion(undefined)).toEqual({
            value: {
                steps: [10, 25, 50, 100],
                interval: "60s",
                maxErrorRate: 0.01,
                maxP99Ms: 500,
                minRequests: 20,
                maxWaitIntervals: 3,
                onNoData: "halt",
            },
        });
        expect(parseConfig({}).promotion).toEqual(PROMOTION_DEFAULTS);
    });

    test("a partial object is completed with the defaults", () => {
        const r = parsePromotion(
            JSON.stringify({ steps: [20, 100], maxP99Ms: 300, maxErrorRateDelta: 0.005, service: "hello" }),
        );
        expect(r).toEqual({
            value: {
                steps: [20, 100],
                interval: "60s",
                maxErrorRate: 0.01,
                maxP99Ms: 300,
                minRequests: 20,
                maxWaitIntervals: 3,
                onNoData: "halt",
                maxErrorRateDelta: 0.005,
                service: "hello",
            },
        });
    });

    test("numbers given as text (pulumi config set --path stores fractions as strings) count as numbers", () => {
        const r = parsePromotion('{"maxErrorRate":"0.02","maxP99Ms":"300","steps":["10","100"],"interval":"5s"}');
        expect(r).toEqual({
            value: { ...PROMOTION_DEFAULTS, maxErrorRate: 0.02, maxP99Ms: 300, steps: [10, 100], interval: "5s" },
        });
        expect(parsePromotion('{"maxErrorRate":"two"}')).toEqual({
            problems: ['maxErrorRate must be a ratio from 0 to 1 (0.01 = 1 %) (got "two")'],
        });
    });

    test.each([
        [
            [10, 5, 100],
            "steps must be strictly increasing whole numbers from 1 to 100, ending in 100 (e.g. [10, 25, 50, 100]) (got [10,5,100])",
        ],
        [
            [10, 50],
            "steps must be strictly increasing whole numbers from 1 to 100, ending in 100 (e.g. [10, 25, 50, 100]) (got [10,50])",
        ],
        [
            [0, 100],
            "steps must be strictly increasing whole numbers from 1 to 100, ending in 100 (e.g. [10, 25, 50, 100]) (got [0,100])",
        ],
        [
            [12.5, 100],
            "steps must be strictly increasing whole numbers from 1 to 100, ending in 100 (e.g. [10, 25, 50, 100]) (got [12.5,100])",
        ],
        [
            [50, 50, 100],
            "steps must be strictly increasing whole numbers from 1 to 100, ending in 100 (e.g. [10, 25, 50, 100]) (got [50,50,100])",
        ],
        [
            [],
            "steps must be strictly increasing whole numbers from 1 to 100, ending in 100 (e.g. [10, 25, 50, 100]) (got [])",
        ],
    ])("steps %j are refused", (steps, message) => {
        expect(parsePromotion(JSON.stringify({ steps }))).toEqual({ problems: [message] });
    });

    test("every bad setting is reported at once, and unknown settings are refused", () => {
        const r = parsePromotion(
            JSON.stringify({
                interval: "soon",
                maxErrorRate: 2,
                minRequests: 0,
                onNoData: "panic",
                maxP99: 3,
                prometheusUrl: "http://u:p@h/",
            }),
        );
        expect(r).toEqual({
            problems: [
                'interval must be a duration such as "30s", "2m" or "1m30s" (got "soon")',
                "maxErrorRate must be a ratio from 0 to 1 (0.01 = 1 %) (got 2)",
                "minRequests must be a whole number of at least 1 (got 0)",
                'onNoData must be one of halt, rollback (got "panic")',
                "maxP99 is not a promotion setting (known: steps, interval, maxErrorRate, maxP99Ms, minRequests, maxWaitIntervals, onNoData, maxErrorRateDelta, maxP99DeltaMs, service, prometheusUrl)",
                'prometheusUrl must be an http(s) URL without credentials (set those in the environment: see docs/promotion.md) (got "http://u:p@h/")',
            ],
        });
    });

    test("not an object", () => {
        expect(parsePromotion("[10,100]")).toEqual({
            problems: ["must be an object such as {steps: [10, 25, 50, 100], interval: 60s}"],
        });
        expect(parsePromotion("fast")).toEqual({
            problems: ["must be an object such as {steps: [10, 25, 50, 100], interval: 60s}"],
        });
    });

    test("the program refuses a bad promotion value before declaring anything", () => {
        expect(problemsOf({ promotion: '{"steps":[10,50]}' })).toEqual([
            'promotion: got "{\\"steps\\":[10,50]}"; steps must be strictly increasing whole numbers from 1 to 100, ending in 100 (e.g. [10, 25, 50, 100]) (got [10,50])',
        ]);
    });

    test("promotion.service must be one of the canaried services", () => {
        expect(problemsOf({ promotion: '{"service":"billing"}' })).toEqual([
            'promotion: got service "billing"; must be one of services ["hello"]',
        ]);
        expect(
            parseConfig({ services: '["hello","billing"]', promotion: '{"service":"billing"}' }).promotion.service,
        ).toBe("billing");
    });

    test.each([
        ["60s", 60],
        ["2m", 120],
        ["1m30s", 90],
        ["1h", 3600],
        ["5s", 5],
        ["0s", undefined],
        ["", undefined],
        ["60", undefined],
        ["1.5m", undefined],
        ["500ms", undefined],
    ])("duration %p = %p s", (text, seconds) => {
        expect(durationSeconds(text)).toBe(seconds);
    });
});
