package check

import (
	"slices"
	"testing"
)

// TestGKEBackendWithoutBackendConfig: on a GKE Ingress, only the WebSocket
// route whose Service is in the input and attaches no BackendConfig is
// flagged; the one whose Service has a BackendConfig, the plain route, and
// the route to a Service not in the input (nothing to say about it) are not.
func TestGKEBackendWithoutBackendConfig(t *testing.T) {
	rep := checkFile(t, "gke-backend.yaml")
	var fired []string
	for _, v := range rep.Results[0].Violations {
		if v.Rule == "gke-ws-backend-timeout" {
			fired = append(fired, v.Field)
		}
	}
	if want := []string{"spec.rules[0].http.paths[0]"}; !slices.Equal(fired, want) {
		t.Errorf("gke-ws-backend-timeout on %v, want %v (all: %v)", fired, want, rules(rep.Results[0]))
	}
}
