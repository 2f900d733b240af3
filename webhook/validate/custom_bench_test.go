package validate

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
)

// twentyRules are 20 custom rules shaped like teamRule, each on its own
// annotation, so every one is evaluated on every Ingress.
func twentyRules() []CustomRule {
	rules := make([]CustomRule, 20)
	for i := range rules {
		pkg := fmt.Sprintf("team_rule_%d", i)
		rules[i] = CustomRule{ID: fmt.Sprintf("team-rule-%d", i), Action: v1alpha1.ActionWarn, Scope: v1alpha1.ScopeOptedIn, Severity: "medium",
			Rego: strings.NewReplacer("team_max_cookie_age", pkg, "session-cookie-max-age", fmt.Sprintf("team-key-%d", i)).Replace(teamRule)}
	}
	return rules
}

// BenchmarkCustomCompile is the cost of applying a generation with 20
// custom rules (once per policy change, never per request).
func BenchmarkCustomCompile(b *testing.B) {
	rules := twentyRules()
	for b.Loop() {
		if _, err := PrepareCustom(context.Background(), rules); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvaluateCustom compares one compliant Ingress judged by the
// built-in rules alone (the baseline) and with 20 custom rules.
func BenchmarkEvaluateCustom(b *testing.B) {
	set, err := PrepareCustom(context.Background(), twentyRules())
	if err != nil {
		b.Fatal(err)
	}
	policy := v1alpha1.BuiltinPolicy()
	var obj map[string]any
	if err := jsonUnmarshal([]byte(ingress("nginx", map[string]string{nginx + "proxy-read-timeout": "3600"})), &obj); err != nil {
		b.Fatal(err)
	}
	in := Input{Object: obj, OptedIn: true, Controller: "k8s.io/ingress-nginx"}
	for _, c := range []struct {
		name   string
		custom *CustomSet
	}{{"baseline-builtin-only", nil}, {"builtin-plus-20-custom", set}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := engine.Evaluate(context.Background(), in, &policy, c.custom); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
