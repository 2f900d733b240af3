//go:build tools

// Package tools pins the control-plane commands that hack/controlplane.sh
// builds, so `go mod tidy` keeps k8s.io/kubernetes and its staging modules.
// The build tag keeps this file out of every normal build; the script builds
// the commands by import path, never this package.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
