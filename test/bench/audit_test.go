// Package bench holds the audit's scale benchmark (make bench-audit): it
// bulk-creates Ingresses and Services across 100 namespaces in a local
// control plane (envtest: kube-apiserver and etcd, no webhook), times a
// bare paginated list of them (the floor), then runs two audit passes in a
// child process (the serve loop's pass: list, judge, write Reports, with
// the route index `webhook serve` keeps beside it) and reports the first
// pass's time, its ratio to the floor, the child's max RSS and live heap
// (peak, and kept between passes per object) and the writes of the second
// pass (nothing changed: want 0); then `webhook audit -o jsonl` and
// `-o json` against the same objects (time against the floor, max RSS).
//
//	make bench-audit                       # 100,000 objects
//	AUDIT_BENCH_OBJECTS=10000 make bench-audit
//	AUDIT_BENCH_PPROF=dir                  # heap profiles: at the peak, after each pass
//	AUDIT_BENCH_GOMEMLIMIT=230MiB          # the child's soft limit, as the chart sets it
//	AUDIT_BENCH_NO_FSYNC=1                 # etcd without fsync (bulk creation)
//	AUDIT_BENCH_CLIENTS=48                 # parallel creates
//	AUDIT_BENCH_CLI=0                      # skip the CLI runs
//	AUDIT_BENCH_KUBECONFIG=file            # measure what that cluster holds (no control plane started, nothing created)
//	AUDIT_BENCH_FILL=1                     # with it: first create what it lacks of AUDIT_BENCH_OBJECTS
//	AUDIT_BENCH_HEADLESS=1                 # Services without a cluster IP (much faster to create past 30k)
package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	orv1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
	"github.com/ws-defaults/ws-defaults/test/framework"
	"github.com/ws-defaults/ws-defaults/webhook/audit"
	"github.com/ws-defaults/ws-defaults/webhook/cluster"
	"github.com/ws-defaults/ws-defaults/webhook/evidence"
	"github.com/ws-defaults/ws-defaults/webhook/ingressclass"
	"github.com/ws-defaults/ws-defaults/webhook/pipeline"
	"github.com/ws-defaults/ws-defaults/webhook/policy"
	"github.com/ws-defaults/ws-defaults/webhook/validate"
)

const (
	childEnv   = "WSD_AUDIT_BENCH_CHILD"
	namespaces = 100
)

func TestMain(m *testing.M) {
	ctrllog.SetLogger(logr.Discard())
	if kc := os.Getenv(childEnv); kc != "" {
		os.Exit(child(kc))
	}
	if code, ok := checkChild(); ok {
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// passResult is one pass as the child prints it.
type passResult struct {
	Seconds                   float64
	Objects                   int
	Created, Updated, Deleted int64
	Err                       string
	// HeapRetained is the live heap after the pass and a GC: what the
	// process keeps between passes (route index, memo, compiled rules).
	HeapRetained uint64
	// HeapPeak is the largest live heap seen during the pass (sampled).
	HeapPeak uint64
}

// heapWatch samples the live heap every 100 ms and, when dir is set,
// writes a heap profile (by allocation site) each time it reaches a new
// peak (heap-peak.pb.gz), so the profile shows what held the memory when
// the process needed the most.
type heapWatch struct {
	dir  string
	mu   sync.Mutex
	peak uint64
}

func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func (h *heapWatch) run(ctx context.Context) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		live := liveHeap()
		h.mu.Lock()
		if live > h.peak+h.peak/20 {
			h.peak = live
			if h.dir != "" {
				writeHeap(filepath.Join(h.dir, "heap-peak.pb.gz"))
			}
		}
		h.mu.Unlock()
	}
}

func (h *heapWatch) reset() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.peak
	h.peak = 0
	return p
}

func writeHeap(path string) {
	f, err := os.Create(path)
	if err != nil {
		return
	}
	defer f.Close()
	_ = pprof.Lookup("heap").WriteTo(f, 0)
}

