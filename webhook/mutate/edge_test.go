package mutate

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
	"github.com/ws-defaults/ws-defaults/webhook/edge"
)

// lbYAML is a Service of type LoadBalancer with a WebSocket port (443,
// named ws) and a plain one (9090), with the given extra annotations and
// spec lines.
func lbYAML(annotations map[string]string, spec string) string {
	meta := ""
	if len(annotations) > 0 {
		meta = "  annotations:\n"
		for k, v := range annotations {
			meta += fmt.Sprintf("    %s: %q\n", k, v)
		}
	}
	return serviceYAML(meta, "  type: LoadBalancer\n  sessionAffinity: None\n"+spec+
		"  ports:\n  - {name: ws, port: 443, protocol: TCP}\n  - {name: metrics, port: 9090, protocol: TCP}\n")
}

func withEdge(provider string, idle int32) Env {
	return withPolicy(func(p *v1alpha1.WebSocketPolicySpec) {
		p.Edge.Provider = provider
		p.Mutation.IdleTimeoutSeconds = ptr(idle)
	})
}

func TestLoadBalancerService(t *testing.T) {
	const nlbTCP443 = edge.AWSListenerAttrsKey + ".TCP-443"
	tests := []struct {
		name        string
		provider    string
		idle        int32
		annotations map[string]string
		spec        string
		want        map[string]string // annotations that must hold these values
		absent      []string          // annotations that must stay absent
		clientIP    bool
		appProtocol any
		warning     string
	}{
		{name: "unknown provider: nothing for the edge, no ClientIP", provider: "auto", idle: 3600,
			absent: []string{edge.AWSCLBIdleKey, edge.AzureIdleKey}, appProtocol: "http",
			warning: "provider is unknown"},
		{name: "legacy AWS CLB by policy", provider: "aws-clb", idle: 3600,
			want: map[string]string{edge.AWSCLBIdleKey: "3600"}, appProtocol: "http", warning: "refuses it"},
		{name: "legacy AWS CLB by annotation, capped", provider: "auto", idle: 7200,
			annotations: map[string]string{"service.beta.kubernetes.io/aws-load-balancer-backend-protocol": "tcp"},
			want:        map[string]string{edge.AWSCLBIdleKey: "3600"}, appProtocol: "http", warning: "above the AWS Classic ELB"},
		{name: "legacy AWS CLB: the user's value is kept", provider: "aws-clb", idle: 3600,
			annotations: map[string]string{edge.AWSCLBIdleKey: "120"},
			want:        map[string]string{edge.AWSCLBIdleKey: "120"}, appProtocol: "http"},
		{name: "cloud provider NLB: no knob, no ClientIP", provider: "auto", idle: 3600,
			annotations: map[string]string{edge.AWSTypeAnnotation: "nlb"},
			absent:      []string{edge.AWSCLBIdleKey, nlbTCP443}, appProtocol: "http", warning: "cannot be set"},
		{name: "LBC NLB by class: listener attribute on the WebSocket port only", provider: "auto", idle: 3600,
			spec:   "  loadBalancerClass: service.k8s.aws/nlb\n",
			want:   map[string]string{nlbTCP443: "tcp.idle_timeout.seconds=3600"},
			absent: []string{edge.AWSListenerAttrsKey + ".TCP-9090", edge.AWSCLBIdleKey}, clientIP: true, appProtocol: "http"},
		{name: "LBC NLB by policy, merged into the user's attributes", provider: "aws-nlb", idle: 30,
			annotations: map[string]string{nlbTCP443: "proxy_protocol_v2.enabled=false"},
			want:        map[string]string{nlbTCP443: "proxy_protocol_v2.enabled=false,tcp.idle_timeout.seconds=60"}, clientIP: true, appProtocol: "http"},
		{name: "LBC NLB, capped at 6000", provider: "aws-nlb", idle: 86400,
			want: map[string]string{nlbTCP443: "tcp.idle_timeout.seconds=6000"}, clientIP: true, appProtocol: "http", warning: "above the AWS NLB"},
		{name: "LBC NLB TLS listener: fixed, warned", provider: "aws-nlb", idle: 3600,
			annotations: map[string]string{edge.AWSSSLCertKey: "arn:aws:acm:x"},
			absent:      []string{nlbTCP443}, clientIP: true, appProtocol: "http", warning: "TLS-443"},
		{name: "LBC NLB, malformed attributes left to the rule", provider: "aws-nlb", idle: 3600,
			annotations: map[string]string{nlbTCP443: "garbage"},
			want:        map[string]string{nlbTCP443: "garbage"}, clientIP: true, appProtocol: "http"},
		{name: "Azure: minutes rounded up, no http hint, ClientIP kept", provider: "azure", idle: 3601,
			want: map[string]string{edge.AzureIdleKey: "61"}, clientIP: true, warning: "health probe"},
		{name: "Azure by annotation, at most 100 minutes", provider: "auto", idle: 604800,
			annotations: map[string]string{"service.beta.kubernetes.io/azure-load-balancer-internal": "true"},
			want:        map[string]string{edge.AzureIdleKey: "100"}, clientIP: true},
		{name: "GCP: nothing to set, ClientIP kept", provider: "gcp", idle: 3600,
			absent: []string{edge.AWSCLBIdleKey, edge.AzureIdleKey}, clientIP: true, appProtocol: "http"},
		{name: "MetalLB: nothing to set", provider: "metallb", idle: 3600, clientIP: true, appProtocol: "http"},
		{name: "none: as before", provider: "none", idle: 3600, clientIP: true, appProtocol: "http"},
		{name: "Linode: nothing to set, no ClientIP", provider: "linode", idle: 3600, appProtocol: "http", warning: "not known to accept"},
		{name: "OCI: seconds, never ClientIP", provider: "oci", idle: 3600,
			want: map[string]string{edge.OCIIdleKey: "3600"}, appProtocol: "http", warning: "refuses it"},
		{name: "DigitalOcean REGIONAL: seconds capped at 600", provider: "auto", idle: 3600,
			annotations: map[string]string{edge.DOTypeAnnotation: "REGIONAL"},
			want:        map[string]string{edge.DOIdleKey: "600"}, appProtocol: "http", warning: "above"},
		{name: "DigitalOcean of unknown type: nothing", provider: "digitalocean", idle: 3600,
			absent: []string{edge.DOIdleKey}, appProtocol: "http"},
		{name: "Hetzner HTTP: Go duration capped at 300s", provider: "hetzner", idle: 3600,
			annotations: map[string]string{edge.HetznerProtocolKey: "http"},
			want:        map[string]string{edge.HetznerIdleKey: "5m"}, appProtocol: "http"},
		{name: "Hetzner TCP: nothing", provider: "hetzner", idle: 3600, absent: []string{edge.HetznerIdleKey}, appProtocol: "http"},
		{name: "Scaleway: tunnel timeout as a Go duration", provider: "scaleway", idle: 5400,
			want: map[string]string{edge.ScalewayTunnelKey: "90m"}, appProtocol: "http"},
		{name: "Vultr: seconds", provider: "vultr", idle: 3600,
			want: map[string]string{edge.VultrTimeoutKey: "3600"}, appProtocol: "http"},
		{name: "Civo: client and server timeouts", provider: "civo", idle: 3600,
			want: map[string]string{edge.CivoClientTimeoutKey: "60m", edge.CivoServerTimeoutKey: "60m"}, appProtocol: "http"},
	}
	for _, c := range tests {
		t.Run(c.name, func(t *testing.T) {
			obj, res := run(t, lbYAML(c.annotations, c.spec), withEdge(c.provider, c.idle))
			ann := annotationsOf(obj)
			for k, v := range c.want {
				if ann[k] != v {
					t.Errorf("%s = %q, want %q", k, ann[k], v)
				}
			}
			for _, k := range c.absent {
				if v, ok := ann[k]; ok {
					t.Errorf("%s = %q added", k, v)
				}
			}
			if got := nested(obj, "spec", "sessionAffinity"); (got == "ClientIP") != c.clientIP {
				t.Errorf("sessionAffinity = %v, want ClientIP: %v", got, c.clientIP)
			}
			if got := pathValue(obj, []string{"spec", "ports", "0", "appProtocol"}); got != c.appProtocol {
				t.Errorf("ports[0].appProtocol = %v, want %v", got, c.appProtocol)
			}
			if c.warning != "" {
				checkWarning(t, res, c.warning)
			}
		})
	}
}

