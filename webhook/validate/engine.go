// Package validate judges objects against the Rego rule catalog in
// policies/: an Engine compiled once at start-up evaluates one prepared
// query per object, and the policy's per-rule action and scope turn what the
// rules report into denials, warnings and audit records. Handler serves it
// as POST /validate.
package validate

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/metrics"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
	"github.com/ws-defaults/ws-defaults/policies"
	"github.com/ws-defaults/ws-defaults/webhook/edge"
	"github.com/ws-defaults/ws-defaults/webhook/evidence"
	"github.com/ws-defaults/ws-defaults/webhook/scope"
)

// Violation is one rule that fired on one object, with the action the policy
// gives that rule. The JSON shape is `webhook check`'s (interfaces.md).
type Violation struct {
	Rule     string              `json:"rule"`
	Action   v1alpha1.RuleAction `json:"action"`
	Severity string              `json:"severity"`
	Field    string              `json:"field"`
	Message  string              `json:"message"`
}

// String is how a violation reads in a denial or a warning: rule id first.
func (v Violation) String() string {
	return fmt.Sprintf("%s (%s): %s", v.Rule, v.Field, v.Message)
}

// Input is what the rules see (policies/README.md documents it).
type Input struct {
	Operation           string
	Object              map[string]any
	OldObject           map[string]any
	Namespace           string
	NamespaceLabels     map[string]string
	NamespaceAnnotation map[string]string
	Controller          string
	OptedIn             bool
	// OptedOut: labelled ws-defaults=disabled (scope.Out); with neither
	// set, the object is outside opt-in (scope.Unlabelled).
	OptedOut bool
	// Defaulted lists what the mutation added (ws-defaults.io/defaulted).
	Defaulted []string
	// Evidence says which routes and ports carry WebSocket (nil: none known).
	Evidence *evidence.Evidence
}

// Engine evaluates the embedded rule catalog.
type Engine struct {
	query rego.PreparedEvalQuery
	// jobs feeds the evaluation workers (UseWorkers); nil: evaluate on
	// the caller's goroutine.
	jobs chan func()
}

// UseWorkers makes the engine evaluate on n long-lived goroutines instead
// of the callers'. OPA's evaluator recurses deeply, and a goroutine's stack
// grows to fit the deepest evaluation it ran (tens to hundreds of KB) and
// shrinks only slowly after: with evaluation on the HTTP server's
// goroutines, one per connection, every connection the API server keeps
// open ends up holding a grown stack. On n workers only n stacks grow.
// Callers wait for a free worker; n should be at least the admission
// concurrency limit, so that the limiter, not this pool, queues requests.
// Call it once, before the engine is used.
func (e *Engine) UseWorkers(n int) {
	if n <= 0 {
		return
	}
	e.jobs = make(chan func())
	for range n {
		go func() {
			for job := range e.jobs {
				job()
			}
		}()
	}
}

// onWorker runs fn on a worker (UseWorkers) and waits for it; a panic in
// fn is raised again on the caller's goroutine, where the HTTP handler's
// recovery sees it. It returns ctx's error if ctx ends before a worker is
// free.
func (e *Engine) onWorker(ctx context.Context, fn func()) error {
	if e.jobs == nil {
		fn()
		return nil
	}
	done := make(chan any, 1)
	job := func() {
		defer func() { done <- recover() }()
		fn()
	}
	select {
	case e.jobs <- job:
	case <-ctx.Done():
		return ctx.Err()
	}
	if p := <-done; p != nil {
		panic(p)
	}
	return nil
}

// query collects every family's violations in one evaluation.
const query = "v := data.wsdefaults.rules[_].violation[_]"

// deniedBuiltins are refused to the rules: no network access, no view of
// the process. Our own Rego needs none of them, and user-supplied Rego must
// never get them.
var deniedBuiltins = []string{"http.send", "net.lookup_ip_addr", "opa.runtime"}

// Capabilities are the builtins a rule may call.
func Capabilities() *ast.Capabilities {
	caps := ast.CapabilitiesForThisVersion()
	caps.Builtins = slices.DeleteFunc(caps.Builtins, func(b *ast.Builtin) bool {
		return slices.Contains(deniedBuiltins, b.Name)
	})
	caps.AllowNet = []string{}
	return caps
}

