package edge

import (
	"encoding/json"
	"strings"
	"testing"
)

// svc builds a Service of type LoadBalancer from a JSON fragment of
// annotations, spec fields and status.
func svc(t *testing.T, annotations, spec, status string) map[string]any {
	t.Helper()
	if annotations == "" {
		annotations = "{}"
	}
	if spec == "" {
		spec = `{}`
	}
	if status == "" {
		status = `{}`
	}
	var obj map[string]any
	raw := `{"apiVersion":"v1","kind":"Service","metadata":{"name":"s","annotations":` + annotations + `},"spec":` + spec + `,"status":` + status + `}`
	if err := json.Unmarshal([]byte(raw), &obj); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	sp := obj["spec"].(map[string]any)
	sp["type"] = "LoadBalancer"
	if _, ok := sp["ports"]; !ok {
		sp["ports"] = []any{map[string]any{"name": "ws", "port": float64(443), "protocol": "TCP"}}
	}
	return obj
}

func TestDetect(t *testing.T) {
	for _, c := range []struct {
		name, ann, spec, status, policy string
		want                            Provider
		variant                         Variant
	}{
		{name: "nothing, auto", want: Unknown},
		{name: "nothing, policy aws-clb", policy: "aws-clb", want: AWSCLB},
		{name: "nothing, policy none", policy: "none", want: None},
		{name: "nothing, policy azure", policy: "azure", want: Azure},
		{name: "LBC class", spec: `{"loadBalancerClass":"service.k8s.aws/nlb"}`, want: AWSNLB},
		{name: "LBC class beats the policy", spec: `{"loadBalancerClass":"service.k8s.aws/nlb"}`, policy: "aws-clb", want: AWSNLB},
		{name: "EKS Auto class", spec: `{"loadBalancerClass":"eks.amazonaws.com/nlb"}`, want: AWSNLB, variant: EKSAuto},
		{name: "GKE class", spec: `{"loadBalancerClass":"networking.gke.io/l4-regional-external"}`, want: GCP},
		{name: "other class is unknown whatever the policy", spec: `{"loadBalancerClass":"example.com/lb"}`, policy: "azure", want: Unknown},
		{name: "AWS annotation: Classic ELB", ann: `{"service.beta.kubernetes.io/aws-load-balancer-backend-protocol":"tcp"}`, want: AWSCLB},
		{name: "type nlb, auto: the cloud provider's NLB", ann: `{"service.beta.kubernetes.io/aws-load-balancer-type":"nlb"}`, want: AWSCLB, variant: CCMNLB},
		{name: "type nlb, policy aws-nlb: the controller", ann: `{"service.beta.kubernetes.io/aws-load-balancer-type":"nlb"}`, policy: "aws-nlb", want: AWSNLB},
		{name: "type external", ann: `{"service.beta.kubernetes.io/aws-load-balancer-type":"external"}`, want: AWSNLB},
		{name: "type nlb-ip", ann: `{"service.beta.kubernetes.io/aws-load-balancer-type":"nlb-ip"}`, want: AWSNLB},
		{name: "CLB status host", status: `{"loadBalancer":{"ingress":[{"hostname":"my-classic-lb-1234567890.us-east-1.elb.amazonaws.com"}]}}`, want: AWSCLB},
		{name: "NLB status host", status: `{"loadBalancer":{"ingress":[{"hostname":"my-nlb-1234567890.elb.us-east-1.amazonaws.com"}]}}`, want: AWSNLB},
		{name: "CLB status host, China", status: `{"loadBalancer":{"ingress":[{"hostname":"a-1.cn-north-1.elb.amazonaws.com.cn"}]}}`, want: AWSCLB},
		{name: "Azure annotation", ann: `{"service.beta.kubernetes.io/azure-load-balancer-internal":"true"}`, want: Azure},
		{name: "Azure annotation beats policy", ann: `{"service.beta.kubernetes.io/azure-dns-label-name":"x"}`, policy: "aws-clb", want: Azure},
		{name: "DO id written back", ann: `{"kubernetes.digitalocean.com/load-balancer-id":"abc"}`, want: DigitalOcean},
		{name: "DO regional", ann: `{"service.beta.kubernetes.io/do-loadbalancer-type":"REGIONAL"}`, want: DigitalOcean, variant: DORegional},
		{name: "DO network", ann: `{"service.beta.kubernetes.io/do-loadbalancer-type":"REGIONAL_NETWORK"}`, want: DigitalOcean, variant: DORegionalNetwork},
		{name: "OCI lb", ann: `{"oci.oraclecloud.com/load-balancer-type":"lb"}`, want: OCI},
		{name: "OCI nlb", ann: `{"oci.oraclecloud.com/load-balancer-type":"nlb"}`, want: OCI, variant: OCINLB},
		{name: "OCI legacy annotation", ann: `{"service.beta.kubernetes.io/oci-load-balancer-shape":"flexible"}`, want: OCI},
		{name: "Hetzner", ann: `{"load-balancer.hetzner.cloud/location":"fsn1"}`, want: Hetzner},
		{name: "Scaleway", ann: `{"service.beta.kubernetes.io/scw-loadbalancer-proxy-protocol-v2":"true"}`, want: Scaleway},
		{name: "Vultr", ann: `{"service.beta.kubernetes.io/vultr-loadbalancer-protocol":"tcp"}`, want: Vultr},
		{name: "Civo", ann: `{"kubernetes.civo.com/firewall-id":"x"}`, want: Civo},
		{name: "Linode", ann: `{"service.beta.kubernetes.io/linode-loadbalancer-throttle":"4"}`, want: Linode},
		{name: "Linode status", status: `{"loadBalancer":{"ingress":[{"hostname":"nb-192-168-0-1.newark.nodebalancer.linode.com","ip":"192.168.0.1"}]}}`, want: Linode},
		{name: "MetalLB", ann: `{"metallb.io/ip-allocated-from-pool":"default"}`, want: MetalLB},
		{name: "MetalLB legacy", ann: `{"metallb.universe.tf/address-pool":"default"}`, want: MetalLB},
		{name: "GKE RBS", ann: `{"cloud.google.com/l4-rbs":"enabled"}`, want: GCP},
		{name: "IP status alone says nothing", status: `{"loadBalancer":{"ingress":[{"ip":"20.1.2.3"}]}}`, want: Unknown},
	} {
		t.Run(c.name, func(t *testing.T) {
			lb := Detect(svc(t, c.ann, c.spec, c.status), c.policy)
			if lb.Provider != c.want || lb.Variant != c.variant {
				t.Fatalf("Detect = %+v, want %q/%q", lb, c.want, c.variant)
			}
			if lb.Source == "" {
				t.Fatal("no source")
			}
		})
	}
}

