//go:build tools

// Package tools pins kustomize, which test/install uses to build the
// config/webhook overlays. Its own module, so kustomize's dependencies never
// constrain the product's. v5.8.3 requires Go 1.27; stay on v5.8.2 until the
// toolchain moves.
package tools

import _ "sigs.k8s.io/kustomize/kustomize/v5"