// NewEngine compiles the embedded policies into a prepared query.
func NewEngine(ctx context.Context) (*Engine, error) {
	modules, err := policies.Modules()
	if err != nil {
		return nil, err
	}
	opts := []func(*rego.Rego){rego.Query(query), rego.Capabilities(Capabilities()), rego.SetRegoVersion(ast.RegoV1)}
	for name, src := range modules {
		opts = append(opts, rego.Module("policies/"+name, src))
	}
	q, err := rego.New(opts...).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("compiling policies: %w", err)
	}
	return &Engine{query: q}, nil
}

// Evaluate runs every rule on in and applies policy (defaults filled in):
// rules that are off, and opted-in rules on objects that are not opted in,
// are dropped; cluster-scope rules on objects that are not opted in act at
// most as policy.Enforcement allows (scope.Ceiling). Results are ordered deny, warn, audit, then by rule and field.
//
// custom holds the generation's custom rules (nil for none); they run after
// the built-in rules within CustomEvaluationTimeout, and one that cannot be
// evaluated is reported in the RuleErrors, not as an error of the whole
// evaluation: a team's broken or slow rule never decides a request alone.
func (e *Engine) Evaluate(ctx context.Context, in Input, policy *v1alpha1.WebSocketPolicySpec, custom *CustomSet) (out []Violation, ruleErrs []RuleError, err error) {
	if werr := e.onWorker(ctx, func() { out, ruleErrs, err = e.evaluate(ctx, in, policy, custom) }); werr != nil {
		return nil, nil, fmt.Errorf("evaluating rules: %w", werr)
	}
	return out, ruleErrs, err
}

func (e *Engine) evaluate(ctx context.Context, in Input, policy *v1alpha1.WebSocketPolicySpec, custom *CustomSet) ([]Violation, []RuleError, error) {
	input, err := in.value(policy)
	if err != nil {
		return nil, nil, fmt.Errorf("building rule input: %w", err)
	}
	// Cancel the evaluation when ctx is done. Left to itself, Eval starts a
	// goroutine per call to watch ctx; a callback registered on ctx does the
	// same without one.
	cancel := topdown.NewCancel()
	defer context.AfterFunc(ctx, cancel.Cancel)()
	rs, err := e.query.Eval(ctx, rego.EvalParsedInput(input), rego.EvalExternalCancel(cancel),
		rego.EvalMetrics(noMetrics), rego.EvalGenerateJSON(violationOf))
	if err != nil {
		return nil, nil, fmt.Errorf("evaluating rules: %w", err)
	}
	ceiling := scope.Ceiling(scope.FromFlags(in.OptedIn, in.OptedOut), policy.Enforcement)
	out := make([]Violation, 0, len(rs))
	for _, r := range rs {
		v, _ := r.Bindings["v"].(Violation)
		setting, known := policy.Rules[v.Rule]
		if !known {
			return nil, nil, fmt.Errorf("rule %q is not in the catalog", v.Rule)
		}
		action, ok := effectiveAction(setting.Action, setting.Scope, in.OptedIn, ceiling)
		if !ok {
			continue
		}
		v.Action, v.Severity = action, setting.Severity
		out = append(out, v)
	}
	var ruleErrs []RuleError
	if custom.Len() > 0 {
		var found []Violation
		found, ruleErrs = evaluateCustom(ctx, custom.queries, input, in.OptedIn, ceiling)
		out = append(out, found...)
	}
	slices.SortFunc(out, func(a, b Violation) int {
		if c := actionRank[a.Action] - actionRank[b.Action]; c != 0 {
			return c
		}
		if c := strings.Compare(a.Rule, b.Rule); c != 0 {
			return c
		}
		return strings.Compare(a.Field, b.Field)
	})
	return slices.CompactFunc(out, func(a, b Violation) bool { return a == b }), ruleErrs, nil
}

// noMetrics stands for the metrics OPA would otherwise allocate for every
// evaluation; nothing reads them.
var noMetrics = metrics.NoOp()

