package mutate

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"sigs.k8s.io/yaml"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
	"github.com/ws-defaults/ws-defaults/webhook/evidence"
	"github.com/ws-defaults/ws-defaults/webhook/ingressclass"
)

// run mutates the YAML object through Patch, applies the patch to the
// original JSON the way the API server does, checks the invariants every
// mutation must keep, and returns the stored object.
func run(t *testing.T, doc string, env Env) (map[string]any, Result) {
	t.Helper()
	raw, err := yaml.YAMLToJSON([]byte(doc))
	if err != nil {
		t.Fatalf("bad test YAML: %v", err)
	}
	ops, res, err := Patch(raw, env)
	if err != nil {
		t.Fatalf("Patch: %v", err)
	}
	for _, op := range ops {
		if op.Operation != "add" && op.Operation != "replace" {
			t.Errorf("patch holds a %q operation at %s; only add/replace are allowed", op.Operation, op.Path)
		}
	}
	out := applyOps(t, raw, ops)
	// Idempotent: mutating the result again changes nothing.
	again, _, err := Patch(out, env)
	if err != nil {
		t.Fatalf("second Patch: %v", err)
	}
	if len(again) != 0 {
		t.Errorf("second mutation is not empty: %v", again)
	}
	var obj map[string]any
	if err := json.Unmarshal(out, &obj); err != nil {
		t.Fatal(err)
	}
	return obj, res
}

func applyOps(t *testing.T, raw []byte, ops any) []byte {
	t.Helper()
	b, err := json.Marshal(ops)
	if err != nil {
		t.Fatal(err)
	}
	p, err := jsonpatch.DecodePatch(b)
	if err != nil {
		t.Fatalf("decode patch: %v", err)
	}
	out, err := p.Apply(raw)
	if err != nil {
		t.Fatalf("apply patch %s: %v", b, err)
	}
	return out
}

func annotationsOf(obj map[string]any) map[string]string {
	return evidence.StringMap(nested(obj, "metadata", "annotations"))
}

var builtin = Env{Policy: v1alpha1.BuiltinPolicy()}

func withEvidence(ev *evidence.Evidence) Env {
	e := builtin
	e.Evidence = ev
	return e
}

func withClasses(classes ...ingressclass.Class) Env {
	e := builtin
	e.IngressClasses = classes
	return e
}

const nginx = "nginx.ingress.kubernetes.io/"

// ingressYAML is an Ingress of class whose one path, /ws, is WebSocket by
// its name.
func ingressYAML(class string, annotations map[string]string, tls bool) string {
	return ingressPathYAML(class, annotations, tls, "/ws")
}

func ingressPathYAML(class string, annotations map[string]string, tls bool, path string) string {
	var b strings.Builder
	b.WriteString("apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: ws\n  namespace: chat\n")
	if len(annotations) > 0 {
		b.WriteString("  annotations:\n")
		for k, v := range annotations {
			b.WriteString("    " + k + ": '" + v + "'\n")
		}
	}
	b.WriteString("spec:\n")
	if class != "" {
		b.WriteString("  ingressClassName: " + class + "\n")
	}
	if tls {
		b.WriteString("  tls:\n  - hosts: [ws.example.com]\n    secretName: ws-tls\n")
	}
	b.WriteString("  futureField: {kept: 1}\n  rules:\n  - host: ws.example.com\n    http:\n      paths:\n      - path: " + path + "\n        pathType: Prefix\n        backend: {service: {name: ws, port: {number: 8080}}}\n")
	return b.String()
}

