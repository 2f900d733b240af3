package handler

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
	"github.com/ws-defaults/ws-defaults/test/gen"
	"github.com/ws-defaults/ws-defaults/webhook/cluster"
	"github.com/ws-defaults/ws-defaults/webhook/ingressclass"
	"github.com/ws-defaults/ws-defaults/webhook/mutate"
	"github.com/ws-defaults/ws-defaults/webhook/scope"
)

// BenchmarkValidateGenerated times /validate over 1000 distinct generated
// AdmissionReviews (test/gen), as `make bench-serve` sends them: opted-in
// objects after the webhook's own mutation, 30% outside opt-in, 20%
// updates. The baseline is the same bodies in an excluded namespace
// (review decoding and encoding, no rule). cpu-ns/op is the process's CPU
// time per request, GC included: steadier than the wall time on a shared
// machine.
func BenchmarkValidateGenerated(b *testing.B) {
	snap := &cluster.Snapshot{Namespaces: map[string]metav1.ObjectMeta{
		gen.OptedIn: {Labels: map[string]string{"ws-defaults": "enabled"}},
		gen.Plain:   {},
	}}
	for name, controller := range gen.IngressClasses {
		snap.Classes = append(snap.Classes, ingressclass.Class{Name: name, Controller: controller})
	}
	h := validating(b, snap, v1alpha1.WebSocketPolicySpec{})
	env := mutate.Env{Policy: v1alpha1.BuiltinPolicy(), IngressClasses: snap.Classes}
	var judged, excluded [][]byte
	for i, o := range gen.Objects(1, 1000) {
		raw, _ := json.Marshal(o.Object)
		obj, err := mutate.Decode(raw)
		if err != nil {
			b.Fatal(err)
		}
		md, _ := obj["metadata"].(map[string]any)
		labels, _ := md["labels"].(map[string]any)
		own := map[string]string{}
		if l, ok := labels["ws-defaults"].(string); ok {
			own["ws-defaults"] = l
		}
		if scope.OptedIn(own, snap.Namespaces[o.Namespace].Labels) {
			if _, err := mutate.Mutate(obj, env); err != nil {
				b.Fatal(err)
			}
			raw, _ = json.Marshal(obj)
		}
		body, err := o.ReviewOf(i, raw)
		if err != nil {
			b.Fatal(err)
		}
		judged = append(judged, body)
		o.Namespace = "kube-system"
		if body, err = o.ReviewOf(i, raw); err != nil {
			b.Fatal(err)
		}
		excluded = append(excluded, body)
	}
	b.Run("baseline-excluded-namespace", func(b *testing.B) { benchServeBodies(b, h, excluded) })
	b.Run("generated-1000", func(b *testing.B) { benchServeBodies(b, h, judged) })
}

// benchServeBodies is benchServe cycling through bodies.
func benchServeBodies(b *testing.B, h admission.Handler, bodies [][]byte) {
	wh := &admission.Webhook{Handler: h}
	b.ReportAllocs()
	n := 0
	cpu := processCPU()
	for b.Loop() {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/validate", bytes.NewReader(bodies[n%len(bodies)]))
		req.Header.Set("Content-Type", "application/json")
		wh.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
		n++
	}
	b.ReportMetric(float64(processCPU()-cpu)/float64(n), "cpu-ns/op")
}

// processCPU is the user+system time of this process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
