// Package pipeline is the one place where an object meets the cluster. It
// turns (object, cluster view, policy generation) into the Context that
// mutation and the rules consume: exclusion, the namespace's labels and
// annotations, opt-in, the IngressClasses and the resolved controller.
// Both admission handlers, `webhook check` (through cluster.Snapshot) and
// the audit judge objects through it, so they can never disagree.
package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"gomodules.xyz/jsonpatch/v2"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
	"github.com/ws-defaults/ws-defaults/webhook/cluster"
	"github.com/ws-defaults/ws-defaults/webhook/evidence"
	"github.com/ws-defaults/ws-defaults/webhook/ingressclass"
	"github.com/ws-defaults/ws-defaults/webhook/mutate"
	"github.com/ws-defaults/ws-defaults/webhook/policy"
	"github.com/ws-defaults/ws-defaults/webhook/scope"
	"github.com/ws-defaults/ws-defaults/webhook/validate"
)

// Policies gives the policy generation in effect.
type Policies interface {
	Current() *policy.Generation
}

// Pipeline judges objects. Its fields are set once; it is safe for
// concurrent use.
type Pipeline struct {
	Policies Policies
	Cluster  cluster.Reader
	// Rules evaluates the rule catalog; nil means no rules (mutation only).
	Rules *validate.Engine
	// OwnNamespace is the webhook's own namespace, never acted on.
	OwnNamespace string
	// Routes gives cross-object WebSocket evidence (the Services and routes
	// around an object); nil means the Cluster Reader's, when it implements
	// evidence.Index, else an object's own signals only.
	Routes evidence.Index
}

// Object is one object to judge, decoded once.
type Object struct {
	// Operation is "CREATE" or "UPDATE".
	Operation string
	// Namespace is the request's namespace ("" for cluster-scoped objects).
	Namespace string
	// Raw is the object as sent; Object is Raw decoded (and, after Mutate,
	// mutated in place).
	Raw    []byte
	Object map[string]any
	// OldObject is the stored object on UPDATE, nil otherwise.
	OldObject map[string]any
}

// Decode reads raw (and oldRaw, on update) into an Object.
func Decode(operation, namespace string, raw, oldRaw []byte) (*Object, error) {
	if len(raw) == 0 {
		return nil, fmt.Errorf("the request holds no object")
	}
	obj, err := mutate.Decode(raw)
	if err != nil {
		return nil, err
	}
	o := &Object{Operation: operation, Namespace: namespace, Raw: raw, Object: obj}
	if len(oldRaw) > 0 {
		if o.OldObject, err = mutate.Decode(oldRaw); err != nil {
			return nil, fmt.Errorf("oldObject: %w", err)
		}
	}
	return o, nil
}

// Labels are the object's labels.
func (o *Object) Labels() map[string]string {
	md, _ := o.Object["metadata"].(map[string]any)
	return evidence.StringMap(md["labels"])
}

// Context is everything about an object besides the object itself that
// mutation and the rules read. It is computed by Prepare.
type Context struct {
	// Policy is the generation in effect for this object, read once.
	Policy *policy.Generation
	// Excluded: the namespace is never acted on (system namespaces, the
	// webhook's own, the policy's excludedNamespaces); nothing else below
	// is filled in then.
	Excluded bool
	// Namespace is the object's namespace, with its labels and annotations
	// (nil when the namespace does not exist).
	Namespace            string
	NamespaceLabels      map[string]string
	NamespaceAnnotations map[string]string
	// OptedIn: the object gets mutation defaults and the opted-in rules.
	OptedIn bool
	// OptedOut: the object (or its namespace, when the object has no label
	// of its own) is labelled ws-defaults=disabled. Objects neither in nor
	// out get cluster-scope rules capped at spec.enforcement.outsideOptIn,
	// opted-out ones at spec.enforcement.optedOut (scope.Ceiling).
	OptedOut bool
	// IngressClasses are the cluster's; Controller is the resolved ingress
	// controller of an Ingress, or the GatewayClass controllerNames serving
	// a Gateway API route or implementation policy, comma-separated ("" for
	// other kinds or when unknown).
	IngressClasses []ingressclass.Class
	Controller     string
	// Evidence says which routes and ports of the object carry WebSocket,
	// and why (interfaces.md "WebSocket evidence"); nil when Excluded.
	Evidence *evidence.Evidence
}

