// Package mutate adds the WebSocket settings an opted-in object's ingress
// controller or mesh reads, and nothing else. It works on the object as
// decoded from JSON (map[string]any), so fields unknown to the webhook's Go
// types survive, and it only ever adds what is absent: a value the user set
// is never changed. The rows it applies live in defaults.go.
package mutate

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"gomodules.xyz/jsonpatch/v2"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
	"github.com/ws-defaults/ws-defaults/webhook/evidence"
	"github.com/ws-defaults/ws-defaults/webhook/ingressclass"
)

// Env is what a mutation may read besides the object itself.
type Env struct {
	// Base is the policy generation's settings, computed once when the
	// generation is applied (NewBase). When nil, Policy is used instead.
	Base *Base
	// Policy is the cluster policy for callers without a Base (tests,
	// one-off calls); its unset fields take the built-in defaults.
	Policy v1alpha1.WebSocketPolicySpec
	// IngressClasses are the cluster's IngressClass objects.
	IngressClasses []ingressclass.Class
	// NamespaceAnnotations are the annotations of the object's namespace;
	// some override policy values for that namespace.
	NamespaceAnnotations map[string]string
	// Evidence is the object's WebSocket evidence (the pipeline's); nil
	// means the object's own signals, computed when a row needs them.
	Evidence *evidence.Evidence
}

// Result says what a mutation did.
type Result struct {
	// Controller is the resolved ingress controller of an Ingress ("" for
	// other kinds, or when unknown).
	Controller string
	// Added lists the annotation keys and field paths that were added, in
	// the order they were added.
	Added []string
	// Warnings are for the user: odd values the mutation had to skip.
	Warnings []string
}

// Mutate applies the defaults for obj's kind to obj in place. Objects of
// kinds it does not handle are left alone. It returns an error only when
// obj is not a Kubernetes object at all.
func Mutate(obj map[string]any, env Env) (Result, error) {
	if obj == nil {
		return Result{}, fmt.Errorf("object is empty")
	}
	u := unstructured.Unstructured{Object: obj}
	if u.GetKind() == "" {
		return Result{}, fmt.Errorf("object has no kind")
	}
	e := &editor{obj: obj}
	if _, ok := obj["metadata"]; ok {
		if _, isMap := obj["metadata"].(map[string]any); !isMap {
			return Result{}, fmt.Errorf("metadata is not an object")
		}
	}
	eff := effective(env, e)
	gk := groupKind(u.GetAPIVersion(), u.GetKind())
	if row, ok := rows[gk]; ok {
		row(e, eff)
	}
	e.recordDefaulted()
	return Result{Controller: e.controller, Added: e.added, Warnings: e.warnings}, nil
}

// Patch mutates a copy of the raw JSON object and returns the JSON Patch
// (RFC 6902) from raw to the result, computed against raw itself. The patch
// only ever holds add and replace operations.
func Patch(raw []byte, env Env) ([]jsonpatch.JsonPatchOperation, Result, error) {
	obj, err := Decode(raw)
	if err != nil {
		return nil, Result{}, err
	}
	return PatchDecoded(raw, obj, env)
}

// Decode reads a raw JSON object for PatchDecoded.
func Decode(raw []byte) (map[string]any, error) {
	var obj map[string]any
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, fmt.Errorf("object is not a JSON object: %w", err)
	}
	return obj, nil
}

// PatchDecoded is Patch for a caller that has already decoded raw into obj
// (to read its labels first); obj is mutated in place.
//
// The patch is the difference between obj before and after the rows ran,
// found by walking the two trees in memory. Encoding the mutated object and
// diffing it against raw (what jsonpatch.CreatePatch does: it decodes both
// documents again) cost more than the mutation itself, with kubectl's
// last-applied annotation and managedFields making every object several
// kilobytes; the snapshot taken here shares every string and number with
// obj and copies only maps and slices. raw, of which obj is the decoding, is
// what the API server applies the patch to, so a difference between the two
// trees is a difference from raw.
func PatchDecoded(raw []byte, obj map[string]any, env Env) ([]jsonpatch.JsonPatchOperation, Result, error) {
	before := snapshot(obj).(map[string]any)
	res, err := Mutate(obj, env)
	if err != nil || len(res.Added) == 0 {
		return []jsonpatch.JsonPatchOperation{}, res, err
	}
	ops := diff(nil, "", before, obj)
	stableOrder(ops)
	return ops, res, nil
}

// snapshot copies the maps and slices of v; scalars are immutable and shared.
func snapshot(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = snapshot(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = snapshot(e)
		}
		return out
	}
	return v
}

