// Package audit judges the objects that already exist in a cluster, as
// admission would judge them today: `webhook audit` prints one pass like
// `webhook check`, and the leader of `webhook serve` runs a pass at start and
// every spec.audit.interval, writing OpenReports Reports (report.go) and
// metrics (loop.go).
//
// A pass lists every kind in kinds.Handled in pages (Limit/Continue, one
// page in memory at a time), from the API server rather than an informer, so
// 100k Ingresses and Services are never all held at once. Namespaces and
// IngressClasses are listed once per pass into a cluster.Snapshot, so
// judging an object reads nothing more from the API server. Each object goes
// through the admission pipeline (webhook/pipeline) — Prepare, Mutate,
// Validate — by a bounded number of workers. A non-empty patch is drift: the
// object lacks defaults the mutating webhook would add now, reported as the
// finding `defaults-missing` (action warn).
//
// Wildcard rows of kinds.Handled (Kind "*", e.g. the whole
// traefik.containo.us group) are skipped: listing them would need discovery
// of every kind in the group, and admission flags them on write anyway.
package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"

	"gomodules.xyz/jsonpatch/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
	"github.com/ws-defaults/ws-defaults/webhook/check"
	"github.com/ws-defaults/ws-defaults/webhook/cluster"
	"github.com/ws-defaults/ws-defaults/webhook/evidence"
	"github.com/ws-defaults/ws-defaults/webhook/explain"
	"github.com/ws-defaults/ws-defaults/webhook/ingressclass"
	"github.com/ws-defaults/ws-defaults/webhook/kinds"
	"github.com/ws-defaults/ws-defaults/webhook/pipeline"
	"github.com/ws-defaults/ws-defaults/webhook/policy"
	"github.com/ws-defaults/ws-defaults/webhook/validate"
)

// DefaultPageSize is the Limit of each list request (Gatekeeper's default).
const DefaultPageSize = 500

// RuleDefaultsMissing is the finding for drift (rules.md "Audit-only finding").
const RuleDefaultsMissing = "defaults-missing"

// Auditor runs audit passes. Its fields are set once.
type Auditor struct {
	// Reader lists objects, namespaces and IngressClasses; in `webhook
	// serve` the manager's API reader (never its cache).
	Reader client.Reader
	// Mapper resolves each handled kind to the version the cluster serves;
	// a kind the cluster does not serve is skipped.
	Mapper meta.RESTMapper
	// Policies gives the policy in effect; a pass uses the generation
	// current at its start throughout.
	Policies pipeline.Policies
	// Rules evaluates the rule catalog; nil means drift only.
	Rules *validate.Engine
	// OwnNamespace is the webhook's own namespace, never audited.
	OwnNamespace string
	// Namespaces limits the pass to these namespaces (`-n`); nil means all.
	Namespaces []string
	// Routes gives cross-object WebSocket evidence; nil means an object's
	// own signals only.
	Routes evidence.Index
	// PageSize is the Limit of each list (DefaultPageSize when 0).
	PageSize int64
	// Workers judge objects in parallel (4×GOMAXPROCS, at least 8, when
	// 0: they also wait on report writes).
	Workers int
	// Kinds are the kinds to audit (kinds.Handled when nil).
	Kinds []kinds.Kind
	// Memo, with Unchanged, lets a pass skip judging an object judged
	// before: same resourceVersion, same policy generation, namespace
	// labels and annotations, and IngressClasses. Unchanged must confirm
	// that what the last verdict wrote is still in place (the serve loop:
	// Writer.Unchanged); otherwise the object is judged again. The sink is
	// not called for a skipped object. Nil: judge every object.
	Memo      *Memo
	Unchanged func(ctx context.Context, ref corev1.ObjectReference, reportHash string) bool
	// Ordered calls the sink one object at a time in list order (kinds in
	// Kinds order, then as the API server lists them: by namespace and
	// name), holding at most a page and the workers' objects between the
	// list and the sink: for output that streams. The memo is not used.
	Ordered bool
	// Memory reads the heap's use and the soft memory limit
	// (ReadMemory when nil); see pageLimit.
	Memory func() (used, limit uint64)
}

// Object is the verdict on one object: check's Result (with the drift as a
// `defaults-missing` violation) and what a report about it needs.
type Object struct {
	Ref    corev1.ObjectReference
	Result check.Result
	// RuleErrors are custom rules that could not be evaluated for it.
	RuleErrors []validate.RuleError
	// ReportHash is the content hash of its Report ("" without findings),
	// set by Writer.Sync.
	ReportHash string
}

