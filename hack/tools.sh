#!/usr/bin/env bash
# Builds a development tool pinned in hack/tools/<name>/go.mod into
# .cache/tools/ (git-ignored), only when missing, and prints its path.
# Each tool has its own module so its dependencies never constrain the
# product's go.mod.
#
#   regal=$(hack/tools.sh regal)
set -euo pipefail
name=$1
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=$root/hack/tools/$name
export GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false" GOTOOLCHAIN=local
# The tool's main package is the blank import in tools.go.
pkg=$(sed -n 's/^import _ "\(.*\)"$/\1/p' "$dir/tools.go")
version=$(cd "$dir" && go list -f '{{.Module.Version}}' "$pkg")
bin=$root/.cache/tools/$name-$version
if [[ ! -x $bin ]]; then
	echo "tools: building $name $version (first run only)" >&2
	mkdir -p "$root/.cache/tools"
	(cd "$dir" && go build -trimpath -o "$bin.tmp" "$pkg")
	mv -f "$bin.tmp" "$bin"
fi
echo "$bin"
