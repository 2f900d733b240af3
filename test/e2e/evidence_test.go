package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestEvidence: in an opted-in namespace, through the real API server, the
// Service and Contour defaults go only where there is WebSocket evidence,
// and a gRPC-only Ingress is neither mutated nor denied.
func TestEvidence(t *testing.T) {
	namespace(t, "evidence", map[string]string{"ws-defaults": "enabled"})

	rest := create(t, "apiVersion: v1\nkind: Service\nmetadata: {name: rest, namespace: evidence}\nspec:\n  selector: {app: rest}\n  ports:\n  - {name: api, port: 8080}\n")
	if a, _, _ := unstructured.NestedString(rest.Object, "spec", "sessionAffinity"); a != "None" {
		t.Errorf("REST Service sessionAffinity = %q, want None (no WebSocket evidence)", a)
	}
	if d := rest.GetAnnotations()["ws-defaults.io/defaulted"]; d != "" {
		t.Errorf("REST Service got %s", d)
	}

	listed := create(t, "apiVersion: v1\nkind: Service\nmetadata:\n  name: live\n  namespace: evidence\n  annotations: {ws-defaults.io/websocket-ports: events}\nspec:\n  selector: {app: live}\n  ports:\n  - {name: events, port: 8080}\n  - {name: metrics, port: 9090}\n")
	ports, _, _ := unstructured.NestedSlice(listed.Object, "spec", "ports")
	if p := ports[0].(map[string]any)["appProtocol"]; p != "http" {
		t.Errorf("listed port appProtocol = %v, want http", p)
	}
	if _, ok := ports[1].(map[string]any)["appProtocol"]; ok {
		t.Errorf("metrics port got an appProtocol")
	}
	if a, _, _ := unstructured.NestedString(listed.Object, "spec", "sessionAffinity"); a != "ClientIP" {
		t.Errorf("annotated Service sessionAffinity = %q, want ClientIP", a)
	}

	hp := create(t, `apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: {name: app, namespace: evidence}
spec:
  routes:
  - conditions: [{prefix: /api}]
    services: [{name: rest, port: 8080}]
    timeoutPolicy: {response: 30s}
  - conditions: [{prefix: /cable}]
    services: [{name: live, port: 8080}]
`)
	routes, _, _ := unstructured.NestedSlice(hp.Object, "spec", "routes")
	restRoute, cable := routes[0].(map[string]any), routes[1].(map[string]any)
	if _, ok := restRoute["enableWebsockets"]; ok {
		t.Errorf("REST route got enableWebsockets: %v", restRoute)
	}
	if tp, _ := restRoute["timeoutPolicy"].(map[string]any); len(tp) != 1 || tp["response"] != "30s" {
		t.Errorf("REST route timeoutPolicy = %v, want the user's only", tp)
	}
	tp, _ := cable["timeoutPolicy"].(map[string]any)
	if cable["enableWebsockets"] != true || tp["idle"] != "3600s" || tp["response"] != "infinity" {
		t.Errorf("cable route = %v, want enableWebsockets, idle 3600s, response infinity", cable)
	}

	grpc := `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: grpc
  namespace: evidence
  annotations: {nginx.ingress.kubernetes.io/backend-protocol: GRPC}
spec:
  ingressClassName: nginx
  rules:
  - host: grpc.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend: {service: {name: rest, port: {number: 8080}}}
`
	u, warns, err := dryRun(grpc)
	if err != nil {
		t.Fatalf("gRPC-only Ingress denied: %v", err)
	}
	if d := u.GetAnnotations()["ws-defaults.io/defaulted"]; d != "" {
		t.Errorf("gRPC-only Ingress got %s", d)
	}
	for _, w := range warns {
		if strings.Contains(w, "nginx-upgrade-blocked") {
			t.Errorf("gRPC-only Ingress warned: %s", w)
		}
	}
}

// TestCheckCrossObjectEvidence: `webhook check` on a file that holds an
// Ingress routing /ws and the Service it routes to gives the Service the
// WebSocket settings at once, and lists the evidence.
func TestCheckCrossObjectEvidence(t *testing.T) {
	input := filepath.Join(t.TempDir(), "app.yaml")
	doc := `apiVersion: v1
kind: Service
metadata: {name: chat, namespace: team}
spec:
  selector: {app: chat}
  ports:
  - {name: app, port: 80}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: chat, namespace: team}
spec:
  ingressClassName: nginx
  rules:
  - host: chat.example.com
    http:
      paths:
      - path: /ws
        pathType: Prefix
        backend: {service: {name: chat, port: {name: app}}}
`
	if err := os.WriteFile(input, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "check", "-f", input, "-o", "json")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	_ = cmd.Run()
	var rep struct {
		Results []struct {
			Kind     string   `json:"kind"`
			Added    []string `json:"added"`
			Evidence []string `json:"evidence"`
		} `json:"results"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("check output: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	svc := rep.Results[0]
	if !slices.Contains(svc.Added, "spec.ports[0].appProtocol") || !slices.Contains(svc.Added, "spec.sessionAffinity") {
		t.Errorf("Service added %v, want the hint and ClientIP affinity", svc.Added)
	}
	if len(svc.Evidence) != 1 || !strings.Contains(svc.Evidence[0], "Ingress team/chat spec.rules[0].http.paths[0] (path segment ws) sends traffic to port app") {
		t.Errorf("Service evidence = %q", svc.Evidence)
	}
}

// TestRoutedServiceGetsHint: in `webhook serve`, the route index gives a
// Service created after the Ingress that routes WebSocket traffic to it the
// port hint, although nothing in the Service itself says WebSocket (its port
// is named "web", which also declares no protocol to a mesh).
func TestRoutedServiceGetsHint(t *testing.T) {
	namespace(t, "routed", map[string]string{"ws-defaults": "enabled"})
	create(t, "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: chat, namespace: routed}\nspec:\n  ingressClassName: nginx\n  tls: [{hosts: [chat.example.com], secretName: chat}]\n  rules:\n  - host: chat.example.com\n    http:\n      paths:\n      - {path: /socket.io, pathType: Prefix, backend: {service: {name: chat, port: {name: web}}}}\n")
	svc := "apiVersion: v1\nkind: Service\nmetadata: {name: chat, namespace: routed}\nspec:\n  selector: {app: chat}\n  ports:\n  - {name: web, port: 8080}\n  - {name: metrics, port: 9090}\n"
	// The index follows the Ingress's watch event within moments.
	eventually(t, "routed port hint", func() (bool, string) {
		u, _, err := dryRun(svc)
		if err != nil {
			return false, err.Error()
		}
		ports, _, _ := unstructured.NestedSlice(u.Object, "spec", "ports")
		return ports[0].(map[string]any)["appProtocol"] == "http", fmt.Sprint(ports)
	})
	got := create(t, svc)
	ports, _, _ := unstructured.NestedSlice(got.Object, "spec", "ports")
	if _, ok := ports[1].(map[string]any)["appProtocol"]; ok {
		t.Errorf("the metrics port, which no route uses, got an appProtocol: %v", ports)
	}
	if a, _, _ := unstructured.NestedString(got.Object, "spec", "sessionAffinity"); a != "ClientIP" {
		t.Errorf("routed Service sessionAffinity = %q, want ClientIP", a)
	}
}
