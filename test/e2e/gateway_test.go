package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// gatewayClass creates a cluster-scoped GatewayClass for the test.
func gatewayClass(t *testing.T, name, controller string) {
	t.Helper()
	u := create(t, fmt.Sprintf("apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: %s}\nspec: {controllerName: %s}\n", name, controller))
	t.Cleanup(func() { _ = cluster.Client.Delete(context.Background(), u) })
}

func gateway(namespace, name, class string) string {
	return fmt.Sprintf("apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: %s, namespace: %s}\nspec:\n  gatewayClassName: %s\n  listeners: [{name: http, protocol: HTTP, port: 80}]\n", name, namespace, class)
}

// chatRoute has a WebSocket rule (/ws, by its path) and a REST rule.
func chatRoute(namespace, name, parent string) string {
	return fmt.Sprintf(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: %s, namespace: %s}
spec:
  parentRefs: [{name: %s}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /ws}}]
    backendRefs: [{name: chat, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /api}}]
    backendRefs: [{name: api, port: 8080}]
`, name, namespace, parent)
}

func ruleTimeout(u *unstructured.Unstructured, i int) (string, bool) {
	rules, _, _ := unstructured.NestedSlice(u.Object, "spec", "rules")
	if i >= len(rules) {
		return "", false
	}
	v, ok, _ := unstructured.NestedString(rules[i].(map[string]any), "timeouts", "request")
	return v, ok
}

// TestGatewayAPIEnvoyGateway: an HTTPRoute served by Envoy Gateway gets the
// idle timeout on its WebSocket rule only, in Gateway API's Duration form
// (the real CRD's pattern checks it).
func TestGatewayAPIEnvoyGateway(t *testing.T) {
	namespace(t, "gw-eg", map[string]string{"ws-defaults": "enabled"})
	gatewayClass(t, "eg-e2e", "gateway.envoyproxy.io/gatewayclass-controller")
	create(t, gateway("gw-eg", "edge", "eg-e2e"))
	route := chatRoute("gw-eg", "chat", "edge")
	eventually(t, "the route index resolves the Gateway", func() (bool, string) {
		u, _, err := dryRun(route)
		if err != nil {
			return false, err.Error()
		}
		v, _ := ruleTimeout(u, 0)
		return v == "1h", fmt.Sprint(u.Object["spec"])
	})
	got := create(t, route)
	if v, _ := ruleTimeout(got, 0); v != "1h" {
		t.Errorf("ws rule timeouts.request = %q, want 1h", v)
	}
	if v, ok := ruleTimeout(got, 1); ok {
		t.Errorf("the REST rule got timeouts.request %q: only WebSocket rules are changed", v)
	}
	if d := got.GetAnnotations()["ws-defaults.io/defaulted"]; !strings.Contains(d, "spec.rules[0].timeouts.request") {
		t.Errorf("ws-defaults.io/defaulted = %q, want it to name spec.rules[0].timeouts.request", d)
	}
}

// TestGatewayAPICORSDenied: ingress2gateway's translation of ingress-nginx's
// CORS defaults (any Origin, with credentials) is denied in every
// namespace, opted in or not.
func TestGatewayAPICORSDenied(t *testing.T) {
	// Opted in: outside opt-in a cluster-scope rule only warns by default.
	namespace(t, "gw-cors", map[string]string{"ws-defaults": "enabled"})
	doc := `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: cors, namespace: gw-cors}
spec:
  parentRefs: [{name: edge}]
  rules:
  - filters: [{type: CORS, cors: {allowOrigins: ["*"], allowCredentials: true}}]
    backendRefs: [{name: api, port: 8080}]
`
	_, _, err := dryRun(doc)
	if err == nil || !strings.Contains(err.Error(), "gwapi-cors-wildcard-credentials") {
		t.Fatalf("want a denial naming gwapi-cors-wildcard-credentials, got %v", err)
	}
	if _, _, err := dryRun(strings.Replace(doc, `["*"]`, `["https://chat.example.com"]`, 1)); err != nil {
		t.Errorf("a named origin with credentials is fine: %v", err)
	}
}

// TestGatewayAPINGFProxySettings: a ProxySettingsPolicy targeting a
// WebSocket route gets read and send timeouts in NGINX Gateway Fabric's
// own duration form (the CRD's pattern checks them).
func TestGatewayAPINGFProxySettings(t *testing.T) {
	namespace(t, "gw-ngf", map[string]string{"ws-defaults": "enabled"})
	create(t, chatRoute("gw-ngf", "chat", "web"))
	policy := `apiVersion: gateway.nginx.org/v1alpha1