// TestLoadBalancerServiceWithoutEvidence: a LoadBalancer Service with no
// WebSocket port gets nothing, whatever the provider.
func TestLoadBalancerServiceWithoutEvidence(t *testing.T) {
	doc := serviceYAML("", "  type: LoadBalancer\n  ports:\n  - {name: https, port: 443}\n")
	for _, p := range v1alpha1.EdgeProviders {
		obj, res := run(t, doc, withEdge(p, 3600))
		if len(res.Added) != 0 || len(annotationsOf(obj)) != 0 {
			t.Errorf("%s: added %v", p, res.Added)
		}
	}
}

// TestLoadBalancerIdleCoversPolicyRange: for every provider with a knob and
// every idle timeout from 1 s to 7 days, the value added is the idle timeout
// within the provider's range (raised to its minimum, capped at its
// maximum, Azure rounded up to a minute) and reads back as such.
func TestLoadBalancerIdleCoversPolicyRange(t *testing.T) {
	extra := map[string]map[string]string{
		"hetzner":      {edge.HetznerProtocolKey: "https"},
		"digitalocean": {edge.DOTypeAnnotation: "REGIONAL"},
	}
	for _, p := range []string{"aws-clb", "aws-nlb", "azure", "digitalocean", "oci", "hetzner", "scaleway", "vultr", "civo"} {
		for _, idle := range []int32{1, 29, 30, 59, 60, 239, 240, 241, 300, 301, 599, 600, 601, 3599, 3600, 3601, 6000, 6001, 7200, 7201, 86400, v1alpha1.MaxIdleTimeoutSeconds} {
			obj, res := run(t, lbYAML(extra[p], ""), withEdge(p, idle))
			lb := edge.Detect(obj, p)
			settings := edge.Settings(lb, obj)
			if len(settings) == 0 {
				t.Fatalf("%s: no settings", p)
			}
			for _, st := range settings {
				if st.Port > 0 {
					continue // the metrics port: no evidence
				}
				got := st.Read(obj)
				if !got.Set || got.Err != nil || got.OutOfRange != "" {
					t.Errorf("%s idle %d: %s reads %+v", p, idle, st.Key, got)
					continue
				}
				want := int64(idle)
				want = max(want, st.Min)
				if st.Unit == edge.Minutes {
					want = (want + 59) / 60 * 60
				}
				if st.Max > 0 {
					want = min(want, st.Max)
				}
				if got.Seconds != want {
					t.Errorf("%s idle %d: %s=%q means %d s, want %d", p, idle, st.Key, annotationsOf(obj)[st.Key], got.Seconds, want)
				}
				capped := st.Max > 0 && int64(idle) > st.Max
				if capped != strings.Contains(strings.Join(res.Warnings, "\n"), "above the") {
					t.Errorf("%s idle %d: capped %v, warnings %q", p, idle, capped, res.Warnings)
				}
			}
			if !strings.Contains(annotationsOf(obj)[v1alpha1.DefaultedAnnotation], settings[0].Key) {
				t.Errorf("%s idle %d: %s not recorded in %s", p, idle, settings[0].Key, v1alpha1.DefaultedAnnotation)
			}
		}
	}
}
