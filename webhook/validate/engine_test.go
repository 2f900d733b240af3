package validate

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
	"github.com/ws-defaults/ws-defaults/policies"
	"github.com/ws-defaults/ws-defaults/test/gen"
	"github.com/ws-defaults/ws-defaults/webhook/evidence"
	"github.com/ws-defaults/ws-defaults/webhook/ingressclass"
)

var engine *Engine

func TestMain(m *testing.M) {
	var err error
	if engine, err = NewEngine(context.Background()); err != nil {
		panic(err)
	}
	m.Run()
}

const nginx = "nginx.ingress.kubernetes.io/"

// ingress returns an Ingress of the given class with TLS and annotations.
func ingress(class string, annotations map[string]string) string {
	b, _ := json.Marshal(annotations)
	return `{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"ws","annotations":` + string(b) + `},
"spec":{"ingressClassName":"` + class + `","tls":[{"hosts":["ws.example.com"],"secretName":"t"}],
"rules":[{"host":"ws.example.com","http":{"paths":[{"path":"/","pathType":"Prefix","backend":{"service":{"name":"ws","port":{"number":80}}}}]}}]}}`
}

// FuzzEvaluate builds the rule input from arbitrary JSON objects: the
// engine must answer without error (the rules guard every field they read).
func FuzzEvaluate(f *testing.F) {
	f.Add([]byte(ingress("nginx", map[string]string{nginx + "proxy-read-timeout": "3600s"})))
	f.Add([]byte(`{"apiVersion":"v1","kind":"Service","metadata":{"annotations":{"traefik.ingress.kubernetes.io/service.sticky.cookie.maxage":"x"}},"spec":{"ports":[{"name":"grpc-ws","port":1}],"sessionAffinityConfig":{"clientIP":{"timeoutSeconds":"a"}}}}`))
	f.Add([]byte(`{"apiVersion":"networking.istio.io/v1","kind":"DestinationRule","spec":{"subsets":[{"trafficPolicy":{"portLevelSettings":[{"loadBalancer":{"simple":"X","consistentHash":{"httpCookie":{}}}}]}}]}}`))
	f.Add([]byte(`{"apiVersion":"networking.istio.io/v1","kind":"VirtualService","spec":{"http":[{"timeout":"0s"},{"timeout":5},null]}}`))
	f.Add([]byte(`{"apiVersion":"v1","kind":"Service","metadata":{"annotations":{"service.beta.kubernetes.io/aws-load-balancer-connection-idle-timeout":"1h","service.beta.kubernetes.io/aws-load-balancer-listener-attributes.TCP-1":"x"}},"spec":{"type":"LoadBalancer","sessionAffinity":"ClientIP","ports":[{"name":"ws","port":1}]}}`))
	f.Add([]byte(`{"apiVersion":"projectcontour.io/v1","kind":"HTTPProxy","spec":{"routes":[{"enableWebsockets":true,"timeoutPolicy":{"response":"1x"}}]}}`))
	policy := v1alpha1.BuiltinPolicy()
	f.Fuzz(func(t *testing.T, raw []byte) {
		var obj map[string]any
		if json.Unmarshal(raw, &obj) != nil || obj == nil {
			return
		}
		for _, optedIn := range []bool{true, false} {
			in := Input{Object: obj, Namespace: "chat", OptedIn: optedIn, Controller: ingressclass.Nginx, Defaulted: DefaultedKeys(obj)}
			if _, _, err := engine.Evaluate(context.Background(), in, &policy, nil); err != nil {
				t.Fatalf("Evaluate: %v", err)
			}
		}
	})
}

var jsonUnmarshal = json.Unmarshal

// TestEvidenceInInput: the pipeline's WebSocket evidence reaches the rules
// as input.evidence; a "breaks WebSocket" rule fires on the port with
// evidence only, and its message names the evidence.
func TestEvidenceInInput(t *testing.T) {
	var obj map[string]any
	if err := json.Unmarshal([]byte(`{"apiVersion":"v1","kind":"Service","metadata":{"name":"live"},"spec":{"ports":[{"name":"grpc-api","port":9000},{"name":"http2-live","port":8080}]}}`), &obj); err != nil {
		t.Fatal(err)
	}
	policy := v1alpha1.BuiltinPolicy()
	in := Input{Object: obj, Namespace: "chat", OptedIn: true}
	vs, _, err := engine.Evaluate(context.Background(), in, &policy, nil)
	if err != nil || len(vs) != 0 {
		t.Fatalf("without evidence: %v (err %v), want none", vs, err)
	}
	in.Evidence = &evidence.Evidence{Items: []evidence.Item{{Field: "spec.ports[1]", Reason: "HTTPRoute chat/live spec.rules[0] (path segment ws) sends traffic to port 8080"}}}
	vs, _, err = engine.Evaluate(context.Background(), in, &policy, nil)
	if err != nil || len(vs) != 1 || vs[0].Rule != "http2-only-port" || vs[0].Field != "spec.ports[1].name" ||
		!strings.Contains(vs[0].Message, "WebSocket evidence: HTTPRoute chat/live spec.rules[0] (path segment ws)") {
		t.Errorf("with evidence on port 1: %+v (err %v)", vs, err)
	}
}

