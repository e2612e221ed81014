#!/usr/bin/env bash
# Does a stack made by an older version of the program see any change under this one? With the real engine:
# the program at <old-ref> brings the render stack up (mode=existing, manifests rendered to YAML, no cloud),
# then this work tree previews the same stack. Exit 0 when the preview plans no create, update, replace or
# delete; otherwise it prints the plan and exits 1.
#
#   bash scripts/compat-check.sh <old-ref> [key=value ...]     e.g. bash scripts/compat-check.sh 70ae3c3 'services[1]=billing' authorizationPolicy=true
#
# The keys are asm-canary config keys or paths (set with `pulumi config set --path`) on top of the render stack's own (Pulumi.render.yaml's values).
# Needs the Pulumi toolchain (tools/pulumi-toolchain.sh) and git history containing <old-ref>.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ref="${1:?usage: bash scripts/compat-check.sh <old-ref> [key=value ...]}"
shift
PATH="$(bash "$ROOT/scripts/ensure-node.sh"):$(bash "$ROOT/tools/pulumi-toolchain.sh" --print-bin-dir | tail -1):$PATH"
export PATH PULUMI_CONFIG_PASSPHRASE=render PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DIY_BACKEND_NO_LEGACY_WARNING=true
command -v pulumi >/dev/null || { echo "compat-check: no pulumi CLI; build it with: bash tools/pulumi-toolchain.sh" >&2; exit 1; }

work="$(mktemp -d /tmp/asm-canary-compat.XXXXXX)"
trap 'rm -rf "$work"' EXIT
export PULUMI_BACKEND_URL="file://$work/state"
mkdir -p "$work/state" "$work/old" "$work/new"
(cd "$ROOT" && git archive "$ref" | tar -x -C "$work/old")
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -c | tar -x -C "$work/new")
for d in old new; do
    ln -s "$ROOT/node_modules" "$work/$d/node_modules"
    # The render stack's config as shipped (a user's edits to the tracked file do not count).
    (cd "$ROOT" && git show "$ref:Pulumi.render.yaml") >"$work/$d/Pulumi.render.yaml"
done

step() { printf '[compat-check +%ss] %s\n' "$SECONDS" "$*" >&2; }
cd "$work/old"
pulumi stack init render --secrets-provider passphrase >/dev/null
for kv in "$@"; do pulumi config set --stack render --path "asm-canary:${kv%%=*}" -- "${kv#*=}"; done
step "the program at $ref: pulumi up on the render stack${*:+ with $*}"
pulumi up --stack render --yes --skip-preview >"$work/up.log" 2>&1 || { cat "$work/up.log" >&2; exit 1; }
cp Pulumi.render.yaml "$work/new/Pulumi.render.yaml"

cd "$work/new"
step "this work tree: pulumi preview of the same stack"
pulumi preview --stack render --json >"$work/preview.json" 2>"$work/preview.err" || { cat "$work/preview.err" >&2; exit 1; }
node -e '
const p = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const summary = p.changeSummary || {};
const changed = (p.steps || []).filter((s) => s.op !== "same" && s.op !== "read");
console.log("changeSummary:", JSON.stringify(summary));
for (const s of changed) console.log(`  ${s.op} ${s.urn}`);
if (changed.length > 0) { console.log("compat-check: the older stack would see changes"); process.exit(1); }
console.log("compat-check: no change: every resource is the same");
' "$work/preview.json"
