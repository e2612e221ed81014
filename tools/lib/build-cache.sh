# shellcheck shell=bash
# Build-cache helpers shared by tools/pulumi-toolchain.sh and tools/live-cluster.sh (sourced, not run).
# Each built tool lives in its own cache directory with a build.key: the hash of what it was built from.

# go_env: the Go toolchain's identity (GOVERSION GOOS GOARCH), recorded in $CACHE/go.env; without Go on
# PATH, the recorded one, so that a machine whose builds are all cached needs no Go at all
go_env() {
  if command -v go >/dev/null; then
    go env GOVERSION GOOS GOARCH | tee "$CACHE/go.env.tmp"
    mv -f "$CACHE/go.env.tmp" "$CACHE/go.env"
  elif [[ -f "$CACHE/go.env" ]]; then
    cat "$CACHE/go.env"
  else
    echo "no Go toolchain"
  fi
}

# require_go: before a real build; says what to do when Go is missing
require_go() {
  command -v go >/dev/null ||
    die "go not found on PATH, and the cache ($CACHE) does not hold this build: install Go >= 1.26.6 and run again${SKIP_HINT:+, or $SKIP_HINT}"
}

# key <files-or-strings...>: hash of the build inputs (a file's content, else the string itself) and of
# the Go toolchain that builds them
key() {
  { for f in "$@"; do if [[ -f "$f" ]]; then cat "$f"; else printf '%s\n' "$f"; fi; done
    go_env; } | sha256sum | cut -c1-16
}

# up_to_date <dir> <key>: the directory holds a build of exactly these inputs
up_to_date() { [[ -f "$1/build.key" && "$(cat "$1/build.key")" == "$2" ]]; }

# link_bin <file>: expose a built binary in $BIN (hard link, copy as fallback; replaced atomically)
link_bin() {
  local f="$1" name
  name="$(basename "$f")"
  [[ "$BIN/$name" -ef "$f" ]] && return 0
  rm -f "$BIN/.$name.tmp"
  ln -f "$f" "$BIN/.$name.tmp" 2>/dev/null || cp -f "$f" "$BIN/.$name.tmp"
  mv -f "$BIN/.$name.tmp" "$BIN/$name"
}

# build_go_tool <tool> <version> <wrapper-dir> <main-pkg> <ldflags> [<source-file>...]: builds <main-pkg>
# from the wrapper module (its go.mod + go.sum; <main-pkg> is upstream's, or one of the wrapper's own
# packages, whose source files are then given so that the key covers them) into
# $CACHE/<tool>@<version>/<tool>, unless that exact build is there already, and links it into $BIN. The
# caller defines CACHE, BIN, NICE, log and die, and may define before_build, which runs before a real
# build (not for a cached one).
build_go_tool() {
  local tool="$1" version="$2" wrapper="$3" pkg="$4" ldflags="$5"
  local out="$CACHE/$tool@$version" k t0
  k="$(key "$wrapper/go.mod" "$wrapper/go.sum" "$pkg" "$ldflags" "${@:6}")"
  if up_to_date "$out" "$k" && [[ -x "$out/$tool" ]]; then
    log "$tool@$version: cached"
  else
    require_go
    if declare -F before_build >/dev/null; then before_build; fi
    log "$tool@$version: building $pkg"
    t0=$SECONDS
    rm -rf "$out"; mkdir -p "$out"
    (cd "$wrapper" && GOFLAGS="-mod=readonly -buildvcs=false" "${NICE[@]}" \
      go build -trimpath -ldflags "$ldflags" -o "$out/$tool.tmp" "$pkg") ||
      die "$tool: go build failed (wrapper $wrapper)"
    mv -f "$out/$tool.tmp" "$out/$tool"
    echo "$((SECONDS - t0))" >"$out/build.seconds"
    echo "$k" >"$out/build.key"
    log "$tool@$version: built in $((SECONDS - t0))s ($(du -m "$out/$tool" | cut -f1) MB)"
  fi
  link_bin "$out/$tool"
}
