package bench

// make bench-serve: `webhook serve` against FLOOR (test/bench/floor, a bare
// controller-runtime webhook that decodes the object and allows), each a
// process of its own, driven over HTTPS by vegeta's library with the same
// distinct AdmissionReviews (test/gen), in alternating rounds, closed loop
// and open loop; then `webhook serve` alone past its capacity. CPU per 1k
// requests is the process's user+system time (/proc/<pid>/stat) over the
// round; RSS is VmRSS after the load. Knobs (environment):
//
//	BENCH_SERVE_DURATION  each round (default 5s)
//	BENCH_SERVE_ROUNDS    rounds per scenario and target (default 2)
//	BENCH_SERVE_OBJECTS   distinct AdmissionReviews (default 2000)
//	BENCH_SERVE_WORKERS   closed-loop concurrency (default 8)
//	BENCH_SERVE_RATE      open-loop rate (default 1000/s)
//	BENCH_SERVE_PPROF     a folder: CPU and heap profiles of `webhook serve`
//	                      during its /validate and /mutate closed-loop rounds
//	BENCH_SERVE_FLAGS     more `webhook serve` flags, space-separated (e.g.
//	                      "--max-in-flight=0" to see overload without the limit)

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/yaml"

	"github.com/go-logr/logr"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
	"github.com/ws-defaults/ws-defaults/test/bench/floor"
	"github.com/ws-defaults/ws-defaults/test/framework"
	"github.com/ws-defaults/ws-defaults/test/gen"
	"github.com/ws-defaults/ws-defaults/webhook/handler"
	"github.com/ws-defaults/ws-defaults/webhook/ingressclass"
	"github.com/ws-defaults/ws-defaults/webhook/mutate"
	"github.com/ws-defaults/ws-defaults/webhook/scope"
)

