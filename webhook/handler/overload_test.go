package handler

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	admissionv1 "k8s.io/api/admission/v1"

	"github.com/ws-defaults/ws-defaults/webhook/metrics"
)

// blocking is a handler that holds its slot until released.
type blocking struct {
	entered chan struct{}
	release chan struct{}
}

func (b *blocking) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	b.entered <- struct{}{}
	<-b.release
	w.WriteHeader(http.StatusOK)
}

func post(h http.Handler, body string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(body)))
	return rec
}

// TestLimiter fills the one slot and the one queue place, then shows that
// the next request is answered at once in each shed mode, that a queued
// request gets the slot when it frees, and that one waiting past maxWait
// is shed.
func TestLimiter(t *testing.T) {
	const review = `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-7","object":{"kind":"Service"}}}`
	for _, tc := range []struct {
		name string
		shed Shed
		want func(t *testing.T, rec *httptest.ResponseRecorder)
	}{
		{"mutate allows without patch", ShedAllow, func(t *testing.T, rec *httptest.ResponseRecorder) {
			if rec.Code != http.StatusOK {
				t.Fatalf("code %d", rec.Code)
			}
			var out admissionv1.AdmissionReview
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
				t.Fatal(err)
			}
			r := out.Response
			if out.APIVersion != "admission.k8s.io/v1" || out.Kind != "AdmissionReview" || r == nil || r.UID != "u-7" || !r.Allowed || r.Patch != nil || len(r.Warnings) != 1 || r.Warnings[0] != OverloadWarning {
				t.Errorf("shed mutation answer: %s", rec.Body)
			}
		}},
		{"validate answers 503 without Retry-After", ShedUnavailable, func(t *testing.T, rec *httptest.ResponseRecorder) {
			if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "" {
				t.Errorf("shed validation answer: %d %v", rec.Code, rec.Header())
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := "test-" + strings.ReplaceAll(tc.name, " ", "-")
			shedBefore := testutil.ToFloat64(metrics.Shed.WithLabelValues(name))
			l := NewLimiter(1, 1, 5*time.Second)
			b := &blocking{entered: make(chan struct{}, 2), release: make(chan struct{})}
			h := l.Wrap(name, tc.shed, b)

			var wg sync.WaitGroup
			codes := make(chan int, 2)
			for range 2 {
				wg.Add(1)
				go func() { defer wg.Done(); codes <- post(h, review).Code }()
			}
			<-b.entered // one holds the slot
			deadline := time.Now().Add(5 * time.Second)
			for l.waiting.Load() != 1 && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			if l.waiting.Load() != 1 || l.InFlight() != 1 {
				t.Fatalf("want one in flight and one queued, got %d and %d", l.InFlight(), l.waiting.Load())
			}
			start := time.Now()
			tc.want(t, post(h, review))
			if d := time.Since(start); d > time.Second {
				t.Errorf("shedding took %s; it must not wait", d)
			}
			if got := testutil.ToFloat64(metrics.Shed.WithLabelValues(name)) - shedBefore; got != 1 {
				t.Errorf("shed metric grew by %v, want 1", got)
			}
			b.release <- struct{}{} // the first finishes; the queued one runs
			<-b.entered
			b.release <- struct{}{}
			wg.Wait()
			close(codes)
			for c := range codes {
				if c != http.StatusOK {
					t.Errorf("a request within the limit got %d", c)
				}
			}
			if l.InFlight() != 0 {
				t.Errorf("%d slots still held", l.InFlight())
			}
		})
	}

	t.Run("queue wait is bounded", func(t *testing.T) {
		l := NewLimiter(1, 4, 20*time.Millisecond)
		b := &blocking{entered: make(chan struct{}, 1), release: make(chan struct{})}
		h := l.Wrap("test-wait", ShedUnavailable, b)
		done := make(chan struct{})
		go func() { post(h, review); close(done) }()
		<-b.entered
		start := time.Now()
		if rec := post(h, review); rec.Code != http.StatusServiceUnavailable {
			t.Errorf("queued past maxWait: code %d", rec.Code)
		}
		if d := time.Since(start); d < 20*time.Millisecond || d > time.Second {
			t.Errorf("queued request answered after %s, want about maxWait", d)
		}
		close(b.release)
		<-done
	})

	t.Run("mutate shed of a body that is not a review", func(t *testing.T) {
		l := NewLimiter(1, 0, time.Millisecond)
		b := &blocking{entered: make(chan struct{}, 1), release: make(chan struct{})}
		h := l.Wrap("test-bad", ShedAllow, b)
		done := make(chan struct{})
		go func() { post(h, review); close(done) }()
		<-b.entered
		if rec := post(h, "not json"); rec.Code != http.StatusServiceUnavailable {
			t.Errorf("code %d", rec.Code)
		}
		close(b.release)
		<-done
	})

	if NewLimiter(0, 10, time.Second) != nil {
		t.Error("inFlight 0 must mean no limit")
	}
	var none *Limiter
	if h := none.Wrap("x", ShedAllow, http.NotFoundHandler()); post(h, "").Code != http.StatusNotFound {
		t.Error("a nil Limiter must pass every request through")
	}
}
