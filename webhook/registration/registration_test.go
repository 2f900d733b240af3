package registration

import (
	"fmt"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

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
		if *w.TimeoutSeconds > 5 || *w.ClientConfig.Service.Path != "/validate" {
			t.Errorf("%s: timeout %d path %s", w.Name, *w.TimeoutSeconds, *w.ClientConfig.Service.Path)
		}
	}
}
