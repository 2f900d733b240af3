package main

import (
	"os"
	"time"

	"github.com/spf13/cobra"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

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
	f.BoolVar(&dev, "dev", false, "human-readable console logs instead of JSON")
	f.BoolVar(&o.CertRotation.Enabled, "cert-rotation", false, "manage the CA and serving certificate in a Secret and inject the CA into the webhook configurations (without cert-manager)")
	f.StringVar(&o.CertRotation.SecretName, "cert-secret-name", "ws-defaults-webhook-tls", "with --cert-rotation: the Secret, in --namespace, holding the certificates")
	f.StringVar(&o.CertRotation.ServiceName, "cert-service-name", "ws-defaults", "with --cert-rotation: the webhook Service the certificate is for")
	f.StringSliceVar(&o.CertRotation.ExtraDNSNames, "cert-extra-dns-names", nil, "with --cert-rotation: further DNS names for the serving certificate")
	f.StringVar(&o.CertRotation.MutatingConfiguration, "mutating-webhook-configuration", registration.MutatingName, "with --cert-rotation: the MutatingWebhookConfiguration to inject the CA into")
	f.StringVar(&o.CertRotation.ValidatingConfiguration, "validating-webhook-configuration", registration.ValidatingName, "with --cert-rotation: the ValidatingWebhookConfiguration to inject the CA into")
	return cmd
}
