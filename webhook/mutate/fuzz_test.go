package mutate

import (
	"testing"

	"github.com/ws-defaults/ws-defaults/webhook/evidence"
	"github.com/ws-defaults/ws-defaults/webhook/ingressclass"
)

// FuzzPatch mutates arbitrary objects: whatever is patched must still read,
// and a second pass must add nothing (idempotence).
func FuzzPatch(f *testing.F) {
	f.Add([]byte(`{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"annotations":{"alb.ingress.kubernetes.io/target-type":"ip"}},"spec":{"ingressClassName":"alb"}}`))
	f.Add([]byte(`{"apiVersion":"v1","kind":"Service","metadata":{"labels":{"ws-defaults":"enabled"}},"spec":{"ports":[{"name":"ws","port":1}]}}`))
	f.Add([]byte(`{"apiVersion":"v1","kind":"Service","metadata":{"labels":{"ws-defaults":"enabled"},"annotations":{"service.beta.kubernetes.io/aws-load-balancer-type":"external","service.beta.kubernetes.io/aws-load-balancer-listener-attributes.TCP-1":"a=b"}},"spec":{"type":"LoadBalancer","ports":[{"name":"ws","port":1}]}}`))
	f.Add([]byte(`{"apiVersion":"v1","kind":"Service","metadata":{"annotations":{"service.beta.kubernetes.io/azure-load-balancer-internal":"true"}},"spec":{"type":"LoadBalancer","ports":[{"name":"ws","port":1}]}}`))
	f.Add([]byte(`{"apiVersion":"projectcontour.io/v1","kind":"HTTPProxy","spec":{"routes":[{}]}}`))
	f.Add([]byte(`{"apiVersion":"networking.istio.io/v1","kind":"DestinationRule","spec":{}}`))
	f.Add([]byte(`{"apiVersion":"cloud.google.com/v1","kind":"BackendConfig","spec":{"timeoutSec":"x"}}`))
	f.Add([]byte(`{"apiVersion":"gateway.networking.k8s.io/v1","kind":"HTTPRoute","spec":{"rules":[{"matches":[{"path":{"value":"/ws"}}]},{"timeouts":{"backendRequest":"2h"}},{"timeouts":{"backendRequest":"30m"}}]}}`))
	f.Add([]byte(`{"apiVersion":"gateway.envoyproxy.io/v1alpha1","kind":"BackendTrafficPolicy","spec":{"targetRefs":[{"kind":"HTTPRoute","name":"r"}],"timeout":{"tcp":{}}}}`))
	f.Add([]byte(`{"apiVersion":"gateway.nginx.org/v1alpha1","kind":"ProxySettingsPolicy","spec":{"targetRefs":[{"kind":"Gateway","name":"g"}],"timeout":{"read":"30s"}}}`))
	f.Add([]byte(`{"apiVersion":"networking.gke.io/v1","kind":"GCPBackendPolicy","spec":{"targetRef":{"kind":"Service","name":"s"},"default":null}}`))
	env := withClasses(ingressclass.Class{Name: "t", Controller: ingressclass.Traefik}, ingressclass.Class{Name: "k", Controller: ingressclass.Kong},
		ingressclass.Class{Name: "h", Controller: ingressclass.HAProxyTech})
	// Gateway API rows act only on what the pipeline's evidence names:
	// fuzz them under evidence for the first rules and targets, served by
	// Envoy Gateway, and an idle timeout the NGF format must round up.
	gateway := withIdle(gatewayEnv([]string{evidence.ControllerEnvoyGateway},
		"spec.rules[0]", "spec.rules[1]", "spec.rules[2]", "spec.targetRef", "spec.targetRefs[0]", "spec.targetRefs[1]"), 10001)
	f.Fuzz(func(t *testing.T, raw []byte) {
		for _, env := range []Env{env, gateway} {
			ops, _, err := Patch(raw, env)
			if err != nil || len(ops) == 0 {
				continue
			}
			out := applyOps(t, raw, ops)
			again, _, err := Patch(out, env)
			if err != nil {
				t.Fatalf("mutated object no longer reads: %v", err)
			}
			if len(again) != 0 {
				t.Fatalf("not idempotent: %v", again)
			}
		}
	})
}