// HasFindings says whether the object gets a Report.
func (o *Object) HasFindings() bool { return len(o.Result.Violations) > 0 || len(o.RuleErrors) > 0 }

// Sink receives each judged object (not excluded ones). It is called from
// several workers at once.
type Sink func(ctx context.Context, o *Object) error

// FindingKey counts findings by rule and action.
type FindingKey struct{ Rule, Action string }

// Stats are a pass's counts.
type Stats struct {
	// Objects counts judged objects by kind.
	Objects map[string]int
	// Findings counts findings by rule and action (rule errors as action
	// "error").
	Findings map[FindingKey]int
	// Kinds lists the kinds listed, as "Kind.group/version"; Skipped those
	// the cluster does not serve, and wildcard rows.
	Kinds, Skipped []string
	// Policy is the policy generation the pass used.
	Policy *policy.Generation
	// Remembered counts objects not judged again (Memo).
	Remembered int
	// Resumed counts lists whose continue token expired and that went on
	// from the token the API server gave with the expiry; Relisted those
	// listed again from the start (skipping what was handed on).
	Resumed, Relisted int
	// Throttled counts pages made smaller, or waited for, because the heap
	// was near the memory limit (pressure.go).
	Throttled int
}

// Run does one pass, handing each judged object to sink. It returns an
// error when the cluster cannot be read (no permission, unreachable) or an
// object cannot be judged or sunk; it stops at the first such error.
func (a *Auditor) Run(ctx context.Context, sink Sink) (*Stats, error) {
	gen := a.Policies.Current()
	stats := &Stats{Objects: map[string]int{}, Findings: map[FindingKey]int{}, Policy: gen}
	snap, err := a.snapshot(ctx)
	if err != nil {
		return stats, err
	}
	pipe := &pipeline.Pipeline{
		Policies:     policy.NewStore(gen),
		Cluster:      snap,
		Rules:        a.Rules,
		OwnNamespace: a.OwnNamespace,
		Routes:       a.Routes,
	}
	pageSize := a.PageSize
	if pageSize <= 0 {
		pageSize = DefaultPageSize
	}
	workers := a.Workers
	if workers <= 0 {
		workers = max(8, 4*runtime.GOMAXPROCS(0))
	}

	fp := newFingerprints(gen, snap)
	if a.Memo != nil && !a.Ordered {
		a.Memo.startPass()
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var mu sync.Mutex
	// record counts o (and remembers its verdict) once the sink has it.
	record := func(it item, key uint64, o *Object) {
		var found []FindingKey
		for _, v := range o.Result.Violations {
			found = append(found, FindingKey{v.Rule, string(v.Action)})
		}
		for _, e := range o.RuleErrors {
			found = append(found, FindingKey{e.Rule, "error"})
		}
		if a.Memo != nil && !a.Ordered && len(o.RuleErrors) == 0 {
			// A rule that could not be evaluated (out of time) is tried
			// again next pass.
			a.Memo.remember(it.obj, key, o, found)
		}
		mu.Lock()
		stats.Objects[o.Ref.Kind]++
		for _, f := range found {
			stats.Findings[f]++
		}
		mu.Unlock()
	}
	fail := func(it item, err error) {
		cancel(fmt.Errorf("%s %s/%s: %w", it.kind, it.obj.GetNamespace(), it.obj.GetName(), err))
	}
	// The pipeline is bounded: the lister holds one page, items holds at
	// most a page more, each worker one object; with Ordered, window caps
	// the objects between the lister and the sink.
	items := make(chan item, pageSize)
	var out *orderer
	if a.Ordered {
		out = newOrderer(int(pageSize)+2*workers, func(it item, o *Object) {
			if ctx.Err() != nil {
				return
			}
			if err := sink(ctx, o); err != nil {
				fail(it, err)
				return
			}
			record(it, 0, o)
		})
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for it := range items {
				o, key, err := a.judgeItem(ctx, pipe, fp, it, stats, &mu)
				if out != nil {
					out.done(it, o)
					if err != nil {
						fail(it, err)
					}
					continue
				}
				if err == nil && o != nil {
					err = sink(ctx, o)
				}
				if err != nil {
					fail(it, err)
					continue
				}
				if o != nil {
					record(it, key, o)
				}
			}
		})
	}
	var window chan<- struct{}
	if out != nil {
		window = out.window
	}
	listErr := a.listAll(ctx, pageSize, stats, items, window)
	close(items)
	wg.Wait()
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return stats, cause
	}
	if listErr != nil {
		return stats, listErr
	}
	if err := ctx.Err(); err != nil {
		return stats, err
	}
	if a.Memo != nil && !a.Ordered {
		a.Memo.endPass()
	}
	return stats, nil
}

