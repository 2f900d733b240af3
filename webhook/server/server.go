// Package server wires the admission handlers (POST /mutate, POST
// /validate, POST /validate-policy) into a controller-runtime manager: the
// TLS webhook server (certificates reloaded from disk when they change), the
// informer cache the pipeline reads, the policy applier (every replica) and
// status writer (the leader), health and readiness probes, Prometheus
// metrics, and graceful shutdown.
package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	goruntime "runtime"
	"sync"
	"time"

	"github.com/open-policy-agent/cert-controller/pkg/rotator"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	orv1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
	"github.com/ws-defaults/ws-defaults/webhook/audit"
	"github.com/ws-defaults/ws-defaults/webhook/cluster"
	"github.com/ws-defaults/ws-defaults/webhook/evidence"
	"github.com/ws-defaults/ws-defaults/webhook/handler"

	"github.com/ws-defaults/ws-defaults/webhook/pipeline"
	"github.com/ws-defaults/ws-defaults/webhook/policy"
	"github.com/ws-defaults/ws-defaults/webhook/registration"
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
	// ShutdownDrain is how long the webhook keeps serving after SIGTERM,
	// not ready and closing each connection after its response, before it
	// stops listening (drain).
	ShutdownDrain time.Duration
	// CertRotation makes the webhook manage its own CA and serving
	// certificate (for clusters without cert-manager).
	CertRotation CertRotation
	// PprofBindAddress serves net/http/pprof there ("" or "0": off, the
	// default: profiles expose internals and cost CPU while taken).
	PprofBindAddress string
	// Overload bounds concurrent admission requests (handler.Limiter).
	Overload Overload
	// PolicyDefaults fill what the WebSocketPolicy leaves unset
	// (--outside-opt-in).
	PolicyDefaults policy.Defaults
}

// Overload is the admission concurrency limit: MaxInFlight requests are
// judged at once (0: no limit), MaxQueue more wait up to QueueWait; past
// that /mutate allows without a patch and /validate answers 503 (the
// failure policy applies).
type Overload struct {
	MaxInFlight int
	MaxQueue    int
	QueueWait   time.Duration
}

// CertRotation configures self-managed certificates: a CA and serving
// certificate kept in a Secret, written to CertDir, renewed before expiry,
// and injected as caBundle into the webhook configurations.
type CertRotation struct {
	Enabled bool
	// SecretName is the Secret (in Namespace) holding the certificates.
	SecretName string
	// ServiceName is the webhook Service; the certificate is for
	// <service>.<namespace>.svc.
	ServiceName string
	// ExtraDNSNames are further names the certificate is for.
	ExtraDNSNames []string
	// MutatingConfiguration and ValidatingConfiguration are the webhook
	// configurations whose caBundle is kept current.
	MutatingConfiguration, ValidatingConfiguration string
}

// Run serves until ctx is cancelled, drains for o.ShutdownDrain (drain),
// then stops accepting connections and lets in-flight requests finish.
func Run(ctx context.Context, cfg *rest.Config, o Options) error {
	d := newDrain(ctx, o.ShutdownDrain)
	defer d.stop()
	return run(ctx, d, cfg, o)
}

