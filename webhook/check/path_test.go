package check

import (
	"context"
	"testing"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
)

// TestResultPath: a WebSocket route's result carries its path, with the
// load balancer in front found in another object of the input.
func TestResultPath(t *testing.T) {
	objs, err := Read([]string{"../../docs/examples/edge/aws-classic-elb.yaml"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Check(context.Background(), objs, v1alpha1.BuiltinPolicy(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Results {
		switch r.Kind {
		case "Ingress":
			if len(r.Path) != 1 || r.Path[0].LimitedBy != "edge" || r.Path[0].EffectiveIdleSeconds == nil || *r.Path[0].EffectiveIdleSeconds != 60 {
				t.Errorf("Ingress path: %+v", r.Path)
			}
		default:
			if len(r.Path) != 0 {
				t.Errorf("%s has a path: %+v", r.Kind, r.Path)
			}
		}
	}
}