// diff appends to ops what turns a into b at path (a JSON pointer): an add
// for a key only b has, a remove for one only a has, a replace for a
// scalar that differs or an array whose length differs, recursion where
// both hold an object or equally long arrays. Keys are visited in sorted
// order so the patch is the same on every run.
func diff(ops []jsonpatch.JsonPatchOperation, path string, a, b any) []jsonpatch.JsonPatchOperation {
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok {
			break
		}
		keys := make([]string, 0, len(bv))
		for k := range bv {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			p := path + "/" + escapePointer(k)
			if old, had := av[k]; had {
				ops = diff(ops, p, old, bv[k])
			} else {
				ops = append(ops, jsonpatch.JsonPatchOperation{Operation: "add", Path: p, Value: bv[k]})
			}
		}
		gone := make([]string, 0)
		for k := range av {
			if _, kept := bv[k]; !kept {
				gone = append(gone, k)
			}
		}
		slices.Sort(gone)
		for _, k := range gone {
			ops = append(ops, jsonpatch.JsonPatchOperation{Operation: "remove", Path: path + "/" + escapePointer(k)})
		}
		return ops
	case []any:
		bv, ok := b.([]any)
		if !ok || len(bv) != len(av) {
			break
		}
		for i := range av {
			ops = diff(ops, path+"/"+strconv.Itoa(i), av[i], bv[i])
		}
		return ops
	default:
		if sameScalar(a, b) {
			return ops
		}
	}
	return append(ops, jsonpatch.JsonPatchOperation{Operation: "replace", Path: path, Value: b})
}

// sameScalar compares two leaves as their JSON would: numbers by value
// whatever their Go type (the decoder gives float64, the rows write int64).
func sameScalar(a, b any) bool {
	if x, ok := number(a); ok {
		y, ok := number(b)
		return ok && x == y
	}
	switch a.(type) {
	case nil, bool, string:
		switch b.(type) {
		case map[string]any, []any:
			return false
		}
		return a == b
	}
	return false
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int64:
		return float64(n), true
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	}
	return 0, false
}

// escapePointer escapes a key for a JSON pointer (RFC 6901).
func escapePointer(k string) string {
	if !strings.ContainsAny(k, "~/") {
		return k
	}
	return strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1")
}

// stableOrder sorts ops by path, so the report reads the same on every run
// (the patch library walks maps in Go's random order). It leaves ops alone
// when their order could matter: a path inside another, or one ending in
// what may be an array index.
func stableOrder(ops []jsonpatch.JsonPatchOperation) {
	for i, a := range ops {
		last := a.Path[strings.LastIndex(a.Path, "/")+1:]
		if last == "-" || (last != "" && strings.Trim(last, "0123456789") == "") {
			return
		}
		for j, b := range ops {
			if i != j && strings.HasPrefix(b.Path, a.Path+"/") {
				return
			}
		}
	}
	slices.SortStableFunc(ops, func(a, b jsonpatch.JsonPatchOperation) int {
		return strings.Compare(a.Path, b.Path)
	})
}

// settings are the policy values in force for one object's namespace.
// They point into the generation's spec rather than copying it.
type settings struct {
	*v1alpha1.WebSocketPolicySpec
	idle              int64
	affinity          bool
	classes           []ingressclass.Class
	nginx             string // ingress-nginx annotation prefix, with the slash
	serviceAffinity   bool
	clientIPTimeout   int64
	cookieMaxAge      int64
	secureCookieOnTLS bool
	evidence          *evidence.Evidence
}

// Base is what one policy generation fixes for every mutation: the spec
// with defaults filled and the values the rows read, derived once. It is
// immutable and shared by concurrent requests.
type Base struct {
	s settings
}

// NewBase derives the mutation settings of policy; unset fields take the
// built-in defaults.
func NewBase(policy v1alpha1.WebSocketPolicySpec) *Base {
	p := policy.WithDefaults()
	m := p.Mutation
	return &Base{s: settings{
		WebSocketPolicySpec: &p,
		idle:                int64(*m.IdleTimeoutSeconds),
		affinity:            *m.Affinity.Enabled,
		nginx:               strings.TrimSuffix(p.NginxAnnotationPrefix, "/") + "/",
		serviceAffinity:     *m.ServiceAffinity.Enabled,
		clientIPTimeout:     int64(*m.ServiceAffinity.TimeoutSeconds),
		cookieMaxAge:        int64(*m.Affinity.CookieMaxAgeSeconds),
		secureCookieOnTLS:   *m.Affinity.SecureOnTLS,
	}}
}

