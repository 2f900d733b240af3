#!/usr/bin/env bash
# Builds a local Kubernetes control plane (kube-apiserver, kubectl, etcd) for
# envtest from Go modules, because only the Go module proxy is reachable here:
# no release tarballs, no setup-envtest downloads.
#
#   export KUBEBUILDER_ASSETS=$(hack/controlplane.sh)
#
# Prints the bin dir as its only stdout line; progress goes to stderr.
# Binaries are cached in .cache/controlplane/<k8s>-<etcd>/bin (git-ignored) and
# built only when missing. A cold build takes several minutes on 2 cores.
#
# Versions live only in hack/controlplane/{kubernetes,etcd}/go.mod. To bump
# Kubernetes, regenerate the replace block: k8s.io/kubernetes points every
# staging module at ./staging/src/..., which a dependent module cannot see, so
# each must be replaced by the matching v0.X.Y release. From
# hack/controlplane/kubernetes (V=1.37.1):
#   m=$(GOWORK=off go mod download -json k8s.io/kubernetes@v$V | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
#   awk -v v=v0.${V#1.} '$2=="=>" && $3 ~ /^\.\/staging\// {print "-replace=" $1 "=" $1 "@" v}' "$m" | xargs go mod edit -require=k8s.io/kubernetes@v$V
#   GOWORK=off GOFLAGS=-mod=mod go mod tidy
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools=$root/hack/controlplane

# The tools modules are standalone: ignore any go.work, never rewrite their
# go.mod/go.sum (a caller's GOFLAGS=-mod=mod or -mod=vendor must not leak in),
# never download a toolchain, and build static binaries like upstream does.
export GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0
export GOTOOLCHAIN=local

modver() { (cd "$tools/$1" && go list -m -f '{{.Version}}' "$2"); }
k8s=$(modver kubernetes k8s.io/kubernetes)
etcd=$(modver etcd go.etcd.io/etcd/server/v3)

bin=$root/.cache/controlplane/$k8s-$etcd/bin
mkdir -p "$bin"

# Build next to the final location and rename, so an interrupted build never
# leaves a half-written binary that a later run would take as cached.
tmp=$(mktemp -d "$bin/../build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

build() { # module-dir binary... -- go build args...
	local dir=$1 names=() b missing=()
	shift
	while [[ $1 != -- ]]; do names+=("$1"); shift; done
	shift
	for b in "${names[@]}"; do [[ -x $bin/$b ]] || missing+=("$b"); done
	((${#missing[@]})) || return 0
	echo "controlplane: building ${missing[*]} ($k8s / etcd $etcd) into $bin; cold builds take minutes" >&2
	local start=$SECONDS
	# -p 2: this is a 2-core machine; more parallelism only adds memory pressure.
	(cd "$tools/$dir" && go build -p 2 -trimpath -o "$tmp/" "$@")
	for b in "${missing[@]}"; do mv -f "$tmp/$b" "$bin/$b"; done
	echo "controlplane: built ${missing[*]} in $((SECONDS - start))s" >&2
}

# kube-apiserver/kubectl report their version from these -X variables (otherwise
# v0.0.0-master); envtest and clients read it via kubectl version and /version.
minor=${k8s#v1.}; minor=${minor%%.*}
ld="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	ld+=" -X $p.gitVersion=$k8s -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
done
# Both commands in one go build so their shared packages compile once.
build kubernetes kube-apiserver kubectl -- -ldflags "$ld" \
	k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl
build etcd etcd -- -ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=$etcd" .

echo "$bin"
