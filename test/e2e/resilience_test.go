package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ws-defaults/ws-defaults/test/framework"
	"github.com/ws-defaults/ws-defaults/webhook/registration"
)

// TestResilience sends a steady stream of writes through the API server to
// two `webhook serve` replicas behind a local TCP balancer (standing in for
// the webhook Service: it sends each new connection to a ready replica,
// round robin, and keeps a connection on the replica it chose, as
// kube-proxy does), with webhook configurations of their own that fail
// closed for both mutation and validation, so any failed call is a failed
// write. While the writes flow: (a) a rolling restart of both replicas,
// one at a time; (b) each replica's serving certificate rotated on disk;
// (c) the WebSocketPolicy changed. No write may fail in any of them.
func TestResilience(t *testing.T) {
	const ns = "resilience"
	namespace(t, ns, map[string]string{"ws-defaults": "enabled", "resilience-test": "yes"})
	t.Cleanup(func() { deletePolicy(t) })

	ca := newCA(t)
	lb := newBalancer(t)
	registerThrough(t, lb.addr, ca.pem)

	replicas := make([]*resilienceReplica, 2)
	for i := range replicas {
		r := &resilienceReplica{dir: t.TempDir(), port: freePort(t)}
		ca.issue(t, r.dir, int64(100+i))
		r.start(t)
		replicas[i] = r
		lb.add(fmt.Sprintf("127.0.0.1:%d", r.port), func() bool { return r.current().Ready() })
	}
	t.Cleanup(func() {
		for _, r := range replicas {
			_ = r.current().Stop()
		}
	})

	load := startLoad(t, ns, 25)
	defer load.stop()
	phase := func(name string, f func()) {
		t.Helper()
		before := load.snapshot()
		f()
		time.Sleep(time.Second) // writes after the change, too
		after := load.snapshot()
		t.Logf("%s: %d writes, %d failed", name, after.ok-before.ok, after.failed-before.failed)
		if after.failed != before.failed {
			t.Errorf("%s: %d writes failed; first: %s", name, after.failed-before.failed, load.firstError())
		}
		if after.ok-before.ok < 10 {
			t.Errorf("%s: only %d writes went through; the load stalled", name, after.ok-before.ok)
		}
	}
	time.Sleep(time.Second)
	phase("steady", func() {})

	phase("rolling restart", func() {
		for _, r := range replicas {
			// SIGTERM: the replica drains (not ready, Connection: close)
			// then stops; the balancer sends new connections to the other.
			t.Logf("%s stopping the replica on port %d", time.Now().Format("15:04:05.000"), r.port)
			if err := r.current().Stop(); err != nil {
				t.Fatalf("stopping a replica: %v", err)
			}
			t.Logf("%s stopped; starting it again", time.Now().Format("15:04:05.000"))
			r.start(t)
			t.Logf("%s ready again", time.Now().Format("15:04:05.000"))
			time.Sleep(500 * time.Millisecond)
		}
	})

	phase("certificate rotated on disk", func() {
		for i, r := range replicas {
			serial := int64(200 + i)
			ca.issue(t, r.dir, serial)
			eventually(t, "replica serving the new certificate", func() (bool, string) {
				got, err := servedSerial(fmt.Sprintf("127.0.0.1:%d", r.port), tls.VersionTLS13)
				return err == nil && got == serial, fmt.Sprint(got, err)
			})
		}
	})

	phase("policy changed", func() {
		gen := mustApplyPolicy(t, "mutation: {idleTimeoutSeconds: 5400}\nrules: {nginx-snippet-annotation: {action: warn}}")
		for _, r := range replicas {
			eventually(t, "replica at the new policy generation", func() (bool, string) {
				g := metric(r.metricsAddr, "ws_defaults_policy_generation")
				return g == fmt.Sprint(gen), g
			})
		}
	})
	load.stop()

	// The replicas did the work: the balancer sent connections to both
	// (the API server keeps its connections, so after the restart they may
	// all sit on one), the replicas running now judged writes, and the last
	// writes carry the changed policy's defaults.
	for _, r := range replicas {
		if n := lb.conns(fmt.Sprintf("127.0.0.1:%d", r.port)); n == 0 {
			t.Errorf("no connection went to the replica on port %d", r.port)
		}
	}
	if n := counterSum(replicas[0].metricsAddr, "ws_defaults_mutations_total{") + counterSum(replicas[1].metricsAddr, "ws_defaults_mutations_total{"); n == 0 {
		t.Error("the replicas mutated nothing: the writes did not reach them")
	}
	got := stored(t, object(ingress(ns, load.lastName(), "edge", "")))
	if v := got.GetAnnotations()[nginx+"proxy-read-timeout"]; v != "5400" {
		t.Errorf("last write's proxy-read-timeout %q, want the changed policy's 5400", v)
	}
	t.Logf("%d writes in all, %d failed", load.snapshot().ok, load.snapshot().failed)
}

