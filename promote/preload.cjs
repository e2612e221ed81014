// Preloaded (`node --require`) into the Node.js processes the Pulumi CLI starts for `npm run promote`'s
// previews and `up`s: the program, the policy pack, the readiness gate's plugin (promote/stack.ts
// promoteNodeEnv). Plain JavaScript: Node.js loads it before the SDK and ts-node.
//
// It defers loading @npmcli/arborist until something uses it. The Pulumi Node.js SDK requires it when it
// loads (@pulumi/pulumi index.js -> automation and runtime -> runtime/closure/codePaths.js, v3.270), and
// uses it only to find the packages a serialized function needs (`new arborist.Arborist(...)` in
// codePaths.js: a dynamic provider's resource, such as the readiness gate, declared after the routes).
// Loading it, with pacote, tar and the rest, was ~0.3 s of every run's start before the program's first
// line (CPU profile, docs/development.md "Weight step benchmark"). Whatever reads the module gets the real
// one, loaded at that first read.
"use strict";

const Module = require("node:module");

const DEFERRED = new Set(["@npmcli/arborist"]);
const load = Module._load;

Module._load = function (request, ...rest) {
    if (!DEFERRED.has(request)) {
        return load.call(this, request, ...rest);
    }
    let loaded;
    const real = () => (loaded ??= load.call(this, request, ...rest));
    // `__esModule` (and `default`, the module itself when it has none of its own): TypeScript's
    // __importStar and __importDefault hand the object on as it is, instead of copying its keys, which
    // would load the module at once.
    return new Proxy(
        {},
        {
            get: (_, key) => {
                if (key === "__esModule") {
                    return true;
                }
                const m = real();
                return key === "default" ? (m.default ?? m) : Reflect.get(m, key);
            },
            has: (_, key) => Reflect.has(real(), key),
            ownKeys: () => Reflect.ownKeys(real()),
            getOwnPropertyDescriptor: (_, key) => {
                const d = Reflect.getOwnPropertyDescriptor(real(), key);
                return d && { ...d, configurable: true };
            },
        },
    );
};
