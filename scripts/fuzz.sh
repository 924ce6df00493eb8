#!/usr/bin/env bash
# Runs every fuzz target for a fixed budget each (FUZZTIME, default 10s),
# as `make test` does. The seeds and the corpus kept in each package's
# testdata/fuzz/<Target> also run on every plain `go test`.
#
#   scripts/fuzz.sh            # FUZZTIME per target; a crasher fails the run
#                              # and is written to testdata/fuzz/<Target>
#   FUZZTIME=10m scripts/fuzz.sh --keep
#                              # longer, then copy what the fuzzer found
#                              # interesting into testdata/fuzz to keep it
set -euo pipefail
cd "$(dirname "$0")/.."

# package target: the fuzz targets, one per line.
targets=(
	"./extension/otlpguardextension/internal/scan FuzzScanProto"
	"./extension/otlpguardextension/internal/scan FuzzScanJSON"
	"./receiver/zaplogreceiver FuzzParse"
	"./slo FuzzParse"
	"./alerts FuzzParseConfig"
	"./alerts FuzzParseSilences"
)
fuzztime=${FUZZTIME:-10s}
keep=false
[ "${1:-}" = "--keep" ] && keep=true

cache=$(go env GOCACHE)/fuzz
for t in "${targets[@]}"; do
	read -r pkg name <<<"$t"
	start=$(date +%s)
	# -parallel 2: the CI machine has two cores.
	go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -parallel 2 "$pkg" >/tmp/fuzz.$$.log 2>&1 || {
		cat /tmp/fuzz.$$.log
		rm -f /tmp/fuzz.$$.log
		echo "fuzz: $pkg $name failed; the input is in $pkg/testdata/fuzz/$name"
		exit 1
	}
	rm -f /tmp/fuzz.$$.log
	echo "fuzz: $pkg $name: $fuzztime, $(($(date +%s) - start))s with the build"
	if $keep; then
		src="$cache/$(go list "$pkg")/$name"
		if [ -d "$src" ]; then
			mkdir -p "$pkg/testdata/fuzz/$name"
			cp -n "$src"/* "$pkg/testdata/fuzz/$name/" 2>/dev/null || true
		fi
	fi
done
