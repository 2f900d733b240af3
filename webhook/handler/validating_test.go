package handler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	"sigs.k8s.io/yaml"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
	"github.com/ws-defaults/ws-defaults/webhook/cluster"
	"github.com/ws-defaults/ws-defaults/webhook/ingressclass"
	"github.com/ws-defaults/ws-defaults/webhook/mutate"
	"github.com/ws-defaults/ws-defaults/webhook/pipeline"
	"github.com/ws-defaults/ws-defaults/webhook/policy"
	"github.com/ws-defaults/ws-defaults/webhook/validate"
)

var engine *validate.Engine

func TestMain(m *testing.M) {
	var err error
	if engine, err = validate.NewEngine(context.Background()); err != nil {
		panic(err)
	}
	m.Run()
}

// validating is the /validate handler over c with spec as the policy.
func validating(t testing.TB, c cluster.Reader, spec v1alpha1.WebSocketPolicySpec) *Validating {
	t.Helper()
	gen, err := policy.Compile(spec, 1, "test")
	if err != nil {
		t.Fatal(err)
	}
	return &Validating{Pipeline: &pipeline.Pipeline{Policies: policy.NewStore(gen), Cluster: c, Rules: engine, OwnNamespace: "ws-defaults"}}
}

func snapshot() *cluster.Snapshot {
	return &cluster.Snapshot{
		Classes: []ingressclass.Class{{Name: "nginx", Controller: ingressclass.Nginx}, {Name: "hap", Controller: ingressclass.HAProxyIngress}},
		Namespaces: map[string]metav1.ObjectMeta{
			"chat":  {Labels: map[string]string{"ws-defaults": "enabled"}},
			"plain": {},
		},
	}
}

const nginx = "nginx.ingress.kubernetes.io/"

// ingress returns an Ingress of class nginx with TLS and the given
// annotations; compliant as it stands (tls-required is satisfied).
func ingress(class string, annotations map[string]string) string {
	b, _ := json.Marshal(annotations)
	return `{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"ws","annotations":` + string(b) + `},
"spec":{"ingressClassName":"` + class + `","tls":[{"hosts":["ws.example.com"],"secretName":"t"}],
"rules":[{"host":"ws.example.com","http":{"paths":[{"path":"/","pathType":"Prefix","backend":{"service":{"name":"ws","port":{"number":80}}}}]}}]}}`
}

// disabled labels the Ingress obj ws-defaults=disabled.
func disabled(obj string) string {
	return strings.Replace(obj, `"metadata":{"name":"ws",`, `"metadata":{"name":"ws","labels":{"ws-defaults":"disabled"},`, 1)
}

