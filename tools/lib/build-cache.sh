# shellcheck shell=bash
# Build-cache helpers shared by tools/pulumi-toolchain.sh and tools/live-cluster.sh (sourced, not run).
# Each built tool lives in its own cache directory with a build.key: the hash of what it was built from.

# key <files-or-strings...>: hash of the build inputs (a file's content, else the string itself) and of
# the Go toolchain that builds them
key() {
  { for f in "$@"; do if [[ -f "$f" ]]; then cat "$f"; else printf '%s\n' "$f"; fi; done
    go env GOVERSION GOOS GOARCH; } | sha256sum | cut -c1-16
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
