package validate

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
)

const teamRule = `package wsdefaults.custom.team_max_cookie_age

import data.wsdefaults.lib

violation contains {"field": f, "message": m} if {
	v := lib.nginx_annotations["session-cookie-max-age"]
	to_number(v) > 86400
	f := lib.annotation_field(concat("", [lib.nginx, "session-cookie-max-age"]))
	m := sprintf("cookie max age %v is above a day: set it to 86400 or less", [v])
}
`

func custom(t *testing.T, rules ...CustomRule) *CustomSet {
	t.Helper()
	set, err := PrepareCustom(context.Background(), rules)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func TestCustomRuleFires(t *testing.T) {
	policy := v1alpha1.BuiltinPolicy()
	obj := decode(t, ingress("nginx", map[string]string{nginx + "session-cookie-max-age": "172800"}))
	for _, tt := range []struct {
		name    string
		rule    CustomRule
		optedIn bool
		want    string // action, or "" for no finding
	}{
		{"deny where opted in", CustomRule{ID: "team-max-cookie-age", Action: v1alpha1.ActionDeny, Scope: v1alpha1.ScopeOptedIn, Severity: "high", Rego: teamRule}, true, "deny"},
		{"opted-in rule skips other objects", CustomRule{ID: "team-max-cookie-age", Action: v1alpha1.ActionDeny, Scope: v1alpha1.ScopeOptedIn, Severity: "high", Rego: teamRule}, false, ""},
		{"cluster rule sees every object", CustomRule{ID: "team-max-cookie-age", Action: v1alpha1.ActionWarn, Scope: v1alpha1.ScopeCluster, Severity: "low", Rego: teamRule}, false, "warn"},
		{"off is off", CustomRule{ID: "team-max-cookie-age", Action: v1alpha1.ActionOff, Scope: v1alpha1.ScopeCluster, Severity: "low", Rego: teamRule}, true, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			vs, errs, err := engine.Evaluate(context.Background(), Input{Object: obj, OptedIn: tt.optedIn, Controller: "k8s.io/ingress-nginx"}, &policy, custom(t, tt.rule))
			if err != nil || len(errs) != 0 {
				t.Fatal(err, errs)
			}
			var got *Violation
			for i := range vs {
				if vs[i].Rule == tt.rule.ID {
					got = &vs[i]
				}
			}
			switch {
			case tt.want == "" && got != nil:
				t.Errorf("fired: %+v", got)
			case tt.want != "" && got == nil:
				t.Errorf("did not fire; got %+v", vs)
			case got != nil && (string(got.Action) != tt.want || got.Severity != tt.rule.Severity ||
				got.Field != "metadata.annotations[nginx.ingress.kubernetes.io/session-cookie-max-age]" || !strings.Contains(got.Message, "172800")):
				t.Errorf("finding %+v", got)
			}
		})
	}
}

