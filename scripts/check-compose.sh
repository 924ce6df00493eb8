#!/usr/bin/env bash
# check-compose.sh validates the docker-compose stack's files without
# starting anything:
#   - docker-compose.yml with `docker compose config` (Compose v2) or
#     `docker-compose config` (Debian's Compose v1 package);
#   - Prometheus' configuration and the SLO rules with promtool, and that
#     the rules are what `vigil slo rules slo/examples/*.yaml` prints now;
#   - Alertmanager's configuration with amtool (scripts/amtool/install.sh's,
#     at go.mod's Alertmanager version: nearer the stack's 0.28 than
#     Debian's 0.25);
#   - every file the compose file mounts exists.
# Needs: docker-compose (apt-get install docker-compose) or the compose
# plugin, promtool (prometheus), go.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if docker compose version >/dev/null 2>&1; then
	compose=(docker compose)
elif command -v docker-compose >/dev/null; then
	compose=(docker-compose)
else
	echo "check-compose.sh: neither 'docker compose' nor docker-compose is installed (Debian: apt-get install -y docker-compose)" >&2
	exit 1
fi

echo "== ${compose[*]} config"
"${compose[@]}" -f docker-compose.yml config -q

echo "== mounted files"
missing=0
for path in deploy/prometheus/prometheus.yml deploy/prometheus/rules deploy/alertmanager/alertmanager.yml \
	deploy/loki/loki.yaml dashboards/provisioning/datasources dashboards/provisioning/dashboards dashboards/json \
	Dockerfile examples/demo/Dockerfile collector/config/full.yaml; do
	if [[ ! -e $path ]]; then
		echo "missing: $path" >&2
		missing=1
	fi
done
[[ $missing == 0 ]]

echo "== promtool"
promtool check config deploy/prometheus/prometheus.yml
promtool check rules deploy/prometheus/rules/*.yaml

echo "== rules are up to date"
vigil="${VIGIL_BINARY:-}"
if [[ -z $vigil ]]; then
	vigil="$(mktemp -d)/vigil"
	go build -o "$vigil" ./collector
fi
if ! diff -u deploy/prometheus/rules/vigil-slo.rules.yaml <("$vigil" slo rules slo/examples/*.yaml 2>/dev/null); then
	echo "deploy/prometheus/rules/vigil-slo.rules.yaml is stale: regenerate it with" >&2
	echo "  go run ./collector slo rules slo/examples/*.yaml > deploy/prometheus/rules/vigil-slo.rules.yaml" >&2
	exit 1
fi

echo "== amtool"
amtool=$(scripts/amtool/install.sh)
"$amtool" check-config deploy/alertmanager/alertmanager.yml

echo "== full.yaml"
"$vigil" validate --config collector/config/full.yaml

echo "compose stack files OK"
