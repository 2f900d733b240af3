package validate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown"
	"github.com/open-policy-agent/opa/v1/topdown/print"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
	"github.com/ws-defaults/ws-defaults/policies"
)

// CustomRule is a team's own rule from the policy's spec.customRules: one
// Rego module in a package under wsdefaults.custom that reports a set
// `violation` of {"field", "message"} objects.
type CustomRule struct {
	ID       string
	Action   v1alpha1.RuleAction
	Scope    v1alpha1.RuleScope
	Severity string
	Rego     string
}

// CustomPackagePrefix is where every custom rule's package must live.
const CustomPackagePrefix = "wsdefaults.custom."

// CustomEvaluationTimeout bounds the custom rules' evaluation for one
// object, well inside the webhook's 3 s timeout, so one tenant's slow rule
// can never make the API server give up on the request.
const CustomEvaluationTimeout = time.Second

// sandboxDenied are the builtins a custom rule may not call: the network,
// the clock, randomness, the runtime environment, signing keys, and output
// outside the decision.
var sandboxDenied = []string{
	"http.send", "opa.runtime", "trace", "print", "internal.print",
	"time.now_ns", "rand.intn", "uuid.rfc4122", "uuid.parse",
	"io.jwt.encode_sign", "io.jwt.encode_sign_raw", "io.jwt.decode_verify",
	"crypto.x509.parse_and_verify_certificates", "crypto.x509.parse_and_verify_certificates_with_options",
}

// sandboxDeniedPrefixes cover whole families.
var sandboxDeniedPrefixes = []string{"net.", "io.jwt.verify_", "rand.", "uuid."}

// SandboxCapabilities are the builtins a custom rule may call.
func SandboxCapabilities() *ast.Capabilities {
	caps := Capabilities()
	caps.Builtins = slices.DeleteFunc(slices.Clone(caps.Builtins), func(b *ast.Builtin) bool {
		if slices.Contains(sandboxDenied, b.Name) {
			return true
		}
		for _, p := range sandboxDeniedPrefixes {
			if strings.HasPrefix(b.Name, p) {
				return true
			}
		}
		return false
	})
	caps.AllowNet = []string{}
	return caps
}

// CustomError is a custom rule that is refused, with where and why.
type CustomError struct {
	// Index is the rule's position in spec.customRules.
	Index int
	// Line and Column locate the problem in the rule's rego (1-based; 0
	// when the problem is not in one place).
	Line, Column int
	Message      string
}

func (e *CustomError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%d:%d: %s", e.Line, e.Column, e.Message)
	}
	return e.Message
}

// CheckCustomRules parses and compiles each rule in the sandbox (with the
// library it may import) and returns every problem, each tied to its rule.
// It is what the policy webhook and each replica run before a generation
// with custom rules goes into effect.
func CheckCustomRules(rules []CustomRule) []*CustomError {
	var errs []*CustomError
	lib, err := libModule()
	if err != nil {
		return []*CustomError{{Index: -1, Message: err.Error()}}
	}
	packages := map[string]int{}
	for i, r := range rules {
		mod, err := ast.ParseModuleWithOpts(customFile(r.ID), r.Rego, ast.ParserOptions{RegoVersion: ast.RegoV1, ProcessAnnotation: true})
		if err != nil {
			errs = append(errs, astErrors(i, err)...)
			continue
		}
		if mod == nil {
			errs = append(errs, &CustomError{Index: i, Message: "the module is empty: it needs a package under wsdefaults.custom and a violation rule"})
			continue
		}
		pkg := strings.TrimPrefix(mod.Package.Path.String(), "data.")
		if !strings.HasPrefix(pkg, CustomPackagePrefix) {
			loc := mod.Package.Location
			errs = append(errs, &CustomError{Index: i, Line: loc.Row, Column: loc.Col,
				Message: fmt.Sprintf("package %s is outside wsdefaults.custom: name it %s<something>, e.g. %s%s", pkg, CustomPackagePrefix, CustomPackagePrefix, strings.ReplaceAll(r.ID, "-", "_"))})
			continue
		}
		if j, dup := packages[pkg]; dup {
			errs = append(errs, &CustomError{Index: i, Line: mod.Package.Location.Row, Column: mod.Package.Location.Col,
				Message: fmt.Sprintf("package %s is also spec.customRules[%d]'s: one package per rule", pkg, j)})
			continue
		}
		packages[pkg] = i
		errs = append(errs, dataReferences(i, mod)...)
		if !definesViolation(mod) {
			errs = append(errs, &CustomError{Index: i, Message: `the module defines no "violation" rule: report findings as violation contains {"field": f, "message": m} if { ... }`})
		}
		errs = append(errs, violationShape(i, mod)...)
		c := ast.NewCompiler().WithCapabilities(SandboxCapabilities())
		c.Compile(map[string]*ast.Module{"lib.rego": lib, customFile(r.ID): mod})
		if c.Failed() {
			errs = append(errs, astErrors(i, c.Errors)...)
		}
	}
	return errs
}

