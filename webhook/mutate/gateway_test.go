package mutate

import (
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
	"github.com/ws-defaults/ws-defaults/webhook/evidence"
)

func TestGatewayDuration(t *testing.T) {
	tests := []struct {
		seconds int64
		want    string // "" = not representable
	}{
		{-1, ""}, {0, ""}, // never "0s": it turns the timeout off
		{1, "1s"}, {59, "59s"}, {60, "1m"}, {61, "1m1s"}, {90, "1m30s"},
		{3599, "59m59s"}, {3600, "1h"}, {3601, "1h1s"}, {3660, "1h1m"}, {5400, "1h30m"},
		{7200, "2h"}, {86400, "24h"}, {86401, "24h1s"}, {604800, "168h"},
		{99999*3600 + 3599, "99999h59m59s"}, {100000 * 3600, ""},
	}
	for _, tt := range tests {
		got, ok := GatewayDuration(tt.seconds)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("GatewayDuration(%d) = %q, %v; want %q", tt.seconds, got, ok, tt.want)
		}
	}
}

func TestNGFDuration(t *testing.T) {
	tests := []struct {
		seconds int64
		want    string // "" = not representable
	}{
		{-1, ""}, {0, ""},
		{1, "1s"}, {59, "59s"}, {60, "1m"}, {90, "90s"}, {120, "2m"},
		{3600, "1h"}, {3601, "3601s"}, {5400, "90m"}, {7200, "2h"}, {9999, "9999s"},
		// 5 digits of seconds: exact in minutes, else rounded up to the next minute.
		{10000, "167m"}, {10020, "167m"}, {10021, "168m"}, {36000, "10h"},
		{86400, "24h"}, {86401, "1441m"}, {599940, "9999m"},
		// beyond 9999 minutes: exact in hours, else rounded up to the next hour.
		{599941, "167h"}, {601200, "167h"}, {604800, "168h"},
		{9999 * 3600, "9999h"}, {9999*3600 + 1, ""},
	}
	for _, tt := range tests {
		got, ok := NGFDuration(tt.seconds)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("NGFDuration(%d) = %q, %v; want %q", tt.seconds, got, ok, tt.want)
		}
	}
}

// TestDurationFormatsProperty: for idle timeouts from 1 s to 7 days (every
// second up to 3 h, then a stride that still hits every residue class of
// minutes and hours), both formats match their field's pattern, the
// Gateway API value reads back exactly, and the NGF value is the smallest
// value of its format at or above the input. The CRD-read patterns are
// checked over every second in test/conformance/gateway_crd_test.go.
func TestDurationFormatsProperty(t *testing.T) {
	gw := regexp.MustCompile(GatewayDurationPattern)
	ngf := regexp.MustCompile(NGFDurationPattern)
	step := func(s int64) int64 {
		if s < 3*3600 {
			return 1
		}
		return 97
	}
	for s := int64(1); s <= int64(v1alpha1.MaxIdleTimeoutSeconds); s += step(s) {
		g, ok := GatewayDuration(s)
		if !ok || !gw.MatchString(g) {
			t.Fatalf("GatewayDuration(%d) = %q, %v: not a Gateway API Duration", s, g, ok)
		}
		if d, err := time.ParseDuration(g); err != nil || d != time.Duration(s)*time.Second {
			t.Fatalf("GatewayDuration(%d) = %q reads back as %v (%v)", s, g, d, err)
		}
		n, ok := NGFDuration(s)
		if !ok || !ngf.MatchString(n) {
			t.Fatalf("NGFDuration(%d) = %q, %v: not an NGF Duration", s, n, ok)
		}
		d, err := time.ParseDuration(n)
		if err != nil || d < time.Duration(s)*time.Second {
			t.Fatalf("NGFDuration(%d) = %q reads back as %v (%v), below the input", s, n, d, err)
		}
		if want := nextNGF(s); d != time.Duration(want)*time.Second {
			t.Fatalf("NGFDuration(%d) = %q; the next value the format holds is %d s", s, n, want)
		}
	}
}

