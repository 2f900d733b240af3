package policy

import (
	"context"
	"strings"
	"sync"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
)

func ptr[T any](v T) *T { return &v }

func TestBuiltin(t *testing.T) {
	g := Builtin()
	if g.Source != SourceBuiltin || g.ObjectGeneration != 0 || g.Mutation == nil {
		t.Fatalf("built-in generation %+v", g)
	}
	if *g.Spec.Mutation.IdleTimeoutSeconds != v1alpha1.DefaultIdleTimeoutSeconds || len(g.Spec.Rules) != len(v1alpha1.BuiltinRules) {
		t.Error("built-in generation lacks its defaults")
	}
}

func TestCompileRefusesInvalidSpecs(t *testing.T) {
	_, err := Compile(v1alpha1.WebSocketPolicySpec{
		Rules:    map[string]v1alpha1.RuleSetting{"no-such-rule": {Action: v1alpha1.ActionWarn}},
		Mutation: v1alpha1.MutationSpec{IdleTimeoutSeconds: ptr(int32(0))},
	}, 3, "test")
	if err == nil {
		t.Fatal("an invalid spec compiled")
	}
	for _, want := range []string{"spec.rules[no-such-rule]", "spec.mutation.idleTimeoutSeconds"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

// TestStoreSwapIsAtomic: readers running while generations are swapped
// always see one whole generation (the spec and the mutation settings
// derived from it agree). Run with -race.
func TestStoreSwapIsAtomic(t *testing.T) {
	s := NewStore(nil)
	const generations = 200
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				g := s.Current()
				if g == nil {
					t.Error("store without a policy")
					return
				}
				if want := int32(3600 + g.ObjectGeneration); *g.Spec.Mutation.IdleTimeoutSeconds != want {
					t.Errorf("generation %d has idle timeout %d, want %d", g.ObjectGeneration, *g.Spec.Mutation.IdleTimeoutSeconds, want)
					return
				}
				if g.Mutation != g.Mutation || g.Spec.Rules == nil {
					t.Error("half-built generation")
					return
				}
			}
		}()
	}
	for i := int64(1); i <= generations; i++ {
		g, err := Compile(v1alpha1.WebSocketPolicySpec{Mutation: v1alpha1.MutationSpec{IdleTimeoutSeconds: ptr(int32(3600 + i))}}, i, "test")
		if err != nil {
			t.Fatal(err)
		}
		s.Set(g)
		s.Set(nil) // ignored: never leaves the store empty
	}
	close(stop)
	wg.Wait()
	if got := s.Current().ObjectGeneration; got != generations {
		t.Errorf("generation in effect %d, want %d", got, generations)
	}
}

func scheme(t *testing.T) *runtime.Scheme {
	s := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}

func policyObject(generation int64, uid string, spec v1alpha1.WebSocketPolicySpec) *v1alpha1.WebSocketPolicy {
	return &v1alpha1.WebSocketPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.PolicyName, Generation: generation, UID: types.UID(uid)},
		Spec:       spec,
	}
}

var defaultKey = reconcile.Request{NamespacedName: types.NamespacedName{Name: v1alpha1.PolicyName}}