// violationOf turns a result of the query, a lib.violation object, into a
// Violation (rule, field and message; the policy adds the rest) directly,
// instead of OPA's conversion to a map[string]any.
func violationOf(t *ast.Term, _ *rego.EvalContext) (any, error) {
	obj, ok := t.Value.(ast.Object)
	if !ok {
		return nil, fmt.Errorf("a rule reported %v, not a violation object", t)
	}
	text := func(key string) string {
		if v := obj.Get(ast.InternedTerm(key)); v != nil {
			if s, ok := v.Value.(ast.String); ok {
				return string(s)
			}
		}
		return ""
	}
	return Violation{Rule: text("rule"), Field: text("field"), Message: text("message")}, nil
}

// effectiveAction is the action a rule with action and scope takes on an
// object (opted in or not, cluster-scope rules capped at ceiling); false
// when the rule does not act on it at all.
func effectiveAction(action v1alpha1.RuleAction, sc v1alpha1.RuleScope, optedIn bool, ceiling v1alpha1.RuleAction) (v1alpha1.RuleAction, bool) {
	if !optedIn {
		if sc == v1alpha1.ScopeOptedIn {
			return "", false
		}
		action = v1alpha1.AtMost(action, ceiling)
	}
	return action, action != v1alpha1.ActionOff
}

var actionRank = map[v1alpha1.RuleAction]int{v1alpha1.ActionDeny: 0, v1alpha1.ActionWarn: 1, v1alpha1.ActionAudit: 2}

// document builds the input as plain maps, which OPA converts without a
// JSON round trip.
func (in Input) document(policy *v1alpha1.WebSocketPolicySpec) map[string]any {
	defaulted := make([]any, len(in.Defaulted))
	for i, d := range in.Defaulted {
		defaulted[i] = d
	}
	var old any
	if in.OldObject != nil {
		old = in.OldObject
	}
	op := in.Operation
	if op == "" {
		op = "CREATE"
	}
	nginxPrefix := strings.TrimSuffix(policy.NginxAnnotationPrefix, "/")
	nginx := nginxPrefix + "/"
	byPrefix := annotationsByPrefix(in.Object, nginx)
	return map[string]any{
		"operation": op,
		"object":    in.Object,
		"oldObject": old,
		"namespace": map[string]any{
			"name":        in.Namespace,
			"labels":      anyMap(in.NamespaceLabels),
			"annotations": anyMap(in.NamespaceAnnotation),
		},
		"controller": in.Controller,
		"optedIn":    in.OptedIn,
		"defaulted":  defaulted,
		"evidence":   in.Evidence.Document(),
		"gateway":    in.gateway().Document(),
		"edge":       edge.Document(in.Object, policy.Edge.Provider, int64(*policy.MinIdleTimeoutSeconds)),
		"parameters": map[string]any{
			"nginxAnnotationPrefix": nginxPrefix,
			"minIdleTimeoutSeconds": int64(*policy.MinIdleTimeoutSeconds),
		},
		"annotationsByPrefix": byPrefix,
		"annotated":           annotated(byPrefix, nginx),
	}
}

// AnnotationPrefixes are the annotation prefixes, besides ingress-nginx's
// (a policy parameter), whose annotations the rules read by name
// (lib.known_prefixes in policies/lib.rego: TestAnnotationPrefixes holds
// the two lists equal).
var AnnotationPrefixes = []string{
	haproxyOrgPrefix, haproxyComPrefix, ingressPrefix, // haproxytech
	haproxyIngressPrefix, // haproxy-ingress (and ingress.kubernetes.io/)
	traefikPrefix,        // Traefik's Ingress provider
	kongPrefix,           // Kong
}

// annotationsByPrefix is input.annotationsByPrefix: for nginx (the
// ingress-nginx prefix, with its slash) and each of AnnotationPrefixes
// under which obj has annotations, those annotations by the rest of the
// key. One pass over the annotations here saves every rule about a
// controller's annotations a pass of its own in Rego.
func annotationsByPrefix(obj map[string]any, nginx string) map[string]any {
	out := map[string]any{}
	md, _ := obj["metadata"].(map[string]any)
	ann, _ := md["annotations"].(map[string]any)
	for key, value := range ann {
		if rest, ok := strings.CutPrefix(key, nginx); ok {
			under(out, nginx)[rest] = value
		}
		for _, prefix := range AnnotationPrefixes {
			if prefix == nginx {
				continue
			}
			if rest, ok := strings.CutPrefix(key, prefix); ok {
				under(out, prefix)[rest] = value
			}
		}
	}
	return out
}