func TestIngressByController(t *testing.T) {
	custom := ingressclass.Class{Name: "edge", Controller: ingressclass.Nginx}
	tests := []struct {
		name        string
		env         Env
		class       string
		annotations map[string]string
		tls         bool
		controller  string
		want        map[string]string // annotations that must hold these values after mutation
		absent      []string          // annotations that must not exist after mutation
		warning     string            // text one warning must contain ("": no warnings)
	}{
		{
			name: "ingress-nginx by well-known class name", env: builtin, class: "nginx",
			controller: ingressclass.Nginx,
			want: map[string]string{
				nginx + "proxy-read-timeout": "3600", nginx + "proxy-send-timeout": "3600",
				nginx + "affinity": "cookie", nginx + "affinity-mode": "persistent",
				nginx + "session-cookie-name": "ws-server", nginx + "session-cookie-max-age": "86400",
				nginx + "session-cookie-samesite": "Lax",
			},
			absent: []string{nginx + "proxy-connect-timeout", nginx + "session-cookie-secure", nginx + "session-cookie-path", ingressclass.LegacyClassAnnotation},
		},
		{
			name: "ingress-nginx via a custom IngressClass, TLS and regex paths", env: withClasses(custom), class: "edge",
			annotations: map[string]string{nginx + "use-regex": "true"}, tls: true,
			controller: ingressclass.Nginx,
			want:       map[string]string{nginx + "session-cookie-secure": "true", nginx + "session-cookie-path": "/"},
		},
		{
			name: "ingress-nginx keeps user values", env: builtin, class: "nginx",
			annotations: map[string]string{nginx + "proxy-read-timeout": "3600s", nginx + "session-cookie-samesite": "None"},
			controller:  ingressclass.Nginx,
			want:        map[string]string{nginx + "proxy-read-timeout": "3600s", nginx + "proxy-send-timeout": "3600", nginx + "session-cookie-samesite": "None"},
		},
		{
			name: "ingress-nginx with upstream-hash-by gets no cookie affinity", env: builtin, class: "nginx",
			annotations: map[string]string{nginx + "upstream-hash-by": "$remote_addr"},
			controller:  ingressclass.Nginx,
			want:        map[string]string{nginx + "proxy-read-timeout": "3600"},
			absent:      []string{nginx + "affinity", nginx + "session-cookie-name"},
		},
		{
			name: "ingress-nginx by legacy annotation with a custom prefix", class: "",
			env: func() Env {
				e := builtin
				e.Policy.NginxAnnotationPrefix = "custom.io"
				return e
			}(),
			annotations: map[string]string{ingressclass.LegacyClassAnnotation: "nginx"},
			controller:  ingressclass.Nginx,
			want:        map[string]string{"custom.io/proxy-read-timeout": "3600"},
			absent:      []string{nginx + "proxy-read-timeout"},
		},
		{
			name: "default IngressClass", env: withClasses(ingressclass.Class{Name: "x", Controller: ingressclass.Nginx, Default: true}),
			controller: ingressclass.Nginx,
			want:       map[string]string{nginx + "proxy-send-timeout": "3600"},
		},
		{
			name: "haproxy-ingress with TLS", env: withClasses(ingressclass.Class{Name: "hi", Controller: ingressclass.HAProxyIngress + "/internal"}),
			class: "hi", tls: true, controller: ingressclass.HAProxyIngress + "/internal",
			want: map[string]string{
				haproxyIngressPrefix + "timeout-tunnel": "1h", haproxyIngressPrefix + "balance-algorithm": "leastconn",
				haproxyIngressPrefix + "affinity": "cookie", haproxyIngressPrefix + "session-cookie-name": "ws-server",
				haproxyIngressPrefix + "session-cookie-keywords": "indirect nocache httponly secure",
			},
		},
		{
			name: "haproxy-ingress honours the legacy prefix and plain HTTP", env: builtin, class: "haproxy-ingress",
			annotations: map[string]string{"ingress.kubernetes.io/timeout-tunnel": "2h"},
			controller:  ingressclass.HAProxyIngress,
			want:        map[string]string{"ingress.kubernetes.io/timeout-tunnel": "2h"},
			absent:      []string{haproxyIngressPrefix + "timeout-tunnel", haproxyIngressPrefix + "session-cookie-keywords"},
		},
		{
			name: "haproxytech", env: builtin, class: "haproxy", controller: ingressclass.HAProxyTech,
			want:   map[string]string{"haproxy.org/load-balance": "leastconn"},
			absent: []string{"haproxy.org/timeout-tunnel"},
		},
		{
			name: "haproxytech keeps an equivalent prefix", env: builtin, class: "haproxy", controller: ingressclass.HAProxyTech,
			annotations: map[string]string{"haproxy.com/load-balance": "roundrobin"},
			absent:      []string{"haproxy.org/load-balance"},
		},
		{
			name: "ALB merges into existing attributes", env: builtin, class: "alb", controller: ingressclass.ALB,
			annotations: map[string]string{albPrefix + "load-balancer-attributes": "deletion_protection.enabled=true", albPrefix + "target-type": "ip"},
			want: map[string]string{
				albPrefix + "load-balancer-attributes": "deletion_protection.enabled=true,idle_timeout.timeout_seconds=3600",
				albPrefix + "target-group-attributes":  "stickiness.enabled=true,stickiness.type=lb_cookie,stickiness.lb_cookie.duration_seconds=86400",
			},
		},
		{
			name: "ALB keeps a user idle timeout and skips stickiness for instance targets", env: builtin, class: "alb", controller: ingressclass.ALB,
			annotations: map[string]string{albPrefix + "load-balancer-attributes": "idle_timeout.timeout_seconds=600"},
			want:        map[string]string{albPrefix + "load-balancer-attributes": "idle_timeout.timeout_seconds=600"},
			absent:      []string{albPrefix + "target-group-attributes"},
		},
		{
			name: "ALB caps the idle timeout at the 4000 s AWS accepts", class: "alb", controller: ingressclass.ALB,
			env:     withPolicy(func(p *v1alpha1.WebSocketPolicySpec) { p.Mutation.IdleTimeoutSeconds = ptr(int32(7200)) }),
			want:    map[string]string{albPrefix + "load-balancer-attributes": "idle_timeout.timeout_seconds=4000"},
			warning: "above the ALB maximum of 4000 s",
		},
		{
			name: "ALB IngressGroup member gets the policy's idle timeout", env: builtin, class: "alb", controller: ingressclass.ALB,
			annotations: map[string]string{albPrefix + "group.name": "shared"},
			want:        map[string]string{albPrefix + "load-balancer-attributes": "idle_timeout.timeout_seconds=3600"},
		},
		{
			name: "ALB IngressGroup member in a namespace that overrides the idle timeout gets none", class: "alb", controller: ingressclass.ALB,
			env: func() Env {
				e := builtin
				e.NamespaceAnnotations = map[string]string{v1alpha1.IdleTimeoutAnnotation: "600"}
				return e
			}(),
			annotations: map[string]string{albPrefix + "group.name": "shared"},
			absent:      []string{albPrefix + "load-balancer-attributes"},
			warning:     `IngressGroup "shared"`,
		},
		{
			name: "ALB IngressGroup: a member setting another idle timeout blocks ours (the index knows the group)", class: "alb", controller: ingressclass.ALB,
			env: withEvidence(&evidence.Evidence{ALBGroup: &evidence.ALBGroup{Name: "shared", Members: []evidence.ALBMember{
				{Ingress: "other/a", Attributes: map[string]string{"idle_timeout.timeout_seconds": "3600"}},
				{Ingress: "other/b", Attributes: map[string]string{"idle_timeout.timeout_seconds": "120"}},
			}}}),
			annotations: map[string]string{albPrefix + "group.name": "shared"},
			absent:      []string{albPrefix + "load-balancer-attributes"},
			warning:     "member other/b sets idle_timeout.timeout_seconds=120",
		},
		{
			name: "ALB IngressGroup: a namespace override is fine when no known member disagrees", class: "alb", controller: ingressclass.ALB,
			env: func() Env {
				e := withEvidence(&evidence.Evidence{ALBGroup: &evidence.ALBGroup{Name: "shared", Members: []evidence.ALBMember{
					{Ingress: "other/a", Attributes: map[string]string{"deletion_protection.enabled": "true"}},
				}}})
				e.NamespaceAnnotations = map[string]string{v1alpha1.IdleTimeoutAnnotation: "600"}
				return e
			}(),
			annotations: map[string]string{albPrefix + "group.name": "shared"},
			want:        map[string]string{albPrefix + "load-balancer-attributes": "idle_timeout.timeout_seconds=600"},
		},
		{
			name: "ALB ip targets: no stickiness when a backend Service sets its own target-group-attributes", class: "alb", controller: ingressclass.ALB,
			env: withEvidence(&evidence.Evidence{OwnTargetGroupAttributes: []string{"chat/chat"},
				Items: []evidence.Item{{Field: "spec.rules[0].http.paths[0]", Reason: "path segment ws"}}}),
			annotations: map[string]string{albPrefix + "target-type": "ip"},
			want:        map[string]string{albPrefix + "load-balancer-attributes": "idle_timeout.timeout_seconds=3600"},
			absent:      []string{albPrefix + "target-group-attributes"},
			warning:     "Service chat/chat sets its own target-group-attributes",
		},
		{
			name: "ALB without a group follows the namespace override", class: "alb", controller: ingressclass.ALB,
			env: func() Env {
				e := builtin
				e.NamespaceAnnotations = map[string]string{v1alpha1.IdleTimeoutAnnotation: "600"}
				return e
			}(),
			want: map[string]string{albPrefix + "load-balancer-attributes": "idle_timeout.timeout_seconds=600"},
		},
		{
			name: "ingress-nginx at risk level Low leaves out the Medium-risk keys", class: "nginx", controller: ingressclass.Nginx,
			env:         withPolicy(func(p *v1alpha1.WebSocketPolicySpec) { p.NginxAnnotationsRiskLevel = "Low" }),
			annotations: map[string]string{nginx + "use-regex": "true"}, tls: true,
			want: map[string]string{
				nginx + "proxy-read-timeout": "3600", nginx + "proxy-send-timeout": "3600", nginx + "affinity": "cookie",
				nginx + "session-cookie-samesite": "Lax", nginx + "session-cookie-secure": "true",
			},
			absent: []string{
				nginx + "affinity-mode", nginx + "session-cookie-name", nginx + "session-cookie-max-age", nginx + "session-cookie-path",
			},
			warning: nginx + "affinity-mode, " + nginx + "session-cookie-name, " + nginx + "session-cookie-max-age, " + nginx + "session-cookie-path",
		},
		{
			name: "ingress-nginx at risk level Medium gets every key", class: "nginx", controller: ingressclass.Nginx,
			env:         withPolicy(func(p *v1alpha1.WebSocketPolicySpec) { p.NginxAnnotationsRiskLevel = "Medium" }),
			annotations: map[string]string{nginx + "use-regex": "true"},
			want: map[string]string{
				nginx + "affinity-mode": "persistent", nginx + "session-cookie-name": "ws-server",
				nginx + "session-cookie-max-age": "86400", nginx + "session-cookie-path": "/",
			},
		},
		{
			name: "ingress-nginx at risk level Low names only the keys it left out", class: "nginx", controller: ingressclass.Nginx,
			env:         withPolicy(func(p *v1alpha1.WebSocketPolicySpec) { p.NginxAnnotationsRiskLevel = "Low" }),
			annotations: map[string]string{nginx + "session-cookie-name": "mine"},
			want:        map[string]string{nginx + "session-cookie-name": "mine", nginx + "affinity": "cookie"},
			absent:      []string{nginx + "affinity-mode", nginx + "session-cookie-max-age"},
			warning:     "not added: " + nginx + "affinity-mode, " + nginx + "session-cookie-max-age: ",
		},
		{
			name: "Traefik gets nothing on the Ingress", env: builtin, class: "traefik", controller: ingressclass.Traefik,
			absent: []string{v1alpha1.DefaultedAnnotation},
		},
		{
			name: "unknown controller gets nothing", env: builtin, class: "mystery",
			absent: []string{v1alpha1.DefaultedAnnotation, nginx + "proxy-read-timeout"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj, res := run(t, ingressYAML(tt.class, tt.annotations, tt.tls), tt.env)
			if res.Controller != tt.controller {
				t.Errorf("controller = %q, want %q", res.Controller, tt.controller)
			}
			got := annotationsOf(obj)
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("annotation %s = %q, want %q", k, got[k], v)
				}
			}
			for _, k := range tt.absent {
				if _, ok := got[k]; ok {
					t.Errorf("annotation %s = %q, want it absent", k, got[k])
				}
			}
			for k, v := range tt.annotations {
				if _, merged := tt.want[k]; !merged && got[k] != v {
					t.Errorf("user annotation %s changed to %q (was %q)", k, got[k], v)
				}
			}
			switch {
			case tt.warning == "" && len(res.Warnings) > 0:
				t.Errorf("unexpected warnings %q", res.Warnings)
			case tt.warning != "" && (len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], tt.warning)):
				t.Errorf("warnings = %q, want one containing %q", res.Warnings, tt.warning)
			}
			if nested(obj, "spec", "futureField", "kept") != float64(1) {
				t.Errorf("unknown field spec.futureField was lost: %v", obj["spec"])
			}
			// Every added key is recorded, and only added keys are.
			recorded := evidence.SplitList(got[v1alpha1.DefaultedAnnotation])
			if len(recorded) != len(res.Added) {
				t.Errorf("%s = %v, want %v", v1alpha1.DefaultedAnnotation, recorded, res.Added)
			}
			for _, k := range recorded {
				if _, user := tt.annotations[strings.Split(k, "[")[0]]; user && !strings.Contains(k, "[") {
					t.Errorf("user annotation %s recorded as defaulted", k)
				}
			}
		})
	}
}