// nextNGF is the smallest number of seconds at or above s that one NGF
// component (at most four digits of s, m or h) holds, by brute force over
// the units.
func nextNGF(s int64) int64 {
	best := int64(-1)
	for _, unit := range []int64{1, 60, 3600} {
		n := (s + unit - 1) / unit
		if n <= 9999 && (best < 0 || n*unit < best) {
			best = n * unit
		}
	}
	return best
}

// gatewayEnv is the built-in policy with pipeline evidence: the object is
// served by controllers, and fields carry WebSocket.
func gatewayEnv(controllers []string, fields ...string) Env {
	e := builtin
	ev := &evidence.Evidence{Gateway: &evidence.Gateway{Controllers: controllers}}
	for _, f := range fields {
		ev.Items = append(ev.Items, evidence.Item{Field: f, Reason: "test evidence"})
	}
	e.Evidence = ev
	return e
}

func withIdle(env Env, idle int) Env {
	env.NamespaceAnnotations = map[string]string{v1alpha1.IdleTimeoutAnnotation: strconv.Itoa(idle)}
	return env
}

// httpRouteYAML: rule 0 is WebSocket by path, rule 1 is REST, rules 2-5
// are WebSocket (by the test's evidence) with timeouts the user set.
func httpRouteYAML(version string) string {
	return `apiVersion: gateway.networking.k8s.io/` + version + `
kind: HTTPRoute
metadata: {name: chat, namespace: chat}
spec:
  parentRefs: [{name: eg}]
  futureField: {kept: 1}
  rules:
  - matches: [{path: {type: PathPrefix, value: /ws}}]
    backendRefs: [{name: chat, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /api}}]
    backendRefs: [{name: api, port: 8080}]
  - timeouts: {request: 10s}
    backendRefs: [{name: chat, port: 8080}]
  - timeouts: {backendRequest: 30m}
    backendRefs: [{name: chat, port: 8080}]
  - timeouts: {backendRequest: 2h}
    backendRefs: [{name: chat, port: 8080}]
  - timeouts: {backendRequest: 1h}
    backendRefs: [{name: chat, port: 8080}]
`
}

var wsRules = []string{"spec.rules[0]", "spec.rules[2]", "spec.rules[3]", "spec.rules[4]", "spec.rules[5]"}