// Prepare computes o's Context. On an error reading the cluster it returns
// the Context as far as it got, with OptedIn decided by the object's own
// label, so callers can choose to fail open or closed.
func (p *Pipeline) Prepare(ctx context.Context, o *Object) (*Context, error) {
	gen := p.Policies.Current()
	c := &Context{Policy: gen, Namespace: o.Namespace}
	if scope.Excluded(o.Namespace, p.OwnNamespace, gen.Spec.ExcludedNamespaces) {
		c.Excluded = true
		// Only reported (by check and the audit), so best effort: an excluded
		// object is never failed for a cluster read.
		if classes, err := p.Cluster.IngressClasses(ctx); err == nil {
			c.IngressClasses = classes
			c.Controller = ingressclass.ForObject(o.Object, classes).Controller
		}
		return c, nil
	}
	labels := o.Labels()
	var err error
	if c.NamespaceLabels, c.NamespaceAnnotations, err = p.Cluster.Namespace(ctx, o.Namespace); err != nil {
		c.SetMembership(scope.Of(labels, nil))
		return c, err
	}
	c.SetMembership(scope.Of(labels, c.NamespaceLabels))
	if c.IngressClasses, err = p.Cluster.IngressClasses(ctx); err != nil {
		return c, err
	}
	c.Controller = ingressclass.ForObject(o.Object, c.IngressClasses).Controller
	c.Evidence = evidence.Of(o.Object, p.routes(), evidence.Options{NginxPrefix: gen.Spec.NginxAnnotationPrefix, Namespace: o.Namespace})
	if g := c.Evidence.Gateway; g != nil {
		// A Gateway API route or implementation policy: what serves it, as
		// `webhook check` reports it (the rules read input.gateway).
		c.Controller = strings.Join(g.Controllers, ",")
	}
	return c, nil
}

// SetMembership sets OptedIn and OptedOut from m.
func (c *Context) SetMembership(m scope.Membership) {
	c.OptedIn, c.OptedOut = m == scope.In, m == scope.Out
}

// Membership is where the object stands: in, out, or neither.
func (c *Context) Membership() scope.Membership {
	return scope.FromFlags(c.OptedIn, c.OptedOut)
}

// routes is the cross-object evidence index: Routes, or the cluster
// Reader when it also serves as one.
func (p *Pipeline) routes() evidence.Index {
	if p.Routes != nil {
		return p.Routes
	}
	if idx, ok := p.Cluster.(evidence.Index); ok {
		return idx
	}
	return nil
}

// Mutate adds the defaults to an opted-in object (in place) and returns the
// JSON patch from o.Raw. Objects that are excluded or not opted in get none.
func (p *Pipeline) Mutate(c *Context, o *Object) ([]jsonpatch.JsonPatchOperation, mutate.Result, error) {
	if c.Excluded || !c.OptedIn {
		return []jsonpatch.JsonPatchOperation{}, mutate.Result{Controller: c.Controller}, nil
	}
	env := mutate.Env{Base: c.Policy.Mutation, IngressClasses: c.IngressClasses, NamespaceAnnotations: c.NamespaceAnnotations, Evidence: c.Evidence}
	return mutate.PatchDecoded(o.Raw, o.Object, env)
}

// Validate evaluates the built-in rules and the generation's custom rules
// on o.Object (after mutation) under the generation and scope in c.
// Excluded objects get no rule, and neither do objects outside opt-in
// whose cap (scope.Ceiling) is off. Custom rules that could not be
// evaluated come back as RuleErrors beside the violations.
func (p *Pipeline) Validate(ctx context.Context, c *Context, o *Object) ([]validate.Violation, []validate.RuleError, error) {
	if c.Excluded || p.Rules == nil || scope.Ceiling(c.Membership(), c.Policy.Spec.Enforcement) == v1alpha1.ActionOff {
		return nil, nil, nil
	}
	op := o.Operation
	if op == "" {
		op = "CREATE"
	}
	in := validate.Input{
		Operation:           op,
		Object:              o.Object,
		OldObject:           o.OldObject,
		Namespace:           c.Namespace,
		NamespaceLabels:     c.NamespaceLabels,
		NamespaceAnnotation: c.NamespaceAnnotations,
		Controller:          c.Controller,
		OptedIn:             c.OptedIn,
		OptedOut:            c.OptedOut,
		Defaulted:           validate.DefaultedKeys(o.Object),
		Evidence:            c.Evidence,
	}
	return p.Rules.Evaluate(ctx, in, &c.Policy.Spec, c.Policy.Custom)
}

// Mutated is o.Object encoded again, after Mutate.
func (o *Object) Mutated() ([]byte, error) { return json.Marshal(o.Object) }
