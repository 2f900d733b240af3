package mutate

import (
	"testing"

	"github.com/ws-defaults/ws-defaults/webhook/ingressclass"
)

// FuzzPatch mutates arbitrary objects: whatever is patched must still read,
// and a second pass must add nothing (idempotence).
func FuzzPatch(f *testing.F) {
	f.Add([]byte(`{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"annotations":{"alb.ingress.kubernetes.io/target-type":"ip"}},"spec":{"ingressClassName":"alb"}}`))
	f.Add([]byte(`{"apiVersion":"v1","kind":"Service","metadata":{"labels":{"ws-defaults":"enabled"}},"spec":{"ports":[{"name":"ws","port":1}]}}`))
	f.Add([]byte(`{"apiVersion":"projectcontour.io/v1","kind":"HTTPProxy","spec":{"routes":[{}]}}`))
	f.Add([]byte(`{"apiVersion":"networking.istio.io/v1","kind":"DestinationRule","spec":{}}`))
	f.Add([]byte(`{"apiVersion":"cloud.google.com/v1","kind":"BackendConfig","spec":{"timeoutSec":"x"}}`))
	env := withClasses(ingressclass.Class{Name: "t", Controller: ingressclass.Traefik}, ingressclass.Class{Name: "k", Controller: ingressclass.Kong},
		ingressclass.Class{Name: "h", Controller: ingressclass.HAProxyTech})
	f.Fuzz(func(t *testing.T, raw []byte) {
		ops, _, err := Patch(raw, env)
		if err != nil || len(ops) == 0 {
			return
		}
		out := applyOps(t, raw, ops)
		again, _, err := Patch(out, env)
		if err != nil {
			t.Fatalf("mutated object no longer reads: %v", err)
		}
		if len(again) != 0 {
			t.Fatalf("not idempotent: %v", again)
		}
	})
}
