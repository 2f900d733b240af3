package handler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	"sigs.k8s.io/yaml"

	"github.com/ws-defaults/ws-defaults/webhook/cluster"
	"github.com/ws-defaults/ws-defaults/webhook/ingressclass"
	"github.com/ws-defaults/ws-defaults/webhook/pipeline"
	"github.com/ws-defaults/ws-defaults/webhook/policy"
)

func mutateSnapshot() *cluster.Snapshot {
	return &cluster.Snapshot{
		Classes: []ingressclass.Class{{Name: "edge", Controller: ingressclass.Nginx}},
		Namespaces: map[string]metav1.ObjectMeta{
			"chat":  {Labels: map[string]string{"ws-defaults": "enabled"}},
			"plain": {},
		},
	}
}

// mutating is the /mutate handler over cluster with the built-in policy.
func mutating(c cluster.Reader) *Mutating {
	return &Mutating{Pipeline: &pipeline.Pipeline{Policies: policy.NewStore(nil), Cluster: c, OwnNamespace: "ws-defaults"}}
}

func review(t testing.TB, op admissionv1.Operation, namespace, doc string) []byte {
	t.Helper()
	raw, err := yaml.YAMLToJSON([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	_ = json.Unmarshal(raw, &meta)
	group, version, _ := strings.Cut(meta.APIVersion, "/")
	if version == "" {
		group, version = "", group
	}
	r := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID:       types.UID("uid-1"),
			Kind:      metav1.GroupVersionKind{Group: group, Version: version, Kind: meta.Kind},
			Namespace: namespace,
			Operation: op,
			Object:    runtime.RawExtension{Raw: raw},
		},
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func serve(t testing.TB, h admission.Handler, body []byte, contentType string) (int, admissionv1.AdmissionReview) {
	t.Helper()
	wh := &admission.Webhook{Handler: h}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/mutate", bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	wh.ServeHTTP(rec, req)
	var out admissionv1.AdmissionReview
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	return rec.Code, out
}

func TestHandler(t *testing.T) {
	ing := ingressYAML("edge", false)
	tests := []struct {
		name      string
		cluster   cluster.Reader
		op        admissionv1.Operation
		namespace string
		doc       string
		patched   bool
		warning   string
	}{
		{"enabled namespace, custom class", mutateSnapshot(), admissionv1.Create, "chat", ing, true, ""},
		{"update is mutated too", mutateSnapshot(), admissionv1.Update, "chat", ing, true, ""},
		{"delete is not", mutateSnapshot(), admissionv1.Delete, "chat", ing, false, ""},
		{"namespace not enabled", mutateSnapshot(), admissionv1.Create, "plain", ing, false, ""},
		{"unknown namespace", mutateSnapshot(), admissionv1.Create, "nowhere", ing, false, ""},
		{"object label enabled elsewhere", mutateSnapshot(), admissionv1.Create, "plain",
			strings.Replace(ing, "  name: ws\n", "  name: ws\n  labels: {ws-defaults: enabled}\n", 1), true, ""},
		{"object label disabled in an enabled namespace", mutateSnapshot(), admissionv1.Create, "chat",
			strings.Replace(ing, "  name: ws\n", "  name: ws\n  labels: {ws-defaults: disabled}\n", 1), false, ""},
		{"system namespace with the label", mutateSnapshot(), admissionv1.Create, "kube-system",
			strings.Replace(ing, "  name: ws\n", "  name: ws\n  labels: {ws-defaults: enabled}\n", 1), false, ""},
		{"a kind it does not handle", mutateSnapshot(), admissionv1.Create, "chat", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n", false, ""},
		{"odd annotation map", mutateSnapshot(), admissionv1.Create, "chat",
			"apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: x\n  annotations: [a, b]\nspec: {ingressClassName: nginx}\n", false, "not a map"},
		{"cluster view down: admitted unmutated with a warning", brokenCluster{}, admissionv1.Create, "chat", ing, false, "defaults not applied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := serve(t, mutating(tt.cluster), review(t, tt.op, tt.namespace, tt.doc), "application/json")
			if code != http.StatusOK || out.Response == nil {
				t.Fatalf("HTTP %d, response %+v", code, out.Response)
			}
			if !out.Response.Allowed {
				t.Fatalf("mutation must never deny: %+v", out.Response.Result)
			}
			if out.Response.UID != "uid-1" {
				t.Errorf("UID = %q", out.Response.UID)
			}
			if got := len(out.Response.Patch) > 0; got != tt.patched {
				t.Errorf("patched = %v, want %v (patch %s)", got, tt.patched, out.Response.Patch)
			}
			if tt.patched && (out.Response.PatchType == nil || *out.Response.PatchType != admissionv1.PatchTypeJSONPatch) {
				t.Errorf("patchType = %v", out.Response.PatchType)
			}
			if w := strings.Join(out.Response.Warnings, "\n"); !strings.Contains(w, tt.warning) || (tt.warning == "" && w != "") {
				t.Errorf("warnings %q, want %q", w, tt.warning)
			}
		})
	}
}

type brokenCluster struct{}

func (brokenCluster) IngressClasses(context.Context) ([]ingressclass.Class, error) {
	return nil, errors.New("cache not started")
}
func (brokenCluster) Namespace(context.Context, string) (map[string]string, map[string]string, error) {
	return map[string]string{"ws-defaults": "enabled"}, nil, nil
}

func TestHandlerBadRequests(t *testing.T) {
	tests := []struct {
		name, body, contentType string
		wantCode                int
	}{
		{"non-JSON body", "this is not json", "application/json", http.StatusBadRequest},
		{"wrong content type", "{}", "text/plain", http.StatusBadRequest},
		{"empty body", "", "application/json", http.StatusOK},
		{"review without request", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`, "application/json", http.StatusOK},
		{"object that is not an object", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE","namespace":"chat","object":"hello"}}`, "application/json", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wh := &admission.Webhook{Handler: mutating(mutateSnapshot())}
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodPost, "/mutate", strings.NewReader(tt.body))
			req.Header.Set("Content-Type", tt.contentType)
			wh.ServeHTTP(rec, req)
			body, _ := io.ReadAll(rec.Body)
			var out admissionv1.AdmissionReview
			if err := json.Unmarshal(body, &out); err != nil || out.Response == nil || out.Response.Result == nil {
				t.Fatalf("answer is not an AdmissionReview with a result: %s", body)
			}
			// controller-runtime answers HTTP 200 and puts the status in the review.
			if got := out.Response.Result.Code; got != int32(tt.wantCode) {
				t.Errorf("status code %d, want %d: %s", got, tt.wantCode, body)
			}
			if tt.wantCode != http.StatusOK && out.Response.Result.Message == "" {
				t.Error("an error answer must say what is wrong")
			}
			if len(out.Response.Patch) != 0 {
				t.Errorf("bad input must not be patched: %s", out.Response.Patch)
			}
		})
	}
}

