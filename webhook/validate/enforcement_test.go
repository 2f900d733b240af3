package validate

import (
	"context"
	"testing"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
)

// TestEnforcementCapsClusterRules: cluster-scope rules (built-in and
// custom) act at their own action on opted-in objects, at most as
// spec.enforcement.outsideOptIn on objects outside opt-in and at most as
// spec.enforcement.optedOut on objects labelled disabled.
func TestEnforcementCapsClusterRules(t *testing.T) {
	obj := decode(t, ingress("nginx", map[string]string{nginx + "server-snippet": "return 200;", nginx + "session-cookie-max-age": "172800"}))
	set := custom(t, CustomRule{ID: "team-max-cookie-age", Action: v1alpha1.ActionDeny, Scope: v1alpha1.ScopeCluster, Severity: "high", Rego: teamRule})
	in := func(optedIn, optedOut bool) Input {
		return Input{Object: obj, OptedIn: optedIn, OptedOut: optedOut, Controller: "k8s.io/ingress-nginx"}
	}
	for _, tt := range []struct {
		name        string
		enforcement v1alpha1.EnforcementSpec
		in          Input
		want        v1alpha1.RuleAction // "" for no finding
	}{
		{"opted in: own action", v1alpha1.EnforcementSpec{}, in(true, false), v1alpha1.ActionDeny},
		{"outside opt-in: warn by default", v1alpha1.EnforcementSpec{}, in(false, false), v1alpha1.ActionWarn},
		{"outside opt-in: deny when the policy says so", v1alpha1.EnforcementSpec{OutsideOptIn: v1alpha1.ActionDeny}, in(false, false), v1alpha1.ActionDeny},
		{"outside opt-in: audit", v1alpha1.EnforcementSpec{OutsideOptIn: v1alpha1.ActionAudit}, in(false, false), v1alpha1.ActionAudit},
		{"outside opt-in: off", v1alpha1.EnforcementSpec{OutsideOptIn: v1alpha1.ActionOff}, in(false, false), ""},
		{"opted out: nothing by default", v1alpha1.EnforcementSpec{OutsideOptIn: v1alpha1.ActionDeny}, in(false, true), ""},
		{"opted out: warn when the policy says so", v1alpha1.EnforcementSpec{OptedOut: v1alpha1.ActionWarn}, in(false, true), v1alpha1.ActionWarn},
	} {
		t.Run(tt.name, func(t *testing.T) {
			policy := v1alpha1.WebSocketPolicySpec{Enforcement: tt.enforcement}.WithDefaults()
			vs, errs, err := engine.Evaluate(context.Background(), tt.in, &policy, set)
			if err != nil || len(errs) != 0 {
				t.Fatal(err, errs)
			}
			for _, id := range []string{"nginx-snippet-annotation", "team-max-cookie-age"} {
				var got v1alpha1.RuleAction
				for _, v := range vs {
					if v.Rule == id {
						got = v.Action
					}
				}
				if got != tt.want {
					t.Errorf("%s: action %q, want %q (all: %v)", id, got, tt.want, vs)
				}
			}
			for _, v := range vs {
				if !tt.in.OptedIn && v1alpha1.BuiltinRules[v.Rule].Scope == v1alpha1.ScopeOptedIn {
					t.Errorf("opted-in rule %s fired outside opt-in", v.Rule)
				}
			}
		})
	}
}
