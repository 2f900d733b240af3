package check

import (
	"context"
	"fmt"
	"io"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
	"github.com/ws-defaults/ws-defaults/webhook/cluster"
	"github.com/ws-defaults/ws-defaults/webhook/edge"
	"github.com/ws-defaults/ws-defaults/webhook/evidence"
	"github.com/ws-defaults/ws-defaults/webhook/explain"
	"github.com/ws-defaults/ws-defaults/webhook/ingressclass"
	"github.com/ws-defaults/ws-defaults/webhook/kinds"
	"github.com/ws-defaults/ws-defaults/webhook/pipeline"
	"github.com/ws-defaults/ws-defaults/webhook/policy"
	"github.com/ws-defaults/ws-defaults/webhook/scope"
)

// checker judges objects one at a time, as the webhook would, against
// what it was shown of the rest of the input (observe): the input stands in
// for the cluster. It keeps only what decisions across objects read: the
// Namespaces (their labels decide opt-in), the IngressClasses, the
// cross-object evidence and Gateway API index (evidence.Set, the index
// `webhook serve` keeps: compact facts, never the objects), and for a
// route's path the LoadBalancer Services with status addresses and the
// Gateways' status addresses.
type checker struct {
	gen  *policy.Generation
	v    Validator
	pipe *pipeline.Pipeline
	snap *cluster.Snapshot
	// namespaces are the Namespace objects as read, by name.
	namespaces map[string]Object
	routes     *evidence.Set
	// lbs are the LoadBalancer Services with status addresses, as read,
	// mutated by ready into paths.LoadBalancers.
	lbs   []Object
	paths explain.Input
}

// newChecker compiles spec (the cluster policy; unset fields take the
// built-in defaults); custom rules' print() output goes to w.
func newChecker(spec v1alpha1.WebSocketPolicySpec, v Validator, w io.Writer) (*checker, error) {
	gen, err := policy.CompilePrinting(spec, 0, "--policy", w)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	c := &checker{
		gen: gen,
		v:   v,
		snap: &cluster.Snapshot{
			Namespaces: map[string]metav1.ObjectMeta{},
			// Not in the input: presumably meant for ws-defaults.
			Unlisted: &metav1.ObjectMeta{Labels: map[string]string{v1alpha1.OptInLabel: v1alpha1.OptInEnabled}},
		},
		namespaces: map[string]Object{},
		// Cross-object evidence comes from the other objects in the
		// input, as read (never from what the mutation adds): a Service
		// port that a WebSocket route in another file sends traffic to is
		// a WebSocket port.
		routes: evidence.NewSet(evidence.Options{NginxPrefix: gen.Spec.NginxAnnotationPrefix}),
		paths: explain.Input{
			Provider:             gen.Spec.Edge.Provider,
			NginxPrefix:          strings.TrimSuffix(gen.Spec.NginxAnnotationPrefix, "/") + "/",
			NamespaceLabels:      map[string]map[string]string{},
			NamespaceAnnotations: map[string]map[string]string{},
		},
	}
	c.pipe = &pipeline.Pipeline{Policies: policy.NewStore(c.gen), Cluster: c.snap, Routes: c.routes}
	return c, nil
}

// observe shows the checker one object of the input, before any is
// judged.
func (c *checker) observe(o Object) {
	switch gk := o.groupKind(); gk {
	case "Namespace.":
		c.namespaces[o.Name()] = o
		c.snap.Namespaces[o.Name()] = metav1.ObjectMeta{Name: o.Name(), Labels: o.Labels(), Annotations: o.Annotations()}
		c.paths.NamespaceLabels[o.Name()], c.paths.NamespaceAnnotations[o.Name()] = o.Labels(), o.Annotations()
	case "IngressClass.networking.k8s.io":
		ctrl, _ := nestedString(o.Object, "spec", "controller")
		c.snap.Classes = append(c.snap.Classes, ingressclass.Class{
			Name:       o.Name(),
			Controller: ctrl,
			Default:    o.Annotations()[ingressclass.DefaultClassAnnotation] == "true",
		})
	}
	c.routes.Add(o.Object, o.Namespace())
	if edge.IsLoadBalancer(o.Object) && len(edge.StatusAddresses(o.Object)) > 0 {
		c.lbs = append(c.lbs, o)
	} else {
		// A Gateway's status addresses (mutation leaves status alone).
		c.paths.Around(o.Object)
	}
}

