#!/usr/bin/env bash
# install.sh builds amtool, Alertmanager's command-line client, at the
# version of github.com/prometheus/alertmanager that go.mod pins (the
# packages Vigil's matchers, API types and console come from), and caches
# it in $VIGIL_CACHE_DIR/amtool/amtool-<version>, about a minute on 2 cores,
# once. The tests drive the console with it (internal/testutil/amtooltest)
# and scripts/check-compose.sh checks the stack's Alertmanager
# configuration with it.
#
# Why not Debian's: the package (prometheus-alertmanager, still installed
# for the Alertmanager server) ships amtool 0.25, which reads matchers with
# the classic parser only; amtool since 0.27 reads them with the UTF-8
# parser first, as on-call people's amtool does, so the console is tested
# against the amtool they run.
#
# Usage: scripts/amtool/install.sh    # prints the binary's path on stdout
#
# Environment:
#   VIGIL_CACHE_DIR   cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/vigil)
#   BUILD_P           go build -p value (default: nproc)
#
# Idempotent: exits at once when the cached binary exists.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lib/gobuild.sh
. "$here/../lib/gobuild.sh"

command -v go >/dev/null || { echo "amtool/install.sh: go is not on PATH" >&2; exit 1; }
# The version go.mod pins; internal/testutil/amtooltest reads it alike.
version="$(cd "$here/../.." && GOFLAGS= GOWORK=off GOTOOLCHAIN=local go list -m -f '{{.Version}}' github.com/prometheus/alertmanager)"
CACHE_DIR="$(cache_root)/amtool"
BIN="$CACHE_DIR/amtool-$version"
if [[ -x "$BIN" ]]; then
	echo "$BIN"
	exit 0
fi

mkdir -p "$CACHE_DIR"
start=$(date +%s)
tmp="$(mktemp -d "$CACHE_DIR/build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
# Alertmanager's go.mod has no replace directives, so `go install
# pkg@version` builds amtool with Alertmanager's own requirements; the
# version stamp is the one its release build (.promu.yml) sets, so amtool
# --version reports it.
echo "amtool/install.sh: building amtool $version with -p ${BUILD_P:-$(nproc)}" >&2
(
	cd /
	GOFLAGS= GOWORK=off GOTOOLCHAIN=local CGO_ENABLED=0 GOBIN="$tmp" \
		nice -n 10 go install -p "${BUILD_P:-$(nproc)}" -trimpath -tags netgo \
		-ldflags "-s -w -X github.com/prometheus/common/version.Version=${version#v} -X github.com/prometheus/common/version.Branch=HEAD" \
		"github.com/prometheus/alertmanager/cmd/amtool@$version"
)
mv "$tmp/amtool" "$BIN"
echo "amtool/install.sh: built $BIN in $(($(date +%s) - start))s ($(du -h "$BIN" | cut -f1))" >&2
echo "$BIN"
