#!/usr/bin/env bash
# docker-ci.sh builds Vigil's CI image (Dockerfile.ci, FROM scratch: no base
# image is pulled, so it works with no registry reachable) on the local
# Docker engine and runs it:
#   1. `vigil components` in the container must list the distribution's
#      components;
#   2. `vigil validate --config /etc/vigil/full.yaml` in the container must
#      pass (the full configuration is selectable);
#   3. the container started as a bare `docker run` (no arguments: the
#      embedded default, as a non-root user) must answer its health check
#      and serve its own telemetry.
# When no engine answers and dockerd is installed, the script starts one
# (as root) for its own use and stops it at the end.
# Needs: go, docker (Debian: apt-get install -y docker.io), curl.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
image="${VIGIL_CI_IMAGE:-vigil:ci}"
work="$(mktemp -d)"
dockerd_pid=""
container=""

cleanup() {
	if [[ -n $container ]]; then docker rm -f "$container" >/dev/null 2>&1 || true; fi
	if [[ -n $dockerd_pid ]]; then
		kill "$dockerd_pid" 2>/dev/null || true
		wait "$dockerd_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

if ! docker info >/dev/null 2>&1; then
	if ! command -v dockerd >/dev/null || [[ $(id -u) != 0 ]]; then
		echo "docker-ci.sh: no Docker engine answers and dockerd cannot be started here (install docker.io, run as root)" >&2
		exit 1
	fi
	echo "== starting dockerd"
	dockerd >"$work/dockerd.log" 2>&1 &
	dockerd_pid=$!
	for _ in $(seq 1 60); do
		docker info >/dev/null 2>&1 && break
		sleep 1
	done
	docker info >/dev/null 2>&1 || { cat "$work/dockerd.log" >&2; exit 1; }
fi

echo "== static binary"
ctx="$work/context"
mkdir -p "$ctx/slo" "$ctx/data"
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$ctx/vigil" ./collector
cp collector/config/full.yaml "$ctx/full.yaml"
cp slo/examples/*.yaml "$ctx/slo/"
if [[ -f /etc/ssl/certs/ca-certificates.crt ]]; then
	cp /etc/ssl/certs/ca-certificates.crt "$ctx/ca-certificates.crt"
else
	: >"$ctx/ca-certificates.crt" # no bundle on this host: TLS peers will not verify
fi

echo "== docker build -f Dockerfile.ci"
docker build -q -f Dockerfile.ci -t "$image" "$ctx"

echo "== vigil components in the container"
components="$(docker run --rm "$image" components)"
for want in otlp span_metrics prometheus prometheus_remote_write file_storage; do
	if ! grep -q "name: $want\$" <<<"$components"; then
		echo "docker-ci.sh: 'vigil components' in $image does not list $want:" >&2
		echo "$components" >&2
		exit 1
	fi
done

echo "== full.yaml is selectable in the container"
docker run --rm "$image" validate --config /etc/vigil/full.yaml

echo "== vigil on the embedded default in the container (bare docker run)"
user="$(docker image inspect -f '{{.Config.User}}' "$image")"
if [[ -z $user || $user == 0* || $user == root* ]]; then
	echo "docker-ci.sh: $image runs as root (User=\"$user\")" >&2
	exit 1
fi
container="$(docker run -d -p 127.0.0.1::13133 -p 127.0.0.1::8888 "$image")"
health="$(docker port "$container" 13133/tcp | sed -n 1p)"
telemetry="$(docker port "$container" 8888/tcp | sed -n 1p)"
ok=""
for _ in $(seq 1 60); do
	if curl -fsS "http://$health/" >/dev/null 2>&1; then
		ok=1
		break
	fi
	sleep 1
done
if [[ -z $ok ]]; then
	echo "docker-ci.sh: the container never became healthy; its log:" >&2
	docker logs "$container" >&2 || true
	exit 1
fi
# Read the whole page before matching: `curl | grep -q` under pipefail fails
# whenever grep exits on the first match before curl has written everything.
metrics="$(curl -fsS "http://$telemetry/metrics")" || {
	echo "docker-ci.sh: the container's telemetry endpoint did not answer" >&2
	exit 1
}
grep -q '^otelcol_process_uptime' <<<"$metrics" || {
	echo "docker-ci.sh: no otelcol_process_uptime on the container's telemetry endpoint:" >&2
	head -20 <<<"$metrics" >&2
	exit 1
}
echo "image $image builds and runs: healthy, telemetry served"
