# Vigil. `make run` runs the collector on its embedded default; `make test`
# runs the whole test suite, installing the servers it needs.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
GOFLAGS_BUILD = -trimpath -ldflags "-s -w -X main.version=$(VERSION)"

.PHONY: build run test bench manifest-check clean

build:
	go build $(GOFLAGS_BUILD) -o bin/vigil ./collector

run: build
	bin/vigil

test:
	scripts/test.sh

bench:
	bench/run.sh

manifest-check: build
	scripts/check-manifest.sh

clean:
	rm -rf bin _build .cache/bin
