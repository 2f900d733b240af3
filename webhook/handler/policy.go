package handler

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	admissionv1 "k8s.io/api/admission/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
	"github.com/ws-defaults/ws-defaults/webhook/policy"
)

// Policy serves POST /validate-policy: a WebSocketPolicy is refused at
// apply time, with every bad field named, by exactly the check a replica
// runs before it puts a generation in effect (policy.Compile). Its webhook
// fails closed, so a broken policy cannot be stored while ws-defaults is
// down; should one be stored anyway, replicas keep their last good policy.
type Policy struct{}

var _ admission.Handler = Policy{}

// Handle admits a valid policy and denies an invalid one.
func (Policy) Handle(_ context.Context, req admission.Request) admission.Response {
	if req.Operation != admissionv1.Create && req.Operation != admissionv1.Update {
		return admission.Allowed("")
	}
	var p v1alpha1.WebSocketPolicy
	if err := json.Unmarshal(req.Object.Raw, &p); err != nil {
		return admission.Errored(http.StatusBadRequest, fmt.Errorf("not a WebSocketPolicy: %w", err))
	}
	if _, err := policy.Admit(&p); err != nil {
		return admission.Denied(err.Error())
	}
	return admission.Allowed("")
}