// child runs two audit passes, as the serve loop does, and prints them.
func child(kubeconfig string) int {
	ctx := context.Background()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	cfg.QPS, cfg.Burst = -1, 0 // no client-side throttling; the API server's own limits apply
	s := kruntime.NewScheme()
	_ = clientgoscheme.AddToScheme(s)
	_ = orv1.AddToScheme(s)
	c, err := client.New(cfg, client.Options{Scheme: s})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	engine, err := validate.NewEngine(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	// The route index, as `webhook serve` keeps it (its informers run
	// beside the audit in the same process).
	set := evidence.NewSet(evidence.Options{})
	w, err := cluster.NewRouteWatcher(cfg, set)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	watchCtx, stop := context.WithCancel(ctx)
	defer stop()
	hw := &heapWatch{dir: os.Getenv("AUDIT_BENCH_PPROF")}
	go hw.run(watchCtx)
	go func() { _ = w.Start(watchCtx) }()
	if !w.WaitForSync(ctx, 10*time.Minute) {
		fmt.Fprintln(os.Stderr, "route index did not sync")
		return 2
	}
	l := &audit.Loop{
		Auditor: &audit.Auditor{Reader: c, Mapper: c.RESTMapper(), Policies: policy.NewStore(nil), Rules: engine, Routes: set},
		Client:  c,
	}
	var out []passResult
	for i := range 2 {
		p := l.RunOnce(ctx)
		r := passResult{Seconds: p.Duration.Seconds(), Created: p.Created, Updated: p.Updated, Deleted: p.Deleted, HeapPeak: hw.reset()}
		runtime.GC()
		r.HeapRetained = liveHeap()
		if hw.dir != "" {
			writeHeap(filepath.Join(hw.dir, fmt.Sprintf("heap-after-pass%d.pb.gz", i+1)))
		}
		if p.Stats != nil {
			for _, n := range p.Stats.Objects {
				r.Objects += n
			}
		}
		if p.Err != nil {
			r.Err = p.Err.Error()
		}
		out = append(out, r)
	}
	_ = json.NewEncoder(os.Stdout).Encode(out)
	return 0
}

func BenchmarkAuditScale(b *testing.B) {
	total := 100_000
	if v := os.Getenv("AUDIT_BENCH_OBJECTS"); v != "" {
		var err error
		if total, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	root, err := framework.RepoRoot()
	if err != nil {
		b.Fatal(err)
	}
	// AUDIT_BENCH_KUBECONFIG: measure the objects an earlier run (or any
	// cluster) already holds, without starting a control plane or creating
	// anything.
	kubeconfig := os.Getenv("AUDIT_BENCH_KUBECONFIG")
	var cfg *rest.Config
	if kubeconfig != "" {
		if cfg, err = clientcmd.BuildConfigFromFlags("", kubeconfig); err != nil {
			b.Fatal(err)
		}
		cfg.QPS, cfg.Burst = -1, 0
		// AUDIT_BENCH_FILL=1: first create what that cluster lacks of the
		// usual objects (to finish an earlier run's creation).
		if os.Getenv("AUDIT_BENCH_FILL") == "1" {
			start := time.Now()
			if err := populate(cfg, total); err != nil {
				b.Fatal(err)
			}
			b.Logf("filled to %d objects in %s", total, time.Since(start).Round(time.Second))
		}
	} else {
		assets, err := framework.ControlPlaneAssets(root, os.Stderr)
		if err != nil {
			b.Fatal(err)
		}
		env := &envtest.Environment{
			BinaryAssetsDirectory: assets,
			CRDDirectoryPaths:     []string{filepath.Join(root, "charts", "ws-defaults", "crds")},
			ErrorIfCRDPathMissing: true,
		}
		// Room for 50,000 ClusterIP Services (envtest's default range is a /24).
		env.ControlPlane.GetAPIServer().Configure().Set("service-cluster-ip-range", "10.96.0.0/12")
		// AUDIT_BENCH_NO_FSYNC=1: etcd skips fsync (a throwaway store), which
		// makes bulk-creating 100k objects feasible on a shared 2-core machine;
		// it also makes the first pass's Report writes cheaper than on a real
		// cluster, so quote pass 1 with that said.
		if os.Getenv("AUDIT_BENCH_NO_FSYNC") == "1" {
			env.ControlPlane.Etcd = &envtest.Etcd{}
			env.ControlPlane.Etcd.Configure().Set("unsafe-no-fsync", "true")
		}
		cfg, err = env.Start()
		if err != nil {
			b.Fatal(err)
		}
		defer func() { _ = env.Stop() }()
		admin, err := env.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
		if err != nil {
			b.Fatal(err)
		}
		kc, err := admin.KubeConfig()
		if err != nil {
			b.Fatal(err)
		}
		kubeconfig = filepath.Join(b.TempDir(), "kubeconfig")
		if err := os.WriteFile(kubeconfig, kc, 0o600); err != nil {
			b.Fatal(err)
		}
		cfg = rest.CopyConfig(cfg)
		cfg.QPS, cfg.Burst = -1, 0

		start := time.Now()
		if err := populate(cfg, total); err != nil {
			b.Fatal(err)
		}
		b.Logf("created %d objects in %s", total, time.Since(start).Round(time.Second))
	}

	for range b.N {
		floor, n, err := listFloor(cfg)
		if err != nil {
			b.Fatal(err)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"="+kubeconfig)
		if limit := os.Getenv("AUDIT_BENCH_GOMEMLIMIT"); limit != "" {
			// As the chart runs it: the soft limit at 90% of the container's.
			cmd.Env = append(cmd.Env, "GOMEMLIMIT="+limit)
		}
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			b.Fatalf("audit child: %v", err)
		}
		var passes []passResult
		if err := json.Unmarshal(out, &passes); err != nil || len(passes) != 2 {
			b.Fatalf("audit child printed %q: %v", out, err)
		}
		for _, p := range passes {
			if p.Err != "" {
				b.Fatalf("audit pass: %s", p.Err)
			}
		}
		rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss * 1024 // bytes (Linux reports KiB)
		first, second := passes[0], passes[1]
		b.Logf("objects %d (listed %d); list floor %.2fs; audit pass 1 %.2fs (%d Reports created) ratio %.2f×; pass 2 %.2fs ratio %.2f×, writes %d; max RSS %d MiB",
			first.Objects, n, floor.Seconds(), first.Seconds, first.Created, first.Seconds/floor.Seconds(),
			second.Seconds, second.Seconds/floor.Seconds(), second.Created+second.Updated+second.Deleted, rss>>20)
		b.Logf("live heap: peak %d MiB in pass 1, %d MiB in pass 2; kept between passes %d MiB (%d bytes per object, route index, memo and compiled rules included)",
			first.HeapPeak>>20, second.HeapPeak>>20, second.HeapRetained>>20, second.HeapRetained/uint64(max(1, n)))
		b.ReportMetric(float64(second.HeapRetained)/float64(max(1, n)), "retained-B/obj")
		if root != "" {
			cliFloor(b, root, kubeconfig, floor)
		}
		b.ReportMetric(floor.Seconds(), "list-s")
		b.ReportMetric(first.Seconds, "audit1-s")
		b.ReportMetric(first.Seconds/floor.Seconds(), "ratio1")
		b.ReportMetric(second.Seconds, "audit2-s")
		b.ReportMetric(second.Seconds/floor.Seconds(), "ratio2")
		b.ReportMetric(float64(rss>>20), "maxrss-MiB")
		b.ReportMetric(float64(second.Created+second.Updated+second.Deleted), "writes2")
		b.ReportMetric(float64(first.Created), "reports")
	}
}

// cliFloor runs `webhook audit -o jsonl` (and -o json) against the same
// objects and reports its time against the list floor and its max RSS.
// AUDIT_BENCH_CLI=0 skips it.
func cliFloor(b *testing.B, root, kubeconfig string, floor time.Duration) {
	if os.Getenv("AUDIT_BENCH_CLI") == "0" {
		return
	}
	bin, err := framework.BuildWebhook(root, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	for _, format := range []string{"jsonl", "json"} {
		cmd := exec.Command(bin, "audit", "--kubeconfig", kubeconfig, "-o", format)
		cmd.Stdout = io.Discard
		var stderr strings.Builder
		cmd.Stderr = &stderr
		start := time.Now()
		err := cmd.Run()
		took := time.Since(start)
		var exit *exec.ExitError
		if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) {
			b.Fatalf("webhook audit -o %s: %v\n%s", format, err, stderr.String())
		}
		rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss * 1024
		b.Logf("webhook audit -o %s: %.2fs (%.2f× the list floor), max RSS %d MiB", format, took.Seconds(), took.Seconds()/floor.Seconds(), rss>>20)
		b.ReportMetric(took.Seconds()/floor.Seconds(), "cli-"+format+"-ratio")
		b.ReportMetric(float64(rss>>20), "cli-"+format+"-maxrss-MiB")
	}
}

// listFloor lists every Ingress and Service in pages of 500, as the audit
// does, and does nothing with them.
func listFloor(cfg *rest.Config) (time.Duration, int, error) {
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return 0, 0, err
	}
	start := time.Now()
	n := 0
	for _, gvk := range []schema.GroupVersionKind{
		{Group: "networking.k8s.io", Version: "v1", Kind: "IngressList"},
		{Version: "v1", Kind: "ServiceList"},
	} {
		cont := ""
		for {
			list := &unstructured.UnstructuredList{}
			list.SetGroupVersionKind(gvk)
			if err := c.List(context.Background(), list, client.Limit(audit.DefaultPageSize), client.Continue(cont)); err != nil {
				return 0, 0, err
			}
			n += len(list.Items)
			if cont = list.GetContinue(); cont == "" {
				break
			}
		}
	}
	return time.Since(start), n, nil
}

