package validate

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/profiler"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
	"github.com/ws-defaults/ws-defaults/policies"
	"github.com/ws-defaults/ws-defaults/test/gen"
	"github.com/ws-defaults/ws-defaults/webhook/evidence"
	"github.com/ws-defaults/ws-defaults/webhook/ingressclass"
	"github.com/ws-defaults/ws-defaults/webhook/mutate"
	"github.com/ws-defaults/ws-defaults/webhook/scope"
)

// servedInputs are n generated objects (test/gen) as /validate judges them
// in `make bench-serve`: opted-in objects after the webhook's own mutation,
// the controller resolved from the generator's IngressClasses, the
// evidence from the object itself (the benchmark's cluster holds no routes).
func servedInputs(tb testing.TB, seed uint64, n int) []Input {
	tb.Helper()
	var classes []ingressclass.Class
	for name, controller := range gen.IngressClasses {
		classes = append(classes, ingressclass.Class{Name: name, Controller: controller})
	}
	policy := v1alpha1.BuiltinPolicy()
	env := mutate.Env{Policy: policy, IngressClasses: classes}
	nsLabels := map[bool]map[string]string{true: {"ws-defaults": "enabled"}, false: {}}
	var out []Input
	for _, o := range gen.Objects(seed, n) {
		raw, _ := json.Marshal(o.Object)
		obj, err := mutate.Decode(raw)
		if err != nil {
			tb.Fatal(err)
		}
		md, _ := obj["metadata"].(map[string]any)
		m := scope.Of(evidence.StringMap(md["labels"]), nsLabels[o.Namespace == gen.OptedIn])
		if m == scope.In {
			if _, err := mutate.Mutate(obj, env); err != nil {
				tb.Fatal(err)
			}
		}
		// The object as the API server sends it after mutation: decoded
		// from JSON again (no Go-typed values left by the mutation).
		raw, _ = json.Marshal(obj)
		if obj, err = mutate.Decode(raw); err != nil {
			tb.Fatal(err)
		}
		var old map[string]any
		if o.Old != nil {
			rawOld, _ := json.Marshal(o.Old)
			if old, err = mutate.Decode(rawOld); err != nil {
				tb.Fatal(err)
			}
		}
		ev := evidence.Of(obj, nil, evidence.Options{NginxPrefix: policy.NginxAnnotationPrefix, Namespace: o.Namespace})
		controller := ingressclass.ForObject(obj, classes).Controller
		if ev.Gateway != nil {
			controller = strings.Join(ev.Gateway.Controllers, ",")
		}
		out = append(out, Input{Operation: string(o.Operation), Object: obj, OldObject: old, Namespace: o.Namespace,
			NamespaceLabels: nsLabels[o.Namespace == gen.OptedIn], Controller: controller,
			OptedIn: m == scope.In, OptedOut: m == scope.Out, Defaulted: DefaultedKeys(obj), Evidence: ev})
	}
	return out
}

// BenchmarkCatalog evaluates the built-in catalog over 1000 generated
// objects as `make bench-serve`'s /validate sends them (never the same
// object twice in a row); one op is one object.
func BenchmarkCatalog(b *testing.B) {
	inputs := servedInputs(b, 1, 1000)
	policy := v1alpha1.BuiltinPolicy()
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	cpu := processCPU()
	for b.Loop() {
		if _, _, err := engine.Evaluate(ctx, inputs[i%len(inputs)], &policy, nil); err != nil {
			b.Fatal(err)
		}
		i++
	}
	// CPU time (GC included) per object: steadier than the wall time on a
	// shared machine.
	b.ReportMetric(float64(processCPU()-cpu)/float64(i), "cpu-ns/op")
}