// TestWorkers: on workers the engine answers as on the caller's goroutine,
// concurrently, and gives up waiting for a worker when the context ends.
func TestWorkers(t *testing.T) {
	e, err := NewEngine(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	e.UseWorkers(2)
	policy := v1alpha1.BuiltinPolicy()
	var obj map[string]any
	if err := json.Unmarshal([]byte(ingress("nginx", map[string]string{nginx + "server-snippet": "x"})), &obj); err != nil {
		t.Fatal(err)
	}
	in := Input{Object: obj, Namespace: "chat", OptedIn: true, Controller: ingressclass.Nginx}
	want, _, err := engine.Evaluate(context.Background(), in, &policy, nil)
	if err != nil || len(want) == 0 {
		t.Fatalf("reference: %v %v", want, err)
	}
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			got, _, err := e.Evaluate(context.Background(), in, &policy, nil)
			if err == nil && !slices.Equal(got, want) {
				err = fmt.Errorf("got %v, want %v", got, want)
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}

	// Both workers busy: a caller whose context ends stops waiting.
	block := make(chan struct{})
	for range 2 {
		go func() { _ = e.onWorker(context.Background(), func() { <-block }) }()
	}
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, _, err := e.Evaluate(ctx, in, &policy, nil); err == nil {
		t.Error("Evaluate with every worker busy and the context ended must fail")
	}
	close(block)

	defer func() {
		if p := recover(); p != "boom" {
			t.Errorf("a panic on a worker must reach the caller, got %v", p)
		}
	}()
	_ = e.onWorker(context.Background(), func() { panic("boom") })
}

// TestEvaluateDifferential holds the served path (evaluation on workers,
// several requests at once) to the plain full evaluation on the caller's
// goroutine over thousands of generated objects (test/gen: every handled
// kind, last-applied annotations, managedFields, planted mistakes), opted
// in and not.
func TestEvaluateDifferential(t *testing.T) {
	n := 3000
	if testing.Short() {
		n = 600
	}
	served, err := NewEngine(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	served.UseWorkers(3)
	policy := v1alpha1.BuiltinPolicy()
	objs := gen.Objects(3, n)
	type result struct {
		i   int
		got []Violation
		err error
	}
	results := make(chan result, len(objs))
	inputs := make([]Input, len(objs))
	for i, o := range objs {
		raw, _ := json.Marshal(o.Object)
		var obj map[string]any
		if err := json.Unmarshal(raw, &obj); err != nil {
			t.Fatal(err)
		}
		inputs[i] = Input{Operation: string(o.Operation), Object: obj, Namespace: o.Namespace, OptedIn: o.Namespace == gen.OptedIn,
			Controller: ingressclass.Nginx, Defaulted: DefaultedKeys(obj)}
	}
	sem := make(chan struct{}, 4)
	for i := range inputs {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			got, _, err := served.Evaluate(context.Background(), inputs[i], &policy, nil)
			results <- result{i, got, err}
		}()
	}
	fired := 0
	for range inputs {
		r := <-results
		want, _, err := engine.Evaluate(context.Background(), inputs[r.i], &policy, nil)
		if err != nil || r.err != nil {
			t.Fatalf("#%d: %v / %v", r.i, r.err, err)
		}
		if !slices.Equal(r.got, want) {
			t.Fatalf("#%d (%s): served %v, plain %v", r.i, objs[r.i].Object["kind"], r.got, want)
		}
		if len(want) > 0 {
			fired++
		}
	}
	if fired == 0 {
		t.Error("no rule fired on any generated object: the generator no longer exercises the rules")
	}
}

// TestAnnotationPrefixes: the prefixes the webhook precomputes
// (input.annotationsByPrefix) are the ones lib.rego falls back to.
func TestAnnotationPrefixes(t *testing.T) {
	modules, err := policies.Modules()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := prepare(t, "x := data.wsdefaults.lib.known_prefixes", modules).Eval(context.Background())
	if err != nil || len(rs) != 1 {
		t.Fatalf("lib.known_prefixes: %v %v", rs, err)
	}
	var got []string
	for _, p := range rs[0].Bindings["x"].([]any) {
		got = append(got, p.(string))
	}
	if !slices.Equal(got, AnnotationPrefixes) {
		t.Errorf("lib.known_prefixes %v, validate.AnnotationPrefixes %v", got, AnnotationPrefixes)
	}
}

// TestPrecomputedInputDifferential holds the parts of the input the
// webhook computes in Go (annotationsByPrefix, annotated) to what lib.rego
// computes from the object when the input lacks them, over thousands of
// generated objects (as written and as mutated, with annotations of every
// controller planted, every controller the rules know, a custom
// ingress-nginx prefix): the same parts and the same violations.
func TestPrecomputedInputDifferential(t *testing.T) {
	n := 2000
	if testing.Short() {
		n = 400
	}
	inputs := servedInputs(t, 7, n)
	for _, o := range gen.Objects(8, n/2) {
		for _, c := range []string{"", ingressclass.Nginx, "haproxy.org/ingress-controller", "haproxy-ingress.github.io/controller", "traefik.io/ingress-controller"} {
			inputs = append(inputs, Input{Operation: string(o.Operation), Object: o.Object, Namespace: o.Namespace, OptedIn: o.Namespace == gen.OptedIn, Controller: c, Defaulted: DefaultedKeys(o.Object)})
		}
	}
	// The same objects with annotations under every prefix, mistakes
	// planted (annotated copies the object).
	for i := range len(inputs) / 2 {
		in := inputs[i]
		in.Object = withAnnotations(in.Object, plantedAnnotations[i%len(plantedAnnotations)])
		inputs = append(inputs, in)
	}
	modules, err := policies.Modules()
	if err != nil {
		t.Fatal(err)
	}
	inRego := prepare(t, "b := data.wsdefaults.lib.by_prefix; a := data.wsdefaults.lib.annotated", modules)
	builtin := v1alpha1.BuiltinPolicy()
	custom := v1alpha1.BuiltinPolicy()
	custom.NginxAnnotationPrefix = "ingress.kubernetes.io/"
	fired := 0
	for _, policy := range []*v1alpha1.WebSocketPolicySpec{&builtin, &custom} {
		for i, in := range inputs {
			doc := in.document(policy)
			got := findings(t, ast.LazyObject(doc))
			gotParts := fmt.Sprint(doc["annotationsByPrefix"], doc["annotated"])
			// The same input with these parts as lib.rego computes them.
			delete(doc, "annotationsByPrefix")
			delete(doc, "annotated")
			rs, err := inRego.Eval(context.Background(), rego.EvalParsedInput(ast.LazyObject(doc)))
			if err != nil || len(rs) != 1 {
				t.Fatalf("lib.by_prefix, lib.annotated: %v %v", rs, err)
			}
			doc["annotationsByPrefix"], doc["annotated"] = rs[0].Bindings["b"], rs[0].Bindings["a"]
			if wantParts := fmt.Sprint(doc["annotationsByPrefix"], doc["annotated"]); gotParts != wantParts {
				t.Fatalf("#%d: precomputed %s\nin Rego %s", i, gotParts, wantParts)
			}
			want := findings(t, ast.LazyObject(doc))
			if !slices.Equal(got, want) {
				t.Fatalf("#%d (%s, prefix %s): precomputed %v\nin Rego %v", i, in.Object["kind"], policy.NginxAnnotationPrefix, got, want)
			}
			if len(want) > 0 {
				fired++
			}
		}
	}
	if fired == 0 {
		t.Error("no rule fired: the generator no longer exercises the rules")
	}
}

// findings are the catalog's raw findings on input, as "rule field:
// message", sorted.
func findings(t *testing.T, input ast.Value) []string {
	t.Helper()
	rs, err := engine.query.Eval(context.Background(), rego.EvalParsedInput(input))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rs {
		out = append(out, fmt.Sprint(r.Bindings["v"]))
	}
	slices.Sort(out)
	return out
}

// plantedAnnotations put annotations, mistakes among them, under every
// prefix the rules read by name.
var plantedAnnotations = []map[string]any{
	{"haproxy.org/timeout-tunnel": "5x", "haproxy.com/backend-config-snippet": "x", "ingress.kubernetes.io/cors-enable": "true",
		"ingress.kubernetes.io/timeout-server": "1000000000d", "traefik.ingress.kubernetes.io/router.priority": "ten"},
	{"haproxy-ingress.github.io/config-backend": "x", "haproxy-ingress.github.io/cors-enable": "true", "haproxy-ingress.github.io/timeout-tunnel": "10s",
		"haproxy-ingress.github.io/affinity": "cookie", "ingress.kubernetes.io/ssl-redirect": "false"},
	{"traefik.ingress.kubernetes.io/service.sticky.cookie.secure": "yes", "traefik.ingress.kubernetes.io/service.sticky.cookie.samesite": "none",
		"traefik.ingress.kubernetes.io/Router.TLS": "1", "traefik.ingress.kubernetes.io/service.nativelb": "maybe", "konghq.com/read-timeout": "60", "konghq.com/send-timeout": "1"},
	{"nginx.ingress.kubernetes.io/server-snippet": "x", "nginx.ingress.kubernetes.io/proxy-read-timeout": "60s", "nginx.ingress.kubernetes.io/proxy-send-timeout": "30",
		"nginx.ingress.kubernetes.io/enable-cors": "true", "ingress.kubernetes.io/proxy-read-timeout": "1h", "haproxy.org/cookie-persistence": "a",
		"ingress.kubernetes.io/cookie-persistence-no-dynamic": "b"},
}

// withAnnotations is a copy of obj with these annotations added.
func withAnnotations(obj map[string]any, annotations map[string]any) map[string]any {
	raw, _ := json.Marshal(obj)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	md, _ := out["metadata"].(map[string]any)
	if md == nil {
		md = map[string]any{}
		out["metadata"] = md
	}
	ann, _ := md["annotations"].(map[string]any)
	if ann == nil {
		ann = map[string]any{}
		md["annotations"] = ann
	}
	for k, v := range annotations {
		ann[k] = v
	}
	return out
}