func withPolicy(f func(*v1alpha1.WebSocketPolicySpec)) Env {
	e := builtin
	e.Policy = v1alpha1.BuiltinPolicy()
	f(&e.Policy)
	return e
}

func ptr[T any](v T) *T { return &v }

// TestALBIdleTimeoutWithinAWSRange: whatever the idle timeout (1 s to the
// policy's 7-day maximum), what we add to an ALB Ingress is one AWS accepts
// (1–4000 s), so our own alb-idle-timeout-range rule never fires on it.
func TestALBIdleTimeoutWithinAWSRange(t *testing.T) {
	for _, idle := range []int32{1, 59, 60, 3600, 3999, 4000, 4001, 7200, 86400, v1alpha1.MaxIdleTimeoutSeconds} {
		env := withPolicy(func(p *v1alpha1.WebSocketPolicySpec) { p.Mutation.IdleTimeoutSeconds = ptr(idle) })
		obj, res := run(t, ingressYAML("alb", nil, false), env)
		want := min(idle, 4000)
		got := annotationsOf(obj)[albPrefix+"load-balancer-attributes"]
		if got != "idle_timeout.timeout_seconds="+strconv.Itoa(int(want)) {
			t.Errorf("idle %d: load-balancer-attributes = %q, want idle_timeout.timeout_seconds=%d", idle, got, want)
		}
		if (idle > 4000) != (len(res.Warnings) == 1) {
			t.Errorf("idle %d: warnings %q", idle, res.Warnings)
		}
	}
}