// TestSandbox: everything that reaches outside the object is refused when
// the rule is checked, with the line and column of the offending call.
func TestSandbox(t *testing.T) {
	rule := func(body string) string {
		return "package wsdefaults.custom.x\n\nviolation contains {\"field\": \"f\", \"message\": m} if {\n\t" + body + "\n}\n"
	}
	for _, tt := range []struct{ name, rego, want string }{
		{"http.send", rule(`r := http.send({"method": "GET", "url": "http://example.com"}); m := r.body`), "4:7"},
		{"net.lookup_ip_addr", rule(`ips := net.lookup_ip_addr("example.com"); m := sprintf("%v", [ips])`), "4:9"},
		{"time.now_ns", rule(`m := sprintf("%d", [time.now_ns()])`), "4:22: undefined function time.now_ns"},
		{"rand.intn", rule(`m := sprintf("%d", [rand.intn("x", 10)])`), "4:22: undefined function rand.intn"},
		{"uuid.rfc4122", rule(`m := uuid.rfc4122("x")`), "4:7"},
		{"opa.runtime", rule(`m := sprintf("%v", [opa.runtime()])`), "4:22: undefined function opa.runtime"},
		{"io.jwt.encode_sign", rule(`m := io.jwt.encode_sign({}, {}, {})`), "4:7"},
		{"io.jwt.verify_hs256", rule(`io.jwt.verify_hs256("t", "k"); m := "x"`), "4:2"},
		{"trace", rule(`trace("hello"); m := "x"`), "4:2"},
		{"package outside wsdefaults.custom", "package wsdefaults.rules.mine\n\nviolation contains {\"field\": \"f\", \"message\": \"m\"} if true\n", "1:1: package wsdefaults.rules.mine is outside wsdefaults.custom"},
		{"data outside the library", rule(`some r in data.wsdefaults.rules; m := sprintf("%v", [r])`), "data.wsdefaults.rules"},
		{"import outside the library", "package wsdefaults.custom.x\n\nimport data.kubernetes\n\nviolation contains {\"field\": \"f\", \"message\": \"m\"} if true\n", "3:1: import data.kubernetes"},
		{"syntax error", "package wsdefaults.custom.x\n\nviolation contains {\"field\": f if {\n", "3:"},
		{"no violation rule", "package wsdefaults.custom.x\n\ndeny contains \"m\" if true\n", `defines no "violation" rule`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := PrepareCustom(context.Background(), []CustomRule{{ID: "ok-rule", Action: v1alpha1.ActionWarn, Rego: teamRule}, {ID: "bad", Rego: tt.rego}})
			if err == nil {
				t.Fatal("refused rule compiled")
			}
			if !strings.Contains(err.Error(), "spec.customRules[1].rego: ") || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "customRules[0]") {
				t.Errorf("error %q lacks spec.customRules[1].rego and %q", err, tt.want)
			}
		})
	}
	t.Run("two rules in one package", func(t *testing.T) {
		_, err := PrepareCustom(context.Background(), []CustomRule{{ID: "a", Rego: teamRule}, {ID: "b", Rego: teamRule}})
		if err == nil || !strings.Contains(err.Error(), "spec.customRules[1].rego: 1:1: package wsdefaults.custom.team_max_cookie_age is also spec.customRules[0]'s") {
			t.Errorf("error %v", err)
		}
	})
}

// TestPrintIsDropped: print() compiles (so rules written for `opa test`
// load) but the engine never enables print output: nothing is written.
func TestPrintIsDropped(t *testing.T) {
	rego := "package wsdefaults.custom.p\n\nviolation contains {\"field\": \"f\", \"message\": \"m\"} if {\n\tprint(\"hello\")\n\tinput.object.kind == \"Ingress\"\n}\n"
	set := custom(t, CustomRule{ID: "p", Action: v1alpha1.ActionWarn, Scope: v1alpha1.ScopeCluster, Rego: rego})
	policy := v1alpha1.BuiltinPolicy()
	vs, errs, err := engine.Evaluate(context.Background(), Input{Object: decode(t, ingress("nginx", nil))}, &policy, set)
	if err != nil || len(errs) != 0 || !hasRule(vs, "p") {
		t.Errorf("%v %v %v", vs, errs, err)
	}
}

func hasRule(vs []Violation, id string) bool {
	for _, v := range vs {
		if v.Rule == id {
			return true
		}
	}
	return false
}

// TestExpensiveRuleHitsDeadline: a rule that would run for minutes is cut
// at CustomEvaluationTimeout; the built-in rules' and the other custom
// rules' results still come back, and the slow rule is named.
func TestExpensiveRuleHitsDeadline(t *testing.T) {
	slow := CustomRule{ID: "slow", Action: v1alpha1.ActionDeny, Scope: v1alpha1.ScopeCluster, Severity: "low", Rego: `package wsdefaults.custom.slow

violation contains {"field": "spec", "message": "never"} if {
	some a in numbers.range(1, 100000)
	some b in numbers.range(1, 100000)
	a * b == -1
}
`}
	fast := CustomRule{ID: "team-max-cookie-age", Action: v1alpha1.ActionWarn, Scope: v1alpha1.ScopeCluster, Severity: "low", Rego: teamRule}
	policy := v1alpha1.BuiltinPolicy()
	obj := decode(t, ingress("nginx", map[string]string{nginx + "session-cookie-max-age": "172800", nginx + "server-snippet": "x"}))
	start := time.Now()
	vs, errs, err := engine.Evaluate(context.Background(), Input{Object: obj, Controller: "k8s.io/ingress-nginx"}, &policy, custom(t, slow, fast))
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	// Uncut, the slow rule runs for hours; cut, it stops at the limit. The
	// bound is loose so that a loaded machine (race detector, other builds)
	// does not fail it, and still tells the two apart.
	if took > CustomEvaluationTimeout+30*time.Second {
		t.Errorf("evaluation took %v, limit %v", took, CustomEvaluationTimeout)
	}
	if len(errs) == 0 || errs[0].Rule != "slow" || !strings.Contains(errs[0].Error(), "limit") {
		t.Errorf("rule errors %v", errs)
	}
	rules := map[string]bool{}
	for _, v := range vs {
		rules[v.Rule] = true
	}
	if !rules["nginx-snippet-annotation"] {
		t.Errorf("built-in results lost: %+v", vs)
	}
	// The fast rule runs after the slow one, when the budget is spent: it
	// is reported as not evaluated rather than silently dropped.
	if !rules["team-max-cookie-age"] && !hasRuleError(errs, "team-max-cookie-age") {
		t.Errorf("fast custom rule neither fired nor reported: %+v %v", vs, errs)
	}
}

