package e2e

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ws-defaults/ws-defaults/webhook/edge"
)

// lbService is a Service of type LoadBalancer with a WebSocket port (443,
// named ws).
func lbService(namespace, name, annotations, spec string) string {
	return "apiVersion: v1\nkind: Service\nmetadata:\n  name: " + name + "\n  namespace: " + namespace +
		"\n  annotations: {" + annotations + "}\nspec:\n  type: LoadBalancer\n" + spec +
		"  ports:\n  - {name: ws, port: 443, protocol: TCP}\n"
}

// TestLoadBalancerServiceEdge: opted-in WebSocket LoadBalancer Services
// through the API server get their provider's idle timeout, ClientIP only
// where the provider accepts it, and no http appProtocol on Azure.
func TestLoadBalancerServiceEdge(t *testing.T) {
	namespace(t, "edge", map[string]string{"ws-defaults": "enabled"})
	for _, c := range []struct {
		name, annotations, spec string
		key, value              string
		clientIP                bool
		appProtocol             string
	}{
		{name: "clb", annotations: `service.beta.kubernetes.io/aws-load-balancer-backend-protocol: tcp`,
			key: edge.AWSCLBIdleKey, value: "3600", appProtocol: "http"},
		{name: "lbc-nlb", spec: "  loadBalancerClass: service.k8s.aws/nlb\n",
			key: edge.AWSListenerAttrsKey + ".TCP-443", value: "tcp.idle_timeout.seconds=3600", clientIP: true, appProtocol: "http"},
		{name: "azure", annotations: `service.beta.kubernetes.io/azure-load-balancer-internal: "true"`,
			key: edge.AzureIdleKey, value: "60", clientIP: true},
		{name: "oci", annotations: `oci.oraclecloud.com/load-balancer-type: lb`,
			key: edge.OCIIdleKey, value: "3600", appProtocol: "http"},
		{name: "unknown", appProtocol: "http"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := create(t, lbService("edge", c.name, c.annotations, c.spec))
			if c.key != "" && got.GetAnnotations()[c.key] != c.value {
				t.Errorf("%s = %q, want %q", c.key, got.GetAnnotations()[c.key], c.value)
			}
			spec, _ := got.Object["spec"].(map[string]any)
			if (spec["sessionAffinity"] == "ClientIP") != c.clientIP {
				t.Errorf("sessionAffinity = %v, want ClientIP: %v", spec["sessionAffinity"], c.clientIP)
			}
			ports, _ := spec["ports"].([]any)
			port, _ := ports[0].(map[string]any)
			if ap, _ := port["appProtocol"].(string); ap != c.appProtocol {
				t.Errorf("appProtocol = %q, want %q", ap, c.appProtocol)
			}
		})
	}
}

// TestLoadBalancerServiceEdgeDenials: ClientIP on a provider that refuses
// it, and an Azure idle timeout written in seconds, are denied in an
// opted-in namespace (cluster-scope rules; outside opt-in they warn).
func TestLoadBalancerServiceEdgeDenials(t *testing.T) {
	namespace(t, "edge-optin", map[string]string{"ws-defaults": "enabled"})
	for _, c := range []struct {
		rule, doc string
	}{
		{"edge-affinity-unsupported", lbService("edge-optin", "oci-clientip", `oci.oraclecloud.com/load-balancer-type: lb`, "  sessionAffinity: ClientIP\n")},
		{"edge-affinity-unsupported", lbService("edge-optin", "clb-clientip", `service.beta.kubernetes.io/aws-load-balancer-connection-idle-timeout: "3600"`, "  sessionAffinity: ClientIP\n")},
		{"edge-idle-timeout-format", lbService("edge-optin", "azure-seconds", `service.beta.kubernetes.io/azure-load-balancer-tcp-idle-timeout: "3600"`, "")},
	} {
		t.Run(c.rule, func(t *testing.T) {
			_, _, err := dryRun(c.doc)
			if err == nil || !strings.Contains(err.Error(), c.rule+" (") {
				t.Fatalf("not denied by %s: %v", c.rule, err)
			}
		})
	}
	// Unknown provider: ClientIP is the user's choice, not denied.
	if _, _, err := dryRun(lbService("edge-optin", "unknown-clientip", "", "  sessionAffinity: ClientIP\n")); err != nil {
		t.Errorf("ClientIP on an unknown provider denied: %v", err)
	}
}

// setStatus writes status.loadBalancer.ingress of a stored object.
func setStatus(t *testing.T, u *unstructured.Unstructured, hostname string) {
	t.Helper()
	u.Object["status"] = map[string]any{"loadBalancer": map[string]any{"ingress": []any{map[string]any{"hostname": hostname}}}}
	if err := cluster.Client.Status().Update(context.Background(), u); err != nil {
		t.Fatalf("status of %s: %v", u.GetName(), err)
	}
}

// TestExplainLive: `webhook explain --kubeconfig` links an Ingress to the
// Classic ELB in front of its controller by their status addresses, and
// shows the load balancer's 60 s default limiting the route.
func TestExplainLive(t *testing.T) {
	namespace(t, "edge-live", map[string]string{"ws-defaults": "enabled"})
	namespace(t, "edge-live-ctrl", nil)
	const host = "a1b2c3d4-1234567890.us-east-1.elb.amazonaws.com"
	svc := create(t, "apiVersion: v1\nkind: Service\nmetadata: {name: ctrl, namespace: edge-live-ctrl}\nspec:\n  type: LoadBalancer\n  ports: [{name: https, port: 443}]\n")
	setStatus(t, svc, host)
	ing := create(t, "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: chat, namespace: edge-live}\nspec:\n  ingressClassName: edge\n"+
		"  rules:\n  - http:\n      paths:\n      - {path: /socket.io, pathType: Prefix, backend: {service: {name: chat, port: {number: 8080}}}}\n")
	setStatus(t, ing, host)

	out, err := exec.Command(binary, "explain", "--kubeconfig", cluster.Kubeconfig, "-n", "edge-live", "-o", "json").Output()
	if err != nil {
		t.Fatalf("webhook explain --kubeconfig: %v", err)
	}
	var got struct {
		Routes []struct {
			Object, LimitedBy    string
			EffectiveIdleSeconds *int64
			Hops                 []struct{ Hop, Provider, Source, Via string }
		}
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(got.Routes) != 1 {
		t.Fatalf("routes: %s", out)
	}
	r := got.Routes[0]
	if r.Object != "Ingress edge-live/chat" || r.LimitedBy != "edge" || r.EffectiveIdleSeconds == nil || *r.EffectiveIdleSeconds != 60 ||
		r.Hops[0].Provider != "aws-clb" || !strings.Contains(r.Hops[0].Via, "edge-live-ctrl/ctrl") {
		t.Errorf("path: %s", out)
	}
}