func request(t testing.TB, op admissionv1.Operation, namespace, obj string) []byte {
	t.Helper()
	r := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID: "u", Operation: op, Namespace: namespace,
			Kind:   metav1.GroupVersionKind{Group: "networking.k8s.io", Version: "v1", Kind: "Ingress"},
			Object: runtime.RawExtension{Raw: []byte(obj)},
		},
	}
	if op == admissionv1.Update {
		r.Request.OldObject = runtime.RawExtension{Raw: []byte(ingress("nginx", nil))}
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func handle(t testing.TB, h admission.Handler, body []byte) *admissionv1.AdmissionResponse {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/validate", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	(&admission.Webhook{Handler: h}).ServeHTTP(rec, req)
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Response == nil {
		t.Fatalf("bad answer: %s", rec.Body.Bytes())
	}
	return out.Response
}

func TestHandlerActions(t *testing.T) {
	snippet := map[string]string{nginx + "server-snippet": "return 200;"}
	tests := []struct {
		name      string
		rules     map[string]v1alpha1.RuleSetting
		op        admissionv1.Operation
		namespace string
		obj       string
		allowed   bool
		denyHas   []string // each must appear in the denial, in order
		warnHas   []string
		// enforcement is the policy's spec.enforcement.
		enforcement v1alpha1.EnforcementSpec
	}{
		{name: "compliant object", namespace: "chat", obj: ingress("nginx", nil), allowed: true},
		{name: "deny names rule, field and fix", namespace: "chat", obj: ingress("nginx", snippet),
			denyHas: []string{"nginx-snippet-annotation (metadata.annotations[nginx.ingress.kubernetes.io/server-snippet]): ", "Remove the annotation"}},
		{name: "deny on update too", op: admissionv1.Update, namespace: "chat", obj: ingress("nginx", snippet),
			denyHas: []string{"nginx-snippet-annotation ("}},
		// Outside opt-in a cluster-scope rule acts at most as
		// spec.enforcement.outsideOptIn (default warn); an object labelled
		// disabled gets nothing unless spec.enforcement.optedOut says so.
		{name: "cluster-scope deny is a warning outside opt-in", namespace: "plain", obj: ingress("nginx", snippet),
			allowed: true, warnHas: []string{"nginx-snippet-annotation (metadata.annotations[nginx.ingress.kubernetes.io/server-snippet]): "}},
		{name: "cluster-scope deny outside opt-in when the policy says so", namespace: "plain", obj: ingress("nginx", snippet),
			enforcement: v1alpha1.EnforcementSpec{OutsideOptIn: v1alpha1.ActionDeny}, denyHas: []string{"nginx-snippet-annotation ("}},
		{name: "labelled disabled gets nothing", namespace: "chat", obj: disabled(ingress("nginx", snippet)), allowed: true},
		{name: "labelled disabled warned when the policy says so", namespace: "plain", obj: disabled(ingress("nginx", snippet)),
			enforcement: v1alpha1.EnforcementSpec{OptedOut: v1alpha1.ActionWarn}, allowed: true, warnHas: []string{"nginx-snippet-annotation ("}},
		{name: "several denials, one per line, with the warnings alongside", namespace: "chat",
			obj:     ingress("nginx", map[string]string{nginx + "server-snippet": "x", nginx + "proxy-read-timeout": "3600s", nginx + "proxy-connect-timeout": "3600"}),
			denyHas: []string{"nginx-snippet-annotation (", "\nnginx-timeout-format (metadata.annotations[nginx.ingress.kubernetes.io/proxy-read-timeout]): ", `"3600"`},
			warnHas: []string{"nginx-connect-timeout-range ("}},
		{name: "warn is a warning, not a denial", namespace: "chat", obj: ingress("nginx", map[string]string{nginx + "proxy-connect-timeout": "3600"}),
			allowed: true, warnHas: []string{"nginx-connect-timeout-range (metadata.annotations[nginx.ingress.kubernetes.io/proxy-connect-timeout]): "}},
		{name: "audit is neither", rules: map[string]v1alpha1.RuleSetting{"nginx-snippet-annotation": {Action: v1alpha1.ActionAudit}},
			namespace: "plain", obj: ingress("nginx", snippet), allowed: true},
		{name: "off is off", rules: map[string]v1alpha1.RuleSetting{"nginx-snippet-annotation": {Action: v1alpha1.ActionOff}},
			namespace: "plain", obj: ingress("nginx", snippet), allowed: true},
		{name: "warn by policy", rules: map[string]v1alpha1.RuleSetting{"nginx-snippet-annotation": {Action: v1alpha1.ActionWarn}},
			namespace: "plain", obj: ingress("nginx", snippet), allowed: true, warnHas: []string{"nginx-snippet-annotation ("}},
		{name: "opted-in rule skipped where nobody opted in", namespace: "plain",
			obj: ingress("nginx", map[string]string{nginx + "proxy-read-timeout": "3600s"}), allowed: true},
		{name: "opted-in rule made cluster-wide by policy", rules: map[string]v1alpha1.RuleSetting{"nginx-timeout-format": {Scope: v1alpha1.ScopeCluster}},
			namespace: "plain", obj: ingress("nginx", map[string]string{nginx + "proxy-read-timeout": "3600s"}), allowed: true, warnHas: []string{"nginx-timeout-format ("}},
		{name: "excluded namespace", namespace: "kube-system", obj: ingress("nginx", snippet), allowed: true},
		{name: "policy-excluded namespace", namespace: "plain", obj: ingress("nginx", snippet), allowed: true,
			rules: map[string]v1alpha1.RuleSetting{}},
		{name: "delete is not judged", op: admissionv1.Delete, namespace: "plain", obj: ingress("nginx", snippet), allowed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := v1alpha1.WebSocketPolicySpec{Rules: tt.rules, Enforcement: tt.enforcement}
			if tt.name == "policy-excluded namespace" {
				spec.ExcludedNamespaces = []string{"plain"}
			}
			op := tt.op
			if op == "" {
				op = admissionv1.Create
			}
			resp := handle(t, validating(t, snapshot(), spec), request(t, op, tt.namespace, tt.obj))
			if resp.Allowed != tt.allowed {
				t.Fatalf("allowed = %v, want %v (%v)", resp.Allowed, tt.allowed, resp.Result)
			}
			if !tt.allowed {
				msg := resp.Result.Message
				pos := 0
				for _, want := range tt.denyHas {
					i := strings.Index(msg[pos:], want)
					if i < 0 {
						t.Fatalf("denial %q lacks %q (after position %d)", msg, want, pos)
					}
					pos += i + len(want)
				}
				if resp.Result.Code != http.StatusForbidden {
					t.Errorf("code = %d", resp.Result.Code)
				}
			}
			warnings := strings.Join(resp.Warnings, "\n")
			for _, want := range tt.warnHas {
				if !strings.Contains(warnings, want) {
					t.Errorf("warnings %q lack %q", warnings, want)
				}
			}
			if len(tt.warnHas) == 0 && warnings != "" {
				t.Errorf("unexpected warnings %q", warnings)
			}
		})
	}
}

