package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	orv1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
	"github.com/ws-defaults/ws-defaults/webhook/check"
	"github.com/ws-defaults/ws-defaults/webhook/policy"
	"github.com/ws-defaults/ws-defaults/webhook/validate"
)

var (
	engineOnce sync.Once
	engine     *validate.Engine
	engineErr  error
)

func rules(t testing.TB) *validate.Engine {
	t.Helper()
	engineOnce.Do(func() { engine, engineErr = validate.NewEngine(context.Background()) })
	if engineErr != nil {
		t.Fatal(engineErr)
	}
	return engine
}

func scheme(t testing.TB) *runtime.Scheme {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := orv1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}

func namespace(name string, labels map[string]string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
}

func ingress(ns, name string, annotations map[string]string) *networkingv1.Ingress {
	class := "nginx"
	pt := networkingv1.PathTypePrefix
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("uid-" + ns + "-" + name), Annotations: annotations},
		Spec: networkingv1.IngressSpec{
			IngressClassName: &class,
			Rules: []networkingv1.IngressRule{{Host: "ws.example.com", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{{Path: "/ws", PathType: &pt, Backend: networkingv1.IngressBackend{
					Service: &networkingv1.IngressServiceBackend{Name: "chat", Port: networkingv1.ServiceBackendPort{Number: 80}},
				}}},
			}}}},
		},
	}
}

// world is a small cluster: an enabled namespace with an Ingress that
// lacks the defaults (drift) and one with a server snippet (deny), a
// namespace not opted in with a clean Ingress, and kube-system (excluded).
func world(t testing.TB, extra ...client.Object) client.WithWatch {
	objs := []client.Object{
		namespace("chat", map[string]string{v1alpha1.OptInLabel: v1alpha1.OptInEnabled}),
		namespace("other", nil),
		namespace("kube-system", nil),
		&networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "nginx"}, Spec: networkingv1.IngressClassSpec{Controller: "k8s.io/ingress-nginx"}},
		ingress("chat", "drift", nil),
		ingress("chat", "snippet", map[string]string{"nginx.ingress.kubernetes.io/server-snippet": "return 200;"}),
		ingress("other", "plain", nil),
		ingress("kube-system", "system", map[string]string{"nginx.ingress.kubernetes.io/server-snippet": "return 200;"}),
	}
	s := scheme(t)
	return fake.NewClientBuilder().WithScheme(s).WithRESTMapper(mapper(s)).WithObjects(append(objs, extra...)...).Build()
}

// mapper maps every kind of s, as the API server's discovery would.
func mapper(s *runtime.Scheme) meta.RESTMapper {
	m := meta.NewDefaultRESTMapper(nil)
	for gvk := range s.AllKnownTypes() {
		scope := meta.RESTScopeNamespace
		if gvk.Kind == "Namespace" || gvk.Kind == "IngressClass" {
			scope = meta.RESTScopeRoot
		}
		m.Add(gvk, scope)
	}
	return m
}

func auditor(t testing.TB, c client.Client) *Auditor {
	return &Auditor{Reader: c, Mapper: c.RESTMapper(), Policies: policy.NewStore(nil), Rules: rules(t)}
}

func collect(t *testing.T, a *Auditor) (*check.Report, *Stats) {
	t.Helper()
	var col Collect
	stats, err := a.Run(context.Background(), col.Sink)
	if err != nil {
		t.Fatal(err)
	}
	return col.Report(), stats
}

func ruleIDs(vs []check.Violation) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Rule+"/"+string(v.Action))
	}
	slices.Sort(out)
	return out
}

