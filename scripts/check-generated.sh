#!/usr/bin/env bash
# Regenerates every component's generated code and documentation from its
# metadata.yaml with the mdatagen that go.mod pins (a `tool` directive, so
# `go tool mdatagen` builds exactly that version) and fails when that
# changes, adds or removes any file: generated files are never edited by
# hand, and a metadata.yaml edit ships with its regenerated output.
#
# Usage: scripts/check-generated.sh [--write]
#   --write  regenerate and keep the result (same as `go generate` in each
#            component folder), without failing on a change.
set -euo pipefail
cd "$(dirname "$0")/.."

# Every component folder: receiver/X, processor/X, connector/X, exporter/X,
# extension/X with a metadata.yaml, tracked or new.
mapfile -t dirs < <(git ls-files --cached --others --exclude-standard -- \
	':(glob)receiver/*/metadata.yaml' ':(glob)processor/*/metadata.yaml' \
	':(glob)connector/*/metadata.yaml' ':(glob)exporter/*/metadata.yaml' \
	':(glob)extension/*/metadata.yaml' | xargs -r -n1 dirname | sort -u)
if [ ${#dirs[@]} -eq 0 ]; then
	echo "check-generated.sh: no component metadata.yaml found" >&2
	exit 1
fi

snapshot() { find "${dirs[@]}" -type f -print0 | sort -z | xargs -0 sha256sum; }

before=$(mktemp)
trap 'rm -f "$before"' EXIT
snapshot >"$before"

# Built once from the module cache; later runs hit the build cache.
mdatagen=$(go tool -n mdatagen)
for d in "${dirs[@]}"; do
	(cd "$d" && "$mdatagen" metadata.yaml) || { echo "mdatagen failed in $d" >&2; exit 1; }
done

unformatted=$(gofmt -l "${dirs[@]}")
if [ -n "$unformatted" ]; then
	echo "check-generated.sh: gofmt would change generated files:" >&2
	echo "$unformatted" >&2
	exit 1
fi

if [ "${1:-}" = "--write" ]; then
	exit 0
fi
changed=$(snapshot | diff "$before" - | sed -n 's/^[<>] [0-9a-f]*  //p' | sort -u || true)
if [ -n "$changed" ]; then
	echo "check-generated.sh: regenerating from metadata.yaml changed these files (run scripts/check-generated.sh --write or go generate, and commit the result):" >&2
	echo "$changed" >&2
	# shellcheck disable=SC2086 # one path per line, none with blanks
	git --no-pager diff --stat -- $changed >&2 || true
	exit 1
fi
echo "generated code: ${#dirs[@]} components match their metadata.yaml"
