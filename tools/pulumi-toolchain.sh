#!/usr/bin/env bash
# Builds the Pulumi toolchain this project needs from Go modules (no prebuilt
# downloads), into a cache directory outside the repo, and prints the bin dir
# on the last line of stdout:
#
#   export PATH="$(tools/pulumi-toolchain.sh | tail -1):$PATH"
#   tools/pulumi-toolchain.sh --print-bin-dir     # only print, build nothing
#
# Tools (each cached as <tool>@<version>, rebuilt only when missing or when its
# wrapper go.mod/go.sum or build flags change):
#   pulumi                      github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
#   pulumi-language-nodejs      github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs
#   pulumi-resource-kubernetes  github.com/pulumi/pulumi-kubernetes/provider/v4/cmd/pulumi-resource-kubernetes
# and one shell script, not built: pulumi-resource-pulumi-nodejs (dynamic providers,
# see install_dynamic_provider_shim).
# The pinned module versions live in tools/pulumi-toolchain/*/go.mod (+ go.sum);
# see the comments below for why these exact versions.
#
# Environment:
#   PULUMI_TOOLCHAIN_CACHE          cache dir (default $HOME/.cache/asm-canary/pulumi-toolchain)
#   PULUMI_TOOLCHAIN_USE_INSTALLED  0 = ignore a pulumi CLI already on PATH (default 1)
#   PULUMI_TOOLCHAIN_INSTALL_PLUGIN 0 = don't register the kubernetes plugin with
#                                   `pulumi plugin install --file` (default 1)
#
# Go build/module caches stay in their default locations. Needs Go >= 1.26.6
# (GOTOOLCHAIN=local is forced: no toolchain download).
set -euo pipefail

# ---- pins --------------------------------------------------------------------
# Pulumi CLI: npm @pulumi/pulumi is 3.270.0, but the Go module proxy does not
# serve pkg/v3 v3.270.0 (.info only, zip 403; nor v3.261-v3.273); v3.274.0 is
# the nearest served version >= 3.270.0 (a CLI newer than the SDK is supported).
PULUMI_VERSION=v3.274.0
# Node.js language host: module .../sdk/nodejs/cmd/pulumi-language-nodejs/v3 is
# not served by the proxy at any version. sdk/v3 v3.68.0 is the newest served
# sdk/v3 that still contains the host as a package (it became its own module
# afterwards). The CLI falls back to the older RPCs it implements.
LANGHOST_VERSION=v3.68.0
# Kubernetes provider: npm @pulumi/kubernetes is 4.34.2 and the plugin is
# registered as 4.34.2 so the SDK finds it, but the proxy serves exactly one
# version of provider/v4: commit f47bc2d6f199 (2026-01-15; k8s.io/api v0.33,
# sdk/v4 v4.24.0 era), which is what gets built.
K8S_VERSION=4.34.2
K8S_MODULE=github.com/pulumi/pulumi-kubernetes/provider/v4
K8S_MODULE_VERSION=v4.0.0-20260115033456-f47bc2d6f199
K8S_MODULE_SUM=h1:j2bphCf7c2YhnBrhwht2f3TNRRgcMImltUlAgzxr9H4=

# ---- setup -------------------------------------------------------------------
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MODS="$SCRIPT_DIR/pulumi-toolchain"
CACHE="${PULUMI_TOOLCHAIN_CACHE:-$HOME/.cache/asm-canary/pulumi-toolchain}"
BIN="$CACHE/bin"

PRINT_ONLY=0
if [[ "${1:-}" == "--print-bin-dir" ]]; then
  PRINT_ONLY=1
