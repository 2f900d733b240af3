package audit

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	orv1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
	"github.com/ws-defaults/ws-defaults/webhook/explain"
)

// Report metadata (interfaces.md "The audit loop in webhook serve").
const (
	ReportNamePrefix  = "ws-defaults-"
	ManagedByLabel    = "app.kubernetes.io/managed-by"
	ManagedBy         = "ws-defaults"
	ReportSource      = "ws-defaults"
	ReportPolicy      = "ws-defaults"
	HashAnnotation    = "ws-defaults.io/report-hash"
	RuleTruncated     = "report-truncated"
	MaxMessageBytes   = 4 << 10
	DefaultMaxBytes   = 900_000 // below etcd's 1 MiB (1.5 MB request) limits
	resultError       = orv1.Result("error")
	resultFail        = orv1.Result("fail")
	resultWarn        = orv1.Result("warn")
	propertyAction    = "action"
	propertyField     = "field"
	propertyPolicyGen = "policy-generation"
	// The object's WebSocket path (`webhook explain`): the smallest idle
	// timeout on it, in seconds, and the hop that sets it.
	propertyEffectiveIdle = "effectiveIdleSeconds"
	propertyLimitedBy     = "limitedBy"
)

// effectiveIdle is the smallest effective idle timeout over an object's
// WebSocket paths (in seconds, "none" when no hop has one) and the hop that
// limits it; ok is false when the object has no path or none is known.
func effectiveIdle(paths []explain.Route) (idle, limitedBy string, ok bool) {
	var best *int64
	for _, p := range paths {
		switch {
		case p.EffectiveIdleSeconds != nil && (best == nil || *p.EffectiveIdleSeconds < *best):
			best, limitedBy = p.EffectiveIdleSeconds, p.LimitedBy
		case best == nil && p.LimitedBy == "none":
			idle, limitedBy, ok = "none", "none", true
		}
	}
	if best != nil {
		return strconv.FormatInt(*best, 10), limitedBy, true
	}
	return idle, limitedBy, ok
}

// ReportName is the Report about the object with uid.
func ReportName(uid types.UID) string { return ReportNamePrefix + string(uid) }

// BuildReport is the Report about o (which must have findings), with its
// content hash annotated: a hash of the scope and results without
// timestamps, so an unchanged pass yields the same hash. maxBytes caps its
// JSON size (DefaultMaxBytes when 0): results are kept by importance and
// the rest summed up in one `report-truncated` result.
func BuildReport(o *Object, now time.Time, maxBytes int) *orv1.Report {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	results := make([]orv1.ReportResult, 0, len(o.Result.Violations)+len(o.RuleErrors))
	for _, v := range o.Result.Violations {
		r := orv1.ReportResult{
			Source:      ReportSource,
			Policy:      ReportPolicy,
			Rule:        v.Rule,
			Severity:    orv1.ResultSeverity(v.Severity),
			Result:      resultFail,
			Description: truncate(v.Message, MaxMessageBytes),
			Properties:  map[string]string{propertyAction: string(v.Action), propertyField: truncate(v.Field, MaxMessageBytes)},
		}
		if v.Action == v1alpha1.ActionWarn {
			r.Result = resultWarn
		}
		if idle, limitedBy, ok := effectiveIdle(o.Result.Path); ok {
			r.Properties[propertyEffectiveIdle], r.Properties[propertyLimitedBy] = idle, limitedBy
		}
		results = append(results, r)
	}
	for _, e := range o.RuleErrors {
		results = append(results, orv1.ReportResult{
			Source: ReportSource, Policy: ReportPolicy, Rule: e.Rule, Result: resultError,
			Description: truncate(e.Error(), MaxMessageBytes),
		})
	}
	// Most important first (fail, then error, then warn; by severity), so
	// truncation drops the least; then a stable order for the hash.
	slices.SortStableFunc(results, func(a, b orv1.ReportResult) int {
		return cmp.Or(
			cmp.Compare(resultRank(a.Result), resultRank(b.Result)),
			cmp.Compare(severityRank(a.Severity), severityRank(b.Severity)),
			cmp.Compare(a.Rule, b.Rule),
			cmp.Compare(a.Properties[propertyField], b.Properties[propertyField]),
			cmp.Compare(a.Description, b.Description),
		)
	})

	scope := o.Ref
	scope.ResourceVersion = ""
	rep := &orv1.Report{
		TypeMeta: metav1.TypeMeta{APIVersion: orv1.SchemeGroupVersion.String(), Kind: "Report"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      ReportName(o.Ref.UID),
			Namespace: o.Ref.Namespace,
			Labels:    map[string]string{ManagedByLabel: ManagedBy},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: o.Ref.APIVersion, Kind: o.Ref.Kind, Name: o.Ref.Name, UID: o.Ref.UID,
			}},
		},
		Source: ReportSource,
		Scope:  &scope,
	}
	ts := metav1.Timestamp{Seconds: now.Unix(), Nanos: int32(now.Nanosecond())}
	setResults := func(rs []orv1.ReportResult) {
		rep.Results = rs
		rep.Summary = orv1.ReportSummary{}
		for i := range rs {
			rs[i].Timestamp = ts
			switch rs[i].Result {
			case resultFail:
				rep.Summary.Fail++
			case resultWarn:
				rep.Summary.Warn++
			case resultError:
				rep.Summary.Error++
			}
		}
	}
	setResults(results)
	if size(rep) > maxBytes {
		// Keep as many results as fit beside a truncation note.
		all := results
		lo, hi := 0, len(all)
		for lo < hi {
			mid := (lo + hi + 1) / 2
			setResults(withTruncation(all, mid))
			if size(rep) <= maxBytes {
				lo = mid
			} else {
				hi = mid - 1
			}
		}
		setResults(withTruncation(all, lo))
	}
	rep.Annotations = map[string]string{HashAnnotation: Hash(rep)}
	return rep
}

