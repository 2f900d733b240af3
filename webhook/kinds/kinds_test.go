package kinds_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ws-defaults/ws-defaults/policies"
	"github.com/ws-defaults/ws-defaults/webhook/kinds"
	"github.com/ws-defaults/ws-defaults/webhook/mutate"
)

// TestMutationRowsMatchTable: a defaults row exists for exactly the kinds
// the table marks Mutated, so the webhook is called for every kind it
// defaults and for no other.
func TestMutationRowsMatchTable(t *testing.T) {
	var table []string
	for _, k := range kinds.Mutated() {
		table = append(table, k.GroupKind())
	}
	slices.Sort(table)
	if rows := mutate.Kinds(); !slices.Equal(rows, table) {
		t.Errorf("defaults rows %v, table's mutated kinds %v", rows, table)
	}
}

var (
	kindInRego  = regexp.MustCompile(`input\.object\.kind == "([A-Za-z]+)"`)
	groupInRego = regexp.MustCompile(`startswith\(input\.object\.apiVersion, "([a-z0-9.-]+)/"\)`)
)

// TestRuleKindsMatchTable: every kind a Rego rule reads is validated per
// the table (so the API server sends it), and every validated kind is read
// by some rule (so no object is sent for nothing).
func TestRuleKindsMatchTable(t *testing.T) {
	modules, err := policies.Modules()
	if err != nil {
		t.Fatal(err)
	}
	inRego := map[string]bool{}
	for name, src := range modules {
		if strings.HasSuffix(name, "_test.rego") {
			continue
		}
		for _, m := range kindInRego.FindAllStringSubmatch(src, -1) {
			inRego[m[1]] = true
		}
		for _, m := range groupInRego.FindAllStringSubmatch(src, -1) {
			inRego[kinds.Any+"."+m[1]] = true
		}
	}
	inTable := map[string]bool{}
	for _, k := range kinds.Validated() {
		key := k.Kind
		if k.Kind == kinds.Any {
			key = kinds.Any + "." + k.Group
		}
		inTable[key] = true
	}
	for k := range inRego {
		if !inTable[k] {
			t.Errorf("the rules read %s, which the table does not validate: the API server would never send it", k)
		}
	}
	for k := range inTable {
		if !inRego[k] {
			t.Errorf("the table validates %s, which no rule reads", k)
		}
	}
}

// TestTableIsWellFormed: every entry names its group's resource and at
// least one version, and is handled somehow.
func TestTableIsWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range kinds.Handled {
		if k.Resource == "" || k.Kind == "" || len(k.Versions) == 0 || (!k.Mutated && !k.Validated) {
			t.Errorf("incomplete entry %+v", k)
		}
		if seen[k.GroupKind()] {
			t.Errorf("%s listed twice", k.GroupKind())
		}
		seen[k.GroupKind()] = true
	}
}

func TestHandles(t *testing.T) {
	for _, tt := range []struct {
		apiVersion, kind string
		want             bool
	}{
		{"networking.k8s.io/v1", "Ingress", true},
		{"v1", "Service", true},
		{"v1", "ConfigMap", false},
		{"apps/v1", "Deployment", false},
		{"networking.istio.io/v1alpha3", "DestinationRule", true},
		{"traefik.containo.us/v1alpha1", "IngressRoute", true},
		{"networking.k8s.io/v1beta1", "Ingress", false},
	} {
		if got := kinds.Handles(tt.apiVersion, tt.kind); got != tt.want {
			t.Errorf("Handles(%s, %s) = %v", tt.apiVersion, tt.kind, got)
		}
	}
}
