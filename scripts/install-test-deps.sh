#!/usr/bin/env bash
# Installs the real servers and tools the test suite runs against, on a
# fresh Debian machine. Idempotent: what is already there is kept.
#
#   Prometheus, promtool           Debian package prometheus
#   Alertmanager, amtool           Debian package prometheus-alertmanager
#   ClickHouse's engine (chdb)     npm package chdb, into $VIGIL_CHDB_DIR
#                                  (needs Node.js and npm: Debian nodejs, npm)
#   Docker engine, Compose v1      Debian packages docker.io, docker-compose
#                                  (compose file check, CI image build)
#   Loki                           built from github.com/grafana/loki/v3 into
#                                  $VIGIL_CACHE_DIR/loki (minutes, once)
#
# The packages' own services are not started: each test starts the servers
# it needs on loopback ports of its own.
set -euo pipefail

sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi

need=()
for tool in prometheus promtool; do command -v "$tool" >/dev/null || need+=(prometheus); done
for tool in prometheus-alertmanager amtool; do command -v "$tool" >/dev/null || need+=(prometheus-alertmanager); done
command -v dockerd >/dev/null || need+=(docker.io)
command -v docker-compose >/dev/null || need+=(docker-compose)
command -v curl >/dev/null || need+=(curl)
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)

if [ ${#need[@]} -gt 0 ]; then
  mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
  echo "installing Debian packages: ${need[*]}"
  # Keep the packages' init scripts from starting services during install.
  policy=/usr/sbin/policy-rc.d
  created_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod +x "$policy"
    created_policy=1
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  if [ -n "$created_policy" ]; then $sudo rm -f "$policy"; fi
fi

for tool in prometheus promtool prometheus-alertmanager amtool node npm dockerd docker-compose; do
  command -v "$tool" >/dev/null || { echo "install-test-deps: $tool is still missing" >&2; exit 1; }
done
echo "test servers: $(prometheus --version 2>&1 | head -1); $(prometheus-alertmanager --version 2>&1 | head -1)"

here=$(dirname "$0")
"$here/chdb/install.sh"
LOKI_BUILD_P=${LOKI_BUILD_P:-$(nproc)} "$here/loki/install.sh"
