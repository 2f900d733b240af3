package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/ws-defaults/ws-defaults/test/framework"
	"github.com/ws-defaults/ws-defaults/webhook/audit"
	"github.com/ws-defaults/ws-defaults/webhook/kinds"
	"github.com/ws-defaults/ws-defaults/webhook/policy"
)

// expiringReader is the API server's client, except that before the first
// page after the first one it waits until the list's continue token has
// expired on the server (writing, so that etcd's revision moves on and the
// API server compacts past the list), and, with stripToken, drops the
// continue token the API server sends with the 410 (as a server that sends
// none would).
type expiringReader struct {
	client.Client
	t          *testing.T
	stripToken bool

	once    sync.Once
	expired int
}

func (r *expiringReader) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	lo := (&client.ListOptions{}).ApplyOptions(opts)
	if lo.Continue != "" {
		r.once.Do(func() { r.waitExpired(ctx, list, lo) })
	}
	err := r.Client.List(ctx, list, opts...)
	if apierrors.IsResourceExpired(err) {
		r.expired++
		var se *apierrors.StatusError
		if r.stripToken && errors.As(err, &se) {
			status := se.ErrStatus
			status.ListMeta.Continue = ""
			err = &apierrors.StatusError{ErrStatus: status}
		}
	}
	return err
}

func (r *expiringReader) waitExpired(ctx context.Context, list client.ObjectList, lo *client.ListOptions) {
	deadline := time.Now().Add(2 * time.Minute)
	for i := 0; time.Now().Before(deadline); i++ {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: fmt.Sprintf("tick-%d-%d", time.Now().UnixNano(), i)}}
		if err := r.Client.Create(ctx, cm); err != nil {
			r.t.Errorf("advancing the revision: %v", err)
			return
		}
		time.Sleep(500 * time.Millisecond)
		probe := list.DeepCopyObject().(client.ObjectList)
		err := r.Client.List(ctx, probe, lo)
		if apierrors.IsResourceExpired(err) {
			return
		}
		if err != nil {
			r.t.Errorf("probing the continue token: %v", err)
			return
		}
	}
	r.t.Error("the continue token did not expire within 2 minutes")
}

// TestAuditSurvivesExpiredContinue: a pass whose paged list outlives etcd's
// compaction (410 ResourceExpired on the continue token) goes on where it
// was and judges every object exactly once: from the token the API server
// sends with the 410, or, without one, by listing the kind again and
// skipping what it handed on. A real API server compacting every second
// (--etcd-compaction-interval).
func TestAuditSurvivesExpiredContinue(t *testing.T) {
	root, err := framework.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	assets, err := framework.ControlPlaneAssets(root, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	env := &envtest.Environment{BinaryAssetsDirectory: assets}
	env.ControlPlane.GetAPIServer().Configure().Set("etcd-compaction-interval", "1s")
	cfg, err := env.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = env.Stop() }()
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var want []string
	for _, ns := range []string{"expiry-a", "expiry-b"} {
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
		for i := range 12 {
			svc := &corev1.Service{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("svc-%02d", i)},
				Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
			}
			if err := c.Create(ctx, svc); err != nil {
				t.Fatal(err)
			}
			want = append(want, ns+"/"+svc.Name)
		}
	}
	slices.Sort(want)

	var service []kinds.Kind
	for _, k := range kinds.Handled {
		if k.Kind == "Service" && k.Group == "" {
			service = append(service, k)
		}
	}
	for _, strip := range []bool{false, true} {
		t.Run(fmt.Sprintf("token from the 410 dropped=%v", strip), func(t *testing.T) {
			r := &expiringReader{Client: c, t: t, stripToken: strip}
			a := &audit.Auditor{Reader: r, Mapper: c.RESTMapper(), Policies: policy.NewStore(nil), Kinds: service, PageSize: 5}
			var mu sync.Mutex
			var got []string
			stats, err := a.Run(ctx, func(_ context.Context, o *audit.Object) error {
				if strings.HasPrefix(o.Ref.Namespace, "expiry-") { // not default/kubernetes
					mu.Lock()
					got = append(got, o.Ref.Namespace+"/"+o.Ref.Name)
					mu.Unlock()
				}
				return nil
			})
			if err != nil {
				t.Fatalf("pass failed: %v", err)
			}
			if r.expired == 0 {
				t.Fatal("the list never expired: the test did not test anything")
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("judged %d objects %v\nwant %d %v (each exactly once)", len(got), got, len(want), want)
			}
			if strip && stats.Relisted == 0 {
				t.Errorf("without a token from the 410 the kind was not listed again: %+v", stats)
			}
			if !strip && stats.Resumed+stats.Relisted == 0 {
				t.Errorf("no resume counted: %+v", stats)
			}
			t.Logf("410s %d; resumed %d, relisted %d", r.expired, stats.Resumed, stats.Relisted)
		})
	}
}
