# inline-cache — see README.md. The two commands a newcomer needs are plain
# Go commands (make is optional):
#   go run ./internal/demo                     (make demo)
#   go test -count=1 -timeout 60m ./...        (make test)
# Both install what they need on first use (Debian packages as root,
# BuildKit and buildx built from the Go module proxy, cached by version).
# make dist cross-compiles the release binaries and dist/SHA256SUMS.

GO ?= go

.PHONY: all build test check unit demo docs bench dist conformance

all: build

build:
	$(GO) build -trimpath -o bin/inline-cache .

# -count=1: the end-to-end tests talk to daemons; never reuse a cached pass.
test:
	$(GO) test -count=1 -timeout 60m ./...

# test plus vet and formatting.
check: test
	$(GO) vet ./...
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }

# Fast tests only, without the real environment.
unit:
	$(GO) test $$($(GO) list ./... | grep -v /internal/e2e)

demo:
	$(GO) run ./internal/demo

docs:
	$(GO) run ./internal/docgen

# Whole processes side by side on the real test environment (own overhead on a
# cached build against bare buildx and, with BPA_DIR set to a checkout of
# docker/build-push-action, against its overhead; verify against imagetools
# inspect at 1, 4 and 16 platforms), then the in-process verify benchmarks,
# then the real-world stage cache and cache mounts scenarios (go run
# ./internal/benchreport -only stages|mounts -stage-rounds 1 runs one alone).
bench:
	$(GO) run ./internal/benchreport
# Release binaries for linux/darwin/windows × amd64/arm64 and SHA256SUMS in
# dist/ (see internal/distgen). distgen reads VERSION and COMMIT from the
# environment (make dist VERSION=v1.2.3), never through the shell; unset,
# it asks git.
dist:
	$(GO) run ./internal/distgen

# The OCI distribution-spec conformance program against each test registry
# (distribution 2.8 and v3, go-containerregistry's with referrers); its
# summaries go to docs/conformance/ (see internal/conformance).
conformance:
	$(GO) run ./internal/conformance
