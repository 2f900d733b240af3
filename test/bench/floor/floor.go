// Package floor is the serve benchmark's FLOOR (make bench-serve): the
// least an admission webhook built on controller-runtime can do per
// request. It serves the same TLS settings as `webhook serve` (TLS 1.2+,
// HTTP/1.1 only) through controller-runtime's webhook server and admission
// handler, decodes the request's object (and old object) into maps, as any
// webhook that looks at the object must, and allows. What `webhook serve`
// costs beyond it is what ws-defaults itself costs.
//
// The benchmark runs it as a process of its own (floor_test.go's TestMain,
// started from the package's test binary), so its CPU time and memory are
// measured apart from the load generator and from `webhook serve`.
package floor

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net/http"

	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// PortEnv and CertDirEnv, when set, make this package's test binary serve
// the FLOOR webhook until SIGTERM instead of running tests (test/bench
// starts it so: a process of its own, with only controller-runtime linked).
const (
	PortEnv    = "WS_DEFAULTS_FLOOR_PORT"
	CertDirEnv = "WS_DEFAULTS_FLOOR_CERT_DIR"
)

// Handler decodes and allows.
type Handler struct{}

// Handle decodes the object (and the old one on UPDATE) and allows it.
func (Handler) Handle(_ context.Context, req admission.Request) admission.Response {
	var obj, old map[string]any
	if err := json.Unmarshal(req.Object.Raw, &obj); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	if len(req.OldObject.Raw) > 0 {
		if err := json.Unmarshal(req.OldObject.Raw, &old); err != nil {
			return admission.Errored(http.StatusBadRequest, err)
		}
	}
	return admission.Allowed("")
}

// Serve serves Handler on /mutate and /validate at port with the
// certificate in certDir until ctx ends.
func Serve(ctx context.Context, port int, certDir string) error {
	srv := webhook.NewServer(webhook.Options{
		Port:    port,
		CertDir: certDir,
		TLSOpts: []func(*tls.Config){func(c *tls.Config) {
			c.MinVersion = tls.VersionTLS12
			c.NextProtos = []string{"http/1.1"}
		}},
	})
	for _, path := range []string{"/mutate", "/validate"} {
		srv.Register(path, &admission.Webhook{Handler: Handler{}})
	}
	return srv.Start(ctx)
}