// populate creates 100 namespaces (every other one opted in) and total/2
// Ingresses and total/2 Services across them: a mix in which about half of
// the opted-in objects were defaulted by the webhook (mutated here through
// the pipeline, as admission would have), the others drifted, one Ingress in
// ten has a server snippet (deny), one in four no TLS (warn when opted in),
// and half the Services carry a WebSocket port.
func populate(cfg *rest.Config, total int) error {
	ctx := context.Background()
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	class := &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "nginx"}, Spec: networkingv1.IngressClassSpec{Controller: "k8s.io/ingress-nginx"}}
	if _, err := cs.NetworkingV1().IngressClasses().Create(ctx, class, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	snap := &cluster.Snapshot{Classes: []ingressclass.Class{{Name: "nginx", Controller: "k8s.io/ingress-nginx"}}, Namespaces: map[string]metav1.ObjectMeta{}}
	for i := range namespaces {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("bench-%03d", i)}}
		if i%2 == 0 {
			ns.Labels = map[string]string{v1alpha1.OptInLabel: v1alpha1.OptInEnabled}
		}
		if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
		snap.Namespaces[ns.Name] = ns.ObjectMeta
	}
	pipe := &pipeline.Pipeline{Policies: policy.NewStore(nil), Cluster: snap}
	// defaulted returns obj as the mutating webhook would have stored it.
	defaulted := func(obj any, ns string) (map[string]any, error) {
		raw, err := json.Marshal(obj)
		if err != nil {
			return nil, err
		}
		o, err := pipeline.Decode("CREATE", ns, raw, nil)
		if err != nil {
			return nil, err
		}
		c, err := pipe.Prepare(ctx, o)
		if err != nil {
			return nil, err
		}
		if _, _, err := pipe.Mutate(c, o); err != nil {
			return nil, err
		}
		return o.Object, nil
	}
	dyn, err := client.New(cfg, client.Options{})
	if err != nil {
		return err
	}

	type job struct{ ns, i int }
	jobs := make(chan job, 1000)
	var firstErr atomic.Value
	var wg sync.WaitGroup
	clients := 48 // the local API server takes several hundred creates/s with 32-64
	if v, err := strconv.Atoi(os.Getenv("AUDIT_BENCH_CLIENTS")); err == nil && v > 0 {
		clients = v
	}
	for range clients {
		wg.Go(func() {
			for j := range jobs {
				if err := createPair(ctx, dyn, defaulted, j.ns, j.i); err != nil {
					firstErr.CompareAndSwap(nil, err)
				}
			}
		})
	}
	// What exists already (AUDIT_BENCH_FILL) is skipped.
	existing := map[string]bool{}
	for cont := ""; ; {
		list, err := cs.CoreV1().Services("").List(ctx, metav1.ListOptions{Limit: 5000, Continue: cont})
		if err != nil {
			return err
		}
		for _, svc := range list.Items {
			existing[svc.Namespace+"/"+svc.Name] = true
		}
		if cont = list.Continue; cont == "" {
			break
		}
	}
	perNS := total / 2 / namespaces
	for i := range perNS {
		for ns := range namespaces {
			if firstErr.Load() != nil {
				break
			}
			if existing[fmt.Sprintf("bench-%03d/app-%05d", ns, i)] {
				continue
			}
			jobs <- job{ns, i}
		}
	}
	close(jobs)
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return err
	}
	return nil
}