// processCPU is the user+system time of this process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestProfileRules says where the catalog's evaluation goes over 1000
// generated objects (servedInputs): the time of each family's violations
// evaluated as a query of its own, and OPA's profiler's most expensive
// expressions (file:line, evaluations, time). Run with
//
//	WS_PROFILE_RULES=1 go test ./webhook/validate/ -run TestProfileRules -v
//
// (WS_PROFILE_RULES=n: n objects; WS_PROFILE_KIND=Ingress: only those;
// WS_PROFILE_TOP=n: the n most expensive expressions, default 40.) It asserts nothing; it is a
// measurement, skipped otherwise.
func TestProfileRules(t *testing.T) {
	n := 0
	if _, err := fmt.Sscan(os.Getenv("WS_PROFILE_RULES"), &n); err != nil || n <= 0 {
		if os.Getenv("WS_PROFILE_RULES") == "" {
			t.Skip("set WS_PROFILE_RULES=1 (or a number of objects) to profile the catalog")
		}
		n = 1000
	}
	if n == 1 {
		n = 1000
	}
	inputs := servedInputs(t, 1, n)
	if kind := os.Getenv("WS_PROFILE_KIND"); kind != "" {
		inputs = slices.DeleteFunc(inputs, func(in Input) bool { return in.Object["kind"] != kind })
	}
	policy := v1alpha1.BuiltinPolicy()
	ctx := context.Background()
	docs := make([]ast.Value, len(inputs))
	kinds := map[string]int{}
	for i, in := range inputs {
		v, err := in.value(&policy)
		if err != nil {
			t.Fatal(err)
		}
		docs[i] = v
		kinds[fmt.Sprint(in.Object["kind"])]++
	}
	t.Logf("%d objects: %v", len(inputs), kinds)

	// The whole catalog, as served.
	start := time.Now()
	for _, in := range inputs {
		if _, _, err := engine.Evaluate(ctx, in, &policy, nil); err != nil {
			t.Fatal(err)
		}
	}
	whole := time.Since(start)
	t.Logf("whole catalog: %v per object", whole/time.Duration(len(inputs)))

	// The fixed cost: an object of a kind no rule reads.
	var bare map[string]any
	_ = json.Unmarshal([]byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","namespace":"chat"}}`), &bare)
	start = time.Now()
	for range 1000 {
		if _, _, err := engine.Evaluate(ctx, Input{Object: bare, Namespace: "chat", OptedIn: true}, &policy, nil); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("a ConfigMap (no rule reads its kind): %v per object", time.Since(start)/1000)

	// Each family alone (lib rules it uses count in it).
	modules, err := policies.Modules()
	if err != nil {
		t.Fatal(err)
	}
	var families []string
	for name := range modules {
		if !strings.HasSuffix(name, "_test.rego") && name != "lib.rego" {
			families = append(families, strings.TrimSuffix(path.Base(name), ".rego"))
		}
	}
	sort.Strings(families)
	type cost struct {
		family string
		d      time.Duration
		fired  int
	}
	var costs []cost
	var sum time.Duration
	for _, f := range families {
		q := prepare(t, "v := data.wsdefaults.rules."+f+".violation[_]", modules)
		fired := 0
		start := time.Now()
		for _, doc := range docs {
			rs, err := q.Eval(ctx, rego.EvalParsedInput(doc))
			if err != nil {
				t.Fatal(err)
			}
			fired += len(rs)
		}
		d := time.Since(start)
		sum += d
		costs = append(costs, cost{f, d, fired})
	}
	slices.SortFunc(costs, func(a, b cost) int { return int(b.d - a.d) })
	t.Logf("%-14s %12s %8s", "family", "per object", "fired")
	for _, c := range costs {
		t.Logf("%-14s %12v %8d", c.family, c.d/time.Duration(len(docs)), c.fired)
	}
	t.Logf("%-14s %12v (families one by one; the whole catalog in one query: %v)", "sum", sum/time.Duration(len(docs)), whole/time.Duration(len(inputs)))

	// OPA's profiler over the whole query.
	q := prepare(t, query, modules)
	p := profiler.New()
	for _, doc := range docs {
		if _, err := q.Eval(ctx, rego.EvalParsedInput(doc), rego.EvalQueryTracer(p)); err != nil {
			t.Fatal(err)
		}
	}
	all := p.ReportTopNResults(0, []string{"total_time_ns"})
	var total time.Duration
	files := map[string]*cost{}
	for _, s := range all {
		c := files[s.Location.File]
		if c == nil {
			c = &cost{family: s.Location.File}
			files[s.Location.File] = c
		}
		c.d += time.Duration(s.ExprTimeNs)
		c.fired += s.NumEval + s.NumRedo
		total += time.Duration(s.ExprTimeNs)
	}
	var byFile []cost
	for _, c := range files {
		byFile = append(byFile, *c)
	}
	slices.SortFunc(byFile, func(a, b cost) int { return int(b.d - a.d) })
	t.Logf("%-32s %10s %14s (profiler, whole query)", "file", "share", "evals+redos")
	for _, c := range byFile {
		t.Logf("%-32s %9.1f%% %14.1f per object", c.family, 100*float64(c.d)/float64(total), float64(c.fired)/float64(len(docs)))
	}
	limit := 40
	if l, err := fmt.Sscan(os.Getenv("WS_PROFILE_TOP"), &limit); l == 0 || err != nil {
		limit = 40
	}
	t.Logf("%-32s %10s %8s %8s", "expression (profiler)", "time", "evals", "redos")
	for _, s := range all[:min(limit, len(all))] {
		t.Logf("%-32s %10v %8d %8d  %s", fmt.Sprintf("%s:%d", s.Location.File, s.Location.Row), time.Duration(s.ExprTimeNs),
			s.NumEval, s.NumRedo, firstLine(string(s.Location.Text)))
	}
}

func prepare(t *testing.T, q string, modules map[string]string) rego.PreparedEvalQuery {
	t.Helper()
	opts := []func(*rego.Rego){rego.Query(q), rego.Capabilities(Capabilities()), rego.SetRegoVersion(ast.RegoV1)}
	for name, src := range modules {
		opts = append(opts, rego.Module("policies/"+name, src))
	}
	pq, err := rego.New(opts...).PrepareForEval(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return pq
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 70 {
		s = s[:70] + "…"
	}
	return s
}
