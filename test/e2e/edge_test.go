package e2e

import (
	"strings"
	"testing"

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
// it, and an Azure idle timeout written in seconds, are denied in any
// namespace that is not excluded.
func TestLoadBalancerServiceEdgeDenials(t *testing.T) {
	namespace(t, "edge-plain", nil)
	for _, c := range []struct {
		rule, doc string
	}{
		{"edge-affinity-unsupported", lbService("edge-plain", "oci-clientip", `oci.oraclecloud.com/load-balancer-type: lb`, "  sessionAffinity: ClientIP\n")},
		{"edge-affinity-unsupported", lbService("edge-plain", "clb-clientip", `service.beta.kubernetes.io/aws-load-balancer-connection-idle-timeout: "3600"`, "  sessionAffinity: ClientIP\n")},
		{"edge-idle-timeout-format", lbService("edge-plain", "azure-seconds", `service.beta.kubernetes.io/azure-load-balancer-tcp-idle-timeout: "3600"`, "")},
	} {
		t.Run(c.rule, func(t *testing.T) {
			_, _, err := dryRun(c.doc)
			if err == nil || !strings.Contains(err.Error(), c.rule+" (") {
				t.Fatalf("not denied by %s: %v", c.rule, err)
			}
		})
	}
	// Unknown provider: ClientIP is the user's choice, not denied.
	if _, _, err := dryRun(lbService("edge-plain", "unknown-clientip", "", "  sessionAffinity: ClientIP\n")); err != nil {
		t.Errorf("ClientIP on an unknown provider denied: %v", err)
	}
}
