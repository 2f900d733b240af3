package audit

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	orv1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
	"github.com/ws-defaults/ws-defaults/webhook/check"
	"github.com/ws-defaults/ws-defaults/webhook/evidence"
	"github.com/ws-defaults/ws-defaults/webhook/explain"
	"github.com/ws-defaults/ws-defaults/webhook/validate"
)

func object(vs ...check.Violation) *Object {
	return &Object{
		Ref:    corev1.ObjectReference{APIVersion: "networking.k8s.io/v1", Kind: "Ingress", Namespace: "chat", Name: "ws", UID: "u1"},
		Result: check.Result{Violations: vs},
	}
}

var (
	denyV  = check.Violation{Rule: "nginx-snippet-annotation", Action: v1alpha1.ActionDeny, Severity: "critical", Field: "metadata.annotations[x]", Message: "no snippets"}
	warnV  = check.Violation{Rule: "tls-required", Action: v1alpha1.ActionWarn, Severity: "medium", Field: "spec.tls", Message: "use TLS"}
	auditV = check.Violation{Rule: "affinity-hash-conflict", Action: v1alpha1.ActionAudit, Severity: "low", Field: "spec", Message: "conflict"}
)

// The Report says what interfaces.md says: name, namespace, label,
// ownerReference, scope, source, one result per finding with deny and
// audit as fail and warn as warn, properties and summary counts.
func TestBuildReportMapping(t *testing.T) {
	drift := DefaultsMissing(nil, []string{"nginx.ingress.kubernetes.io/proxy-read-timeout"})
	o := object(warnV, denyV, auditV, drift)
	o.RuleErrors = []validate.RuleError{{Rule: "custom-x", Err: context.DeadlineExceeded}}
	now := time.Unix(1700000000, 5)
	rep := BuildReport(o, now, 0)
	if rep.Name != "ws-defaults-u1" || rep.Namespace != "chat" {
		t.Errorf("name %s/%s", rep.Namespace, rep.Name)
	}
	if rep.Labels[ManagedByLabel] != "ws-defaults" {
		t.Errorf("labels %v", rep.Labels)
	}
	if len(rep.OwnerReferences) != 1 || rep.OwnerReferences[0].UID != "u1" || rep.OwnerReferences[0].Kind != "Ingress" || rep.OwnerReferences[0].APIVersion != "networking.k8s.io/v1" {
		t.Errorf("ownerReferences %+v", rep.OwnerReferences)
	}
	if rep.Source != "ws-defaults" || rep.Scope == nil || rep.Scope.Name != "ws" || rep.Scope.UID != "u1" {
		t.Errorf("source %q scope %+v", rep.Source, rep.Scope)
	}
	want := map[string]orv1.Result{
		"nginx-snippet-annotation": "fail", "affinity-hash-conflict": "fail", "tls-required": "warn",
		RuleDefaultsMissing: "warn", "custom-x": "error",
	}
	if len(rep.Results) != len(want) {
		t.Fatalf("%d results, want %d", len(rep.Results), len(want))
	}
	for _, r := range rep.Results {
		if r.Policy != "ws-defaults" || r.Source != "ws-defaults" {
			t.Errorf("%s: policy %q source %q", r.Rule, r.Policy, r.Source)
		}
		if r.Result != want[r.Rule] {
			t.Errorf("%s: result %q, want %q", r.Rule, r.Result, want[r.Rule])
		}
		if r.Timestamp.Seconds != now.Unix() {
			t.Errorf("%s: timestamp %v", r.Rule, r.Timestamp)
		}
	}
	first := rep.Results[0]
	if first.Rule != "nginx-snippet-annotation" || first.Severity != "critical" || first.Description != "no snippets" ||
		first.Properties["action"] != "deny" || first.Properties["field"] != "metadata.annotations[x]" {
		t.Errorf("first result (the critical fail) %+v", first)
	}
	for _, r := range rep.Results {
		if r.Rule == RuleDefaultsMissing && (!strings.Contains(r.Description, "proxy-read-timeout") || r.Properties["action"] != "warn") {
			t.Errorf("defaults-missing result %+v", r)
		}
	}
	if rep.Summary != (orv1.ReportSummary{Fail: 2, Warn: 2, Error: 1}) {
		t.Errorf("summary %+v", rep.Summary)
	}
	if rep.Annotations[HashAnnotation] == "" {
		t.Error("no content hash")
	}
}

