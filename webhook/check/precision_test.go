package check

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
	"github.com/ws-defaults/ws-defaults/webhook/validate"
)

// added reports whether the result's mutation added an annotation key
// containing part.
func added(r Result, part string) bool {
	return slices.ContainsFunc(r.Added, func(a string) bool { return strings.Contains(a, part) })
}

// TestPrecisionMergedHost: ingress-nginx merges the Ingresses of one host
// and the longest matching path wins, so the catch-all's 300 s is not the
// timeout of the WebSocket paths another Ingress of the host routes; on a
// host where the catch-all is the only route, it is.
func TestPrecisionMergedHost(t *testing.T) {
	rep := checkFile(t, "merged-host.yaml")

	site := find(t, rep, "Ingress", "site")
	if len(site.Violations) != 0 {
		t.Errorf("catch-all of a host whose WebSocket paths another Ingress serves: %v", rules(site))
	}
	if len(site.Evidence) != 0 || added(site, "affinity") {
		t.Errorf("site: evidence %v, added %v; want no evidence and no affinity", site.Evidence, site.Added)
	}
	realtime := find(t, rep, "Ingress", "realtime")
	if len(realtime.Violations) != 0 || !added(realtime, "affinity") {
		t.Errorf("realtime: violations %v, added %v; want none and cookie affinity", rules(realtime), realtime.Added)
	}
	status := find(t, rep, "Ingress", "status")
	if got := rules(status); !slices.Contains(got, "websocket-idle-timeout-too-low metadata.annotations[nginx.ingress.kubernetes.io/proxy-read-timeout]") {
		t.Errorf("status (the only route of its host): rules %v, want the idle timeout finding", got)
	}
}

// TestPrecisionRESTIngresses: REST, cache, SSO and gRPC Ingresses in an
// opted-in namespace get idle timeouts only, and no WebSocket finding.
func TestPrecisionRESTIngresses(t *testing.T) {
	rep := checkFile(t, "rest-ingresses.yaml")
	for _, name := range []string{"api", "assets-cache", "oauth2-proxy", "orders-grpc"} {
		r := find(t, rep, "Ingress", name)
		for _, part := range []string{"affinity", "session-cookie", "balance-algorithm", "haproxy.org/load-balance", "target-group-attributes"} {
			if added(r, part) {
				t.Errorf("%s: added %v; %s changes how non-WebSocket requests are served", name, r.Added, part)
			}
		}
		if slices.ContainsFunc(r.Violations, func(v Violation) bool { return v.Rule == "tls-required" }) {
			t.Errorf("%s: tls-required without WebSocket evidence: %v", name, rules(r))
		}
	}
	if r := find(t, rep, "Ingress", "api"); !added(r, "proxy-read-timeout") {
		t.Errorf("api: the idle timeout is still added on every opted-in Ingress: added %v", r.Added)
	}
}

// TestPrecisionRewrite: a capture-group rewrite that keeps the WebSocket
// segment is not reported, and its regex paths get session-cookie-path "/";
// a literal rewrite that drops the segment is reported at audit.
func TestPrecisionRewrite(t *testing.T) {
	rep := checkFile(t, "rewrite-regex.yaml")
	prefixed := find(t, rep, "Ingress", "chat-prefixed")
	if len(prefixed.Violations) != 0 {
		t.Errorf("chat-prefixed: %v", rules(prefixed))
	}
	if v, _ := patchValue(prefixed, "/metadata/annotations/nginx.ingress.kubernetes.io~1session-cookie-path"); v != "/" {
		t.Errorf("chat-prefixed: session-cookie-path %v, want \"/\" (added %v)", v, prefixed.Added)
	}
	stripped := find(t, rep, "Ingress", "feed-stripped")
	i := slices.IndexFunc(stripped.Violations, func(v Violation) bool { return v.Rule == "nginx-rewrite-ws-path" })
	if i < 0 || stripped.Violations[i].Action != "audit" {
		t.Errorf("feed-stripped: violations %+v, want nginx-rewrite-ws-path at audit", stripped.Violations)
	}
	if _, ok := patchValue(stripped, "/metadata/annotations/nginx.ingress.kubernetes.io~1session-cookie-path"); !ok {
		t.Errorf("feed-stripped: rewrite-target makes regex locations: session-cookie-path missing (added %v)", stripped.Added)
	}
}

