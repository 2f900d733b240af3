package evidence

import (
	"encoding/json"
	"reflect"
	"testing"
)

func obj(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

const (
	egClass     = `{"apiVersion":"gateway.networking.k8s.io/v1","kind":"GatewayClass","metadata":{"name":"eg"},"spec":{"controllerName":"gateway.envoyproxy.io/gatewayclass-controller"}}`
	ngfClass    = `{"apiVersion":"gateway.networking.k8s.io/v1","kind":"GatewayClass","metadata":{"name":"nginx"},"spec":{"controllerName":"gateway.nginx.org/nginx-gateway-controller"}}`
	egGateway   = `{"apiVersion":"gateway.networking.k8s.io/v1","kind":"Gateway","metadata":{"name":"edge","namespace":"infra"},"spec":{"gatewayClassName":"eg"}}`
	ngfGateway  = `{"apiVersion":"gateway.networking.k8s.io/v1","kind":"Gateway","metadata":{"name":"web","namespace":"chat"},"spec":{"gatewayClassName":"nginx"}}`
	chatService = `{"apiVersion":"v1","kind":"Service","metadata":{"name":"api","namespace":"chat"},"spec":{"ports":[{"name":"http","port":8080,"appProtocol":"kubernetes.io/h2c"},{"name":"metrics","port":9090}]}}`
	// Two rules: /ws (WebSocket by its path) and /api (REST).
	chatRoute = `{"apiVersion":"gateway.networking.k8s.io/v1","kind":"HTTPRoute","metadata":{"name":"chat","namespace":"chat"},
	 "spec":{"parentRefs":[{"name":"edge","namespace":"infra"},{"name":"web"}],
	  "rules":[{"matches":[{"path":{"type":"PathPrefix","value":"/ws"}}],"backendRefs":[{"name":"api","port":8080}]},
	           {"matches":[{"path":{"type":"PathPrefix","value":"/api"}}],"backendRefs":[{"name":"api","port":9090},{"name":"gone","port":80}]}]}}`
	restRoute = `{"apiVersion":"gateway.networking.k8s.io/v1","kind":"HTTPRoute","metadata":{"name":"rest","namespace":"chat"},
	 "spec":{"parentRefs":[{"name":"web"}],"rules":[{"matches":[{"path":{"value":"/api"}}],"backendRefs":[{"name":"other","port":80}]}]}}`
	psp = `{"apiVersion":"gateway.nginx.org/v1alpha1","kind":"ProxySettingsPolicy","metadata":{"name":"ws","namespace":"chat"},
	 "spec":{"targetRefs":[{"group":"gateway.networking.k8s.io","kind":"HTTPRoute","name":"chat"},{"group":"gateway.networking.k8s.io","kind":"HTTPRoute","name":"rest"}],"timeout":{"read":"60s"}}}`
	btpOnGateway = `{"apiVersion":"gateway.envoyproxy.io/v1alpha1","kind":"BackendTrafficPolicy","metadata":{"name":"edge","namespace":"infra"},
	 "spec":{"targetRefs":[{"group":"gateway.networking.k8s.io","kind":"Gateway","name":"edge"}]}}`
	gcpPolicy = `{"apiVersion":"networking.gke.io/v1","kind":"GCPBackendPolicy","metadata":{"name":"api","namespace":"chat"},
	 "spec":{"targetRef":{"group":"","kind":"Service","name":"api"},"default":{"timeoutSec":30}}}`
)

func gatewaySet(t *testing.T, objs ...string) *Set {
	s := NewSet(Options{})
	for _, o := range objs {
		s.Add(obj(t, o), "")
	}
	return s
}

// TestRouteGatewayFacts: a route's implementations come from its parent
// Gateways' classes (default namespace rules) and from the policies that
// target it; backends carry what the index knows of each Service port.
func TestRouteGatewayFacts(t *testing.T) {
	s := gatewaySet(t, egClass, ngfClass, egGateway, ngfGateway, chatService, psp, btpOnGateway, gcpPolicy)
	e := Of(obj(t, chatRoute), s, Options{})
	if _, ok := e.For("spec.rules[0]"); !ok || len(e.Items) != 1 {
		t.Fatalf("evidence %v, want spec.rules[0] only", e.Items)
	}
	g := e.Gateway
	if want := []string{ControllerEnvoyGateway, ControllerNGF}; !reflect.DeepEqual(g.Controllers, want) {
		t.Errorf("controllers %v, want %v", g.Controllers, want)
	}
	wantBackends := map[string]BackendPort{
		"spec.rules[0].backendRefs[0]": {Service: "chat/api", Port: "8080", AppProtocol: "kubernetes.io/h2c"},
		"spec.rules[1].backendRefs[0]": {Service: "chat/api", Port: "9090"},
	}
	if !reflect.DeepEqual(g.Backends, wantBackends) {
		t.Errorf("backends %v, want %v (a Service the index has not seen is left out)", g.Backends, wantBackends)
	}
	got := map[string]string{}
	for _, p := range g.Policies {
		got[p.Kind+" "+p.Namespace+"/"+p.Name] = p.AttachedTo + " " + p.Target
	}
	want := map[string]string{
		"ProxySettingsPolicy chat/ws":     "route HTTPRoute chat/chat",
		"BackendTrafficPolicy infra/edge": "gateway Gateway infra/edge",
		"GCPBackendPolicy chat/api":       "service Service chat/api",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("policies %v, want %v", got, want)
	}
	doc := g.Document()
	if ps := doc["policies"].([]any); len(ps) != 3 || ps[0].(map[string]any)["kind"] != "BackendTrafficPolicy" {
		t.Errorf("document policies not sorted by kind: %v", ps)
	}
}

// TestRouteWithoutGateway: an unknown parent resolves nothing, a policy
// targeting the route still names its implementation, and a Gateway that
// appears later resolves the route on its next evaluation.
func TestRouteWithoutGateway(t *testing.T) {
	s := gatewaySet(t, ngfClass)
	if c := Of(obj(t, restRoute), s, Options{}).Gateway.Controllers; len(c) != 0 {
		t.Errorf("controllers %v before the Gateway exists, want none", c)
	}
	s.Add(obj(t, ngfGateway), "")
	if c := Of(obj(t, restRoute), s, Options{}).Gateway.Controllers; !reflect.DeepEqual(c, []string{ControllerNGF}) {
		t.Errorf("controllers %v once the Gateway exists, want NGF", c)
	}
	s.Delete(obj(t, ngfGateway), "")
	s.Add(obj(t, psp), "")
	if c := Of(obj(t, restRoute), s, Options{}).Gateway.Controllers; !reflect.DeepEqual(c, []string{ControllerNGF}) {
		t.Errorf("controllers %v with only a ProxySettingsPolicy targeting it, want NGF", c)
	}
	s.Delete(obj(t, psp), "")
	if g := Of(obj(t, restRoute), s, Options{}).Gateway; len(g.Controllers) != 0 || len(g.Policies) != 0 {
		t.Errorf("deleted policy still attached: %+v", g)
	}
	if g := Of(obj(t, restRoute), nil, Options{}).Gateway; g == nil || len(g.Controllers) != 0 {
		t.Errorf("no index: want empty facts, got %+v", g)
	}
}

// TestPolicyTargets: an implementation policy's evidence is its targets
// that serve WebSocket.
func TestPolicyTargets(t *testing.T) {
	s := gatewaySet(t, egClass, egGateway, chatService, chatRoute, restRoute)
	cases := []struct {
		name, policy string
		want         []string
	}{
		{"route targets: only the ws route", psp, []string{"spec.targetRefs[0]"}},
		{"gateway target serving a ws route", btpOnGateway, []string{"spec.targetRefs[0]"}},
		{"service target routed by a ws rule", gcpPolicy, []string{"spec.targetRef"}},
		{"gateway without ws routes", `{"apiVersion":"gateway.envoyproxy.io/v1alpha1","kind":"ClientTrafficPolicy","metadata":{"name":"x","namespace":"chat"},"spec":{"targetRefs":[{"kind":"Gateway","name":"other"}]}}`, nil},
		{"explicit annotation", `{"apiVersion":"gateway.envoyproxy.io/v1alpha1","kind":"BackendTrafficPolicy","metadata":{"name":"x","namespace":"chat","annotations":{"ws-defaults.io/websocket":"true"}},"spec":{"targetRefs":[{"kind":"HTTPRoute","name":"rest"}]}}`, []string{"spec.targetRefs[0]"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := Of(obj(t, c.policy), s, Options{})
			var got []string
			for _, it := range e.Items {
				got = append(got, it.Field)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("items %v, want %v", e.Items, c.want)
			}
			if len(e.Gateway.Controllers) != 1 {
				t.Errorf("a policy names its own implementation, got %v", e.Gateway.Controllers)
			}
		})
	}
	s.Delete(obj(t, chatRoute), "")
	if e := Of(obj(t, btpOnGateway), s, Options{}); e.Any() {
		t.Errorf("ws route deleted, still evidence %v", e.Items)
	}
}
