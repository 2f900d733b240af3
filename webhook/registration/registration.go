// Package registration builds the webhook configurations that tell the API
// server which requests to send to ws-defaults. Opt-in is expressed in
// selectors, so the API server never calls the webhook for objects it would
// ignore, and an outage of the webhook cannot touch them.
package registration

import (
	"slices"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
	"github.com/ws-defaults/ws-defaults/webhook/kinds"
	"github.com/ws-defaults/ws-defaults/webhook/scope"
)

// Names of the webhook configurations.
const (
	MutatingName   = "ws-defaults-mutating"
	ValidatingName = "ws-defaults-validating"
)

// The WebSocketPolicy validating webhook: the server's handler at
// PolicyValidatePath runs v1alpha1's Validate, the authority the CRD's schema
// is a subset of.
const (
	PolicyValidatePath = "/validate-policy"
	PolicyWebhookName  = "policy.ws-defaults.io"
)

// PolicyResources are the WebSocketPolicy writes the policy webhook judges.
var PolicyResources = []admissionregistrationv1.RuleWithOperations{{
	Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
	Rule: admissionregistrationv1.Rule{
		APIGroups: []string{v1alpha1.Group}, APIVersions: []string{v1alpha1.Version}, Resources: []string{v1alpha1.Resource},
		Scope: ptr(admissionregistrationv1.ClusterScope),
	},
}}

// Options say where the webhook Service is and what to exclude.
type Options struct {
	ServiceName      string
	ServiceNamespace string
	// Port of the Service; 0 means 443.
	Port int32
	// CABundle signs the webhook's serving certificate (PEM).
	CABundle []byte
	// ExcludedNamespaces adds to the system namespaces and the webhook's own.
	ExcludedNamespaces []string
	// TimeoutSeconds bounds each call; 0 means 3.
	TimeoutSeconds int32
}

// MutatedResources are the kinds /mutate defaults (kinds.Handled).
var MutatedResources = resourceRules(kinds.Mutated())

// ValidatedResources are the kinds the rules look at (kinds.Handled).
// Whole groups ("*") where every kind of the group is judged, such as the
// traefik.containo.us group that Traefik v3 removed.
var ValidatedResources = resourceRules(kinds.Validated())

// resourceRules turns kinds into webhook rules, one per group and version
// set, resources in table order.
func resourceRules(ks []kinds.Kind) []admissionregistrationv1.RuleWithOperations {
	var out []admissionregistrationv1.RuleWithOperations
	index := map[string]int{}
	for _, k := range ks {
		key := k.Group + "|" + strings.Join(k.Versions, ",")
		if i, ok := index[key]; ok {
			out[i].Resources = append(out[i].Resources, k.Resource)
			continue
		}
		index[key] = len(out)
		out = append(out, rule([]string{k.Group}, slices.Clone(k.Versions), k.Resource))
	}
	return out
}

func rule(groups, versions []string, resources ...string) admissionregistrationv1.RuleWithOperations {
	namespaced := admissionregistrationv1.NamespacedScope
	return admissionregistrationv1.RuleWithOperations{
		Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
		Rule: admissionregistrationv1.Rule{
			APIGroups: groups, APIVersions: versions, Resources: resources, Scope: &namespaced,
		},
	}
}

// Excluded is every namespace the webhook never sees.
func (o Options) Excluded() []string {
	out := append([]string{}, scope.SystemNamespaces...)
	if o.ServiceNamespace != "" {
		out = append(out, o.ServiceNamespace)
	}
	return append(out, o.ExcludedNamespaces...)
}

// Mutating returns the MutatingWebhookConfiguration: one entry for enabled
// namespaces (minus objects labelled disabled), one for objects labelled
// enabled in any other namespace. It fails open (Ignore): defaults are a
// convenience and must never block a write.
func Mutating(o Options) *admissionregistrationv1.MutatingWebhookConfiguration {
	ignore := admissionregistrationv1.Ignore
	ifNeeded := admissionregistrationv1.IfNeededReinvocationPolicy
	entry := func(name string, ns, obj *metav1.LabelSelector) admissionregistrationv1.MutatingWebhook {
		return admissionregistrationv1.MutatingWebhook{
			Name:                    name,
			ClientConfig:            o.clientConfig("/mutate"),
			Rules:                   MutatedResources,
			FailurePolicy:           &ignore,
			SideEffects:             ptr(admissionregistrationv1.SideEffectClassNone),
			TimeoutSeconds:          ptr(o.timeout()),
			AdmissionReviewVersions: []string{"v1"},
			ReinvocationPolicy:      &ifNeeded,
			NamespaceSelector:       ns,
			ObjectSelector:          obj,
		}
	}
	return &admissionregistrationv1.MutatingWebhookConfiguration{
		TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "MutatingWebhookConfiguration"},
		ObjectMeta: metav1.ObjectMeta{Name: MutatingName},
		Webhooks: []admissionregistrationv1.MutatingWebhook{
			entry("namespaces.mutate.ws-defaults.io", o.enabledNamespaces(), notDisabled()),
			entry("objects.mutate.ws-defaults.io", o.otherNamespaces(), labelledEnabled()),
		},
	}
}

