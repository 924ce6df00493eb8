#!/usr/bin/env bash
# The whole test suite, as CI runs it (`make test`): installs and starts
# what the tests need, checks formatting and go.mod, checks that the code
# mdatagen generates from each component's metadata.yaml is up to date,
# vets, builds the binary, runs every test with the race detector
# (integration tests against the real servers included; the NAB
# cross-validation, too heavy instrumented, runs without it), runs every
# fuzz target for a short fixed budget, builds the ocb manifest, validates
# the docker-compose stack and builds and runs the CI image on the local
# Docker engine.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:$(go env GOPATH)/bin
# Built and downloaded test servers (Loki, chdb, kube-apiserver, etcd, Mimir)
# live outside the checkout, so a fresh clone on the same machine does not
# build them again.
export VIGIL_CACHE_DIR=${VIGIL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vigil}
export VIGIL_CHDB_DIR=${VIGIL_CHDB_DIR:-$VIGIL_CACHE_DIR/chdb}

step() { printf '\n== %s\n' "$*"; }

step "test dependencies"
scripts/install-test-deps.sh

step "gofmt"
unformatted=$(gofmt -l $(git ls-files --cached --others --exclude-standard '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt would change:"; echo "$unformatted"; exit 1; fi

step "go.mod is tidy"
go mod tidy -diff

step "generated code is up to date (mdatagen)"
scripts/check-generated.sh

step "go vet"
go vet ./...

step "build"
make -s build

step "go test -race"
# -artifacts keeps what tests save for people to look at (the status
# page's screenshots) under _build/test-output/_artifacts/.
mkdir -p _build/test-output
VIGIL_BINARY=$PWD/bin/vigil go test -race -count=1 -timeout 40m -artifacts -outputdir "$PWD/_build/test-output" ./...

step "go test anomaly/nab (without -race)"
# TestCrossValidation skips itself under -race (anomaly/nab/race_test.go):
# instrumented, its detector loops take seven times as long (257s instead
# of 35s on a two-core machine) and its concurrent code runs under -race in
# TestCrossValidateSmall. Here it runs uninstrumented.
go test -count=1 -timeout 20m ./anomaly/nab

step "fuzz (each target ${FUZZTIME:-about 10s, a fixed count of executions})"
scripts/fuzz.sh

step "ocb manifest"
scripts/check-manifest.sh

step "docker-compose stack files"
VIGIL_BINARY=$PWD/bin/vigil scripts/check-compose.sh

step "CI image on the local Docker engine"
scripts/docker-ci.sh
