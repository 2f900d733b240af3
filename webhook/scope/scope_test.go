package scope

import (
	"strings"
	"testing"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
)

func TestOf(t *testing.T) {
	l := func(v string) map[string]string { return map[string]string{v1alpha1.OptInLabel: v} }
	tests := []struct {
		name    string
		obj, ns map[string]string
		want    Membership
	}{
		{"no labels", nil, nil, Unlabelled},
		{"namespace enabled", nil, l("enabled"), In},
		{"namespace disabled", nil, l("disabled"), Out},
		{"object enabled in a plain namespace", l("enabled"), nil, In},
		{"object disabled in an enabled namespace", l("disabled"), l("enabled"), Out},
		{"object enabled in a disabled namespace", l("enabled"), l("disabled"), In},
		{"misspelt object label falls to the namespace", l("Enabled"), l("enabled"), In},
		{"misspelt namespace label opts nothing in", nil, l("true"), Unlabelled},
	}
	for _, tt := range tests {
		if got := Of(tt.obj, tt.ns); got != tt.want {
			t.Errorf("%s: Of = %v, want %v", tt.name, got, tt.want)
		}
		if got := OptedIn(tt.obj, tt.ns); got != (tt.want == In) {
			t.Errorf("%s: OptedIn = %v", tt.name, got)
		}
	}
}

func TestCeiling(t *testing.T) {
	e := v1alpha1.BuiltinPolicy().Enforcement
	for m, want := range map[Membership]v1alpha1.RuleAction{In: v1alpha1.ActionDeny, Unlabelled: v1alpha1.ActionWarn, Out: v1alpha1.ActionOff} {
		if got := Ceiling(m, e); got != want {
			t.Errorf("Ceiling(%v) = %s, want %s (built-in enforcement)", m, got, want)
		}
	}
	e = v1alpha1.EnforcementSpec{OutsideOptIn: v1alpha1.ActionAudit, OptedOut: v1alpha1.ActionDeny}
	if got := Ceiling(Unlabelled, e); got != v1alpha1.ActionAudit {
		t.Errorf("Ceiling(Unlabelled) = %s, want audit", got)
	}
	if got := Ceiling(Out, e); got != v1alpha1.ActionDeny {
		t.Errorf("Ceiling(Out) = %s, want deny", got)
	}
}

func TestLabelProblem(t *testing.T) {
	for v, want := range map[string]string{
		"enabled": "", "disabled": "",
		"Enabled":  `did you mean "enabled"`,
		"true":     `did you mean "enabled"`,
		"off":      `did you mean "disabled"`,
		"sometime": `use "enabled" or "disabled"`,
	} {
		got := LabelProblem(map[string]string{v1alpha1.OptInLabel: v})
		if (want == "") != (got == "") || !strings.Contains(got, want) {
			t.Errorf("LabelProblem(%q) = %q, want it to say %q", v, got, want)
		}
	}
	if got := LabelProblem(map[string]string{"app": "x"}); got != "" {
		t.Errorf("no label: %q", got)
	}
}