func serviceYAML(extraMeta, spec string) string {
	return "apiVersion: v1\nkind: Service\nmetadata:\n  name: ws\n  namespace: chat\n" + extraMeta + "spec:\n" + spec
}

func TestService(t *testing.T) {
	tests := []struct {
		name         string
		env          Env
		meta, spec   string
		appProtocols []any // per port, nil = absent
		affinity     string
		timeout      any
		want         map[string]string
		absent       []string
	}{
		{
			name:         "ws port gets the hint and ClientIP affinity",
			env:          builtin,
			spec:         "  sessionAffinity: None\n  ports:\n  - {name: websocket, port: 8080}\n  - {name: metrics, port: 9090}\n  - {name: http-ws, port: 80}\n  - {name: chat-ws, port: 81}\n",
			appProtocols: []any{"http", nil, nil, "http"},
			affinity:     "ClientIP", timeout: float64(10800),
		},
		{
			name:         "ports listed by annotation, by name or number; wss is TLS; UDP left alone",
			env:          builtin,
			meta:         "  annotations:\n    ws-defaults.io/websocket-ports: 'events, 9000'\n",
			spec:         "  ports:\n  - {name: events, port: 8080}\n  - {name: raw, port: 9000}\n  - {name: wss, port: 8443}\n  - {name: ws-udp, port: 53, protocol: UDP}\n  - {name: other, port: 1}\n",
			appProtocols: []any{"http", "http", "kubernetes.io/wss", nil, nil},
			affinity:     "ClientIP", timeout: float64(10800),
		},
		{
			name:         "a labelled Service marks every unnamed-protocol port; user appProtocol kept",
			env:          builtin,
			meta:         "  labels: {ws-defaults: enabled}\n",
			spec:         "  ports:\n  - {name: app, port: 8080}\n  - {name: grpc-api, port: 9000}\n  - {name: h, port: 1, appProtocol: kubernetes.io/h2c}\n",
			appProtocols: []any{"http", nil, "kubernetes.io/h2c"},
			affinity:     "ClientIP", timeout: float64(10800),
		},
		{
			name:         "headless Service gets no affinity",
			env:          builtin,
			spec:         "  clusterIP: None\n  ports:\n  - {name: ws, port: 8080}\n",
			appProtocols: []any{"http"},
		},
		{
			name:     "ExternalName Service gets no affinity",
			env:      builtin,
			spec:     "  type: ExternalName\n  externalName: example.com\n",
			affinity: "",
		},
		{
			name:     "user ClientIP timeout kept",
			env:      builtin,
			spec:     "  sessionAffinity: ClientIP\n  sessionAffinityConfig: {clientIP: {timeoutSeconds: 600}}\n  ports:\n  - {port: 8080}\n",
			affinity: "ClientIP", timeout: float64(600),
			appProtocols: []any{nil},
		},
		{
			name: "Traefik, haproxytech and Kong classes add their Service annotations",
			env: withClasses(ingressclass.Class{Name: "t", Controller: ingressclass.Traefik},
				ingressclass.Class{Name: "h", Controller: ingressclass.HAProxyTech},
				ingressclass.Class{Name: "k", Controller: ingressclass.Kong}),
			spec:     "  ports:\n  - {name: ws, port: 8080}\n",
			affinity: "ClientIP", timeout: float64(10800), appProtocols: []any{"http"},
			want: map[string]string{
				traefikServicePrefix + "sticky.cookie": "true", traefikServicePrefix + "sticky.cookie.name": "ws-server",
				traefikServicePrefix + "sticky.cookie.secure": "true", traefikServicePrefix + "sticky.cookie.httponly": "true",
				traefikServicePrefix + "sticky.cookie.samesite": "lax",
				"haproxy.org/cookie-persistence":                "ws-server", "haproxy.org/load-balance": "leastconn",
				"konghq.com/read-timeout": "3600000", "konghq.com/write-timeout": "3600000",
			},
		},
		{
			name: "a user's sticky choice and cookie-persistence-no-dynamic are respected",
			env: withClasses(ingressclass.Class{Name: "t", Controller: ingressclass.Traefik},
				ingressclass.Class{Name: "h", Controller: ingressclass.HAProxyTech}),
			meta:     "  annotations:\n    traefik.ingress.kubernetes.io/service.sticky.cookie: 'false'\n    haproxy.com/cookie-persistence-no-dynamic: mine\n",
			spec:     "  ports:\n  - {name: ws, port: 8080}\n",
			affinity: "ClientIP", timeout: float64(10800), appProtocols: []any{"http"},
			absent: []string{traefikServicePrefix + "sticky.cookie.name", "haproxy.org/cookie-persistence"},
		},
		{
			name: "sticky.cookie: True is on to Traefik: its settings are completed",
			env:  withClasses(ingressclass.Class{Name: "t", Controller: ingressclass.Traefik}),
			meta: "  annotations:\n    traefik.ingress.kubernetes.io/service.sticky.cookie: 'True'\n",
			spec: "  ports:\n  - {name: ws, port: 8080}\n", affinity: "ClientIP", timeout: float64(10800), appProtocols: []any{"http"},
			want: map[string]string{traefikServicePrefix + "sticky.cookie": "True", traefikServicePrefix + "sticky.cookie.secure": "true"},
		},
		{
			name: "no WebSocket port: no hint, no ClientIP, no controller annotations",
			env: withClasses(ingressclass.Class{Name: "t", Controller: ingressclass.Traefik},
				ingressclass.Class{Name: "k", Controller: ingressclass.Kong}),
			spec:     "  sessionAffinity: None\n  ports:\n  - {name: http, port: 80}\n  - {name: api, port: 8080}\n",
			affinity: "None", appProtocols: []any{nil, nil},
			absent: []string{traefikServicePrefix + "sticky.cookie", kongPrefix + "read-timeout"},
		},
		{
			name:     "ws-defaults.io/websocket: false wins over a ws port name",
			env:      builtin,
			meta:     "  annotations:\n    ws-defaults.io/websocket: 'false'\n",
			spec:     "  sessionAffinity: None\n  ports:\n  - {name: ws, port: 80}\n",
			affinity: "None", appProtocols: []any{nil},
		},
		{
			name:     "ws-defaults.io/websocket: true marks every port",
			env:      builtin,
			meta:     "  annotations:\n    ws-defaults.io/websocket: 'true'\n",
			spec:     "  ports:\n  - {name: app, port: 80}\n  - {name: admin, port: 81}\n",
			affinity: "ClientIP", timeout: float64(10800), appProtocols: []any{"http", "http"},
		},
		{
			name:     "appProtocol kubernetes.io/ws is evidence: affinity, the user's appProtocol kept",
			env:      builtin,
			spec:     "  ports:\n  - {name: app, port: 80, appProtocol: kubernetes.io/ws}\n  - {name: api, port: 81}\n",
			affinity: "ClientIP", timeout: float64(10800), appProtocols: []any{"kubernetes.io/ws", nil},
		},
		{
			name: "cross-object evidence from the pipeline: a port named http that a WebSocket route targets",
			env: func() Env {
				e := builtin
				e.Evidence = &evidence.Evidence{Items: []evidence.Item{{Field: "spec.ports[1]", Reason: "Ingress chat/web spec.rules[0].http.paths[0] (path segment ws) sends traffic to port app"}}}
				return e
			}(),
			spec:     "  ports:\n  - {name: metrics, port: 9090}\n  - {name: app, port: 8080}\n",
			affinity: "ClientIP", timeout: float64(10800), appProtocols: []any{nil, "http"},
		},
		{
			name:     "sessionAffinity None in kubectl apply's last-applied-configuration is the user's: kept",
			env:      builtin,
			meta:     "  annotations:\n    kubectl.kubernetes.io/last-applied-configuration: '{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"spec\":{\"sessionAffinity\":\"None\",\"ports\":[{\"name\":\"ws\",\"port\":80}]}}'\n",
			spec:     "  sessionAffinity: None\n  ports:\n  - {name: ws, port: 80}\n",
			affinity: "None", appProtocols: []any{"http"},
		},
		{
			name:     "last-applied-configuration without sessionAffinity: the None is the API server's default",
			env:      builtin,
			meta:     "  annotations:\n    kubectl.kubernetes.io/last-applied-configuration: '{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"spec\":{\"ports\":[{\"name\":\"ws\",\"port\":80}]}}'\n",
			spec:     "  sessionAffinity: None\n  ports:\n  - {name: ws, port: 80}\n",
			affinity: "ClientIP", timeout: float64(10800), appProtocols: []any{"http"},
		},
		{
			name:     "sessionAffinity owned by a server-side apply manager: kept",
			env:      builtin,
			meta:     "  managedFields:\n  - manager: argocd-controller\n    operation: Apply\n    apiVersion: v1\n    fieldsType: FieldsV1\n    fieldsV1: {'f:spec': {'f:ports': {}, 'f:sessionAffinity': {}}}\n",
			spec:     "  sessionAffinity: None\n  ports:\n  - {name: ws, port: 80}\n",
			affinity: "None", appProtocols: []any{"http"},
		},
		{
			name:     "sessionAffinity owned by an Update manager only (it owns the defaults too): replaced",
			env:      builtin,
			meta:     "  managedFields:\n  - manager: kubectl-create\n    operation: Update\n    apiVersion: v1\n    fieldsType: FieldsV1\n    fieldsV1: {'f:spec': {'f:sessionAffinity': {}}}\n  - manager: helm\n    operation: Apply\n    apiVersion: v1\n    fieldsType: FieldsV1\n    fieldsV1: {'f:spec': {'f:ports': {}}}\n",
			spec:     "  sessionAffinity: None\n  ports:\n  - {name: ws, port: 80}\n",
			affinity: "ClientIP", timeout: float64(10800), appProtocols: []any{"http"},
		},
		{
			name: "affinity off in the policy",
			env: func() Env {
				e := withClasses(ingressclass.Class{Name: "t", Controller: ingressclass.Traefik})
				off := false
				e.Policy.Mutation.ServiceAffinity.Enabled = &off
				e.Policy.Mutation.Affinity.Enabled = &off
				return e
			}(),
			spec: "  sessionAffinity: None\n  ports:\n  - {port: 8080}\n", affinity: "None", appProtocols: []any{nil},
			absent: []string{traefikServicePrefix + "sticky.cookie"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj, _ := run(t, serviceYAML(tt.meta, tt.spec), tt.env)
			ports, _ := nested(obj, "spec", "ports").([]any)
			for i, want := range tt.appProtocols {
				got := ports[i].(map[string]any)["appProtocol"]
				if got != want {
					t.Errorf("port %d appProtocol = %v, want %v", i, got, want)
				}
				if name := ports[i].(map[string]any)["name"]; name == nil && strings.Contains(tt.spec, "name:") {
					t.Errorf("port %d lost its name", i)
				}
			}
			if got, _ := nested(obj, "spec", "sessionAffinity").(string); got != tt.affinity {
				t.Errorf("sessionAffinity = %q, want %q", got, tt.affinity)
			}
			if got := nested(obj, "spec", "sessionAffinityConfig", "clientIP", "timeoutSeconds"); got != tt.timeout {
				t.Errorf("timeoutSeconds = %v, want %v", got, tt.timeout)
			}
			got := annotationsOf(obj)
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("annotation %s = %q, want %q", k, got[k], v)
				}
			}
			for _, k := range tt.absent {
				if _, ok := got[k]; ok {
					t.Errorf("annotation %s present, want absent", k)
				}
			}
		})
	}
}

