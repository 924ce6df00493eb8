#!/usr/bin/env bash
# Fleet benchmark (README, "Running a fleet"): one gateway
# (collector/config/gateway.yaml) in front of 1, 2 and 3 evaluators
# (collector/config/evaluator.yaml) sharing one Redis, all on loopback.
# For each size, bench/loadgen (a real OTLP gRPC client) sends flat out to
# the gateway for DURATION over SERVICES services; the run ends when the
# gateway's queue has drained into the evaluators. It prints the spans/s
# the fleet evaluated end to end, the evaluators' CPU seconds per million
# spans (all of them together) and the gateway's own.
#
#   bench/fleet.sh [DURATION] [SERVICES]     defaults: 20s 20
#
# On a machine with fewer cores than processes, the processes share the
# cores: the figures then say what each span costs, not how far a fleet of
# real machines scales.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-20s}
services=${2:-20}

make -s build
go build -o bin/loadgen ./bench/loadgen
command -v redis-server >/dev/null || { echo "redis-server is missing: apt-get install redis-server" >&2; exit 1; }

# Every process gets addresses of its own (each evaluator its console
# too), away from the defaults of a Vigil already running; a PagerDuty key
# in the environment is dropped, so a bench never pages.
unset PAGERDUTY_ROUTING_KEY
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
tck=$(getconf CLK_TCK)

# cpu PID: CPU seconds (user + system) of a process so far.
cpu() { awk -v t="$tck" '{ sub(/.*\) /, ""); split($0, f, " "); printf "%.3f", (f[12] + f[13]) / t }' "/proc/$1/stat"; }

wait_healthy() {
  for _ in $(seq 300); do curl -fs "http://127.0.0.1:$1/" >/dev/null && return 0; sleep 0.1; done
  echo "no health on port $1" >&2; exit 1
}

# metric URL NAME: sum of a self-telemetry metric's series.
metric() { curl -fs "$1" | awk -v n="$2" '$1 ~ "^"n"({|$)" { s += $2 } END { printf "%.0f", s }'; }

echo "machine: $(nproc) cores, $(go version | cut -d' ' -f3), $(date -u +%FT%TZ); $duration flat out over $services services"
printf '%-11s %12s %14s %22s %20s\n' evaluators spans "spans/s e2e" "evaluators CPU s/1M" "gateway CPU s/1M"
for n in 1 2 3; do
  dir=$work/run$n
  mkdir -p "$dir"
  redis-server --bind 127.0.0.1 --port 16379 --save "" --appendonly no --dir "$dir" >"$dir/redis.log" 2>&1 &
  redis=$!
  pids+=("$redis")
  evs=()
  list=()
  for i in $(seq "$n"); do
    VIGIL_STORE_ENDPOINT=127.0.0.1:16379 VIGIL_OTLP_GRPC_ENDPOINT=127.0.0.1:$((25317 + i)) \
    VIGIL_OTLP_HTTP_ENDPOINT=127.0.0.1:$((25417 + i)) VIGIL_PROMETHEUS_ENDPOINT=127.0.0.1:$((25517 + i)) \
    VIGIL_TELEMETRY_HOST=127.0.0.1 VIGIL_TELEMETRY_PORT=$((25617 + i)) VIGIL_HEALTH_ENDPOINT=127.0.0.1:$((25717 + i)) \
    VIGIL_CONSOLE_ENDPOINT=127.0.0.1:$((25817 + i)) \
    VIGIL_LOG_LEVEL=warn bin/vigil --config collector/config/evaluator.yaml >"$dir/evaluator$i.log" 2>&1 &
    evs+=($!)
    pids+=($!)
    list+=("127.0.0.1:$((25317 + i))")
    wait_healthy $((25717 + i))
  done
  VIGIL_EVALUATORS="[$(IFS=,; echo "${list[*]}")]" VIGIL_STORAGE_DIR=$dir/gateway \
  VIGIL_OTLP_GRPC_ENDPOINT=127.0.0.1:24317 VIGIL_OTLP_HTTP_ENDPOINT=127.0.0.1:24318 \
  VIGIL_TELEMETRY_HOST=127.0.0.1 VIGIL_TELEMETRY_PORT=28888 VIGIL_HEALTH_ENDPOINT=127.0.0.1:23133 \
  VIGIL_LOG_LEVEL=warn bin/vigil --config collector/config/gateway.yaml >"$dir/gateway.log" 2>&1 &
  gw=$!
  pids+=("$gw")
  wait_healthy 23133

  gw0=$(cpu "$gw")
  ev0=0; for p in "${evs[@]}"; do ev0=$(echo "$ev0 + $(cpu "$p")" | bc); done
  start=$(date +%s.%N)
  bin/loadgen -endpoint 127.0.0.1:24317 -duration "$duration" -rate 0 -services "$services" -telemetry "" >"$dir/loadgen.out"
  spans=$(awk '/^spans acknowledged/ { print $3 }' "$dir/loadgen.out")
  # Drained: every evaluator together accepted what the gateway accepted.
  for _ in $(seq 1200); do
    got=0; for i in $(seq "$n"); do got=$((got + $(metric "http://127.0.0.1:$((25617 + i))/metrics" otelcol_receiver_accepted_spans))); done
    [ "$got" -ge "$spans" ] && break
    sleep 0.5
  done
  end=$(date +%s.%N)
  gw1=$(cpu "$gw")
  ev1=0; for p in "${evs[@]}"; do ev1=$(echo "$ev1 + $(cpu "$p")" | bc); done
  awk -v n="$n" -v s="$spans" -v t="$(echo "$end - $start" | bc)" -v e="$(echo "$ev1 - $ev0" | bc)" -v g="$(echo "$gw1 - $gw0" | bc)" \
    'BEGIN { printf "%-11d %12d %14.0f %22.2f %20.2f\n", n, s, s / t, e / s * 1e6, g / s * 1e6 }'
  for p in "$gw" "${evs[@]}" "$redis"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  pids=()
done
