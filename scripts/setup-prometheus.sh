#!/usr/bin/env bash
# Installs the Prometheus server that `npm run test:promote` (tests/e2e/promote.test.ts) starts on 127.0.0.1:
# Debian's package (2.42 on bookworm). Idempotent: does nothing when /usr/bin/prometheus exists.
# The package's systemd unit is not used (there is no systemd here); the test starts the binary itself
# with a temporary TSDB and stops it by PID.
set -euo pipefail
if [[ -x /usr/bin/prometheus ]]; then
  echo "prometheus: $(/usr/bin/prometheus --version 2>&1 | head -1)"
  exit 0
fi
SUDO=""
if [[ "$(id -u)" != 0 ]]; then
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# --no-install-recommends: the server only (no node exporter, no web UI extras).
$SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
# (Without systemd the package does not start its service: nothing is left running.)
echo "prometheus: $(/usr/bin/prometheus --version 2>&1 | head -1)"
