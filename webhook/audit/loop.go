package audit

import (
	"context"
	"time"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
	"github.com/ws-defaults/ws-defaults/webhook/metrics"
)

// Loop is the audit loop of `webhook serve`: a manager runnable that only
// the elected leader runs. It runs a pass at start and then every
// spec.audit.interval of the policy in effect (read after each pass), one
// pass at a time, writing Reports and metrics, until its context ends (on
// shutdown or when the lease is lost).
type Loop struct {
	Auditor *Auditor
	// Client writes the Reports.
	Client client.Client
	Log    logr.Logger
	// Ready, when set, gates the first pass: it is polled until it
	// returns nil (in `webhook serve`: the cluster's policy is in effect).
	Ready func(context.Context) error
	// Passed, when set, is told of every pass (tests).
	Passed func(Pass)

	memo Memo
}

// poll is how often the loop re-reads the interval while it waits, so a
// policy that shortens it takes effect without waiting out the old one.
const poll = time.Second

// Pass is the outcome of one pass of the loop.
type Pass struct {
	Stats    *Stats
	Duration time.Duration
	Created  int64
	Updated  int64
	Deleted  int64
	Err      error
}

var (
	_ manager.Runnable               = (*Loop)(nil)
	_ manager.LeaderElectionRunnable = (*Loop)(nil)
)

// NeedLeaderElection: only the leader audits.
func (l *Loop) NeedLeaderElection() bool { return true }

// Start runs passes until ctx is done. A failed pass is logged and
// retried at the next interval; it never stops the manager.
func (l *Loop) Start(ctx context.Context) error {
	for l.Ready != nil && l.Ready(ctx) != nil {
		if !sleep(ctx, poll) {
			return nil
		}
	}
	for {
		started := time.Now()
		p := l.RunOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if p.Err != nil {
			l.Log.Error(p.Err, "audit pass failed")
		} else {
			l.Log.Info("audit pass done", "duration", p.Duration.String(), "objects", total(p.Stats.Objects),
				"created", p.Created, "updated", p.Updated, "deleted", p.Deleted)
		}
		for time.Since(started) < l.interval() {
			if !sleep(ctx, min(poll, l.interval()-time.Since(started))) {
				return nil
			}
		}
	}
}

// interval is spec.audit.interval of the policy in effect.
func (l *Loop) interval() time.Duration {
	if gen := l.Auditor.Policies.Current(); gen != nil && gen.Spec.Audit.Interval != nil {
		return max(gen.Spec.Audit.Interval.Duration, v1alpha1.MinAuditInterval)
	}
	return v1alpha1.DefaultAuditInterval
}

// sleep waits d; false when ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// RunOnce does one pass: judge every object, write the Reports that
// changed, delete those no longer needed, and set the metrics.
func (l *Loop) RunOnce(ctx context.Context) Pass {
	start := time.Now()
	w := &Writer{Client: l.Client, OnWrite: func(op string) { metrics.AuditReportWrites.WithLabelValues(op).Inc() }}
	p := Pass{}
	if err := w.Load(ctx, l.Auditor.Namespaces); err != nil {
		p.Err = err
		return p
	}
	// The memo spans passes: an object whose resourceVersion and context
	// did not change, and whose Report is as its last verdict left it, is
	// not judged again.
	a := *l.Auditor
	a.Memo, a.Unchanged = &l.memo, w.Unchanged
	stats, err := a.Run(ctx, w.Sync)
	p.Stats = stats
	if err == nil {
		// Only a complete pass knows which reports are stale.
		err = w.Sweep(ctx)
	}
	p.Duration = time.Since(start)
	p.Created, p.Updated, p.Deleted = w.Writes.Created.Load(), w.Writes.Updated.Load(), w.Writes.Deleted.Load()
	p.Err = err
	if err == nil {
		metrics.AuditDuration.Observe(p.Duration.Seconds())
		metrics.AuditLastRun.Set(float64(time.Now().Unix()))
		metrics.AuditObjects.Reset()
		for k, n := range stats.Objects {
			metrics.AuditObjects.WithLabelValues(k).Set(float64(n))
		}
		metrics.AuditFindings.Reset()
		for k, n := range stats.Findings {
			metrics.AuditFindings.WithLabelValues(k.Rule, k.Action).Set(float64(n))
		}
	}
	if l.Passed != nil {
		l.Passed(p)
	}
	return p
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
