/**
 * `npm run policy:check -- <pack-config.json>...`: checks policy pack config files before a preview uses
 * them. The engine lets an unknown policy name through silently and refuses a bad level without saying
 * which are allowed; this names both, with the allowed values. Exit 0 when every file is valid, 1 otherwise.
 */
import { readPackConfig } from "./configFile";

const files = process.argv.slice(2);
if (files.length === 0) {
    console.error("usage: npm run policy:check -- <pack-config.json>...  (e.g. policy/production.json)");
    process.exit(2);
}
let failed = 0;
for (const file of files) {
    try {
        readPackConfig(file);
        console.log(`${file}: ok`);
    } catch (e) {
        failed++;
        console.error((e as Error).message);
    }
}
process.exit(failed > 0 ? 1 : 0);