func TestMeshObjects(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		path []string
		want any
	}{
		{"DestinationRule v1 gets DO_NOT_UPGRADE", "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: d}\nspec:\n  host: ws\n",
			[]string{"spec", "trafficPolicy", "connectionPool", "http", "h2UpgradePolicy"}, "DO_NOT_UPGRADE"},
		{"DestinationRule v1beta1 keeps the user's UPGRADE and other pool settings", "apiVersion: networking.istio.io/v1beta1\nkind: DestinationRule\nmetadata: {name: d}\nspec:\n  host: ws\n  trafficPolicy: {connectionPool: {http: {h2UpgradePolicy: UPGRADE, maxRetries: 3}}}\n",
			[]string{"spec", "trafficPolicy", "connectionPool", "http", "h2UpgradePolicy"}, "UPGRADE"},
		{"DestinationRule v1alpha3 keeps sibling fields", "apiVersion: networking.istio.io/v1alpha3\nkind: DestinationRule\nmetadata: {name: d}\nspec:\n  host: ws\n  trafficPolicy: {connectionPool: {tcp: {maxConnections: 7}}}\n",
			[]string{"spec", "trafficPolicy", "connectionPool", "tcp", "maxConnections"}, float64(7)},
		{"HTTPProxy WebSocket route gets websockets and an infinite response timeout", contourYAML,
			[]string{"spec", "routes", "1", "timeoutPolicy", "response"}, "infinity"},
		{"HTTPProxy WebSocket route gets the idle timeout", contourYAML,
			[]string{"spec", "routes", "1", "timeoutPolicy", "idle"}, "3600s"},
		{"HTTPProxy WebSocket route gets enableWebsockets", contourYAML,
			[]string{"spec", "routes", "1", "enableWebsockets"}, true},
		{"HTTPProxy plain route keeps Envoy's timeouts", contourYAML,
			[]string{"spec", "routes", "0", "timeoutPolicy"}, nil},
		{"HTTPProxy plain route gets no enableWebsockets", contourYAML,
			[]string{"spec", "routes", "0", "enableWebsockets"}, nil},
		{"HTTPProxy route the user switched on gets the timeouts", contourYAML,
			[]string{"spec", "routes", "2", "timeoutPolicy", "idle"}, "3600s"},
		{"HTTPProxy annotated route gets the timeouts", "apiVersion: projectcontour.io/v1\nkind: HTTPProxy\nmetadata: {name: p, annotations: {ws-defaults.io/websocket: 'true'}}\nspec:\n  routes:\n  - services: [{name: app, port: 80}]\n",
			[]string{"spec", "routes", "0", "timeoutPolicy", "response"}, "infinity"},
		{"HTTPProxy route marked non-WebSocket keeps Envoy's timeout", "apiVersion: projectcontour.io/v1\nkind: HTTPProxy\nmetadata: {name: p}\nspec:\n  routes:\n  - enableWebsockets: false\n    conditions: [{prefix: /ws}]\n    services: [{name: ws, port: 80}]\n",
			[]string{"spec", "routes", "0", "timeoutPolicy"}, nil},
		{"HTTPProxy keeps a user response timeout", "apiVersion: projectcontour.io/v1\nkind: HTTPProxy\nmetadata: {name: p}\nspec:\n  routes:\n  - conditions: [{prefix: /socket.io}]\n    timeoutPolicy: {response: 1h}\n",
			[]string{"spec", "routes", "0", "timeoutPolicy", "response"}, "1h"},
		{"BackendConfig gets timeoutSec", "apiVersion: cloud.google.com/v1\nkind: BackendConfig\nmetadata: {name: b}\nspec: {}\n",
			[]string{"spec", "timeoutSec"}, float64(3600)},
		{"BackendConfig keeps the user's timeoutSec", "apiVersion: cloud.google.com/v1beta1\nkind: BackendConfig\nmetadata: {name: b}\nspec: {timeoutSec: 40}\n",
			[]string{"spec", "timeoutSec"}, float64(40)},
		{"other kinds are left alone", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {replicas: 1}\n",
			[]string{"metadata", "annotations"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj, _ := run(t, tt.doc, builtin)
			if got := pathValue(obj, tt.path); got != tt.want {
				t.Errorf("%s = %#v, want %#v", strings.Join(tt.path, "."), got, tt.want)
			}
		})
	}
}

