package audit

import "sync"

// orderer hands judged objects to emit in list order (Auditor.Ordered).
// Workers finish objects out of order; the orderer keeps those that are
// ahead until the ones before them are done. The lister takes a place in
// window for every object it lists and the orderer gives it back once the
// object is emitted, so at most cap(window) objects are between the two.
type orderer struct {
	window chan struct{}
	emit   func(item, *Object)

	mu      sync.Mutex
	next    uint64
	pending map[uint64]pendingItem
	// emitting serializes emit without holding mu (a worker that finishes
	// an object while another emits just parks it in pending).
	emitting bool
}

type pendingItem struct {
	it item
	o  *Object // nil: nothing to emit (excluded, failed)
}

func newOrderer(window int, emit func(item, *Object)) *orderer {
	return &orderer{window: make(chan struct{}, window), emit: emit, pending: map[uint64]pendingItem{}}
}

// done says item it is judged (o nil when there is nothing to emit) and
// emits every object now next in order.
func (r *orderer) done(it item, o *Object) {
	r.mu.Lock()
	r.pending[it.seq] = pendingItem{it, o}
	if r.emitting {
		r.mu.Unlock()
		return
	}
	r.emitting = true
	for {
		p, ok := r.pending[r.next]
		if !ok {
			r.emitting = false
			r.mu.Unlock()
			return
		}
		delete(r.pending, r.next)
		r.next++
		r.mu.Unlock()
		if p.o != nil {
			r.emit(p.it, p.o)
		}
		<-r.window
		r.mu.Lock()
	}
}
