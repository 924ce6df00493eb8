#!/usr/bin/env bash
# Load run for the embedded default: builds vigil, starts it on loopback,
# drives it with bench/loadgen (a real OTLP gRPC client) flat out and at a
# fixed rate, and prints spans/s sustained, CPU seconds per million spans and
# peak RSS for each run.
#
#   bench/run.sh [DURATION] [RATE]      defaults: 30s 50000
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-30s}
rate=${2:-50000}

make -s build
go build -o bin/loadgen ./bench/loadgen

work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
# Every address the embedded default listens on is moved, so the run does
# not clash with a Vigil already running on the defaults (`make run`); a
# PagerDuty key in the environment is dropped, so a bench never pages.
export VIGIL_STORAGE_DIR=$work/data VIGIL_OTLP_GRPC_ENDPOINT=127.0.0.1:14317 VIGIL_OTLP_HTTP_ENDPOINT=127.0.0.1:14318 \
  VIGIL_PROMETHEUS_ENDPOINT=127.0.0.1:18889 VIGIL_TELEMETRY_HOST=127.0.0.1 VIGIL_TELEMETRY_PORT=18888 \
  VIGIL_HEALTH_ENDPOINT=127.0.0.1:23133 VIGIL_CONSOLE_ENDPOINT=127.0.0.1:19094 VIGIL_LOG_LEVEL=warn
unset PAGERDUTY_ROUTING_KEY

run() {
  bin/vigil >"$work/vigil.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -fs http://127.0.0.1:23133/ >/dev/null && break; sleep 0.1; done
  echo "== $1"
  bin/loadgen -endpoint 127.0.0.1:14317 -telemetry http://127.0.0.1:18888/metrics -pid "$pid" -duration "$duration" "${@:2}"
  kill -TERM "$pid" 2>/dev/null || { echo "vigil exited early:"; tail -20 "$work/vigil.log"; }; wait "$pid" || true
}

echo "machine: $(nproc) cores, $(go version | cut -d' ' -f3), $(date -u +%FT%TZ)"
run "flat out" -rate 0
run "fixed rate $rate spans/s" -rate "$rate"
