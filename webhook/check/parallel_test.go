package check

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// TestJudgeInOrder: results judged unevenly on many goroutines reach the
// sink in input order, each once; the first error in input order is the
// one returned, nothing after it is sunk, and no goroutine is left behind.
func TestJudgeInOrder(t *testing.T) {
	const n = 500
	each := func(fn func(Object) error) error {
		for i := range n {
			if err := fn(Object{Source: strconv.Itoa(i)}); err != nil {
				return err
			}
		}
		return nil
	}
	judge := func(failAt int) func(context.Context, Object) (Result, error) {
		return func(_ context.Context, o Object) (Result, error) {
			time.Sleep(time.Duration(rand.IntN(200)) * time.Microsecond)
			if i, _ := strconv.Atoi(o.Source); i == failAt || i == failAt+7 {
				return Result{}, fmt.Errorf("object %d", i)
			}
			return Result{Source: o.Source}, nil
		}
	}
	before := runtime.NumGoroutine()
	for _, workers := range []int{1, 2, 8} {
		for _, failAt := range []int{-100, 0, 250, n - 1} {
			var got []string
			err := judgeInOrder(context.Background(), workers, each, judge(failAt), func(r *Result) error {
				got = append(got, r.Source)
				return nil
			})
			wantN := n
			if failAt >= 0 {
				wantN = failAt
				if err == nil || err.Error() != fmt.Sprintf("object %d", failAt) {
					t.Errorf("%d workers, failing at %d: error %v", workers, failAt, err)
				}
			} else if err != nil {
				t.Errorf("%d workers: %v", workers, err)
			}
			if len(got) != wantN {
				t.Fatalf("%d workers, failing at %d: %d results sunk, want %d", workers, failAt, len(got), wantN)
			}
			for i, s := range got {
				if s != strconv.Itoa(i) {
					t.Fatalf("%d workers: result %d is object %s", workers, i, s)
				}
			}
		}
		// A sink error stops it too.
		stop := errors.New("disk full")
		sunk := 0
		err := judgeInOrder(context.Background(), workers, each, judge(-100), func(*Result) error {
			if sunk++; sunk == 10 {
				return stop
			}
			return nil
		})
		if !errors.Is(err, stop) || sunk != 10 {
			t.Errorf("%d workers: sink error gave %v after %d results", workers, err, sunk)
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > before {
		t.Errorf("%d goroutines left behind", g-before)
	}
}