func TestHTTPRoute(t *testing.T) {
	eg := []string{evidence.ControllerEnvoyGateway}
	tests := []struct {
		name    string
		version string
		env     Env
		want    []any  // spec.rules[N].timeouts.request after mutation
		warning string // text one warning must contain ("": no warnings)
	}{
		{"Envoy Gateway: ws rules without request get the idle timeout", "v1", gatewayEnv(eg, wsRules...),
			[]any{"1h", nil, "10s", "1h", nil, "1h"}, `backendRequest "2h" is longer than the idle timeout "1h"`},
		{"v1beta1 alike", "v1beta1", gatewayEnv(eg, wsRules...),
			[]any{"1h", nil, "10s", "1h", nil, "1h"}, `backendRequest "2h"`},
		{"Envoy Gateway among several parents", "v1", gatewayEnv([]string{evidence.ControllerEnvoyGateway, evidence.ControllerIstio}, wsRules...),
			[]any{"1h", nil, "10s", "1h", nil, "1h"}, `backendRequest "2h"`},
		{"namespace idle 5400 s: 1h30m, and backendRequest 1h now fits", "v1", withIdle(gatewayEnv(eg, wsRules...), 5400),
			[]any{"1h30m", nil, "10s", "1h30m", nil, "1h30m"}, `backendRequest "2h"`},
		{"namespace idle 60 s: only rules without a longer backendRequest", "v1", withIdle(gatewayEnv(eg, wsRules...), 60),
			[]any{"1m", nil, "10s", nil, nil, nil}, `backendRequest "30m" is longer than the idle timeout "1m"`},
		{"namespace idle 7 days", "v1", withIdle(gatewayEnv(eg, wsRules...), 604800),
			[]any{"168h", nil, "10s", "168h", "168h", "168h"}, ""},
		{"only the rules with evidence", "v1", gatewayEnv(eg, "spec.rules[1]"),
			[]any{nil, "1h", "10s", nil, nil, nil}, ""},
		{"Istio: nothing", "v1", gatewayEnv([]string{evidence.ControllerIstio}, wsRules...),
			[]any{nil, nil, "10s", nil, nil, nil}, ""},
		{"NGINX Gateway Fabric, Traefik, GKE: nothing", "v1",
			gatewayEnv([]string{evidence.ControllerGKE, evidence.ControllerNGF, evidence.ControllerTraefik}, wsRules...),
			[]any{nil, nil, "10s", nil, nil, nil}, ""},
		{"no known controller: nothing", "v1", gatewayEnv(nil, wsRules...),
			[]any{nil, nil, "10s", nil, nil, nil}, ""},
		{"no pipeline evidence (own signals, no gateway facts): nothing", "v1", builtin,
			[]any{nil, nil, "10s", nil, nil, nil}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj, res := run(t, httpRouteYAML(tt.version), tt.env)
			var wantAdded []string
			for i, want := range tt.want {
				got := pathValue(obj, []string{"spec", "rules", strconv.Itoa(i), "timeouts", "request"})
				if got != want {
					t.Errorf("spec.rules[%d].timeouts.request = %v, want %v", i, got, want)
				}
				if want != nil && i != 2 {
					wantAdded = append(wantAdded, "spec.rules["+strconv.Itoa(i)+"].timeouts.request")
				}
				if got == "0s" {
					t.Errorf("spec.rules[%d]: 0s added", i)
				}
			}
			checkAdded(t, obj, res, wantAdded)
			checkWarning(t, res, tt.warning)
			if pathValue(obj, []string{"spec", "futureField", "kept"}) != float64(1) {
				t.Errorf("unknown field spec.futureField was lost")
			}
			// The CRD's CEL rule: backendRequest <= a non-zero request.
			for i := range tt.want {
				req, _ := pathValue(obj, []string{"spec", "rules", strconv.Itoa(i), "timeouts", "request"}).(string)
				br, _ := pathValue(obj, []string{"spec", "rules", strconv.Itoa(i), "timeouts", "backendRequest"}).(string)
				if req != "" && br != "" {
					r, _ := time.ParseDuration(req)
					b, _ := time.ParseDuration(br)
					if r != 0 && b > r {
						t.Errorf("spec.rules[%d]: backendRequest %s > request %s: the CRD refuses it", i, br, req)
					}
				}
			}
		})
	}
}

// checkAdded: exactly want was added, and ws-defaults.io/defaulted says so.
func checkAdded(t *testing.T, obj map[string]any, res Result, want []string) {
	t.Helper()
	if !slices.Equal(res.Added, want) {
		t.Errorf("added %v, want %v", res.Added, want)
	}
	recorded := evidence.SplitList(annotationsOf(obj)[v1alpha1.DefaultedAnnotation])
	if !slices.Equal(recorded, want) {
		t.Errorf("%s = %v, want %v", v1alpha1.DefaultedAnnotation, recorded, want)
	}
}

func checkWarning(t *testing.T, res Result, want string) {
	t.Helper()
	if want == "" {
		if len(res.Warnings) != 0 {
			t.Errorf("unexpected warnings %q", res.Warnings)
		}
		return
	}
	if !strings.Contains(strings.Join(res.Warnings, "\n"), want) {
		t.Errorf("warnings %q, want one containing %q", res.Warnings, want)
	}
}

