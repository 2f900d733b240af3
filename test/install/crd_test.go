package install

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
	"github.com/ws-defaults/ws-defaults/webhook/registration"
)

// controllerGenArgs generate the CRD and the DeepCopy methods; the
// Makefile's manifests target runs the same, into the repository.
func controllerGenArgs(crdDir, objectDir string) []string {
	return []string{"object", "crd", "paths=./api/...", "output:crd:dir=" + crdDir, "output:object:dir=" + objectDir}
}

// TestGeneratedAPI fails when the committed CRD
// (charts/ws-defaults/crds/) or api/v1alpha1/zz_generated.deepcopy.go is not
// what controller-gen generates from api/v1alpha1 now: run `make manifests`.
func TestGeneratedAPI(t *testing.T) {
	tmp := t.TempDir()
	crdDir, objDir := filepath.Join(tmp, "crd"), filepath.Join(tmp, "object")
	if out, err := execIn(context.Background(), nil, tool(t, "controller-gen"), controllerGenArgs(crdDir, objDir)...); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	compare := func(genDir, committedDir string) int {
		entries, err := os.ReadDir(genDir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			want, err := os.ReadFile(filepath.Join(genDir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			rel := filepath.Join(committedDir, e.Name())
			got, err := os.ReadFile(filepath.Join(root, rel))
			switch {
			case errors.Is(err, os.ErrNotExist):
				t.Errorf("%s is missing: run make manifests", rel)
			case err != nil:
				t.Fatal(err)
			case !bytes.Equal(got, want):
				t.Errorf("%s is stale (api/v1alpha1 changed since it was generated): run make manifests\n%s", rel, diffLines(string(got), string(want)))
			}
		}
		return len(entries)
	}
	if n := compare(crdDir, filepath.Join("charts", "ws-defaults", "crds")); n != 1 {
		t.Errorf("controller-gen generated %d CRDs, want 1 (WebSocketPolicy)", n)
	}
	if n := compare(objDir, filepath.Join("api", "v1alpha1")); n != 1 {
		t.Errorf("controller-gen generated %d object files, want 1", n)
	}
}

// diffLines shows the first lines where two texts differ.
func diffLines(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(g), len(w)) && shown < 10; i++ {
		var a, c string
		if i < len(g) {
			a = g[i]
		}
		if i < len(w) {
			c = w[i]
		}
		if a != c {
			fmt.Fprintf(&b, "line %d:\n  committed: %s\n  generated: %s\n", i+1, a, c)
			shown++
		}
	}
	return b.String()
}

// TestKustomizeBaseHasCRD: config/webhook's base carries the CRD exactly as
// the chart ships it (Helm leaves crds/ out of `helm template`).
func TestKustomizeBaseHasCRD(t *testing.T) {
	chart, err := os.ReadFile(filepath.Join(root, "charts", "ws-defaults", "crds", "ws-defaults.io_websocketpolicies.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := parse(chart)
	if err != nil || len(want) != 1 {
		t.Fatalf("the chart's CRD: %d objects, %v", len(want), err)
	}
	for overlay := range overlays {
		got := kustomizeBuild(t, overlay).byKey(t)
		k := key(want[0])
		if g, ok := got[k]; !ok {
			t.Errorf("%s: kustomize build lacks %s", overlay, k)
		} else if !sameObject(g, want[0]) {
			t.Errorf("%s: %s differs from the chart's crds/:\n%s", overlay, k, diffJSON(g.Object, want[0].Object))
		}
	}
	base, err := os.ReadFile(filepath.Join(root, "config", "webhook", "base", "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(base, []byte("customresourcedefinition-websocketpolicies.ws-defaults.io.yaml")) {
		t.Errorf("config/webhook/base/kustomization.yaml does not list the CRD:\n%s", base)
	}
}

// policyObject is a WebSocketPolicy as a user writes it, with every spec
// field set to a valid value (interfaces.md's example).
func policyObject(name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(`
apiVersion: ws-defaults.io/v1alpha1
kind: WebSocketPolicy
metadata: {name: `+name+`}
spec:
  mutation:
    idleTimeoutSeconds: 7200
    affinity: {enabled: true, cookieName: ws-server, cookieMaxAgeSeconds: 86400, sameSite: Lax, secureOnTLS: true}
    serviceAffinity: {enabled: true, timeoutSeconds: 10800}
    portProtocolHint: http
  rules:
    nginx-snippet-annotation: {action: warn}
    tls-required: {action: "off", scope: cluster}
  excludedNamespaces: [legacy]
  minIdleTimeoutSeconds: 3600
  nginxAnnotationPrefix: nginx.ingress.kubernetes.io/
  nginxAnnotationsRiskLevel: High
  audit: {interval: 5m}
`), &u.Object); err != nil {
		panic(err)
	}
	return u
}

// policyWebhook plays the server's /validate-policy (someone else's
// handler; here it allows everything) on the port envtest's webhook
// configurations call, and counts the calls.
type policyWebhook struct {
	calls atomic.Int32
	srv   *http.Server
}

func startPolicyWebhook(t *testing.T) *policyWebhook {
	t.Helper()
	c := cluster(t)
	cert, err := tls.LoadX509KeyPair(filepath.Join(c.CertDir, "tls.crt"), filepath.Join(c.CertDir, "tls.key"))
	if err != nil {
		t.Fatal(err)
	}
	var l net.Listener
	// The webhook of another test may still be letting go of the port.
	eventually(t, 10*time.Second, func() error {
		l, err = tls.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(c.Port)), &tls.Config{Certificates: []tls.Certificate{cert}})
		return err
	})
	w := &policyWebhook{}
	w.srv = &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var review admissionv1.AdmissionReview
		if !strings.HasSuffix(r.URL.Path, registration.PolicyValidatePath) || json.NewDecoder(r.Body).Decode(&review) != nil || review.Request == nil {
			http.Error(rw, "not the policy webhook", http.StatusNotFound)
			return
		}
		w.calls.Add(1)
		review.Response = &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: true}
		review.Request = nil
		_ = json.NewEncoder(rw).Encode(review)
	})}
	go func() { _ = w.srv.Serve(l) }()
	t.Cleanup(func() { _ = w.srv.Close() })
	return w
}

