package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strconv"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/ws-defaults/ws-defaults/webhook/cluster"
	"github.com/ws-defaults/ws-defaults/webhook/pipeline"
	"github.com/ws-defaults/ws-defaults/webhook/policy"
)

// Memo remembers the last verdict on each object, so that a pass over a
// cluster where nothing changed judges nothing (Auditor.Memo). It holds one
// small entry per audited object (its reference, resourceVersion, a context
// fingerprint, the report hash and the finding keys) and forgets objects a
// complete pass no longer saw. Safe for concurrent use.
type Memo struct {
	mu   sync.Mutex
	pass uint64
	m    map[types.UID]*memoEntry
}

type memoEntry struct {
	ref             corev1.ObjectReference
	resourceVersion string
	context         uint64
	reportHash      string
	findings        []FindingKey
	pass            uint64
}

func (m *Memo) startPass() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = map[types.UID]*memoEntry{}
	}
	m.pass++
}

// endPass forgets the objects this (complete) pass did not see.
func (m *Memo) endPass() {
	m.mu.Lock()
	defer m.mu.Unlock()
	maps.DeleteFunc(m.m, func(_ types.UID, e *memoEntry) bool { return e.pass != m.pass })
}

// lookup finds the verdict on u if u and its context are unchanged.
func (m *Memo) lookup(u *unstructured.Unstructured, context uint64) (*memoEntry, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.m[u.GetUID()]
	if !ok || e.resourceVersion != u.GetResourceVersion() || e.context != context {
		return nil, false
	}
	e.pass = m.pass
	return e, true
}

func (m *Memo) remember(u *unstructured.Unstructured, context uint64, o *Object, findings []FindingKey) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.m[u.GetUID()] = &memoEntry{
		ref: o.Ref, resourceVersion: u.GetResourceVersion(), context: context,
		reportHash: o.ReportHash, findings: findings, pass: m.pass,
	}
}

// Len is how many objects it remembers.
func (m *Memo) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.m)
}

// fingerprints hash what, besides an object, its verdict depends on: the
// policy generation, the IngressClasses and its namespace's labels and
// annotations (computed once per namespace per pass).
type fingerprints struct {
	base uint64
	snap *cluster.Snapshot
	mu   sync.Mutex
	ns   map[string]uint64
}

func newFingerprints(gen *policy.Generation, snap *cluster.Snapshot) *fingerprints {
	h := fnv.New64a()
	write := func(s string) { h.Write([]byte(s)); h.Write([]byte{0}) }
	// A generation is immutable: its address names it for as long as it is
	// in effect; a new one (even with the same spec) judges again.
	write(string(gen.UID))
	write(gen.Source)
	write(strconv.FormatInt(gen.ObjectGeneration, 10))
	write(fmt.Sprintf("%p", gen))
	for _, c := range snap.Classes {
		write(c.Name)
		write(c.Controller)
		if c.Default {
			write("default")
		}
	}
	return &fingerprints{base: h.Sum64(), snap: snap, ns: map[string]uint64{}}
}

func (f *fingerprints) of(namespace string) uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	if v, ok := f.ns[namespace]; ok {
		return v
	}
	h := fnv.New64a()
	var b [8]byte
	for i := range b {
		b[i] = byte(f.base >> (8 * i))
	}
	h.Write(b[:])
	labels, annotations, _ := f.snap.Namespace(context.TODO(), namespace)
	for _, m := range []map[string]string{labels, annotations} {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			h.Write([]byte(k))
			h.Write([]byte{0})
			h.Write([]byte(m[k]))
			h.Write([]byte{0})
		}
		h.Write([]byte{1})
	}
	v := h.Sum64()
	f.ns[namespace] = v
	return v
}

// contextKey is the namespace fingerprint combined with what the Context
// says about the object beyond it: opt-in, the resolved controller and the
// WebSocket evidence and Gateway API facts (which depend on other objects).
func contextKey(namespace uint64, c *pipeline.Context) uint64 {
	h := fnv.New64a()
	var b [8]byte
	for i := range b {
		b[i] = byte(namespace >> (8 * i))
	}
	h.Write(b[:])
	h.Write([]byte(c.Controller))
	if c.OptedIn {
		h.Write([]byte{1})
	}
	for _, e := range c.Evidence.Strings() {
		h.Write([]byte{0})
		h.Write([]byte(e))
	}
	if c.Evidence != nil {
		// What else other objects say: GKE routes without a BackendConfig,
		// Ingress routes served elsewhere, and a Gateway API object's implementations, backends and attached
		// policies (encoding/json sorts map keys, so equal facts hash equal).
		var facts []any
		if c.Evidence.WithoutBackendConfig != nil {
			facts = append(facts, c.Evidence.WithoutBackendConfig)
		}
		if c.Evidence.Gateway != nil {
			facts = append(facts, c.Evidence.Gateway.Document())
		}
		// Which other Ingress of the host serves this one's WebSocket paths.
		if c.Evidence.ServedElsewhere != nil {
			facts = append(facts, c.Evidence.ServedElsewhere)
		}
		for _, m := range facts {
			if b, err := json.Marshal(m); err == nil {
				h.Write([]byte{1})
				h.Write(b)
			}
		}
	}
	return h.Sum64()
}