func BenchmarkServe(b *testing.B) {
	ctrllog.SetLogger(logr.Discard())
	dur := envDuration("BENCH_SERVE_DURATION", 5*time.Second)
	rounds := envInt("BENCH_SERVE_ROUNDS", 2)
	nObjects := envInt("BENCH_SERVE_OBJECTS", 2000)
	workers := envInt("BENCH_SERVE_WORKERS", 8)
	rate := envInt("BENCH_SERVE_RATE", 1000)
	pprofDir := os.Getenv("BENCH_SERVE_PPROF")

	root, err := framework.RepoRoot()
	if err != nil {
		b.Fatal(err)
	}
	work := b.TempDir()
	// `webhook serve` needs an API server (informers, the policy); FLOOR
	// does not, and neither is called by it here: the load goes straight
	// to both over HTTPS.
	assets, err := framework.ControlPlaneAssets(root, os.Stderr)
	if err != nil {
		b.Fatal(err)
	}
	bin, err := framework.BuildWebhook(root, work)
	if err != nil {
		b.Fatal(err)
	}
	floorBin := filepath.Join(work, "floor")
	build := exec.Command("go", "test", "-c", "-o", floorBin, "./test/bench/floor")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("building FLOOR: %v\n%s", err, out)
	}
	c, err := framework.StartCluster(framework.ClusterOptions{Assets: assets, CRDDirs: []string{filepath.Join(root, "charts", "ws-defaults", "crds")}, Workdir: work})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Stop()
	ctx := context.Background()
	fixtures := []string{
		"apiVersion: v1\nkind: Namespace\nmetadata: {name: " + gen.OptedIn + ", labels: {ws-defaults: enabled}}\n",
		"apiVersion: v1\nkind: Namespace\nmetadata: {name: " + gen.Plain + "}\n",
	}
	var classes []ingressclass.Class
	for name, controller := range gen.IngressClasses {
		fixtures = append(fixtures, fmt.Sprintf("apiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata: {name: %s}\nspec: {controller: %s}\n", name, controller))
		classes = append(classes, ingressclass.Class{Name: name, Controller: controller})
	}
	for _, doc := range fixtures {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			b.Fatal(err)
		}
		if err := c.Client.Create(ctx, u); err != nil {
			b.Fatal(err)
		}
	}

	// The targets.
	servePort, floorPort := freePort(b), freePort(b)
	var logs framework.SyncBuffer
	metricsAddr, _ := framework.FreeAddr()
	pprofAddr, _ := framework.FreeAddr()
	args := []string{"--port", strconv.Itoa(servePort), "--metrics-bind-address", metricsAddr}
	if pprofDir != "" {
		args = append(args, "--pprof-bind-address", pprofAddr)
	}
	args = append(args, strings.Fields(os.Getenv("BENCH_SERVE_FLAGS"))...)
	serve, err := framework.StartWebhook(ctx, bin, c, &logs, args...)
	if err != nil {
		b.Fatalf("webhook serve: %v\n%s", err, logs.String())
	}
	defer serve.Stop()
	fl := exec.Command(floorBin)
	fl.Env = append(os.Environ(), floor.PortEnv+"="+strconv.Itoa(floorPort), floor.CertDirEnv+"="+c.CertDir)
	fl.Stdout, fl.Stderr = &logs, &logs
	if err := fl.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = fl.Process.Signal(syscall.SIGTERM); _ = fl.Wait() }()
	waitListening(b, floorPort)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.Env.WebhookInstallOptions.LocalServingCAData)
	newClient := func() *http.Client {
		return &http.Client{
			// The API server's webhook call gives up after 3 s by default.
			Timeout: 3 * time.Second,
			Transport: &http.Transport{
				TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
				MaxIdleConnsPerHost: overloadMaxWorkers,
				IdleConnTimeout:     90 * time.Second,
			},
		}
	}
	targets := []*target{
		{name: "FLOOR", pid: fl.Process.Pid, base: fmt.Sprintf("https://127.0.0.1:%d", floorPort), client: newClient()},
		{name: "serve", pid: serve.Pid(), base: fmt.Sprintf("https://127.0.0.1:%d", servePort), client: newClient()},
	}

	// The requests: /mutate gets the objects as written, /validate the
	// same objects after the mutation (as the API server sends them).
	objs := gen.Objects(1, nObjects)
	env := mutate.Env{Policy: v1alpha1.BuiltinPolicy(), IngressClasses: classes}
	var mutateTargets, validateTargets []vegeta.Target
	for i, o := range objs {
		body, err := o.Review(i)
		if err != nil {
			b.Fatal(err)
		}
		mutateTargets = append(mutateTargets, vegeta.Target{Method: http.MethodPost, URL: "/mutate", Body: body, Header: jsonHeader})
		raw, _ := json.Marshal(o.Object)
		obj, _ := mutate.Decode(raw)
		labels, _ := obj["metadata"].(map[string]any)["labels"].(map[string]any)
		if scope.OptedIn(map[string]string{"ws-defaults": fmt.Sprint(labels["ws-defaults"])}, map[string]string{"ws-defaults": map[bool]string{true: "enabled"}[o.Namespace == gen.OptedIn]}) {
			if _, err := mutate.Mutate(obj, env); err != nil {
				b.Fatal(err)
			}
			raw, _ = json.Marshal(obj)
		}
		vbody, err := o.ReviewOf(i, raw)
		if err != nil {
			b.Fatal(err)
		}
		validateTargets = append(validateTargets, vegeta.Target{Method: http.MethodPost, URL: "/validate", Body: vbody, Header: jsonHeader})
	}
	fmt.Printf("bench-serve: %d distinct AdmissionReviews (%s); rounds of %s, %d per target and scenario, alternating; 2 cores shared by load generator and targets\n",
		len(objs), gen.Kinds(objs), dur, rounds)

	// attack runs one round against t, adding to rr (nil: a new one); the
	// caller closes rr.metrics once every round is in.
	attack := func(rr *roundResult, t *target, tgts []vegeta.Target, pacer vegeta.Pacer, closedWorkers int, d time.Duration, openWorkers ...int) *roundResult {
		withBase := make([]vegeta.Target, len(tgts))
		for i, tg := range tgts {
			tg.URL = t.base + tg.URL
			withBase[i] = tg
		}
		// One HTTP client per target for the whole run, as the API server
		// keeps its connections to a webhook: a fresh client per round
		// would leave the last round's idle connections open on the
		// target (and in its RSS) and pay new TLS handshakes.
		opts := []func(*vegeta.Attacker){vegeta.Client(t.client)}
		if closedWorkers > 0 {
			opts = append(opts, vegeta.Workers(uint64(closedWorkers)), vegeta.MaxWorkers(uint64(closedWorkers)))
		} else {
			// Open loop, but with at most as many calls outstanding as the
			// API server can have: its mutating requests in flight are
			// capped (--max-mutating-requests-inflight, 200 by default), and
			// each waits for its webhook calls. Unbounded, a stalled target
			// makes vegeta open thousands of connections (TLS handshakes)
			// that no API server would.
			maxWorkers := openLoopMaxWorkers
			if len(openWorkers) > 0 {
				maxWorkers = openWorkers[0]
			}
			opts = append(opts, vegeta.MaxWorkers(uint64(maxWorkers)))
		}
		a := vegeta.NewAttacker(opts...)
		if rr == nil {
			rr = &roundResult{}
		}
		cpu0, start := procCPU(b, t.pid), time.Now()
		for r := range a.Attack(vegeta.NewStaticTargeter(withBase...), pacer, d, t.name) {
			rr.add(r)
		}
		rr.cpu += procCPU(b, t.pid) - cpu0
		rr.wall += time.Since(start)
		return rr
	}

	// Warm both (connections, caches, the runtime's heap) and let
	// `webhook serve`'s start-up work (audit pass, informers) finish.
	for _, t := range targets {
		attack(nil, t, validateTargets, vegeta.Rate{Freq: 500, Per: time.Second}, 0, 2*time.Second)
		attack(nil, t, mutateTargets, vegeta.Rate{Freq: 500, Per: time.Second}, 0, time.Second)
	}

	type scenario struct {
		name    string
		tgts    []vegeta.Target
		pacer   vegeta.Pacer
		workers int
		profile string
	}
	scenarios := []scenario{
		{fmt.Sprintf("/validate closed loop (%d workers)", workers), validateTargets, vegeta.Rate{}, workers, "validate"},
		{fmt.Sprintf("/mutate closed loop (%d workers)", workers), mutateTargets, vegeta.Rate{}, workers, "mutate"},
		{fmt.Sprintf("/validate open loop %d/s", rate), validateTargets, vegeta.Rate{Freq: rate, Per: time.Second}, 0, ""},
		{fmt.Sprintf("/mutate open loop %d/s", rate), mutateTargets, vegeta.Rate{Freq: rate, Per: time.Second}, 0, ""},
	}
	var out strings.Builder
	fmt.Fprintf(&out, "\n%-36s %-6s %9s %11s %9s %9s %8s %7s\n", "scenario", "target", "req/s", "CPU ms/1k", "p50 ms", "p99 ms", "errors", "RSS MB")
	capacity := map[string]float64{}
	for _, s := range scenarios {
		res := map[string]*roundResult{"FLOOR": {}, "serve": {}}
		for r := range rounds {
			order := targets
			if r%2 == 1 {
				order = []*target{targets[1], targets[0]}
			}
			for _, t := range order {
				var profDone chan struct{}
				if pprofDir != "" && t.name == "serve" && r == 0 && s.profile != "" {
					profDone = profile(b, pprofAddr, filepath.Join(pprofDir, s.profile), dur)
				}
				attack(res[t.name], t, s.tgts, s.pacer, s.workers, dur)
				if profDone != nil {
					<-profDone
				}
			}
		}
		for _, t := range targets {
			rr := res[t.name]
			rr.metrics.Close()
			rr.rss = procRSS(b, t.pid)
			fmt.Fprintf(&out, "%-36s %-6s %9.0f %11.1f %9.2f %9.2f %8s %7.1f\n", s.name, t.name, rr.throughput(), rr.cpuPer1k(),
				ms(rr.metrics.Latencies.P50), ms(rr.metrics.Latencies.P99), rr.errorsText(), float64(rr.rss)/(1<<20))
		}
		f, sv := res["FLOOR"], res["serve"]
		fmt.Fprintf(&out, "%-36s %-6s %9s %10.2f× %9s %8.2f×   (serve: %d denied, %d patched, %d shed)\n", "", "ratio", "", sv.cpuPer1k()/f.cpuPer1k(), "",
			float64(sv.metrics.Latencies.P99)/float64(f.metrics.Latencies.P99), sv.denied, sv.patched, sv.shed)
		if s.workers > 0 {
			capacity[s.profile] = sv.throughput()
		}
	}
	for _, t := range targets {
		mb := func(field string) float64 { return float64(procStatus(b, t.pid, field)) / (1 << 20) }
		fmt.Fprintf(&out, "RSS after load, %s: %.1f MB (peak %.1f MB; anonymous %.1f MB, file-backed, i.e. the binary's pages, %.1f MB)\n",
			t.name, mb("VmRSS"), mb("VmHWM"), mb("RssAnon"), mb("RssFile"))
	}
	// Where serve's memory is, by the Go runtime's account.
	var mem []string
	for _, m := range []string{"go_memstats_heap_inuse_bytes", "go_memstats_heap_idle_bytes", "go_memstats_heap_released_bytes", "go_memstats_stack_inuse_bytes", "go_memstats_sys_bytes"} {
		for _, l := range metricLines(metricsAddr, m+" ") {
			f := strings.Fields(l)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			if strings.HasSuffix(m, "_bytes") {
				mem = append(mem, fmt.Sprintf("%s %.1f MB", strings.TrimSuffix(strings.TrimPrefix(m, "go_memstats_"), "_bytes"), v/(1<<20)))
			} else {
				mem = append(mem, fmt.Sprintf("%s %.0f", m, v))
			}
		}
	}
	fmt.Fprintf(&out, "serve's Go runtime after load: %s\n", strings.Join(mem, ", "))

	// Past capacity: `webhook serve` alone, open loop at 2× and 5× what it
	// answered in the closed loop, with up to overloadMaxWorkers calls
	// outstanding: several API servers' worth, since one (200) cannot
	// queue more than the webhook's limit lets wait.
	fmt.Fprintf(&out, "\noverload (serve alone, open loop, up to %d calls outstanding, 3 s timeout like the API server's):\n%-30s %9s %9s %9s %9s %11s %9s %9s\n",
		overloadMaxWorkers, "scenario", "offered/s", "judged/s", "shed/s", "other err", "p99 judged", "p99 shed", "p99 all")
	for _, kind := range []struct {
		name string
		tgts []vegeta.Target
	}{{"validate", validateTargets}, {"mutate", mutateTargets}} {
		for _, factor := range []float64{2, 5} {
			offered := int(capacity[kind.name] * factor)
			rr := attack(nil, targets[1], kind.tgts, vegeta.Rate{Freq: offered, Per: time.Second}, 0, 3*time.Second, overloadMaxWorkers)
			rr.metrics.Close()
			secs := rr.wall.Seconds()
			shedP99 := 0.0
			if rr.shed > 0 {
				shedP99 = ms(rr.shedLat.Quantile(0.99))
			}
			fmt.Fprintf(&out, "%-30s %9d %9.0f %9.0f %9d %11.2f %9.2f %9.2f\n", fmt.Sprintf("/%s at %.0f× capacity", kind.name, factor), offered,
				float64(rr.judged)/secs, float64(rr.shed)/secs, rr.otherErrors, ms(rr.judgedLat.Quantile(0.99)), shedP99, ms(rr.metrics.Latencies.P99))
		}
	}
	fmt.Fprintf(&out, "shed counter: %s\n", strings.Join(metricLines(metricsAddr, "ws_defaults_overload_shed_total{"), ", "))
	fmt.Print(out.String())
	if strings.Contains(logs.String(), "panic") {
		b.Errorf("a target panicked:\n%s", logs.String())
	}
}

