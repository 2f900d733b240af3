package validate

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
	"github.com/ws-defaults/ws-defaults/webhook/evidence"
)

// TestEdgeRules runs the edge rules on real Services through the engine:
// input.edge is built from the object (webhook/edge) and the policy's
// spec.edge.provider.
func TestEdgeRules(t *testing.T) {
	const (
		clb   = "service.beta.kubernetes.io/aws-load-balancer-connection-idle-timeout"
		azure = "service.beta.kubernetes.io/azure-load-balancer-tcp-idle-timeout"
		nlb   = "service.beta.kubernetes.io/aws-load-balancer-listener-attributes.TCP-443"
	)
	for _, c := range []struct {
		name, provider string
		annotations    map[string]string
		spec           string
		defaulted      []string
		want           string // rule that must fire ("" for none)
		field          string
		also           string // another rule that may fire
	}{
		{name: "ClientIP on legacy AWS by policy", provider: "aws-clb", spec: `"sessionAffinity":"ClientIP",`,
			annotations: map[string]string{clb: "3600"}, want: "edge-affinity-unsupported", field: "spec.sessionAffinity"},
		{name: "ClientIP on OCI by annotation", provider: "auto", spec: `"sessionAffinity":"ClientIP",`,
			annotations: map[string]string{"oci.oraclecloud.com/load-balancer-type": "lb", "service.beta.kubernetes.io/oci-load-balancer-connection-idle-timeout": "3600"},
			want:        "edge-affinity-unsupported", field: "spec.sessionAffinity"},
		{name: "ClientIP on an unknown provider: no deny", provider: "auto", spec: `"sessionAffinity":"ClientIP",`},
		{name: "Azure seconds as minutes", provider: "auto", annotations: map[string]string{azure: "3600"},
			want: "edge-idle-timeout-format", field: "metadata.annotations[" + azure + "]"},
		{name: "Azure minutes", provider: "auto", annotations: map[string]string{azure: "60"}},
		{name: "Hetzner bare number", provider: "auto", annotations: map[string]string{"load-balancer.hetzner.cloud/protocol": "http", "load-balancer.hetzner.cloud/http-timeout-idle": "300"},
			want: "edge-idle-timeout-format", field: "metadata.annotations[load-balancer.hetzner.cloud/http-timeout-idle]"},
		{name: "malformed listener attributes", provider: "aws-nlb", annotations: map[string]string{nlb: "tcp.idle_timeout.seconds"},
			want: "edge-idle-timeout-format", field: "metadata.annotations[" + nlb + "]"},
		{name: "listener attribute above 6000", provider: "aws-nlb", annotations: map[string]string{nlb: "tcp.idle_timeout.seconds=7200"},
			want: "edge-idle-timeout-format", field: "metadata.annotations[" + nlb + "]"},
		{name: "CLB idle on an LBC NLB", provider: "auto", spec: `"loadBalancerClass":"service.k8s.aws/nlb",`,
			annotations: map[string]string{clb: "3600", nlb: "tcp.idle_timeout.seconds=3600"},
			want:        "edge-idle-timeout-ignored", field: "metadata.annotations[" + clb + "]"},
		{name: "CLB idle on the cloud provider's NLB", provider: "auto", annotations: map[string]string{clb: "3600", "service.beta.kubernetes.io/aws-load-balancer-type": "nlb"},
			want: "edge-idle-timeout-ignored", field: "metadata.annotations[" + clb + "]", also: "edge-idle-timeout-too-low"},
		{name: "CLB at its default", provider: "aws-clb", want: "edge-idle-timeout-too-low", field: "metadata.annotations[" + clb + "]"},
		{name: "CLB injected value", provider: "aws-clb", annotations: map[string]string{clb: "3600"}, defaulted: []string{clb}},
		{name: "NLB merged attribute", provider: "aws-nlb", annotations: map[string]string{nlb: "tcp.idle_timeout.seconds=3600"},
			defaulted: []string{nlb + "[tcp.idle_timeout.seconds]"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ann, _ := json.Marshal(c.annotations)
			raw := `{"apiVersion":"v1","kind":"Service","metadata":{"name":"ws","annotations":` + string(ann) + `},
"spec":{"type":"LoadBalancer",` + c.spec + `"ports":[{"name":"ws","port":443,"protocol":"TCP"}]}}`
			var obj map[string]any
			if err := json.Unmarshal([]byte(raw), &obj); err != nil {
				t.Fatal(err)
			}
			policy := v1alpha1.WebSocketPolicySpec{Edge: v1alpha1.EdgeSpec{Provider: c.provider}}.WithDefaults()
			ev := evidence.Of(obj, nil, evidence.Options{})
			in := Input{Object: obj, Namespace: "chat", OptedIn: true, Defaulted: c.defaulted, Evidence: ev}
			vs, _, err := engine.Evaluate(context.Background(), in, &policy, nil)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, v := range vs {
				switch {
				case v.Rule == c.want && v.Field == c.field:
					found = true
				case v.Rule == c.also:
				case len(v.Rule) > 5 && v.Rule[:5] == "edge-":
					t.Errorf("unexpected %s", v)
				}
			}
			if c.want != "" && !found {
				t.Errorf("%s on %s did not fire: %v", c.want, c.field, vs)
			}
		})
	}
}