func TestHTTPRouteOddTimeouts(t *testing.T) {
	doc := `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: chat}
spec:
  rules:
  - timeouts: {backendRequest: 0s}
  - timeouts: {backendRequest: 1d}
  - timeouts: "x"
  - timeouts: {request: null}
  - null
`
	env := gatewayEnv([]string{evidence.ControllerEnvoyGateway}, "spec.rules[0]", "spec.rules[1]", "spec.rules[2]", "spec.rules[3]", "spec.rules[4]")
	obj, res := run(t, doc, env)
	// backendRequest 0s (off) is exempt from the CRD's ordering rule.
	if got := pathValue(obj, []string{"spec", "rules", "0", "timeouts", "request"}); got != "1h" {
		t.Errorf("rule 0 request = %v, want 1h", got)
	}
	if got := pathValue(obj, []string{"spec", "rules", "1", "timeouts", "request"}); got != nil {
		t.Errorf("rule 1 (backendRequest not a Duration) request = %v, want none", got)
	}
	if got := pathValue(obj, []string{"spec", "rules", "3", "timeouts", "request"}); got != "1h" {
		t.Errorf("rule 3 (request null) request = %v, want 1h", got)
	}
	checkWarning(t, res, "1d is not a Gateway API Duration")
	checkWarning(t, res, "spec.rules[2].timeouts.request: a parent field is not an object")
}

