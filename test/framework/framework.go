// Package framework starts what the end-to-end tests and `make demo` run
// against: a real kube-apiserver and etcd (built from Go modules by
// hack/controlplane.sh) through controller-runtime's envtest, with the
// webhook configurations installed, and the real `webhook serve` binary as
// a separate process the API server calls over TLS.
package framework

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/ws-defaults/ws-defaults/webhook/registration"
)

// RepoRoot is the folder holding this module's go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(string(b), "module github.com/ws-defaults/ws-defaults\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the ws-defaults repository")
		}
		dir = parent
	}
}

// ControlPlaneAssets returns the folder holding kube-apiserver, etcd and
// kubectl: KUBEBUILDER_ASSETS when set, else what hack/controlplane.sh
// builds (once; later calls find it cached).
func ControlPlaneAssets(root string, progress io.Writer) (string, error) {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir, nil
	}
	cmd := exec.Command(filepath.Join(root, "hack", "controlplane.sh"))
	cmd.Stderr = progress
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("hack/controlplane.sh: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// BuildWebhook builds cmd/webhook into dir and returns the binary's path.
func BuildWebhook(root, dir string) (string, error) {
	bin := filepath.Join(dir, "webhook")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/webhook")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/webhook: %w\n%s", err, out)
	}
	return bin, nil
}

// Cluster is a running local control plane with ws-defaults registered.
type Cluster struct {
	Env        *envtest.Environment
	Config     *rest.Config
	Client     client.Client
	Kubeconfig string // path of an admin kubeconfig file
	// CertDir holds tls.crt and tls.key for the webhook, signed by the CA
	// in the webhook configurations; Port is where the API server calls it.
	CertDir string
	Port    int
}

// ClusterOptions tune StartCluster.
type ClusterOptions struct {
	// Assets is the control plane binaries' folder.
	Assets string
	// CRDDirs hold CustomResourceDefinitions to install first.
	CRDDirs []string
	// Workdir receives the kubeconfig file.
	Workdir string
}

// StartCluster starts kube-apiserver and etcd and installs the webhook
// configurations, pointed (by envtest) at a local port with a fresh CA.
func StartCluster(o ClusterOptions) (*Cluster, error) {
	reg := registration.Options{ServiceName: "ws-defaults", ServiceNamespace: "ws-defaults"}
	env := &envtest.Environment{
		BinaryAssetsDirectory: o.Assets,
		CRDDirectoryPaths:     o.CRDDirs,
		ErrorIfCRDPathMissing: true,
		WebhookInstallOptions: envtest.WebhookInstallOptions{
			LocalServingHost:   "127.0.0.1",
			MutatingWebhooks:   []*admissionregistrationv1.MutatingWebhookConfiguration{registration.Mutating(reg)},
			ValidatingWebhooks: []*admissionregistrationv1.ValidatingWebhookConfiguration{registration.Validating(reg)},
		},
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("starting control plane: %w", err)
	}
	c := &Cluster{Env: env, Config: cfg, CertDir: env.WebhookInstallOptions.LocalServingCertDir, Port: env.WebhookInstallOptions.LocalServingPort}
	if c.Client, err = client.New(cfg, client.Options{}); err != nil {
		_ = env.Stop()
		return nil, err
	}
	admin, err := env.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		_ = env.Stop()
		return nil, fmt.Errorf("creating admin user: %w", err)
	}
	kc, err := admin.KubeConfig()
	if err != nil {
		_ = env.Stop()
		return nil, err
	}
	c.Kubeconfig = filepath.Join(o.Workdir, "kubeconfig")
	if err := os.WriteFile(c.Kubeconfig, kc, 0o600); err != nil {
		_ = env.Stop()
		return nil, err
	}
	return c, nil
}

// Stop stops the control plane.
func (c *Cluster) Stop() error { return c.Env.Stop() }

// Webhook is a running `webhook serve` process.
type Webhook struct {
	cmd       *exec.Cmd
	done      chan error
	ProbeAddr string

	stopOnce sync.Once
	stopErr  error
}

// StartWebhook runs `webhook serve` against c and waits until /readyz
// answers 200. Its logs go to logs.
func StartWebhook(ctx context.Context, binary string, c *Cluster, logs io.Writer, extraArgs ...string) (*Webhook, error) {
	w, err := StartWebhookProcess(binary, c, logs, extraArgs...)
	if err != nil {
		return nil, err
	}
	if err := w.WaitReady(ctx, 60*time.Second); err != nil {
		_ = w.Stop()
		return nil, err
	}
	return w, nil
}

// StartWebhookProcess runs `webhook serve` against c without waiting for it
// to be ready.
func StartWebhookProcess(binary string, c *Cluster, logs io.Writer, extraArgs ...string) (*Webhook, error) {
	probe, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	args := append([]string{"serve",
		"--kubeconfig", c.Kubeconfig,
		"--cert-dir", c.CertDir,
		"--port", fmt.Sprint(c.Port),
		"--metrics-bind-address", "0",
		"--health-probe-bind-address", probe,
		"--namespace", "ws-defaults",
		// Go's http.Server.Shutdown waits up to 5 s for a connection the
		// API server opened but has not used yet.
		"--graceful-shutdown-timeout", "15s",
		// A short drain keeps the suite's many stops quick; a test that
		// needs the drain passes its own (the last flag wins).
		"--shutdown-drain", "1s",
	}, extraArgs...)
	cmd := exec.Command(binary, args...)
	cmd.Stdout, cmd.Stderr = logs, logs
	// Its own process group, like envtest's kube-apiserver and etcd: a
	// Ctrl-C at the terminal reaches the caller only, which then stops the
	// webhook with one SIGTERM.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	w := &Webhook{cmd: cmd, done: make(chan error, 1), ProbeAddr: probe}
	go func() { w.done <- cmd.Wait() }()
	return w, nil
}

// Pid is the process id of the running webhook.
func (w *Webhook) Pid() int { return w.cmd.Process.Pid }

// Ready reports whether /readyz answers 200 now.
func (w *Webhook) Ready() bool {
	resp, err := http.Get("http://" + w.ProbeAddr + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// WaitReady waits until /readyz answers 200.
func (w *Webhook) WaitReady(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case err := <-w.done:
			w.done <- err
			return fmt.Errorf("webhook exited before it was ready: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if w.Ready() {
			return nil
		}
	}
	return fmt.Errorf("webhook not ready after %s", limit)
}

// Stop sends SIGTERM and waits for a graceful exit. Later calls return
// what the first one did.
func (w *Webhook) Stop() error {
	w.stopOnce.Do(func() {
		if w.cmd.Process == nil {
			return
		}
		_ = w.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case w.stopErr = <-w.done:
		case <-time.After(30 * time.Second):
			_ = w.cmd.Process.Kill()
			w.stopErr = errors.New("webhook did not stop within 30s of SIGTERM")
		}
	})
	return w.stopErr
}

func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// SyncBuffer is a bytes.Buffer safe for a process's output and a test's
// reads at the same time.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