// annotated is input.annotated: the controllers whose annotations
// byPrefix holds ("nginx", "haproxytech", "haproxyIngress", "haproxy" for
// either, "traefik", "kong"), each true; the others absent. Rules about one
// controller's annotations begin with input.annotated.<controller>, which
// OPA's rule index reads: objects without them never evaluate those rules.
func annotated(byPrefix map[string]any, nginx string) map[string]any {
	out := map[string]any{}
	has := func(prefixes ...string) bool {
		for _, p := range prefixes {
			if _, ok := byPrefix[p]; ok {
				return true
			}
		}
		return false
	}
	if has(nginx) {
		out["nginx"] = true
	}
	if has(haproxytechPrefixes...) {
		out["haproxytech"], out["haproxy"] = true, true
	}
	if has(haproxyIngressPrefixes...) {
		out["haproxyIngress"], out["haproxy"] = true, true
	}
	if has(traefikPrefix) {
		out["traefik"] = true
	}
	if has(kongPrefix) {
		out["kong"] = true
	}
	return out
}

const (
	haproxyOrgPrefix     = "haproxy.org/"
	haproxyComPrefix     = "haproxy.com/"
	ingressPrefix        = "ingress.kubernetes.io/" // both HAProxy controllers read it
	haproxyIngressPrefix = "haproxy-ingress.github.io/"
	traefikPrefix        = "traefik.ingress.kubernetes.io/"
	kongPrefix           = "konghq.com/"
)

var (
	haproxytechPrefixes    = []string{haproxyOrgPrefix, haproxyComPrefix, ingressPrefix}
	haproxyIngressPrefixes = []string{haproxyIngressPrefix, ingressPrefix}
)

// under is out[prefix], made on first use.
func under(out map[string]any, prefix string) map[string]any {
	m, ok := out[prefix].(map[string]any)
	if !ok {
		m = map[string]any{}
		out[prefix] = m
	}
	return m
}

// gateway is the Gateway API facts of the evidence (nil when none).
func (in Input) gateway() *evidence.Gateway {
	if in.Evidence == nil {
		return nil
	}
	return in.Evidence.Gateway
}

// value is the input document as OPA reads it. When the objects hold only
// plain values (what encoding/json decodes, plus the integers the mutation
// sets), it is an ast.LazyObject, which converts just the parts the rules
// read (metadata.annotations, spec, ...) on first access, never
// managedFields or status. Otherwise ast.InterfaceToValue converts it up
// front, reporting what it cannot convert rather than failing mid-evaluation.
// The rules see the same document either way.
func (in Input) value(policy *v1alpha1.WebSocketPolicySpec) (ast.Value, error) {
	doc := in.document(policy)
	if plain(in.Object) && plain(in.OldObject) {
		return ast.LazyObject(doc), nil
	}
	return ast.InterfaceToValue(doc)
}

// plain reports whether v holds only values ast.InterfaceToValue converts
// without fail: the types encoding/json decodes into an any, and int and
// int64 (json.Number is left out: only the decoder guarantees it is a
// valid number).
func plain(v any) bool {
	switch v := v.(type) {
	case nil, bool, float64, string, int, int64:
		return true
	case map[string]any:
		for _, e := range v {
			if !plain(e) {
				return false
			}
		}
		return true
	case []any:
		for _, e := range v {
			if !plain(e) {
				return false
			}
		}
		return true
	}
	return false
}

func anyMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// DefaultedKeys reads the ws-defaults.io/defaulted annotation of obj.
func DefaultedKeys(obj map[string]any) []string {
	md, _ := obj["metadata"].(map[string]any)
	ann, _ := md["annotations"].(map[string]any)
	s, _ := ann[v1alpha1.DefaultedAnnotation].(string)
	return evidence.SplitList(s)
}
