package audit

import (
	"context"
	"math"
	"runtime"
	"runtime/metrics"
	"time"
)

// Memory pressure. The objects between the list and the sink are the part
// of a pass that grows with the page size; everything else it holds is
// per object and compact (the memo, the Writer's report index). Before each
// page the lister reads how close the process is to its soft memory limit
// (GOMEMLIMIT; `webhook serve` sets it to 90% of the container's limit)
// and lists smaller pages, or waits for the workers to drain and the
// garbage collector to catch up, rather than let the process be killed.

// Thresholds, as fractions of the limit.
const (
	pressureShrink = 0.70 // list pages of a quarter
	pressureWait   = 0.85 // wait for memory before the next (smallest) page
	minPage        = 20
	// pressureMaxWait bounds the waiting for one page: past it the pass
	// goes on with the smallest page (a pass that never ends is no safer).
	pressureMaxWait = 30 * time.Second
)

// pagePlan is what the lister does before a page, given the memory in use
// and the limit (0 or math.MaxInt64: none): the page size to ask for and
// whether to wait first.
func pagePlan(used, limit uint64, pageSize int64) (size int64, wait bool) {
	if limit == 0 || limit >= math.MaxInt64 {
		return pageSize, false
	}
	f := float64(used) / float64(limit)
	switch {
	case f >= pressureWait:
		return min(pageSize, minPage), true
	case f >= pressureShrink:
		return max(min(pageSize, minPage), pageSize/4), false
	default:
		return pageSize, false
	}
}

// ReadMemory reads what the Go runtime's memory limit counts (all memory
// the runtime maps, less what it returned to the OS) and the limit itself.
func ReadMemory() (used, limit uint64) {
	s := []metrics.Sample{
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
		{Name: "/gc/gomemlimit:bytes"},
	}
	metrics.Read(s)
	for _, x := range s {
		if x.Value.Kind() != metrics.KindUint64 {
			return 0, 0
		}
	}
	return s[0].Value.Uint64() - s[1].Value.Uint64(), s[2].Value.Uint64()
}

// pageLimit is the size of the next page under the current memory
// pressure; under heavy pressure it first waits (collecting garbage) until
// the pressure eases, ctx ends or pressureMaxWait passes.
func (l *lister) pageLimit(ctx context.Context) int64 {
	read := l.a.Memory
	if read == nil {
		read = ReadMemory
	}
	used, limit := read()
	size, wait := pagePlan(used, limit, l.pageSize)
	if size < l.pageSize {
		l.throttled++
	}
	deadline := time.Now().Add(pressureMaxWait)
	for wait && time.Now().Before(deadline) {
		runtime.GC()
		if !sleep(ctx, 200*time.Millisecond) {
			break
		}
		used, limit = read()
		_, wait = pagePlan(used, limit, l.pageSize)
	}
	return size
}
