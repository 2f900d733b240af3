package registration

import (
	"fmt"
	"reflect"
	"slices"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
	"github.com/ws-defaults/ws-defaults/webhook/scope"
)

func matches(t *testing.T, sel *metav1.LabelSelector, set map[string]string) bool {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Fatal(err)
	}
	return s.Matches(labels.Set(set))
}

// TestSelectorsPartitionObjects checks, for every combination of namespace
// and object labels, which webhook entries the API server would call: the
// mutating webhook exactly once for opted-in objects and never otherwise;
// the validating webhook exactly once for every object outside the excluded
// namespaces, failing closed only for opted-in objects.
func TestSelectorsPartitionObjects(t *testing.T) {
	o := Options{ServiceName: "ws-defaults", ServiceNamespace: "ws-system", ExcludedNamespaces: []string{"legacy"}}
	mut, val := Mutating(o), Validating(o)
	for _, ns := range []string{"app", "kube-system", "ws-system", "legacy"} {
		for _, nsLabel := range []string{"", "enabled", "disabled", "other"} {
			for _, objLabel := range []string{"", "enabled", "disabled", "other"} {
				nsLabels := map[string]string{"kubernetes.io/metadata.name": ns}
				objLabels := map[string]string{}
				if nsLabel != "" {
					nsLabels["ws-defaults"] = nsLabel
				}
				if objLabel != "" {
					objLabels["ws-defaults"] = objLabel
				}
				name := fmt.Sprintf("ns=%s/%q obj=%q", ns, nsLabel, objLabel)
				excluded := scope.Excluded(ns, o.ServiceNamespace, o.ExcludedNamespaces)
				optedIn := !excluded && scope.OptedIn(objLabels, nsLabels)

				var mutCalls int
				for _, w := range mut.Webhooks {
					if matches(t, w.NamespaceSelector, nsLabels) && matches(t, w.ObjectSelector, objLabels) {
						mutCalls++
					}
				}
				if want := map[bool]int{true: 1, false: 0}[optedIn]; mutCalls != want {
					t.Errorf("%s: mutating entries called %d times, want %d", name, mutCalls, want)
				}

				var called []admissionregistrationv1.ValidatingWebhook
				for _, w := range val.Webhooks {
					if w.Name == PolicyWebhookName {
						continue // cluster-scoped WebSocketPolicy only: TestPolicyWebhook
					}
					if matches(t, w.NamespaceSelector, nsLabels) && matches(t, w.ObjectSelector, objLabels) {
						called = append(called, w)
					}
				}
				switch {
				case excluded && len(called) != 0:
					t.Errorf("%s: excluded namespace reaches %d validating entries", name, len(called))
				case !excluded && len(called) != 1:
					t.Errorf("%s: %d validating entries called, want exactly 1", name, len(called))
				case !excluded:
					wantFail := optedIn
					if gotFail := *called[0].FailurePolicy == admissionregistrationv1.Fail; gotFail != wantFail {
						t.Errorf("%s: entry %s fails closed = %v, want %v", name, called[0].Name, gotFail, wantFail)
					}
				}
			}
		}
	}
}

func TestConfigurationsAreSafe(t *testing.T) {
	mut := Mutating(Options{ServiceName: "s", ServiceNamespace: "n"})
	for _, w := range mut.Webhooks {
		if *w.FailurePolicy != admissionregistrationv1.Ignore {
			t.Errorf("%s: mutation must fail open", w.Name)
		}
		if *w.TimeoutSeconds > 5 || *w.SideEffects != admissionregistrationv1.SideEffectClassNone || *w.ReinvocationPolicy != admissionregistrationv1.IfNeededReinvocationPolicy {
			t.Errorf("%s: timeout %d, sideEffects %s, reinvocation %s", w.Name, *w.TimeoutSeconds, *w.SideEffects, *w.ReinvocationPolicy)
		}
		if *w.ClientConfig.Service.Path != "/mutate" {
			t.Errorf("%s: path %s", w.Name, *w.ClientConfig.Service.Path)
		}
	}
	for _, w := range Validating(Options{ServiceName: "s", ServiceNamespace: "n"}).Webhooks {
		want := "/validate"
		if w.Name == PolicyWebhookName {
			want = PolicyValidatePath
		}
		if *w.TimeoutSeconds > 5 || *w.ClientConfig.Service.Path != want {
			t.Errorf("%s: timeout %d path %s", w.Name, *w.TimeoutSeconds, *w.ClientConfig.Service.Path)
		}
	}
}

// TestPolicyWebhook: WebSocketPolicy creates and updates go to
// /validate-policy, fail closed, with no selector that could skip them, and
// no other entry sees them.
func TestPolicyWebhook(t *testing.T) {
	o := Options{ServiceName: "ws-defaults", ServiceNamespace: "ws-system", Port: 8443, TimeoutSeconds: 4}
	var found []admissionregistrationv1.ValidatingWebhook
	for _, w := range Validating(o).Webhooks {
		for _, r := range w.Rules {
			if slices.Contains(r.APIGroups, v1alpha1.Group) || slices.Contains(r.Resources, v1alpha1.Resource) {
				if w.Name != PolicyWebhookName {
					t.Errorf("%s also sees WebSocketPolicies", w.Name)
				}
			}
		}
		if w.Name == PolicyWebhookName {
			found = append(found, w)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d entries named %s, want 1", len(found), PolicyWebhookName)
	}
	w := found[0]
	cluster := admissionregistrationv1.ClusterScope
	wantRules := []admissionregistrationv1.RuleWithOperations{{
		Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
		Rule: admissionregistrationv1.Rule{
			APIGroups: []string{"ws-defaults.io"}, APIVersions: []string{"v1alpha1"}, Resources: []string{"websocketpolicies"}, Scope: &cluster,
		},
	}}
	switch {
	case !reflect.DeepEqual(w.Rules, wantRules):
		t.Errorf("rules %+v, want %+v", w.Rules, wantRules)
	case *w.FailurePolicy != admissionregistrationv1.Fail:
		t.Errorf("failurePolicy %s, want Fail", *w.FailurePolicy)
	case *w.SideEffects != admissionregistrationv1.SideEffectClassNone:
		t.Errorf("sideEffects %s", *w.SideEffects)
	case w.NamespaceSelector != nil || w.ObjectSelector != nil || len(w.MatchConditions) != 0:
		t.Errorf("selectors or match conditions would let a policy through: %+v %+v %+v", w.NamespaceSelector, w.ObjectSelector, w.MatchConditions)
	case *w.TimeoutSeconds != 4:
		t.Errorf("timeout %d, want the others' 4", *w.TimeoutSeconds)
	case *w.ClientConfig.Service.Path != "/validate-policy" || *w.ClientConfig.Service.Port != 8443 ||
		w.ClientConfig.Service.Name != "ws-defaults" || w.ClientConfig.Service.Namespace != "ws-system":
		t.Errorf("clientConfig %+v", *w.ClientConfig.Service)
	case !slices.Equal(w.AdmissionReviewVersions, []string{"v1"}):
		t.Errorf("admissionReviewVersions %v", w.AdmissionReviewVersions)
	}
}