// A pass judges every listed object through the pipeline: drift comes back
// as the patch and a defaults-missing warning, a cluster-scope rule fires
// in any namespace, excluded namespaces are left out, and the summary
// counts as check's does.
func TestPassFindsDriftAndViolations(t *testing.T) {
	rep, stats := collect(t, auditor(t, world(t)))
	got := map[string]check.Result{}
	for _, r := range rep.Results {
		if r.Source != check.SourceCluster {
			t.Errorf("source %q, want cluster", r.Source)
		}
		got[r.Kind+" "+r.Namespace+"/"+r.Name] = r
	}
	if _, ok := got["Ingress kube-system/system"]; ok {
		t.Error("an object in an excluded namespace was audited")
	}
	drift := got["Ingress chat/drift"]
	if !drift.OptedIn || len(drift.Patch) == 0 {
		t.Fatalf("chat/drift: optedIn %v patch %v; want opted in with a patch", drift.OptedIn, drift.Patch)
	}
	if ids := ruleIDs(drift.Violations); !slices.Contains(ids, "defaults-missing/warn") {
		t.Errorf("chat/drift violations %v lack defaults-missing/warn", ids)
	}
	for _, v := range drift.Violations {
		if v.Rule == RuleDefaultsMissing && !strings.Contains(v.Message, "proxy-read-timeout") {
			t.Errorf("defaults-missing message does not list what would be added: %s", v.Message)
		}
	}
	if ids := ruleIDs(got["Ingress chat/snippet"].Violations); !slices.Contains(ids, "nginx-snippet-annotation/deny") {
		t.Errorf("chat/snippet violations %v lack nginx-snippet-annotation/deny", ids)
	}
	plain := got["Ingress other/plain"]
	if plain.OptedIn || len(plain.Patch) != 0 || len(plain.Violations) != 0 {
		t.Errorf("other/plain: optedIn %v patch %v violations %v; want nothing", plain.OptedIn, plain.Patch, plain.Violations)
	}
	if rep.Summary.Objects != 3 || rep.Summary.Denied != 1 || rep.Summary.Mutated != 2 {
		t.Errorf("summary %+v; want 3 objects, 2 mutated, 1 denied", rep.Summary)
	}
	if stats.Objects["Ingress"] != 3 {
		t.Errorf("stats objects %v", stats.Objects)
	}
	if stats.Findings[FindingKey{"nginx-snippet-annotation", "deny"}] != 1 {
		t.Errorf("stats findings %v", stats.Findings)
	}
	if !slices.Contains(stats.Skipped, "*.traefik.containo.us (wildcard)") {
		t.Errorf("wildcard row not reported as skipped: %v", stats.Skipped)
	}
	// The fake client serves no Istio kinds: skipped, not an error.
	if !slices.Contains(stats.Skipped, "DestinationRule.networking.istio.io (not served)") {
		t.Errorf("unserved kinds not skipped: %v", stats.Skipped)
	}
	// The JSON is check's shape.
	var out strings.Builder
	if err := check.Write(&out, "json", rep); err != nil {
		t.Fatal(err)
	}
	var decoded struct {
		Results []map[string]any `json:"results"`
		Summary map[string]int   `json:"summary"`
	}
	if err := json.Unmarshal([]byte(out.String()), &decoded); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"source", "apiVersion", "kind", "namespace", "name", "optedIn", "patch", "violations"} {
		if _, ok := decoded.Results[0][key]; !ok {
			t.Errorf("json result lacks %q", key)
		}
	}
	for _, format := range check.ClusterFormats {
		if err := check.Write(&strings.Builder{}, format, rep); err != nil {
			t.Errorf("-o %s: %v", format, err)
		}
	}
}

// Lists are paged: with a page size of 1 every page asks for Limit 1 and
// follows Continue, and every object is still judged once.
func TestPassListsInPages(t *testing.T) {
	var mu sync.Mutex
	limits := map[int64]int{}
	base := world(t)
	c := interceptor.NewClient(base, interceptor.Funcs{List: func(ctx context.Context, cl client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
		o := (&client.ListOptions{}).ApplyOptions(opts)
		mu.Lock()
		limits[o.Limit]++
		mu.Unlock()
		return cl.List(ctx, list, opts...)
	}})
	a := auditor(t, c)
	a.PageSize = 1
	a.Workers = 3
	rep, _ := collect(t, a)
	if rep.Summary.Objects != 3 {
		t.Errorf("%d objects judged, want 3", rep.Summary.Objects)
	}
	if limits[0] != 0 {
		t.Errorf("%d unpaged lists: %v", limits[0], limits)
	}
	if limits[1] == 0 {
		t.Errorf("no list with the page size: %v", limits)
	}
}

// -n limits the pass to the given namespaces.
func TestPassNamespaces(t *testing.T) {
	a := auditor(t, world(t))
	a.Namespaces = []string{"other"}
	rep, _ := collect(t, a)
	if len(rep.Results) != 1 || rep.Results[0].Name != "plain" {
		t.Errorf("results %v; want other/plain only", rep.Results)
	}
}

// A list the cluster refuses fails the pass (exit 2 in `webhook audit`).
func TestPassListError(t *testing.T) {
	c := interceptor.NewClient(world(t), interceptor.Funcs{List: func(ctx context.Context, cl client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
		if _, ok := list.(*networkingv1.IngressClassList); ok {
			return fmt.Errorf("forbidden")
		}
		return cl.List(ctx, list, opts...)
	}})
	if _, err := auditor(t, c).Run(context.Background(), (&Collect{}).Sink); err == nil || !strings.Contains(err.Error(), "IngressClasses") {
		t.Errorf("err %v; want the IngressClasses list error", err)
	}
}

// The policy in effect decides: a rule set to off no longer fires.
func TestPassUsesPolicy(t *testing.T) {
	gen, err := policy.Compile(v1alpha1.WebSocketPolicySpec{Rules: map[string]v1alpha1.RuleSetting{"nginx-snippet-annotation": {Action: v1alpha1.ActionOff}}}, 1, "test")
	if err != nil {
		t.Skipf("policy spec shape: %v", err)
	}
	a := auditor(t, world(t))
	a.Policies = policy.NewStore(gen)
	rep, _ := collect(t, a)
	if rep.Summary.Denied != 0 {
		t.Errorf("denied %d with the rule off", rep.Summary.Denied)
	}
}
