package evidence

import (
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func decode(t *testing.T, doc string) map[string]any {
	t.Helper()
	var obj map[string]any
	if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
		t.Fatalf("bad test YAML: %v", err)
	}
	return obj
}

// want is "field: reason fragment" per item, in order.
func check(t *testing.T, e *Evidence, want []string, negative string) {
	t.Helper()
	got := e.Strings()
	if len(got) != len(want) {
		t.Fatalf("evidence %q, want %q", got, want)
	}
	for i := range want {
		field, frag, _ := strings.Cut(want[i], ": ")
		if !strings.HasPrefix(got[i], field+": ") || !strings.Contains(got[i], frag) {
			t.Errorf("evidence[%d] = %q, want field %s with %q", i, got[i], field, frag)
		}
	}
	if !strings.Contains(e.Negative, negative) || (negative == "") != (e.Negative == "") {
		t.Errorf("negative = %q, want one containing %q", e.Negative, negative)
	}
}

func TestPathSegment(t *testing.T) {
	for path, want := range map[string]string{
		"/ws":                        "ws",
		"/WS/":                       "ws",
		"/api/live/ws":               "ws",
		"/socket.io/":                "socket.io",
		"/socket.io":                 "socket.io",
		"/cable":                     "cable",
		"/sockjs/info":               "sockjs",
		"/signalr":                   "signalr",
		"/chat/123/abc/websocket":    "websocket",
		"/ws(/|$)(.*)":               "ws",
		"~^/websocket/.*":            "websocket",
		"/engine.io/":                "engine.io",
		"/":                          "",
		"/api":                       "",
		"/news":                      "",
		"/wsgi":                      "",
		"/api/v1/subscriptions":      "",
		"/hubs":                      "",
		"/static/socket.io.js":       "",
		"/docs/websocket-guide.html": "",
	} {
		if got := PathSegment(path); got != want {
			t.Errorf("PathSegment(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestPortNameToken(t *testing.T) {
	for name, want := range map[string]string{
		"ws": "ws", "wss": "wss", "http-ws": "ws", "websocket-api": "websocket", "WS": "ws",
		"http": "", "news": "", "wsgi": "", "grpc": "", "": "",
	} {
		if got := PortNameToken(name); got != want {
			t.Errorf("PortNameToken(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestExplicit: the annotation, on every handled kind.
func TestExplicit(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string
		off  bool
	}{
		{"true marks every Service port", "apiVersion: v1\nkind: Service\nmetadata: {name: s, annotations: {ws-defaults.io/websocket: 'true'}}\nspec: {ports: [{name: http, port: 80}, {name: admin, port: 81}]}",
			[]string{"spec.ports[0]: annotation ws-defaults.io/websocket", "spec.ports[1]: annotation"}, false},
		{"false wins over a ws port name", "apiVersion: v1\nkind: Service\nmetadata: {name: s, annotations: {ws-defaults.io/websocket: 'false'}}\nspec: {ports: [{name: ws, port: 80}]}",
			nil, true},
		{"false wins over a ws path", "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i, annotations: {ws-defaults.io/websocket: 'False'}}\nspec: {rules: [{http: {paths: [{path: /ws, backend: {service: {name: s, port: {number: 80}}}}]}}]}",
			nil, true},
		{"true marks every Ingress path and the default backend", "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i, annotations: {ws-defaults.io/websocket: 'true'}}\nspec: {defaultBackend: {service: {name: d, port: {number: 80}}}, rules: [{http: {paths: [{path: /api, backend: {service: {name: s, port: {number: 80}}}}]}}]}",
			[]string{"spec.defaultBackend: annotation", "spec.rules[0].http.paths[0]: annotation"}, false},
		{"true on a VirtualService", "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: v, annotations: {ws-defaults.io/websocket: 'true'}}\nspec: {http: [{route: [{destination: {host: s}}]}]}",
			[]string{"spec.http[0]: annotation"}, false},
		{"true on a DestinationRule", "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: d, annotations: {ws-defaults.io/websocket: 'true'}}\nspec: {host: s}",
			[]string{"spec.host: annotation"}, false},
		{"true on a Linkerd Server", "apiVersion: policy.linkerd.io/v1beta3\nkind: Server\nmetadata: {name: s, annotations: {ws-defaults.io/websocket: 'true'}}\nspec: {port: http}",
			[]string{"spec.port: annotation"}, false},
		{"true on another kind", "apiVersion: cloud.google.com/v1\nkind: BackendConfig\nmetadata: {name: b, annotations: {ws-defaults.io/websocket: 'true'}}\nspec: {}",
			[]string{"metadata: annotation"}, false},
		{"no annotation, no signal", "apiVersion: cloud.google.com/v1\nkind: BackendConfig\nmetadata: {name: b}\nspec: {}",
			nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := Of(decode(t, tt.doc), nil, Options{})
			check(t, e, tt.want, "")
			if e.Off != tt.off {
				t.Errorf("Off = %v, want %v", e.Off, tt.off)
			}
		})
	}
}

// TestServicePorts: port names, appProtocol, the ports annotation, the label.
func TestServicePorts(t *testing.T) {
	tests := []struct {
		name, doc string
		want      []string
	}{
		{"names with a ws token", "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{name: http, port: 80}, {name: ws, port: 81}, {name: http-websocket, port: 82}, {name: news, port: 83}]}",
			[]string{"spec.ports[1]: port name ws", "spec.ports[2]: port name http-websocket"}},
		{"appProtocol kubernetes.io/ws and wss", "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{name: a, port: 80, appProtocol: kubernetes.io/ws}, {name: b, port: 443, appProtocol: kubernetes.io/wss}, {name: c, port: 81, appProtocol: http}]}",
			[]string{"spec.ports[0]: appProtocol kubernetes.io/ws", "spec.ports[1]: appProtocol kubernetes.io/wss"}},
		{"listed by name or number", "apiVersion: v1\nkind: Service\nmetadata: {name: s, annotations: {ws-defaults.io/websocket-ports: 'events, 9000'}}\nspec: {ports: [{name: events, port: 80}, {name: raw, port: 9000}, {name: other, port: 1}]}",
			[]string{"spec.ports[0]: listed in annotation ws-defaults.io/websocket-ports", "spec.ports[1]: listed"}},
		{"the Service's own label marks every port", "apiVersion: v1\nkind: Service\nmetadata: {name: s, labels: {ws-defaults: enabled}}\nspec: {ports: [{name: http, port: 80}]}",
			[]string{"spec.ports[0]: label ws-defaults=enabled"}},
		{"UDP ports never", "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{name: ws, port: 53, protocol: UDP}]}",
			nil},
		{"plain http ports: no evidence", "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{name: http, port: 80}, {port: 8080}]}",
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { check(t, Of(decode(t, tt.doc), nil, Options{}), tt.want, "") })
	}
}

// TestRoutePaths: paths conventionally used for WebSocket, on every route kind.
func TestRoutePaths(t *testing.T) {
	tests := []struct {
		name, doc string
		want      []string
	}{
		{"Ingress: only the ws paths", "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i}\nspec: {rules: [{http: {paths: [{path: /api, backend: {service: {name: api, port: {number: 80}}}}, {path: /socket.io, backend: {service: {name: web, port: {number: 80}}}}]}}, {http: {paths: [{path: /cable, backend: {service: {name: rails, port: {name: http}}}}]}}]}",
			[]string{"spec.rules[0].http.paths[1]: path segment socket.io", "spec.rules[1].http.paths[0]: path segment cable"}},
		{"Ingress: backend port named ws", "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i}\nspec: {rules: [{http: {paths: [{path: /, backend: {service: {name: app, port: {name: ws}}}}]}}]}",
			[]string{"spec.rules[0].http.paths[0]: backend port name ws"}},
		{"Ingress: a REST-only Ingress has none", "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i}\nspec: {rules: [{http: {paths: [{path: /api, backend: {service: {name: api, port: {number: 80}}}}, {path: /, backend: {service: {name: web, port: {number: 80}}}}]}}]}",
			nil},
		{"HTTPProxy: prefix condition", "apiVersion: projectcontour.io/v1\nkind: HTTPProxy\nmetadata: {name: p}\nspec: {routes: [{conditions: [{prefix: /api}]}, {conditions: [{prefix: /ws}]}]}",
			[]string{"spec.routes[1]: path segment ws"}},
		{"VirtualService: uri prefix, exact or regex", "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: v}\nspec: {http: [{match: [{uri: {prefix: /api}}]}, {match: [{uri: {exact: /sockjs}}]}, {match: [{uri: {regex: '^/ws/.*'}}]}]}",
			[]string{"spec.http[1]: path segment sockjs", "spec.http[2]: path segment ws"}},
		{"HTTPRoute: path match", "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\nspec: {rules: [{matches: [{path: {type: PathPrefix, value: /v1}}]}, {matches: [{path: {type: PathPrefix, value: /websocket}}]}]}",
			[]string{"spec.rules[1]: path segment websocket"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { check(t, Of(decode(t, tt.doc), nil, Options{}), tt.want, "") })
	}
}

// TestControllerSwitches: settings that only make sense for WebSocket.
func TestControllerSwitches(t *testing.T) {
	tests := []struct {
		name, doc string
		want      []string
	}{
		{"Contour enableWebsockets set by the user", "apiVersion: projectcontour.io/v1\nkind: HTTPProxy\nmetadata: {name: p}\nspec: {routes: [{services: [{name: a, port: 80}]}, {enableWebsockets: true, services: [{name: b, port: 80}]}]}",
			[]string{"spec.routes[1]: enableWebsockets: true"}},
		{"Contour enableWebsockets we injected is no evidence", "apiVersion: projectcontour.io/v1\nkind: HTTPProxy\nmetadata: {name: p, annotations: {ws-defaults.io/defaulted: 'spec.routes[0].enableWebsockets,spec.routes[0].timeoutPolicy.response'}}\nspec: {routes: [{enableWebsockets: true, services: [{name: a, port: 80}]}]}",
			nil},
		{"F5 NGINX websocket-services names the backend", "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i, annotations: {nginx.org/websocket-services: 'chat, live'}}\nspec: {rules: [{http: {paths: [{path: /api, backend: {service: {name: api, port: {number: 80}}}}, {path: /, backend: {service: {name: chat, port: {number: 80}}}}]}}]}",
			[]string{"spec.rules[0].http.paths[1]: nginx.org/websocket-services lists Service chat"}},
		{"Istio's removed websocketUpgrade", "apiVersion: networking.istio.io/v1alpha3\nkind: VirtualService\nmetadata: {name: v}\nspec: {http: [{websocketUpgrade: true, route: [{destination: {host: s}}]}, {route: [{destination: {host: t}}]}]}",
			[]string{"spec.http[0]: websocketUpgrade: true"}},
		{"Linkerd Server on a ws-named port", "apiVersion: policy.linkerd.io/v1beta3\nkind: Server\nmetadata: {name: s}\nspec: {port: ws, proxyProtocol: HTTP/1}",
			[]string{"spec.port: port name ws"}},
		{"Linkerd Server on a numbered port: none", "apiVersion: policy.linkerd.io/v1beta3\nkind: Server\nmetadata: {name: s}\nspec: {port: 8080, proxyProtocol: gRPC}",
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { check(t, Of(decode(t, tt.doc), nil, Options{}), tt.want, "") })
	}
}

// TestNegative: gRPC-only and ssl-passthrough Ingresses carry no WebSocket;
// path names do not outweigh that, explicit and cross-object signals do.
func TestNegative(t *testing.T) {
	ing := func(annotations, path, port string) string {
		return "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i, namespace: chat, annotations: {" + annotations +
			"}}\nspec: {rules: [{host: cli.example.com, http: {paths: [{path: " + path + ", backend: {service: {name: api, port: " + port + "}}}]}}]}"
	}
	idx := NewSet(Options{})
	idx.Add(decode(t, "apiVersion: v1\nkind: Service\nmetadata: {name: api, namespace: chat}\nspec: {ports: [{name: ws, port: 80}]}"), "")
	idx.Add(decode(t, "apiVersion: v1\nkind: Service\nmetadata: {name: rpc, namespace: chat}\nspec: {ports: [{name: grpc, port: 9000}, {name: h2, port: 9001, appProtocol: kubernetes.io/h2c}, {name: web, port: 80}, {name: grpc-web, port: 81}]}"), "")
	paths := func(ps ...string) string {
		return "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i, namespace: chat}\nspec: {rules: [{http: {paths: [" + strings.Join(ps, ", ") + "]}}]}"
	}
	to := func(path, port string) string {
		return "{path: " + path + ", backend: {service: {name: rpc, port: " + port + "}}}"
	}
	tests := []struct {
		name, doc string
		idx       Index
		opts      Options
		want      []string
		negative  string
	}{
		{"gRPC backend, no ws path", ing("nginx.ingress.kubernetes.io/backend-protocol: GRPC", "/", "{number: 443}"), nil, Options{}, nil, "backend-protocol"},
		{"gRPC backend outweighs a ws path", ing("nginx.ingress.kubernetes.io/backend-protocol: GRPCS", "/ws", "{number: 443}"), nil, Options{}, nil, "GRPCS"},
		{"custom nginx prefix", ing("example.com/backend-protocol: GRPC", "/", "{number: 443}"), nil, Options{NginxPrefix: "example.com/"}, nil, "example.com/backend-protocol"},
		{"ssl-passthrough", ing("nginx.ingress.kubernetes.io/ssl-passthrough: 'true'", "/", "{number: 443}"), nil, Options{}, nil, "ssl-passthrough"},
		{"explicit true outweighs gRPC", ing("nginx.ingress.kubernetes.io/backend-protocol: GRPC, ws-defaults.io/websocket: 'true'", "/", "{number: 443}"), nil, Options{},
			[]string{"spec.rules[0].http.paths[0]: annotation"}, ""},
		{"a ws backend port name outweighs gRPC", ing("nginx.ingress.kubernetes.io/backend-protocol: GRPC", "/", "{name: ws}"), nil, Options{},
			[]string{"spec.rules[0].http.paths[0]: backend port name ws"}, ""},
		{"a WebSocket Service port outweighs gRPC", ing("nginx.ingress.kubernetes.io/backend-protocol: GRPC", "/", "{number: 80}"), idx, Options{},
			[]string{"spec.rules[0].http.paths[0]: Service chat/api port ws is WebSocket (port name ws"}, ""},
		{"every path to a gRPC or h2c port", paths(to("/ws", "{name: grpc}"), to("/", "{number: 9001}")), idx, Options{}, nil, "every path goes to a gRPC/HTTP/2 port (Service chat/rpc port grpc: port name grpc)"},
		{"one path to a plain port: not negative", paths(to("/ws", "{name: grpc}"), to("/socket.io", "{number: 80}")), idx, Options{},
			[]string{"spec.rules[0].http.paths[0]: path segment ws", "spec.rules[0].http.paths[1]: path segment socket.io"}, ""},
		{"grpc-web is HTTP/1.1: not negative", paths(to("/ws", "{name: grpc-web}")), idx, Options{},
			[]string{"spec.rules[0].http.paths[0]: path segment ws"}, ""},
		{"HTTPS backend is not negative", ing("nginx.ingress.kubernetes.io/backend-protocol: HTTPS", "/ws", "{number: 443}"), nil, Options{},
			[]string{"spec.rules[0].http.paths[0]: path segment ws"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { check(t, Of(decode(t, tt.doc), tt.idx, tt.opts), tt.want, tt.negative) })
	}
}

// TestCrossObject: routes to WebSocket Service ports, and Service ports that
// WebSocket routes send traffic to; no transitive flow.
func TestCrossObject(t *testing.T) {
	idx := NewSet(Options{})
	for _, doc := range []string{
		// A Service whose port is WebSocket by its own name.
		"apiVersion: v1\nkind: Service\nmetadata: {name: chat, namespace: chat}\nspec: {ports: [{name: ws, port: 8080}, {name: metrics, port: 9090}]}",
		// An Ingress routing /ws to port "http" of web, and / to web too.
		"apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: web, namespace: chat}\nspec: {rules: [{http: {paths: [{path: /ws, backend: {service: {name: web, port: {name: http}}}}, {path: /, backend: {service: {name: web, port: {name: http}}}}]}}]}",
		// An HTTPProxy whose /cable route goes to rails:3000.
		"apiVersion: projectcontour.io/v1\nkind: HTTPProxy\nmetadata: {name: p, namespace: chat}\nspec: {routes: [{conditions: [{prefix: /cable}], services: [{name: rails, port: 3000}]}]}",
		// An HTTPRoute in another namespace sending /socket.io to n/node:80.
		"apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r, namespace: other}\nspec: {rules: [{matches: [{path: {value: /socket.io}}], backendRefs: [{name: node, namespace: chat, port: 80}]}]}",
		// GKE: Services naming their BackendConfigs; chat's ws port uses
		// "ws-bc" by number; web's routed port uses "web-bc" by default;
		// api (REST) uses "api-bc".
		"apiVersion: v1\nkind: Service\nmetadata: {name: chat2, namespace: chat, annotations: {cloud.google.com/backend-config: '{\"ports\": {\"8080\": \"ws-bc\", \"metrics\": \"metrics-bc\"}}'}}\nspec: {ports: [{name: ws, port: 8080}, {name: metrics, port: 9090}]}",
		"apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: chat, annotations: {cloud.google.com/backend-config: '{\"default\": \"web-bc\"}'}}\nspec: {ports: [{name: http, port: 80}]}",
		"apiVersion: v1\nkind: Service\nmetadata: {name: api, namespace: chat, annotations: {beta.cloud.google.com/backend-config: '{\"default\": \"api-bc\"}'}}\nspec: {ports: [{name: http, port: 80}]}",
		// A VirtualService whose websocket route goes to live.chat.svc.cluster.local.
		"apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: v, namespace: chat}\nspec: {http: [{match: [{uri: {prefix: /websocket}}], route: [{destination: {host: live.chat.svc.cluster.local, port: {number: 80}}}]}]}",
	} {
		idx.Add(decode(t, doc), "")
	}
	tests := []struct {
		name, doc string
		want      []string
	}{
		{"Service port named http that a /ws Ingress path targets", "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: chat}\nspec: {ports: [{name: http, port: 80}, {name: admin, port: 81}]}",
			[]string{"spec.ports[0]: Ingress chat/web spec.rules[0].http.paths[0] (path segment ws) sends traffic to port http"}},
		{"HTTPProxy route to a numbered port", "apiVersion: v1\nkind: Service\nmetadata: {name: rails, namespace: chat}\nspec: {ports: [{name: http, port: 3000}]}",
			[]string{"spec.ports[0]: HTTPProxy chat/p spec.routes[0] (path segment cable)"}},
		{"HTTPRoute from another namespace", "apiVersion: v1\nkind: Service\nmetadata: {name: node, namespace: chat}\nspec: {ports: [{name: http, port: 80}]}",
			[]string{"spec.ports[0]: HTTPRoute other/r spec.rules[0]"}},
		{"VirtualService by FQDN host", "apiVersion: v1\nkind: Service\nmetadata: {name: live, namespace: chat}\nspec: {ports: [{name: http, port: 80}]}",
			[]string{"spec.ports[0]: VirtualService chat/v spec.http[0]"}},
		{"same name in another namespace: none", "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: elsewhere}\nspec: {ports: [{name: http, port: 80}]}",
			nil},
		{"an Ingress path to the ws Service port", "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i, namespace: chat}\nspec: {rules: [{http: {paths: [{path: /api, backend: {service: {name: chat, port: {number: 8080}}}}, {path: /metrics, backend: {service: {name: chat, port: {number: 9090}}}}]}}]}",
			[]string{"spec.rules[0].http.paths[0]: Service chat/chat port ws is WebSocket (port name ws"}},
		{"not transitive: another route to web's port is no WebSocket route", "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: other, namespace: chat}\nspec: {rules: [{http: {paths: [{path: /api, backend: {service: {name: web, port: {name: http}}}}]}}]}",
			nil},
		{"DestinationRule for a host with a ws port", "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: d, namespace: chat}\nspec: {host: chat}",
			[]string{"spec.host: Service chat/chat port ws"}},
		{"DestinationRule for a host a ws route targets", "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: d, namespace: chat}\nspec: {host: web.chat.svc.cluster.local}",
			[]string{"spec.host: Ingress chat/web"}},
		{"DestinationRule for a REST host", "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: d, namespace: chat}\nspec: {host: api}",
			nil},
		{"BackendConfig of a ws port, by port number", "apiVersion: cloud.google.com/v1\nkind: BackendConfig\nmetadata: {name: ws-bc, namespace: chat}\nspec: {timeoutSec: 30}",
			[]string{"metadata: used by Service chat/chat2: Service chat/chat2 port ws is WebSocket"}},
		{"BackendConfig of a port a ws route targets", "apiVersion: cloud.google.com/v1\nkind: BackendConfig\nmetadata: {name: web-bc, namespace: chat}\nspec: {timeoutSec: 30}",
			[]string{"metadata: used by Service chat/web: Ingress chat/web spec.rules[0].http.paths[0] (path segment ws)"}},
		{"BackendConfig of a metrics port: none", "apiVersion: cloud.google.com/v1\nkind: BackendConfig\nmetadata: {name: metrics-bc, namespace: chat}\nspec: {timeoutSec: 30}",
			nil},
		{"BackendConfig of a REST Service: none", "apiVersion: cloud.google.com/v1\nkind: BackendConfig\nmetadata: {name: api-bc, namespace: chat}\nspec: {timeoutSec: 30}",
			nil},
		{"VirtualService route to the ws Service", "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: x, namespace: chat}\nspec: {http: [{route: [{destination: {host: chat, port: {number: 8080}}}]}, {route: [{destination: {host: chat, port: {number: 9090}}}]}]}",
			[]string{"spec.http[0]: Service chat/chat port ws"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { check(t, Of(decode(t, tt.doc), idx, Options{}), tt.want, "") })
	}

	// Delete forgets what an object said.
	idx.Delete(decode(t, "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: web, namespace: chat}"), "")
	if r := idx.RoutedPort("chat", "web", PortRef{Name: "http", Number: 80}); r != "" {
		t.Errorf("after Delete, RoutedPort = %q", r)
	}
}

func TestDocument(t *testing.T) {
	var none *Evidence
	if d := none.Document(); len(d["fields"].(map[string]any)) != 0 || d["negative"] != "" || d["off"] != false {
		t.Errorf("nil evidence document = %v", d)
	}
	e := &Evidence{Items: []Item{{"spec.ports[0]", "port name ws"}}}
	d := e.Document()
	if d["fields"].(map[string]any)["spec.ports[0]"] != "port name ws" {
		t.Errorf("document = %v", d)
	}
	if !slices.Equal(e.Strings(), []string{"spec.ports[0]: port name ws"}) || e.First() != "spec.ports[0]: port name ws" {
		t.Errorf("Strings = %q, First = %q", e.Strings(), e.First())
	}
}

func TestCompareFields(t *testing.T) {
	fields := []string{"spec.ports[10]", "spec.ports[2]", "spec.ports[1]"}
	slices.SortFunc(fields, compareFields)
	if !slices.Equal(fields, []string{"spec.ports[1]", "spec.ports[2]", "spec.ports[10]"}) {
		t.Errorf("sorted = %v", fields)
	}
}
