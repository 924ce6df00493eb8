#!/usr/bin/env bash
# Builds collector/manifest.yaml with the OpenTelemetry Collector Builder
# (ocb) v0.159.0 and checks the result registers the same components as
# bin/vigil.
set -euo pipefail
cd "$(dirname "$0")/.."
gobin=$PWD/.cache/bin
if [ ! -x "$gobin/builder" ]; then
  GOBIN=$gobin go install go.opentelemetry.io/collector/cmd/builder@v0.159.0
fi
mkdir -p _build
"$gobin/builder" --config collector/manifest.yaml >_build/ocb.log 2>&1 || { cat _build/ocb.log; exit 1; }
# Build metadata differs by design, and this module's own components are
# "(devel)" in bin/vigil but v0.0.0 (through replaces) in the ocb build.
normalize() { grep -v -E '^\s*(version|description|command):' | sed -E 's#(github.com/vigil-otel/vigil) .*#\1#'; }
diff <(_build/ocb/vigil components | normalize) <(bin/vigil components | normalize) \
  || { echo "manifest: the ocb build registers different components than bin/vigil" >&2; exit 1; }
echo "manifest: ocb build of collector/manifest.yaml registers the same components as bin/vigil"
