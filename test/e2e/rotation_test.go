package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ws-defaults/ws-defaults/test/framework"
	"github.com/ws-defaults/ws-defaults/webhook/registration"
)

// TestSelfManagedCertificates runs a webhook with --cert-rotation, as the
// chart does without cert-manager: it must fill its Secret with a CA and a
// serving certificate, stay not-ready until the certificate is mounted,
// inject the CA into both webhook configurations, and then be trusted by
// the API server. The test plays the kubelet, copying the Secret into the
// cert folder as a Secret volume would.
func TestSelfManagedCertificates(t *testing.T) {
	ctx := context.Background()
	const ns, secretName = "ws-rotation", "ws-rotation-tls"
	for _, obj := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: secretName, Namespace: ns}},
	} {
		if err := cluster.Client.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()

	// Webhook configurations of their own, reached as https://localhost
	// (the certificate names DNS names only) and selecting only a namespace
	// labelled for this test, so other tests never call this webhook.
	only := &metav1.LabelSelector{MatchLabels: map[string]string{"rotation-test": "yes"}}
	url := func(path string) *string { u := fmt.Sprintf("https://localhost:%d%s", port, path); return &u }
	mut := registration.Mutating(registration.Options{ServiceName: "x", ServiceNamespace: ns})
	mut.Name, mut.Webhooks = "ws-rotation-mutating", mut.Webhooks[:1]
	mut.Webhooks[0].NamespaceSelector, mut.Webhooks[0].ObjectSelector = only, nil
	mut.Webhooks[0].ClientConfig = admissionregistrationv1.WebhookClientConfig{URL: url("/mutate")}
	val := registration.Validating(registration.Options{ServiceName: "x", ServiceNamespace: ns})
	val.Name, val.Webhooks = "ws-rotation-validating", val.Webhooks[:1]
	val.Webhooks[0].NamespaceSelector, val.Webhooks[0].ObjectSelector = only, nil
	val.Webhooks[0].ClientConfig = admissionregistrationv1.WebhookClientConfig{URL: url("/validate")}
	for _, obj := range []client.Object{mut, val} {
		if err := cluster.Client.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
		defer cluster.Client.Delete(ctx, obj)
	}

	certDir := t.TempDir()
	rotating := *cluster
	rotating.CertDir, rotating.Port = certDir, port
	w, err := framework.StartWebhookProcess(binary, &rotating, &logs,
		"--namespace", ns, "--cert-rotation", "--cert-secret-name", secretName, "--cert-service-name", "ws-rotation",
		"--cert-extra-dns-names", "localhost",
		"--mutating-webhook-configuration", mut.Name, "--validating-webhook-configuration", val.Name)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	// The rotator fills the Secret; until it is "mounted" the webhook must
	// not report ready.
	secret := &corev1.Secret{}
	deadline := time.Now().Add(30 * time.Second)
	for len(secret.Data["tls.crt"]) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the Secret was never filled: %v", secret.Data)
		}
		time.Sleep(200 * time.Millisecond)
		if err := cluster.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: secretName}, secret); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(time.Second)
	if w.Ready() {
		t.Fatal("webhook reports ready before its certificate is in place")
	}
	for _, name := range []string{"tls.crt", "tls.key"} {
		if err := os.WriteFile(filepath.Join(certDir, name), secret.Data[name], 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.WaitReady(ctx, 60*time.Second); err != nil {
		t.Fatalf("not ready after the certificate was mounted: %v", err)
	}

	// Both configurations trust the CA in the Secret.
	ca := secret.Data["ca.crt"]
	gotMut := &admissionregistrationv1.MutatingWebhookConfiguration{}
	gotVal := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	if err := cluster.Client.Get(ctx, client.ObjectKey{Name: mut.Name}, gotMut); err != nil {
		t.Fatal(err)
	}
	if err := cluster.Client.Get(ctx, client.ObjectKey{Name: val.Name}, gotVal); err != nil {
		t.Fatal(err)
	}
	if len(ca) == 0 || !bytes.Equal(gotMut.Webhooks[0].ClientConfig.CABundle, ca) || !bytes.Equal(gotVal.Webhooks[0].ClientConfig.CABundle, ca) {
		t.Fatalf("caBundle not injected: secret ca %d bytes, mutating %d, validating %d",
			len(ca), len(gotMut.Webhooks[0].ClientConfig.CABundle), len(gotVal.Webhooks[0].ClientConfig.CABundle))
	}

	// And the API server calls it over TLS with that trust. The namespace
	// is "ws-defaults", which the suite's main webhook excludes as its own,
	// so only this webhook can have mutated or denied anything there.
	// TestAuditLeaderOnly may have created it already (its lease lives there).
	ensureNamespace(t, "ws-defaults", map[string]string{"rotation-test": "yes", "ws-defaults": "enabled"})
	probe := object(ingress("ws-defaults", "rotated", "nginx", ""))
	deadline = time.Now().Add(15 * time.Second)
	for {
		got := probe.DeepCopy()
		err := cluster.Client.Create(ctx, got, client.DryRunAll)
		if err == nil && got.GetAnnotations()[nginx+"proxy-read-timeout"] == "3600" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not mutated through the self-managed certificate: %v %v", err, got.GetAnnotations())
		}
		time.Sleep(300 * time.Millisecond)
	}
	bad := object(ingress("ws-defaults", "snippet", "nginx", ""))
	bad.SetAnnotations(map[string]string{nginx + "server-snippet": "return 200;"})
	if err := cluster.Client.Create(ctx, bad); err == nil {
		t.Error("snippet Ingress admitted through the self-managed webhook")
	}
}

// ensureNamespace creates namespace name with labels, or adds the labels to
// it when it exists (and removes them at the end of the test).
func ensureNamespace(t *testing.T, name string, labels map[string]string) {
	t.Helper()
	ctx := context.Background()
	ns := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": name}}}
	ns.SetLabels(labels)
	err := cluster.Client.Create(ctx, ns)
	if err == nil {
		t.Cleanup(func() { _ = cluster.Client.Delete(ctx, ns) })
		return
	}
	if !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"labels": labels}})
	if err := cluster.Client.Patch(ctx, ns, client.RawPatch(types.MergePatchType, patch)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		off := map[string]any{}
		for k := range labels {
			off[k] = nil
		}
		b, _ := json.Marshal(map[string]any{"metadata": map[string]any{"labels": off}})
		_ = cluster.Client.Patch(ctx, ns, client.RawPatch(types.MergePatchType, b))
	})
}