func run(ctx context.Context, d *drain, cfg *rest.Config, o Options) error {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return err
	}
	if err := orv1.AddToScheme(scheme); err != nil {
		return err
	}
	shutdown := o.GracefulShutdownTimeout
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsserver.Options{BindAddress: o.MetricsBindAddress},
		HealthProbeBindAddress:  o.HealthProbeBindAddress,
		PprofBindAddress:        o.PprofBindAddress,
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
	// Evaluate on a few goroutines of their own (their stacks grow deep),
	// as many as the admission limit lets in, plus one for the audit.
	engine.UseWorkers(max(o.Overload.MaxInFlight, goruntime.GOMAXPROCS(0)) + 1)
	// The policy in effect starts as the built-in one; the applier swaps in
	// the WebSocketPolicy, and readiness waits until it has.
	if err := o.PolicyDefaults.Validate(); err != nil {
		return err
	}
	store := policy.NewStore(o.PolicyDefaults.Builtin())
	applier, err := policy.Setup(mgr, store, o.PolicyDefaults)
	if err != nil {
		return err
	}
	// Cross-object WebSocket evidence: a slim index of the Services and
	// routes (a route to a Service port makes that port WebSocket).
	routes, err := addRouteIndex(mgr)
	if err != nil {
		return err
	}
	pipe := &pipeline.Pipeline{
		Policies:     store,
		Cluster:      &cluster.Cached{Client: mgr.GetCache(), APIReader: mgr.GetAPIReader()},
		Rules:        engine,
		OwnNamespace: o.Namespace,
		Routes:       routes.Set,
	}
	if err := addAuditLoop(mgr, scheme, pipe, store, applier); err != nil {
		return err
	}
	// The webhook server joins the manager only once serving certificates
	// exist: at once with cert-manager, after the first rotation otherwise.
	serving := make(chan webhook.Server, 1)
	// One limit for both paths: they compete for the same CPUs. The policy
	// webhook is left out (rare, and refusing a policy write helps nobody).
	limit := handler.NewLimiter(o.Overload.MaxInFlight, o.Overload.MaxQueue, o.Overload.QueueWait)
	startWebhooks := func() {
		srv := mgr.GetWebhookServer()
		srv.Register(MutatePath, d.wrap(limit.Wrap("mutate", handler.ShedAllow, &admission.Webhook{Handler: &handler.Mutating{Pipeline: pipe}, RecoverPanic: ptr(true)})))
		srv.Register(ValidatePath, d.wrap(limit.Wrap("validate", handler.ShedUnavailable, &admission.Webhook{Handler: &handler.Validating{Pipeline: pipe}, RecoverPanic: ptr(true)})))
		srv.Register(registration.PolicyValidatePath, d.wrap(&admission.Webhook{Handler: handler.Policy{}, RecoverPanic: ptr(true)}))
		serving <- srv
	}
	if o.CertRotation.Enabled {
		certsReady, err := addCertRotator(mgr, o)
		if err != nil {
			return err
		}
		go func() {
			select {
			case <-certsReady:
				startWebhooks()
			case <-ctx.Done():
			}
		}()
	} else {
		startWebhooks()
	}

	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("not-draining", d.readyz); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("webhook-server", webhookStarted(serving)); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("informers-synced", cacheSynced(mgr)); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("route-index-synced", func(*http.Request) error {
		if !routes.HasSynced() {
			return fmt.Errorf("the route index has not listed every kind yet")
		}
		return nil
	}); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("policy-applied", func(req *http.Request) error { return applier.CaughtUp(req.Context()) }); err != nil {
		return err
	}
	return mgr.Start(d.ctx)
}

// addAuditLoop adds the audit loop (package audit): the leader judges every
// existing object at start and every spec.audit.interval, and keeps the
// OpenReports Reports. It reads and writes the API server directly, never
// through the manager's cache: paged lists keep 100k objects out of memory,
// and no informer on Reports is needed (nor its watch permission).
func addAuditLoop(mgr ctrl.Manager, scheme *runtime.Scheme, pipe *pipeline.Pipeline, store *policy.Store, applier *policy.Applier) error {
	direct, err := client.New(mgr.GetConfig(), client.Options{Scheme: scheme, Mapper: mgr.GetRESTMapper(), HTTPClient: mgr.GetHTTPClient()})
	if err != nil {
		return fmt.Errorf("creating the audit client: %w", err)
	}
	return mgr.Add(&audit.Loop{
		Auditor: &audit.Auditor{
			Reader:       direct,
			Mapper:       mgr.GetRESTMapper(),
			Policies:     store,
			Rules:        pipe.Rules,
			OwnNamespace: pipe.OwnNamespace,
			Routes:       pipe.Routes,
		},
		Client: direct,
		Log:    ctrl.Log.WithName("audit"),
		Ready:  applier.CaughtUp,
	})
}

// addRouteIndex watches the kinds the evidence index reads
// (cluster.RouteResources, whose list and watch the chart's RBAC grants:
// test/install checks the two agree) that the cluster serves.
func addRouteIndex(mgr ctrl.Manager) (*cluster.RouteWatcher, error) {
	set := evidence.NewSet(evidence.Options{NginxPrefix: v1alpha1.DefaultNginxAnnotationPrefix})
	w, err := cluster.NewRouteWatcher(mgr.GetConfig(), set)
	if err != nil {
		return nil, err
	}
	if err := mgr.Add(w); err != nil {
		return nil, err
	}
	return w, nil
}

