package server

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"time"
)

// drain keeps the webhook serving for a while after SIGTERM before the
// manager stops it. A terminating pod stays an endpoint of the webhook
// Service until the endpoint controller, kube-proxy (and any balancer in
// between) have caught up, so for a few seconds the API server keeps
// sending it requests, and keeps reusing connections to it. Closing the
// listener at once would fail those requests: Go's HTTP client does not
// resend a POST whose connection closed under it, and the API server does
// not retry a webhook call. So while draining the webhook is not ready,
// still accepts, and answers every request with "Connection: close", which
// makes the client drop that connection instead of reusing it; once the
// drain time is over, nothing points at it any more and the manager's
// graceful shutdown finds no idle connection to race with.
type drain struct {
	// ctx is the manager's: cancelled drain time after the parent.
	ctx      context.Context
	stop     context.CancelFunc
	draining atomic.Bool
}

func newDrain(parent context.Context, d time.Duration) *drain {
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	dr := &drain{ctx: ctx, stop: cancel}
	go func() {
		select {
		case <-parent.Done():
		case <-ctx.Done(): // the manager ended by itself
			return
		}
		dr.draining.Store(true)
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		cancel()
	}()
	return dr
}

// readyz fails while draining, so the pod leaves the Service's endpoints.
func (d *drain) readyz(*http.Request) error {
	if d.draining.Load() {
		return errors.New("shutting down: draining connections")
	}
	return nil
}

// wrap closes each connection after its response while draining.
func (d *drain) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d.draining.Load() {
			w.Header().Set("Connection", "close")
		}
		next.ServeHTTP(w, r)
	})
}