// The hash ignores timestamps and the order findings came in, and changes
// with the findings.
func TestHashStable(t *testing.T) {
	a := BuildReport(object(denyV, warnV), time.Unix(1, 0), 0)
	b := BuildReport(object(warnV, denyV), time.Unix(99999, 0), 0)
	if a.Annotations[HashAnnotation] != b.Annotations[HashAnnotation] {
		t.Error("same findings at other times hash differently")
	}
	c := BuildReport(object(denyV), time.Unix(1, 0), 0)
	if a.Annotations[HashAnnotation] == c.Annotations[HashAnnotation] {
		t.Error("other findings hash the same")
	}
}

// A Report stays under the cap however many and however long the
// findings: messages are cut, the least important results dropped and
// counted in one report-truncated result.
func TestBuildReportSizeCap(t *testing.T) {
	var vs []check.Violation
	for i := range 2000 {
		v := warnV
		v.Rule = "custom-" + strings.Repeat("x", i%7)
		v.Message = strings.Repeat("long message ", 1000)
		vs = append(vs, v)
	}
	vs = append(vs, denyV)
	const limit = 100_000
	rep := BuildReport(object(vs...), time.Unix(1, 0), limit)
	b, _ := json.Marshal(rep)
	if len(b) > limit {
		t.Fatalf("report is %d bytes, cap %d", len(b), limit)
	}
	if rep.Results[0].Rule != denyV.Rule {
		t.Errorf("the deny finding was not kept first: %s", rep.Results[0].Rule)
	}
	last := rep.Results[len(rep.Results)-1]
	if last.Rule != RuleTruncated || !strings.Contains(last.Description, "more findings") {
		t.Errorf("last result %+v; want the truncation note", last)
	}
	for _, r := range rep.Results {
		if len(r.Description) > MaxMessageBytes+len("…") {
			t.Errorf("message of %d bytes", len(r.Description))
		}
	}
	// The default cap is below 1 MB.
	full := BuildReport(object(vs...), time.Unix(1, 0), 0)
	if b, _ := json.Marshal(full); len(b) >= 1_000_000 {
		t.Errorf("default-capped report is %d bytes", len(b))
	}
}

// countingClient counts successful writes to the API server.
func countingClient(t *testing.T, c client.WithWatch) (client.Client, *atomic.Int64) {
	var writes atomic.Int64
	return interceptor.NewClient(c, interceptor.Funcs{
		Create: func(ctx context.Context, cl client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			err := cl.Create(ctx, obj, opts...)
			if err == nil {
				writes.Add(1)
			}
			return err
		},
		Update: func(ctx context.Context, cl client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			err := cl.Update(ctx, obj, opts...)
			if err == nil {
				writes.Add(1)
			}
			return err
		},
		Delete: func(ctx context.Context, cl client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
			err := cl.Delete(ctx, obj, opts...)
			if err == nil {
				writes.Add(1)
			}
			return err
		},
	}), &writes
}

