#!/usr/bin/env bash
# Smoke test of the live-cluster test fixture (tools/live-cluster.sh), with curl + jq
# against the API only (no kubectl):
#   up --no-istio -> /readyz, /version, no Istio API -> istio-up -> injected Deployment
#   Available on the kwok node, invalid VirtualService refused by istiod, valid one
#   accepted -> istio-down (Istio API gone) -> down (nothing left running).
# Ends with "N passed, N failed"; exits non-zero on any failure. Runs `down` at the end
# (also after a failed check) if its own `up` succeeded.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LC="$HERE/../live-cluster.sh"
NS=smoke-mesh
PASS=0 FAIL=0
T0=$SECONDS

say() { printf '[smoke +%4ds] %s\n' "$((SECONDS - T0))" "$*"; }
ok() { PASS=$((PASS + 1)); say "PASS $*"; }
ko() { FAIL=$((FAIL + 1)); say "FAIL $*"; }
check() { local what="$1"; shift; if "$@"; then ok "$what"; else ko "$what"; fi; }

UP=0
finish() {
  trap - EXIT
  # Only a fixture this script brought up is taken down (a failed `up` cleans up after itself).
  if ((UP)); then "$LC" down || ko "down left something running"; fi
  echo "smoke: $PASS passed, $FAIL failed"
  ((FAIL == 0))
  exit $?
}
trap finish EXIT

# --- client from the kubeconfig the fixture prints (as a consumer would use it) ---
t_up=$SECONDS
KC="$("$LC" up --no-istio | tail -1)" || { ko "up --no-istio"; exit 1; }
UP=1
ok "up --no-istio in $((SECONDS - t_up))s; kubeconfig $KC"
TMP="$(mktemp -d)"
field() { awk -v k="$1:" '$1 == k { print $2; exit }' "$KC" | base64 -d >"$TMP/$2"; }
field certificate-authority-data ca.crt
field client-certificate-data client.crt
field client-key-data client.key
SERVER="$(awk '$1 == "server:" { print $2; exit }' "$KC")"

