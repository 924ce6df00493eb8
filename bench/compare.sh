#!/usr/bin/env bash
# Side-by-side cost per span: Vigil's embedded default (RED metrics, SLOs,
# anomaly detection, alerts) against the contrib anchor doing RED metrics
# alone (otlp → memory_limiter, batch → span_metrics → prometheus; built
# with the OpenTelemetry Collector Builder from bench/anchor/manifest.yaml,
# configured by bench/anchor/config.yaml), under the same load: bench/loadgen,
# batched OTLP gRPC, 200 spans per request, 2 workers, flat out.
#
#   bench/compare.sh [DURATION] [ROUNDS]      defaults: 20s 1
#
# Runs anchor, Vigil, anchor (with ROUNDS > 1: anchor, Vigil, anchor, Vigil,
# ..., anchor, so every Vigil run sits between two anchor runs) and prints
# each run's spans per CPU-second (spans acknowledged / the collector's
# user+system CPU seconds) and the ratio Vigil / anchor. The figure is work
# per unit of CPU, so it does not depend on how many cores the collector got,
# but other load on the machine still moves it: the script prints the load
# average before and after; run it on a quiet machine and repeat.
#
# The anchor is built once, outside the checkout, and cached under
# ~/.cache/vigil/bench (VIGIL_BENCH_CACHE), keyed by the manifest, the ocb
# version and the Go version.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-20s}
rounds=${2:-1}
cache=${VIGIL_BENCH_CACHE:-$HOME/.cache/vigil/bench}
ocb_version=v0.159.0
# Neither collector gets GC settings from the caller's environment.
unset GOGC GOMEMLIMIT GOMAXPROCS

# anchor builds (once) the contrib anchor and prints its path.
anchor() {
  local key bin dir
  key=$( (cat bench/anchor/manifest.yaml; echo "$ocb_version"; go version) | sha256sum | cut -c1-16)
  bin=$cache/otelcol-anchor-$key
  if [ ! -x "$bin" ]; then
    mkdir -p "$cache/bin"
    [ -x "$cache/bin/builder-$ocb_version" ] ||
      { GOBIN=$cache/bin nice go install "go.opentelemetry.io/collector/cmd/builder@$ocb_version" >&2 &&
        mv "$cache/bin/builder" "$cache/bin/builder-$ocb_version"; }
    dir=$(mktemp -d "$cache/build.XXXXXX")
    # The manifest says what to build; where to build it is this run's.
    sed "s#^dist:#dist:\n  output_path: $dir#" bench/anchor/manifest.yaml >"$dir/manifest.yaml"
    echo "building the contrib anchor with ocb $ocb_version in $dir (a few minutes, once)" >&2
    nice "$cache/bin/builder-$ocb_version" --config "$dir/manifest.yaml" >"$dir/ocb.log" 2>&1 ||
      { cat "$dir/ocb.log" >&2; exit 1; }
    mv "$dir/otelcol-anchor" "$bin"
    rm -rf "$dir"
  fi
  echo "$bin"
}

anchor_bin=$(anchor)
make -s build
go build -o bin/loadgen ./bench/loadgen

work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
# Every address is moved (the embedded default's console too), so the runs
# do not clash with a Vigil already running on the defaults; a PagerDuty
# key in the environment is dropped, so a bench never pages.
export VIGIL_STORAGE_DIR=$work/data VIGIL_OTLP_GRPC_ENDPOINT=127.0.0.1:24317 VIGIL_OTLP_HTTP_ENDPOINT=127.0.0.1:24318 \
  VIGIL_PROMETHEUS_ENDPOINT=127.0.0.1:24889 VIGIL_TELEMETRY_HOST=127.0.0.1 VIGIL_TELEMETRY_PORT=24888 \
  VIGIL_HEALTH_ENDPOINT=127.0.0.1:24133 VIGIL_CONSOLE_ENDPOINT=127.0.0.1:24094 VIGIL_LOG_LEVEL=warn
unset PAGERDUTY_ROUTING_KEY

# measure NAME CMD...: starts the collector, drives it, prints one row and
# appends "NAME SPANS_PER_CPU_S" to $work/figures.
measure() {
  local name=$1 out=$work/run$((++runs)).txt
  shift
  rm -rf "$work/data"
  "$@" >"$work/$name.log" 2>&1 &
  pid=$!
  for _ in $(seq 200); do curl -fs "http://$VIGIL_HEALTH_ENDPOINT/" >/dev/null && break; sleep 0.1; done
  curl -fs "http://$VIGIL_HEALTH_ENDPOINT/" >/dev/null || { echo "$name did not become healthy:"; tail -20 "$work/$name.log"; exit 1; }
  bin/loadgen -endpoint "$VIGIL_OTLP_GRPC_ENDPOINT" -telemetry "http://$VIGIL_TELEMETRY_HOST:$VIGIL_TELEMETRY_PORT/metrics" \
    -pid "$pid" -duration "$duration" -rate 0 -batch 200 -workers 2 >"$out"
  kill -TERM "$pid" 2>/dev/null || { echo "$name exited early:"; tail -20 "$work/$name.log"; exit 1; }
  wait "$pid" || true
  pid=
  grep -q ' 0 spans failed' "$out" || { echo "$name: requests failed:"; cat "$out"; tail -20 "$work/$name.log"; exit 1; }
  awk -v run="$runs" -v name="$name" '
    /^spans\/s sustained/ {rate=$3}
    /^collector CPU/ {cores=$4; gsub(/\(/, "", cores)}
    /^spans per CPU-s/ {eff=$4}
    /^peak RSS/ {rss=$3}
    END {printf "%-4s %-8s %12.0f %10.2f %16.0f %10.0f\n", run, name, rate, cores, eff, rss; print name, eff > "/dev/stderr"}
  ' "$out" 2>>"$work/figures"
}

runs=0
echo "machine: $(nproc) cores, $(go version | cut -d' ' -f3), $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "anchor:  $anchor_bin"
echo "load:    bench/loadgen, 200 spans/request, 2 workers, flat out, $duration per run"
printf '%-4s %-8s %12s %10s %16s %10s\n' run  collector "spans/s" "CPU cores" "spans per CPU-s" "RSS MiB"
measure anchor "$anchor_bin" --config bench/anchor/config.yaml
for _ in $(seq "$rounds"); do
  measure vigil bin/vigil
  measure anchor "$anchor_bin" --config bench/anchor/config.yaml
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
awk '
  {n[$1]++; sum[$1]+=$2; if (!($1 in lo) || $2<lo[$1]) lo[$1]=$2; if ($2>hi[$1]) hi[$1]=$2}
  END {
    a=sum["anchor"]/n["anchor"]; v=sum["vigil"]/n["vigil"]
    printf "anchor   mean %.0f spans per CPU-s (min %.0f, max %.0f, %d runs)\n", a, lo["anchor"], hi["anchor"], n["anchor"]
    printf "vigil    mean %.0f spans per CPU-s (min %.0f, max %.0f, %d runs)\n", v, lo["vigil"], hi["vigil"], n["vigil"]
    printf "ratio    %.2f (vigil / anchor; worst case min vigil / max anchor %.2f)\n", v/a, lo["vigil"]/hi["anchor"]
  }' "$work/figures"