func withTruncation(all []orv1.ReportResult, keep int) []orv1.ReportResult {
	out := slices.Clone(all[:keep])
	return append(out, orv1.ReportResult{
		Source: ReportSource, Policy: ReportPolicy, Rule: RuleTruncated, Result: resultWarn, Severity: "info",
		Description: fmt.Sprintf("%d more findings do not fit in this report (kept below 1 MB); run `webhook audit -n NAMESPACE` to see them all", len(all)-keep),
	})
}

func size(rep *orv1.Report) int {
	b, _ := json.Marshal(rep)
	return len(b)
}

// Hash is the content hash of a Report: scope, source and results without
// their timestamps.
func Hash(rep *orv1.Report) string {
	results := slices.Clone(rep.Results)
	for i := range results {
		results[i].Timestamp = metav1.Timestamp{}
	}
	b, _ := json.Marshal(struct {
		Scope   any
		Source  string
		Results []orv1.ReportResult
	}{rep.Scope, rep.Source, results})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary.
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

func resultRank(r orv1.Result) int {
	switch r {
	case resultFail:
		return 0
	case resultError:
		return 1
	default:
		return 2
	}
}

func severityRank(s orv1.ResultSeverity) int {
	switch s {
	case "critical":
		return 0
	case "high":
		return 1
	case "medium":
		return 2
	case "low":
		return 3
	default:
		return 4
	}
}

// Writes counts what a Writer did to the API server.
type Writes struct {
	Created, Updated, Deleted, Unchanged atomic.Int64
}

// Writer keeps one Report per object with findings: it creates or updates
// it only when its content hash changed, and deletes it once the object is
// clean. Load it with the existing reports before a pass; Sync each judged
// object; Sweep after a complete pass deletes the reports of objects the
// pass did not see (Kubernetes garbage-collects those of deleted objects
// anyway, through the ownerReference).
type Writer struct {
	Client client.Client
	// MaxBytes caps each Report's size (DefaultMaxBytes when 0).
	MaxBytes int
	// Now is the clock for result timestamps (time.Now when nil).
	Now func() time.Time
	// OnWrite is told of each write ("create", "update", "delete").
	OnWrite func(op string)

	Writes Writes

	mu       sync.Mutex
	existing map[types.NamespacedName]existing
}

type existing struct {
	hash, resourceVersion string
	seen                  bool
}

// Load lists the existing ws-defaults reports (metadata only, in pages) in
// namespaces (all when empty).
func (w *Writer) Load(ctx context.Context, namespaces []string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.existing = map[types.NamespacedName]existing{}
	if len(namespaces) == 0 {
		namespaces = []string{metav1.NamespaceAll}
	}
	for _, ns := range namespaces {
		cont := ""
		for {
			list := &metav1.PartialObjectMetadataList{}
			list.SetGroupVersionKind(orv1.SchemeGroupVersion.WithKind("ReportList"))
			opts := []client.ListOption{client.MatchingLabels{ManagedByLabel: ManagedBy}, client.Limit(DefaultPageSize), client.Continue(cont)}
			if ns != "" {
				opts = append(opts, client.InNamespace(ns))
			}
			if err := w.Client.List(ctx, list, opts...); err != nil {
				return fmt.Errorf("listing reports: %w", err)
			}
			for _, r := range list.Items {
				w.existing[types.NamespacedName{Namespace: r.Namespace, Name: r.Name}] = existing{hash: r.Annotations[HashAnnotation], resourceVersion: r.ResourceVersion}
			}
			if cont = list.Continue; cont == "" {
				break
			}
		}
	}
	return nil
}

// Sync makes o's Report match its findings.
func (w *Writer) Sync(ctx context.Context, o *Object) error {
	key := types.NamespacedName{Namespace: o.Ref.Namespace, Name: ReportName(o.Ref.UID)}
	w.mu.Lock()
	old, exists := w.existing[key]
	if exists {
		old.seen = true
		w.existing[key] = old
	}
	w.mu.Unlock()

	o.ReportHash = ""
	if !o.HasFindings() {
		if !exists {
			return nil
		}
		return w.delete(ctx, key)
	}
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	rep := BuildReport(o, now(), w.MaxBytes)
	o.ReportHash = rep.Annotations[HashAnnotation]
	if exists && old.hash == rep.Annotations[HashAnnotation] {
		w.Writes.Unchanged.Add(1)
		return nil
	}
	if exists {
		rep.ResourceVersion = old.resourceVersion
		err := w.Client.Update(ctx, rep)
		if apierrors.IsConflict(err) {
			// Written since Load (another replica's last pass, or `webhook
			// audit --write-reports`): compare with what is there.
			return w.replace(ctx, key, rep)
		}
		if namespaceGoing(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("updating report %s: %w", key, err)
		}
		w.wrote("update")
		return nil
	}
	err := w.Client.Create(ctx, rep)
	if apierrors.IsAlreadyExists(err) {
		return w.replace(ctx, key, rep)
	}
	if namespaceGoing(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("creating report %s: %w", key, err)
	}
	w.wrote("create")
	return nil
}

// namespaceGoing reports a write refused because the object's namespace is
// being deleted (or is gone): the object and its Report go with it, so the
// pass goes on instead of failing for every other object.
func namespaceGoing(err error) bool {
	return apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) || apierrors.IsNotFound(err)
}

