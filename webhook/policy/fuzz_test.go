package policy

import (
	"encoding/json"
	"testing"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
)

// FuzzCompile: whatever policy object arrives (the policy webhook and the
// applier see anything a user can store), validating and compiling it
// returns a generation or an error, never a panic; and a generation it
// returns is whole.
func FuzzCompile(f *testing.F) {
	f.Add([]byte(`{"metadata":{"name":"default"},"spec":{}}`))
	f.Add([]byte(`{"spec":{"mutation":{"idleTimeoutSeconds":0,"affinity":{"cookieName":"ws;x","sameSite":"Lax"}},"rules":{"x":{"action":"block"}}}}`))
	f.Add([]byte(`{"spec":{"excludedNamespaces":["a","a",""],"audit":{"interval":"1s"},"nginxAnnotationPrefix":"/x/"}}`))
	f.Add([]byte(`{"spec":{"customRules":[{"id":"a","rego":"package wsdefaults.custom.a\nviolation contains {\"field\":\"f\",\"message\":\"m\"} if true"}]}}`))
	f.Add([]byte(`{"spec":{"customRules":[{"id":"tls-required","rego":"package x"},{"id":"a","rego":""}]}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var p v1alpha1.WebSocketPolicy
		if json.Unmarshal(raw, &p) != nil {
			return
		}
		g, err := FromObject(&p)
		if err != nil {
			return
		}
		if g.Mutation == nil || g.Spec.Mutation.IdleTimeoutSeconds == nil || len(g.Spec.Rules) != len(v1alpha1.BuiltinRules) {
			t.Fatalf("half-built generation from %s", raw)
		}
		if g.Custom.Len() != len(p.Spec.CustomRules) {
			t.Fatalf("%d custom rules compiled of %d", g.Custom.Len(), len(p.Spec.CustomRules))
		}
	})
}
