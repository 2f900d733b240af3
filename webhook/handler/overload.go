package handler

import (
	"encoding/json"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/ws-defaults/ws-defaults/webhook/metrics"
)

// Limiter bounds how many admission requests are judged at once, with a
// short queue in front. Past it, a request is answered at once instead of
// waiting: the API server's call times out after a few seconds (3 s by
// default), and a request that waited that long in our queue would cost the
// API server the timeout and then the failure policy anyway, while piling
// up work (memory, CPU for requests nobody waits for) here. Answering fast
// keeps the latency of what is admitted bounded and lets the API server
// apply the failure policy without waiting.
//
// One Limiter is shared by /mutate and /validate, since they compete for
// the same CPUs. A nil *Limiter limits nothing.
type Limiter struct {
	slots    chan struct{}
	waiting  atomic.Int64
	maxQueue int64
	maxWait  time.Duration
}

// NewLimiter lets inFlight requests be judged at once and up to queue more
// wait, each at most maxWait, for a slot. inFlight <= 0 means no limit (nil).
func NewLimiter(inFlight, queue int, maxWait time.Duration) *Limiter {
	if inFlight <= 0 {
		return nil
	}
	return &Limiter{slots: make(chan struct{}, inFlight), maxQueue: int64(max(queue, 0)), maxWait: maxWait}
}

// acquire takes a slot, waiting in the queue when it has room; false means
// the request must be shed. release must follow a true.
func (l *Limiter) acquire(r *http.Request) bool {
	select {
	case l.slots <- struct{}{}:
		return true
	default:
	}
	if l.waiting.Add(1) > l.maxQueue {
		l.waiting.Add(-1)
		return false
	}
	defer l.waiting.Add(-1)
	t := time.NewTimer(l.maxWait)
	defer t.Stop()
	select {
	case l.slots <- struct{}{}:
		return true
	case <-t.C:
		return false
	case <-r.Context().Done():
		return false
	}
}

func (l *Limiter) release() { <-l.slots }

// InFlight is how many requests hold a slot now (for tests and probes).
func (l *Limiter) InFlight() int { return len(l.slots) }

// Shed says how a request over the limit is answered.
type Shed int

const (
	// ShedAllow answers an AdmissionReview that allows the object without a
	// patch, with a warning: mutation only adds conveniences, and the
	// validating webhook (or the next write's reinvocation) still sees the
	// object. Used for /mutate.
	ShedAllow Shed = iota
	// ShedUnavailable answers HTTP 503 without Retry-After, which the API
	// server takes as a failed call (client-go retries a 503 only with
	// Retry-After) and applies the webhook's failure policy to at once:
	// opted-in objects are refused (Fail), others admitted (Ignore). An
	// AdmissionReview with allowed=false would instead be a denial for every
	// object, and allowed=true would skip the rules. Used for /validate.
	ShedUnavailable
)

// OverloadWarning is the warning a shed /mutate request carries.
const OverloadWarning = "ws-defaults: webhook overloaded; defaults not applied to this write"

// Wrap limits next (served at path, named in the shed metric by name);
// requests over the limit are answered as shed says.
func (l *Limiter) Wrap(name string, shed Shed, next http.Handler) http.Handler {
	if l == nil {
		return next
	}
	counter := metrics.Shed.WithLabelValues(name)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if l.acquire(r) {
			defer l.release()
			next.ServeHTTP(w, r)
			return
		}
		counter.Inc()
		switch shed {
		case ShedAllow:
			allowUnpatched(w, r)
		default:
			// The body is left unread: the cheapest answer is the point.
			http.Error(w, "ws-defaults: webhook overloaded, request not judged", http.StatusServiceUnavailable)
		}
	})
}

// allowUnpatched answers an AdmissionReview allowing the object without a
// patch. It decodes only the review's apiVersion and request uid (which the
// response must echo), not the object.
func allowUnpatched(w http.ResponseWriter, r *http.Request) {
	var in struct {
		APIVersion string `json:"apiVersion"`
		Request    struct {
			UID types.UID `json:"uid"`
		} `json:"request"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 7<<20))
	if err == nil {
		err = json.Unmarshal(body, &in)
	}
	if err != nil || in.Request.UID == "" {
		http.Error(w, "ws-defaults: webhook overloaded and the request is not an AdmissionReview", http.StatusServiceUnavailable)
		return
	}
	if in.APIVersion == "" {
		in.APIVersion = admissionv1.SchemeGroupVersion.String()
	}
	out := admissionv1.AdmissionReview{Response: &admissionv1.AdmissionResponse{UID: in.Request.UID, Allowed: true, Warnings: []string{OverloadWarning}}}
	out.APIVersion, out.Kind = in.APIVersion, "AdmissionReview"
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}