// TestNoFindingOnOwnDefaults is the property that we never deny or warn
// about a value we injected, over the Ingress rows as evidence now gates
// them: every controller, a WebSocket path, a REST path and a catch-all,
// with and without TLS, with use-regex or a rewrite-target, and a
// Service with a WebSocket port. Findings about the user's own object are
// allowed; none may name a field the mutation added, and nothing is denied.
func TestNoFindingOnOwnDefaults(t *testing.T) {
	classes := map[string]string{
		"nginx": "k8s.io/ingress-nginx", "haproxy-ingress": "haproxy-ingress.github.io/controller",
		"haproxy": "haproxy.org/ingress-controller", "alb": "ingress.k8s.aws/alb", "traefik": "traefik.io/ingress-controller",
	}
	var docs []string
	for class, controller := range classes {
		docs = append(docs, "apiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata: {name: "+class+"}\nspec: {controller: "+controller+"}\n")
		for _, path := range []string{"/ws", "/api", "/", "/socket.io(/|$)(.*)"} {
			for _, tls := range []bool{false, true} {
				for _, extra := range []string{"", "nginx.ingress.kubernetes.io/use-regex: 'true'", "nginx.ingress.kubernetes.io/rewrite-target: /$2", "alb.ingress.kubernetes.io/target-type: ip"} {
					name := fmt.Sprintf("%s-%d", class, len(docs))
					doc := "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: " + name + "\n  namespace: own\n"
					if extra != "" {
						doc += "  annotations:\n    " + extra + "\n"
					}
					doc += "spec:\n  ingressClassName: " + class + "\n"
					if tls {
						doc += "  tls: [{hosts: [own.example.com], secretName: own}]\n"
					}
					doc += "  rules:\n  - host: own.example.com\n    http:\n      paths:\n      - path: '" + path + "'\n        pathType: ImplementationSpecific\n        backend: {service: {name: own, port: {number: 80}}}\n"
					docs = append(docs, doc)
				}
			}
		}
	}
	docs = append(docs, "apiVersion: v1\nkind: Service\nmetadata: {name: own, namespace: own}\nspec:\n  ports: [{name: ws, port: 80}]\n")
	file := t.TempDir() + "/own.yaml"
	if err := os.WriteFile(file, []byte(strings.Join(docs, "---\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	engine, err := validate.NewEngine(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	objs, err := Read([]string{file}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Check(context.Background(), objs, v1alpha1.BuiltinPolicy(), Rules{Engine: engine})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Results {
		own := map[string]bool{}
		for _, a := range r.Added {
			key, _, _ := strings.Cut(a, "[")
			own["metadata.annotations["+key+"]"] = true
			own[a] = true
		}
		for _, v := range r.Violations {
			if own[v.Field] || v.Action == "deny" {
				t.Errorf("%s %s: %s (%s) on %s: %s", r.Kind, r.Name, v.Rule, v.Action, v.Field, v.Message)
			}
		}
	}
}

// TestPrecisionMisses: the rules for problems no rule covered before fire
// on `webhook check` input, each with the exact fix.
func TestPrecisionMisses(t *testing.T) {
	rep := checkFile(t, "misses.yaml")
	for _, c := range []struct{ kind, name, rule, field, fix string }{
		{"Ingress", "socketio", "nginx-upstream-hash-literal", "metadata.annotations[nginx.ingress.kubernetes.io/upstream-hash-by]", `Set it to "$remote_addr"`},
		{"Ingress", "socketio", "nginx-path-type-regex", "spec.rules[0].http.paths[0].path", "pathType: ImplementationSpecific"},
		{"KongIngress", "ws-timeouts", "kong-ingress-proxy-ignored", "proxy.read_timeout", `konghq.com/read-timeout: "3600000"`},
		{"Ingress", "legacy", "ingress-api-removed", "apiVersion", "networking.k8s.io/v1"},
	} {
		r := find(t, rep, c.kind, c.name)
		if !slices.ContainsFunc(r.Violations, func(v Violation) bool {
			return v.Rule == c.rule && v.Field == c.field && strings.Contains(v.Message, c.fix)
		}) {
			t.Errorf("%s %s: want %s on %s naming %q; got %v", c.kind, c.name, c.rule, c.field, c.fix, rules(r))
		}
	}
}
