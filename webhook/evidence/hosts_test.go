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
