package policies

import (
	"context"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/tester"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
)

// TestRego runs every *_test.rego with OPA's own test runner (what
// `opa test policies/` does), one Go subtest per Rego test.
func TestRego(t *testing.T) {
	results, err := tester.Run(context.Background(), ".")
	if err != nil {
		t.Fatalf("compiling policies: %v", err)
	}
	if len(results) == 0 {
		t.Fatal("no Rego tests found")
	}
	for _, r := range results {
		t.Run(r.Package+"."+r.Name, func(t *testing.T) {
			if r.Error != nil {
				t.Fatalf("%s: %v", r.Location, r.Error)
			}
			if r.Fail {
				t.Fatalf("%s failed", r.Location)
			}
		})
	}
}

var ruleID = regexp.MustCompile(`lib\.violation\(\s*"([a-z0-9-]+)"`)

// TestCatalogMatchesRego checks that every rule of the catalog has Rego that
// reports it and a Rego test that names it, and that Rego reports no rule
// the catalog lacks.
func TestCatalogMatchesRego(t *testing.T) {
	modules, err := Modules()
	if err != nil {
		t.Fatal(err)
	}
	inRego := map[string]string{}
	for name, src := range modules {
		for _, m := range ruleID.FindAllStringSubmatch(src, -1) {
			if prev, dup := inRego[m[1]]; dup && prev != name {
				t.Errorf("rule %s is reported from %s and %s: a rule lives in one file", m[1], prev, name)
			}
			inRego[m[1]] = name
		}
	}
	var ids []string
	for id := range v1alpha1.BuiltinRules {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		file, ok := inRego[id]
		if !ok {
			t.Errorf("rule %s is in the catalog but no Rego reports it", id)
			continue
		}
		test, err := os.ReadFile(strings.TrimSuffix(file, ".rego") + "_test.rego")
		if err != nil || !strings.Contains(string(test), `"`+id+`"`) {
			t.Errorf("rule %s has no test in %s", id, strings.TrimSuffix(file, ".rego")+"_test.rego")
		}
	}
	for id, file := range inRego {
		if _, ok := v1alpha1.BuiltinRules[id]; !ok {
			t.Errorf("%s reports rule %s, which is not in the catalog (api/v1alpha1/defaults.go)", file, id)
		}
	}
}