func customFile(id string) string { return "custom/" + id + ".rego" }

// libModule is the rules' shared library, the one data document a custom
// rule may read.
func libModule() (*ast.Module, error) {
	mods, err := policies.Modules()
	if err != nil {
		return nil, err
	}
	return ast.ParseModuleWithOpts("lib.rego", mods["lib.rego"], ast.ParserOptions{RegoVersion: ast.RegoV1, ProcessAnnotation: true})
}

// dataReferences refuses references to data outside data.wsdefaults.lib
// and the rule's own package: a custom rule sees the object, not other
// rules or anything else loaded into the engine.
func dataReferences(i int, mod *ast.Module) []*CustomError {
	var errs []*CustomError
	own := mod.Package.Path
	allowed := func(ref ast.Ref) bool {
		lib := ast.MustParseRef("data.wsdefaults.lib")
		return ref.HasPrefix(lib) || ref.HasPrefix(own)
	}
	for _, imp := range mod.Imports {
		ref, ok := imp.Path.Value.(ast.Ref)
		if !ok {
			continue
		}
		if ref[0].Equal(ast.DefaultRootDocument) && !allowed(ref) {
			errs = append(errs, &CustomError{Index: i, Line: imp.Location.Row, Column: imp.Location.Col,
				Message: fmt.Sprintf("import %s: a custom rule may import only data.wsdefaults.lib", ref)})
		}
	}
	ast.WalkRefs(mod, func(ref ast.Ref) bool {
		if ref[0].Equal(ast.DefaultRootDocument) && !allowed(ref) {
			loc := ref[0].Location
			e := &CustomError{Index: i, Message: fmt.Sprintf("%s: a custom rule may read only input and data.wsdefaults.lib", ref)}
			if loc != nil {
				e.Line, e.Column = loc.Row, loc.Col
			}
			errs = append(errs, e)
		}
		return false
	})
	return errs
}

// violationShape refuses violation rules that cannot produce the
// documented shape: not a set (violation := ..., violation if ...), or an
// object literal with keys other than "field" and "message", or without
// "message". Values computed at run time are checked then
// (customViolation).
func violationShape(i int, mod *ast.Module) []*CustomError {
	var errs []*CustomError
	const want = `report findings as violation contains {"field": f, "message": m} if { ... }`
	for _, r := range mod.Rules {
		if !isViolation(r) {
			continue
		}
		loc := r.Location
		at := func(msg string) *CustomError {
			e := &CustomError{Index: i, Message: msg}
			if loc != nil {
				e.Line, e.Column = loc.Row, loc.Col
			}
			return e
		}
		if r.Head.RuleKind() != ast.MultiValue || len(r.Head.Reference) != 1 {
			errs = append(errs, at("violation must be a set of objects: "+want))
			continue
		}
		obj, ok := r.Head.Key.Value.(ast.Object)
		if !ok {
			continue
		}
		hasMessage := false
		for _, k := range obj.Keys() {
			s, ok := k.Value.(ast.String)
			switch {
			case !ok || (s != "field" && s != "message"):
				errs = append(errs, at(fmt.Sprintf("violation has key %v; %s", k, want)))
			case s == "message":
				hasMessage = true
			}
		}
		if !hasMessage {
			errs = append(errs, at(`violation has no "message": `+want))
		}
	}
	return errs
}