elif [[ $# -gt 0 ]]; then
  echo "usage: $0 [--print-bin-dir]" >&2
  exit 2
fi

# A real pulumi CLI already on PATH (not one of ours) is used as is, unless
# PULUMI_TOOLCHAIN_USE_INSTALLED=0. Then the printed bin dir is $CACHE/bin-extra
# (nothing in it shadows that pulumi), else $CACHE/bin (our pulumi + language host).
installed=""
if [[ "${PULUMI_TOOLCHAIN_USE_INSTALLED:-1}" != 0 ]]; then
  p="$(command -v pulumi || true)"
  if [[ -n "$p" && "$(cd "$(dirname "$p")" && pwd -P)" != "$(mkdir -p "$BIN" && cd "$BIN" && pwd -P)" ]] &&
    timeout 60 env PULUMI_SKIP_UPDATE_CHECK=true "$p" version >/dev/null 2>&1; then
    installed="$p"
    BIN="$CACHE/bin-extra"
  fi
fi
if [[ $PRINT_ONLY == 1 ]]; then
  echo "$BIN"
  exit 0
fi

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false"
NICE=(nice -n 10)

START=$SECONDS
log() { printf '[pulumi-toolchain +%4ds] %s\n' "$((SECONDS - START))" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

SKIP_HINT="set PULUMI_TOOLCHAIN_BIN=/dir (pulumi, pulumi-language-nodejs) or put pulumi on PATH to skip"
# Go is needed only for a build: with every tool cached, none (lib/build-cache.sh, require_go).

# Said once, before the first build (build_go_tool calls it): how long it takes and how to avoid it.
ANNOUNCED=0
before_build() {
  [[ $ANNOUNCED == 1 ]] && return 0
  ANNOUNCED=1
  log "building the Pulumi toolchain from Go modules: a cold build takes ~12-15 min on 2 cores"
  log "(the Kubernetes plugin alone ~8 min); $SKIP_HINT"
}
mkdir -p "$CACHE" "$BIN"

# One run at a time per cache dir.
exec 9>"$CACHE/.lock"
if command -v flock >/dev/null; then
  flock 9 || die "cannot lock $CACHE/.lock"
fi

# key, up_to_date, link_bin, build_go_tool
# shellcheck source=lib/build-cache.sh
source "$SCRIPT_DIR/lib/build-cache.sh"

build_pulumi() {
  build_go_tool pulumi "$PULUMI_VERSION" "$MODS/pulumi" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi \
    "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION"
}

build_langhost() {
  build_go_tool pulumi-language-nodejs "$LANGHOST_VERSION" "$MODS/language-nodejs" \
    github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs \
    "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$LANGHOST_VERSION"
}

# The provider's main.go go:embeds schema-embed.json and
# terraform-mapping-embed.json, which upstream generates (`go generate` ->
# generate.go: schema.json with "version" set, terraform-mapping.json
# minified) and which are not in the module zip. So: copy the module source
# into the cache, run the provider's own generate.go there, and build with
# `replace provider/v4 => ./src`.
build_kubernetes() {
  local tool=pulumi-resource-kubernetes
  local out="$CACHE/kubernetes@$K8S_VERSION" wrapper="$MODS/kubernetes"
  local ldflags="-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$K8S_VERSION"
  local k t0 bd json dir sum cmd
  k="$(key "$wrapper/go.mod" "$wrapper/go.sum" "$K8S_MODULE@$K8S_MODULE_VERSION" "$ldflags")"
  K8S_BIN="$out/$tool"
  if up_to_date "$out" "$k" && [[ -x "$out/$tool" ]]; then
    log "kubernetes@$K8S_VERSION: cached"
    return
  fi
  require_go
  before_build
  t0=$SECONDS
  bd="$CACHE/build/kubernetes@$K8S_VERSION"
  log "kubernetes@$K8S_VERSION: fetching $K8S_MODULE@$K8S_MODULE_VERSION"
  json="$(cd "$CACHE" && GOFLAGS=-mod=mod go mod download -json "$K8S_MODULE@$K8S_MODULE_VERSION")"
  dir="$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$json")"
  sum="$(sed -n 's/^[[:space:]]*"Sum": "\(.*\)",$/\1/p' <<<"$json")"
  [[ -d "$dir" ]] || die "go mod download gave no Dir: $json"
  [[ "$sum" == "$K8S_MODULE_SUM" ]] || die "unexpected module sum $sum (want $K8S_MODULE_SUM)"

  rm -rf "$bd"; mkdir -p "$bd/gen"
  cp -R "$dir" "$bd/src"
  chmod -R u+w "$bd/src"
  cp "$wrapper/go.mod" "$wrapper/go.sum" "$bd/"
  cmd="$bd/src/cmd/$tool"
  [[ -f "$cmd/schema.json" && -f "$cmd/terraform-mapping.json" && -f "$cmd/generate.go" ]] ||
    die "module layout changed: $cmd lacks schema.json/terraform-mapping.json/generate.go"

  log "kubernetes@$K8S_VERSION: generating schema-embed.json (version $K8S_VERSION) and terraform-mapping-embed.json"
  # generate.go reads/writes ./schema.json etc. in its working directory; run it
  # from gen/ so that the wrapper module (with the replace) is the main module.
  cp "$cmd/schema.json" "$cmd/terraform-mapping.json" "$bd/gen/"
  (cd "$bd/gen" && VERSION="$K8S_VERSION" "${NICE[@]}" go run "$cmd/generate.go")
  grep -q "\"version\":\"$K8S_VERSION\"" "$bd/gen/schema-embed.json" || die "schema-embed.json lacks version $K8S_VERSION"
  cp "$bd/gen/schema-embed.json" "$bd/gen/terraform-mapping-embed.json" "$cmd/"
  log "kubernetes@$K8S_VERSION: embed files generated at +$((SECONDS - t0))s; building provider"

  rm -rf "$out"; mkdir -p "$out"
  (cd "$bd" && "${NICE[@]}" go build -trimpath -ldflags "$ldflags" -o "$out/$tool.tmp" \
    github.com/pulumi/pulumi-kubernetes/provider/v4/cmd/pulumi-resource-kubernetes)
  mv -f "$out/$tool.tmp" "$out/$tool"
  echo "$k" >"$out/build.key"
  rm -rf "$bd"
  log "kubernetes@$K8S_VERSION: built in $((SECONDS - t0))s"
}

# has_k8s_plugin <pulumi>: is resource plugin kubernetes $K8S_VERSION installed?
has_k8s_plugin() {
  PULUMI_SKIP_UPDATE_CHECK=true "$1" plugin ls 2>/dev/null |
    awk -v v="$K8S_VERSION" '$1 == "kubernetes" && $2 == "resource" && $3 == v { f = 1 } END { exit !f }'
}

# install_k8s_plugin <pulumi>: register our binary in the Pulumi plugin cache
# ($PULUMI_HOME/plugins) as resource kubernetes $K8S_VERSION. With
# PULUMI_TOOLCHAIN_INSTALL_PLUGIN=0 it goes into $BIN instead, where pulumi
# uses it as an "ambient" plugin for any version (with a warning).
install_k8s_plugin() {
  if [[ "${PULUMI_TOOLCHAIN_INSTALL_PLUGIN:-1}" == 0 ]]; then
    link_bin "$K8S_BIN"
    return 0
  fi
  # Don't shadow the installed plugin with a copy from an earlier layout/run.
  rm -f "$BIN/pulumi-resource-kubernetes"
  if has_k8s_plugin "$1"; then
    log "plugin resource kubernetes $K8S_VERSION already installed"
  else
    log "installing plugin resource kubernetes $K8S_VERSION into the Pulumi plugin cache"
    PULUMI_SKIP_UPDATE_CHECK=true "$1" plugin install resource kubernetes "$K8S_VERSION" \
      --file "$K8S_BIN" >&2
  fi
}

# install_dynamic_provider_shim: the plugin the engine starts for dynamic
# providers (pulumi.dynamic.Resource, e.g. the mesh readiness gate). The CLI
# distribution ships it next to `pulumi`; a CLI built from Go modules does not.
# It runs @pulumi/pulumi's cmd/dynamic-provider from the node_modules of the
# program being deployed: the engine starts plugins in the program's directory
# (plugin.Context.Pwd), so `require.resolve` finds the program's own SDK there,
# whichever checkout it is. Same behaviour as the script npm @pulumi/pulumi
# ships, plus `exec`, quoted arguments and a failure when node cannot find it.
install_dynamic_provider_shim() {
  local f="$BIN/pulumi-resource-pulumi-nodejs" content
  content='#!/bin/sh
# Pulumi dynamic-provider plugin, written by tools/pulumi-toolchain.sh (asm-canary).
script=$(node -e "process.stdout.write(require.resolve(\"@pulumi/pulumi/cmd/dynamic-provider\"))") || exit 1
exec node "$script" "$@"'
  if [[ -x "$f" && "$(cat "$f")" == "$content" ]]; then
    return 0
  fi
  log "installing the dynamic-provider plugin script $f"
  printf '%s\n' "$content" >"$f.tmp"
  chmod 755 "$f.tmp"
  mv -f "$f.tmp" "$f"
}

# ---- main --------------------------------------------------------------------
K8S_BIN=""
if [[ -n "$installed" ]]; then
  log "using installed pulumi $("$installed" version 2>/dev/null) at $installed"
  if has_k8s_plugin "$installed"; then
    log "plugin resource kubernetes $K8S_VERSION already installed; nothing to build"
  else
    build_kubernetes
    install_k8s_plugin "$installed"
  fi
  install_dynamic_provider_shim
else
  log "cache: $CACHE ($(go_env | head -1))"
  build_pulumi
  build_langhost
  build_kubernetes
  install_k8s_plugin "$BIN/pulumi"
  install_dynamic_provider_shim
fi

log "done in $((SECONDS - START))s; bin dir: $BIN"
echo "$BIN"