// contourYAML has a REST route, a WebSocket route by path, and a route the
// user switched to WebSocket.
const contourYAML = `apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: {name: p}
spec:
  routes:
  - conditions: [{prefix: /api}]
    services: [{name: api, port: 80}]
  - conditions: [{prefix: /cable}]
    services: [{name: web, port: 80}]
  - enableWebsockets: true
    services: [{name: live, port: 80}]
`

// pathValue walks maps and, for numeric segments, lists.
func pathValue(obj any, path []string) any {
	cur := obj
	for _, p := range path {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[p]
		case []any:
			i := 0
			for _, r := range p {
				i = i*10 + int(r-'0')
			}
			if i >= len(c) {
				return nil
			}
			cur = c[i]
		default:
			return nil
		}
	}
	return cur
}

func TestNamespaceOverrides(t *testing.T) {
	env := builtin
	env.NamespaceAnnotations = map[string]string{v1alpha1.IdleTimeoutAnnotation: "7200", v1alpha1.AffinityAnnotation: "off"}
	obj, res := run(t, ingressYAML("haproxy-ingress", nil, true), env)
	got := annotationsOf(obj)
	if got[haproxyIngressPrefix+"timeout-tunnel"] != "2h" {
		t.Errorf("timeout-tunnel = %q, want 2h", got[haproxyIngressPrefix+"timeout-tunnel"])
	}
	if _, ok := got[haproxyIngressPrefix+"affinity"]; ok {
		t.Error("affinity added although the namespace turned it off")
	}
	if len(res.Warnings) != 0 {
		t.Errorf("unexpected warnings %v", res.Warnings)
	}

	env.NamespaceAnnotations = map[string]string{v1alpha1.IdleTimeoutAnnotation: "1h", v1alpha1.AffinityAnnotation: "maybe"}
	obj, res = run(t, ingressYAML("nginx", nil, false), env)
	if got := annotationsOf(obj)[nginx+"proxy-read-timeout"]; got != "3600" {
		t.Errorf("a malformed override must fall back to the policy: got %q", got)
	}
	if len(res.Warnings) != 2 || !strings.Contains(res.Warnings[0], v1alpha1.IdleTimeoutAnnotation) {
		t.Errorf("want one warning per malformed override, got %v", res.Warnings)
	}

	// Beyond the policy's 7 days: HAProxy would refuse its whole
	// configuration for 720h (its timers end at about 24.8 days).
	env.NamespaceAnnotations = map[string]string{v1alpha1.IdleTimeoutAnnotation: "2592000"}
	obj, res = run(t, ingressYAML("haproxy-ingress", nil, false), env)
	if got := annotationsOf(obj)[haproxyIngressPrefix+"timeout-tunnel"]; got != "1h" {
		t.Errorf("an override beyond 7 days must fall back to the policy: timeout-tunnel = %q, want 1h", got)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "from 1 to 604800") {
		t.Errorf("want a warning naming the range, got %v", res.Warnings)
	}

	env.NamespaceAnnotations = map[string]string{v1alpha1.IdleTimeoutAnnotation: "90"}
	obj, _ = run(t, ingressYAML("haproxy-ingress", nil, false), env)
	if got := annotationsOf(obj)[haproxyIngressPrefix+"timeout-tunnel"]; got != "90s" {
		t.Errorf("timeout-tunnel = %q, want 90s", got)
	}
}

