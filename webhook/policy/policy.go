// Package policy holds the cluster policy in effect: a Generation is one
// WebSocketPolicy, validated, with every default filled and the values
// mutation reads derived once; a Store swaps generations atomically, so a
// request reads exactly one of them from start to end and never a mix.
package policy

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"

	"k8s.io/apimachinery/pkg/types"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
	"github.com/ws-defaults/ws-defaults/webhook/mutate"
	"github.com/ws-defaults/ws-defaults/webhook/validate"
)

// SourceBuiltin names the built-in policy, in effect when no
// WebSocketPolicy object exists.
const SourceBuiltin = "built-in"

// Generation is one applied policy. It is immutable once built: readers
// share it without locks.
type Generation struct {
	// Spec is the policy with every default filled in.
	Spec v1alpha1.WebSocketPolicySpec
	// ObjectGeneration is metadata.generation of the WebSocketPolicy it
	// came from; 0 for the built-in policy.
	ObjectGeneration int64
	// UID is the object's UID ("" for the built-in policy): a deleted and
	// recreated policy starts again at generation 1.
	UID types.UID
	// Source says where it came from, for logs and messages: "built-in" or
	// "WebSocketPolicy/default".
	Source string
	// Mutation is what every mutation under this generation starts from.
	Mutation *mutate.Base
	// Custom are the policy's custom rules, compiled in the sandbox.
	Custom *validate.CustomSet
}

// Defaults are the installation's defaults for fields a WebSocketPolicy
// leaves unset, where they differ from the built-in ones: the chart's
// values, given to `webhook serve` as flags. The zero value changes
// nothing.
type Defaults struct {
	// OutsideOptIn fills spec.enforcement.outsideOptIn (--outside-opt-in).
	OutsideOptIn v1alpha1.RuleAction
}

// Validate reports a value the policy itself would refuse.
func (d Defaults) Validate() error {
	if errs := d.fill(v1alpha1.WebSocketPolicySpec{}).Validate(); len(errs) > 0 {
		return errs.ToAggregate()
	}
	return nil
}

func (d Defaults) fill(spec v1alpha1.WebSocketPolicySpec) v1alpha1.WebSocketPolicySpec {
	if spec.Enforcement.OutsideOptIn == "" {
		spec.Enforcement.OutsideOptIn = d.OutsideOptIn
	}
	return spec
}

// Builtin is the built-in policy, under d, as a generation.
func (d Defaults) Builtin() *Generation {
	g, err := Compile(d.fill(v1alpha1.WebSocketPolicySpec{}), 0, SourceBuiltin)
	if err != nil {
		panic(fmt.Sprintf("built-in policy is invalid: %v", err))
	}
	return g
}

// FromObject compiles a WebSocketPolicy object under d.
func (d Defaults) FromObject(p *v1alpha1.WebSocketPolicy) (*Generation, error) {
	q := *p
	q.Spec = d.fill(p.Spec)
	return FromObject(&q)
}

// Builtin is the built-in policy as a generation.
func Builtin() *Generation {
	g, err := Compile(v1alpha1.WebSocketPolicySpec{}, 0, SourceBuiltin)
	if err != nil {
		// The built-in values are constants checked by this package's tests.
		panic(fmt.Sprintf("built-in policy is invalid: %v", err))
	}
	return g
}

// Compile validates spec and builds its generation. An invalid spec gives
// an error naming every bad field and no generation, so it can never
// replace a working one.
func Compile(spec v1alpha1.WebSocketPolicySpec, objectGeneration int64, source string) (*Generation, error) {
	return CompilePrinting(spec, objectGeneration, source, nil)
}

// CompilePrinting is Compile with the custom rules' print() output written
// to w (validate.PrepareCustomPrinting), for `webhook test`.
func CompilePrinting(spec v1alpha1.WebSocketPolicySpec, objectGeneration int64, source string, w io.Writer) (*Generation, error) {
	if errs := spec.Validate(); len(errs) > 0 {
		return nil, errs.ToAggregate()
	}
	full := spec.WithDefaults()
	// Custom rules are compiled here, once per generation, in the sandbox;
	// one that does not compile keeps the whole generation out.
	custom, err := validate.PrepareCustomPrinting(context.Background(), CustomRules(full), w)
	if err != nil {
		return nil, err
	}
	return &Generation{
		Spec:             full,
		ObjectGeneration: objectGeneration,
		Source:           source,
		Mutation:         mutate.NewBase(full),
		Custom:           custom,
	}, nil
}

// CustomRules are spec's custom rules as the rule engine takes them.
func CustomRules(spec v1alpha1.WebSocketPolicySpec) []validate.CustomRule {
	out := make([]validate.CustomRule, len(spec.CustomRules))
	for i, r := range spec.CustomRules {
		out[i] = validate.CustomRule{ID: r.ID, Action: r.Action, Scope: r.Scope, Severity: r.Severity, Rego: r.Rego}
	}
	return out
}

// Admit is the policy webhook's verdict on a WebSocketPolicy: its name
// must be "default" (the only one read) and its spec must compile. `webhook
// check --policy` applies the same, so CI refuses what the cluster would.
func Admit(p *v1alpha1.WebSocketPolicy) (*Generation, error) {
	if p.Name != v1alpha1.PolicyName {
		return nil, fmt.Errorf("metadata.name: Invalid value: %q: ws-defaults reads only the WebSocketPolicy named %q", p.Name, v1alpha1.PolicyName)
	}
	return FromObject(p)
}

// FromObject compiles a WebSocketPolicy object.
func FromObject(p *v1alpha1.WebSocketPolicy) (*Generation, error) {
	g, err := Compile(p.Spec, p.Generation, "WebSocketPolicy/"+p.Name)
	if err != nil {
		return nil, err
	}
	g.UID = p.UID
	return g, nil
}

// Store holds the generation in effect.
type Store struct {
	current atomic.Pointer[Generation]
}

// NewStore starts with g, or the built-in policy when g is nil.
func NewStore(g *Generation) *Store {
	if g == nil {
		g = Builtin()
	}
	s := &Store{}
	s.current.Store(g)
	return s
}

// Current is the generation in effect. Callers read it once per request.
func (s *Store) Current() *Generation { return s.current.Load() }

// Set puts g in effect; a nil g is ignored, so nothing can leave the store
// without a policy.
func (s *Store) Set(g *Generation) {
	if g != nil {
		s.current.Store(g)
	}
}
