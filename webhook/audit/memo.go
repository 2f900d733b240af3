package audit

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/ws-defaults/ws-defaults/webhook/cluster"
	"github.com/ws-defaults/ws-defaults/webhook/pipeline"
	"github.com/ws-defaults/ws-defaults/webhook/policy"
)

// Memo remembers the last verdict on each object, so that a pass over a
// cluster where nothing changed judges nothing (Auditor.Memo). It holds a
// fixed-size digest per audited object, whatever the size of the object or
// of its verdict: a 128-bit hash of its UID (the key), a 64-bit hash of its
// resourceVersion, the context fingerprint, the report hash (16 bytes) and
// the index of its set of finding keys in a table of the distinct sets seen
// (a handful: rules × actions). It forgets objects a complete pass no
// longer saw. Safe for concurrent use.
type Memo struct {
	mu   sync.Mutex
	pass uint32
	m    map[memoKey]memoEntry
	// sets are the distinct finding sets; setIndex finds one by its
	// encoding.
	sets     [][]FindingKey
	setIndex map[string]uint32
}

// memoKey is the FNV-128a hash of an object's UID.
type memoKey [2]uint64

type memoEntry struct {
	version  uint64   // FNV-64a of the resourceVersion
	context  uint64   // contextKey
	report   [16]byte // the report hash, decoded; zero without a Report
	findings uint32   // index in Memo.sets
	pass     uint32
}

// memoed is a remembered verdict as lookup returns it.
type memoed struct {
	reportHash string // "" without findings
	findings   []FindingKey
}

func keyOf(uid types.UID) memoKey {
	h := fnv.New128a()
	h.Write([]byte(uid))
	var b [16]byte
	h.Sum(b[:0])
	return memoKey{binary.LittleEndian.Uint64(b[:8]), binary.LittleEndian.Uint64(b[8:])}
}

func versionOf(rv string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(rv))
	return h.Sum64()
}

func (m *Memo) startPass() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = map[memoKey]memoEntry{}
		m.sets = [][]FindingKey{nil}
		m.setIndex = map[string]uint32{"": 0}
	}
	m.pass++
}

// endPass forgets the objects this (complete) pass did not see.
func (m *Memo) endPass() {
	m.mu.Lock()
	defer m.mu.Unlock()
	maps.DeleteFunc(m.m, func(_ memoKey, e memoEntry) bool { return e.pass != m.pass })
}

// lookup finds the verdict on u if u and its context are unchanged.
func (m *Memo) lookup(u *unstructured.Unstructured, context uint64) (memoed, bool) {
	k := keyOf(u.GetUID())
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.m[k]
	if !ok || e.version != versionOf(u.GetResourceVersion()) || e.context != context {
		return memoed{}, false
	}
	e.pass = m.pass
	m.m[k] = e
	v := memoed{findings: m.sets[e.findings]}
	if e.report != ([16]byte{}) {
		v.reportHash = hex.EncodeToString(e.report[:])
	}
	return v, true
}

// remember keeps the verdict o (with its finding keys) on u. A verdict
// whose report hash is not Hash's (32 hex digits) is not kept: the object
// is judged again next pass.
func (m *Memo) remember(u *unstructured.Unstructured, context uint64, o *Object, findings []FindingKey) {
	e := memoEntry{version: versionOf(u.GetResourceVersion()), context: context}
	if o.ReportHash != "" {
		if n, err := hex.Decode(e.report[:], []byte(o.ReportHash)); err != nil || n != len(e.report) || len(o.ReportHash) != 2*len(e.report) || e.report == ([16]byte{}) {
			return
		}
	}
	k := keyOf(u.GetUID())
	m.mu.Lock()
	defer m.mu.Unlock()
	e.findings = m.internSet(findings)
	e.pass = m.pass
	m.m[k] = e
}

// internSet is the index of findings in m.sets; m.mu is held.
func (m *Memo) internSet(findings []FindingKey) uint32 {
	var b strings.Builder
	for _, f := range findings {
		b.WriteString(f.Rule)
		b.WriteByte(0)
		b.WriteString(f.Action)
		b.WriteByte(0)
	}
	if i, ok := m.setIndex[b.String()]; ok {
		return i
	}
	i := uint32(len(m.sets))
	m.sets = append(m.sets, slices.Clone(findings))
	m.setIndex[b.String()] = i
	return i
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
