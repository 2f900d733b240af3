package conformance

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
	"github.com/ws-defaults/ws-defaults/webhook/edge"
)

// edgeProviders are LoadBalancer Services each provider is recognised
// from by its own annotations or class (no policy needed).
var edgeProviders = []struct {
	name        string
	annotations map[string]string
	class       string
}{
	{name: "aws-clb", annotations: map[string]string{"service.beta.kubernetes.io/aws-load-balancer-backend-protocol": "tcp"}},
	{name: "aws-nlb", class: edge.ClassLBC},
	{name: "azure", annotations: map[string]string{"service.beta.kubernetes.io/azure-load-balancer-internal": "false"}},
	{name: "digitalocean", annotations: map[string]string{edge.DOTypeAnnotation: "REGIONAL"}},
	{name: "oci", annotations: map[string]string{edge.OCITypeAnnotation: "lb"}},
	{name: "hetzner", annotations: map[string]string{edge.HetznerProtocolKey: "http"}},
	{name: "scaleway", annotations: map[string]string{"service.beta.kubernetes.io/scw-loadbalancer-sticky-sessions": "none"}},
	{name: "vultr", annotations: map[string]string{"service.beta.kubernetes.io/vultr-loadbalancer-protocol": "tcp"}},
	{name: "civo", annotations: map[string]string{"kubernetes.civo.com/protocol": "tcp"}},
	{name: "gcp", annotations: map[string]string{"cloud.google.com/l4-rbs": "enabled"}},
	{name: "metallb", annotations: map[string]string{"metallb.io/address-pool": "default"}},
	{name: "linode", annotations: map[string]string{"service.beta.kubernetes.io/linode-loadbalancer-throttle": "4"}},
}

func lbService(namespace, name, class string, annotations map[string]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: Service\nmetadata:\n  name: %s\n  namespace: %s\n", name, namespace)
	if len(annotations) > 0 {
		b.WriteString("  annotations:\n")
		for k, v := range annotations {
			fmt.Fprintf(&b, "    %s: %q\n", k, v)
		}
	}
	b.WriteString("spec:\n  type: LoadBalancer\n")
	if class != "" {
		fmt.Fprintf(&b, "  loadBalancerClass: %s\n", class)
	}
	b.WriteString("  ports:\n    - {name: ws, port: 443, protocol: TCP}\n    - {name: metrics, port: 9090, protocol: TCP}\n")
	return b.String()
}

// TestEdgeIdleTimeoutOwnValues runs `webhook check` on a WebSocket
// LoadBalancer Service of every provider in namespaces whose idle timeout
// ranges from 1 s to 7 days: what we add reads back, as the provider's
// parser reads it, within its range, no rule fires on it, and no Service
// of a provider that refuses ClientIP gets it.
func TestEdgeIdleTimeoutOwnValues(t *testing.T) {
	needBinary(t)
	var docs []string
	for _, idle := range idles {
		ns := fmt.Sprintf("idle-%d", idle)
		docs = append(docs, namespace(ns, map[string]string{v1alpha1.IdleTimeoutAnnotation: strconv.Itoa(idle)}))
		for _, p := range edgeProviders {
			docs = append(docs, lbService(ns, p.name, p.class, p.annotations))
		}
	}
	run := runCheck(t, "", docs)
	if run.Exit != 0 {
		t.Errorf("webhook check denied a LoadBalancer Service built only from our defaults")
	}
	run.noRuleOnInjected(t, "edge")
	for _, r := range run.Report.Results {
		for _, v := range r.Violations {
			if strings.HasPrefix(v.Rule, "edge-") {
				t.Errorf("%s %s/%s: rule %s fired on %s: %s", r.Kind, r.Namespace, r.Name, v.Rule, v.Field, v.Message)
			}
		}
	}
	for _, idle := range idles {
		ns := fmt.Sprintf("idle-%d", idle)
		for _, p := range edgeProviders {
			obj := run.object(t, "Service", ns, p.name)
			lb := edge.Detect(obj, "")
			if string(lb.Provider) != p.name {
				t.Fatalf("%s: recognised as %q", p.name, lb.Provider)
			}
			spec, _ := obj["spec"].(map[string]any)
			if lb.RefusesClientIP() && spec["sessionAffinity"] == "ClientIP" {
				t.Errorf("%s/%s: ClientIP added", ns, p.name)
			}
			for _, s := range edge.Settings(lb, obj) {
				if s.Key == "" || s.Skip != "" || s.Port > 0 {
					if v, set := annotationsOf(obj)[s.Key]; set && s.Port > 0 {
						t.Errorf("%s/%s: %s=%q on a port without WebSocket", ns, p.name, s.Key, v)
					}
					continue
				}
				got := s.Read(obj)
				if !got.Set || got.Err != nil || got.OutOfRange != "" {
					t.Errorf("%s/%s: %s=%q reads %+v", ns, p.name, s.Key, annotationsOf(obj)[s.Key], got)
				}
				if got.Seconds < int64(idle) && got.Seconds != s.Max {
					t.Errorf("%s/%s: %s=%q is below the idle timeout %d s and not the provider's maximum", ns, p.name, s.Key, annotationsOf(obj)[s.Key], idle)
				}
			}
		}
	}
}
