package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"gomodules.xyz/jsonpatch/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ws-defaults/ws-defaults/webhook/check"
	"github.com/ws-defaults/ws-defaults/webhook/validate"
)

func streamObject(i int) *Object {
	r := check.Result{
		Source: check.SourceCluster, APIVersion: "networking.k8s.io/v1", Kind: "Ingress",
		Namespace: "team", Name: fmt.Sprintf("app-%d", i), OptedIn: i%2 == 0,
		Violations: []validate.Violation{}, Evidence: []string{"spec.rules[0]: path /ws <&>"},
	}
	if i%3 == 0 {
		r.Violations = append(r.Violations, validate.Violation{Rule: "nginx-snippet", Action: "deny", Message: "a <snippet> & more"})
	}
	if i%4 == 0 {
		r.Patch = []jsonpatch.JsonPatchOperation{{Operation: "add", Path: "/metadata/annotations/x", Value: "1"}}
	}
	return &Object{Ref: corev1.ObjectReference{Kind: "Ingress", Namespace: "team", Name: r.Name}, Result: r}
}

// TestStreamJSON: -o json written as the pass goes is byte for byte what
// check.Write prints for the same results; jsonl is one result per line
// and a summary line.
func TestStreamJSON(t *testing.T) {
	for _, n := range []int{0, 1, 5} {
		var objs []*Object
		rep := &check.Report{Results: []check.Result{}}
		for i := range n {
			o := streamObject(i)
			objs = append(objs, o)
			rep.Results = append(rep.Results, o.Result)
			rep.Summary.Count(&o.Result)
		}
		var want bytes.Buffer
		if err := check.Write(&want, "json", rep); err != nil {
			t.Fatal(err)
		}
		var got, lines bytes.Buffer
		js, _ := NewStream(&got, "json")
		jl, _ := NewStream(&lines, "jsonl")
		for _, o := range objs {
			if err := js.Sink(context.Background(), o); err != nil {
				t.Fatal(err)
			}
			if err := jl.Sink(context.Background(), o); err != nil {
				t.Fatal(err)
			}
		}
		if err := js.Close(); err != nil {
			t.Fatal(err)
		}
		if err := jl.Close(); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("%d results: streamed json differs from check.Write's:\n%s\nwant:\n%s", n, got.String(), want.String())
		}
		ls := strings.Split(strings.TrimSuffix(lines.String(), "\n"), "\n")
		if len(ls) != n+1 {
			t.Fatalf("%d results: jsonl has %d lines, want %d", n, len(ls), n+1)
		}
		for i, l := range ls[:n] {
			var r check.Result
			if err := json.Unmarshal([]byte(l), &r); err != nil || r.Name != objs[i].Result.Name {
				t.Errorf("jsonl line %d = %s (%v)", i, l, err)
			}
		}
		var sum struct{ Summary check.Summary }
		if err := json.Unmarshal([]byte(ls[n]), &sum); err != nil || sum.Summary != rep.Summary {
			t.Errorf("jsonl summary line %s, want %+v (%v)", ls[n], rep.Summary, err)
		}
	}
	if _, err := NewStream(&bytes.Buffer{}, "table"); err == nil {
		t.Error("table accepted as a streaming format")
	}
}

// TestOrderer: objects finished out of order by many workers come out in
// list order, each once, the excluded ones (nil) skipped, and the lister
// never gets more than the window ahead of the sink.
func TestOrderer(t *testing.T) {
	const n, window = 2000, 16
	var got []uint64
	var ahead, maxAhead int
	var mu sync.Mutex
	r := newOrderer(window, func(it item, _ *Object) { got = append(got, it.seq) })
	items := make(chan item, window)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for it := range items {
				for range rand.IntN(1000) { // uneven work
					_ = math.Sqrt(float64(it.seq))
				}
				var o *Object
				if it.seq%7 != 0 {
					o = &Object{}
				}
				mu.Lock()
				ahead--
				mu.Unlock()
				r.done(it, o)
			}
		})
	}
	for i := range uint64(n) {
		r.window <- struct{}{}
		mu.Lock()
		ahead++
		maxAhead = max(maxAhead, ahead)
		mu.Unlock()
		items <- item{seq: i, obj: &unstructured.Unstructured{}}
	}
	close(items)
	wg.Wait()
	var want []uint64
	for i := range uint64(n) {
		if i%7 != 0 {
			want = append(want, i)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("emitted out of order or not once each: %d emitted, want %d", len(got), len(want))
	}
	if maxAhead > window {
		t.Errorf("%d objects between lister and sink, window %d", maxAhead, window)
	}
	if len(r.pending) != 0 || len(r.window) != 0 {
		t.Errorf("left behind: %d pending, %d window places", len(r.pending), len(r.window))
	}
}

