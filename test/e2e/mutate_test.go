package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ws-defaults/ws-defaults/test/framework"
	"github.com/ws-defaults/ws-defaults/webhook/registration"
)

const nginx = "nginx.ingress.kubernetes.io/"

func ingress(namespace, name, class, labels string) string {
	return `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ` + name + `
  namespace: ` + namespace + `
  labels: {` + labels + `}
spec:
  ingressClassName: ` + class + `
  rules:
  - host: ws.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend: {service: {name: ws, port: {number: 8080}}}
`
}

func TestMutationScope(t *testing.T) {
	namespace(t, "enabled", map[string]string{"ws-defaults": "enabled"})
	namespace(t, "other", nil)
	tests := []struct {
		name, namespace, labels string
		mutated                 bool
	}{
		{"enabled namespace", "enabled", "", true},
		{"namespace not enabled", "other", "", false},
		{"object labelled disabled in an enabled namespace", "enabled", "ws-defaults: disabled", false},
		{"object labelled enabled in another namespace", "other", "ws-defaults: enabled", true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := create(t, ingress(tt.namespace, "ws-"+string(rune('a'+i)), "nginx", tt.labels))
			ann := got.GetAnnotations()
			if _, has := ann[nginx+"proxy-read-timeout"]; has != tt.mutated {
				t.Errorf("mutated = %v, want %v; annotations %v", has, tt.mutated, ann)
			}
			if tt.mutated && ann["ws-defaults.io/defaulted"] == "" {
				t.Error("ws-defaults.io/defaulted not recorded")
			}
		})
	}
}

func TestIngressClassResolution(t *testing.T) {
	namespace(t, "classes", map[string]string{"ws-defaults": "enabled"})
	got := create(t, ingress("classes", "custom", "edge", ""))
	if v := got.GetAnnotations()[nginx+"proxy-send-timeout"]; v != "3600" {
		t.Errorf("IngressClass edge (ingress-nginx) not resolved: proxy-send-timeout = %q", v)
	}
	got = create(t, ingress("classes", "hap", "hap", ""))
	if v := got.GetAnnotations()["haproxy-ingress.github.io/timeout-tunnel"]; v != "1h" {
		t.Errorf("IngressClass hap (haproxy-ingress) not resolved: timeout-tunnel = %q", v)
	}
}

func TestUpdateIsMutated(t *testing.T) {
	namespace(t, "updates", map[string]string{"ws-defaults": "enabled"})
	got := create(t, ingress("updates", "later", "nginx", "ws-defaults: disabled"))
	if _, has := got.GetAnnotations()[nginx+"proxy-read-timeout"]; has {
		t.Fatal("opted-out object was mutated")
	}
	got.SetLabels(nil)
	if err := cluster.Client.Update(context.Background(), got); err != nil {
		t.Fatal(err)
	}
	if v := stored(t, got).GetAnnotations()[nginx+"proxy-read-timeout"]; v != "3600" {
		t.Errorf("update after opting in: proxy-read-timeout = %q, want 3600", v)
	}
}

func TestEveryKind(t *testing.T) {
	namespace(t, "kinds", map[string]string{"ws-defaults": "enabled"})
	svc := create(t, `apiVersion: v1
kind: Service
metadata: {name: ws, namespace: kinds}
spec:
  selector: {app: ws}
  ports:
  - {name: websocket, port: 8080}
  - {name: metrics, port: 9090}
`)
	ports, _, _ := unstructured.NestedSlice(svc.Object, "spec", "ports")
	if p := ports[0].(map[string]any)["appProtocol"]; p != "http" {
		t.Errorf("websocket port appProtocol = %v, want http", p)
	}
	if p, ok := ports[1].(map[string]any)["appProtocol"]; ok {
		t.Errorf("metrics port got appProtocol %v", p)
	}
	if a, _, _ := unstructured.NestedString(svc.Object, "spec", "sessionAffinity"); a != "ClientIP" {
		t.Errorf("sessionAffinity = %q", a)
	}
	if s, _, _ := unstructured.NestedInt64(svc.Object, "spec", "sessionAffinityConfig", "clientIP", "timeoutSeconds"); s != 10800 {
		t.Errorf("ClientIP timeout = %d", s)
	}

	headless := create(t, "apiVersion: v1\nkind: Service\nmetadata: {name: headless, namespace: kinds}\nspec:\n  clusterIP: None\n  ports:\n  - {name: ws, port: 8080}\n")
	if a, _, _ := unstructured.NestedString(headless.Object, "spec", "sessionAffinity"); a != "None" {
		t.Errorf("headless Service sessionAffinity = %q, want None", a)
	}

	dr := create(t, "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: ws, namespace: kinds}\nspec: {host: ws}\n")
	if v, _, _ := unstructured.NestedString(dr.Object, "spec", "trafficPolicy", "connectionPool", "http", "h2UpgradePolicy"); v != "DO_NOT_UPGRADE" {
		t.Errorf("DestinationRule h2UpgradePolicy = %q", v)
	}
	// A WebSocket route (its path): only such routes get Contour's settings.
	hp := create(t, "apiVersion: projectcontour.io/v1\nkind: HTTPProxy\nmetadata: {name: ws, namespace: kinds}\nspec:\n  routes:\n  - conditions: [{prefix: /ws}]\n    services: [{name: ws, port: 8080}]\n")
	routes, _, _ := unstructured.NestedSlice(hp.Object, "spec", "routes")
	if r := routes[0].(map[string]any); r["enableWebsockets"] != true {
		t.Errorf("HTTPProxy route = %v", r)
	}
	bc := create(t, "apiVersion: cloud.google.com/v1\nkind: BackendConfig\nmetadata: {name: ws, namespace: kinds}\nspec: {}\n")
	if v, _, _ := unstructured.NestedInt64(bc.Object, "spec", "timeoutSec"); v != 3600 {
		t.Errorf("BackendConfig timeoutSec = %d", v)
	}
}