func hasRuleError(errs []RuleError, id string) bool {
	for _, e := range errs {
		if e.Rule == id {
			return true
		}
	}
	return false
}

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := jsonUnmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestCustomRuleRuntimeErrors: a builtin that fails at run time fails the
// rule (a RuleError), never passes as "no violation"; so does a violation
// of the wrong shape computed at run time.
func TestCustomRuleRuntimeErrors(t *testing.T) {
	policy := v1alpha1.BuiltinPolicy()
	obj := decode(t, ingress("nginx", map[string]string{nginx + "session-cookie-max-age": "7d"}))
	rule := func(id, body string) CustomRule {
		return CustomRule{ID: id, Action: v1alpha1.ActionDeny, Scope: v1alpha1.ScopeCluster, Severity: "high",
			Rego: "package wsdefaults.custom." + strings.ReplaceAll(id, "-", "_") + "\n\nimport data.wsdefaults.lib\n\n" + body}
	}
	for _, tt := range []struct {
		rule CustomRule
		want string
	}{
		{rule("to-number", `violation contains {"field": "f", "message": "big"} if to_number(lib.nginx_annotations["session-cookie-max-age"]) > 86400`+"\n"), "to_number"},
		{rule("div-zero", `violation contains {"field": "f", "message": "m"} if 1 / count([]) > 0`+"\n"), "divide by zero"},
		{rule("string-set", `violation contains m if { m := "just a string"; input.object.kind == "Ingress" }`+"\n"), `violation holds the string "just a string"`},
		{rule("empty-message", `violation contains v if { v := {"field": "f", "message": ""}; input.object.kind == "Ingress" }`+"\n"), "without a message"},
	} {
		t.Run(tt.rule.ID, func(t *testing.T) {
			vs, errs, err := engine.Evaluate(context.Background(), Input{Object: obj, OptedIn: true, Controller: "k8s.io/ingress-nginx"}, &policy, custom(t, tt.rule))
			if err != nil {
				t.Fatal(err)
			}
			if hasRule(vs, tt.rule.ID) {
				t.Errorf("violation reported: %v", vs)
			}
			if len(errs) != 1 || errs[0].Rule != tt.rule.ID || !strings.Contains(errs[0].Error(), tt.want) {
				t.Errorf("rule errors %v, want one saying %q", errs, tt.want)
			}
		})
	}
}

// TestViolationShapeChecked: a violation rule that cannot produce
// {"field", "message"} objects is refused when compiled.
func TestViolationShapeChecked(t *testing.T) {
	for body, want := range map[string]string{
		`violation := {"field": "f", "message": "m"}`:                               "violation must be a set of objects",
		`violation if input.object.kind == "Ingress"`:                               "violation must be a set of objects",
		`violation contains {"field": "f", "msg": "m"} if input.object.kind == "x"`: `violation has key "msg"`,
		`violation contains {"field": "f"} if input.object.kind == "x"`:             `violation has no "message"`,
	} {
		errs := CheckCustomRules([]CustomRule{{ID: "shape", Rego: "package wsdefaults.custom.shape\n\n" + body + "\n"}})
		found := false
		for _, e := range errs {
			if strings.Contains(e.Error(), want) && e.Line == 3 {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: errors %v, want one at line 3 saying %q", body, errs, want)
		}
	}
}
