# shellcheck shell=bash
# Helpers for building a server's binary from its Go module, sourced by
# scripts/kube/install.sh and scripts/mimir/install.sh.
#
# Why a wrapper module: kube-apiserver, etcd and Mimir have replace directives
# in their go.mod, which `go install pkg@version` refuses, and Kubernetes'
# point into ./staging, which its module zip leaves out. So each build gets a
# throwaway main module whose go.mod is the server's own (same requirements,
# same go.sum) with the module line renamed, the local replaces turned into
# published versions, and a require of the server's module itself; the
# server's main package is then built from the module cache. The wrapper
# lives under $VIGIL_CACHE_DIR, never in the repository.

# cache_root prints the cache root: $VIGIL_CACHE_DIR, else
# ${XDG_CACHE_HOME:-$HOME/.cache}/vigil, the default of scripts/test.sh, the
# other install scripts and the tests (internal/testutil.CacheDir).
cache_root() {
	echo "${VIGIL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vigil}"
}

# mod_dir MODULE@VERSION prints the module-cache directory of that module
# version, downloading it first; it fails loudly when the proxy refuses it.
mod_dir() {
	local json dir
	# Run outside any module (/ has no go.mod) so no go.mod or go.sum is touched.
	json="$(cd / && GOFLAGS= GOWORK=off go mod download -json "$1" 2>&1)" || true
	dir="$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
	if [[ -z "$dir" || ! -d "$dir" ]]; then
		echo "$(basename "$0"): cannot download $1:" >&2
		printf '%s\n' "$json" >&2
		return 1
	fi
	echo "$dir"
}

# check_no_local_replaces GOMOD fails when a replace in GOMOD still points to
# a directory: the wrapper has no such directory.
check_no_local_replaces() {
	if grep -nE '=>[[:space:]]*\.{1,2}/' "$1" >&2; then
		echo "$(basename "$0"): $1 still has local replaces (above)" >&2
		return 1
	fi
}

# build_in_wrapper DIR OUT PACKAGE LDFLAGS [TAGS] builds PACKAGE in the
# wrapper module DIR into OUT, statically, with build tags TAGS, at nice 10,
# with go build -p $BUILD_P (default: nproc). GOFLAGS is reset so a caller's
# -mod=vendor or similar cannot interfere; GOTOOLCHAIN=local so a toolchain
# line cannot send go to download another Go; -mod=mod lets go add the
# go.sum lines the wrapper's own require needs.
build_in_wrapper() {
	local dir=$1 out=$2 pkg=$3 ldflags=$4 tags=${5:-}
	(
		cd "$dir"
		GOFLAGS="-mod=mod -buildvcs=false" GOWORK=off GOTOOLCHAIN=local CGO_ENABLED=0 \
			nice -n 10 go build -p "${BUILD_P:-$(nproc)}" -trimpath -tags "$tags" \
			-ldflags "-s -w $ldflags" -o "$out" "$pkg"
	)
}
