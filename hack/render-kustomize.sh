#!/usr/bin/env bash
# Regenerates config/webhook (kustomize base and overlays) from
# charts/ws-defaults, so the chart stays the one source of the manifests.
# test/install's TestKustomizeGenerated fails when the committed tree differs;
# run this after changing the chart and commit the result.
#
#   hack/render-kustomize.sh
#
# Helm comes from hack/tools.sh (built once into .cache/tools), or $HELM.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec go test ./test/install/ -run '^TestKustomizeGenerated$' -count=1 -update