func TestDefaultedAnnotationMerges(t *testing.T) {
	doc := ingressYAML("nginx", map[string]string{v1alpha1.DefaultedAnnotation: "earlier-key"}, false)
	obj, _ := run(t, doc, builtin)
	rec := annotationsOf(obj)[v1alpha1.DefaultedAnnotation]
	if !strings.HasPrefix(rec, "earlier-key,"+nginx+"proxy-read-timeout") {
		t.Errorf("%s = %q: earlier entries must be kept and new ones appended", v1alpha1.DefaultedAnnotation, rec)
	}
}

func TestBadInput(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		wantErr string
		warn    string
	}{
		{"not JSON", "{nope", "not a JSON object", ""},
		{"a JSON list", "[1,2]", "not a JSON object", ""},
		{"null", "null", "empty", ""},
		{"no kind", `{"apiVersion":"v1"}`, "no kind", ""},
		{"metadata is a string", `{"apiVersion":"v1","kind":"Service","metadata":"x"}`, "metadata is not an object", ""},
		{"annotations is a list", `{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"annotations":["a"]},"spec":{"ingressClassName":"nginx"}}`, "", "not a map"},
		{"odd annotation values", `{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"annotations":{"nginx.ingress.kubernetes.io/proxy-read-timeout":3600,"x":null,"y":{"z":1}}},"spec":{"ingressClassName":"nginx"}}`, "", ""},
		{"spec is a list", `{"apiVersion":"v1","kind":"Service","spec":[1]}`, "", ""},
		{"ports hold junk", `{"apiVersion":"v1","kind":"Service","spec":{"ports":[1,"a",null,{"name":7,"port":"x"}]}}`, "", ""},
		{"routes hold junk", `{"apiVersion":"projectcontour.io/v1","kind":"HTTPProxy","spec":{"routes":[null,3,{"conditions":[{"prefix":"/ws"}],"timeoutPolicy":"x"}]}}`, "", "not an object"},
		{"trafficPolicy is a string", `{"apiVersion":"networking.istio.io/v1","kind":"DestinationRule","spec":{"trafficPolicy":"x"}}`, "", "not an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ops, res, err := Patch([]byte(tt.raw), builtin)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if tt.warn != "" && !strings.Contains(strings.Join(res.Warnings, "\n"), tt.warn) {
				t.Errorf("warnings %v, want one containing %q", res.Warnings, tt.warn)
			}
			if len(ops) > 0 {
				applyOps(t, []byte(tt.raw), ops)
			}
		})
	}
}

func TestUserNumberAnnotationIsNotOverwritten(t *testing.T) {
	// Offline YAML may hold an unquoted number; it still counts as set.
	raw := `{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"annotations":{"nginx.ingress.kubernetes.io/proxy-read-timeout":7200}},"spec":{"ingressClassName":"nginx"}}`
	ops, _, err := Patch([]byte(raw), builtin)
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range ops {
		if strings.Contains(op.Path, "proxy-read-timeout") {
			t.Errorf("patch touches the user's value: %v", op)
		}
	}
}

// TestIngressNegativeEvidence: opting in is enough for the Ingress-level
// annotations, but an Ingress that carries no WebSocket (gRPC-only,
// ssl-passthrough) gets none, unless an explicit signal says otherwise.
func TestIngressNegativeEvidence(t *testing.T) {
	tests := []struct {
		name        string
		class       string
		annotations map[string]string
		want        bool // proxy-read-timeout / timeout-tunnel added
	}{
		{"plain opted-in Ingress gets the annotations", "nginx", nil, true},
		{"gRPC backend protocol gets none", "nginx", map[string]string{nginx + "backend-protocol": "GRPC"}, false},
		{"GRPCS, any case, gets none", "nginx", map[string]string{nginx + "backend-protocol": "grpcs"}, false},
		{"ssl-passthrough gets none", "nginx", map[string]string{nginx + "ssl-passthrough": "true"}, false},
		{"haproxy-ingress ssl-passthrough gets none", "haproxy-ingress", map[string]string{haproxyIngressPrefix + "ssl-passthrough": "true"}, false},
		{"HTTPS backend is not negative", "nginx", map[string]string{nginx + "backend-protocol": "HTTPS"}, true},
		{"explicit true outweighs gRPC", "nginx", map[string]string{nginx + "backend-protocol": "GRPC", evidence.Annotation: "true"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj, res := run(t, ingressYAML(tt.class, tt.annotations, false), builtin)
			got := annotationsOf(obj)
			_, nginxAdded := got[nginx+"proxy-read-timeout"]
			_, haproxyAdded := got[haproxyIngressPrefix+"timeout-tunnel"]
			if added := nginxAdded || haproxyAdded; added != tt.want {
				t.Errorf("annotations added = %v, want %v (added %v)", added, tt.want, res.Added)
			}
			if !tt.want && len(res.Added) != 0 {
				t.Errorf("added %v to an Ingress with negative evidence", res.Added)
			}
		})
	}
}