kind: ProxySettingsPolicy
metadata: {name: ws, namespace: gw-ngf}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: chat}]
`
	eventually(t, "the route index knows the WebSocket route", func() (bool, string) {
		u, _, err := dryRun(policy)
		if err != nil {
			return false, err.Error()
		}
		read, _, _ := unstructured.NestedString(u.Object, "spec", "timeout", "read")
		send, _, _ := unstructured.NestedString(u.Object, "spec", "timeout", "send")
		return read == "1h" && send == "1h", fmt.Sprint(u.Object["spec"])
	})
	// A policy targeting a route without WebSocket rules is left alone.
	create(t, strings.Replace(chatRoute("gw-ngf", "rest", "web"), "/ws", "/v1", 1))
	u, _, err := dryRun(strings.NewReplacer("name: ws,", "name: rest,", "name: chat}", "name: rest}").Replace(policy))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := unstructured.NestedMap(u.Object, "spec", "timeout"); ok {
		t.Errorf("a policy for a route without WebSocket rules got timeouts: %v", u.Object["spec"])
	}
}

// TestGatewayCreatedAfterRoute: a route whose Gateway did not exist yet is
// judged with only the portable defaults; once the Gateway exists, its next
// update gets its implementation's.
func TestGatewayCreatedAfterRoute(t *testing.T) {
	namespace(t, "gw-late", map[string]string{"ws-defaults": "enabled"})
	gatewayClass(t, "eg-late", "gateway.envoyproxy.io/gatewayclass-controller")
	got := create(t, chatRoute("gw-late", "chat", "late"))
	if v, ok := ruleTimeout(got, 0); ok {
		t.Fatalf("implementation unknown, yet timeouts.request %q was added", v)
	}
	create(t, gateway("gw-late", "late", "eg-late"))
	n := 0
	eventually(t, "the next update gets Envoy Gateway's default", func() (bool, string) {
		u := stored(t, got)
		n++
		u.SetLabels(map[string]string{"touch": fmt.Sprint(n)})
		if err := cluster.Client.Update(context.Background(), u); err != nil {
			return false, err.Error()
		}
		v, _ := ruleTimeout(u, 0)
		return v == "1h", fmt.Sprint(u.Object["spec"])
	})
}

// TestAuditResolvesGatewayAPI: `webhook audit` judges a route as admission
// would, its implementation resolved through its Gateway: an Envoy Gateway
// route created before its namespace opted in lacks the request timeout
// on its WebSocket rule (defaults-missing, with the patch).
func TestAuditResolvesGatewayAPI(t *testing.T) {
	namespace(t, "gw-audit", nil)
	gatewayClass(t, "eg-audit", "gateway.envoyproxy.io/gatewayclass-controller")
	create(t, gateway("gw-audit", "edge", "eg-audit"))
	if got := create(t, chatRoute("gw-audit", "chat", "edge")); got.GetAnnotations()["ws-defaults.io/defaulted"] != "" {
		t.Fatalf("a route in a namespace not opted in was mutated: %v", got.GetAnnotations())
	}
	ns := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "gw-audit"}}}
	if err := cluster.Client.Patch(context.Background(), ns, client.RawPatch("application/merge-patch+json", []byte(`{"metadata":{"labels":{"ws-defaults":"enabled"}}}`))); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(binary, "audit", "--kubeconfig", cluster.Kubeconfig, "-n", "gw-audit", "-o", "json").Output()
	if err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 0 {
			t.Fatalf("webhook audit: %v\n%s", err, out)
		}
	}
	var rep auditJSON
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, r := range rep.Results {
		if r.Kind != "HTTPRoute" || r.Name != "chat" {
			continue
		}
		if r.Controller != "gateway.envoyproxy.io/gatewayclass-controller" {
			t.Errorf("controller %q, want Envoy Gateway's (resolved through Gateway gw-audit/edge)", r.Controller)
		}
		patch, _ := json.Marshal(r.Patch)
		if !strings.Contains(string(patch), "/spec/rules/0/timeouts") || strings.Contains(string(patch), "/spec/rules/1/") {
			t.Errorf("patch %s, want the request timeout on the /ws rule only", patch)
		}
		return
	}
	t.Fatalf("the route is not in the audit's output:\n%s", out)
}