func isViolation(r *ast.Rule) bool {
	return r.Head.Name == "violation" || (len(r.Head.Reference) > 0 && r.Head.Reference[0].Value.Compare(ast.Var("violation")) == 0)
}

func definesViolation(mod *ast.Module) bool {
	for _, r := range mod.Rules {
		if r.Head.Name == "violation" || (len(r.Head.Reference) > 0 && r.Head.Reference[0].Value.Compare(ast.Var("violation")) == 0) {
			return true
		}
	}
	return false
}

// astErrors turns OPA's errors into CustomErrors for rule i.
func astErrors(i int, err error) []*CustomError {
	var list ast.Errors
	if !errors.As(err, &list) {
		return []*CustomError{{Index: i, Message: err.Error()}}
	}
	out := make([]*CustomError, 0, len(list))
	for _, e := range list {
		ce := &CustomError{Index: i, Message: e.Message}
		if e.Location != nil {
			ce.Line, ce.Column = e.Location.Row, e.Location.Col
		}
		out = append(out, ce)
	}
	return out
}

// CustomSet is a generation's custom rules, compiled once when the
// generation is applied; nil or empty means none.
type CustomSet struct {
	queries []customQuery
}

// Len is the number of custom rules.
func (c *CustomSet) Len() int {
	if c == nil {
		return 0
	}
	return len(c.queries)
}

// PrepareCustom checks and compiles rules in the sandbox. Its error names
// each refused rule as spec.customRules[N].rego: LINE:COL: message.
func PrepareCustom(ctx context.Context, rules []CustomRule) (*CustomSet, error) {
	return PrepareCustomPrinting(ctx, rules, nil)
}

// PrepareCustomPrinting is PrepareCustom with the rules' print() output
// written to w, one line each, prefixed with the rule's file and line
// (`webhook test`); nil w drops it, as admission does.
func PrepareCustomPrinting(ctx context.Context, rules []CustomRule, w io.Writer) (*CustomSet, error) {
	if len(rules) == 0 {
		return nil, nil
	}
	qs, err := prepareCustom(ctx, rules, w)
	if err != nil {
		return nil, err
	}
	return &CustomSet{queries: qs}, nil
}

// customQuery is one custom rule, prepared: the rule's package compiled
// with the library, evaluated on its own so a slow rule is named.
type customQuery struct {
	rule  CustomRule
	query rego.PreparedEvalQuery
}

// prepareCustom compiles every rule in the sandbox, once per generation.
func prepareCustom(ctx context.Context, rules []CustomRule, w io.Writer) ([]customQuery, error) {
	if errs := CheckCustomRules(rules); len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = fmt.Sprintf("spec.customRules[%d].rego: %s", e.Index, e.Error())
		}
		return nil, errors.New(strings.Join(msgs, "; "))
	}
	mods, err := policies.Modules()
	if err != nil {
		return nil, err
	}
	out := make([]customQuery, 0, len(rules))
	for _, r := range rules {
		mod, _ := ast.ParseModuleWithOpts(customFile(r.ID), r.Rego, ast.ParserOptions{RegoVersion: ast.RegoV1})
		caps, printing := SandboxCapabilities(), []func(*rego.Rego){}
		if w != nil {
			caps = withPrint(caps)
			printing = []func(*rego.Rego){rego.EnablePrintStatements(true), rego.PrintHook(printHook{w})}
		}
		q, err := rego.New(append(printing,
			rego.Query("v := "+mod.Package.Path.String()+".violation[_]"),
			rego.Capabilities(caps),
			rego.SetRegoVersion(ast.RegoV1),
			rego.Module("lib.rego", mods["lib.rego"]),
			rego.Module(customFile(r.ID), r.Rego),
			// A builtin that fails (1/0, to_number("7d")) fails the rule:
			// reported as a RuleError (check and test exit 2, the audit
			// reports an error result, admission a warning), never taken
			// for "no violation".
			rego.StrictBuiltinErrors(true),
		)...).PrepareForEval(ctx)
		if err != nil {
			return nil, fmt.Errorf("custom rule %s: %w", r.ID, err)
		}
		out = append(out, customQuery{rule: r, query: q})
	}
	return out, nil
}