// replace writes rep over the Report at key unless that already has its
// content hash.
func (w *Writer) replace(ctx context.Context, key types.NamespacedName, rep *orv1.Report) error {
	cur := &orv1.Report{}
	if err := w.Client.Get(ctx, key, cur); err != nil {
		return fmt.Errorf("reading report %s: %w", key, err)
	}
	if cur.Annotations[HashAnnotation] == rep.Annotations[HashAnnotation] {
		w.Writes.Unchanged.Add(1)
		return nil
	}
	rep.ResourceVersion = cur.ResourceVersion
	if err := w.Client.Update(ctx, rep); err != nil {
		return fmt.Errorf("updating report %s: %w", key, err)
	}
	w.wrote("update")
	return nil
}

// Unchanged says whether the object ref's Report is as a verdict with
// reportHash ("" for no findings) left it: the Report exists with that hash,
// or, without findings, does not exist. It counts as seen for Sweep either
// way. Auditor.Unchanged in the serve loop.
func (w *Writer) Unchanged(_ context.Context, ref corev1.ObjectReference, reportHash string) bool {
	key := types.NamespacedName{Namespace: ref.Namespace, Name: ReportName(ref.UID)}
	w.mu.Lock()
	defer w.mu.Unlock()
	old, exists := w.existing[key]
	if exists {
		old.seen = true
		w.existing[key] = old
	}
	if reportHash == "" {
		return !exists
	}
	if exists && old.hash == reportHash {
		w.Writes.Unchanged.Add(1)
		return true
	}
	return false
}

// Sweep deletes the loaded reports that no Sync saw: their objects are
// gone or no longer audited (their namespace is now excluded). Call it only
// after a pass that listed everything.
func (w *Writer) Sweep(ctx context.Context) error {
	w.mu.Lock()
	var stale []types.NamespacedName
	for k, e := range w.existing {
		if !e.seen {
			stale = append(stale, k)
		}
	}
	w.mu.Unlock()
	for _, k := range stale {
		if err := w.delete(ctx, k); err != nil {
			return err
		}
	}
	return nil
}

func (w *Writer) delete(ctx context.Context, key types.NamespacedName) error {
	rep := &orv1.Report{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
	if err := w.Client.Delete(ctx, rep); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting report %s: %w", key, err)
	}
	w.wrote("delete")
	return nil
}

func (w *Writer) wrote(op string) {
	switch op {
	case "create":
		w.Writes.Created.Add(1)
	case "update":
		w.Writes.Updated.Add(1)
	case "delete":
		w.Writes.Deleted.Add(1)
	}
	if w.OnWrite != nil {
		w.OnWrite(op)
	}
}
