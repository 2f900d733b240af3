# ws-defaults: the two commands are `make demo` and `make test`.
# Everything a target needs is built by the repo itself (hack/controlplane.sh
# builds kube-apiserver, etcd and kubectl from Go modules into .cache/).

SHELL := /usr/bin/env bash
GO ?= go
# Fuzz targets get a short, bounded run in `make test`: a count of inputs,
# not a duration, since a duration can end while the fuzzer minimizes a new
# input and Go then fails the run with "context deadline exceeded" (seen
# here). Longer with FUZZTIME=5m.
FUZZTIME ?= 5000x
BENCHTIME ?= 2000x

.PHONY: all build image test unit lint-rego race fuzz e2e install-test manifests bench bench-audit bench-check bench-serve demo controlplane clean conformance conformance-fast

all: build

build:
	$(GO) build -o bin/webhook ./cmd/webhook

controlplane:
	hack/controlplane.sh

# image: the container image, built without a Docker daemon by hack/image
# (its own module, on go-containerregistry): static linux/amd64 and
# linux/arm64 binaries on an empty base holding the nonroot user (65532) and
# CA certificates, tagged with the chart's appVersion, written as an OCI
# layout in $(IMAGE_OUT)/oci (`crane push`) and one docker-load tarball per
# platform. Reproducible: the same tree gives the same digest
# (docs/image.md). test/install builds it through this target.
IMAGE_OUT ?= bin/image
IMAGE_PLATFORMS ?= linux/amd64,linux/arm64
image:
	cd hack/image && GOWORK=off GOFLAGS=-mod=readonly $(GO) run . -root ../.. -out "$(abspath $(IMAGE_OUT))" -platforms "$(IMAGE_PLATFORMS)"

# test runs everything: unit and table tests (the Rego tests among them, via
# OPA's test runner in policies/), the Rego linter, the race detector on the
# server packages, short fuzz runs, and the end-to-end suite against a real
# API server.
test: unit lint-rego race fuzz e2e install-test conformance-fast

unit:
	$(GO) vet ./...
	$(GO) test -short ./...

# Regal (built from its Go module by hack/tools.sh) must find nothing;
# .regal/config.yaml says which of its rules we turn off and why.
lint-rego:
	cd policies && "$$(../hack/tools.sh regal)" lint --config-file ../.regal/config.yaml .

race:
	$(GO) test -short -race ./webhook/... ./cmd/...

fuzz:
	$(GO) test ./webhook/mutate/ -run '^$$' -fuzz '^FuzzPatch$$' -fuzztime $(FUZZTIME)
	$(GO) test ./webhook/check/ -run '^$$' -fuzz '^FuzzRead$$' -fuzztime $(FUZZTIME)
	$(GO) test ./webhook/validate/ -run '^$$' -fuzz '^FuzzEvaluate$$' -fuzztime $(FUZZTIME)
	$(GO) test ./webhook/policy/ -run '^$$' -fuzz '^FuzzCompile$$' -fuzztime $(FUZZTIME)
	$(GO) test ./webhook/edge/ -run '^$$' -fuzz '^FuzzReadValue$$' -fuzztime $(FUZZTIME)

e2e: controlplane
	KUBEBUILDER_ASSETS="$$(hack/controlplane.sh)" $(GO) test -count=1 -v ./test/e2e/

# install-test: the Helm chart (lint; render for several value sets; webhook
# configurations equal to webhook/registration's; RBAC pinned), config/webhook
# (generated from the chart, must be current), both applied to a real API
# server (server-side dry run), and `webhook serve` run with only the chart's
# RBAC; and `make image` built twice (same digest), its amd64 root
# filesystem unpacked and `/webhook version` run from it as UID 65532. Helm
# and kustomize are built by hack/tools.sh (first run ~2.5 min); the first
# image build compiles the webhook for arm64 too, hence the longer timeout.
install-test: controlplane
	KUBEBUILDER_ASSETS="$$(hack/controlplane.sh)" $(GO) test -count=1 -timeout 30m -v ./test/install/

# manifests generates, with controller-gen (built by hack/tools.sh), the
# WebSocketPolicy CRD into charts/ws-defaults/crds/ and the DeepCopy methods
# into api/v1alpha1, copies the OpenReports CRDs from the pinned
# github.com/openreports/reports-api module (go.mod) into the same folder,
# then regenerates config/webhook from charts/ws-defaults.
# test/install's TestGeneratedAPI runs the same controller-gen command, and
# TestOpenReportsCRDs checks the copies.
manifests:
	"$$(hack/tools.sh controller-gen)" object crd paths=./api/... output:crd:dir=charts/ws-defaults/crds
	for f in openreports.io_reports.yaml openreports.io_clusterreports.yaml; do \
		install -m 644 "$$($(GO) list -m -f '{{.Dir}}' github.com/openreports/reports-api)/config/crd/$$f" charts/ws-defaults/crds/$$f; \
	done
	hack/render-kustomize.sh