// BenchmarkHandler times a whole /mutate request (decode review, decide,
// patch, encode review) against the baseline of an object that is not
// opted in, which does everything but the mutation.
func BenchmarkHandler(b *testing.B) {
	h := mutating(mutateSnapshot())
	cases := []struct{ name, namespace, doc string }{
		{"baseline-not-opted-in", "plain", ingressYAML("edge", true)},
		{"ingress-nginx", "chat", ingressYAML("edge", true)},
		{"service", "chat", "apiVersion: v1\nkind: Service\nmetadata: {name: ws, namespace: chat}\nspec:\n  sessionAffinity: None\n  ports:\n  - {name: websocket, port: 8080}\n  - {name: metrics, port: 9090}\n"},
	}
	for _, c := range cases {
		body := review(b, admissionv1.Create, c.namespace, c.doc)
		b.Run(c.name, func(b *testing.B) { benchServe(b, h, "/mutate", body) })
	}
}

// benchServe times whole requests of body to h through controller-runtime's
// HTTP handler (review decode, decision, encode).
func benchServe(b *testing.B, h admission.Handler, path string, body []byte) {
	wh := &admission.Webhook{Handler: h}
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		wh.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}

// ingressYAML is an Ingress of the given class in namespace chat.
func ingressYAML(class string, tls bool) string {
	doc := "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: ws\n  namespace: chat\nspec:\n  ingressClassName: " + class + "\n"
	if tls {
		doc += "  tls:\n  - hosts: [ws.example.com]\n    secretName: ws-tls\n"
	}
	return doc + "  rules:\n  - host: ws.example.com\n    http:\n      paths:\n      - path: /\n        pathType: Prefix\n        backend: {service: {name: ws, port: {number: 8080}}}\n"
}
