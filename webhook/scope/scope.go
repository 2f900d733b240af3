// Package scope decides which objects ws-defaults acts on: opt-in by
// namespace or object label, opt-out by object label, and the namespaces
// that are never touched.
package scope

import (
	"slices"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
)

// SystemNamespaces are excluded from every rule and mutation.
var SystemNamespaces = []string{"kube-system", "kube-public", "kube-node-lease"}

// OptedIn reports whether an object gets mutation defaults and the
// opted-in rules: its own label wins, then its namespace's label.
func OptedIn(objectLabels, namespaceLabels map[string]string) bool {
	switch objectLabels[v1alpha1.OptInLabel] {
	case v1alpha1.OptInDisabled:
		return false
	case v1alpha1.OptInEnabled:
		return true
	}
	return namespaceLabels[v1alpha1.OptInLabel] == v1alpha1.OptInEnabled
}

// Excluded reports whether namespace is never acted on: a system namespace,
// the webhook's own, or one the policy lists.
func Excluded(namespace, ownNamespace string, policyExcluded []string) bool {
	if namespace == "" {
		return false
	}
	return namespace == ownNamespace || slices.Contains(SystemNamespaces, namespace) || slices.Contains(policyExcluded, namespace)
}
