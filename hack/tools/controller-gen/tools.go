//go:build tools

// Package tools pins controller-gen, which `make manifests` uses to generate
// the WebSocketPolicy CRD (charts/ws-defaults/crds/) and the DeepCopy methods
// (api/v1alpha1/zz_generated.deepcopy.go) from api/v1alpha1, and test/install
// uses to check that both are current. Its own module, so controller-tools'
// Kubernetes libraries never constrain the product's.
package tools

import _ "sigs.k8s.io/controller-tools/cmd/controller-gen"