// judgeItem judges one listed object: nil for an excluded one and for one
// whose verdict the memo still holds (counted in stats here); key is its
// context key for the memo.
func (a *Auditor) judgeItem(ctx context.Context, pipe *pipeline.Pipeline, fp *fingerprints, it item, stats *Stats, mu *sync.Mutex) (*Object, uint64, error) {
	if ctx.Err() != nil {
		return nil, 0, nil // drain
	}
	obj, c, err := prepare(ctx, pipe, it)
	if err != nil || c.Excluded {
		return nil, 0, err
	}
	var key uint64
	if a.Memo != nil && a.Unchanged != nil && !a.Ordered {
		// The verdict also depends on the cross-object evidence (routes to
		// a Service), which the Context holds.
		key = contextKey(fp.of(it.obj.GetNamespace()), c)
		if e, ok := a.Memo.lookup(it.obj, key); ok {
			ref := corev1.ObjectReference{
				APIVersion: it.gvk.GroupVersion().String(), Kind: it.gvk.Kind,
				Namespace: it.obj.GetNamespace(), Name: it.obj.GetName(), UID: it.obj.GetUID(),
			}
			if a.Unchanged(ctx, ref, e.reportHash) {
				mu.Lock()
				stats.Objects[it.gvk.Kind]++
				for _, f := range e.findings {
					stats.Findings[f]++
				}
				stats.Remembered++
				mu.Unlock()
				return nil, key, nil
			}
		}
	}
	o, err := finish(ctx, pipe, it, obj, c)
	return o, key, err
}

type item struct {
	seq  uint64 // its place in list order
	kind string
	gvk  schema.GroupVersionKind
	obj  *unstructured.Unstructured
}

// listAll lists every served handled kind in pages into items; with a
// window, it takes a place in it for each item (Ordered).
func (a *Auditor) listAll(ctx context.Context, pageSize int64, stats *Stats, items chan<- item, window chan<- struct{}) error {
	ks := a.Kinds
	if ks == nil {
		ks = kinds.Handled
	}
	namespaces := a.Namespaces
	if len(namespaces) == 0 {
		namespaces = []string{metav1.NamespaceAll}
	}
	l := &lister{a: a, pageSize: pageSize, items: items, window: window}
	for _, k := range ks {
		if k.Kind == kinds.Any {
			stats.Skipped = append(stats.Skipped, k.Kind+"."+k.Group+" (wildcard)")
			continue
		}
		var versions []string
		if !(len(k.Versions) == 1 && k.Versions[0] == kinds.Any) {
			versions = k.Versions
		}
		m, err := a.Mapper.RESTMapping(schema.GroupKind{Group: k.Group, Kind: k.Kind}, versions...)
		if meta.IsNoMatchError(err) {
			stats.Skipped = append(stats.Skipped, k.GroupKind()+" (not served)")
			continue
		}
		if err != nil {
			return fmt.Errorf("resolving %s: %w", k.GroupKind(), err)
		}
		gvk := m.GroupVersionKind
		stats.Kinds = append(stats.Kinds, k.GroupKind()+"/"+gvk.Version)
		for _, ns := range namespaces {
			if err := l.listKind(ctx, gvk, ns); err != nil {
				return err
			}
		}
	}
	stats.Relisted, stats.Resumed, stats.Throttled = l.relisted, l.resumed, l.throttled
	return nil
}

// lister hands the listed objects on, in list order.
type lister struct {
	a        *Auditor
	pageSize int64
	items    chan<- item
	window   chan<- struct{}
	seq      uint64
	// relisted and resumed count expired continue tokens: lists started
	// again (skipping what was handed on) and lists resumed from the token
	// the expiry carried.
	relisted, resumed int
	// throttled counts pages shrunk or waited for (pressure.go).
	throttled int
}

// maxExpiries bounds how often one kind's list may expire without
// handing on a single object in between.
const maxExpiries = 3

