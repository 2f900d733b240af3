package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
	"github.com/ws-defaults/ws-defaults/webhook/cluster"
	"github.com/ws-defaults/ws-defaults/webhook/evidence"
	"github.com/ws-defaults/ws-defaults/webhook/ingressclass"
	"github.com/ws-defaults/ws-defaults/webhook/policy"
	"github.com/ws-defaults/ws-defaults/webhook/validate"
)

func snapshot() *cluster.Snapshot {
	return &cluster.Snapshot{
		Classes: []ingressclass.Class{{Name: "edge", Controller: ingressclass.Nginx}, {Name: "hap", Controller: ingressclass.HAProxyIngress, Default: true}},
		Namespaces: map[string]metav1.ObjectMeta{
			"chat":   {Labels: map[string]string{"ws-defaults": "enabled"}, Annotations: map[string]string{v1alpha1.IdleTimeoutAnnotation: "7200"}},
			"plain":  {},
			"legacy": {Labels: map[string]string{"ws-defaults": "enabled"}},
			"off":    {Labels: map[string]string{"ws-defaults": "disabled"}},
		},
	}
}

func obj(t *testing.T, namespace, doc string) *Object {
	t.Helper()
	o, err := Decode("CREATE", namespace, []byte(doc), nil)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

const (
	edgeIngress    = `{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"a"},"spec":{"ingressClassName":"edge"}}`
	defaultIngress = `{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"a"},"spec":{}}`
	optOutIngress  = `{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"a","labels":{"ws-defaults":"disabled"}},"spec":{"ingressClassName":"edge"}}`
	optInService   = `{"apiVersion":"v1","kind":"Service","metadata":{"name":"s","labels":{"ws-defaults":"enabled"}},"spec":{}}`
)

func TestPrepare(t *testing.T) {
	gen, err := policy.Compile(v1alpha1.WebSocketPolicySpec{ExcludedNamespaces: []string{"legacy"}}, 2, "test")
	if err != nil {
		t.Fatal(err)
	}
	p := &Pipeline{Policies: policy.NewStore(gen), Cluster: snapshot(), OwnNamespace: "ws-defaults"}
	tests := []struct {
		name, namespace, doc string
		excluded, optedIn    bool
		controller           string
		optedOut             bool
	}{
		{"enabled namespace", "chat", edgeIngress, false, true, ingressclass.Nginx, false},
		{"default IngressClass", "chat", defaultIngress, false, true, ingressclass.HAProxyIngress, false},
		{"namespace not enabled", "plain", edgeIngress, false, false, ingressclass.Nginx, false},
		{"object label opts in", "plain", optInService, false, true, "", false},
		{"object label opts out", "chat", optOutIngress, false, false, ingressclass.Nginx, true},
		{"namespace label opts out", "off", edgeIngress, false, false, ingressclass.Nginx, true},
		{"object label opts in in a disabled namespace", "off", optInService, false, true, "", false},
		{"unknown namespace", "nowhere", edgeIngress, false, false, ingressclass.Nginx, false},
		{"system namespace", "kube-system", optInService, true, false, "", false},
		{"own namespace", "ws-defaults", optInService, true, false, "", false},
		{"excluded by the policy", "legacy", edgeIngress, true, false, ingressclass.Nginx, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := p.Prepare(context.Background(), obj(t, tt.namespace, tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			if c.Excluded != tt.excluded || c.OptedIn != tt.optedIn || c.Controller != tt.controller || c.OptedOut != tt.optedOut {
				t.Errorf("excluded %v optedIn %v controller %q optedOut %v, want %v %v %q %v", c.Excluded, c.OptedIn, c.Controller, c.OptedOut, tt.excluded, tt.optedIn, tt.controller, tt.optedOut)
			}
			if c.Policy != gen {
				t.Error("context does not carry the generation in effect")
			}
		})
	}
}

// TestMutateAppliesNamespaceOverride: the generation's settings with the
// namespace's override on top, and the generation itself untouched.
func TestMutateAppliesNamespaceOverride(t *testing.T) {
	p := &Pipeline{Policies: policy.NewStore(nil), Cluster: snapshot()}
	for _, tt := range []struct{ namespace, want string }{{"chat", "7200"}, {"legacy", "3600"}, {"chat", "7200"}} {
		o := obj(t, tt.namespace, edgeIngress)
		c, err := p.Prepare(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		ops, res, err := p.Mutate(c, o)
		if err != nil || len(ops) == 0 {
			t.Fatalf("%s: ops %v err %v", tt.namespace, ops, err)
		}
		ann := o.Object["metadata"].(map[string]any)["annotations"].(map[string]any)
		if got := ann["nginx.ingress.kubernetes.io/proxy-read-timeout"]; got != tt.want {
			t.Errorf("%s: proxy-read-timeout %v, want %s (added %v)", tt.namespace, got, tt.want, res.Added)
		}
	}
	if got := *p.Policies.Current().Spec.Mutation.IdleTimeoutSeconds; got != v1alpha1.DefaultIdleTimeoutSeconds {
		t.Errorf("a namespace override leaked into the generation: %d", got)
	}
}

func TestMutateSkipsWhatIsNotOptedIn(t *testing.T) {
	p := &Pipeline{Policies: policy.NewStore(nil), Cluster: snapshot()}
	for _, ns := range []string{"plain", "kube-system"} {
		o := obj(t, ns, edgeIngress)
		c, _ := p.Prepare(context.Background(), o)
		ops, res, err := p.Mutate(c, o)
		if err != nil || len(ops) != 0 || res.Controller != ingressclass.Nginx {
			t.Errorf("%s: ops %v res %+v err %v", ns, ops, res, err)
		}
	}
}

// missingReader is an informer cache that has not seen a namespace yet.
type missingReader struct{ client.Reader }

func (missingReader) Get(context.Context, client.ObjectKey, client.Object, ...client.GetOption) error {
	return apierrors.NewNotFound(schema.GroupResource{Resource: "namespaces"}, "new")
}

// apiReader is the API server, which has.
type apiReader struct {
	client.Reader
	labels map[string]string
	err    error
	calls  int
}

func (a *apiReader) Get(_ context.Context, key client.ObjectKey, o client.Object, _ ...client.GetOption) error {
	a.calls++
	if a.err != nil {
		return a.err
	}
	if a.labels == nil {
		return apierrors.NewNotFound(schema.GroupResource{Resource: "namespaces"}, key.Name)
	}
	o.SetLabels(a.labels)
	return nil
}

func (missingReader) List(context.Context, client.ObjectList, ...client.ListOption) error { return nil }

// TestNamespaceCacheMiss: a namespace created a moment ago is not in the
// informer cache yet; it is read from the API server, so its objects are
// opted in from the first request.
func TestNamespaceCacheMiss(t *testing.T) {
	tests := []struct {
		name    string
		api     *apiReader
		optedIn bool
		wantErr bool
	}{
		{"found on the API server", &apiReader{labels: map[string]string{"ws-defaults": "enabled"}}, true, false},
		{"really absent", &apiReader{}, false, false},
		{"API server unreachable", &apiReader{err: errors.New("connection refused")}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Pipeline{Policies: policy.NewStore(nil), Cluster: &cluster.Cached{Client: missingReader{}, APIReader: tt.api}}
			c, err := p.Prepare(context.Background(), obj(t, "new", edgeIngress))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if c.OptedIn != tt.optedIn || tt.api.calls != 1 {
				t.Errorf("optedIn %v (API reads %d), want %v", c.OptedIn, tt.api.calls, tt.optedIn)
			}
		})
	}
	t.Run("without an API reader the cache decides", func(t *testing.T) {
		p := &Pipeline{Policies: policy.NewStore(nil), Cluster: &cluster.Cached{Client: missingReader{}}}
		if c, err := p.Prepare(context.Background(), obj(t, "new", edgeIngress)); err != nil || c.OptedIn {
			t.Errorf("optedIn %v err %v", c.OptedIn, err)
		}
	})
}

func TestDecodeRejectsNonObjects(t *testing.T) {
	for _, raw := range []string{"", `"text"`, `[1]`, `{`} {
		if _, err := Decode("CREATE", "chat", []byte(raw), nil); err == nil {
			t.Errorf("%q decoded", raw)
		}
	}
	if _, err := Decode("UPDATE", "chat", []byte(edgeIngress), []byte(`5`)); err == nil {
		t.Error("a broken oldObject decoded")
	}
}

// TestEvidence: Prepare computes the object's WebSocket evidence once, from
// its own signals and from the Routes index (the request's namespace
// standing in for an empty metadata.namespace), and Mutate acts on it.
func TestEvidence(t *testing.T) {
	gen, err := policy.Compile(v1alpha1.WebSocketPolicySpec{}, 1, "test")
	if err != nil {
		t.Fatal(err)
	}
	routes := evidence.NewSet(evidence.Options{})
	var ing map[string]any
	if err := json.Unmarshal([]byte(`{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"web"},"spec":{"rules":[{"http":{"paths":[{"path":"/ws","backend":{"service":{"name":"web","port":{"name":"app"}}}}]}}]}}`), &ing); err != nil {
		t.Fatal(err)
	}
	routes.Add(ing, "chat")
	p := &Pipeline{Policies: policy.NewStore(gen), Cluster: snapshot(), Routes: routes}
	svc := `{"apiVersion":"v1","kind":"Service","metadata":{"name":"web"},"spec":{"ports":[{"name":"app","port":80},{"name":"metrics","port":9090}]}}`

	o := obj(t, "chat", svc)
	c, err := p.Prepare(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Evidence.Strings(); len(got) != 1 || !strings.HasPrefix(got[0], "spec.ports[0]: Ingress chat/web spec.rules[0].http.paths[0] (path segment ws)") {
		t.Fatalf("evidence = %q", got)
	}
	if _, res, err := p.Mutate(c, o); err != nil || !slices.Contains(res.Added, "spec.ports[0].appProtocol") || slices.Contains(res.Added, "spec.ports[1].appProtocol") {
		t.Errorf("Mutate added %v (err %v): want the hint on the routed port only", res.Added, err)
	}

	// Without the route, the same Service carries no WebSocket and gets nothing.
	p.Routes = nil
	o = obj(t, "chat", svc)
	if c, err = p.Prepare(context.Background(), o); err != nil || c.Evidence.Any() {
		t.Fatalf("evidence without routes = %q (err %v)", c.Evidence.Strings(), err)
	}
	if ops, res, _ := p.Mutate(c, o); len(ops) != 0 {
		t.Errorf("a Service without evidence was mutated: %v", res.Added)
	}

	// Excluded objects get none.
	if c, _ := p.Prepare(context.Background(), obj(t, "kube-system", svc)); c.Evidence != nil {
		t.Errorf("excluded object has evidence %v", c.Evidence)
	}
}

// TestEnforcementFollowsOptIn: a snippet Ingress is denied where its
// namespace opted in, warned about in a plain namespace, and gets nothing
// (no patch, no rule) when labelled disabled; the policy's
// spec.enforcement changes the last two.
func TestEnforcementFollowsOptIn(t *testing.T) {
	engine, err := validate.NewEngine(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	const snippet = `{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"a",%s"annotations":{"nginx.ingress.kubernetes.io/server-snippet":"return 200;"}},"spec":{"ingressClassName":"edge"}}`
	plain, disabled := fmt.Sprintf(snippet, ""), fmt.Sprintf(snippet, `"labels":{"ws-defaults":"disabled"},`)
	for _, tt := range []struct {
		name        string
		enforcement v1alpha1.EnforcementSpec
		namespace   string
		doc         string
		want        v1alpha1.RuleAction // of nginx-snippet-annotation; "" none
	}{
		{"opted-in namespace", v1alpha1.EnforcementSpec{}, "chat", plain, v1alpha1.ActionDeny},
		{"plain namespace", v1alpha1.EnforcementSpec{}, "plain", plain, v1alpha1.ActionWarn},
		{"labelled disabled in an opted-in namespace", v1alpha1.EnforcementSpec{}, "chat", disabled, ""},
		{"labelled disabled in a plain namespace", v1alpha1.EnforcementSpec{}, "plain", disabled, ""},
		{"disabled namespace", v1alpha1.EnforcementSpec{}, "off", plain, ""},
		{"plain namespace, outsideOptIn deny", v1alpha1.EnforcementSpec{OutsideOptIn: v1alpha1.ActionDeny}, "plain", plain, v1alpha1.ActionDeny},
		{"plain namespace, outsideOptIn off", v1alpha1.EnforcementSpec{OutsideOptIn: v1alpha1.ActionOff}, "plain", plain, ""},
		{"labelled disabled, optedOut deny", v1alpha1.EnforcementSpec{OptedOut: v1alpha1.ActionDeny}, "chat", disabled, v1alpha1.ActionDeny},
	} {
		t.Run(tt.name, func(t *testing.T) {
			gen, err := policy.Compile(v1alpha1.WebSocketPolicySpec{Enforcement: tt.enforcement}, 1, "test")
			if err != nil {
				t.Fatal(err)
			}
			p := &Pipeline{Policies: policy.NewStore(gen), Cluster: snapshot(), Rules: engine}
			o := obj(t, tt.namespace, tt.doc)
			c, err := p.Prepare(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			ops, _, err := p.Mutate(c, o)
			if err != nil {
				t.Fatal(err)
			}
			if (len(ops) > 0) != (tt.namespace == "chat" && tt.doc == plain) {
				t.Errorf("patch %v", ops)
			}
			vs, _, err := p.Validate(context.Background(), c, o)
			if err != nil {
				t.Fatal(err)
			}
			var got v1alpha1.RuleAction
			for _, v := range vs {
				if v.Rule == "nginx-snippet-annotation" {
					got = v.Action
				}
			}
			if got != tt.want {
				t.Errorf("nginx-snippet-annotation: %q, want %q (all: %v)", got, tt.want, vs)
			}
			if tt.want == "" && len(vs) > 0 {
				t.Errorf("findings on an object ws-defaults must leave alone: %v", vs)
			}
		})
	}
}
