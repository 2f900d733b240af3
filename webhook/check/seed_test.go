package check

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
	"github.com/ws-defaults/ws-defaults/webhook/validate"
)

// TestSeedGuide runs the seed guide's own manifests through the real rules
// and checks that the mistakes the research notes point out (§8, "Verdicts
// on commonly-given advice") are each found, and nothing else.
func TestSeedGuide(t *testing.T) {
	engine, err := validate.NewEngine(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	objs, err := Read([]string{"testdata/seed"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Check(context.Background(), objs, v1alpha1.BuiltinPolicy(), Rules{Engine: engine})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		// proxy-connect-timeout "3600" is not the WebSocket timeout. Its only
		// path is a catch-all / to a port given by number: no WebSocket
		// evidence, so tls-required says nothing, and the audit-level
		// websocket-evidence-missing asks for the annotation.
		"01-nginx-basic.yaml#0": {"nginx-connect-timeout-range", "websocket-evidence-missing"},
		// CORS * with credentials; upstream-hash-by ignored beside cookie affinity.
		"02-nginx-full.yaml#0": {"affinity-hash-conflict", "cors-wildcard-credentials", "nginx-connect-timeout-range"},
		// A server-snippet: the CVE-2021-25742 class.
		"03-nginx-snippet.yaml#0": {"nginx-snippet-annotation", "websocket-evidence-missing"},
		// traefik.containo.us is gone in Traefik v3; insecureSkipVerify.
		"04-traefik.yaml#0": {"traefik-legacy-api-group"},
		"04-traefik.yaml#1": {"traefik-legacy-api-group"},
		"04-traefik.yaml#2": {"traefik-insecure-skip-verify", "traefik-legacy-api-group"},
		"05-haproxy.yaml#0": {"tls-required"},
		// timeout: 0s is rejected by Istio; UPGRADE breaks WebSockets; simple
		// and consistentHash exclude each other; websocketUpgrade was removed in
		// Istio 1.5.
		"06-istio.yaml#0":   {"istio-websocket-upgrade-removed", "istio-zero-timeout"},
		"06-istio.yaml#1":   {"istio-h2-upgrade", "istio-lb-policy-conflict"},
		"06-istio.yaml#2":   nil,
		"07-linkerd.yaml#0": {"linkerd-server-authorization-deprecated"},
		"07-linkerd.yaml#1": nil,
	}
	if len(rep.Results) != len(want) {
		t.Errorf("%d objects read, want %d", len(rep.Results), len(want))
	}
	for _, r := range rep.Results {
		var got []string
		for _, v := range r.Violations {
			got = append(got, v.Rule)
		}
		slices.Sort(got)
		got = slices.Compact(got)
		if w := want[filepath.Base(r.Source)]; !slices.Equal(got, w) {
			t.Errorf("%s: rules %v, want %v", r.Source, got, w)
		}
	}
	if rep.Summary.Denied != 5 {
		t.Errorf("denied objects = %d, want 5", rep.Summary.Denied)
	}
}
