package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestDrain: after the parent context ends, requests are still served for
// the drain time, each telling the client to close its connection, and
// readiness fails; then the manager's context ends.
func TestDrain(t *testing.T) {
	parent, cancel := context.WithCancel(context.Background())
	d := newDrain(parent, 200*time.Millisecond)
	defer d.stop()
	h := d.wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	serve := func() *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/validate", nil))
		return rec
	}
	if rec := serve(); rec.Header().Get("Connection") != "" || d.readyz(nil) != nil {
		t.Fatal("before SIGTERM: keep-alive and ready")
	}
	start := time.Now()
	cancel()
	for !d.draining.Load() {
		time.Sleep(time.Millisecond)
	}
	if rec := serve(); rec.Code != http.StatusOK || rec.Header().Get("Connection") != "close" {
		t.Errorf("while draining: code %d, Connection %q", rec.Code, rec.Header().Get("Connection"))
	}
	if d.readyz(nil) == nil {
		t.Error("ready while draining")
	}
	select {
	case <-d.ctx.Done():
		if el := time.Since(start); el < 150*time.Millisecond {
			t.Errorf("manager stopped after %s, before the drain time", el)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("manager context never ended")
	}
}

// TestDrainManagerEndsFirst: a manager that ends by itself (an error)
// releases the drain goroutine without waiting for the parent.
func TestDrainManagerEndsFirst(t *testing.T) {
	d := newDrain(context.Background(), time.Hour)
	d.stop()
	if d.ctx.Err() == nil || d.draining.Load() {
		t.Error("stop must end the manager's context without draining")
	}
}
