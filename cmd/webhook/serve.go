package main

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
	"github.com/ws-defaults/ws-defaults/webhook/registration"
	"github.com/ws-defaults/ws-defaults/webhook/server"
)

func newServeCommand() *cobra.Command {
	o := server.Options{}
	var kubeconfig string
	var dev bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the admission server (POST /mutate, POST /validate)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// JSON logs for log pipelines by default; --dev for people.
			ctrl.SetLogger(zap.New(zap.UseDevMode(dev)))
			limit, err := applyMemoryLimit(os.Getenv("GOMEMLIMIT"), os.Getenv(MemoryLimitEnv))
			if err != nil {
				return err
			}
			// GOMAXPROCS needs nothing from us: since Go 1.25 the runtime
			// sets it from the container's CPU limit (cgroup quota) and
			// follows changes, for a main module whose go.mod says go 1.25 or
			// later (ours: 1.26, and no GODEBUG override).
			ctrl.Log.Info("runtime limits", "GOMAXPROCS", runtime.GOMAXPROCS(0), "memoryLimitBytes", limit)
			if kubeconfig != "" {
				// controller-runtime reads --kubeconfig via KUBECONFIG.
				if err := os.Setenv("KUBECONFIG", kubeconfig); err != nil {
					return err
				}
			}
			cfg, err := ctrl.GetConfig()
			if err != nil {
				return err
			}
			return server.Run(ctrl.SetupSignalHandler(), cfg, o)
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Port, "port", 9443, "HTTPS port for admission requests")
	f.StringVar(&o.CertDir, "cert-dir", "/tmp/k8s-webhook-server/serving-certs", "directory holding tls.crt and tls.key; reloaded when they change")
	f.StringVar(&o.MetricsBindAddress, "metrics-bind-address", ":8080", "Prometheus metrics address (0 disables)")
	f.StringVar(&o.HealthProbeBindAddress, "health-probe-bind-address", ":8081", "address for /healthz and /readyz")
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the cluster to read (default: KUBECONFIG, then in-cluster)")
	f.BoolVar(&o.LeaderElect, "leader-elect", false, "elect a leader among replicas; only the leader runs the audit loop and writes the WebSocketPolicy's status (every replica serves and applies the policy)")
	f.StringVar(&o.Namespace, "namespace", os.Getenv("POD_NAMESPACE"), "the webhook's own namespace (default: POD_NAMESPACE); never mutated or validated")
	f.DurationVar(&o.GracefulShutdownTimeout, "graceful-shutdown-timeout", 25*time.Second, "how long in-flight requests may finish after SIGTERM")
	f.StringVar(&o.PprofBindAddress, "pprof-bind-address", "", "serve net/http/pprof on this address (e.g. 127.0.0.1:6060); off by default")
	f.StringVar((*string)(&o.PolicyDefaults.OutsideOptIn), "outside-opt-in", string(v1alpha1.DefaultOutsideOptIn), "the most a cluster-scope rule does outside opt-in when the WebSocketPolicy leaves spec.enforcement.outsideOptIn unset: deny, warn, audit or off")
	procs := runtime.GOMAXPROCS(0)
	// A short queue: past it a request is answered at once, so the API
	// server applies the failure policy without waiting out its call
	// timeout. Measured (README "Performance and overload"): a 1 s, 256-long
	// queue let the answers of an overloaded replica approach the 3 s
	// timeout (p99 2.7 s) and judged fewer requests, since waiting requests
	// and their connections compete for the same CPUs.
	f.IntVar(&o.Overload.MaxInFlight, "max-in-flight", 4*procs, "admission requests judged at once (default 4 per CPU); 0 disables the limit")
	f.IntVar(&o.Overload.MaxQueue, "max-queue", 8*procs, "admission requests that may wait for a slot beyond --max-in-flight (default 8 per CPU); past it, /mutate allows without patch and /validate answers 503")
	f.DurationVar(&o.Overload.QueueWait, "queue-wait", 100*time.Millisecond, "longest a request waits for a slot before it is shed")
	f.DurationVar(&o.ShutdownDrain, "shutdown-drain", 5*time.Second, "after SIGTERM, keep serving this long (not ready, closing each connection after its response) before closing the listener, while endpoints and balancers catch up")
	f.BoolVar(&dev, "dev", false, "human-readable console logs instead of JSON")
	f.BoolVar(&o.CertRotation.Enabled, "cert-rotation", false, "manage the CA and serving certificate in a Secret and inject the CA into the webhook configurations (without cert-manager)")
	f.StringVar(&o.CertRotation.SecretName, "cert-secret-name", "ws-defaults-webhook-tls", "with --cert-rotation: the Secret, in --namespace, holding the certificates")
	f.StringVar(&o.CertRotation.ServiceName, "cert-service-name", "ws-defaults", "with --cert-rotation: the webhook Service the certificate is for")
	f.StringSliceVar(&o.CertRotation.ExtraDNSNames, "cert-extra-dns-names", nil, "with --cert-rotation: further DNS names for the serving certificate")
	f.StringVar(&o.CertRotation.MutatingConfiguration, "mutating-webhook-configuration", registration.MutatingName, "with --cert-rotation: the MutatingWebhookConfiguration to inject the CA into")
	f.StringVar(&o.CertRotation.ValidatingConfiguration, "validating-webhook-configuration", registration.ValidatingName, "with --cert-rotation: the ValidatingWebhookConfiguration to inject the CA into")
	return cmd
}

// MemoryLimitEnv names the container's memory limit in bytes (the chart
// fills it from the downward API, resourceFieldRef limits.memory).
const MemoryLimitEnv = "WS_DEFAULTS_MEMORY_LIMIT"

// memoryLimitShare is the part of the container's memory limit given to the
// Go runtime as its soft limit. The limit is soft (the heap may overshoot
// while the collector catches up) and the cgroup also charges memory the
// runtime does not manage (the binary's mapped text, kernel buffers of
// sockets), so 10% headroom lets the collector work harder before the
// kernel's OOM killer acts.
const memoryLimitShare = 0.9

// applyMemoryLimit sets the runtime's soft memory limit to 90% of the
// container limit, unless GOMEMLIMIT is set (the runtime has read it
// already, and an operator's explicit value wins). It returns the limit in
// force (math.MaxInt64: none).
func applyMemoryLimit(gomemlimit, containerLimit string) (int64, error) {
	containerLimit = strings.TrimSpace(containerLimit)
	if gomemlimit != "" || containerLimit == "" {
		return debug.SetMemoryLimit(-1), nil
	}
	n, err := strconv.ParseInt(containerLimit, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s=%q: want the memory limit in bytes", MemoryLimitEnv, containerLimit)
	}
	if n >= math.MaxInt64/2 {
		// No limit set: the downward API reports the node's allocatable
		// memory then, which bounds nothing useful.
		return debug.SetMemoryLimit(-1), nil
	}
	limit := int64(float64(n) * memoryLimitShare)
	debug.SetMemoryLimit(limit)
	return limit, nil
}