// openLoopMaxWorkers bounds the open loop's outstanding calls (see
// attack); overloadMaxWorkers the overload phase's.
const (
	openLoopMaxWorkers = 200
	overloadMaxWorkers = 1000
)

var jsonHeader = http.Header{"Content-Type": []string{"application/json"}}

type target struct {
	name   string
	pid    int
	base   string
	client *http.Client
}

// roundResult is what one target answered in one or more rounds.
type roundResult struct {
	metrics vegeta.Metrics
	cpu     time.Duration // the target's CPU time over the rounds
	wall    time.Duration // the rounds' length
	rss     int64
	// From the response bodies: a FLOOR that answered nothing useful would
	// show here, and so would a serve that stopped judging.
	denied, patched, shed, judged, otherErrors int
	// Latencies of judged answers and of shed ones, apart.
	judgedLat, shedLat vegeta.LatencyMetrics
}

func (r *roundResult) add(res *vegeta.Result) {
	r.metrics.Add(res)
	switch {
	case res.Code == http.StatusOK && bytes.Contains(res.Body, []byte(handler.OverloadWarning)):
		r.shed++
		r.shedLat.Add(res.Latency)
	case res.Code == http.StatusServiceUnavailable:
		r.shed++
		r.shedLat.Add(res.Latency)
	case res.Code == http.StatusOK && bytes.Contains(res.Body, []byte(`"uid":"bench-`)):
		r.judged++
		r.judgedLat.Add(res.Latency)
		if bytes.Contains(res.Body, []byte(`"allowed":false`)) {
			r.denied++
		}
		if bytes.Contains(res.Body, []byte(`"patch":`)) {
			r.patched++
		}
	default:
		r.otherErrors++
	}
}

