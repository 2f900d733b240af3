package check

import (
	"context"
	"sync"
)

// judged is one object's outcome, numbered in input order.
type judged struct {
	seq int
	r   Result
	err error
}

// judgeInOrder judges the objects each hands out on workers goroutines and
// gives the results to sink in input order. At most window objects are
// between each and sink at any time, so memory stays a few objects. The
// first error in input order (from judge or sink) stops it and is
// returned, as a sequential loop would return it.
func judgeInOrder(ctx context.Context, workers int, each func(func(Object) error) error,
	judge func(context.Context, Object) (Result, error), sink func(*Result) error,
) error {
	if workers <= 1 {
		return each(func(o Object) error {
			r, err := judge(ctx, o)
			if err != nil {
				return err
			}
			return sink(&r)
		})
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	window := 4 * workers
	type job struct {
		seq int
		o   Object
	}
	jobs := make(chan job)
	results := make(chan judged, window)
	slots := make(chan struct{}, window)

	var readErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(jobs)
		seq := 0
		readErr = each(func(o Object) error {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return ctx.Err()
			}
			select {
			case jobs <- job{seq, o}:
			case <-ctx.Done():
				return ctx.Err()
			}
			seq++
			return nil
		})
	})
	var judges sync.WaitGroup
	for range workers {
		judges.Go(func() {
			for j := range jobs {
				r, err := judge(ctx, j.o)
				results <- judged{j.seq, r, err}
			}
		})
	}
	go func() {
		judges.Wait()
		close(results)
	}()

	var firstErr error
	pending := map[int]judged{}
	next := 0
	for d := range results {
		pending[d.seq] = d
		for {
			d, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			<-slots
			if firstErr != nil {
				continue
			}
			if firstErr = d.err; firstErr == nil {
				firstErr = sink(&d.r)
			}
			if firstErr != nil {
				cancel() // the reader stops; what is in flight drains
			}
		}
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	// readErr is ctx's error only when firstErr is set.
	return readErr
}