# conformance-fast: the cheap tiers of test/conformance (docs/conformance.md):
# `webhook check -o yaml` over every ingress-nginx defaults row and policy
# variant, fed to ingress-nginx's own annotation parsers (a copy of its module
# under .cache/conformance; the first run downloads and compiles it, minutes
# on a small machine; later runs take seconds), every mutated object
# dry-run against the controllers' real CRDs (from their Go modules) in a
# local API server, and the ALB idle-timeout range over 1 s to 7 days.
# Skipped by `go test -short`.
conformance-fast:
	$(GO) test -count=1 -v ./test/conformance/

# conformance runs every tier: those of conformance-fast plus the ones that
# need a controller's whole module or a system binary, which only
# WS_CONFORMANCE_FULL=1 enables (docs/conformance.md): Traefik's Ingress
# provider (module github.com/traefik/traefik/v3), istiod's validation
# (istio.io/istio) and `haproxy -c` on the HAProxy directives our values
# become (skipped, naming the apt-get command, without haproxy). The module
# copies live in .cache/conformance; the first run downloads and compiles
# them (tens of minutes on a small busy machine), later runs take minutes.
conformance:
	WS_CONFORMANCE_FULL=1 $(GO) test -count=1 -timeout 120m -v ./test/conformance/

# bench prints the handler benchmarks; each group starts with its baseline
# (a request the handler answers without mutating or evaluating rules), to
# quote the others as ratios of it measured in the same run.
bench:
	$(GO) test ./webhook/handler/ -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) -count 5

# bench-audit: the audit at scale (test/bench): bulk-creates
# AUDIT_BENCH_OBJECTS (default 100,000) Ingresses and Services across 100
# namespaces in a local control plane (48 parallel creates), times a bare
# paginated list of them and two audit passes with the route index beside
# them as in serve (a child process: its max RSS, live heap at the peak and
# kept per object), prints the ratios and the second pass's writes (want 0),
# then times `webhook audit -o jsonl` and `-o json` against the list (max
# RSS). AUDIT_BENCH_PPROF=dir saves heap profiles (at the peak, after each
# pass); AUDIT_BENCH_GOMEMLIMIT sets the child's soft limit;
# AUDIT_BENCH_NO_FSYNC=1 runs etcd without fsync. docs/performance.md.
# Minutes on 2 cores at 10k; at 100k about an hour (the bulk creation is most
# of it), longer on a busy machine.
bench-audit: controlplane
	KUBEBUILDER_ASSETS="$$(hack/controlplane.sh)" $(GO) test ./test/bench/ -run '^$$' -bench BenchmarkAuditScale -benchtime 1x -timeout 180m -v

# bench-check: `webhook check` at scale (test/bench, no control plane):
# writes CHECK_BENCH_OBJECTS (default 10000,200000) generated manifests as
# multi-document YAML files, times a bare YAML→JSON decode of them (the
# floor) and `webhook check -o json` (CHECK_BENCH_FORMATS to add jsonl,
# table, ...), each a child process, and prints time, ratio and max RSS.
# CHECK_BENCH_PPROF=dir adds an in-process run at the largest size with CPU
# and heap profiles. docs/performance.md. Minutes on 2 cores.
bench-check:
	$(GO) test ./test/bench/ -run '^$$' -bench '^BenchmarkCheckScale$$' -benchtime 1x -timeout 60m -v

# bench-serve: `webhook serve` against FLOOR (test/bench/floor: a bare
# controller-runtime webhook that decodes the object and allows), both over
# HTTPS from vegeta's library with 2000 distinct generated AdmissionReviews
# (test/gen), alternating rounds, closed loop and open loop at 1000/s; then
# serve alone at 2x and 5x its capacity. Prints CPU per 1k requests,
# throughput, p50/p99, errors, RSS and the ratios to FLOOR. The control
# plane is only for `webhook serve`'s informers and policy. About 2 minutes.
# BENCH_SERVE_PPROF=dir also saves serve's CPU and heap profiles.
bench-serve: controlplane
	KUBEBUILDER_ASSETS="$$(hack/controlplane.sh)" $(GO) test ./test/bench/ -run '^$$' -bench '^BenchmarkServe$$' -benchtime 1x -timeout 20m

demo: controlplane
	cd hack/demo && $(GO) run .

clean:
	rm -rf bin .cache
