// Package server wires the admission handlers (POST /mutate, POST /validate) into a controller-runtime
// manager: the TLS webhook server (certificates reloaded from disk when they
// change), the informer cache the handlers read, health and readiness
// probes, Prometheus metrics, and graceful shutdown.
package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/ws-defaults/ws-defaults/webhook/cluster"
	"github.com/ws-defaults/ws-defaults/webhook/mutate"
	"github.com/ws-defaults/ws-defaults/webhook/validate"
)

// Admission paths.
const (
	MutatePath   = "/mutate"
	ValidatePath = "/validate"
)

// Options are `webhook serve`'s flags.
type Options struct {
	Port                   int
	CertDir                string
	MetricsBindAddress     string
	HealthProbeBindAddress string
	LeaderElect            bool
	// Namespace is the webhook's own namespace (never acted on) and where
	// the leader-election lease lives.
	Namespace string
	// GracefulShutdownTimeout bounds how long in-flight requests may finish
	// after SIGTERM.
	GracefulShutdownTimeout time.Duration
}

// Run serves until ctx is cancelled, then stops accepting connections and
// lets in-flight requests finish.
func Run(ctx context.Context, cfg *rest.Config, o Options) error {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	shutdown := o.GracefulShutdownTimeout
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsserver.Options{BindAddress: o.MetricsBindAddress},
		HealthProbeBindAddress:  o.HealthProbeBindAddress,
		LeaderElection:          o.LeaderElect,
		LeaderElectionID:        "ws-defaults.io",
		LeaderElectionNamespace: o.Namespace,
		GracefulShutdownTimeout: &shutdown,
		WebhookServer: webhook.NewServer(webhook.Options{
			Port:    o.Port,
			CertDir: o.CertDir,
			TLSOpts: []func(*tls.Config){hardenTLS},
		}),
	})
	if err != nil {
		return fmt.Errorf("creating manager: %w", err)
	}

	// Start the informers the handlers read before serving, so readiness
	// can wait for them to sync.
	nsMeta := &metav1.PartialObjectMetadata{}
	nsMeta.SetGroupVersionKind(cluster.NamespaceGVK)
	for _, obj := range []client.Object{&networkingv1.IngressClass{}, nsMeta} {
		if _, err := mgr.GetCache().GetInformer(ctx, obj); err != nil {
			return fmt.Errorf("starting informer: %w", err)
		}
	}

	// Compile the rules once, before serving: a request never compiles Rego.
	engine, err := validate.NewEngine(ctx)
	if err != nil {
		return err
	}
	reader := &cluster.Cached{Client: mgr.GetCache()}
	srv := mgr.GetWebhookServer()
	srv.Register(MutatePath, &admission.Webhook{
		Handler:      &mutate.Handler{Cluster: reader, OwnNamespace: o.Namespace},
		RecoverPanic: ptr(true),
	})
	srv.Register(ValidatePath, &admission.Webhook{
		Handler:      &validate.Handler{Engine: engine, Cluster: reader, OwnNamespace: o.Namespace},
		RecoverPanic: ptr(true),
	})

	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("webhook-server", srv.StartedChecker()); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("informers-synced", cacheSynced(mgr)); err != nil {
		return err
	}
	return mgr.Start(ctx)
}

// hardenTLS keeps TLS 1.2 as the floor and serves HTTP/1.1 only: the API
// server does not need HTTP/2, and refusing it avoids the HTTP/2 stream
// reset class of denial-of-service (CVE-2023-44487).
func hardenTLS(c *tls.Config) {
	c.MinVersion = tls.VersionTLS12
	c.NextProtos = []string{"http/1.1"}
}

// cacheSynced is ready once the informers the handlers read have synced.
func cacheSynced(mgr ctrl.Manager) healthz.Checker {
	return func(req *http.Request) error {
		ctx, cancel := context.WithTimeout(req.Context(), 100*time.Millisecond)
		defer cancel()
		if !mgr.GetCache().WaitForCacheSync(ctx) {
			return fmt.Errorf("informer caches have not synced yet")
		}
		return nil
	}
}

func ptr[T any](v T) *T { return &v }
