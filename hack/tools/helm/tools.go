//go:build tools

// Package tools pins Helm, which test/install uses to lint and render
// charts/ws-defaults and hack/render-kustomize.sh uses to generate
// config/webhook/base. Its own module, so Helm's Kubernetes libraries never
// constrain the product's.
package tools

import _ "helm.sh/helm/v4/cmd/helm"
