#!/usr/bin/env bash
# Runs every fuzz target for a fixed budget each, as `make test` does. The
# seeds and the corpus kept in each package's testdata/fuzz/<Target> also
# run on every plain `go test`.
#
# The budget is a count of executions, about 10s of fuzzing each on the
# two-core CI machine, not a duration: with a duration, Go's fuzzing
# coordinator can fail the run with "context deadline exceeded" and no
# crasher when its deadline races a worker still running inputs
# (go.dev/issue/75804); a count has no deadline to race, and every run
# does the same work.
#
#   scripts/fuzz.sh            # each target's count; a crasher fails the
#                              # run and is written to testdata/fuzz/<Target>
#   FUZZTIME=10m scripts/fuzz.sh --keep
#                              # longer, then copy what the fuzzer found
#                              # interesting into testdata/fuzz to keep it
set -euo pipefail
cd "$(dirname "$0")/.."

# package target executions: the fuzz targets, one per line.
targets=(
	"./extension/otlpguardextension/internal/scan FuzzScanProto 200000"
	"./extension/otlpguardextension/internal/scan FuzzScanJSON 150000"
	"./receiver/zaplogreceiver FuzzParse 15000"
	"./slo FuzzParse 30000"
	"./alerts FuzzParseConfig 40000"
	"./alerts FuzzParseSilences 20000"
	"./connector/anomalyconnector FuzzDecodeChunk 100000"
)
keep=false
[ "${1:-}" = "--keep" ] && keep=true

cache=$(go env GOCACHE)/fuzz
for t in "${targets[@]}"; do
	read -r pkg name count <<<"$t"
	# FUZZTIME, when set, is every target's -fuzztime instead (a duration
	# such as 10m, or a count such as 1000000x).
	fuzztime=${FUZZTIME:-${count}x}
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
