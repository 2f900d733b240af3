// Package handler is the HTTP-facing glue of the admission webhook: it
// turns AdmissionRequests into pipeline calls and pipeline results into
// AdmissionResponses, and decides nothing itself. Mutating serves POST
// /mutate, Validating POST /validate and Policy POST /validate-policy (the
// WebSocketPolicy itself). Every decision about an object is made by
// package pipeline, the same code `webhook check` runs.
package handler

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
	"github.com/ws-defaults/ws-defaults/webhook/metrics"
	"github.com/ws-defaults/ws-defaults/webhook/pipeline"
	"github.com/ws-defaults/ws-defaults/webhook/validate"
)

// decode reads the request's objects; judged reports whether the operation
// is one ws-defaults acts on (create and update).
func decode(req admission.Request) (o *pipeline.Object, judged bool, err error) {
	if req.Operation != admissionv1.Create && req.Operation != admissionv1.Update {
		return nil, false, nil
	}
	var old []byte
	if req.Operation == admissionv1.Update {
		old = req.OldObject.Raw
	}
	o, err = pipeline.Decode(string(req.Operation), req.Namespace, req.Object.Raw, old)
	return o, true, err
}

// Mutating serves POST /mutate. The webhook configuration already limits
// calls to opted-in objects; the pipeline checks again so a mis-registered
// configuration cannot mutate what it should not.
type Mutating struct {
	Pipeline *pipeline.Pipeline
}

var _ admission.Handler = (*Mutating)(nil)

// Handle answers one AdmissionRequest. It never denies: the mutating webhook
// only adds settings, and a problem it cannot handle is returned as an
// allowed response without patch plus a warning.
func (h *Mutating) Handle(ctx context.Context, req admission.Request) admission.Response {
	start := time.Now()
	defer func() { metrics.MutationDuration.Observe(time.Since(start).Seconds()) }()
	kind := req.Kind.Kind
	skip := func(reason string) admission.Response {
		metrics.Mutations.WithLabelValues(kind, "", metrics.OutcomeSkipped).Inc()
		return admission.Allowed(reason)
	}
	if len(req.Object.Raw) == 0 && (req.Operation == admissionv1.Create || req.Operation == admissionv1.Update) {
		return skip("no object in the request")
	}
	o, judged, err := decode(req)
	if !judged {
		return skip("ws-defaults mutates on create and update only")
	}
	if err != nil {
		metrics.Mutations.WithLabelValues(kind, "", metrics.OutcomeError).Inc()
		return admission.Errored(http.StatusBadRequest, err)
	}
	c, err := h.Pipeline.Prepare(ctx, o)
	switch {
	case err != nil:
		// Mutation is a convenience, never a reason to block a write.
		log.FromContext(ctx).Error(err, "cluster view unavailable; object admitted without defaults")
		metrics.Mutations.WithLabelValues(kind, "", metrics.OutcomeError).Inc()
		return admission.Allowed("").WithWarnings("ws-defaults: defaults not applied: " + err.Error())
	case c.Excluded:
		return skip("namespace " + req.Namespace + " is excluded")
	case !c.OptedIn:
		return skip("object is not opted in")
	}
	ops, res, err := h.Pipeline.Mutate(c, o)
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
	log.FromContext(ctx).V(1).Info("defaults added", "added", res.Added, "controller", res.Controller, "policyGeneration", c.Policy.ObjectGeneration)
	return admission.Patched(fmt.Sprintf("ws-defaults added %d setting(s)", len(res.Added)), ops...).WithWarnings(warnings...)
}

// Validating serves POST /validate. The API server sends the object after
// every mutating webhook ran, so the rules judge what will be stored.
type Validating struct {
	Pipeline *pipeline.Pipeline
}

var _ admission.Handler = (*Validating)(nil)

// Handle maps the rules' results onto the response: any deny denies with
// every deny message (one per line, rule id first), warns become warnings,
// audits are only logged and counted.
func (h *Validating) Handle(ctx context.Context, req admission.Request) admission.Response {
	start := time.Now()
	defer func() { metrics.ValidationDuration.Observe(time.Since(start).Seconds()) }()
	o, judged, err := decode(req)
	if !judged {
		return admission.Allowed("ws-defaults validates create and update only")
	}
	if err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	c, err := h.Pipeline.Prepare(ctx, o)
	if err != nil {
		return failure(ctx, c.OptedIn, err)
	}
	if c.Excluded {
		return admission.Allowed("namespace " + req.Namespace + " is excluded")
	}
	violations, ruleErrs, err := h.Pipeline.Validate(ctx, c, o)
	if err != nil {
		return failure(ctx, c.OptedIn, err)
	}
	resp := Respond(ctx, req.Kind.Kind, violations)
	// A custom rule that could not be evaluated (too slow, or failing at
	// run time) is counted and shown, never turned into a denial: one
	// team's rule must not lock a namespace, opted in or not.
	for _, e := range ruleErrs {
		metrics.RuleErrors.WithLabelValues(e.Rule).Inc()
		log.FromContext(ctx).Error(e.Err, "custom rule not evaluated", "rule", e.Rule)
		resp.Warnings = append(resp.Warnings, "ws-defaults: "+e.Error())
	}
	return resp
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
func Respond(ctx context.Context, kind string, violations []validate.Violation) admission.Response {
	var denies, warnings []string
	for _, v := range violations {
		metrics.Decisions.WithLabelValues(v.Rule, string(v.Action)).Inc()
		switch v.Action {
		case v1alpha1.ActionDeny:
			denies = append(denies, v.String())
		case v1alpha1.ActionWarn:
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