func syncOnce(t *testing.T, c client.Client, objs ...*Object) *Writer {
	t.Helper()
	w := &Writer{Client: c}
	if err := w.Load(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if err := w.Sync(context.Background(), o); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	return w
}

// A Report is created for an object with findings, not rewritten while
// its findings stay the same, updated when they change, and deleted once
// the object is clean.
func TestWriterWritesOnChangeOnly(t *testing.T) {
	c, writes := countingClient(t, world(t))
	key := client.ObjectKey{Namespace: "chat", Name: "ws-defaults-u1"}

	syncOnce(t, c, object(denyV))
	if writes.Load() != 1 {
		t.Fatalf("%d writes creating, want 1", writes.Load())
	}
	var rep orv1.Report
	if err := c.Get(context.Background(), key, &rep); err != nil {
		t.Fatal(err)
	}

	w := syncOnce(t, c, object(denyV))
	if writes.Load() != 1 || w.Writes.Unchanged.Load() != 1 {
		t.Fatalf("unchanged findings wrote: %d writes", writes.Load())
	}

	syncOnce(t, c, object(denyV, warnV))
	if writes.Load() != 2 {
		t.Fatalf("%d writes after a change, want 2", writes.Load())
	}
	if err := c.Get(context.Background(), key, &rep); err != nil || len(rep.Results) != 2 {
		t.Fatalf("updated report: %v, %d results", err, len(rep.Results))
	}

	syncOnce(t, c, object())
	if writes.Load() != 3 {
		t.Fatalf("%d writes after cleaning, want 3", writes.Load())
	}
	if err := c.Get(context.Background(), key, &rep); !apierrors.IsNotFound(err) {
		t.Fatalf("report of a clean object: %v", err)
	}

	// A clean object without a report costs nothing.
	syncOnce(t, c, object())
	if writes.Load() != 3 {
		t.Errorf("%d writes for a clean object without a report", writes.Load())
	}
}

// A Report refused because its namespace is being deleted does not fail
// the pass: the object goes with the namespace.
func TestWriterSkipsTerminatingNamespace(t *testing.T) {
	terminating := apierrors.NewForbidden(orv1.Resource("reports"), "ws-defaults-u1", errors.New("unable to create new content in namespace chat because it is being terminated"))
	terminating.ErrStatus.Details.Causes = []metav1.StatusCause{{Type: corev1.NamespaceTerminatingCause, Message: "namespace chat is being terminated", Field: "metadata.namespace"}}
	c := interceptor.NewClient(world(t), interceptor.Funcs{
		Create: func(context.Context, client.WithWatch, client.Object, ...client.CreateOption) error {
			return terminating
		},
	})
	w := &Writer{Client: c}
	if err := w.Load(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Sync(context.Background(), object(denyV)); err != nil {
		t.Errorf("Sync in a terminating namespace: %v, want nil", err)
	}
	other := interceptor.NewClient(world(t), interceptor.Funcs{
		Create: func(context.Context, client.WithWatch, client.Object, ...client.CreateOption) error {
			return apierrors.NewForbidden(orv1.Resource("reports"), "ws-defaults-u1", errors.New("no permission"))
		},
	})
	w = &Writer{Client: other}
	if err := w.Load(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Sync(context.Background(), object(denyV)); err == nil {
		t.Error("Sync refused for another reason: nil error, want it reported")
	}
}

// Sweep deletes the reports of objects the pass no longer saw, and only
// ours.
func TestWriterSweep(t *testing.T) {
	c, _ := countingClient(t, world(t))
	gone := object(denyV)
	gone.Ref.UID = types.UID("gone")
	syncOnce(t, c, object(denyV), gone)
	foreign := &orv1.Report{}
	foreign.Namespace, foreign.Name = "chat", "kyverno-report"
	if err := c.Create(context.Background(), foreign); err != nil {
		t.Fatal(err)
	}
	syncOnce(t, c, object(denyV))
	var list orv1.ReportList
	if err := c.List(context.Background(), &list); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range list.Items {
		names = append(names, r.Name)
	}
	if strings.Join(names, ",") != "kyverno-report,ws-defaults-u1" {
		t.Errorf("reports after sweep: %v", names)
	}
}

// The loop's pass writes reports for findings and none on a second pass
// over the same cluster.
func TestLoopPassWritesOnce(t *testing.T) {
	c, writes := countingClient(t, world(t))
	l := &Loop{Auditor: auditor(t, c.(client.WithWatch)), Client: c}
	p := l.RunOnce(context.Background())
	if p.Err != nil {
		t.Fatal(p.Err)
	}
	if p.Created != 2 || writes.Load() != 2 { // chat/drift and chat/snippet
		t.Fatalf("first pass created %d (%d writes), want 2", p.Created, writes.Load())
	}
	p = l.RunOnce(context.Background())
	if p.Err != nil || p.Created+p.Updated+p.Deleted != 0 || writes.Load() != 2 {
		t.Errorf("second pass wrote: %+v, %d writes", p, writes.Load())
	}
}

// Start returns once its context is cancelled, even between passes.
func TestLoopStopsOnCancel(t *testing.T) {
	c := world(t)
	passes := make(chan Pass, 10)
	l := &Loop{Auditor: auditor(t, c), Client: c, Passed: func(p Pass) { passes <- p }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- l.Start(ctx) }()
	if p := <-passes; p.Err != nil {
		t.Fatal(p.Err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Start: %v", err)
	}
	if !l.NeedLeaderElection() {
		t.Error("the loop must run on the leader only")
	}
}

// The loop remembers verdicts: a pass over an unchanged cluster judges
// nothing again and writes nothing; a deleted Report, a changed object or
// a changed namespace gets its object judged (and written) again.
func TestLoopRemembersVerdicts(t *testing.T) {
	base := world(t)
	c, writes := countingClient(t, base)
	l := &Loop{Auditor: auditor(t, c.(client.WithWatch)), Client: c}
	ctx := context.Background()
	run := func() Pass {
		t.Helper()
		p := l.RunOnce(ctx)
		if p.Err != nil {
			t.Fatal(p.Err)
		}
		return p
	}
	if p := run(); p.Stats.Remembered != 0 || p.Created != 2 {
		t.Fatalf("first pass: remembered %d, created %d", p.Stats.Remembered, p.Created)
	}
	p := run()
	if p.Stats.Remembered != 3 || writes.Load() != 2 {
		t.Fatalf("unchanged pass: remembered %d of 3, %d writes in all", p.Stats.Remembered, writes.Load())
	}
	if p.Stats.Findings[FindingKey{"nginx-snippet-annotation", "deny"}] != 1 || p.Stats.Objects["Ingress"] != 3 {
		t.Errorf("remembered verdicts not counted: %v %v", p.Stats.Findings, p.Stats.Objects)
	}

	// Someone deletes a Report: it comes back.
	rep := &orv1.Report{}
	rep.Namespace, rep.Name = "chat", "ws-defaults-uid-chat-snippet"
	if err := base.Delete(ctx, rep); err != nil {
		t.Fatal(err)
	}
	if p := run(); p.Created != 1 || p.Stats.Remembered != 2 {
		t.Errorf("after deleting a report: created %d, remembered %d", p.Created, p.Stats.Remembered)
	}

	// The namespace of other/plain opts in: it is judged again, drifted.
	ns := &corev1.Namespace{}
	if err := base.Get(ctx, client.ObjectKey{Name: "other"}, ns); err != nil {
		t.Fatal(err)
	}
	ns.Labels = map[string]string{v1alpha1.OptInLabel: v1alpha1.OptInEnabled}
	if err := base.Update(ctx, ns); err != nil {
		t.Fatal(err)
	}
	if p := run(); p.Created != 1 || p.Stats.Remembered != 2 {
		t.Errorf("after opting a namespace in: created %d, remembered %d", p.Created, p.Stats.Remembered)
	}

	// An object changes: judged again; fixed, its Report goes.
	ing := &networkingv1.Ingress{}
	if err := base.Get(ctx, client.ObjectKey{Namespace: "chat", Name: "snippet"}, ing); err != nil {
		t.Fatal(err)
	}
	delete(ing.Annotations, "nginx.ingress.kubernetes.io/server-snippet")
	if err := base.Update(ctx, ing); err != nil {
		t.Fatal(err)
	}
	if p := run(); p.Updated != 1 || p.Stats.Remembered != 2 {
		t.Errorf("after fixing the snippet (drift stays): updated %d, remembered %d", p.Updated, p.Stats.Remembered)
	}
	if l.memo.Len() != 3 {
		t.Errorf("memo holds %d entries, want 3", l.memo.Len())
	}
}

// Reports written by someone else between Load and Sync (another replica,
// `webhook audit --write-reports`) are compared, not fought over: the same
// content is left alone, other content replaced despite the stale
// resourceVersion.
func TestWriterWrittenSinceLoad(t *testing.T) {
	c, writes := countingClient(t, world(t))
	ctx := context.Background()
	w := &Writer{Client: c}
	if err := w.Load(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := (&Writer{Client: c}).Sync(ctx, object(denyV)); err != nil { // someone else
		t.Fatal(err)
	}
	if err := w.Sync(ctx, object(denyV)); err != nil {
		t.Fatalf("same content already there: %v", err)
	}
	if writes.Load() != 1 || w.Writes.Unchanged.Load() != 1 {
		t.Errorf("%d writes, %d unchanged; want the other writer's create only", writes.Load(), w.Writes.Unchanged.Load())
	}

	w = &Writer{Client: c}
	if err := w.Load(ctx, nil); err != nil {
		t.Fatal(err)
	}
	other := &Writer{Client: c}
	if err := other.Load(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := other.Sync(ctx, object(denyV, warnV)); err != nil { // bumps the resourceVersion
		t.Fatal(err)
	}
	if err := w.Sync(ctx, object(warnV)); err != nil {
		t.Fatalf("stale resourceVersion: %v", err)
	}
	var rep orv1.Report
	if err := c.Get(ctx, client.ObjectKey{Namespace: "chat", Name: "ws-defaults-u1"}, &rep); err != nil || len(rep.Results) != 1 || rep.Results[0].Rule != warnV.Rule {
		t.Errorf("report after the conflict: %v %+v", err, rep.Results)
	}
}

// A remembered verdict is not reused once the object's cross-object
// evidence changed (a route to a Service appears), though the object did
// not.
func TestLoopRejudgesOnNewEvidence(t *testing.T) {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "chat", Name: "chat", UID: "uid-svc"},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
	}
	base := world(t, svc)
	routes := evidence.NewSet(evidence.Options{})
	a := auditor(t, base)
	a.Routes = routes
	l := &Loop{Auditor: a, Client: base}
	ctx := context.Background()
	if p := l.RunOnce(ctx); p.Err != nil {
		t.Fatal(p.Err)
	}
	if p := l.RunOnce(ctx); p.Err != nil || p.Stats.Remembered != 4 {
		t.Fatalf("unchanged pass: remembered %d of 4 (%v)", p.Stats.Remembered, p.Err)
	}
	// The WebSocket Ingress chat/drift (path /ws) now counts as a route.
	ing := &networkingv1.Ingress{}
	if err := base.Get(ctx, client.ObjectKey{Namespace: "chat", Name: "drift"}, ing); err != nil {
		t.Fatal(err)
	}
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(ing)
	if err != nil {
		t.Fatal(err)
	}
	u["apiVersion"], u["kind"] = "networking.k8s.io/v1", "Ingress"
	routes.Add(u, "chat")
	p := l.RunOnce(ctx)
	if p.Err != nil {
		t.Fatal(p.Err)
	}
	if p.Stats.Remembered != 3 {
		t.Errorf("after new evidence: remembered %d, want 3 (the Service judged again)", p.Stats.Remembered)
	}
}

// A finding on an object with a WebSocket path carries the path's
// effective idle timeout and the hop that limits it.
func TestReportPathProperties(t *testing.T) {
	o := object(warnV)
	sixty, hour := int64(60), int64(3600)
	o.Result.Path = []explain.Route{
		{Route: "spec.rules[0].http.paths[0]", EffectiveIdleSeconds: &hour, LimitedBy: "controller"},
		{Route: "spec.rules[0].http.paths[1]", EffectiveIdleSeconds: &sixty, LimitedBy: "edge"},
	}
	rep := BuildReport(o, time.Unix(1, 0), 0)
	if p := rep.Results[0].Properties; p["effectiveIdleSeconds"] != "60" || p["limitedBy"] != "edge" {
		t.Errorf("properties %v", p)
	}
	o = object(warnV)
	if p := BuildReport(o, time.Unix(1, 0), 0).Results[0].Properties; p["effectiveIdleSeconds"] != "" || p["limitedBy"] != "" {
		t.Errorf("no path, properties %v", p)
	}
}