// Validating returns the ValidatingWebhookConfiguration. Objects whose
// owners opted in (enabled namespaces, objects labelled enabled) fail
// closed: their owners asked for enforcement. Everything else that is not
// excluded is judged by the cluster-scope rules but fails open, so an outage
// of the webhook never blocks a namespace that did not ask for it. The
// WebSocketPolicy entry (no selectors: the policy is cluster-scoped) fails
// closed: nobody may store a broken policy while the webhook is down.
func Validating(o Options) *admissionregistrationv1.ValidatingWebhookConfiguration {
	entry := func(name string, policy admissionregistrationv1.FailurePolicyType, ns, obj *metav1.LabelSelector) admissionregistrationv1.ValidatingWebhook {
		return admissionregistrationv1.ValidatingWebhook{
			Name:                    name,
			ClientConfig:            o.clientConfig("/validate"),
			Rules:                   ValidatedResources,
			FailurePolicy:           ptr(policy),
			SideEffects:             ptr(admissionregistrationv1.SideEffectClassNone),
			TimeoutSeconds:          ptr(o.timeout()),
			AdmissionReviewVersions: []string{"v1"},
			NamespaceSelector:       ns,
			ObjectSelector:          obj,
		}
	}
	fail, ignore := admissionregistrationv1.Fail, admissionregistrationv1.Ignore
	return &admissionregistrationv1.ValidatingWebhookConfiguration{
		TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "ValidatingWebhookConfiguration"},
		ObjectMeta: metav1.ObjectMeta{Name: ValidatingName},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{
			entry("namespaces.validate.ws-defaults.io", fail, o.enabledNamespaces(), notDisabled()),
			entry("objects.validate.ws-defaults.io", fail, o.otherNamespaces(), labelledEnabled()),
			entry("opted-out.validate.ws-defaults.io", ignore, o.enabledNamespaces(), labelledDisabled()),
			entry("cluster.validate.ws-defaults.io", ignore, o.otherNamespaces(), notEnabled()),
			{
				Name:                    PolicyWebhookName,
				ClientConfig:            o.clientConfig(PolicyValidatePath),
				Rules:                   PolicyResources,
				FailurePolicy:           ptr(fail),
				SideEffects:             ptr(admissionregistrationv1.SideEffectClassNone),
				TimeoutSeconds:          ptr(o.timeout()),
				AdmissionReviewVersions: []string{"v1"},
			},
		},
	}
}

func (o Options) clientConfig(path string) admissionregistrationv1.WebhookClientConfig {
	port := o.Port
	if port == 0 {
		port = 443
	}
	return admissionregistrationv1.WebhookClientConfig{
		Service:  &admissionregistrationv1.ServiceReference{Namespace: o.ServiceNamespace, Name: o.ServiceName, Path: &path, Port: &port},
		CABundle: o.CABundle,
	}
}

func (o Options) timeout() int32 {
	if o.TimeoutSeconds == 0 {
		return 3
	}
	return o.TimeoutSeconds
}

func (o Options) notExcluded() metav1.LabelSelectorRequirement {
	return metav1.LabelSelectorRequirement{Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpNotIn, Values: o.Excluded()}
}

func (o Options) enabledNamespaces() *metav1.LabelSelector {
	return &metav1.LabelSelector{
		MatchLabels:      map[string]string{v1alpha1.OptInLabel: v1alpha1.OptInEnabled},
		MatchExpressions: []metav1.LabelSelectorRequirement{o.notExcluded()},
	}
}

func (o Options) otherNamespaces() *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
		{Key: v1alpha1.OptInLabel, Operator: metav1.LabelSelectorOpNotIn, Values: []string{v1alpha1.OptInEnabled}},
		o.notExcluded(),
	}}
}

func notDisabled() *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
		{Key: v1alpha1.OptInLabel, Operator: metav1.LabelSelectorOpNotIn, Values: []string{v1alpha1.OptInDisabled}},
	}}
}

func notEnabled() *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
		{Key: v1alpha1.OptInLabel, Operator: metav1.LabelSelectorOpNotIn, Values: []string{v1alpha1.OptInEnabled}},
	}}
}

func labelledDisabled() *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{v1alpha1.OptInLabel: v1alpha1.OptInDisabled}}
}

func labelledEnabled() *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{v1alpha1.OptInLabel: v1alpha1.OptInEnabled}}
}

func ptr[T any](v T) *T { return &v }
