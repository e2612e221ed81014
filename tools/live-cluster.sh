#!/usr/bin/env bash
# A live Kubernetes + Istio control plane on 127.0.0.1, for TESTS ONLY (not a
# cluster for users: no kubelet, no container runtime, no real pods; the only
# node is a kwok fake). Built from Go modules, no binary downloads.
#
#   tools/live-cluster.sh build       build/cache binaries + assets (cold 12-40 min, warm ~1 min, cached <1 s)
#   tools/live-cluster.sh up          etcd, apiserver, controller-manager, scheduler, kwok node, Istio
#   tools/live-cluster.sh up --no-istio   the same without Istio (add it later with istio-up)
#   tools/live-cluster.sh istio-up    Istio CRDs + istiod (webhooks by URL) on a running cluster
#   tools/live-cluster.sh istio-down  stop istiod, remove its webhooks, istio-system and the Istio CRDs
#   tools/live-cluster.sh down        stop everything (by PID) and check that nothing is left
#   tools/live-cluster.sh status      what runs, ports, kubeconfig
#   tools/live-cluster.sh kubeconfig  print the admin kubeconfig path
#   tools/live-cluster.sh clean       down + remove the run directory
# `up` and `istio-up` build first if needed. The admin kubeconfig path is the
# last line `up` prints on stdout (always $LIVE_CLUSTER_DIR/kubeconfig).
#
# Binaries (wrapper modules under tools/live-cluster/<name>/, go.mod + go.sum only):
#   kubernetes/  etcd (go.etcd.io/etcd/server/v3, the version k8s requires),
#                kube-apiserver, kube-controller-manager, kube-scheduler (k8s.io/kubernetes)
#   istio/       pilot-discovery (istiod), istioctl (istio.io/istio), kwok (sigs.k8s.io/kwok), and
#                xdsprobe (istio/xdsprobe/: the project's own fake sidecar that reads what istiod pushes,
#                tests/live/xds.ts; built on the same module graph, its key includes its source)
#   grpcsplit/   grpcsplit (grpcsplit/main.go: the project's own proxyless gRPC client that measures a
#                traffic split through istiod's routes, tests/live/grpcSplit.live.ts; its own module
#                because grpc's xds package needs go-spiffe, which istio's go.sum lacks; every shared
#                module pinned to istio's version, so the Go build cache is shared; key includes its source)
# cached as $LIVE_CLUSTER_CACHE/<tool>@<version>/<tool>, rebuilt only when the
# wrapper's go.mod/go.sum, the ldflags or the Go version change. Assets taken from
# the same modules: Istio CRDs (manifests/charts/base/files/crd-all.gen.yaml), the
# istiod config (istioctl manifest generate), kwok Stages (kustomize/stage/...).
#
# Environment:
#   LIVE_CLUSTER_CACHE        binaries + assets (default $HOME/.cache/asm-canary/live-cluster)
#   LIVE_CLUSTER_DIR          run state: pki, etcd data, logs, pids, kubeconfig (default $LIVE_CLUSTER_CACHE/run)
#   LIVE_CLUSTER_BIN          use the binaries in this dir as they are (no build); assets must exist in the cache
#   LIVE_CLUSTER_PORT_OFFSET  added to every port below (default 0), for a second fixture on one machine
#   LIVE_CLUSTER_TIMEOUT      seconds each readiness wait may take (default 90)
#   LIVE_CLUSTER_KEEP_ON_FAILURE  1 = a failed `up` leaves what it started running (default: stops it)
# Ports (127.0.0.1 only): apiserver 36443; etcd 32379 (client) 32380 (peer) 32381 (metrics);
# controller-manager 30257; scheduler 30259; istiod 15017 (webhooks, https) 15010/15012 (xDS)
# 15014 (monitoring) 18080 (http, /ready) 19876 (ctrlz).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MODS="$SCRIPT_DIR/live-cluster"
CACHE="${LIVE_CLUSTER_CACHE:-$HOME/.cache/asm-canary/live-cluster}"
RUN="${LIVE_CLUSTER_DIR:-$CACHE/run}"
BIN="${LIVE_CLUSTER_BIN:-$CACHE/bin}"
TIMEOUT="${LIVE_CLUSTER_TIMEOUT:-90}"
OFF="${LIVE_CLUSTER_PORT_OFFSET:-0}"

P_API=$((36443 + OFF))
P_ETCD=$((32379 + OFF)) P_ETCD_PEER=$((32380 + OFF)) P_ETCD_METRICS=$((32381 + OFF))
P_KCM=$((30257 + OFF)) P_SCHED=$((30259 + OFF))
P_WEBHOOK=$((15017 + OFF)) P_GRPC=$((15010 + OFF)) P_SGRPC=$((15012 + OFF))
P_MON=$((15014 + OFF)) P_HTTP=$((18080 + OFF)) P_CTRLZ=$((19876 + OFF))
ALL_PORTS=("$P_API" "$P_ETCD" "$P_ETCD_PEER" "$P_ETCD_METRICS" "$P_KCM" "$P_SCHED"
  "$P_WEBHOOK" "$P_GRPC" "$P_SGRPC" "$P_MON" "$P_HTTP" "$P_CTRLZ")