// resilienceReplica is one `webhook serve` behind the balancer; start
// replaces the process on the same port and certificate folder.
type resilienceReplica struct {
	dir         string
	port        int
	metricsAddr string
	mu          sync.Mutex
	hook        *framework.Webhook
	logs        framework.SyncBuffer
}

func (r *resilienceReplica) current() *framework.Webhook {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hook
}

func (r *resilienceReplica) start(t *testing.T) {
	t.Helper()
	var err error
	if r.metricsAddr, err = framework.FreeAddr(); err != nil {
		t.Fatal(err)
	}
	c := *cluster
	c.CertDir, c.Port = r.dir, r.port
	h, err := framework.StartWebhook(context.Background(), binary, &c, &r.logs,
		"--metrics-bind-address", r.metricsAddr, "--shutdown-drain", "3s")
	if err != nil {
		t.Fatalf("replica: %v\n%s", err, r.logs.String())
	}
	r.mu.Lock()
	r.hook = h
	r.mu.Unlock()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("replica on port %d:\n%s", r.port, r.logs.String())
		}
	})
}

// registerThrough installs webhook configurations for namespaces labelled
// resilience-test=yes that call the balancer, failing closed.
func registerThrough(t *testing.T, addr string, caPEM []byte) {
	t.Helper()
	ctx := context.Background()
	fail := admissionregistrationv1.Fail
	only := &metav1.LabelSelector{MatchLabels: map[string]string{"resilience-test": "yes"}}
	url := func(path string) *string { u := "https://" + addr + path; return &u }
	mut := registration.Mutating(registration.Options{ServiceName: "x", ServiceNamespace: "x"})
	mut.Name, mut.Webhooks = "ws-resilience-mutating", mut.Webhooks[:1]
	mut.Webhooks[0].Name = "resilience.mutate.ws-defaults.io"
	mut.Webhooks[0].NamespaceSelector, mut.Webhooks[0].ObjectSelector = only, nil
	mut.Webhooks[0].FailurePolicy = &fail
	mut.Webhooks[0].ClientConfig = admissionregistrationv1.WebhookClientConfig{URL: url("/mutate"), CABundle: caPEM}
	val := registration.Validating(registration.Options{ServiceName: "x", ServiceNamespace: "x"})
	val.Name, val.Webhooks = "ws-resilience-validating", val.Webhooks[:1]
	val.Webhooks[0].Name = "resilience.validate.ws-defaults.io"
	val.Webhooks[0].NamespaceSelector, val.Webhooks[0].ObjectSelector = only, nil
	val.Webhooks[0].FailurePolicy = &fail
	val.Webhooks[0].ClientConfig = admissionregistrationv1.WebhookClientConfig{URL: url("/validate"), CABundle: caPEM}
	for _, obj := range []client.Object{mut, val} {
		if err := cluster.Client.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cluster.Client.Delete(ctx, obj) })
	}
}

// load creates Ingresses at a steady rate (each write on its own goroutine,
// so a slow answer does not slow the rate) and counts what fails.
type load struct {
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	ok, bad  atomic.Int64
	firstErr atomic.Value
	last     atomic.Value
	once     sync.Once
}

type loadCounts struct{ ok, failed int64 }

func startLoad(t *testing.T, ns string, perSecond int) *load {
	ctx, cancel := context.WithCancel(context.Background())
	l := &load{cancel: cancel}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		tick := time.NewTicker(time.Second / time.Duration(perSecond))
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			name := fmt.Sprintf("res-%d", i)
			l.wg.Add(1)
			go func() {
				defer l.wg.Done()
				// Ingresses: Services would soon exhaust the test API
				// server's small service IP range.
				u := object(ingress(ns, name, "edge", ""))
				if err := cluster.Client.Create(context.Background(), u); err != nil {
					l.bad.Add(1)
					l.firstErr.CompareAndSwap(nil, time.Now().Format("15:04:05.000 ")+err.Error())
					return
				}
				l.ok.Add(1)
				l.last.Store(name)
			}()
		}
	}()
	return l
}