func TestGatewayPolicies(t *testing.T) {
	btp := func(spec string) string {
		return "apiVersion: gateway.envoyproxy.io/v1alpha1\nkind: BackendTrafficPolicy\nmetadata: {name: ws, namespace: chat}\nspec:\n  futureField: {kept: 1}\n" + spec
	}
	psp := func(spec string) string {
		return "apiVersion: gateway.nginx.org/v1alpha1\nkind: ProxySettingsPolicy\nmetadata: {name: ws, namespace: chat}\nspec:\n  futureField: {kept: 1}\n" + spec
	}
	gcp := func(spec string) string {
		return "apiVersion: networking.gke.io/v1\nkind: GCPBackendPolicy\nmetadata: {name: ws, namespace: chat}\nspec:\n  futureField: {kept: 1}\n  targetRef: {group: \"\", kind: Service, name: chat}\n" + spec
	}
	const (
		toRoute   = "  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: chat}]\n"
		toGateway = "  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: eg}]\n"
	)
	egPolicy := func(fields ...string) Env { return gatewayEnv([]string{evidence.ControllerEnvoyGateway}, fields...) }
	ngfPolicy := func(fields ...string) Env { return gatewayEnv([]string{evidence.ControllerNGF}, fields...) }
	gkePolicy := func(fields ...string) Env { return gatewayEnv([]string{evidence.ControllerGKE}, fields...) }
	stream := []string{"spec", "timeout", "http", "streamIdleTimeout"}
	read, send := []string{"spec", "timeout", "read"}, []string{"spec", "timeout", "send"}
	timeoutSec := []string{"spec", "default", "timeoutSec"}
	type value struct {
		path []string
		want any
	}
	tests := []struct {
		name  string
		doc   string
		env   Env
		want  []value
		added []string
	}{
		{"BTP targeting a ws route gets streamIdleTimeout; other timeouts kept",
			btp(toRoute + "  timeout: {tcp: {connectTimeout: 5s}}\n"), egPolicy("spec.targetRefs[0]"),
			[]value{{stream, "1h"}, {[]string{"spec", "timeout", "tcp", "connectTimeout"}, "5s"}},
			[]string{"spec.timeout.http.streamIdleTimeout"}},
		{"BTP with a single targetRef", btp("  targetRef: {group: gateway.networking.k8s.io, kind: HTTPRoute, name: chat}\n"),
			egPolicy("spec.targetRef"), []value{{stream, "1h"}}, []string{"spec.timeout.http.streamIdleTimeout"}},
		{"BTP keeps the user's streamIdleTimeout", btp(toRoute + "  timeout: {http: {streamIdleTimeout: 10m}}\n"),
			egPolicy("spec.targetRefs[0]"), []value{{stream, "10m"}}, nil},
		{"BTP whose only ws target is a Gateway: nothing (it would change every route)", btp(toGateway),
			egPolicy("spec.targetRefs[0]"), []value{{stream, nil}}, nil},
		{"BTP targeting a Gateway and a ws route", btp("  targetRefs:\n  - {group: gateway.networking.k8s.io, kind: Gateway, name: eg}\n  - {group: gateway.networking.k8s.io, kind: HTTPRoute, name: chat}\n"),
			egPolicy("spec.targetRefs[0]", "spec.targetRefs[1]"), []value{{stream, "1h"}}, []string{"spec.timeout.http.streamIdleTimeout"}},
		{"BTP without ws targets: nothing", btp(toRoute), egPolicy(), []value{{stream, nil}}, nil},
		{"BTP the user marked WebSocket, no pipeline evidence", strings.Replace(btp(toGateway), "namespace: chat}", "namespace: chat, annotations: {ws-defaults.io/websocket: 'true'}}", 1),
			builtin, []value{{stream, "1h"}}, []string{"spec.timeout.http.streamIdleTimeout"}},
		{"BTP under idle 5400 s", btp(toRoute), withIdle(egPolicy("spec.targetRefs[0]"), 5400),
			[]value{{stream, "1h30m"}}, []string{"spec.timeout.http.streamIdleTimeout"}},

		{"ProxySettingsPolicy targeting a Gateway serving a ws route", psp(toGateway), ngfPolicy("spec.targetRefs[0]"),
			[]value{{read, "1h"}, {send, "1h"}, {[]string{"spec", "timeout", "connect"}, nil}},
			[]string{"spec.timeout.read", "spec.timeout.send"}},
		{"ProxySettingsPolicy keeps the user's read", psp(toRoute + "  timeout: {read: 30s}\n"), ngfPolicy("spec.targetRefs[0]"),
			[]value{{read, "30s"}, {send, "1h"}}, []string{"spec.timeout.send"}},
		{"ProxySettingsPolicy under idle 5400 s: 90m", psp(toRoute), withIdle(ngfPolicy("spec.targetRefs[0]"), 5400),
			[]value{{read, "90m"}, {send, "90m"}}, []string{"spec.timeout.read", "spec.timeout.send"}},
		{"ProxySettingsPolicy under idle 86400 s: 24h", psp(toRoute), withIdle(ngfPolicy("spec.targetRefs[0]"), 86400),
			[]value{{read, "24h"}, {send, "24h"}}, []string{"spec.timeout.read", "spec.timeout.send"}},
		{"ProxySettingsPolicy under idle 10001 s: rounded up to 167m", psp(toRoute), withIdle(ngfPolicy("spec.targetRefs[0]"), 10001),
			[]value{{read, "167m"}, {send, "167m"}}, []string{"spec.timeout.read", "spec.timeout.send"}},
		{"ProxySettingsPolicy without ws targets: nothing", psp(toRoute), ngfPolicy(), []value{{read, nil}}, nil},

		{"GCPBackendPolicy targeting a ws Service gets timeoutSec; siblings kept",
			gcp("  default: {sessionAffinity: {type: CLIENT_IP}}\n"), gkePolicy("spec.targetRef"),
			[]value{{timeoutSec, float64(3600)}, {[]string{"spec", "default", "sessionAffinity", "type"}, "CLIENT_IP"}},
			[]string{"spec.default.timeoutSec"}},
		{"GCPBackendPolicy keeps the user's timeoutSec", gcp("  default: {timeoutSec: 40}\n"), gkePolicy("spec.targetRef"),
			[]value{{timeoutSec, float64(40)}}, nil},
		{"GCPBackendPolicy under idle 7 days", gcp(""), withIdle(gkePolicy("spec.targetRef"), 604800),
			[]value{{timeoutSec, float64(604800)}}, []string{"spec.default.timeoutSec"}},
		{"GCPBackendPolicy without a ws target: nothing", gcp(""), gkePolicy(), []value{{timeoutSec, nil}}, nil},
		{"ws-defaults.io/websocket: false wins", strings.Replace(gcp(""), "namespace: chat}", "namespace: chat, annotations: {ws-defaults.io/websocket: 'false'}}", 1),
			builtin, []value{{timeoutSec, nil}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj, res := run(t, tt.doc, tt.env)
			for _, v := range tt.want {
				if got := pathValue(obj, v.path); got != v.want {
					t.Errorf("%s = %#v, want %#v", strings.Join(v.path, "."), got, v.want)
				}
			}
			checkAdded(t, obj, res, tt.added)
			checkWarning(t, res, "")
			if pathValue(obj, []string{"spec", "futureField", "kept"}) != float64(1) {
				t.Errorf("unknown field spec.futureField was lost")
			}
		})
	}
}