// TestPolicyCRD applies the WebSocketPolicy CRD's schema on a real API
// server (envtest installed charts/ws-defaults/crds): a valid policy passes
// the schema and reaches the policy webhook, which fails closed; invalid
// ones are refused by the schema and CEL with a message naming the field;
// status is a subresource and the Ready printer column shows it.
func TestPolicyCRD(t *testing.T) {
	c := cluster(t)
	ctx := context.Background()
	dry := client.DryRunAll

	t.Run("the policy webhook fails closed", func(t *testing.T) {
		// No webhook listens: a valid policy gets past the schema, then the
		// API server refuses it because policy.ws-defaults.io cannot be called.
		err := c.Client.Create(ctx, policyObject(v1alpha1.PolicyName), dry)
		if err == nil || !strings.Contains(err.Error(), registration.PolicyWebhookName) {
			t.Fatalf("want a refusal naming %s (failurePolicy Fail), got %v", registration.PolicyWebhookName, err)
		}
	})

	for _, tc := range []struct {
		name string
		edit func(u *unstructured.Unstructured)
		want []string // substrings of the API server's error
	}{
		{"not named default", func(u *unstructured.Unstructured) { u.SetName("mine") }, []string{"metadata.name must be 'default'"}},
		{"idle timeout 0", func(u *unstructured.Unstructured) { set(u, int64(0), "mutation", "idleTimeoutSeconds") },
			[]string{"spec.mutation.idleTimeoutSeconds", "greater than or equal to 1"}},
		{"idle timeout over 7 days", func(u *unstructured.Unstructured) { set(u, int64(604801), "mutation", "idleTimeoutSeconds") },
			[]string{"spec.mutation.idleTimeoutSeconds", "less than or equal to 604800"}},
		{"cookie name with a space", func(u *unstructured.Unstructured) { set(u, "ws server", "mutation", "affinity", "cookieName") },
			[]string{"spec.mutation.affinity.cookieName", "INGRESSCOOKIE"}},
		{"negative cookie max age", func(u *unstructured.Unstructured) { set(u, int64(-1), "mutation", "affinity", "cookieMaxAgeSeconds") },
			[]string{"spec.mutation.affinity.cookieMaxAgeSeconds"}},
		{"sameSite lowercase", func(u *unstructured.Unstructured) { set(u, "lax", "mutation", "affinity", "sameSite") },
			[]string{"spec.mutation.affinity.sameSite", `"Lax"`}},
		{"client IP timeout over a day", func(u *unstructured.Unstructured) {
			set(u, int64(86401), "mutation", "serviceAffinity", "timeoutSeconds")
		},
			[]string{"spec.mutation.serviceAffinity.timeoutSeconds"}},
		{"port protocol hint h2c", func(u *unstructured.Unstructured) { set(u, "kubernetes.io/h2c", "mutation", "portProtocolHint") },
			[]string{"spec.mutation.portProtocolHint", `"kubernetes.io/ws"`}},
		{"rule action", func(u *unstructured.Unstructured) { set(u, "block", "rules", "tls-required", "action") },
			[]string{"spec.rules.tls-required.action", `"deny"`}},
		{"rule scope", func(u *unstructured.Unstructured) { set(u, "everywhere", "rules", "tls-required", "scope") },
			[]string{"spec.rules.tls-required.scope", `"opted-in"`}},
		{"excluded namespace twice", func(u *unstructured.Unstructured) { set(u, []any{"a", "a"}, "excludedNamespaces") },
			[]string{"spec.excludedNamespaces[1]", "Duplicate"}},
		{"excluded namespace not a name", func(u *unstructured.Unstructured) { set(u, []any{"Team_B"}, "excludedNamespaces") },
			[]string{"spec.excludedNamespaces[0]"}},
		{"min idle timeout 0", func(u *unstructured.Unstructured) { set(u, int64(0), "minIdleTimeoutSeconds") },
			[]string{"spec.minIdleTimeoutSeconds"}},
		{"nginx prefix with a path", func(u *unstructured.Unstructured) { set(u, "custom.io/nginx", "nginxAnnotationPrefix") },
			[]string{"spec.nginxAnnotationPrefix", "DNS subdomain"}},
		{"risk level lowercase", func(u *unstructured.Unstructured) { set(u, "high", "nginxAnnotationsRiskLevel") },
			[]string{"spec.nginxAnnotationsRiskLevel", `"High"`}},
		{"audit interval 5s", func(u *unstructured.Unstructured) { set(u, "5s", "audit", "interval") },
			[]string{"spec.audit.interval", "at least 10s"}},
		{"the removed auditInterval", func(u *unstructured.Unstructured) { set(u, "5m", "auditInterval") },
			[]string{`unknown field "spec.auditInterval"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := policyObject(v1alpha1.PolicyName)
			tc.edit(u)
			err := c.Client.Create(ctx, u, dry, client.FieldValidation("Strict"))
			if err == nil {
				t.Fatal("accepted")
			}
			t.Logf("refused: %v", err)
			if strings.Contains(err.Error(), registration.PolicyWebhookName) {
				t.Fatalf("the schema let it through to the webhook: %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the refusal does not say %q: %v", w, err)
				}
			}
		})
	}

	t.Run("status subresource and printer columns", func(t *testing.T) {
		hook := startPolicyWebhook(t)
		u := policyObject(v1alpha1.PolicyName)
		eventually(t, 20*time.Second, func() error { return c.Client.Create(ctx, u) })
		t.Cleanup(func() {
			if err := c.Client.Delete(ctx, policyObject(v1alpha1.PolicyName)); err != nil && !apierrors.IsNotFound(err) {
				t.Errorf("deleting the policy: %v", err)
			}
		})
		if hook.calls.Load() == 0 {
			t.Error("the API server did not call /validate-policy")
		}
		// Writing status through the main resource is ignored...
		withStatus := u.DeepCopy()
		cond := map[string]any{"type": v1alpha1.ConditionReady, "status": "False", "reason": v1alpha1.ReasonInvalid,
			"message": "spec.rules[x]: Not found", "lastTransitionTime": metav1.Now().UTC().Format(time.RFC3339), "observedGeneration": u.GetGeneration()}
		withStatus.Object["status"] = map[string]any{"observedGeneration": u.GetGeneration(), "conditions": []any{cond}}
		if err := c.Client.Update(ctx, withStatus); err != nil {
			t.Fatal(err)
		}
		if _, found, _ := unstructured.NestedFieldNoCopy(withStatus.Object, "status", "conditions"); found {
			t.Error("status written through the main resource")
		}
		// ...and through /status it is stored.
		withStatus.Object["status"] = map[string]any{"observedGeneration": u.GetGeneration(), "conditions": []any{cond}}
		if err := c.Client.Status().Update(ctx, withStatus); err != nil {
			t.Fatalf("status update: %v", err)
		}
		out, err := kubectl(t, c.Kubeconfig, nil, "get", "websocketpolicies", "-o", "wide")
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) != 2 || strings.Join(strings.Fields(lines[0]), " ") != "NAME READY REASON AGE" ||
			!strings.HasPrefix(strings.Join(strings.Fields(lines[1]), " "), "default False Invalid ") {
			t.Errorf("kubectl get websocketpolicies -o wide:\n%s", out)
		}
	})
}

// set sets a field under spec.
func set(u *unstructured.Unstructured, v any, path ...string) {
	if err := unstructured.SetNestedField(u.Object, v, append([]string{"spec"}, path...)...); err != nil {
		panic(err)
	}
}