# k <method> <path> [body-json]: body on stdout, HTTP code in $TMP/code
k() {
  local args=(-sS --max-time 30 --cacert "$TMP/ca.crt" --cert "$TMP/client.crt" --key "$TMP/client.key"
    -X "$1" -o "$TMP/body" -w '%{http_code}')
  [[ $# -ge 3 ]] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
  curl "${args[@]}" "$SERVER$2" >"$TMP/code" || echo 000 >"$TMP/code"
  cat "$TMP/body"
}
code() { cat "$TMP/code"; }
# until_ok <seconds> <command...>
until_ok() { local n="$1" t=$SECONDS; shift; while ! "$@" >/dev/null 2>&1; do ((SECONDS - t < n)) || return 1; sleep 1; done; }

check "/readyz is ok" test "$(k GET /readyz)" = ok
check "/version is v1.36.3" test "$(k GET /version | jq -r .gitVersion)" = v1.36.3
k GET /apis/networking.istio.io/v1 >/dev/null
check "no Istio API before istio-up (got $(code))" test "$(code)" = 404
node="$(k GET /api/v1/nodes)"
check "one Ready kwok node without taints" test "$(jq -r '[.items[] | select(.status.conditions[] | .type=="Ready" and .status=="True") | select((.spec.taints // []) | length == 0)] | length' <<<"$node")" = 1

t_istio=$SECONDS
if "$LC" istio-up; then ok "istio-up in $((SECONDS - t_istio))s"; else ko "istio-up"; exit 1; fi

k POST /api/v1/namespaces "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"$NS\",\"labels\":{\"istio-injection\":\"enabled\"}}}" >/dev/null
check "namespace $NS (istio-injection=enabled) created" test "$(code)" = 201
# ServiceAccount: the pod admission needs the namespace's default ServiceAccount (made by KCM).
has_sa() { k GET "/api/v1/namespaces/$NS/serviceaccounts/default" >/dev/null; [[ "$(code)" == 200 ]]; }
check "default ServiceAccount in $NS (controller-manager)" until_ok 60 has_sa

# A Deployment as the program declares them: no tolerations, no nodeSelector.
dep='{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"hello-v1","labels":{"app":"hello","version":"v1"}},
 "spec":{"replicas":2,"selector":{"matchLabels":{"app":"hello","version":"v1"}},
  "template":{"metadata":{"labels":{"app":"hello","version":"v1"}},
   "spec":{"containers":[{"name":"hello","image":"hashicorp/http-echo:1.0","args":["-text=hello from v1","-listen=:8080"],
    "ports":[{"name":"http","containerPort":8080}]}]}}}}'
t_dep=$SECONDS
k POST "/apis/apps/v1/namespaces/$NS/deployments" "$dep" >/dev/null
check "Deployment created" test "$(code)" = 201
available() { k GET "/apis/apps/v1/namespaces/$NS/deployments/hello-v1" | jq -e '.status.conditions[]? | select(.type=="Available") | .status=="True"' && [[ "$(jq -r '.status.availableReplicas' "$TMP/body")" == 2 ]]; }
if until_ok 90 available; then ok "Deployment Available (2/2) in $((SECONDS - t_dep))s"; else ko "Deployment not Available after 90s: $(jq -c .status "$TMP/body")"; fi
pods="$(k GET "/api/v1/namespaces/$NS/pods?labelSelector=app%3Dhello")"
check "pods on the kwok node" test "$(jq -r '[.items[].spec.nodeName] | unique | join(",")' <<<"$pods")" = kwok-node-0
check "pods Running and Ready" test "$(jq -r '[.items[] | .status.phase=="Running" and (.status.conditions[] | select(.type=="Ready") | .status=="True")] | all' <<<"$pods")" = true
proxy="$(jq -r '[.items[0].spec.containers[], .items[0].spec.initContainers[]?] | map(select(.name=="istio-proxy")) | .[0].image // ""' <<<"$pods")"
where="$(jq -r 'if ([.items[0].spec.containers[].name] | index("istio-proxy")) then "containers" else "initContainers" end' <<<"$pods")"
check "istio-proxy injected ($where, image $proxy)" test -n "$proxy"
check "proxy image is the one the fixture announces" test "$proxy" = "$(cat "${LIVE_CLUSTER_CACHE:-$HOME/.cache/asm-canary/live-cluster}/assets/proxy-image")"

vs() { printf '{"apiVersion":"networking.istio.io/v1","kind":"VirtualService","metadata":{"name":"%s"},"spec":{"hosts":%s,"gateways":["mesh"],"http":[{"route":[{"destination":{"host":"hello"}}]}]}}' "$1" "$2"; }
msg="$(k POST "/apis/networking.istio.io/v1/namespaces/$NS/virtualservices" "$(vs bad '["*"]')" | jq -r .message)"
check "invalid VirtualService (hosts [*] bound to mesh) refused by istiod ($(code): ${msg:0:160})" \
  bash -c '[[ "$1" != 201 && "$2" == *validation.istio.io* ]]' _ "$(code)" "$msg"
k POST "/apis/networking.istio.io/v1/namespaces/$NS/virtualservices" "$(vs good '["hello"]')" >/dev/null
check "valid VirtualService accepted" test "$(code)" = 201

"$LC" status

t_down=$SECONDS
if "$LC" istio-down; then ok "istio-down in $((SECONDS - t_down))s"; else ko "istio-down"; fi
k GET /apis/networking.istio.io/v1 >/dev/null
check "Istio API gone after istio-down (got $(code))" test "$(code)" = 404
k GET /api/v1/namespaces/istio-system >/dev/null
check "istio-system gone after istio-down" test "$(code)" = 404
rm -rf "$TMP"
