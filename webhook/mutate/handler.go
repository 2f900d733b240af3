package mutate

import (
	"context"
	"fmt"
	"net/http"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/ws-defaults/ws-defaults/webhook/cluster"
	"github.com/ws-defaults/ws-defaults/webhook/metrics"
	"github.com/ws-defaults/ws-defaults/webhook/scope"
)

// Handler serves POST /mutate. The webhook configuration already limits
// calls to opted-in objects; the handler checks again so a mis-registered
// configuration cannot mutate what it should not.
type Handler struct {
	Cluster cluster.Reader
	// OwnNamespace is the webhook's own namespace, never mutated.
	OwnNamespace string
}

var _ admission.Handler = (*Handler)(nil)

// Handle answers one AdmissionRequest. It never denies: the mutating webhook
// only adds settings, and a problem it cannot handle is returned as an
// allowed response without patch plus a warning.
func (h *Handler) Handle(ctx context.Context, req admission.Request) admission.Response {
	start := time.Now()
	defer func() { metrics.MutationDuration.Observe(time.Since(start).Seconds()) }()
	kind := req.Kind.Kind
	skip := func(reason string) admission.Response {
		metrics.Mutations.WithLabelValues(kind, "", metrics.OutcomeSkipped).Inc()
		return admission.Allowed(reason)
	}
	if req.Operation != admissionv1.Create && req.Operation != admissionv1.Update {
		return skip("ws-defaults mutates on create and update only")
	}
	if len(req.Object.Raw) == 0 {
		return skip("no object in the request")
	}
	obj, err := Decode(req.Object.Raw)
	if err != nil {
		metrics.Mutations.WithLabelValues(kind, "", metrics.OutcomeError).Inc()
		return admission.Errored(http.StatusBadRequest, err)
	}
	policy, err := h.Cluster.Policy(ctx)
	if err != nil {
		return h.failOpen(ctx, kind, err)
	}
	if scope.Excluded(req.Namespace, h.OwnNamespace, policy.ExcludedNamespaces) {
		return skip("namespace " + req.Namespace + " is excluded")
	}
	nsLabels, nsAnnotations, err := h.Cluster.Namespace(ctx, req.Namespace)
	if err != nil {
		return h.failOpen(ctx, kind, err)
	}
	labels := StringMap(nested(obj, "metadata", "labels"))
	if !scope.OptedIn(labels, nsLabels) {
		return skip("object is not opted in")
	}
	classes, err := h.Cluster.IngressClasses(ctx)
	if err != nil {
		return h.failOpen(ctx, kind, err)
	}
	ops, res, err := PatchDecoded(req.Object.Raw, obj, Env{Policy: policy, IngressClasses: classes, NamespaceAnnotations: nsAnnotations})
	if err != nil {
		metrics.Mutations.WithLabelValues(kind, res.Controller, metrics.OutcomeError).Inc()
		return admission.Errored(http.StatusBadRequest, err)
	}
	warnings := make([]string, 0, len(res.Warnings))
	for _, w := range res.Warnings {
		warnings = append(warnings, "ws-defaults: "+w)
	}
	if len(ops) == 0 {
		metrics.Mutations.WithLabelValues(kind, res.Controller, metrics.OutcomeUnchanged).Inc()
		return admission.Allowed("nothing to add").WithWarnings(warnings...)
	}
	metrics.Mutations.WithLabelValues(kind, res.Controller, metrics.OutcomePatched).Inc()
	log.FromContext(ctx).V(1).Info("defaults added", "added", res.Added, "controller", res.Controller)
	return admission.Patched(fmt.Sprintf("ws-defaults added %d setting(s)", len(res.Added)), ops...).WithWarnings(warnings...)
}

// failOpen lets the object through unmutated when the cluster view cannot
// be read: mutation is a convenience, never a reason to block a write.
func (h *Handler) failOpen(ctx context.Context, kind string, err error) admission.Response {
	log.FromContext(ctx).Error(err, "cluster view unavailable; object admitted without defaults")
	metrics.Mutations.WithLabelValues(kind, "", metrics.OutcomeError).Inc()
	return admission.Allowed("").WithWarnings("ws-defaults: defaults not applied: " + err.Error())
}