// TestGatewayValuesCoverIdleTimeout is the Gateway API side of
// TestALBIdleTimeoutWithinAWSRange: whatever the idle timeout (1 s to the
// policy's 7-day maximum, by policy or namespace), every Gateway API row
// adds a value its field's format accepts that is never below the idle
// timeout (equal where the format can say it), without a warning, so no
// rule about timeouts below the policy's minimum fires on what we inject.
func TestGatewayValuesCoverIdleTimeout(t *testing.T) {
	gw := regexp.MustCompile(GatewayDurationPattern)
	ngf := regexp.MustCompile(NGFDurationPattern)
	docs := map[string]string{
		"route": httpRouteYAML("v1"),
		"btp":   "apiVersion: gateway.envoyproxy.io/v1alpha1\nkind: BackendTrafficPolicy\nmetadata: {name: ws}\nspec:\n  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: chat}]\n",
		"psp":   "apiVersion: gateway.nginx.org/v1alpha1\nkind: ProxySettingsPolicy\nmetadata: {name: ws}\nspec:\n  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: chat}]\n",
		"gcp":   "apiVersion: networking.gke.io/v1\nkind: GCPBackendPolicy\nmetadata: {name: ws}\nspec:\n  targetRef: {group: \"\", kind: Service, name: chat}\n",
	}
	idles := []int32{1, 59, 60, 61, 90, 3599, 3600, 3601, 4000, 5400, 7200, 9999, 10000, 10001, 86399, 86400, 86401, 599940, 599941, 604799, v1alpha1.MaxIdleTimeoutSeconds}
	for _, idle := range idles {
		for _, byNamespace := range []bool{false, true} {
			env := withPolicy(func(p *v1alpha1.WebSocketPolicySpec) { p.Mutation.IdleTimeoutSeconds = ptr(idle) })
			if byNamespace {
				env = withIdle(builtin, int(idle))
			}
			env.Evidence = &evidence.Evidence{
				Items:   []evidence.Item{{Field: "spec.rules[0]", Reason: "t"}, {Field: "spec.targetRef", Reason: "t"}, {Field: "spec.targetRefs[0]", Reason: "t"}},
				Gateway: &evidence.Gateway{Controllers: []string{evidence.ControllerEnvoyGateway}},
			}
			want := time.Duration(idle) * time.Second
			gatewayValue := func(what string, v any) {
				s, _ := v.(string)
				d, err := time.ParseDuration(s)
				if !gw.MatchString(s) || err != nil || d != want {
					t.Errorf("idle %d: %s = %v, want a Gateway API Duration of exactly %v", idle, what, v, want)
				}
			}
			obj, res := run(t, docs["route"], env)
			gatewayValue("HTTPRoute spec.rules[0].timeouts.request", pathValue(obj, []string{"spec", "rules", "0", "timeouts", "request"}))
			// rules 3-5 carry backendRequests 30m, 2h, 1h: skipped (with a
			// warning about the user's value) exactly when longer.
			for _, w := range res.Warnings {
				if !strings.Contains(w, "backendRequest") {
					t.Errorf("idle %d: HTTPRoute warning %q", idle, w)
				}
			}
			obj, res = run(t, docs["btp"], env)
			gatewayValue("BackendTrafficPolicy spec.timeout.http.streamIdleTimeout", pathValue(obj, []string{"spec", "timeout", "http", "streamIdleTimeout"}))
			checkWarning(t, res, "")
			obj, res = run(t, docs["psp"], env)
			for _, f := range []string{"read", "send"} {
				s, _ := pathValue(obj, []string{"spec", "timeout", f}).(string)
				d, err := time.ParseDuration(s)
				if !ngf.MatchString(s) || err != nil || d < want {
					t.Errorf("idle %d: ProxySettingsPolicy spec.timeout.%s = %q: not an NGF Duration of at least %v", idle, f, s, want)
				}
			}
			checkWarning(t, res, "")
			obj, res = run(t, docs["gcp"], env)
			if got := pathValue(obj, []string{"spec", "default", "timeoutSec"}); got != float64(idle) {
				t.Errorf("idle %d: GCPBackendPolicy spec.default.timeoutSec = %v", idle, got)
			}
			checkWarning(t, res, "")
		}
	}
}

