/**
 * Entry point. The program itself is program.ts (config -> foundation -> readiness gate -> mesh layer ->
 * outputs); this file only loads runtime.ts first, the Node.js process settings that make every `up` faster,
 * before anything else. It holds no other code, so that no stack frame is ever in a module loaded before
 * those settings (runtime.ts 3: Node.js maps the stack traces of the modules loaded after it).
 */
import "./runtime";
import { program } from "./program";

export = program;