// hardenTLS keeps TLS 1.2 as the floor and serves HTTP/1.1 only: the API
// server does not need HTTP/2, and refusing it avoids the HTTP/2 stream
// reset class of denial-of-service (CVE-2023-44487).
func hardenTLS(c *tls.Config) {
	c.MinVersion = tls.VersionTLS12
	c.NextProtos = []string{"http/1.1"}
}

// webhookStarted is ready once the webhook server exists and serves.
func webhookStarted(serving <-chan webhook.Server) healthz.Checker {
	var srv webhook.Server
	var mu sync.Mutex
	return func(req *http.Request) error {
		mu.Lock()
		defer mu.Unlock()
		if srv == nil {
			select {
			case srv = <-serving:
			default:
				return fmt.Errorf("serving certificates are not ready yet")
			}
		}
		return srv.StartedChecker()(req)
	}
}

// addCertRotator adds open-policy-agent/cert-controller's rotator: it
// creates and renews the CA and serving certificate in the Secret, writes
// them to the cert dir, and injects the CA into both webhook
// configurations. The returned channel closes when certificates are ready.
func addCertRotator(mgr ctrl.Manager, o Options) (<-chan struct{}, error) {
	c := o.CertRotation
	if o.Namespace == "" || c.SecretName == "" || c.ServiceName == "" {
		return nil, fmt.Errorf("certificate rotation needs --namespace, --cert-secret-name and --cert-service-name")
	}
	ready := make(chan struct{})
	// The rotator's caches would list every Secret in the namespace and
	// every webhook configuration in the cluster; narrowed to the three
	// objects it owns, RBAC can grant it those by name and nothing more.
	// (cert-controller v0.16 has no filter of its own.)
	narrowed := narrowedManager{Manager: mgr, cfg: selectByName(mgr.GetConfig(), map[string]string{
		"/api/v1/namespaces/" + o.Namespace + "/secrets":                        c.SecretName,
		"/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations":   c.MutatingConfiguration,
		"/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations": c.ValidatingConfiguration,
	})}
	err := rotator.AddRotator(narrowed, &rotator.CertRotator{
		SecretKey:      types.NamespacedName{Namespace: o.Namespace, Name: c.SecretName},
		CertDir:        o.CertDir,
		CAName:         "ws-defaults-ca",
		CAOrganization: "ws-defaults",
		DNSName:        fmt.Sprintf("%s.%s.svc", c.ServiceName, o.Namespace),
		ExtraDNSNames:  append([]string{fmt.Sprintf("%s.%s.svc.cluster.local", c.ServiceName, o.Namespace)}, c.ExtraDNSNames...),
		IsReady:        ready,
		Webhooks: []rotator.WebhookInfo{
			{Name: c.MutatingConfiguration, Type: rotator.Mutating},
			{Name: c.ValidatingConfiguration, Type: rotator.Validating},
		},
		// Every replica must inject and serve; none waits for a lease.
		RequireLeaderElection: false,
		EnableReadinessCheck:  true,
	})
	if err != nil {
		return nil, fmt.Errorf("adding certificate rotator: %w", err)
	}
	return ready, nil
}

// narrowedManager is mgr with another rest.Config, from which the
// rotator builds its caches.
type narrowedManager struct {
	ctrl.Manager
	cfg *rest.Config
}

func (m narrowedManager) GetConfig() *rest.Config { return m.cfg }

// selectByName makes list and watch requests on the given collection paths
// select one object by name (fieldSelector metadata.name), which RBAC then
// authorizes with resourceNames.
func selectByName(cfg *rest.Config, names map[string]string) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
			if name, ok := names[req.URL.Path]; ok && req.Method == http.MethodGet {
				req = req.Clone(req.Context())
				q := req.URL.Query()
				q.Set("fieldSelector", "metadata.name="+name)
				req.URL.RawQuery = q.Encode()
			}
			return rt.RoundTrip(req)
		})
	})
	return c
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

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
