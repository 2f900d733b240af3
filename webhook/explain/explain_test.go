package explain

import (
	"encoding/json"
	"testing"

	"github.com/ws-defaults/ws-defaults/webhook/ingressclass"
)

func obj(t *testing.T, raw string) map[string]any {
	t.Helper()
	var o map[string]any
	if err := json.Unmarshal([]byte(raw), &o); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	return o
}

const (
	clbHost = "a1-1.us-east-1.elb.amazonaws.com"
	path0   = "spec.rules[0].http.paths[0]"
)

func ingress(annotations, status string) string {
	return `{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"chat","namespace":"chat","annotations":` + annotations + `},
"spec":{"rules":[{"http":{"paths":[{"path":"/ws","backend":{"service":{"name":"chat","port":{"number":80}}}}]}}]},"status":` + status + `}`
}

func lbService(annotations, status string) string {
	return `{"apiVersion":"v1","kind":"Service","metadata":{"name":"edge","namespace":"ingress","annotations":` + annotations + `},
"spec":{"type":"LoadBalancer","ports":[{"name":"https","port":443}]},"status":` + status + `}`
}

func TestPaths(t *testing.T) {
	linked := `{"loadBalancer":{"ingress":[{"hostname":"` + clbHost + `"}]}}`
	nginxAnn := `{"nginx.ingress.kubernetes.io/proxy-read-timeout":"3600","nginx.ingress.kubernetes.io/proxy-send-timeout":"3600"}`
	type want struct {
		route     string
		edge      string // provider of the edge hop
		edgeIdle  int64  // 0: nil
		effective int64  // 0: nil
		limitedBy string
		hops      int
	}
	for _, c := range []struct {
		name     string
		provider string
		objects  []Object
		labels   map[string]map[string]string
		want     []want
	}{
		{
			name: "Ingress behind a Classic ELB at its default: the edge limits",
			objects: []Object{
				{Object: obj(t, lbService(`{}`, linked))},
				{Object: obj(t, ingress(nginxAnn, linked)), Evidence: []string{path0 + ": path segment ws"}, Controller: ingressclass.Nginx},
			},
			want: []want{{route: path0, edge: "aws-clb", edgeIdle: 60, effective: 60, limitedBy: "edge", hops: 2}},
		},
		{
			name: "the controller limits when the edge is higher",
			objects: []Object{
				{Object: obj(t, lbService(`{"service.beta.kubernetes.io/aws-load-balancer-connection-idle-timeout":"3600"}`, linked))},
				{Object: obj(t, ingress(`{}`, linked)), Evidence: []string{path0 + ": path segment ws"}, Controller: ingressclass.Nginx},
			},
			want: []want{{route: path0, edge: "aws-clb", edgeIdle: 3600, effective: 60, limitedBy: "controller", hops: 2}},
		},
		{
			name:     "no status link: the policy's provider",
			provider: "azure",
			objects:  []Object{{Object: obj(t, ingress(nginxAnn, `{}`)), Evidence: []string{path0 + ": path segment ws"}, Controller: ingressclass.Nginx}},
			want:     []want{{route: path0, edge: "azure", edgeIdle: 240, effective: 240, limitedBy: "edge", hops: 2}},
		},
		{
			name:     "no status link, auto: the edge is unknown",
			provider: "auto",
			objects:  []Object{{Object: obj(t, ingress(nginxAnn, `{}`)), Evidence: []string{path0 + ": path segment ws"}, Controller: ingressclass.Nginx}},
			want:     []want{{route: path0, edge: "unknown", effective: 3600, limitedBy: "controller", hops: 2}},
		},
		{
			name:    "a WebSocket LoadBalancer Service on GCP: nothing limits",
			objects: []Object{{Object: obj(t, lbService(`{"cloud.google.com/l4-rbs":"enabled"}`, `{}`)), Evidence: []string{"spec.ports[0]: port name ws"}}},
			want:    []want{{route: "spec.ports[0]", edge: "gcp", limitedBy: "none", hops: 1}},
		},
		{
			name: "an ALB Ingress: the ALB is the edge",
			objects: []Object{{Object: obj(t, ingress(`{"alb.ingress.kubernetes.io/load-balancer-attributes":"idle_timeout.timeout_seconds=4000"}`, `{}`)),
				Evidence: []string{path0 + ": path segment ws"}, Controller: ingressclass.ALB}},
			want: []want{{route: path0, edge: "aws-alb", edgeIdle: 4000, effective: 4000, limitedBy: "edge", hops: 1}},
		},
		{
			name:     "a mesh namespace adds a sidecar hop",
			provider: "metallb",
			objects:  []Object{{Object: obj(t, ingress(nginxAnn, `{}`)), Evidence: []string{path0 + ": path segment ws"}, Controller: ingressclass.Nginx}},
			labels:   map[string]map[string]string{"chat": {"istio-injection": "enabled"}},
			want:     []want{{route: path0, edge: "metallb", effective: 3600, limitedBy: "controller", hops: 3}},
		},
		{
			name:    "no evidence, no path",
			objects: []Object{{Object: obj(t, ingress(nginxAnn, `{}`)), Controller: ingressclass.Nginx}},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := Paths(Input{Objects: c.objects, Provider: c.provider, NginxPrefix: "nginx.ingress.kubernetes.io/", NamespaceLabels: c.labels})
			if len(got) != len(c.want) {
				t.Fatalf("%d routes, want %d: %+v", len(got), len(c.want), got)
			}
			for i, w := range c.want {
				r := got[i]
				b, _ := json.Marshal(r)
				if r.Route != w.route || len(r.Hops) != w.hops || r.LimitedBy != w.limitedBy {
					t.Errorf("route %s", b)
				}
				if r.Hops[0].Provider != w.edge || !same(r.Hops[0].IdleSeconds, w.edgeIdle) || !same(r.EffectiveIdleSeconds, w.effective) {
					t.Errorf("route %s", b)
				}
			}
		})
	}
}

func same(p *int64, want int64) bool {
	if want == 0 {
		return p == nil
	}
	return p != nil && *p == want
}
