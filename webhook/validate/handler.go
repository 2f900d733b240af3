package validate

import (
	"context"
	"net/http"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/ws-defaults/ws-defaults/webhook/cluster"
	"github.com/ws-defaults/ws-defaults/webhook/ingressclass"
	"github.com/ws-defaults/ws-defaults/webhook/metrics"
	"github.com/ws-defaults/ws-defaults/webhook/mutate"
	"github.com/ws-defaults/ws-defaults/webhook/scope"
)

// Handler serves POST /validate. The API server sends the object after
// every mutating webhook ran, so the rules judge what will be stored.
type Handler struct {
	Engine  *Engine
	Cluster cluster.Reader
	// OwnNamespace is the webhook's own namespace, never validated.
	OwnNamespace string
}

var _ admission.Handler = (*Handler)(nil)

// Handle maps the rules' results onto the response: any deny denies with
// every deny message (one per line, rule id first), warns become warnings,
// audits are only logged and counted.
func (h *Handler) Handle(ctx context.Context, req admission.Request) admission.Response {
	start := time.Now()
	defer func() { metrics.ValidationDuration.Observe(time.Since(start).Seconds()) }()
	if req.Operation != admissionv1.Create && req.Operation != admissionv1.Update {
		return admission.Allowed("ws-defaults validates create and update only")
	}
	obj, err := mutate.Decode(req.Object.Raw)
	if err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	md, _ := obj["metadata"].(map[string]any)
	labels := mutate.StringMap(md["labels"])
	policy, err := h.Cluster.Policy(ctx)
	if err != nil {
		return failure(ctx, scope.OptedIn(labels, nil), err)
	}
	if scope.Excluded(req.Namespace, h.OwnNamespace, policy.ExcludedNamespaces) {
		return admission.Allowed("namespace " + req.Namespace + " is excluded")
	}
	var old map[string]any
	if req.Operation == admissionv1.Update && len(req.OldObject.Raw) > 0 {
		if old, err = mutate.Decode(req.OldObject.Raw); err != nil {
			return admission.Errored(http.StatusBadRequest, err)
		}
	}
	nsLabels, nsAnnotations, err := h.Cluster.Namespace(ctx, req.Namespace)
	if err != nil {
		return failure(ctx, scope.OptedIn(labels, nil), err)
	}
	optedIn := scope.OptedIn(labels, nsLabels)
	classes, err := h.Cluster.IngressClasses(ctx)
	if err != nil {
		return failure(ctx, optedIn, err)
	}
	in := Input{
		Operation:           string(req.Operation),
		Object:              obj,
		OldObject:           old,
		Namespace:           req.Namespace,
		NamespaceLabels:     nsLabels,
		NamespaceAnnotation: nsAnnotations,
		Controller:          ingressclass.ForObject(obj, classes).Controller,
		OptedIn:             optedIn,
		Defaulted:           DefaultedKeys(obj),
	}
	violations, err := h.Engine.Evaluate(ctx, in, policy)
	if err != nil {
		return failure(ctx, optedIn, err)
	}
	return Respond(ctx, req.Kind.Kind, violations)
}

// failure answers when the webhook itself cannot judge: opted-in objects,
// whose owners asked for enforcement, are refused (as failurePolicy Fail
// would); anything else is let through with a warning (as Ignore would), so
// a fault in ws-defaults never blocks a namespace that did not opt in.
func failure(ctx context.Context, optedIn bool, err error) admission.Response {
	log.FromContext(ctx).Error(err, "cannot validate", "optedIn", optedIn)
	if optedIn {
		return admission.Errored(http.StatusInternalServerError, err)
	}
	return admission.Allowed("").WithWarnings("ws-defaults: rules not checked: " + err.Error())
}

// Respond turns violations into an admission response and records them.
func Respond(ctx context.Context, kind string, violations []Violation) admission.Response {
	var denies, warnings []string
	for _, v := range violations {
		metrics.Decisions.WithLabelValues(v.Rule, v.Action).Inc()
		switch v.Action {
		case "deny":
			denies = append(denies, v.String())
		case "warn":
			warnings = append(warnings, v.String())
		default:
			log.FromContext(ctx).Info("audit", "rule", v.Rule, "field", v.Field, "kind", kind, "message", v.Message)
		}
	}
	if len(denies) > 0 {
		return admission.Denied(strings.Join(denies, "\n")).WithWarnings(warnings...)
	}
	return admission.Allowed("").WithWarnings(warnings...)
}