func (l *load) stop() { l.once.Do(func() { l.cancel(); l.wg.Wait() }) }

func (l *load) snapshot() loadCounts { return loadCounts{l.ok.Load(), l.bad.Load()} }

func (l *load) firstError() string {
	s, _ := l.firstErr.Load().(string)
	return s
}

func (l *load) lastName() string {
	s, _ := l.last.Load().(string)
	return s
}

// balancer is a TCP balancer in front of the replicas, standing in for
// the webhook Service and kube-proxy: it routes to the replicas it believes
// ready, learnt by probing /readyz every 250 ms (out after two failed
// probes, in after one success), so, like endpoints, it lags a replica's
// state by up to half a second; each accepted connection goes to the next
// of them, round robin, and stays there. Like kube-proxy it does not try
// another replica when the one it chose refuses the connection: the
// client's connection is closed, and the API server's call fails. That lag
// is what a replica must survive when it shuts down (--shutdown-drain).
type balancer struct {
	addr     string
	mu       sync.Mutex
	backends []*backend
	sent     map[string]int // connections by backend
	next     atomic.Uint64
	done     chan struct{}
}

type backend struct {
	addr  string
	ready atomic.Bool
}

func newBalancer(t *testing.T) *balancer {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &balancer{addr: l.Addr().String(), sent: map[string]int{}, done: make(chan struct{})}
	var conns sync.WaitGroup
	t.Cleanup(func() { close(b.done); l.Close(); conns.Wait() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() { defer conns.Done(); b.proxy(c) }()
		}
	}()
	return b
}

// add routes to addr while probe says it is ready.
func (b *balancer) add(addr string, probe func() bool) {
	be := &backend{addr: addr}
	be.ready.Store(probe())
	b.mu.Lock()
	b.backends = append(b.backends, be)
	b.mu.Unlock()
	go func() {
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		failures := 0
		for {
			select {
			case <-b.done:
				return
			case <-tick.C:
			}
			if probe() {
				failures = 0
				be.ready.Store(true)
			} else if failures++; failures >= 2 {
				be.ready.Store(false)
			}
		}
	}()
}

func (b *balancer) conns(addr string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sent[addr]
}

func (b *balancer) proxy(c net.Conn) {
	defer c.Close()
	b.mu.Lock()
	backends := append([]*backend(nil), b.backends...)
	b.mu.Unlock()
	start := int(b.next.Add(1))
	var order []string // the ready backends from the next one on
	for i := range backends {
		if be := backends[(start+i)%len(backends)]; be.ready.Load() {
			order = append(order, be.addr)
		}
	}
	if len(order) == 0 {
		for i := range backends {
			order = append(order, backends[(start+i)%len(backends)].addr)
		}
	}
	up, err := net.DialTimeout("tcp", order[0], time.Second)
	if err != nil {
		return
	}
	defer up.Close()
	b.mu.Lock()
	b.sent[up.RemoteAddr().String()]++
	b.mu.Unlock()
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(up, c)
		if tc, ok := up.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		close(done)
	}()
	_, _ = io.Copy(c, up)
	// The replica closed its side (Connection: close, or shutdown): close
	// the client's too, as a proxy that keeps no connection of its own.
	c.Close()
	<-done
}

// testCA signs serving certificates for 127.0.0.1, as cert-manager's CA
// issuer does: renewing a certificate leaves the CA, and so the webhook
// configurations' caBundle, unchanged.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(t *testing.T) *testCA {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "resilience-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue writes a new serving certificate with serial into dir, each file
// replaced by a rename (as the kubelet's atomic writer swaps them).
func (ca *testCA) issue(t *testing.T, dir string, serial int64) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "ws-defaults"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		name  string
		block *pem.Block
	}{{"tls.key", &pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}}, {"tls.crt", &pem.Block{Type: "CERTIFICATE", Bytes: der}}} {
		tmp := filepath.Join(dir, "."+f.name)
		if err := os.WriteFile(tmp, pem.EncodeToMemory(f.block), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, f.name)); err != nil {
			t.Fatal(err)
		}
	}
}

func freePort(t *testing.T) int {
	addr, err := framework.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return n
}

// counterSum adds up the samples of a metric whose lines start with prefix.
func counterSum(addr, prefix string) float64 {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var sum float64
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, prefix) {
			f := strings.Fields(l)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			sum += v
		}
	}
	return sum
}