// TestIngressAffinityNeedsEvidence: idle timeouts go on every opted-in
// Ingress not marked ws-defaults.io/websocket: "false", but settings that change which backend gets a request or add a
// cookie (cookie affinity, leastconn, ALB stickiness) only on an Ingress
// with WebSocket evidence on some route.
func TestIngressAffinityNeedsEvidence(t *testing.T) {
	ip := map[string]string{albPrefix + "target-type": "ip"}
	tests := []struct {
		class      string
		extra      map[string]string
		timeouts   []string // added on every opted-in Ingress
		behavioral []string // added only with WebSocket evidence
	}{
		{"nginx", nil, []string{nginx + "proxy-read-timeout", nginx + "proxy-send-timeout"},
			[]string{nginx + "affinity", nginx + "affinity-mode", nginx + "session-cookie-name", nginx + "session-cookie-samesite"}},
		{"haproxy-ingress", nil, []string{haproxyIngressPrefix + "timeout-tunnel"},
			[]string{haproxyIngressPrefix + "balance-algorithm", haproxyIngressPrefix + "affinity", haproxyIngressPrefix + "session-cookie-name"}},
		{"haproxy", nil, nil, []string{"haproxy.org/load-balance"}},
		{"alb", ip, []string{albPrefix + "load-balancer-attributes"}, []string{albPrefix + "target-group-attributes"}},
	}
	for _, tt := range tests {
		for _, c := range []struct {
			name string
			path string
			ann  map[string]string
			ws   bool
		}{
			{"REST path", "/api", nil, false},
			{"catch-all path", "/", nil, false},
			{"WebSocket path", "/socket.io", nil, true},
			{"REST path marked WebSocket", "/", map[string]string{evidence.Annotation: "true"}, true},
			{"WebSocket path marked not WebSocket", "/ws", map[string]string{evidence.Annotation: "false"}, false},
		} {
			t.Run(tt.class+"/"+c.name, func(t *testing.T) {
				ann := map[string]string{}
				for k, v := range tt.extra {
					ann[k] = v
				}
				for k, v := range c.ann {
					ann[k] = v
				}
				obj, res := run(t, ingressPathYAML(tt.class, ann, true, c.path), builtin)
				got := annotationsOf(obj)
				off := c.ann[evidence.Annotation] == "false"
				for _, k := range tt.timeouts {
					if _, ok := got[k]; ok == off {
						t.Errorf("%s present = %v, want %v (added %v)", k, ok, !off, res.Added)
					}
				}
				for _, k := range tt.behavioral {
					if _, ok := got[k]; ok != c.ws {
						t.Errorf("%s present = %v, want %v (added %v)", k, ok, c.ws, res.Added)
					}
				}
			})
		}
	}
}

// TestNginxSessionCookiePath: where ingress-nginx treats the paths as regex
// (use-regex true, or a rewrite-target that differs from a path) and cookie
// affinity is on, ours or the user's, the cookie's Path is set to "/":
// without it the Path is the regex string, which browsers never send back.
func TestNginxSessionCookiePath(t *testing.T) {
	tests := []struct {
		name    string
		path    string
		ann     map[string]string
		env     Env
		want    bool
		warning string
	}{
		{"use-regex true with our affinity", "/ws", map[string]string{nginx + "use-regex": "true"}, builtin, true, ""},
		{"use-regex True (Go boolean) with our affinity", "/ws", map[string]string{nginx + "use-regex": "True"}, builtin, true, ""},
		{"use-regex false", "/ws", map[string]string{nginx + "use-regex": "false"}, builtin, false, ""},
		{"rewrite-target with a capture-group path", "/chat/ws(/|$)(.*)", map[string]string{nginx + "rewrite-target": "/ws/$2"}, builtin, true, ""},
		{"rewrite-target equal to the path is no rewrite", "/ws", map[string]string{nginx + "rewrite-target": "/ws"}, builtin, false, ""},
		{"the user's affinity on a REST Ingress with use-regex", "/api/v[0-9]+", map[string]string{nginx + "use-regex": "true", nginx + "affinity": "cookie"}, builtin, true, ""},
		{"no affinity on a REST Ingress with use-regex", "/api/v[0-9]+", map[string]string{nginx + "use-regex": "true"}, builtin, false, ""},
		{"the user's own cookie path is kept", "/ws", map[string]string{nginx + "use-regex": "true", nginx + "session-cookie-path": "/ws"}, builtin, false, ""},
		{"the user's hash keeps affinity off", "/ws", map[string]string{nginx + "use-regex": "true", nginx + "upstream-hash-by": "$remote_addr"}, builtin, false, ""},
		{"risk level Low leaves it out and says so", "/api(/|$)(.*)", map[string]string{nginx + "rewrite-target": "/$2", nginx + "affinity": "cookie", nginx + "affinity-mode": "balanced"},
			withPolicy(func(p *v1alpha1.WebSocketPolicySpec) { p.NginxAnnotationsRiskLevel = "Low" }), false, nginx + "session-cookie-path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj, res := run(t, ingressPathYAML("nginx", tt.ann, false, `"`+tt.path+`"`), tt.env)
			got, ok := annotationsOf(obj)[nginx+"session-cookie-path"]
			if user, set := tt.ann[nginx+"session-cookie-path"]; set {
				if got != user {
					t.Errorf("user session-cookie-path changed to %q", got)
				}
			} else if ok != tt.want || (ok && got != "/") {
				t.Errorf("session-cookie-path = %q (present %v), want present %v", got, ok, tt.want)
			}
			if tt.warning != "" && !slices.ContainsFunc(res.Warnings, func(w string) bool { return strings.Contains(w, tt.warning) }) {
				t.Errorf("warnings %q, want one naming %s", res.Warnings, tt.warning)
			}
		})
	}
}