func TestClientIP(t *testing.T) {
	for _, c := range []struct {
		lb              LB
		refuses, accept bool
	}{
		{LB{Provider: AWSCLB}, true, false},
		{LB{Provider: AWSCLB, Variant: CCMNLB}, true, false},
		{LB{Provider: OCI}, true, false},
		{LB{Provider: OCI, Variant: OCINLB}, false, false},
		{LB{Provider: Unknown}, false, false},
		{LB{Provider: DigitalOcean}, false, false},
		{LB{Provider: AWSNLB}, false, true},
		{LB{Provider: Azure}, false, true},
		{LB{Provider: GCP}, false, true},
		{LB{Provider: MetalLB}, false, true},
		{LB{Provider: None}, false, true},
	} {
		if got := c.lb.RefusesClientIP(); got != c.refuses {
			t.Errorf("%s: RefusesClientIP = %v", c.lb.Name(), got)
		}
		if got := c.lb.AcceptsClientIP(); got != c.accept {
			t.Errorf("%s: AcceptsClientIP = %v", c.lb.Name(), got)
		}
		if c.lb.RefusesClientIP() && c.lb.AcceptsClientIP() {
			t.Errorf("%s both refuses and accepts", c.lb.Name())
		}
	}
}

// idles are 1 s to 7 days around every provider's limits.
var idles = []int64{1, 4, 29, 30, 59, 60, 61, 239, 240, 241, 299, 300, 301, 350, 599, 600, 601, 3599, 3600, 3601, 4000, 5999, 6000, 6001, 7200, 7201, 86400, 604800}