// withPrint adds print() (and the internal builtin the compiler rewrites it
// to) back to caps.
func withPrint(caps *ast.Capabilities) *ast.Capabilities {
	out := *caps
	out.Builtins = slices.Clone(caps.Builtins)
	for _, b := range ast.CapabilitiesForThisVersion().Builtins {
		if b.Name == "print" || b.Name == "internal.print" {
			out.Builtins = append(out.Builtins, b)
		}
	}
	return &out
}

// printHook writes a rule's print() output as "file:line: text".
type printHook struct{ w io.Writer }

func (h printHook) Print(c print.Context, msg string) error {
	where := "print"
	if c.Location != nil {
		where = fmt.Sprintf("%s:%d", c.Location.File, c.Location.Row)
	}
	_, err := fmt.Fprintf(h.w, "%s: %s\n", where, msg)
	return err
}

// RuleError is a rule that could not be evaluated for one object (a
// custom rule past its deadline, or failing at run time).
type RuleError struct {
	Rule string
	Err  error
}

func (e RuleError) Error() string { return fmt.Sprintf("rule %s not evaluated: %v", e.Rule, e.Err) }

// customViolation reads one element of a custom rule's violation set,
// which must be an object with a non-empty string "message" and, when
// present, a string "field", and nothing else: anything else would deny or
// warn with an empty or misleading message.
func customViolation(b any) (Violation, error) {
	m, ok := b.(map[string]any)
	if !ok {
		return Violation{}, fmt.Errorf(`violation holds %s; want objects {"field": string, "message": string}`, describe(b))
	}
	for k := range m {
		if k != "field" && k != "message" {
			return Violation{}, fmt.Errorf(`violation has key %q; want objects {"field": string, "message": string}`, k)
		}
	}
	msg, ok := m["message"].(string)
	if !ok || strings.TrimSpace(msg) == "" {
		return Violation{}, fmt.Errorf(`violation without a message (got %s); want {"field": string, "message": string}`, describe(m["message"]))
	}
	field, ok := m["field"].(string)
	if _, set := m["field"]; set && !ok {
		return Violation{}, fmt.Errorf(`violation's field is %s; want a string such as "metadata.annotations[...]"`, describe(m["field"]))
	}
	return Violation{Field: field, Message: msg}, nil
}

// describe names a JSON value's type for messages.
func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "nothing"
	case string:
		return fmt.Sprintf("the string %q", v)
	case bool:
		return "a boolean"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	default:
		return fmt.Sprintf("a %T", v)
	}
}

// evaluateCustom runs the custom rules on input within
// CustomEvaluationTimeout. A rule that errs or runs out of time yields a
// RuleError and no violation; the others' results stand.
func evaluateCustom(ctx context.Context, qs []customQuery, input ast.Value, optedIn bool, ceiling v1alpha1.RuleAction) ([]Violation, []RuleError) {
	if len(qs) == 0 {
		return nil, nil
	}
	ctx, cancelCtx := context.WithTimeout(ctx, CustomEvaluationTimeout)
	defer cancelCtx()
	var out []Violation
	var errs []RuleError
	for _, q := range qs {
		r := q.rule
		action, acts := effectiveAction(r.Action, r.Scope, optedIn, ceiling)
		if !acts {
			continue
		}
		cancel := topdown.NewCancel()
		stop := context.AfterFunc(ctx, cancel.Cancel)
		rs, err := q.query.Eval(ctx, rego.EvalParsedInput(input), rego.EvalExternalCancel(cancel))
		stop()
		if err == nil && ctx.Err() != nil {
			err = ctx.Err()
		}
		if err != nil {
			if ctx.Err() != nil {
				err = fmt.Errorf("the custom rules' %s evaluation limit ran out", CustomEvaluationTimeout)
			}
			errs = append(errs, RuleError{Rule: r.ID, Err: err})
			continue
		}
		found := make([]Violation, 0, len(rs))
		for _, res := range rs {
			v, err := customViolation(res.Bindings["v"])
			if err != nil {
				found = nil
				errs = append(errs, RuleError{Rule: r.ID, Err: err})
				break
			}
			v.Rule, v.Action, v.Severity = r.ID, action, r.Severity
			found = append(found, v)
		}
		out = append(out, found...)
	}
	return out, errs
}
