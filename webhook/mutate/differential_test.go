package mutate

import (
	"encoding/json"
	"reflect"
	"testing"

	"gomodules.xyz/jsonpatch/v2"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
	"github.com/ws-defaults/ws-defaults/test/gen"
	"github.com/ws-defaults/ws-defaults/webhook/ingressclass"
)

// referencePatch is how PatchDecoded built the patch before it diffed in
// memory: encode the mutated object and let jsonpatch.CreatePatch diff the
// two documents. Kept as the reference the differential test holds the
// fast path to.
func referencePatch(raw []byte, env Env) ([]jsonpatch.JsonPatchOperation, Result, error) {
	obj, err := Decode(raw)
	if err != nil {
		return nil, Result{}, err
	}
	res, err := Mutate(obj, env)
	if err != nil || len(res.Added) == 0 {
		return []jsonpatch.JsonPatchOperation{}, res, err
	}
	mutated, err := json.Marshal(obj)
	if err != nil {
		return nil, res, err
	}
	ops, err := jsonpatch.CreatePatch(raw, mutated)
	if err != nil {
		return nil, res, err
	}
	stableOrder(ops)
	return ops, res, nil
}

// TestPatchDifferential runs thousands of generated objects (test/gen:
// every handled kind, kubectl's last-applied annotation, managedFields,
// status, planted mistakes) through the in-memory diff and the reference,
// under several environments: the patched objects must be the same, and so
// must what the mutation reports.
func TestPatchDifferential(t *testing.T) {
	n := 3000
	if testing.Short() {
		n = 1000
	}
	classes := make([]ingressclass.Class, 0, len(gen.IngressClasses))
	for name, controller := range gen.IngressClasses {
		classes = append(classes, ingressclass.Class{Name: name, Controller: controller})
	}
	low := v1alpha1.BuiltinPolicy()
	low.NginxAnnotationsRiskLevel = "Low"
	envs := map[string]Env{
		"builtin, no classes":    builtin,
		"builtin, classes":       withClasses(classes...),
		"low risk, traefik+kong": {Policy: low, IngressClasses: append(classes, ingressclass.Class{Name: "k", Controller: ingressclass.Kong})},
		"namespace overrides": {Policy: v1alpha1.BuiltinPolicy(), IngressClasses: classes,
			NamespaceAnnotations: map[string]string{v1alpha1.IdleTimeoutAnnotation: "600", v1alpha1.AffinityAnnotation: "off"}},
	}
	patched := 0
	for name, env := range envs {
		for i, o := range gen.Objects(uint64(7+len(name)), n) {
			raw, err := json.Marshal(o.Object)
			if err != nil {
				t.Fatal(err)
			}
			wantOps, wantRes, wantErr := referencePatch(raw, env)
			gotOps, gotRes, gotErr := Patch(raw, env)
			if (wantErr == nil) != (gotErr == nil) {
				t.Fatalf("%s #%d: error %v, reference %v", name, i, gotErr, wantErr)
			}
			if !reflect.DeepEqual(gotRes, wantRes) {
				t.Fatalf("%s #%d: result %+v, reference %+v", name, i, gotRes, wantRes)
			}
			if len(wantOps) == 0 {
				if len(gotOps) != 0 {
					t.Fatalf("%s #%d: patch %v where the reference has none", name, i, gotOps)
				}
				continue
			}
			patched++
			var want, got any
			if err := json.Unmarshal(applyOps(t, raw, wantOps), &want); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(applyOps(t, raw, gotOps), &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				g, _ := json.Marshal(gotOps)
				w, _ := json.Marshal(wantOps)
				t.Fatalf("%s #%d: patched objects differ\npatch:     %s\nreference: %s", name, i, g, w)
			}
		}
	}
	if patched < n {
		t.Errorf("only %d of %d objects were patched: the generator no longer exercises the rows", patched, 4*n)
	}
}
