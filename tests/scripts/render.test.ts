/** `npm run render -- <args>`: which CLI arguments the wrapper passes on (scripts/engine.ts stackCommand). */
import { stackCommand } from "../../scripts/engine";

test("no arguments: up --yes on the stack", () => {
    expect(stackCommand([], "render")).toEqual(["up", "--yes", "--stack", "render"]);
});

test("a command without --: the stack flag goes last", () => {
    expect(stackCommand(["preview", "--diff"], "render")).toEqual(["preview", "--diff", "--stack", "render"]);
});

test("a value after --: the stack flag goes before the --, the value stays a value", () => {
    expect(stackCommand(["config", "set", "canaryWeight", "--", "-5"], "render")).toEqual([
        "config",
        "set",
        "canaryWeight",
        "--stack",
        "render",
        "--",
        "-5",
    ]);
});
