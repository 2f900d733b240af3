package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

const edgeExample = "../../docs/examples/edge/aws-classic-elb.yaml"

func runExplain(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := newExplainCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		return exitCode(err), out.String()
	}
	return 0, out.String()
}

// TestExplainExample: the docs/edge.md example. The Classic ELB in front of
// ingress-nginx, linked by its status address, keeps its 60 s default and
// limits the route although the Ingress gets 3600 s.
func TestExplainExample(t *testing.T) {
	code, out := runExplain(t, "-f", edgeExample, "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	var got struct {
		Routes []struct {
			Object, Route, LimitedBy string
			EffectiveIdleSeconds     *int64
			Hops                     []struct {
				Hop, Provider, Source string
				IdleSeconds           *int64
			}
			Notes []string
		}
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(got.Routes) != 1 {
		t.Fatalf("routes: %s", out)
	}
	r := got.Routes[0]
	if r.Object != "Ingress chat/chat" || r.Route != "spec.rules[0].http.paths[0]" || r.LimitedBy != "edge" ||
		r.EffectiveIdleSeconds == nil || *r.EffectiveIdleSeconds != 60 {
		t.Errorf("route: %s", out)
	}
	if len(r.Hops) != 2 || r.Hops[0].Provider != "aws-clb" || r.Hops[0].Source != "provider default" ||
		r.Hops[1].IdleSeconds == nil || *r.Hops[1].IdleSeconds != 3600 {
		t.Errorf("hops: %s", out)
	}
	if len(r.Notes) == 0 || !strings.Contains(r.Notes[0], "worker-shutdown-timeout") {
		t.Errorf("no worker-shutdown-timeout note: %s", out)
	}
	code, out = runExplain(t, "-f", edgeExample)
	if code != 0 || !strings.Contains(out, "limited by edge") {
		t.Errorf("table: exit %d\n%s", code, out)
	}
	if code, _ := runExplain(t, "-f", edgeExample, "-o", "yaml"); code != 2 {
		t.Errorf("-o yaml: exit %d, want 2", code)
	}
	if code, _ := runExplain(t, "-f", "no-such-file.yaml"); code != 2 {
		t.Errorf("missing file: exit %d, want 2", code)
	}
}
