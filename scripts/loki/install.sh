#!/usr/bin/env bash
# install.sh builds Loki's single binary (cmd/loki) from the Go module
# github.com/grafana/loki/v3 at a pinned version and caches it, so tests can
# run a real Loki on loopback without Docker or a package registry.
#
# Usage: scripts/loki/install.sh          # prints the binary's path on stdout
#        LOKI_VERSION=v3.7.8 scripts/loki/install.sh
#
# Environment:
#   LOKI_VERSION      Loki release to build (default below; must be served by
#                     the Go module proxy: go list -m -versions github.com/grafana/loki/v3)
#   VIGIL_CACHE_DIR   cache root (default: ~/.cache/vigil); the binary lands in
#                     $VIGIL_CACHE_DIR/loki/loki-$LOKI_VERSION
#   LOKI_BUILD_P      go build -p value (default 1: the build machines are
#                     shared and Loki is ~2000 packages)
#
# Why not `go install github.com/grafana/loki/v3/cmd/loki@VERSION`: Loki's
# go.mod has replace directives, which `go install pkg@version` refuses. Why
# the extra module: the replace `github.com/grafana/loki/pkg/push => ./pkg/push`
# points inside the repository, but the module zip of loki/v3 excludes the
# nested module pkg/push, so we supply it from its own module at the
# pseudo-version Loki's go.mod requires.
#
# Idempotent: exits at once when the cached binary exists.
set -euo pipefail

LOKI_VERSION="${LOKI_VERSION:-v3.7.8}"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE_DIR="${VIGIL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vigil}/loki"
BIN="$CACHE_DIR/loki-$LOKI_VERSION"
LOKI_BUILD_P="${LOKI_BUILD_P:-1}"

if [[ -x "$BIN" ]]; then
	echo "$BIN"
	exit 0
fi

command -v go >/dev/null || { echo "install.sh: go is not on PATH" >&2; exit 1; }
mkdir -p "$CACHE_DIR"

# mod_dir prints the module-cache directory of MODULE@VERSION, downloading it
# first; it fails loudly when the proxy refuses that version.
mod_dir() {
	local json dir
	# Run outside any module (/ has no go.mod) so no go.mod or go.sum is touched.
	json="$(cd / && GOFLAGS= GOWORK=off go mod download -json "$1" 2>&1)" || true
	dir="$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
	if [[ -z "$dir" || ! -d "$dir" ]]; then
		echo "install.sh: cannot download $1:" >&2
		printf '%s\n' "$json" >&2
		exit 1
	fi
	echo "$dir"
}

start=$(date +%s)
src="$(mod_dir "github.com/grafana/loki/v3@$LOKI_VERSION")"

# The push module version Loki's own go.mod requires (a pseudo-version: the
# nested module has no tags).
push_version="$(awk '$1 == "github.com/grafana/loki/pkg/push" && $2 ~ /^v/ {print $2; exit}' "$src/go.mod")"
if [[ -z "$push_version" ]]; then
	echo "install.sh: no github.com/grafana/loki/pkg/push requirement in $src/go.mod" >&2
	exit 1
fi
push_src="$(mod_dir "github.com/grafana/loki/pkg/push@$push_version")"

# The module cache is read-only; build in a private writable copy. A fresh
# copy each time keeps a half-finished earlier attempt from leaking in.
build_dir="$CACHE_DIR/src-$LOKI_VERSION"
rm -rf "$build_dir"
cp -r "$src" "$build_dir"
chmod -R u+w "$build_dir"
if [[ ! -f "$build_dir/pkg/push/go.mod" ]]; then
	rm -rf "$build_dir/pkg/push"
	cp -r "$push_src" "$build_dir/pkg/push"
	chmod -R u+w "$build_dir/pkg/push"
fi

echo "install.sh: building Loki $LOKI_VERSION (pkg/push $push_version) with -p $LOKI_BUILD_P; this takes several minutes" >&2
tmp_bin="$BIN.tmp.$$"
# A failed or interrupted build leaves neither a partial binary (which the
# idempotency check would trust) nor the 100 MB source copy behind.
trap 'rm -rf "$tmp_bin" "$build_dir"' EXIT
(
	cd "$build_dir"
	# GOFLAGS is reset so a caller's -mod=vendor or similar cannot interfere;
	# -buildvcs=false because the copy is not a VCS checkout. The version is
	# stamped the way Loki's Makefile does, so `loki -version` tells the truth.
	GOFLAGS=-buildvcs=false CGO_ENABLED=0 nice -n 10 go build -p "$LOKI_BUILD_P" -trimpath -tags netgo \
		-ldflags "-s -w -X github.com/grafana/loki/v3/pkg/util/build.Version=$LOKI_VERSION" \
		-o "$tmp_bin" ./cmd/loki
)
mv "$tmp_bin" "$BIN"
end=$(date +%s)
echo "install.sh: built $BIN in $((end - start))s ($(du -h "$BIN" | cut -f1))" >&2
echo "$BIN"
