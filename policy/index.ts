/**
 * The asm-canary policy pack (docs/policies.md). Run it with a preview or an update:
 *   pulumi preview --policy-pack policy/analyzer [--policy-pack-config policy/production.json]
 * policy/analyzer starts this file with the project's own node_modules (see that script for why a file,
 * not the directory).
 */
import { PolicyPack } from "@pulumi/policy";
import { installConfigGuard } from "./configGuard";
import { POLICIES } from "./policies";

installConfigGuard();
new PolicyPack("asm-canary", { policies: POLICIES });