// ready ends observing: the load balancers in front of routes are taken
// as they will be after mutation.
func (c *checker) ready(ctx context.Context) error {
	for _, o := range c.lbs {
		_, after, _, err := c.mutate(ctx, o)
		if err != nil {
			return err
		}
		c.paths.Around(after)
	}
	c.lbs = nil
	return nil
}

// judge mutates and validates o as the webhook would: through the
// admission pipeline, with the namespace, IngressClasses and evidence the
// input gives, the rules applied to the object after mutation.
func (c *checker) judge(ctx context.Context, o Object) (Result, error) {
	r, after, in, err := c.mutate(ctx, o)
	if err != nil {
		return Result{}, err
	}
	// The path of each WebSocket route, across objects (the load balancer
	// in front is another object).
	r.Path = explain.PathsOf(c.paths, explain.Object{Object: after, Evidence: r.Evidence, Controller: r.Controller})
	if c.v != nil {
		vs, err := c.v.Validate(ctx, after, in)
		if err != nil {
			return Result{}, fmt.Errorf("%s: validating: %w", r.where, err)
		}
		if vs != nil {
			r.Violations = vs
		}
	}
	return r, nil
}

// mutate is the first half of judge: the Result without path and
// violations, the object after mutation and what the Validator gets.
func (c *checker) mutate(ctx context.Context, o Object) (r Result, after map[string]any, in Input, err error) {
	obj, err := pipeline.Decode("CREATE", o.Namespace(), o.Raw, nil)
	if err != nil {
		return r, nil, in, fmt.Errorf("%s: %w", o.Where(), err)
	}
	pc, err := c.pipe.Prepare(ctx, obj)
	if err != nil {
		return r, nil, in, fmt.Errorf("%s: %w", o.Where(), err)
	}
	if o.groupKind() == "Namespace." && !pc.Excluded {
		// The webhook's namespaceSelector matches a Namespace object
		// against its own labels.
		pc.SetMembership(scope.Of(o.Labels(), o.Labels()))
	}
	in = Input{Context: pc, Object: o}
	if ns, ok := c.namespaces[o.Namespace()]; ok {
		in.NamespaceObject = ns.Object
	}
	ops, res, err := c.pipe.Mutate(pc, obj)
	if err != nil {
		return r, nil, in, fmt.Errorf("%s: %w", o.Where(), err)
	}
	// Mutate changed obj.Object in place: it is the object the patch
	// makes (the differential test holds it to decoding mutated).
	after = obj.Object
	in.Added = res.Added
	warnings := res.Warnings
	if p := scope.LabelProblem(o.Labels()); p != "" {
		warnings = append(warnings, p)
	}
	notHandled := !kinds.Handles(o.APIVersion(), o.Kind()) && o.groupKind() != "Namespace."

	r = Result{
		Source:     o.Source,
		APIVersion: o.APIVersion(),
		Kind:       o.Kind(),
		Namespace:  o.Namespace(),
		Name:       o.Name(),
		OptedIn:    pc.OptedIn && !pc.Excluded && !notHandled,
		Excluded:   pc.Excluded,
		NotHandled: notHandled,
		Controller: pc.Controller,
		Patch:      ops,
		Added:      res.Added,
		Violations: []Violation{},
		Warnings:   warnings,
		Evidence:   pc.Evidence.Strings(),
		where:      o.Where(),
		file:       o.File,
		line:       o.Line,
		raw:        o.Raw,
	}
	if o.Item >= 0 {
		item := o.Item
		r.Item = &item
	}
	return r, after, in, nil
}
