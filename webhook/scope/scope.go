// Package scope decides which objects ws-defaults acts on, and how hard:
// opt-in by namespace or object label, opt-out by object label, the
// namespaces that are never touched, and the cap on cluster-scope rules
// outside opt-in (spec.enforcement).
package scope

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
)

// SystemNamespaces are excluded from every rule and mutation.
var SystemNamespaces = []string{"kube-system", "kube-public", "kube-node-lease"}

// Membership is where an object stands towards ws-defaults.
type Membership int

const (
	// Unlabelled: neither the object nor its namespace says; cluster-scope
	// rules act at most as spec.enforcement.outsideOptIn.
	Unlabelled Membership = iota
	// In: opted in; mutation and every rule at its own action.
	In
	// Out: labelled ws-defaults=disabled; cluster-scope rules act at most
	// as spec.enforcement.optedOut (default off: nothing at all).
	Out
)

// Of decides an object's membership: its own ws-defaults label wins, then
// its namespace's. A label value other than enabled or disabled counts as
// no label (LabelProblem says why).
func Of(objectLabels, namespaceLabels map[string]string) Membership {
	for _, labels := range []map[string]string{objectLabels, namespaceLabels} {
		switch labels[v1alpha1.OptInLabel] {
		case v1alpha1.OptInEnabled:
			return In
		case v1alpha1.OptInDisabled:
			return Out
		}
	}
	return Unlabelled
}

// FromFlags is the membership that the opted-in and opted-out flags
// (pipeline.Context, validate.Input) stand for.
func FromFlags(optedIn, optedOut bool) Membership {
	switch {
	case optedIn:
		return In
	case optedOut:
		return Out
	}
	return Unlabelled
}

// OptedIn reports whether an object gets mutation defaults and the
// opted-in rules: its own label wins, then its namespace's label.
func OptedIn(objectLabels, namespaceLabels map[string]string) bool {
	return Of(objectLabels, namespaceLabels) == In
}

// Ceiling is the strongest action a cluster-scope rule may take on an
// object of membership m under enforcement e (defaults filled in).
// Opted-in objects get each rule's own action (deny caps nothing).
func Ceiling(m Membership, e v1alpha1.EnforcementSpec) v1alpha1.RuleAction {
	switch m {
	case In:
		return v1alpha1.ActionDeny
	case Out:
		return e.OptedOut
	default:
		return e.OutsideOptIn
	}
}

// LabelProblem explains a ws-defaults label value that is neither enabled
// nor disabled, which opts nothing in or out; "" for an accepted value or
// no label.
func LabelProblem(labels map[string]string) string {
	v, set := labels[v1alpha1.OptInLabel]
	if !set || v == v1alpha1.OptInEnabled || v == v1alpha1.OptInDisabled {
		return ""
	}
	hint := ""
	if l := strings.ToLower(strings.TrimSpace(v)); l == v1alpha1.OptInEnabled || l == "true" || l == "on" || l == "yes" {
		hint = fmt.Sprintf("; did you mean %q?", v1alpha1.OptInEnabled)
	} else if l == v1alpha1.OptInDisabled || l == "false" || l == "off" || l == "no" {
		hint = fmt.Sprintf("; did you mean %q?", v1alpha1.OptInDisabled)
	}
	return fmt.Sprintf("label %s=%q is not a value ws-defaults knows and counts as no label: use %q or %q (lowercase)%s",
		v1alpha1.OptInLabel, v, v1alpha1.OptInEnabled, v1alpha1.OptInDisabled, hint)
}

// Excluded reports whether namespace is never acted on: a system namespace,
// the webhook's own, or one the policy lists.
func Excluded(namespace, ownNamespace string, policyExcluded []string) bool {
	if namespace == "" {
		return false
	}
	return namespace == ownNamespace || slices.Contains(SystemNamespaces, namespace) || slices.Contains(policyExcluded, namespace)
}