// TestApplier walks one replica through a policy's life: applied, an
// invalid generation kept out, a valid one again, deleted and recreated.
func TestApplier(t *testing.T) {
	ctx := context.Background()
	c := fake.NewClientBuilder().WithScheme(scheme(t)).Build()
	store := NewStore(nil)
	a := &Applier{Reader: c, Store: store}
	reconcileOnce := func() {
		t.Helper()
		if _, err := a.Reconcile(ctx, defaultKey); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.CaughtUp(ctx); err != nil {
		t.Errorf("no policy: caught up at once, got %v", err)
	}
	idle := func(v int32) v1alpha1.WebSocketPolicySpec {
		return v1alpha1.WebSocketPolicySpec{Mutation: v1alpha1.MutationSpec{IdleTimeoutSeconds: &v}}
	}

	p := policyObject(1, "u1", idle(7200))
	if err := c.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := a.CaughtUp(ctx); err == nil {
		t.Error("caught up before the policy was applied")
	}
	reconcileOnce()
	if g := store.Current(); *g.Spec.Mutation.IdleTimeoutSeconds != 7200 || g.UID != "u1" {
		t.Fatalf("generation 1 not applied: %+v", g.Spec.Mutation)
	}
	if err := a.CaughtUp(ctx); err != nil {
		t.Error(err)
	}

	// An invalid generation is stored anyway (webhook down): kept out.
	bad := idle(0)
	bad.Rules = map[string]v1alpha1.RuleSetting{"no-such-rule": {}}
	setSpec(t, c, bad)
	reconcileOnce()
	if g := store.Current(); *g.Spec.Mutation.IdleTimeoutSeconds != 7200 {
		t.Fatalf("an invalid generation replaced a working one: %+v", g.Spec.Mutation)
	}
	if err := a.CaughtUp(ctx); err != nil {
		t.Errorf("a rejected generation still counts as processed: %v", err)
	}

	setSpec(t, c, idle(900))
	reconcileOnce()
	if got := *store.Current().Spec.Mutation.IdleTimeoutSeconds; got != 900 {
		t.Fatalf("valid generation after an invalid one: idle %d", got)
	}

	if err := c.Delete(ctx, policyObject(0, "", v1alpha1.WebSocketPolicySpec{})); err != nil {
		t.Fatal(err)
	}
	reconcileOnce()
	if store.Current().Source != SourceBuiltin {
		t.Fatalf("deleted policy: %s in effect", store.Current().Source)
	}

	// Recreated: generation 1 again, but a new object.
	if err := c.Create(ctx, policyObject(1, "u2", idle(1800))); err != nil {
		t.Fatal(err)
	}
	reconcileOnce()
	if g := store.Current(); *g.Spec.Mutation.IdleTimeoutSeconds != 1800 || g.UID != "u2" {
		t.Fatalf("recreated policy not applied: %+v", g.Spec.Mutation)
	}
}

// setSpec updates the stored policy's spec and bumps its generation, as
// the API server does.
func setSpec(t *testing.T, c client.Client, spec v1alpha1.WebSocketPolicySpec) {
	t.Helper()
	var p v1alpha1.WebSocketPolicy
	if err := c.Get(context.Background(), defaultKey.NamespacedName, &p); err != nil {
		t.Fatal(err)
	}
	p.Spec = spec
	p.Generation++
	if err := c.Update(context.Background(), &p); err != nil {
		t.Fatal(err)
	}
}

func TestStatusWriter(t *testing.T) {
	ctx := context.Background()
	c := fake.NewClientBuilder().WithScheme(scheme(t)).WithStatusSubresource(&v1alpha1.WebSocketPolicy{}).Build()
	store := NewStore(nil)
	w := &StatusWriter{Client: c, Store: store}
	a := &Applier{Reader: c, Store: store}
	if err := c.Create(ctx, policyObject(1, "u1", v1alpha1.WebSocketPolicySpec{})); err != nil {
		t.Fatal(err)
	}
	ready := func() (*metav1.Condition, int64) {
		t.Helper()
		for _, r := range []reconcile.Reconciler{a, w} {
			if _, err := r.Reconcile(ctx, defaultKey); err != nil {
				t.Fatal(err)
			}
		}
		var p v1alpha1.WebSocketPolicy
		if err := c.Get(ctx, defaultKey.NamespacedName, &p); err != nil {
			t.Fatal(err)
		}
		return meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionReady), p.Status.ObservedGeneration
	}
	cond, observed := ready()
	if cond == nil || cond.Status != metav1.ConditionTrue || cond.Reason != v1alpha1.ReasonApplied || cond.ObservedGeneration != 1 || observed != 1 {
		t.Fatalf("valid policy: %+v observed %d", cond, observed)
	}

	setSpec(t, c, v1alpha1.WebSocketPolicySpec{Rules: map[string]v1alpha1.RuleSetting{"no-such-rule": {}}})
	cond, observed = ready()
	if cond == nil || cond.Status != metav1.ConditionFalse || cond.Reason != v1alpha1.ReasonInvalid || observed != 2 ||
		!strings.Contains(cond.Message, "spec.rules[no-such-rule]") || !strings.Contains(cond.Message, "generation 1 stays in effect") {
		t.Fatalf("invalid policy: %+v observed %d", cond, observed)
	}

	// Deleted: nothing to write, no error.
	if err := c.Delete(ctx, policyObject(0, "", v1alpha1.WebSocketPolicySpec{})); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Reconcile(ctx, defaultKey); err != nil {
		t.Errorf("deleted policy: %v", err)
	}
	var gone v1alpha1.WebSocketPolicy
	if err := c.Get(ctx, defaultKey.NamespacedName, &gone); !apierrors.IsNotFound(err) {
		t.Errorf("status writer recreated the policy: %v", err)
	}
}

// TestCustomRuleFields: the custom rules' own fields are checked before
// any Rego is compiled, each error at its path.
func TestCustomRuleFields(t *testing.T) {
	ok := "package wsdefaults.custom.ok\n\nviolation contains {\"field\": \"f\", \"message\": \"m\"} if input.object.kind == \"Ingress\"\n"
	for _, tt := range []struct {
		name string
		rule v1alpha1.CustomRule
		want string
	}{
		{"built-in id", v1alpha1.CustomRule{ID: "tls-required", Rego: ok}, "spec.customRules[1].id: Duplicate value"},
		{"id pattern", v1alpha1.CustomRule{ID: "Team_Rule", Rego: ok}, "spec.customRules[1].id: Invalid value"},
		{"id too long", v1alpha1.CustomRule{ID: strings.Repeat("a", 64), Rego: ok}, "spec.customRules[1].id: Too long"},
		{"duplicate id", v1alpha1.CustomRule{ID: "ok", Rego: ok}, "also spec.customRules[0]"},
		{"action", v1alpha1.CustomRule{ID: "b", Action: "block", Rego: ok}, "spec.customRules[1].action: Unsupported value"},
		{"scope", v1alpha1.CustomRule{ID: "b", Scope: "everywhere", Rego: ok}, "spec.customRules[1].scope: Unsupported value"},
		{"severity", v1alpha1.CustomRule{ID: "b", Severity: "urgent", Rego: ok}, "spec.customRules[1].severity: Unsupported value"},
		{"no rego", v1alpha1.CustomRule{ID: "b"}, "spec.customRules[1].rego: Required value"},
		{"rego that does not compile", v1alpha1.CustomRule{ID: "b", Rego: "package wsdefaults.custom.b\n\nviolation contains x if {\n"}, "spec.customRules[1].rego: 4:0: unexpected eof"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(v1alpha1.WebSocketPolicySpec{CustomRules: []v1alpha1.CustomRule{{ID: "ok", Rego: ok}, tt.rule}}, 1, "test")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
	g, err := Compile(v1alpha1.WebSocketPolicySpec{CustomRules: []v1alpha1.CustomRule{{ID: "ok", Rego: ok}}}, 1, "test")
	if err != nil {
		t.Fatal(err)
	}
	if r := g.Spec.CustomRules[0]; r.Action != v1alpha1.ActionWarn || r.Scope != v1alpha1.ScopeOptedIn || r.Severity != "medium" || g.Custom.Len() != 1 {
		t.Errorf("defaults not filled: %+v", r)
	}
}
