package check

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
	"github.com/ws-defaults/ws-defaults/webhook/validate"
)

// checkFile runs the real rules on one file of testdata/evidence.
func checkFile(t *testing.T, name string) *Report {
	t.Helper()
	engine, err := validate.NewEngine(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	objs, err := Read([]string{"testdata/evidence/" + name}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Check(context.Background(), objs, v1alpha1.BuiltinPolicy(), Rules{Engine: engine})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func rules(r Result) []string {
	var out []string
	for _, v := range r.Violations {
		out = append(out, v.Rule+" "+v.Field)
	}
	return out
}

func message(t *testing.T, r Result, rule string) string {
	t.Helper()
	for _, v := range r.Violations {
		if v.Rule == rule {
			return v.Message
		}
	}
	t.Fatalf("%s %s: no %s violation in %v", r.Kind, r.Name, rule, rules(r))
	return ""
}

// TestEvidenceGRPCIngress: a documented gRPC-only Ingress is negative
// evidence, by its backend-protocol or by the gRPC port its only path goes
// to: not denied by nginx-upgrade-blocked, and it gets no WebSocket
// annotations.
func TestEvidenceGRPCIngress(t *testing.T) {
	rep := checkFile(t, "grpc-ingress.yaml")
	for _, name := range []string{"api-grpc", "api-grpc-edge"} {
		r := find(t, rep, "Ingress", name)
		if len(r.Violations) != 0 || len(r.Patch) != 0 || len(r.Evidence) != 0 {
			t.Errorf("gRPC-only Ingress %s: violations %v, added %v, evidence %v; want none", name, rules(r), r.Added, r.Evidence)
		}
	}
	if r := find(t, rep, "Service", "api"); len(r.Patch) != 0 {
		t.Errorf("gRPC Service: added %v", r.Added)
	}
}

// TestEvidenceCrossObject: `webhook check` on a file holding an Ingress
// that routes /socket.io to a Service port named "http" gives that port
// (only) the evidence at once: the Service gets ClientIP affinity; the REST
// Ingress's deliberate 300 s is not warned; the REST Service gets nothing.
func TestEvidenceCrossObject(t *testing.T) {
	rep := checkFile(t, "split-ingress.yaml")

	rt := find(t, rep, "Service", "realtime")
	if !slices.Equal(rt.Evidence, []string{"spec.ports[0]: Ingress chat/live spec.rules[0].http.paths[0] (path segment socket.io) sends traffic to port http"}) {
		t.Errorf("realtime evidence = %q", rt.Evidence)
	}
	if v, _ := patchValue(rt, "/spec/sessionAffinity"); v != "ClientIP" {
		t.Errorf("realtime: sessionAffinity patch %v, want ClientIP (added %v)", v, rt.Added)
	}
	if slices.ContainsFunc(rt.Added, func(a string) bool { return strings.Contains(a, "appProtocol") }) {
		t.Errorf("realtime: a port named http already says its protocol; added %v", rt.Added)
	}

	rest := find(t, rep, "Service", "rest")
	if len(rest.Patch) != 0 || len(rest.Evidence) != 0 {
		t.Errorf("REST Service: added %v, evidence %v; want none", rest.Added, rest.Evidence)
	}

	// Only the audit-level request to say what it carries.
	ing := find(t, rep, "Ingress", "rest")
	if got := rules(ing); !slices.Equal(got, []string{"websocket-evidence-missing metadata.annotations[ws-defaults.io/websocket]"}) {
		t.Errorf("REST Ingress with a deliberate 300 s: %v", got)
	}
	live := find(t, rep, "Ingress", "live")
	if !slices.Equal(live.Evidence, []string{"spec.rules[0].http.paths[0]: path segment socket.io"}) {
		t.Errorf("live evidence = %q", live.Evidence)
	}
}

// TestEvidenceIstio: istio-route-timeout only on the WebSocket route, and
// istio-h2-upgrade only for the host with a WebSocket route; http2-only-port
// on the WebSocket port that route sends traffic to, not on the gRPC one.
func TestEvidenceIstio(t *testing.T) {
	rep := checkFile(t, "istio-mixed.yaml")

	vs := find(t, rep, "VirtualService", "storefront")
	if got := rules(vs); !slices.Equal(got, []string{"istio-route-timeout spec.http[2].timeout"}) {
		t.Errorf("VirtualService rules %v, want only the WebSocket route's timeout", got)
	}
	if m := message(t, vs, "istio-route-timeout"); !strings.Contains(m, "WebSocket evidence: spec.http[2]: path segment ws") {
		t.Errorf("message does not name the evidence: %s", m)
	}

	if got := rules(find(t, rep, "DestinationRule", "inventory")); len(got) != 0 {
		t.Errorf("gRPC host's DestinationRule: %v", got)
	}
	notify := find(t, rep, "DestinationRule", "notify")
	if m := message(t, notify, "istio-h2-upgrade"); !strings.Contains(m, "VirtualService shop/storefront spec.http[2] (path segment ws)") {
		t.Errorf("istio-h2-upgrade message does not name the route: %s", m)
	}

	if got := rules(find(t, rep, "Service", "inventory")); len(got) != 0 {
		t.Errorf("gRPC Service: %v", got)
	}
	svc := find(t, rep, "Service", "notify")
	if got := rules(svc); !slices.Equal(got, []string{"http2-only-port spec.ports[0].name"}) {
		t.Errorf("notify Service rules %v", got)
	}
}

// TestEvidenceLinkerd: a gRPC port declared gRPC is left alone; the
// WebSocket port declared HTTP/2 is warned, naming the evidence.
func TestEvidenceLinkerd(t *testing.T) {
	rep := checkFile(t, "linkerd-grpc.yaml")
	if got := rules(find(t, rep, "Server", "payments-grpc")); len(got) != 0 {
		t.Errorf("gRPC Server: %v", got)
	}
	if m := message(t, find(t, rep, "Server", "live-ws"), "linkerd-http2-protocol"); !strings.Contains(m, "WebSocket evidence: port name ws") {
		t.Errorf("message: %s", m)
	}
}

// TestEvidenceContour: Contour settings on the Action Cable route only;
// the REST route keeps its 30 s response timeout without a warning; the
// Service the cable route goes to gets ClientIP, the admin one nothing.
func TestEvidenceContour(t *testing.T) {
	rep := checkFile(t, "contour.yaml")
	p := find(t, rep, "HTTPProxy", "app")
	want := []string{"spec.routes[1].enableWebsockets", "spec.routes[1].timeoutPolicy.idle", "spec.routes[1].timeoutPolicy.response"}
	if !slices.Equal(p.Added, want) {
		t.Errorf("HTTPProxy added %v, want %v", p.Added, want)
	}
	if len(p.Violations) != 0 {
		t.Errorf("HTTPProxy: %v", rules(p))
	}
	if v, _ := patchValue(find(t, rep, "Service", "web"), "/spec/sessionAffinity"); v != "ClientIP" {
		t.Error("the cable route's Service did not get ClientIP")
	}
	if admin := find(t, rep, "Service", "admin"); len(admin.Patch) != 0 {
		t.Errorf("admin Service: added %v", admin.Added)
	}
}

// TestEvidenceInJSON: every result carries "evidence", [] when none.
func TestEvidenceInJSON(t *testing.T) {
	r := run(t, Options{Files: []string{"testdata/evidence/split-ingress.yaml"}, Output: "json"})
	if r.err != nil {
		t.Fatal(r.err)
	}
	var rep struct {
		Results []map[string]json.RawMessage `json:"results"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	for _, res := range rep.Results {
		ev, ok := res["evidence"]
		if !ok {
			t.Fatalf("result without evidence: %s", res["name"])
		}
		if string(res["name"]) == `"rest"` && string(ev) != "[]" {
			t.Errorf("REST object evidence = %s, want []", ev)
		}
	}
}

// TestEvidenceGKE: the BackendConfig of the Service a WebSocket path goes to
// is warned (naming the route); the REST one's deliberate 30 s is not.
func TestEvidenceGKE(t *testing.T) {
	rep := checkFile(t, "gke.yaml")
	m := message(t, find(t, rep, "BackendConfig", "realtime"), "websocket-idle-timeout-too-low")
	if !strings.Contains(m, "used by Service arcade/realtime: Ingress arcade/game spec.rules[0].http.paths[0] (path segment socket.io)") {
		t.Errorf("message does not name the evidence: %s", m)
	}
	if got := rules(find(t, rep, "BackendConfig", "scores")); len(got) != 0 {
		t.Errorf("REST BackendConfig: %v", got)
	}
}
