package handler

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func policyReview(t *testing.T, op admissionv1.Operation, obj string) []byte {
	t.Helper()
	r := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID: "p", Operation: op,
			Kind:   metav1.GroupVersionKind{Group: "ws-defaults.io", Version: "v1alpha1", Kind: "WebSocketPolicy"},
			Object: runtime.RawExtension{Raw: []byte(obj)},
		},
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func wsPolicy(name, spec string) string {
	return `{"apiVersion":"ws-defaults.io/v1alpha1","kind":"WebSocketPolicy","metadata":{"name":"` + name + `","generation":2},"spec":` + spec + `}`
}

// TestPolicyHandler: the policy webhook admits what a replica would apply
// and refuses the rest with every bad field named.
func TestPolicyHandler(t *testing.T) {
	tests := []struct {
		name    string
		op      admissionv1.Operation
		obj     string
		allowed bool
		code    int32
		has     []string
	}{
		{name: "empty spec", obj: wsPolicy("default", `{}`), allowed: true},
		{name: "full spec", allowed: true, obj: wsPolicy("default", `{"mutation":{"idleTimeoutSeconds":7200,"affinity":{"enabled":true,"cookieName":"ws-server","sameSite":"Strict"}},"rules":{"tls-required":{"action":"off"}},"excludedNamespaces":["legacy"]}`)},
		{name: "unknown rule and bad action", obj: wsPolicy("default", `{"rules":{"no-such-rule":{"action":"warn"},"tls-required":{"action":"block"}}}`),
			code: http.StatusForbidden, has: []string{"spec.rules[no-such-rule]", "spec.rules[tls-required].action", `Unsupported value: "block"`}},
		{name: "out of range", obj: wsPolicy("default", `{"mutation":{"idleTimeoutSeconds":0,"serviceAffinity":{"timeoutSeconds":90000}}}`),
			code: http.StatusForbidden, has: []string{"spec.mutation.idleTimeoutSeconds", "spec.mutation.serviceAffinity.timeoutSeconds"}},
		{name: "another name", obj: wsPolicy("mine", `{}`), code: http.StatusForbidden, has: []string{"metadata.name", `"default"`}},
		{name: "not a policy", obj: `{"metadata":"x"}`, code: http.StatusBadRequest, has: []string{"not a WebSocketPolicy"}},
		{name: "update judged like create", op: admissionv1.Update, obj: wsPolicy("default", `{"rules":{"x":{}}}`), code: http.StatusForbidden, has: []string{"spec.rules[x]"}},
		{name: "delete always allowed", op: admissionv1.Delete, obj: wsPolicy("default", `{"rules":{"x":{}}}`), allowed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := tt.op
			if op == "" {
				op = admissionv1.Create
			}
			resp := handle(t, Policy{}, policyReview(t, op, tt.obj))
			if resp.Allowed != tt.allowed {
				t.Fatalf("allowed = %v, want %v: %+v", resp.Allowed, tt.allowed, resp.Result)
			}
			if tt.allowed {
				return
			}
			if resp.Result.Code != tt.code {
				t.Errorf("code %d, want %d", resp.Result.Code, tt.code)
			}
			for _, want := range tt.has {
				if !strings.Contains(resp.Result.Message, want) {
					t.Errorf("message %q lacks %q", resp.Result.Message, want)
				}
			}
		})
	}
}