// TestWebhookDown stops the webhook and shows what each failure policy
// does: namespaces that did not opt in are never blocked; opted-in objects
// fail closed with a clear error (their owners asked for enforcement); the
// mutating webhook alone fails open; and all is well once it is back.
func TestWebhookDown(t *testing.T) {
	ctx := context.Background()
	namespace(t, "outage", map[string]string{"ws-defaults": "enabled"})
	namespace(t, "bystander", nil)
	if err := hook.Stop(); err != nil {
		t.Fatalf("stopping webhook: %v", err)
	}
	restarted := false
	restart := func() {
		var err error
		if hook, err = framework.StartWebhook(ctx, binary, cluster, &logs); err != nil {
			t.Fatalf("restarting webhook: %v", err)
		}
		restarted = true
	}
	defer func() {
		if !restarted {
			restart()
		}
	}()

	t.Run("namespace that did not opt in is never blocked", func(t *testing.T) {
		create(t, ingress("bystander", "down-1", "nginx", ""))
	})
	t.Run("opted-in object fails closed with a clear error", func(t *testing.T) {
		err := cluster.Client.Create(ctx, object(ingress("outage", "down-2", "nginx", "")))
		if err == nil || !strings.Contains(err.Error(), "validate.ws-defaults.io") {
			t.Fatalf("create while the webhook is down: err = %v, want a failure naming the ws-defaults webhook", err)
		}
	})
	t.Run("the mutating webhook alone fails open", func(t *testing.T) {
		vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
		if err := cluster.Client.Get(ctx, client.ObjectKey{Name: registration.ValidatingName}, vwc); err != nil {
			t.Fatal(err)
		}
		if err := cluster.Client.Delete(ctx, vwc); err != nil {
			t.Fatal(err)
		}
		defer func() {
			vwc.ResourceVersion, vwc.UID = "", ""
			if err := cluster.Client.Create(ctx, vwc); err != nil {
				t.Fatalf("restoring the validating webhook: %v", err)
			}
		}()
		// The API server notices the deleted configuration within moments.
		u := object(ingress("outage", "down-3", "nginx", ""))
		deadline := time.Now().Add(10 * time.Second)
		for err := cluster.Client.Create(ctx, u.DeepCopy()); err != nil; err = cluster.Client.Create(ctx, u.DeepCopy()) {
			if time.Now().After(deadline) {
				t.Fatalf("create with only the mutating webhook registered: %v", err)
			}
			time.Sleep(200 * time.Millisecond)
		}
		got := stored(t, u)
		if ann := got.GetAnnotations(); ann[nginx+"proxy-read-timeout"] != "" {
			t.Errorf("object mutated while the webhook was down? %v", ann)
		}
	})
	restart()
	waitForValidation(t)
	t.Run("back up: creates succeed and are mutated again", func(t *testing.T) {
		got := create(t, ingress("outage", "down-4", "nginx", ""))
		if v := got.GetAnnotations()[nginx+"proxy-read-timeout"]; v != "3600" {
			t.Errorf("proxy-read-timeout = %q after restart", v)
		}
	})
}

// waitForValidation waits until the API server calls the validating
// webhook again (its configuration cache follows changes within moments):
// a dry-run create of a snippet Ingress in the opted-in namespace must be
// denied (outside opt-in it would only warn).
func waitForValidation(t *testing.T) {
	t.Helper()
	u := object(ingress("outage", "probe", "nginx", ""))
	u.SetAnnotations(map[string]string{nginx + "server-snippet": "return 200;"})
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := cluster.Client.Create(context.Background(), u.DeepCopy(), client.DryRunAll)
		if err != nil && strings.Contains(err.Error(), "nginx-snippet-annotation") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("validating webhook not called again: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