// TestFormatReadsBack: every value Format writes, the provider's parser
// reads back as the idle timeout it claims, within the provider's range, and
// never below what was asked unless capped at the provider's maximum.
func TestFormatReadsBack(t *testing.T) {
	for _, p := range []Provider{AWSCLB, AWSNLB, Azure, DigitalOcean, OCI, Hetzner, Scaleway, Vultr, Civo} {
		lb := LB{Provider: p}
		obj := svc(t, `{"load-balancer.hetzner.cloud/protocol":"http"}`, "", "")
		for _, s := range Settings(lb, obj) {
			if s.Key == "" {
				t.Fatalf("%s: no key", p)
			}
			for _, idle := range idles {
				value, used := s.Format(idle)
				got := s.ReadValue(value)
				if got.Err != nil || got.OutOfRange != "" || !got.Set {
					t.Fatalf("%s %s: Format(%d) = %q, read back %+v", p, s.Key, idle, value, got)
				}
				if got.Seconds != used {
					t.Errorf("%s: Format(%d) = %q means %d s, Format says %d", p, idle, value, got.Seconds, used)
				}
				if used < idle && (s.Max == 0 || used != s.Max) {
					t.Errorf("%s: Format(%d) = %q: %d s is below the idle timeout and not the maximum %d", p, idle, value, used, s.Max)
				}
				if used > idle && used != s.Min && !(s.Unit == Minutes && used-idle < 60) {
					t.Errorf("%s: Format(%d) = %q: %d s is above the idle timeout for no reason", p, idle, value, used)
				}
			}
		}
	}
}

func TestFormatValues(t *testing.T) {
	for _, c := range []struct {
		p    Provider
		idle int64
		want string
	}{
		{AWSCLB, 3600, "3600"},
		{AWSCLB, 86400, "3600"},
		{AWSNLB, 30, "tcp.idle_timeout.seconds=60"},
		{AWSNLB, 3600, "tcp.idle_timeout.seconds=3600"},
		{AWSNLB, 7200, "tcp.idle_timeout.seconds=6000"},
		{Azure, 1, "4"},
		{Azure, 3600, "60"},
		{Azure, 3601, "61"},
		{Azure, 604800, "100"},
		{DigitalOcean, 3600, "600"},
		{OCI, 3600, "3600"},
		{OCI, 86400, "7200"},
		{Hetzner, 3600, "5m"},
		{Hetzner, 10, "30s"},
		{Scaleway, 3600, "60m"},
		{Scaleway, 90, "90s"},
		{Vultr, 86400, "3600"},
		{Civo, 3600, "60m"},
	} {
		s := Settings(LB{Provider: c.p}, svc(t, `{"load-balancer.hetzner.cloud/protocol":"https"}`, "", ""))[0]
		if got, _ := s.Format(c.idle); got != c.want {
			t.Errorf("%s Format(%d) = %q, want %q", c.p, c.idle, got, c.want)
		}
	}
}

func TestReadValue(t *testing.T) {
	one := func(p Provider, ann string) Setting {
		return Settings(LB{Provider: p}, svc(t, ann, "", ""))[0]
	}
	for _, c := range []struct {
		name     string
		s        Setting
		value    string
		err      bool
		outRange bool
		seconds  int64
	}{
		{"AWS seconds", one(AWSCLB, ""), "3600", false, false, 3600},
		{"AWS duration", one(AWSCLB, ""), "1h", true, false, 0},
		{"AWS untrimmed", one(AWSCLB, ""), " 60", true, false, 0},
		{"AWS above API max", one(AWSCLB, ""), "4000", false, true, 4000},
		{"AWS zero", one(AWSCLB, ""), "0", false, true, 0},
		{"Azure seconds as minutes", one(Azure, ""), "3600", false, true, 216000},
		{"Azure minutes", one(Azure, ""), " 30 ", false, false, 1800},
		{"Azure below 4", one(Azure, ""), "3", false, true, 180},
		{"Azure duration", one(Azure, ""), "30m", true, false, 0},
		{"Azure empty", one(Azure, ""), "", true, false, 0},
		{"Hetzner bare number", one(Hetzner, `{"load-balancer.hetzner.cloud/protocol":"http"}`), "300", true, false, 0},
		{"Hetzner duration", one(Hetzner, `{"load-balancer.hetzner.cloud/protocol":"http"}`), "5m", false, false, 300},
		{"Hetzner above 300s", one(Hetzner, `{"load-balancer.hetzner.cloud/protocol":"http"}`), "1h", false, true, 3600},
		{"Scaleway bare number", one(Scaleway, ""), "3600", true, false, 0},
		{"DO negative", one(DigitalOcean, ""), "-1", true, false, 0},
		{"DO seconds", one(DigitalOcean, ""), "120", false, false, 120},
		{"Vultr duration", one(Vultr, ""), "10m", true, false, 0},
		{"NLB map", one(AWSNLB, ""), "tcp.idle_timeout.seconds=3600", false, false, 3600},
		{"NLB map, other attributes", one(AWSNLB, ""), "foo=bar, tcp.idle_timeout.seconds=120", false, false, 120},
		{"NLB map malformed", one(AWSNLB, ""), "tcp.idle_timeout.seconds", true, false, 0},
		{"NLB map trailing junk", one(AWSNLB, ""), "tcp.idle_timeout.seconds=120,x", true, false, 0},
		{"NLB below 60", one(AWSNLB, ""), "tcp.idle_timeout.seconds=59", false, true, 59},
		{"NLB above 6000", one(AWSNLB, ""), "tcp.idle_timeout.seconds=6001", false, true, 6001},
		{"NLB not a number", one(AWSNLB, ""), "tcp.idle_timeout.seconds=1h", true, false, 0},
	} {
		got := c.s.ReadValue(c.value)
		if (got.Err != nil) != c.err || (got.OutOfRange != "") != c.outRange || (!c.err && got.Seconds != c.seconds) {
			t.Errorf("%s: ReadValue(%q) = %+v", c.name, c.value, got)
		}
	}
	// An NLB map without the attribute does not set the idle timeout.
	if got := one(AWSNLB, "").ReadValue("deletion_protection.enabled=true"); got.Set {
		t.Errorf("map without the attribute read as set: %+v", got)
	}
}