// TestServiceBehindWebSocketHTTPRoute: the Service row needs nothing of its
// own for Gateway API: the evidence index makes the port a WebSocket
// HTTPRoute rule sends traffic to a WebSocket port, which then gets the
// policy's port protocol hint like an Ingress backend; the hint is one of
// the policy's values (or kubernetes.io/wss for a wss port), never
// kubernetes.io/h2c, which would make Envoy-based gateways talk HTTP/2 to
// the backend and break the upgrade.
func TestServiceBehindWebSocketHTTPRoute(t *testing.T) {
	if slices.Contains(v1alpha1.PortProtocolHints, "kubernetes.io/h2c") {
		t.Fatalf("the policy accepts kubernetes.io/h2c as a port protocol hint: %v", v1alpha1.PortProtocolHints)
	}
	decode := func(doc string) map[string]any {
		raw, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		var obj map[string]any
		if err := json.Unmarshal(raw, &obj); err != nil {
			t.Fatal(err)
		}
		return obj
	}
	route := decode(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: chat, namespace: chat}
spec:
  parentRefs: [{name: eg}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /socket.io}}]
    backendRefs: [{name: ws, port: 8080}, {name: ws, port: 8443}]
  - matches: [{path: {type: PathPrefix, value: /api}}]
    backendRefs: [{name: ws, port: 9090}]
`)
	svc := serviceYAML("", "  ports:\n  - {name: app, port: 8080}\n  - {name: api, port: 9090}\n  - {name: wss, port: 8443}\n  - {name: h2, port: 7000, appProtocol: kubernetes.io/h2c}\n")
	set := evidence.NewSet(evidence.Options{})
	set.Add(route, "chat")
	ev := evidence.Of(decode(svc), set, evidence.Options{})
	if _, ok := ev.For("spec.ports[0]"); !ok {
		t.Fatalf("the port a WebSocket HTTPRoute rule sends traffic to has no evidence: %v", ev.Strings())
	}
	if _, ok := ev.For("spec.ports[1]"); ok {
		t.Fatalf("the port only a REST rule sends traffic to has evidence: %v", ev.Strings())
	}
	for _, hint := range v1alpha1.PortProtocolHints {
		t.Run(hint, func(t *testing.T) {
			env := withPolicy(func(p *v1alpha1.WebSocketPolicySpec) { p.Mutation.PortProtocolHint = hint })
			env.Evidence = ev
			obj, _ := run(t, svc, env)
			ports, _ := nested(obj, "spec", "ports").([]any)
			want := []any{hint, nil, "kubernetes.io/wss", "kubernetes.io/h2c"}
			for i, w := range want {
				got := ports[i].(map[string]any)["appProtocol"]
				if got != w {
					t.Errorf("port %d appProtocol = %v, want %v", i, got, w)
				}
				if got == "kubernetes.io/h2c" && i != 3 {
					t.Errorf("port %d: kubernetes.io/h2c added", i)
				}
			}
		})
	}
}
