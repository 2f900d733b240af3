#!/usr/bin/env bash
# Regenerates config/webhook (kustomize base and overlays) from
# charts/ws-defaults, crds/ included, so the chart stays the one source of the
# manifests. `make manifests` runs controller-gen (the CRD, from
# api/v1alpha1) first, then this.
# test/install's TestKustomizeGenerated fails when the committed tree differs;
# run this after changing the chart and commit the result.
#
#   hack/render-kustomize.sh
#
# Helm comes from hack/tools.sh (built once into .cache/tools), or $HELM.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# -timeout: the first run builds Helm (minutes on a busy machine).
exec go test ./test/install/ -run '^TestKustomizeGenerated$' -count=1 -timeout=30m -update
