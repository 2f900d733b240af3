package audit

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ws-defaults/ws-defaults/webhook/kinds"
)

// pagingReader pages what its client lists (in key order, as the API
// server does; the fake client does not page) and lets a test expire the
// continue token of chosen calls with a 410, carrying a token to resume
// from or none. test/e2e's TestAuditSurvivesExpiredContinue does the same
// against a real API server.
type pagingReader struct {
	client.Client
	mu sync.Mutex
	// expire says, for the n-th continued list call (from 1), whether it
	// gets a 410 and whether the 410 carries a token.
	expire func(n int) (expired, token bool)
	n      int
}

func (r *pagingReader) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	lo := (&client.ListOptions{}).ApplyOptions(opts)
	ul, ok := list.(*unstructured.UnstructuredList)
	if !ok || lo.Limit == 0 {
		return r.Client.List(ctx, list, opts...)
	}
	start := 0
	if lo.Continue != "" {
		r.mu.Lock()
		r.n++
		n := r.n
		r.mu.Unlock()
		start, _ = strconv.Atoi(lo.Continue)
		if expired, token := r.expire(n); expired {
			err := apierrors.NewResourceExpired("The provided continue parameter is too old to display a consistent list result.")
			if token {
				err.ErrStatus.ListMeta.Continue = lo.Continue
			}
			return err
		}
	}
	if err := r.Client.List(ctx, list, &client.ListOptions{Namespace: lo.Namespace}); err != nil {
		return err
	}
	slices.SortFunc(ul.Items, func(a, b unstructured.Unstructured) int {
		return strings.Compare(a.GetNamespace()+"/"+a.GetName(), b.GetNamespace()+"/"+b.GetName())
	})
	end := min(len(ul.Items), start+int(lo.Limit))
	ul.Items = ul.Items[start:end]
	ul.SetContinue("")
	if end < start+int(lo.Limit) {
		return nil
	}
	ul.SetContinue(strconv.Itoa(end))
	return nil
}

// TestListSurvivesExpiredContinue: an expired continue token resumes from
// the token the 410 carries, or relists the kind and skips what was handed
// on; every object is judged exactly once. Expiring again and again with
// no progress fails the pass.
func TestListSurvivesExpiredContinue(t *testing.T) {
	var extra []client.Object
	for i := range 9 {
		extra = append(extra, ingress("chat", fmt.Sprintf("app-%d", i), nil), ingress("other", fmt.Sprintf("app-%d", i), nil))
	}
	var ingresses []kinds.Kind
	for _, k := range kinds.Handled {
		if k.Kind == "Ingress" {
			ingresses = append(ingresses, k)
		}
	}
	run := func(expire func(int) (bool, bool)) ([]string, *Stats, error) {
		c := world(t, extra...)
		a := auditor(t, c)
		a.Reader, a.Kinds, a.PageSize = &pagingReader{Client: c, expire: expire}, ingresses, 4
		var mu sync.Mutex
		var got []string
		stats, err := a.Run(context.Background(), func(_ context.Context, o *Object) error {
			mu.Lock()
			got = append(got, o.Ref.Namespace+"/"+o.Ref.Name)
			mu.Unlock()
			return nil
		})
		slices.Sort(got)
		return got, stats, err
	}
	want, _, err := run(func(int) (bool, bool) { return false, false })
	if err != nil || len(want) != 21 { // 18 + drift, snippet, plain; kube-system excluded
		t.Fatalf("plain pass: %d objects, %v", len(want), err)
	}
	for _, c := range []struct {
		name             string
		expire           func(int) (bool, bool)
		resumed, relists int
	}{
		{"token in the 410", func(n int) (bool, bool) { return n == 2 || n == 4, true }, 2, 0},
		{"no token in the 410", func(n int) (bool, bool) { return n == 2 || n == 4, false }, 0, 2},
		{"twice in a row", func(n int) (bool, bool) { return n == 1 || n == 2, false }, 0, 2},
	} {
		got, stats, err := run(c.expire)
		if err != nil {
			t.Errorf("%s: pass failed: %v", c.name, err)
			continue
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: judged %v, want each of %v once", c.name, got, want)
		}
		if stats.Resumed != c.resumed || stats.Relisted != c.relists {
			t.Errorf("%s: resumed %d relisted %d, want %d and %d", c.name, stats.Resumed, stats.Relisted, c.resumed, c.relists)
		}
	}
	if _, _, err := run(func(n int) (bool, bool) { return n >= 2, true }); !apierrors.IsResourceExpired(err) {
		t.Errorf("expiring forever: %v, want the 410 after %d tries", err, maxExpiries)
	}
}