// listKind lists one kind (in one namespace, or all) page by page. When a
// continue token has expired (410 ResourceExpired: etcd was compacted
// since the list began), it continues from the token the API server sends
// with the expiry (the rest of the list, as of now), or, when there is
// none, lists the kind again and skips what it already handed on: objects
// come in key order (namespace/name), so the pass neither starts over nor
// judges an object twice. This is client-go's pager's recovery without its
// full unpaged list.
func (l *lister) listKind(ctx context.Context, gvk schema.GroupVersionKind, ns string) error {
	// last is the key of the last object handed on; after a relist, skip
	// is the key up to which the new list repeats what was handed on.
	cont, last, skip := "", "", ""
	expiries := 0
	for {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		opts := []client.ListOption{client.Limit(l.pageLimit(ctx)), client.Continue(cont)}
		if ns != "" {
			opts = append(opts, client.InNamespace(ns))
		}
		if err := l.a.Reader.List(ctx, list, opts...); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if cont != "" && apierrors.IsResourceExpired(err) && expiries < maxExpiries {
				expiries++
				var status apierrors.APIStatus
				if errors.As(err, &status) && status.Status().Continue != "" {
					cont = status.Status().Continue
					l.resumed++
				} else {
					cont, skip = "", last
					l.relisted++
				}
				continue
			}
			return fmt.Errorf("listing %s: %w", gvk.Kind, err)
		}
		for i := range list.Items {
			u := &list.Items[i]
			key := u.GetNamespace() + "/" + u.GetName()
			if skip != "" {
				if key <= skip {
					continue // handed on before the list expired
				}
				skip = ""
			}
			last = key
			expiries = 0
			// managedFields are the bulk of a listed object and read by
			// nothing here.
			u.SetManagedFields(nil)
			u.SetGroupVersionKind(gvk)
			if l.window != nil {
				select {
				case l.window <- struct{}{}:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			select {
			case l.items <- item{seq: l.seq, kind: gvk.Kind, gvk: gvk, obj: u}:
				l.seq++
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		cont = list.GetContinue()
		if cont == "" {
			return nil
		}
	}
}

// snapshot lists namespaces (metadata only, in pages) and IngressClasses
// once, for the whole pass.
func (a *Auditor) snapshot(ctx context.Context) (*cluster.Snapshot, error) {
	snap := &cluster.Snapshot{Namespaces: map[string]metav1.ObjectMeta{}}
	keep := func(m metav1.ObjectMeta) {
		snap.Namespaces[m.Name] = metav1.ObjectMeta{Name: m.Name, Labels: m.Labels, Annotations: m.Annotations}
	}
	if len(a.Namespaces) > 0 {
		for _, name := range a.Namespaces {
			ns := &metav1.PartialObjectMetadata{}
			ns.SetGroupVersionKind(cluster.NamespaceGVK)
			if err := a.Reader.Get(ctx, client.ObjectKey{Name: name}, ns); err != nil {
				return nil, fmt.Errorf("reading namespace %s: %w", name, err)
			}
			keep(ns.ObjectMeta)
		}
	} else {
		cont := ""
		for {
			list := &metav1.PartialObjectMetadataList{}
			list.SetGroupVersionKind(cluster.NamespaceGVK.GroupVersion().WithKind("NamespaceList"))
			if err := a.Reader.List(ctx, list, client.Limit(DefaultPageSize), client.Continue(cont)); err != nil {
				return nil, fmt.Errorf("listing namespaces: %w", err)
			}
			for _, ns := range list.Items {
				keep(ns.ObjectMeta)
			}
			if cont = list.Continue; cont == "" {
				break
			}
		}
	}
	cont := ""
	for {
		var list networkingv1.IngressClassList
		if err := a.Reader.List(ctx, &list, client.Limit(DefaultPageSize), client.Continue(cont)); err != nil {
			return nil, fmt.Errorf("listing IngressClasses: %w", err)
		}
		for _, ic := range list.Items {
			snap.Classes = append(snap.Classes, ingressclass.Class{
				Name:       ic.Name,
				Controller: ic.Spec.Controller,
				Default:    ic.Annotations[ingressclass.DefaultClassAnnotation] == "true",
			})
		}
		if cont = list.Continue; cont == "" {
			break
		}
	}
	return snap, nil
}

// judge runs one object through the pipeline; nil for an excluded one.
func judge(ctx context.Context, pipe *pipeline.Pipeline, it item) (*Object, error) {
	obj, c, err := prepare(ctx, pipe, it)
	if err != nil || c.Excluded {
		return nil, err
	}
	return finish(ctx, pipe, it, obj, c)
}

// prepare decodes the object and computes its pipeline Context (cheap:
// no rule runs).
func prepare(ctx context.Context, pipe *pipeline.Pipeline, it item) (*pipeline.Object, *pipeline.Context, error) {
	raw, err := json.Marshal(it.obj.Object)
	if err != nil {
		return nil, nil, err
	}
	obj, err := pipeline.Decode("CREATE", it.obj.GetNamespace(), raw, nil)
	if err != nil {
		return nil, nil, err
	}
	c, err := pipe.Prepare(ctx, obj)
	if err != nil {
		return nil, nil, err
	}
	return obj, c, nil
}

// finish mutates and validates a prepared, not excluded object.
func finish(ctx context.Context, pipe *pipeline.Pipeline, it item, obj *pipeline.Object, c *pipeline.Context) (*Object, error) {
	u := it.obj
	ops, res, err := pipe.Mutate(c, obj)
	if err != nil {
		return nil, err
	}
	vs, ruleErrs, err := pipe.Validate(ctx, c, obj)
	if err != nil {
		return nil, err
	}
	if vs == nil {
		vs = []validate.Violation{}
	}
	if len(ops) > 0 {
		vs = append(vs, DefaultsMissing(ops, res.Added))
	}
	apiVersion := it.gvk.GroupVersion().String()
	o := &Object{
		Ref: corev1.ObjectReference{
			APIVersion: apiVersion, Kind: it.gvk.Kind,
			Namespace: u.GetNamespace(), Name: u.GetName(), UID: u.GetUID(),
		},
		Result: check.Result{
			Source:     check.SourceCluster,
			APIVersion: apiVersion,
			Kind:       it.gvk.Kind,
			Namespace:  u.GetNamespace(),
			Name:       u.GetName(),
			OptedIn:    c.OptedIn,
			Controller: c.Controller,
			Patch:      ops,
			Added:      res.Added,
			Violations: vs,
			Warnings:   res.Warnings,
			Evidence:   c.Evidence.Strings(),
		},
		RuleErrors: ruleErrs,
	}
	// The path of each WebSocket route or port (`webhook explain`), from
	// the object alone: the load balancer in front of a route is the
	// policy's spec.edge.provider here.
	spec := c.Policy.Spec
	o.Result.Path = explain.Paths(explain.Input{
		Objects:              []explain.Object{{Object: obj.Object, Evidence: o.Result.Evidence, Controller: c.Controller}},
		Provider:             spec.Edge.Provider,
		NginxPrefix:          strings.TrimSuffix(spec.NginxAnnotationPrefix, "/") + "/",
		NamespaceLabels:      map[string]map[string]string{u.GetNamespace(): c.NamespaceLabels},
		NamespaceAnnotations: map[string]map[string]string{u.GetNamespace(): c.NamespaceAnnotations},
	})
	where := it.gvk.Kind + " " + u.GetName()
	if ns := u.GetNamespace(); ns != "" {
		where = it.gvk.Kind + " " + ns + "/" + u.GetName()
	}
	o.Result.SetLocation(where, check.SourceCluster)
	return o, nil
}

// DefaultsMissing is the drift finding for an object the mutating webhook
// would patch with ops now; added names what it would add.
func DefaultsMissing(ops []jsonpatch.JsonPatchOperation, added []string) validate.Violation {
	what := added
	if len(what) == 0 {
		for _, op := range ops {
			what = append(what, op.Path)
		}
	}
	field := "metadata.annotations"
	if len(what) == 1 {
		field = what[0]
	}
	return validate.Violation{
		Rule:     RuleDefaultsMissing,
		Action:   v1alpha1.ActionWarn,
		Severity: "low",
		Field:    field,
		Message: fmt.Sprintf("the mutating webhook would add %s now: the object was created before it was opted in "+
			"or before a default changed, so it runs without them. Re-apply it (any update) to get them, or set them yourself.",
			strings.Join(what, ", ")),
	}
}

// Collect is a Sink that keeps every result, for `webhook audit`; Report
// gives them sorted (kind order, namespace, name) with their summary.
type Collect struct {
	mu      sync.Mutex
	objects []*Object
}

// Sink adds o.
func (c *Collect) Sink(_ context.Context, o *Object) error {
	c.mu.Lock()
	c.objects = append(c.objects, o)
	c.mu.Unlock()
	return nil
}

// Objects are the collected objects, sorted.
func (c *Collect) Objects() []*Object {
	c.mu.Lock()
	defer c.mu.Unlock()
	order := map[string]int{}
	for i, k := range kinds.Handled {
		order[k.Kind] = i
	}
	sort.Slice(c.objects, func(i, j int) bool {
		a, b := c.objects[i].Ref, c.objects[j].Ref
		if a.Kind != b.Kind {
			return order[a.Kind] < order[b.Kind]
		}
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
	return c.objects
}

// Report is check's report of the collected objects.
func (c *Collect) Report() *check.Report {
	objs := c.Objects()
	rep := &check.Report{Results: make([]check.Result, 0, len(objs))}
	for _, o := range objs {
		rep.Results = append(rep.Results, o.Result)
		rep.Summary.Count(&o.Result)
	}
	return rep
}