// TestPagePlan: full pages while memory is plentiful or unlimited,
// quarter pages from 70% of the limit, the smallest page and a wait from
// 85%.
func TestPagePlan(t *testing.T) {
	const limit = 1000
	for _, c := range []struct {
		used, limit uint64
		page        int64
		size        int64
		wait        bool
	}{
		{used: 900, limit: 0, page: 500, size: 500},
		{used: 900, limit: math.MaxInt64, page: 500, size: 500},
		{used: 100, limit: limit, page: 500, size: 500},
		{used: 699, limit: limit, page: 500, size: 500},
		{used: 700, limit: limit, page: 500, size: 125},
		{used: 849, limit: limit, page: 500, size: 125},
		{used: 700, limit: limit, page: 40, size: 20},
		{used: 700, limit: limit, page: 10, size: 10},
		{used: 850, limit: limit, page: 500, size: 20, wait: true},
		{used: 2000, limit: limit, page: 500, size: 20, wait: true},
		{used: 900, limit: limit, page: 5, size: 5, wait: true},
	} {
		size, wait := pagePlan(c.used, c.limit, c.page)
		if size != c.size || wait != c.wait {
			t.Errorf("pagePlan(%d, %d, %d) = %d, %v; want %d, %v", c.used, c.limit, c.page, size, wait, c.size, c.wait)
		}
	}
}

// TestOrderedPass: with Ordered, a pass hands its objects to the sink one
// at a time in list order (the order the reader lists them in), and its
// streamed -o json is check.Write's report of those results in that order.
func TestOrderedPass(t *testing.T) {
	c := world(t, ingress("chat", "a-first", nil), ingress("chat", "z-last", nil), ingress("other", "b", nil))
	var listed []string
	var list networkingv1.IngressList
	if err := c.List(context.Background(), &list); err != nil {
		t.Fatal(err)
	}
	for _, ing := range list.Items {
		if ing.Namespace != "kube-system" {
			listed = append(listed, ing.Namespace+"/"+ing.Name)
		}
	}
	a := auditor(t, c)
	a.Ordered, a.PageSize, a.Workers = true, 2, 8
	var got []string
	var buf bytes.Buffer
	stream, _ := NewStream(&buf, "json")
	rep := &check.Report{Results: []check.Result{}}
	var busy atomic.Bool
	if _, err := a.Run(context.Background(), func(ctx context.Context, o *Object) error {
		if !busy.CompareAndSwap(false, true) {
			t.Error("sink called concurrently")
		}
		defer busy.Store(false)
		if o.Ref.Kind == "Ingress" {
			got = append(got, o.Ref.Namespace+"/"+o.Ref.Name)
		}
		rep.Results = append(rep.Results, o.Result)
		rep.Summary.Count(&o.Result)
		return stream.Sink(ctx, o)
	}); err != nil {
		t.Fatal(err)
	}
	if err := stream.Close(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, listed) {
		t.Errorf("sink order %v, list order %v", got, listed)
	}
	var want bytes.Buffer
	if err := check.Write(&want, "json", rep); err != nil {
		t.Fatal(err)
	}
	if buf.String() != want.String() {
		t.Errorf("streamed json differs from the report of the same results")
	}
}

// TestPassUnderMemoryPressure: near the memory limit the lister asks for
// smaller pages (and waits once past 85%), and the pass still judges every
// object.
func TestPassUnderMemoryPressure(t *testing.T) {
	want, _ := collect(t, auditor(t, world(t)))
	a := auditor(t, world(t))
	var calls atomic.Int64
	a.Memory = func() (uint64, uint64) {
		switch calls.Add(1) {
		case 1:
			return 900, 1000 // wait, then
		case 2:
			return 750, 1000 // quarter pages
		default:
			return 750, 1000
		}
	}
	got, stats := collect(t, a)
	if stats.Throttled == 0 {
		t.Error("no page was throttled at 75-90% of the limit")
	}
	if calls.Load() < 2 {
		t.Errorf("memory read %d times, want a re-read after the wait", calls.Load())
	}
	if got.Summary != want.Summary || len(got.Results) != len(want.Results) {
		t.Errorf("under pressure: %+v (%d results), without: %+v (%d)", got.Summary, len(got.Results), want.Summary, len(want.Results))
	}
}
