#!/usr/bin/env bash
# install.sh builds Grafana Mimir's single binary (cmd/mimir, run as
# monolithic `-target=all` by internal/testutil/mimirtest) from the Go module
# github.com/grafana/mimir and caches it in $VIGIL_CACHE_DIR/mimir, about
# 6 minutes on 2 cores, once.
#
# Usage: scripts/mimir/install.sh    # prints the binary's path on stdout
#
# Environment:
#   VIGIL_CACHE_DIR   cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/vigil)
#   BUILD_P           go build -p value (default: nproc)
#
# The version: Mimir tags its releases mimir-X.Y.Z, which are not Go module
# versions, so the module proxy serves Mimir only at pseudo-versions of
# commits; the ones of the release tags are refused here. MIMIR_VERSION is
# the newest it serves (`go list -m github.com/grafana/mimir@latest`): main
# of 2026-04-23, after release 3.0.6. It is pinned here and in
# internal/testutil/mimirtest; change both together.
#
# Why a wrapper module: Mimir's go.mod replaces several modules with forks
# (mimir-prometheus, memberlist, ...), which `go install pkg@version`
# refuses; see scripts/lib/gobuild.sh.
#
# Idempotent: exits at once when the cached binary exists.
set -euo pipefail

MIMIR_VERSION=v1.3.1-0.20260423142704-aced80d74930
MIMIR_RELEASE=3.0.6+main.aced80d74930 # what `mimir -version` reports

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lib/gobuild.sh
. "$here/../lib/gobuild.sh"

CACHE_DIR="$(cache_root)/mimir"
BIN="$CACHE_DIR/mimir-$MIMIR_VERSION"
if [[ -x "$BIN" ]]; then
	echo "$BIN"
	exit 0
fi

command -v go >/dev/null || { echo "mimir/install.sh: go is not on PATH" >&2; exit 1; }
mkdir -p "$CACHE_DIR"
start=$(date +%s)
src="$(mod_dir "github.com/grafana/mimir@$MIMIR_VERSION")"

wrap="$CACHE_DIR/wrapper-$MIMIR_VERSION"
tmp_bin="$BIN.tmp"
# A failed or interrupted build leaves neither a partial binary (which the
# idempotency check would trust) nor the wrapper behind.
trap 'rm -rf "$tmp_bin" "$wrap"' EXIT
rm -rf "$wrap" && mkdir -p "$wrap"
sed -E -e 's|^module .*|module vigil.local/mimir-build|' -e '/^toolchain /d' "$src/go.mod" >"$wrap/go.mod"
printf '\nrequire github.com/grafana/mimir %s\n' "$MIMIR_VERSION" >>"$wrap/go.mod"
cp "$src/go.sum" "$wrap/go.sum" && chmod u+w "$wrap/go.sum"
check_no_local_replaces "$wrap/go.mod"

echo "mimir/install.sh: building Mimir $MIMIR_VERSION with -p ${BUILD_P:-$(nproc)}; this takes minutes" >&2
# The tags and version stamps of Mimir's own Makefile (GO_TAGS, GO_FLAGS).
v=github.com/grafana/mimir/pkg/util/version
build_in_wrapper "$wrap" "$tmp_bin" github.com/grafana/mimir/cmd/mimir \
	"-X $v.Version=$MIMIR_RELEASE -X $v.Revision=${MIMIR_VERSION##*-} -X $v.Branch=main" \
	netgo,stringlabels
mv "$tmp_bin" "$BIN"
echo "mimir/install.sh: built $BIN in $(($(date +%s) - start))s ($(du -h "$BIN" | cut -f1))" >&2
echo "$BIN"
