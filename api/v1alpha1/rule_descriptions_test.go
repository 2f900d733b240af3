package v1alpha1

import (
	"strings"
	"testing"
)

// Every built-in rule is described, and nothing else is: a rule added to
// BuiltinRules without a description (or one removed from it) fails here.
func TestRuleDescriptionsCoverCatalog(t *testing.T) {
	for id := range BuiltinRules {
		d, ok := RuleDescriptions[id]
		if !ok {
			t.Errorf("%s: no entry in RuleDescriptions", id)
			continue
		}
		if d.Summary == "" || d.Fix == "" || strings.Contains(d.Summary, "\n") {
			t.Errorf("%s: want a one-line summary and a fix, got %+v", id, d)
		}
	}
	for id := range RuleDescriptions {
		if _, ok := BuiltinRules[id]; !ok {
			t.Errorf("%s: described but not in BuiltinRules", id)
		}
	}
}