// throughput is requests answered with 200 per second of the rounds'
// wall time.
func (r *roundResult) throughput() float64 {
	if r.wall == 0 {
		return 0
	}
	return float64(r.metrics.StatusCodes["200"]) / r.wall.Seconds()
}

func (r *roundResult) cpuPer1k() float64 {
	if r.metrics.Requests == 0 {
		return 0
	}
	return float64(r.cpu.Milliseconds()) / float64(r.metrics.Requests) * 1000
}

func (r *roundResult) errorsText() string {
	bad := 0
	for code, n := range r.metrics.StatusCodes {
		if code != "200" {
			bad += n
		}
	}
	if bad == 0 && r.otherErrors == 0 {
		return "0"
	}
	return fmt.Sprintf("%d", bad+r.otherErrors)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// procCPU is the process's user+system CPU time so far.
func procCPU(b *testing.B, pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command name (which may hold spaces) start at state.
	fields := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+2:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	const ticksPerSecond = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticksPerSecond
}

func procRSS(b *testing.B, pid int) int64 { return procStatus(b, pid, "VmRSS") }

// procStatus reads a "kB" field of /proc/<pid>/status, in bytes.
func procStatus(b *testing.B, pid int, field string) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// profile takes a CPU profile over d and then a heap profile from
// `webhook serve`'s pprof endpoint into prefix.cpu and prefix.heap.
func profile(b *testing.B, addr, prefix string, d time.Duration) chan struct{} {
	done := make(chan struct{})
	if err := os.MkdirAll(filepath.Dir(prefix), 0o755); err != nil {
		b.Fatal(err)
	}
	go func() {
		defer close(done)
		for _, p := range []struct{ url, file string }{
			{fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, int(d.Seconds())), prefix + ".cpu"},
			{fmt.Sprintf("http://%s/debug/pprof/heap", addr), prefix + ".heap"},
		} {
			resp, err := http.Get(p.url)
			if err != nil {
				fmt.Fprintln(os.Stderr, "pprof:", err)
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			_ = os.WriteFile(p.file, body, 0o644)
		}
	}()
	return done
}

func metricLines(addr, prefix string) []string {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return []string{err.Error()}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out []string
	for _, l := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		return []string{"none"}
	}
	return out
}

func freePort(b *testing.B) int {
	addr, err := framework.FreeAddr()
	if err != nil {
		b.Fatal(err)
	}
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return n
}

func waitListening(b *testing.B, port int) {
	for range 300 {
		if conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			conn.Close()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.Fatalf("nothing listens on port %d", port)
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