func TestNLBListeners(t *testing.T) {
	obj := svc(t, `{"service.beta.kubernetes.io/aws-load-balancer-ssl-cert":"arn:x","service.beta.kubernetes.io/aws-load-balancer-ssl-ports":"https"}`,
		`{"ports":[{"name":"http","port":80},{"name":"https","port":443},{"name":"dns","port":53,"protocol":"UDP"}]}`, "")
	got := Settings(LB{Provider: AWSNLB}, obj)
	if len(got) != 2 {
		t.Fatalf("settings: %+v", got)
	}
	if got[0].Listener != "TCP-80" || got[0].Key != AWSListenerAttrsKey+".TCP-80" {
		t.Errorf("port 80: %+v", got[0])
	}
	if got[1].Listener != "TLS-443" || got[1].Key != "" || got[1].Default != AWSNLBDefault {
		t.Errorf("port 443: %+v", got[1])
	}
	// A certificate without ssl-ports makes every TCP listener TLS.
	obj = svc(t, `{"service.beta.kubernetes.io/aws-load-balancer-ssl-cert":"arn:x"}`, "", "")
	if s := Settings(LB{Provider: AWSNLB}, obj); len(s) != 1 || !strings.HasPrefix(s[0].Listener, "TLS-") {
		t.Errorf("all TLS: %+v", s)
	}
}

func FuzzReadValue(f *testing.F) {
	for _, s := range []string{"3600", " 60 ", "1h", "tcp.idle_timeout.seconds=60,a=b", `a\,b=c,d`, "=", ",,", "-1", "9999999999999"} {
		f.Add(s)
	}
	obj := map[string]any{"kind": "Service", "metadata": map[string]any{"annotations": map[string]any{HetznerProtocolKey: "http"}},
		"spec": map[string]any{"type": "LoadBalancer", "ports": []any{map[string]any{"port": float64(80)}}}}
	var all []Setting
	for _, p := range []Provider{AWSCLB, AWSNLB, Azure, DigitalOcean, OCI, Hetzner, Scaleway, Vultr, Civo} {
		all = append(all, Settings(LB{Provider: p}, obj)...)
	}
	f.Fuzz(func(t *testing.T, v string) {
		for _, s := range all {
			got := s.ReadValue(v)
			if got.Err == nil && got.Set && got.OutOfRange == "" && s.RangeDocumented {
				// A value read as in range formats back to itself's meaning.
				if _, used := s.Format(got.Seconds); s.Unit != Minutes && used != got.Seconds {
					t.Fatalf("%s: %q reads %d s in range, but Format gives %d", s.Key, v, got.Seconds, used)
				}
			}
		}
		if m, err := ParseStringMap(v); err == nil {
			for k := range m {
				if k == "" {
					t.Fatalf("empty key from %q", v)
				}
			}
		}
	})
}