# The fake node: no taints, so Deployments without tolerations schedule onto it.
NODE_NAME=kwok-node-0

# Start-up order (`down` stops the API clients, then the apiserver, then etcd).
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok istiod)

START=$SECONDS
log() { printf '[live-cluster +%4ds] %s\n' "$((SECONDS - START))" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ============================================================================
# build
# ============================================================================

export GOTOOLCHAIN=local CGO_ENABLED=0
NICE=(nice -n 10)

# key, up_to_date, link_bin, build_go_tool
# shellcheck source=lib/build-cache.sh
source "$SCRIPT_DIR/lib/build-cache.sh"

# modver <wrapper-dir> <module>: the version the wrapper's go.mod selects
modver() { (cd "$1" && GOFLAGS="-mod=readonly -buildvcs=false" go list -m -f '{{.Version}}' "$2"); }
moddir() { (cd "$1" && GOFLAGS="-mod=readonly -buildvcs=false" go list -m -f '{{.Dir}}' "$2"); }
modtime() { (cd "$1" && GOFLAGS="-mod=readonly -buildvcs=false" go list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' "$2"); }

# Istio's images: the proxy image that istiod injects is <buildHub>/proxyv2:<buildVersion>
# (pkg/version.DockerInfo, applied by `istioctl manifest generate`). We build what
# istio's own Makefile would call this tree: VERSION file + "-dev" (1.31-dev), hub
# registry.istio.io/testing (the dev hub the module's profiles name), and set
# buildTag to the same value.
istio_build_info() {
  local dir="$1" version="$2" v
  v="$(tr -d '[:space:]' <"$dir/VERSION")-dev"
  ISTIO_TAG="${LIVE_CLUSTER_ISTIO_TAG:-$v}"
  ISTIO_HUB="${LIVE_CLUSTER_ISTIO_HUB:-registry.istio.io/testing}"
  ISTIO_REV="${version##*-}" # pseudo-version's commit: eed52ebb66ad
}

cmd_build() {
  command -v go >/dev/null || die "go not found on PATH"
  mkdir -p "$CACHE" "$BIN"
  exec 9>"$CACHE/.build.lock"
  flock 9 || die "cannot lock $CACHE/.build.lock"

  local kw="$MODS/kubernetes" iw="$MODS/istio" gw="$MODS/grpcsplit"
  local kver ever iver kwver gver kdate kmaj kmin idir kwdir
  kver="$(modver "$kw" k8s.io/kubernetes)"
  ever="$(modver "$kw" go.etcd.io/etcd/server/v3)"
  iver="$(modver "$iw" istio.io/istio)"
  kwver="$(modver "$iw" sigs.k8s.io/kwok)"
  gver="$(modver "$gw" google.golang.org/grpc)"
  [[ -n "$kver" && -n "$ever" && -n "$iver" && -n "$kwver" && -n "$gver" ]] || die "cannot read versions from $MODS/*/go.mod"

  local missing=0 t
  for t in etcd@"$ever" kube-apiserver@"$kver" kube-controller-manager@"$kver" kube-scheduler@"$kver" \
    pilot-discovery@"$iver" istioctl@"$iver" kwok@"$kwver" xdsprobe@"$iver" grpcsplit@"$gver"; do
    [[ -x "$CACHE/$t/${t%@*}" ]] || missing=$((missing + 1))
  done
  log "cache: $CACHE ($(go env GOVERSION)); k8s $kver, etcd $ever, istio $iver, kwok $kwver"
  if ((missing > 0)); then
    log "$missing of 9 binaries to build. A cold build (empty Go caches) takes 12-14 min on an idle 2-core"
    log "machine and took 41 min measured while another Go build shared the CPUs; add 1-3 min of module"
    log "downloads (~1.3 GB); it fills ~5.5 GB of Go build cache. With a warm Go build cache: about 1 min."
  fi

  # --- Kubernetes + etcd (one wrapper) ---
  kdate="$(modtime "$kw" k8s.io/kubernetes)"
  kmaj="${kver#v}"; kmaj="${kmaj%%.*}"
  kmin="${kver#v*.}"; kmin="${kmin%%.*}"
  local kld="-s -w"
  for t in "gitVersion=$kver" "gitMajor=$kmaj" "gitMinor=$kmin" "gitTreeState=clean" "buildDate=$kdate"; do
    kld+=" -X k8s.io/component-base/version.$t"
  done
  build_go_tool kube-apiserver "$kver" "$kw" k8s.io/kubernetes/cmd/kube-apiserver "$kld"
  build_go_tool etcd "$ever" "$kw" go.etcd.io/etcd/server/v3 \
    "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=$ever"
  build_go_tool kube-controller-manager "$kver" "$kw" k8s.io/kubernetes/cmd/kube-controller-manager "$kld"
  build_go_tool kube-scheduler "$kver" "$kw" k8s.io/kubernetes/cmd/kube-scheduler "$kld"

  # --- Istio + kwok (one wrapper) ---
  idir="$(moddir "$iw" istio.io/istio)"
  [[ -f "$idir/VERSION" ]] || (cd "$iw" && GOFLAGS=-mod=readonly go mod download istio.io/istio)
  idir="$(moddir "$iw" istio.io/istio)"
  istio_build_info "$idir" "$iver"
  local ild="-s -w" os arch
  os="$(go env GOOS)"; arch="$(go env GOARCH)"
  for t in "buildVersion=$ISTIO_TAG" "buildGitRevision=$ISTIO_REV" "buildStatus=Clean" "buildTag=$ISTIO_TAG" \
    "buildHub=$ISTIO_HUB" "buildOS=$os" "buildArch=$arch"; do
    ild+=" -X istio.io/istio/pkg/version.$t"
  done
  build_go_tool pilot-discovery "$iver" "$iw" istio.io/istio/pilot/cmd/pilot-discovery "$ild"
  build_go_tool istioctl "$iver" "$iw" istio.io/istio/istioctl/cmd/istioctl "$ild"
  build_go_tool kwok "$kwver" "$iw" sigs.k8s.io/kwok/cmd/kwok "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${kwver#v}"
  # Our own package in the wrapper module: everything it imports is in pilot-discovery's build already.
  build_go_tool xdsprobe "$iver" "$iw" ./xdsprobe "-s -w" "$iw"/xdsprobe/*.go
  # Its own wrapper (grpc's xds package needs go-spiffe); 104 of its 277 library packages are not in pilot-discovery's
  # build (grpc's xds client, balancers, credentials; go-spiffe; oauth2/google), the rest come from the cache.
  build_go_tool grpcsplit "$gver" "$gw" . "-s -w" "$gw"/*.go

  # --- assets from the same modules ---
  kwdir="$(moddir "$iw" sigs.k8s.io/kwok)"
  [[ -d "$kwdir/kustomize" ]] || (cd "$iw" && GOFLAGS=-mod=readonly go mod download sigs.k8s.io/kwok)
  kwdir="$(moddir "$iw" sigs.k8s.io/kwok)"
  build_assets "$iver" "$idir" "$kwver" "$kwdir"
  exec 9>&-
  log "build done in $((SECONDS - START))s; bin dir: $BIN"
}

# Assets: $CACHE/assets@<istio>-<kwok>/{istio-crds.yaml,istiod.yaml,kwok-stages.yaml,proxy-image}
build_assets() {
  local iver="$1" idir="$2" kwver="$3" kwdir="$4"
  local out="$CACHE/assets@$iver-$kwver" k st
  local sets=(--set profile=default --set values.defaultRevision=default
    --set values.istiodRemote.injectionURL=https://localhost:15017/inject
    --set values.base.validationURL=https://localhost:15017/validate)
  k="$(key "$CACHE/istioctl@$iver/build.key" "${sets[*]}" "$kwver" "assets-v2")"
  if up_to_date "$out" "$k"; then log "assets@$iver-$kwver: cached"; link_assets "$out"; return; fi
  log "assets@$iver-$kwver: Istio CRDs, istiod config (istioctl manifest generate), kwok stages"
  rm -rf "$out"; mkdir -p "$out/gen"
  cp "$idir/manifests/charts/base/files/crd-all.gen.yaml" "$out/istio-crds.yaml"
  chmod u+w "$out/istio-crds.yaml"
  # Cluster-independent render (no kubeconfig): istioctl must not reach any cluster.
  (cd "$out/gen" && KUBECONFIG=/nonexistent "$BIN/istioctl" manifest generate "${sets[@]}" >all.yaml) ||
    die "istioctl manifest generate failed"
  # Keep what an out-of-cluster istiod needs: mesh + injector ConfigMaps, the webhooks (by URL).
  {
    printf 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: istio-system\n'
    select_docs "$out/gen/all.yaml" \
      ConfigMap/istio ConfigMap/istio-sidecar-injector ConfigMap/values \
      MutatingWebhookConfiguration/istio-sidecar-injector \
      ValidatingWebhookConfiguration/istio-validator-istio-system \
      ValidatingWebhookConfiguration/istiod-default-validator
  } >"$out/istiod.yaml"
  local n
  n="$(grep -c '^kind:' "$out/istiod.yaml")"
  ((n >= 6)) || die "istiod config has $n objects (want >= 6); see $out/gen/all.yaml"
  grep -q 'url: https://localhost:15017/inject' "$out/istiod.yaml" || die "injection webhook has no URL clientConfig"
  grep -q 'url: https://localhost:15017/validate' "$out/istiod.yaml" || die "validation webhook has no URL clientConfig"
  # kwok v0.8.0 has no built-in stages: node initialize + lease heartbeat + the general pod lifecycle.
  {
    for st in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
      pod/general/pod-create.yaml pod/general/pod-init-container-running.yaml \
      pod/general/pod-init-container-completed.yaml pod/general/pod-ready.yaml \
      pod/general/pod-complete.yaml pod/general/pod-delete.yaml; do
      [[ -f "$kwdir/kustomize/stage/$st" ]] || die "kwok module lacks kustomize/stage/$st"
      echo "---"; echo "# from sigs.k8s.io/kwok@$kwver kustomize/stage/$st"; cat "$kwdir/kustomize/stage/$st"
    done
  } >"$out/kwok-stages.yaml"
  # The image istiod injects (<hub>/proxyv2:<tag> from istioctl's build info; smoke.sh checks it).
  grep -q "\"hub\": \"$ISTIO_HUB\"" "$out/istiod.yaml" && grep -q "\"tag\": \"$ISTIO_TAG\"" "$out/istiod.yaml" ||
    die "istiod config does not carry hub $ISTIO_HUB / tag $ISTIO_TAG"
  echo "$ISTIO_HUB/proxyv2:$ISTIO_TAG" >"$out/proxy-image"
  rm -rf "$out/gen"
  echo "$k" >"$out/build.key"
  link_assets "$out"
  log "assets: $(grep -c '^kind: CustomResourceDefinition' "$out/istio-crds.yaml") CRDs, $n istiod objects, $(grep -c '^kind: Stage' "$out/kwok-stages.yaml") kwok Stages"
}
link_assets() { ln -sfn "$1" "$CACHE/assets"; }

# select_docs <file> <Kind/name>...: print the YAML documents with those kinds and names
select_docs() {
  local f="$1"; shift
  awk -v want="$*" '
    BEGIN { n = split(want, w, " "); for (i = 1; i <= n; i++) keep[w[i]] = 1 }
    function flush() { if (kind != "" && ((kind "/" name) in keep)) printf "---\n%s", doc; doc = ""; kind = ""; name = ""; inmeta = 0 }
    /^---/ { flush(); next }
    { doc = doc $0 "\n" }
    /^kind:/ { kind = $2 }
    /^metadata:/ { inmeta = 1; next }
    /^[^ #]/ { inmeta = 0 }
    inmeta && /^  name:/ { name = $2 }
    END { flush() }' "$f"
}

ensure_built() {
  if [[ -n "${LIVE_CLUSTER_BIN:-}" ]]; then
    local t
    for t in etcd kube-apiserver kube-controller-manager kube-scheduler kwok pilot-discovery istioctl xdsprobe grpcsplit; do
      [[ -x "$BIN/$t" ]] || die "LIVE_CLUSTER_BIN=$BIN has no $t"
    done
    [[ -f "$CACHE/assets/istio-crds.yaml" ]] || die "no assets in $CACHE/assets (run build once without LIVE_CLUSTER_BIN)"
  else
    cmd_build
  fi
}

# ============================================================================
# API access (curl with the admin client cert; no kubectl needed)
# ============================================================================
PKI="$RUN/pki"
API="https://127.0.0.1:$P_API"

# api <method> <path> [curl args...]: prints the body; returns 0 on 2xx, 1 otherwise
api() {
  local m="$1" p="$2"; shift 2
  local out code
  out="$(curl -sS --max-time 30 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
    -X "$m" -w '\n%{http_code}' "$@" "$API$p")" || return 1
  code="${out##*$'\n'}"
  printf '%s' "${out%$'\n'*}"
  [[ "$code" == 2* ]]
}

# path_of <doc-file>: REST path of the object in a single-document YAML file
path_of() {
  awk '
    /^apiVersion:/ { av = $2 }
    /^kind:/ { kind = $2 }
    /^metadata:/ { inmeta = 1; next }
    /^[^ #]/ { inmeta = 0 }
    inmeta && /^  name:/ { name = $2 }
    inmeta && /^  namespace:/ { ns = $2 }
    END {
      if (kind == "" || name == "") exit 1
      gsub(/"/, "", name); gsub(/"/, "", ns)
      p = (av ~ /\//) ? "/apis/" av : "/api/" av
      if (ns != "") p = p "/namespaces/" ns
      print p "/" tolower(kind) "s/" name
    }' "$1"
}

# apply_file <yaml>: server-side apply of every document (field manager live-cluster)
apply_file() {
  local f="$1" d doc p n=0 err
  d="$(mktemp -d "$RUN/apply.XXXXXX")"
  awk -v d="$d" 'BEGIN { n = 0 } /^---/ { n++; next } { print > (d "/" sprintf("%04d", n) ".yaml") }' "$f"
  for doc in "$d"/*.yaml; do
    grep -q '^kind:' "$doc" || continue
    p="$(path_of "$doc")" || die "cannot tell the object in a document of $f"
    if ! err="$(api PATCH "$p?fieldManager=live-cluster&force=true" \
      -H 'Content-Type: application/apply-patch+yaml' --data-binary "@$doc")"; then
      rm -rf "$d"; die "apply $p failed: $err"
    fi
    n=$((n + 1))
  done
  rm -rf "$d"
  log "applied $n objects from $(basename "$f")"
}

# ============================================================================
# processes
# ============================================================================
pidfile() { echo "$RUN/pids/$1.pid"; }
logfile() { echo "$RUN/logs/$1.log"; }

# running <component>: its PID file names a live process running our binary
running() {
  local pf pid exe
  pf="$(pidfile "$1")"
  [[ -f "$pf" ]] || return 1
  pid="$(cat "$pf")"
  [[ -n "$pid" && -d "/proc/$pid" ]] || return 1
  exe="$(readlink "/proc/$pid/exe" 2>/dev/null || true)"
  [[ "$(basename "${exe% (deleted)}")" == "$(binary_of "$1")" ]]
}
binary_of() { case "$1" in istiod) echo pilot-discovery ;; *) echo "$1" ;; esac; }

# start <component> <binary> [args...]: detached (own session), PID file, log file.
# Extra environment for the process comes from the array START_ENV.
START_ENV=()
start() {
  local c="$1" b="$2"; shift 2
  running "$c" && die "$c already runs (PID $(cat "$(pidfile "$c")")); run 'down' first"
  mkdir -p "$RUN/pids" "$RUN/logs"
  local cwd="$RUN/work/$c"
  mkdir -p "$cwd"
  (cd "$cwd" && exec setsid env "${START_ENV[@]}" bash -c 'echo $$ >"$0"; exec "$@"' \
    "$(pidfile "$c")" "$BIN/$b" "$@" </dev/null >"$(logfile "$c")" 2>&1 9>&-) &
  local i
  for i in $(seq 1 50); do [[ -s "$(pidfile "$c")" ]] && break; sleep 0.1; done
  START_ENV=()
  log "$c started (PID $(cat "$(pidfile "$c")"), log $(logfile "$c"))"
}

# wait_for <component> <what> <command...>: retry until the command succeeds
wait_for() {
  local c="$1" what="$2"; shift 2
  local t0=$SECONDS
  while ! "$@" >/dev/null 2>&1; do
    if [[ "$c" != - ]] && ! running "$c"; then
      tail -n 20 "$(logfile "$c")" >&2 || true
      die "$c exited while waiting for $what; log: $(logfile "$c")"
    fi
    if ((SECONDS - t0 >= TIMEOUT)); then
      if [[ "$c" == - ]]; then die "timed out after ${TIMEOUT}s waiting for $what"; fi
      tail -n 20 "$(logfile "$c")" >&2 || true
      die "timed out after ${TIMEOUT}s waiting for $what ($c; log: $(logfile "$c"))"
    fi
    sleep 0.5
  done
  log "$what: ok after $((SECONDS - t0))s"
}

# stop <component>...: SIGTERM to all of them at once, wait (10 s, then SIGKILL), remove PID files
stop() {
  local c pid i names=() pids=()
  for c in "$@"; do
    if running "$c"; then
      pid="$(cat "$(pidfile "$c")")"
      kill -TERM "$pid" 2>/dev/null || true
      names+=("$c"); pids+=("$pid")
    else
      rm -f "$(pidfile "$c")"
    fi
  done
  for i in "${!pids[@]}"; do
    pid="${pids[i]}" c="${names[i]}"
    local n
    for n in $(seq 1 100); do [[ -d "/proc/$pid" ]] || break; sleep 0.1; done
    if [[ -d "/proc/$pid" ]]; then
      log "$c (PID $pid) ignored SIGTERM for 10s; SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      for n in $(seq 1 50); do [[ -d "/proc/$pid" ]] || break; sleep 0.1; done
    fi
    rm -f "$(pidfile "$c")"
    log "$c stopped (PID $pid)"
  done
}

port_busy() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

# ============================================================================
# certificates and kubeconfigs
# ============================================================================
cert() { # cert <name> <subject> [san]
  local n="$1" subj="$2" san="${3:-}"
  openssl genrsa -out "$PKI/$n.key" 2048 2>/dev/null
  openssl req -new -key "$PKI/$n.key" -subj "$subj" -out "$PKI/$n.csr" 2>/dev/null
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    if [[ -n "$san" ]]; then echo "extendedKeyUsage=serverAuth,clientAuth"; echo "subjectAltName=$san"
    else echo "extendedKeyUsage=clientAuth"; fi
  } >"$PKI/$n.ext"
  openssl x509 -req -in "$PKI/$n.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 3650 -sha256 -extfile "$PKI/$n.ext" -out "$PKI/$n.crt" 2>/dev/null
  rm -f "$PKI/$n.csr" "$PKI/$n.ext"
}

kubeconfig() { # kubeconfig <client-cert-name> <user> <out>
  local b64="base64 -w0"
  cat >"$3" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: live-cluster
  cluster:
    server: $API
    certificate-authority-data: $($b64 <"$PKI/ca.crt")
users:
- name: $2
  user:
    client-certificate-data: $($b64 <"$PKI/$1.crt")
    client-key-data: $($b64 <"$PKI/$1.key")
contexts:
- name: live-cluster
  context:
    cluster: live-cluster
    user: $2
current-context: live-cluster
EOF
  chmod 600 "$3"
}

make_pki() {
  # Kept across up/down (regenerated when the apiserver port changed or after `clean`).
  if [[ -f "$PKI/ca.crt" && -f "$PKI/port" && "$(cat "$PKI/port")" == "$P_API" ]]; then return; fi
  rm -rf "$PKI"; mkdir -p "$PKI"; chmod 700 "$PKI"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$PKI/ca.key" -out "$PKI/ca.crt" -days 3650 \
    -subj "/CN=live-cluster-ca" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
  cert apiserver "/CN=kube-apiserver" \
    "IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  cert admin "/O=system:masters/CN=live-cluster-admin"
  cert controller-manager "/CN=system:kube-controller-manager"
  cert scheduler "/CN=system:kube-scheduler"
  openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
  openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  kubeconfig admin live-cluster-admin "$PKI/admin.kubeconfig"
  kubeconfig controller-manager system:kube-controller-manager "$PKI/controller-manager.kubeconfig"
  kubeconfig scheduler system:kube-scheduler "$PKI/scheduler.kubeconfig"
  echo "$P_API" >"$PKI/port"
  log "certificates and kubeconfigs in $PKI"
}

# ============================================================================
# up / down
# ============================================================================
readyz() { [[ "$(api GET /readyz)" == ok ]]; }
healthz() { [[ "$(curl -sk --max-time 5 "https://127.0.0.1:$1/healthz")" == ok ]]; }
etcd_health() { curl -s --max-time 5 "http://127.0.0.1:$P_ETCD/health" | grep -q '"health":"true"'; }
# Ready, and without taints (node-lifecycle puts node.kubernetes.io/not-ready on it until then)
node_ready() {
  api GET "/api/v1/nodes/$NODE_NAME" |
    jq -e '((.status.conditions // []) | any(.type=="Ready" and .status=="True")) and ((.spec.taints // []) | length == 0)' >/dev/null
}
default_sa() { api GET /api/v1/namespaces/default/serviceaccounts/default >/dev/null; }

cmd_up() {
  local istio=1
  [[ "${1:-}" == --no-istio ]] && istio=0
  ensure_built
  local c p
  for c in "${COMPONENTS[@]}"; do running "$c" && die "$c already runs (PID $(cat "$(pidfile "$c")")); run '$0 down' first"; done
  for p in "${ALL_PORTS[@]}"; do
    port_busy "$p" && die "port 127.0.0.1:$p is in use ($(ss -Hltnp "sport = :$p" | awk '{print $NF}' | head -1)); another fixture? set LIVE_CLUSTER_PORT_OFFSET"
  done
  local t_up=$SECONDS
  # A failed `up` stops what it started (logs stay), unless LIVE_CLUSTER_KEEP_ON_FAILURE=1.
  trap 'up_failed' EXIT
  mkdir -p "$RUN"
  rm -rf "$RUN/etcd-data" "$RUN/work" "$RUN/logs" "$RUN/apply."*
  make_pki
  cp "$PKI/admin.kubeconfig" "$RUN/kubeconfig"

  start etcd etcd --name live --data-dir "$RUN/etcd-data" \
    --listen-client-urls "http://127.0.0.1:$P_ETCD" --advertise-client-urls "http://127.0.0.1:$P_ETCD" \
    --listen-peer-urls "http://127.0.0.1:$P_ETCD_PEER" --initial-advertise-peer-urls "http://127.0.0.1:$P_ETCD_PEER" \
    --initial-cluster "live=http://127.0.0.1:$P_ETCD_PEER" --listen-metrics-urls "http://127.0.0.1:$P_ETCD_METRICS" \
    --quota-backend-bytes=2147483648 --unsafe-no-fsync=true --log-level=warn
  wait_for etcd "etcd /health" etcd_health

  start kube-apiserver kube-apiserver --etcd-servers="http://127.0.0.1:$P_ETCD" \
    --bind-address=127.0.0.1 --secure-port="$P_API" --advertise-address=127.0.0.1 \
    --endpoint-reconciler-type=none --cert-dir="$RUN/work/kube-apiserver" \
    --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" --client-ca-file="$PKI/ca.crt" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
    --api-audiences=https://kubernetes.default.svc.cluster.local,istio-ca \
    --service-cluster-ip-range=10.96.0.0/16 --authorization-mode=RBAC --allow-privileged=true --profiling=false
  wait_for kube-apiserver "kube-apiserver /readyz" readyz

  start kube-controller-manager kube-controller-manager \
    --kubeconfig="$PKI/controller-manager.kubeconfig" \
    --authentication-kubeconfig="$PKI/controller-manager.kubeconfig" \
    --authorization-kubeconfig="$PKI/controller-manager.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port="$P_KCM" --cert-dir="$RUN/work/kube-controller-manager" \
    --service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" \
    --use-service-account-credentials=true --leader-elect=false \
    --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
    --controllers='*,-nodeipam,-service-lb-controller,-cloud-node-lifecycle' --profiling=false
  start kube-scheduler kube-scheduler --kubeconfig="$PKI/scheduler.kubeconfig" \
    --authentication-kubeconfig="$PKI/scheduler.kubeconfig" --authorization-kubeconfig="$PKI/scheduler.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port="$P_SCHED" --cert-dir="$RUN/work/kube-scheduler" \
    --leader-elect=false --profiling=false
  start kwok kwok --kubeconfig="$PKI/admin.kubeconfig" --config="$CACHE/assets/kwok-stages.yaml" \
    --manage-all-nodes=false --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
    --cidr=10.244.0.1/16 --node-ip=10.0.0.10 --node-lease-duration-seconds=40
  wait_for kube-controller-manager "kube-controller-manager /healthz" healthz "$P_KCM"
  wait_for kube-scheduler "kube-scheduler /healthz" healthz "$P_SCHED"

  # The fake node: kwok manages it (annotation); NO taints, so unmodified Deployments
  # (no tolerations, no nodeSelector) schedule onto it. kubeletVersion is left to kwok
  # (kwok-v0.8.0): istiod then injects the classic istio-proxy sidecar into `containers`.
  cat >"$RUN/node.yaml" <<EOF
apiVersion: v1
kind: Node
metadata:
  name: $NODE_NAME
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/hostname: $NODE_NAME
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    type: kwok
    live-cluster.asm-canary/fake-node: "true"
spec: {}
status:
  allocatable: { cpu: "32", memory: 128Gi, pods: "110" }
  capacity: { cpu: "32", memory: 128Gi, pods: "110" }
EOF
  apply_file "$RUN/node.yaml"
  wait_for kwok "node $NODE_NAME Ready, untainted (kwok)" node_ready
  wait_for kube-controller-manager "default ServiceAccount (controller-manager)" default_sa

  log "Kubernetes up in $((SECONDS - t_up))s"
  if ((istio)); then cmd_istio_up; fi
  trap - EXIT
  log "up in $((SECONDS - t_up))s; kubeconfig: $RUN/kubeconfig"
  echo "$RUN/kubeconfig"
}

up_failed() {
  local rc=$?
  trap - EXIT
  if [[ "${LIVE_CLUSTER_KEEP_ON_FAILURE:-0}" == 1 ]]; then
    log "up failed; LIVE_CLUSTER_KEEP_ON_FAILURE=1: leaving the started components running (logs: $RUN/logs)"
  else
    log "up failed; stopping what was started (logs stay in $RUN/logs)"
    (cmd_down) || true
  fi
  exit "$rc"
}

istio_crd_names() { awk '/^kind: CustomResourceDefinition/{c=1} c && /^  name:/{print $2; c=0}' "$CACHE/assets/istio-crds.yaml"; }
crds_established() {
  local n
  for n in $(istio_crd_names); do
    api GET "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/$n" |
      jq -e '.status.conditions[]? | select(.type=="Established") | .status=="True"' >/dev/null || return 1
  done
}
# istiod patched the caBundles and switched the validator to failurePolicy Fail
webhooks_ready() {
  api GET /apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/istio-sidecar-injector |
    jq -e '[.webhooks[].clientConfig.caBundle // ""] | all(length > 0)' >/dev/null || return 1
  api GET /apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/istiod-default-validator |
    jq -e '[.webhooks[] | (.clientConfig.caBundle // "" | length > 0) and .failurePolicy == "Fail"] | all' >/dev/null
}
istiod_ready() { [[ "$(curl -s --max-time 5 "http://127.0.0.1:$P_HTTP/ready" -o /dev/null -w '%{http_code}')" == 200 ]]; }

cmd_istio_up() {
  readyz 2>/dev/null || die "the cluster is not up (no /readyz at $API); run '$0 up --no-istio' first"
  [[ -f "$CACHE/assets/istiod.yaml" ]] || ensure_built
  running istiod && die "istiod already runs (PID $(cat "$(pidfile istiod)"))"
  local t0=$SECONDS
  apply_file "$CACHE/assets/istio-crds.yaml"
  wait_for - "Istio CRDs Established" crds_established
  if ((OFF != 0)); then
    sed "s#https://localhost:15017/#https://localhost:$P_WEBHOOK/#" "$CACHE/assets/istiod.yaml" >"$RUN/istiod.yaml"
  else
    cp "$CACHE/assets/istiod.yaml" "$RUN/istiod.yaml"
  fi
  apply_file "$RUN/istiod.yaml"
  START_ENV=(POD_NAMESPACE=istio-system POD_NAME=istiod-live REVISION=default ISTIOD_CUSTOM_HOST=localhost
    PILOT_CERT_PROVIDER=istiod CLUSTER_ID=Kubernetes PILOT_ENABLE_GATEWAY_API=false KUBECONFIG="$PKI/admin.kubeconfig")
  start istiod pilot-discovery discovery --kubeconfig "$PKI/admin.kubeconfig" \
    --httpAddr "127.0.0.1:$P_HTTP" --httpsAddr "127.0.0.1:$P_WEBHOOK" --grpcAddr "127.0.0.1:$P_GRPC" \
    --secureGRPCAddr "127.0.0.1:$P_SGRPC" --monitoringAddr "127.0.0.1:$P_MON" \
    --ctrlz_address 127.0.0.1 --ctrlz_port "$P_CTRLZ"
  wait_for istiod "istiod /ready" istiod_ready
  wait_for istiod "istiod webhooks (caBundle patched, validator failurePolicy Fail)" webhooks_ready
  log "Istio up in $((SECONDS - t0))s (proxy image $(cat "$CACHE/assets/proxy-image"))"
}

gone() { ! api GET "$1" >/dev/null 2>&1; }
crds_gone() {
  local n
  for n in $(istio_crd_names); do gone "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/$n" || return 1; done
}

cmd_istio_down() {
  stop istiod
  if readyz 2>/dev/null; then
    local p n
    # Webhooks first: with istiod gone they would refuse (failurePolicy Fail) pods and Istio objects.
    for p in /apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/istio-sidecar-injector \
      /apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/istio-validator-istio-system \
      /apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/istiod-default-validator; do
      api DELETE "$p" >/dev/null 2>&1 || true
    done
    api DELETE /api/v1/namespaces/istio-system >/dev/null 2>&1 || true
    for n in $(istio_crd_names); do
      api DELETE "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/$n" >/dev/null 2>&1 || true
    done
    wait_for - "namespace istio-system deleted" gone /api/v1/namespaces/istio-system
    wait_for - "Istio CRDs deleted" crds_gone
  fi
  log "Istio down"
}

cmd_down() {
  local c p left=0
  # The API clients together, then the apiserver, then etcd.
  stop istiod kwok kube-scheduler kube-controller-manager
  stop kube-apiserver
  stop etcd
  for p in "${ALL_PORTS[@]}"; do
    if port_busy "$p"; then log "WARNING: 127.0.0.1:$p still listening: $(ss -Hltnp "sport = :$p")"; left=1; fi
  done
  # Any of our binaries still running with this run directory on its command line?
  for c in "${COMPONENTS[@]}"; do
    if pgrep -f "^$BIN/$(binary_of "$c") .*$RUN/" >/dev/null 2>&1; then
      log "WARNING: still running: $(pgrep -af "^$BIN/$(binary_of "$c") .*$RUN/")"; left=1
    fi
  done
  ((left == 0)) || die "something is still running (see above)"
  log "down: nothing left running (checked PIDs, ports ${ALL_PORTS[*]})"
}

cmd_status() {
  local c pid rss
  printf '%-24s %-8s %-9s %s\n' COMPONENT PID RSS_MB LOG
  for c in "${COMPONENTS[@]}"; do
    if running "$c"; then
      pid="$(cat "$(pidfile "$c")")"
      rss="$(awk '/^VmRSS:/{printf "%d", $2/1024}' "/proc/$pid/status")"
      printf '%-24s %-8s %-9s %s\n' "$c" "$pid" "$rss" "$(logfile "$c")"
    else
      printf '%-24s %-8s %-9s %s\n' "$c" - - "(not running)"
    fi
  done
  if readyz 2>/dev/null; then echo "apiserver: $API ready; kubeconfig: $RUN/kubeconfig"
  else echo "apiserver: $API not ready"; fi
}

main() {
  local cmd="${1:-}"
  shift || true
  case "$cmd" in
    build) cmd_build ;;
    up) cmd_up "$@" ;;
    istio-up) cmd_istio_up ;;
    istio-down) cmd_istio_down ;;
    down) cmd_down ;;
    status) cmd_status ;;
    kubeconfig) echo "$RUN/kubeconfig" ;;
    clean) cmd_down; rm -rf "$RUN"; log "removed $RUN" ;;
    *) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
}

main "$@"; exit $?
