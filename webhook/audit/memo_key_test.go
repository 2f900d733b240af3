package audit

import (
	"testing"

	"github.com/ws-defaults/ws-defaults/webhook/evidence"
	"github.com/ws-defaults/ws-defaults/webhook/pipeline"
)

// TestContextKeyFollowsGatewayFacts: a route's verdict depends on its
// Gateway, its class and the policies attached to it, so a change in any
// of them must miss the memo even when the route itself is unchanged.
func TestContextKeyFollowsGatewayFacts(t *testing.T) {
	withFacts := func(g *evidence.Gateway) *pipeline.Context {
		return &pipeline.Context{OptedIn: true, Evidence: &evidence.Evidence{Gateway: g}}
	}
	base := contextKey(1, withFacts(&evidence.Gateway{}))
	if base != contextKey(1, withFacts(&evidence.Gateway{})) {
		t.Fatal("equal facts hash differently")
	}
	changed := []*evidence.Gateway{
		{Controllers: []string{evidence.ControllerNGF}},
		{Backends: map[string]evidence.BackendPort{"spec.rules[0].backendRefs[0]": {Service: "a/b", Port: "80", AppProtocol: "kubernetes.io/h2c"}}},
		{Policies: []evidence.AttachedPolicy{{Kind: "ProxySettingsPolicy", Name: "ws", Spec: map[string]any{"timeout": map[string]any{"read": "60s"}}}}},
		{Policies: []evidence.AttachedPolicy{{Kind: "ProxySettingsPolicy", Name: "ws", Spec: map[string]any{"timeout": map[string]any{"read": "1h"}}}}},
	}
	seen := map[uint64]bool{base: true}
	for i, g := range changed {
		k := contextKey(1, withFacts(g))
		if seen[k] {
			t.Errorf("facts %d hash like earlier ones: a changed Gateway or policy would reuse a stale verdict", i)
		}
		seen[k] = true
	}
}