// headless (AUDIT_BENCH_HEADLESS=1) creates the Services without a
// cluster IP. kube-apiserver 1.37's ClusterIP allocator slows down as
// Services accumulate (past 30,000 a create took 5.5 s with 64 clients,
// against 6 ms for an Ingress), which makes 100k objects take hours on a
// small machine. A headless Service is judged like any other, except that
// it gets no ClientIP affinity.
var headless = os.Getenv("AUDIT_BENCH_HEADLESS") == "1"

func createPair(ctx context.Context, c client.Client, defaulted func(any, string) (map[string]any, error), nsIndex, i int) error {
	ns := fmt.Sprintf("bench-%03d", nsIndex)
	name := fmt.Sprintf("app-%05d", i)
	class := "nginx"
	pt := networkingv1.PathTypePrefix
	ing := &networkingv1.Ingress{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "Ingress"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": name}},
		Spec: networkingv1.IngressSpec{
			IngressClassName: &class,
			Rules: []networkingv1.IngressRule{{Host: name + ".example.com", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{{Path: "/ws", PathType: &pt, Backend: networkingv1.IngressBackend{
					Service: &networkingv1.IngressServiceBackend{Name: name, Port: networkingv1.ServiceBackendPort{Number: 80}},
				}}},
			}}}},
		},
	}
	if i%4 != 0 {
		ing.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{name + ".example.com"}, SecretName: name + "-tls"}}
	}
	if i%10 == 0 {
		ing.Annotations = map[string]string{"nginx.ingress.kubernetes.io/server-snippet": "return 200;"}
	}
	port := corev1.ServicePort{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}
	if i%2 == 0 {
		port.Name = "ws"
	}
	svc := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": name}},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": name}, Ports: []corev1.ServicePort{port}},
	}
	if headless {
		svc.Spec.ClusterIP = corev1.ClusterIPNone
	}
	for _, obj := range []any{ing, svc} {
		var m map[string]any
		var err error
		if (i/2)%2 == 0 { // half the objects went through the webhook
			m, err = defaulted(obj, ns)
		} else {
			var raw []byte
			if raw, err = json.Marshal(obj); err == nil {
				err = json.Unmarshal(raw, &m)
			}
		}
		if err != nil {
			return err
		}
		if err := c.Create(ctx, &unstructured.Unstructured{Object: m}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating %s/%s: %w", ns, name, err)
		}
	}
	return nil
}