// TestJudgedAfterMutation runs an object through the mutation first, as
// the API server does, and shows the rules see the result: haproxy-ingress's
// default cookie keywords lack "secure", which the mutation adds.
func TestJudgedAfterMutation(t *testing.T) {
	raw := ingress("hap", map[string]string{"haproxy-ingress.github.io/affinity": "cookie"})
	h := validating(t, snapshot(), v1alpha1.WebSocketPolicySpec{})
	before := handle(t, h, request(t, admissionv1.Create, "chat", raw))
	if !strings.Contains(strings.Join(before.Warnings, "\n"), "sticky-cookie-insecure") {
		t.Fatalf("the unmutated object should warn: %v", before.Warnings)
	}
	obj, err := mutate.Decode([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if ops, _, err := mutate.PatchDecoded([]byte(raw), obj, mutate.Env{Policy: v1alpha1.BuiltinPolicy(), IngressClasses: snapshot().Classes}); err != nil || len(ops) == 0 {
		t.Fatalf("mutation: %v %v", ops, err)
	}
	mutated, _ := json.Marshal(obj)
	after := handle(t, h, request(t, admissionv1.Create, "chat", string(mutated)))
	if !after.Allowed || len(after.Warnings) != 0 {
		t.Errorf("after mutation: allowed %v, warnings %v", after.Allowed, after.Warnings)
	}
}

type failingCluster struct{ cluster.Snapshot }

func (failingCluster) IngressClasses(context.Context) ([]ingressclass.Class, error) {
	return nil, errors.New("cache not synced")
}

func TestHandlerFailure(t *testing.T) {
	f := &failingCluster{Snapshot: *snapshot()}
	h := validating(t, f, v1alpha1.WebSocketPolicySpec{})
	optedIn := handle(t, h, request(t, admissionv1.Create, "chat", ingress("nginx", nil)))
	if optedIn.Allowed || !strings.Contains(optedIn.Result.Message, "cache not synced") {
		t.Errorf("opted-in object must fail closed with the reason: %+v", optedIn.Result)
	}
	other := handle(t, h, request(t, admissionv1.Create, "plain", ingress("nginx", nil)))
	if !other.Allowed || !strings.Contains(strings.Join(other.Warnings, ""), "rules not checked") {
		t.Errorf("other objects must fail open with a warning: %+v %v", other.Result, other.Warnings)
	}
	bad := handle(t, h, request(t, admissionv1.Create, "plain", `"not an object"`))
	if bad.Allowed || bad.Result.Code != http.StatusBadRequest {
		t.Errorf("malformed object: %+v", bad.Result)
	}
}

// BenchmarkValidateHandler times a whole /validate request. The baseline
// is a request for an excluded namespace: the same review decoding and
// encoding without any rule evaluation.
func BenchmarkValidateHandler(b *testing.B) {
	h := validating(b, snapshot(), v1alpha1.WebSocketPolicySpec{})
	svc, _ := yaml.YAMLToJSON([]byte("apiVersion: v1\nkind: Service\nmetadata: {name: ws}\nspec:\n  ports: [{name: websocket, port: 8080, appProtocol: http}]\n  sessionAffinity: ClientIP\n"))
	cases := []struct{ name, namespace, obj string }{
		{"baseline-excluded-namespace", "ws-defaults", ingress("nginx", nil)},
		{"ingress-compliant", "chat", ingress("nginx", map[string]string{nginx + "proxy-read-timeout": "3600"})},
		{"ingress-3-violations", "chat", ingress("nginx", map[string]string{nginx + "server-snippet": "x", nginx + "proxy-read-timeout": "3600s", nginx + "proxy-connect-timeout": "3600"})},
		{"service", "chat", string(svc)},
	}
	for _, c := range cases {
		body := request(b, admissionv1.Create, c.namespace, c.obj)
		b.Run(c.name, func(b *testing.B) { benchServe(b, h, "/validate", body) })
	}
}
