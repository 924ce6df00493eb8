#!/usr/bin/env bash
# Installs the npm package chdb (ClickHouse embedded in-process) into
# $VIGIL_CHDB_DIR (default: chdb under $VIGIL_CACHE_DIR, ~/.cache/vigil),
# where the tests look for it (internal/testutil.CacheDir). The ClickHouse exporter's schema test runs
# its DDL and queries there, because no modern ClickHouse server can be
# installed or pulled on the project's machines.
#
# Idempotent: when the pinned version is already installed it does nothing.
# The engine library is large (a few hundred MB unpacked), so CI should call
# this once before `go test`.
set -euo pipefail

CHDB_VERSION="${CHDB_VERSION:-3.4.0}"
prefix="${VIGIL_CHDB_DIR:-${VIGIL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vigil}/chdb}"

installed_version() {
  node -e 'try { console.log(require(process.argv[1] + "/node_modules/chdb/package.json").version) } catch (e) { process.exit(1) }' "$prefix" 2>/dev/null
}

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "scripts/chdb/install.sh: node and npm are required (Debian: apt-get install -y nodejs npm)" >&2
  exit 1
fi

if [ "$(installed_version || true)" = "$CHDB_VERSION" ] &&
   node -e 'require(process.argv[1] + "/node_modules/chdb")' "$prefix" 2>/dev/null; then
  echo "chdb $CHDB_VERSION already installed in $prefix"
  exit 0
fi

mkdir -p "$prefix"
if [ ! -f "$prefix/package.json" ]; then
  echo '{"name":"vigil-chdb-runner","private":true}' >"$prefix/package.json"
fi
start=$(date +%s)
# --no-audit/--no-fund: no extra registry calls; the platform library comes
# as an optional dependency (@chdb/lib-linux-x64-gnu) from the registry.
npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error "chdb@$CHDB_VERSION"
node -e 'require(process.argv[1] + "/node_modules/chdb")' "$prefix"
echo "chdb $CHDB_VERSION installed in $prefix in $(( $(date +%s) - start ))s ($(du -sh "$prefix" | cut -f1))"