// effective applies the namespace's overrides on top of the generation's
// settings; a malformed override is ignored with a warning rather than
// guessed at.
func effective(env Env, e *editor) settings {
	base := env.Base
	if base == nil {
		base = NewBase(env.Policy)
	}
	s := base.s
	s.classes = env.IngressClasses
	s.evidence = env.Evidence
	if v, ok := env.NamespaceAnnotations[v1alpha1.IdleTimeoutAnnotation]; ok {
		// The policy's own range: beyond 7 days some proxies cannot hold
		// the value at all (HAProxy's timers end at 2^31-1 ms, about 24.8
		// days, and it then refuses its whole configuration).
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32); err == nil && n > 0 && n <= int64(v1alpha1.MaxIdleTimeoutSeconds) {
			s.idle = n
		} else {
			e.warn(fmt.Sprintf("namespace annotation %s=%q is not a whole number of seconds from 1 to %d (7 days); using the policy's %d",
				v1alpha1.IdleTimeoutAnnotation, v, v1alpha1.MaxIdleTimeoutSeconds, s.idle))
		}
	}
	if v, ok := env.NamespaceAnnotations[v1alpha1.AffinityAnnotation]; ok {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "on", "true", "enabled":
			s.affinity, s.serviceAffinity = true, true
		case "off", "false", "disabled":
			s.affinity, s.serviceAffinity = false, false
		default:
			e.warn(fmt.Sprintf("namespace annotation %s=%q is neither \"on\" nor \"off\"; using the policy's affinity settings", v1alpha1.AffinityAnnotation, v))
		}
	}
	return s
}

func groupKind(apiVersion, kind string) string {
	group := ""
	if i := strings.LastIndex(apiVersion, "/"); i >= 0 {
		group = apiVersion[:i]
	}
	return kind + "." + group
}

// editor adds absent values to an object and remembers what it added.
type editor struct {
	obj        map[string]any
	added      []string
	warnings   []string
	controller string
}

func (e *editor) warn(msg string) { e.warnings = append(e.warnings, msg) }

// annotations returns the object's annotations; ok is false when they are
// present but not a map, in which case nothing may be added to them.
func (e *editor) annotations() (map[string]any, bool) {
	md, _ := e.obj["metadata"].(map[string]any)
	if md == nil {
		return nil, true
	}
	switch a := md["annotations"].(type) {
	case nil:
		return nil, true
	case map[string]any:
		return a, true
	default:
		return nil, false
	}
}

// annotation returns the string value of key; ok is false when it is absent.
// A non-string value (possible in offline input) counts as present.
func (e *editor) annotation(key string) (string, bool) {
	a, _ := e.annotations()
	v, ok := a[key]
	if !ok {
		return "", false
	}
	s, _ := v.(string)
	return s, true
}

// hasAnnotation reports whether any of keys is present.
func (e *editor) hasAnnotation(keys ...string) bool {
	for _, k := range keys {
		if _, ok := e.annotation(k); ok {
			return true
		}
	}
	return false
}

// addAnnotation sets key to value when key is absent.
func (e *editor) addAnnotation(key, value string) {
	if e.hasAnnotation(key) {
		return
	}
	e.setAnnotation(key, value, key)
}

// setAnnotation writes key unconditionally and records what as added; only
// for merges that keep every part of an existing value.
func (e *editor) setAnnotation(key, value, what string) {
	a, ok := e.annotations()
	if !ok {
		e.warn("metadata.annotations is not a map of strings; no annotation was added")
		return
	}
	if a == nil {
		md, _ := e.obj["metadata"].(map[string]any)
		if md == nil {
			md = map[string]any{}
			e.obj["metadata"] = md
		}
		a = map[string]any{}
		md["annotations"] = a
	}
	a[key] = value
	e.added = append(e.added, what)
}

// field returns the value at path; ok is false when absent.
func field(obj map[string]any, path ...string) (any, bool) {
	cur := any(obj)
	for _, p := range path {
		m, isMap := cur.(map[string]any)
		if !isMap {
			return nil, false
		}
		next, present := m[p]
		if !present {
			return nil, false
		}
		cur = next
	}
	return cur, true
}

// addField sets path (below obj) to value when absent, creating parent
// objects as needed; label names it in the record of what was added. A
// parent that exists but is not an object is left alone.
func (e *editor) addField(obj map[string]any, label string, value any, path ...string) {
	cur := obj
	for _, p := range path[:len(path)-1] {
		next, ok := cur[p]
		if !ok || next == nil {
			m := map[string]any{}
			cur[p] = m
			cur = m
			continue
		}
		m, isMap := next.(map[string]any)
		if !isMap {
			e.warn(fmt.Sprintf("%s: a parent field is not an object; left as it is", label))
			return
		}
		cur = m
	}
	last := path[len(path)-1]
	if v, ok := cur[last]; ok && v != nil {
		return
	}
	cur[last] = value
	e.added = append(e.added, label)
}

// recordDefaulted merges what this pass added into DefaultedAnnotation.
func (e *editor) recordDefaulted() {
	if len(e.added) == 0 {
		return
	}
	prev, _ := e.annotation(v1alpha1.DefaultedAnnotation)
	var keys []string
	for _, k := range strings.Split(prev, ",") {
		if k = strings.TrimSpace(k); k != "" && !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	for _, k := range e.added {
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	added := e.added
	e.setAnnotation(v1alpha1.DefaultedAnnotation, strings.Join(keys, ","), v1alpha1.DefaultedAnnotation)
	e.added = added
}

// Kinds are the "Kind.group" keys that have a defaults row, sorted.
func Kinds() []string {
	out := make([]string, 0, len(rows))
	for k := range rows {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
