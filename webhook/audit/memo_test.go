package audit

import (
	"fmt"
	"runtime"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/ws-defaults/ws-defaults/webhook/check"
	"github.com/ws-defaults/ws-defaults/webhook/validate"
)

// memoObject is a listed object as the memo sees it: uid and
// resourceVersion strings of their own (as JSON decoding makes them).
func memoObject(i int) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{}}
	u.SetAPIVersion("networking.k8s.io/v1")
	u.SetKind("Ingress")
	u.SetNamespace(fmt.Sprintf("team-%03d", i%100))
	u.SetName(fmt.Sprintf("app-%05d", i))
	u.SetUID(types.UID(fmt.Sprintf("%08x-1c2d-4e5f-8a9b-%012x", i, i)))
	u.SetResourceVersion(fmt.Sprint(100000 + i))
	return u
}

func memoVerdict(u *unstructured.Unstructured, findings bool) (*Object, []FindingKey) {
	o := &Object{Ref: corev1.ObjectReference{
		APIVersion: "networking.k8s.io/v1", Kind: u.GetKind(),
		Namespace: u.GetNamespace(), Name: u.GetName(), UID: u.GetUID(),
	}}
	if !findings {
		return o, nil
	}
	o.Result = check.Result{Violations: []validate.Violation{{Rule: "nginx-snippet", Action: "deny"}, {Rule: RuleDefaultsMissing, Action: "warn"}}}
	o.ReportHash = fmt.Sprintf("%032x", u.GetUID()[:8])
	return o, []FindingKey{{"nginx-snippet", "deny"}, {RuleDefaultsMissing, "warn"}}
}

// TestMemoMemory measures what the memo keeps per object (100k objects,
// one in four with findings): it must not grow with the size of an
// object or of its verdict. Not in -short.
func TestMemoMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("memory measurement")
	}
	const n = 100_000
	// Measured from before the objects exist to after they are gone: what
	// the memo keeps of them (strings it shares) counts.
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	objs := make([]*unstructured.Unstructured, n)
	for i := range objs {
		objs[i] = memoObject(i)
	}
	m := &Memo{}
	m.startPass()
	for i, u := range objs {
		o, f := memoVerdict(u, i%4 == 0)
		m.remember(u, uint64(i), o, f)
	}
	objs = nil
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("memo of %d objects: %.1f MiB (%.0f bytes per object)", n, float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), per)
	if m.Len() != n {
		t.Fatalf("memo holds %d, want %d", m.Len(), n)
	}
	// A fixed-size digest: key, versions, report hash, set index (before:
	// 339 bytes, the object's reference and strings).
	if per > 128 {
		t.Errorf("memo keeps %.0f bytes per object, want at most 128", per)
	}
	runtime.KeepAlive(m)
}

// TestMemoDigest: the digest gives back the verdict it was given (report
// hash and findings) while the object's resourceVersion and context stay,
// and misses when either changes; a report hash that is not Hash's is not
// kept; objects a complete pass did not see are forgotten.
func TestMemoDigest(t *testing.T) {
	m := &Memo{}
	m.startPass()
	a, b := memoObject(1), memoObject(2)
	oa, fa := memoVerdict(a, true)
	ob, fb := memoVerdict(b, false)
	m.remember(a, 7, oa, fa)
	m.remember(b, 7, ob, fb)

	got, ok := m.lookup(a, 7)
	if !ok || got.reportHash != oa.ReportHash || !slices.Equal(got.findings, fa) {
		t.Fatalf("lookup(a) = %+v, %v; want hash %q findings %v", got, ok, oa.ReportHash, fa)
	}
	if got, ok := m.lookup(b, 7); !ok || got.reportHash != "" || len(got.findings) != 0 {
		t.Fatalf("lookup(b) = %+v, %v; want a clean verdict", got, ok)
	}
	if _, ok := m.lookup(a, 8); ok {
		t.Error("a changed context hit the memo")
	}
	changed := memoObject(1)
	changed.SetResourceVersion("999999")
	if _, ok := m.lookup(changed, 7); ok {
		t.Error("a changed resourceVersion hit the memo")
	}
	other := memoObject(1)
	other.SetUID("another-uid")
	if _, ok := m.lookup(other, 7); ok {
		t.Error("another object (same name, new UID) hit the memo")
	}

	// The same finding set is kept once.
	c := memoObject(3)
	oc, fc := memoVerdict(c, true)
	m.remember(c, 7, oc, fc)
	if len(m.sets) != 2 { // none, and fa's
		t.Errorf("memo keeps %d finding sets, want 2", len(m.sets))
	}

	d := memoObject(4)
	od, fd := memoVerdict(d, true)
	od.ReportHash = "not-a-hash"
	m.remember(d, 7, od, fd)
	if _, ok := m.lookup(d, 7); ok {
		t.Error("a verdict with a foreign report hash was kept")
	}

	// Next pass sees only a: b and c are forgotten.
	m.startPass()
	if _, ok := m.lookup(a, 7); !ok {
		t.Fatal("lookup(a) missed in the second pass")
	}
	m.endPass()
	if m.Len() != 1 {
		t.Errorf("memo holds %d after a pass that saw one object, want 1", m.Len())
	}
}
