package evidence

import (
	"strings"
	"testing"
)

func hostIngress(name, class, host, path, port string) string {
	return `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ` + name + `, namespace: chat}
spec:
  ingressClassName: ` + class + `
  rules:
  - host: ` + host + `
    http:
      paths:
      - {path: "` + path + `", pathType: Prefix, backend: {service: {name: chat, port: {name: ` + port + `}}}}
`
}

const hostService = `apiVersion: v1
kind: Service
metadata: {name: chat, namespace: chat}
spec:
  ports: [{name: websocket, port: 3000}]
`

// TestServedElsewhere: a catch-all whose evidence is only its WebSocket
// backend port loses it while another Ingress of the same host and class
// routes a WebSocket path under it, and gets it back when that Ingress goes.
func TestServedElsewhere(t *testing.T) {
	set := NewSet(Options{})
	set.Add(decode(t, hostService), "")
	site := decode(t, hostIngress("site", "nginx", "chat.example.com", "/", "websocket"))
	set.Add(site, "")
	check(t, Of(site, set, Options{}), []string{"spec.rules[0].http.paths[0]: port name websocket"}, "")

	live := decode(t, hostIngress("live", "nginx", "Chat.Example.com", "/socket.io", "websocket"))
	set.Add(live, "")
	e := Of(site, set, Options{})
	check(t, e, nil, "")
	if why := e.ServedElsewhere["spec.rules[0].http.paths[0]"]; !strings.Contains(why, "Ingress chat/live spec.rules[0].http.paths[0] (path /socket.io, path segment socket.io)") {
		t.Errorf("ServedElsewhere = %q", e.ServedElsewhere)
	}
	if doc := e.Document(); doc["servedElsewhere"] == nil {
		t.Errorf("the rules' document lacks servedElsewhere: %v", doc)
	}
	// The WebSocket route itself keeps its evidence.
	check(t, Of(live, set, Options{}), []string{"spec.rules[0].http.paths[0]: backend port name websocket"}, "")

	// Another class or another host is another server.
	for _, other := range []string{
		hostIngress("site2", "traefik", "chat.example.com", "/", "websocket"),
		hostIngress("site3", "nginx", "status.example.com", "/", "websocket"),
	} {
		obj := decode(t, other)
		check(t, Of(obj, set, Options{}), []string{"spec.rules[0].http.paths[0]: port name websocket"}, "")
	}
	// A sibling path is not a longer match.
	api := decode(t, hostIngress("api", "nginx", "chat.example.com", "/socket", "websocket"))
	check(t, Of(api, set, Options{}), []string{"spec.rules[0].http.paths[0]: port name websocket"}, "")

	set.Delete(live, "")
	check(t, Of(site, set, Options{}), []string{"spec.rules[0].http.paths[0]: port name websocket"}, "")
}

func TestLongerMatch(t *testing.T) {
	for _, c := range []struct {
		path, other string
		want        bool
	}{
		{"/", "/ws", true},
		{"", "/ws", true},
		{"/app", "/app/ws", true},
		{"/app/", "/app/socket.io", true},
		{"/app", "/apps/ws", false},
		{"/ws", "/ws", false},
		{"/ws/", "/ws", false},
		{"/app/ws", "/app", false},
	} {
		if got := longerMatch(c.path, c.other); got != c.want {
			t.Errorf("longerMatch(%q, %q) = %v, want %v", c.path, c.other, got, c.want)
		}
	}
}

// TestHostsOfSeveralHosts: an Ingress with WebSocket paths under several
// hosts (and twice under one) is indexed under each, and an update or a
// delete forgets each of them.
func TestHostsOfSeveralHosts(t *testing.T) {
	set := NewSet(Options{})
	live := decode(t, `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: live, namespace: chat}
spec:
  ingressClassName: nginx
  rules:
  - host: a.example.com
    http:
      paths:
      - {path: /ws, pathType: Prefix, backend: {service: {name: chat, port: {number: 80}}}}
      - {path: /socket.io, pathType: Prefix, backend: {service: {name: chat, port: {number: 80}}}}
  - host: b.example.com
    http:
      paths:
      - {path: /ws, pathType: Prefix, backend: {service: {name: chat, port: {number: 80}}}}
`)
	set.Add(live, "")
	count := func(host string) int { return len(set.HostWebSocketRoutes("nginx", host, "chat/other")) }
	if a, b := count("a.example.com"), count("B.example.com"); a != 2 || b != 1 {
		t.Fatalf("indexed %d paths under a, %d under b; want 2 and 1", a, b)
	}
	if got := set.HostWebSocketRoutes("nginx", "a.example.com", "chat/other")[1].String(); got != "Ingress chat/live spec.rules[0].http.paths[1] (path /socket.io, path segment socket.io)" {
		t.Errorf("route %q", got)
	}
	if n := len(set.HostWebSocketRoutes("nginx", "a.example.com", "chat/live")); n != 0 {
		t.Errorf("the Ingress itself is listed: %d", n)
	}
	// Updated to one host: b is forgotten.
	spec := live["spec"].(map[string]any)
	spec["rules"] = spec["rules"].([]any)[:1]
	set.Add(live, "")
	if a, b := count("a.example.com"), count("b.example.com"); a != 2 || b != 0 {
		t.Fatalf("after the update: %d under a, %d under b; want 2 and 0", a, b)
	}
	set.Delete(live, "")
	if a := count("a.example.com"); a != 0 || len(set.hosts) != 0 || len(set.hostsOf) != 0 {
		t.Fatalf("after the delete: %d under a, hosts %v, hostsOf %v", a, set.hosts, set.hostsOf)
	}
}
