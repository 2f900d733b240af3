package install

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/ws-defaults/ws-defaults/test/framework"
	"github.com/ws-defaults/ws-defaults/webhook/registration"
)

// serviceAccountUser is how the API server sees a pod running as a
// ServiceAccount; envtest issues a client certificate for exactly that
// identity, so the chart's bindings apply to it unmodified.
func serviceAccountUser(namespace, name string) envtest.User {
	return envtest.User{
		Name:   "system:serviceaccount:" + namespace + ":" + name,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"},
	}
}

// applyRBAC creates (for real) the release's ServiceAccount, roles and
// bindings, plus any extra kinds.
func applyRBAC(t *testing.T, m manifest, extraKinds ...string) {
	t.Helper()
	kinds := append([]string{"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}, extraKinds...)
	var sel manifest
	for _, u := range m {
		if slices.Contains(kinds, u.GetKind()) {
			sel = append(sel, u)
		}
	}
	if _, err := kubectl(t, cluster(t).Kubeconfig, sel.yamlStream(), "apply", "--server-side", "--field-manager=install-test", "-f", "-"); err != nil {
		t.Fatal(err)
	}
}

var (
	binaryOnce sync.Once
	binary     string
	binaryErr  error
)

func webhookBinary(t *testing.T) string {
	t.Helper()
	binaryOnce.Do(func() { binary, binaryErr = framework.BuildWebhook(root, work) })
	if binaryErr != nil {
		t.Fatal(binaryErr)
	}
	return binary
}

// chartArgs are the Deployment's args without the ones the test must point
// elsewhere (certificates, ports, addresses): the rest go to the binary
// unchanged, so an arg the binary does not know fails the test.
func chartArgs(t *testing.T, m manifest) []string {
	t.Helper()
	dep := m.one(t, "Deployment")
	c := dep.Object["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)
	var out []string
	for i, a := range c["args"].([]any) {
		s := a.(string)
		if i == 0 {
			if s != "serve" {
				t.Fatalf("first arg %q, want serve", s)
			}
			continue
		}
		name, _, _ := strings.Cut(s, "=")
		switch name {
		case "--cert-dir", "--port", "--metrics-bind-address", "--health-probe-bind-address", "--graceful-shutdown-timeout":
			continue
		}
		out = append(out, s)
	}
	return out
}

// TestRBACSufficientAndMinimal runs the real `webhook serve`, with the
// chart's args, as the chart's ServiceAccount bound only by the chart's
// ClusterRole and Role: it must become ready, win leader election, mutate
// and deny through the API server, and log no authorization error; the same
// credentials must not read Secrets or write anything else.
func TestRBACSufficientAndMinimal(t *testing.T) {
	c := cluster(t)
	ctx := context.Background()
	r := defaultRelease
	ensureNamespace(t, r.namespace)
	m := helmTemplate(t, r)
	applyRBAC(t, m)
	sa := m.one(t, "ServiceAccount").GetName()

	user, kubeconfig := serviceAccountKubeconfig(t, c, r.namespace, sa)
	restricted := kubernetes.NewForConfigOrDie(user.Config())
	admin := kubernetes.NewForConfigOrDie(c.Config)

	// An IngressClass only the informer can resolve (not a well-known name),
	// and an opted-in namespace.
	class := &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "rbac-edge"}, Spec: networkingv1.IngressClassSpec{Controller: "k8s.io/ingress-nginx"}}
	if _, err := admin.NetworkingV1().IngressClasses().Create(ctx, class, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "rbac-enabled", Labels: map[string]string{"ws-defaults": "enabled"}}}
	if _, err := admin.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}

	var logs framework.SyncBuffer
	args := append(chartArgs(t, m), "--kubeconfig", kubeconfig)
	hook, err := framework.StartWebhook(ctx, webhookBinary(t), c, &logs, args...)
	if err != nil {
		t.Fatalf("%v\n---- webhook logs (errors, shortened) ----\n%s", err, errorLines(logs.String()))
	}
	defer func() {
		if err := hook.Stop(); err != nil {
			t.Errorf("webhook did not stop cleanly: %v", err)
		}
		if t.Failed() {
			t.Logf("---- webhook logs (errors, shortened) ----\n%s", errorLines(logs.String()))
		}
	}()

	t.Run("leader election", func(t *testing.T) {
		if !slices.Contains(args, "--leader-elect=true") {
			t.Fatalf("the chart does not enable leader election: %v", args)
		}
		var lease *coordinationv1.Lease
		eventually(t, 30*time.Second, func() error {
			lease, err = admin.CoordinationV1().Leases(r.namespace).Get(ctx, "ws-defaults.io", metav1.GetOptions{})
			if err == nil && (lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "") {
				err = fmt.Errorf("lease has no holder")
			}
			return err
		})
		eventually(t, 30*time.Second, func() error {
			evs, err := admin.CoreV1().Events(r.namespace).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.kind=Lease,involvedObject.name=ws-defaults.io"})
			if err == nil && len(evs.Items) == 0 {
				err = fmt.Errorf("no leader election event")
			}
			return err
		})
	})

	t.Run("mutates with the IngressClass and namespace it read", func(t *testing.T) {
		var got *networkingv1.Ingress
		// The informers may not have seen the class yet: retry with fresh names.
		eventually(t, 20*time.Second, func() error {
			ing := ingress(fmt.Sprintf("rbac-%d", time.Now().UnixNano()), "rbac-edge", nil)
			got, err = admin.NetworkingV1().Ingresses(ns.Name).Create(ctx, ing, metav1.CreateOptions{})
			if err != nil {
				return err
			}
			if got.Annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"] == "" || got.Annotations["ws-defaults.io/defaulted"] == "" {
				return fmt.Errorf("not mutated: %v", got.Annotations)
			}
			return nil
		})
	})

	t.Run("denies", func(t *testing.T) {
		ing := ingress("rbac-snippet", "rbac-edge", map[string]string{"nginx.ingress.kubernetes.io/server-snippet": "return 200;"})
		_, err := admin.NetworkingV1().Ingresses(ns.Name).Create(ctx, ing, metav1.CreateOptions{})
		if err == nil || !strings.Contains(err.Error(), "nginx-snippet-annotation") {
			t.Fatalf("want a denial naming nginx-snippet-annotation, got %v", err)
		}
	})

	t.Run("audit pass", func(t *testing.T) {
		// The leader's audit lists every handled kind the API server serves
		// and the Reports, as this ServiceAccount.
		eventually(t, 30*time.Second, func() error {
			if !strings.Contains(logs.String(), `"audit pass done"`) {
				return fmt.Errorf("no complete audit pass yet:\n%s", errorLines(logs.String()))
			}
			return nil
		})
	})

	t.Run("no authorization errors", func(t *testing.T) {
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, "forbidden") || strings.Contains(line, "Forbidden") {
				t.Errorf("webhook log: %s", line)
			}
		}
	})

	t.Run("forbidden", func(t *testing.T) {
		other := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "rbac-probe", Namespace: "kube-system"}, StringData: map[string]string{"k": "v"}}
		if _, err := admin.CoreV1().Secrets("kube-system").Create(ctx, other, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
		denied := map[string]error{}
		_, denied["get a Secret in kube-system"] = restricted.CoreV1().Secrets("kube-system").Get(ctx, "rbac-probe", metav1.GetOptions{})
		_, denied["list Secrets in its own namespace"] = restricted.CoreV1().Secrets(r.namespace).List(ctx, metav1.ListOptions{})
		_, denied["get its serving Secret (cert-manager owns it)"] = restricted.CoreV1().Secrets(r.namespace).Get(ctx, "ws-defaults-webhook-tls", metav1.GetOptions{})
		_, denied["list Secrets cluster-wide"] = restricted.CoreV1().Secrets("").List(ctx, metav1.ListOptions{})
		_, denied["list Pods"] = restricted.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
		_, denied["label a Namespace"] = restricted.CoreV1().Namespaces().Patch(ctx, ns.Name, "application/merge-patch+json", []byte(`{"metadata":{"labels":{"x":"y"}}}`), metav1.PatchOptions{})
		_, denied["update an IngressClass"] = restricted.NetworkingV1().IngressClasses().Patch(ctx, class.Name, "application/merge-patch+json", []byte(`{"metadata":{"labels":{"x":"y"}}}`), metav1.PatchOptions{})
		_, denied["read its webhook configuration"] = restricted.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, registration.MutatingName, metav1.GetOptions{})
		_, denied["create a Lease in another namespace"] = restricted.CoordinationV1().Leases("default").Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{})
		_, denied["update another Lease"] = restricted.CoordinationV1().Leases(r.namespace).Update(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: r.namespace}}, metav1.UpdateOptions{})
		_, denied["create an Ingress"] = restricted.NetworkingV1().Ingresses(ns.Name).Create(ctx, ingress("rbac-x", "rbac-edge", nil), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		for what, err := range denied {
			if !apierrors.IsForbidden(err) {
				t.Errorf("%s: want Forbidden, got %v", what, err)
			}
		}
	})
}

// TestSelfManagedCertificateRBAC checks, against the real authorizer, what
// the self-managed mode grants: its own Secret and its two webhook
// configurations by name (get, update, and list/watch only when selecting
// that one object by metadata.name), and nothing else.
func TestSelfManagedCertificateRBAC(t *testing.T) {
	c, r, _, sa, secret, admin := selfManagedRelease(t)
	ctx := context.Background()
	if _, err := admin.CoreV1().Secrets(r.namespace).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "unrelated"}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	cfg := rest.CopyConfig(c.Config)
	u := serviceAccountUser(r.namespace, sa)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: u.Name, Groups: u.Groups}
	as := kubernetes.NewForConfigOrDie(cfg)
	byName := func(name string) metav1.ListOptions {
		return metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String()}
	}
	dry := metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}}

	allowed := map[string]error{}
	s, err := as.CoreV1().Secrets(r.namespace).Get(ctx, secret, metav1.GetOptions{})
	allowed["get its Secret"] = err
	if err == nil {
		s.Data = map[string][]byte{"tls.crt": []byte("x")}
		_, allowed["update its Secret"] = as.CoreV1().Secrets(r.namespace).Update(ctx, s, dry)
	}
	_, allowed["list its Secret by name"] = as.CoreV1().Secrets(r.namespace).List(ctx, byName(secret))
	w, err := as.CoreV1().Secrets(r.namespace).Watch(ctx, byName(secret))
	allowed["watch its Secret by name"] = err
	if err == nil {
		w.Stop()
	}
	mwc, err := as.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, registration.MutatingName, metav1.GetOptions{})
	allowed["get its MutatingWebhookConfiguration"] = err
	if err == nil {
		_, allowed["update its MutatingWebhookConfiguration"] = as.AdmissionregistrationV1().MutatingWebhookConfigurations().Update(ctx, mwc, dry)
	}
	vwc, err := as.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, registration.ValidatingName, metav1.GetOptions{})
	allowed["get its ValidatingWebhookConfiguration"] = err
	if err == nil {
		_, allowed["update its ValidatingWebhookConfiguration"] = as.AdmissionregistrationV1().ValidatingWebhookConfigurations().Update(ctx, vwc, dry)
	}
	_, allowed["list its MutatingWebhookConfiguration by name"] = as.AdmissionregistrationV1().MutatingWebhookConfigurations().List(ctx, byName(registration.MutatingName))
	_, allowed["list its ValidatingWebhookConfiguration by name"] = as.AdmissionregistrationV1().ValidatingWebhookConfigurations().List(ctx, byName(registration.ValidatingName))
	for what, err := range allowed {
		if err != nil {
			t.Errorf("%s: %v", what, err)
		}
	}

	denied := map[string]error{}
	_, denied["list every Secret in its namespace"] = as.CoreV1().Secrets(r.namespace).List(ctx, metav1.ListOptions{})
	_, denied["get another Secret in its namespace"] = as.CoreV1().Secrets(r.namespace).Get(ctx, "unrelated", metav1.GetOptions{})
	_, denied["create a Secret"] = as.CoreV1().Secrets(r.namespace).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "new"}}, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	denied["delete its Secret"] = as.CoreV1().Secrets(r.namespace).Delete(ctx, secret, metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}})
	_, denied["list every MutatingWebhookConfiguration"] = as.AdmissionregistrationV1().MutatingWebhookConfigurations().List(ctx, metav1.ListOptions{})
	_, denied["get another ValidatingWebhookConfiguration"] = as.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, "someone-elses", metav1.GetOptions{})
	_, denied["create a MutatingWebhookConfiguration"] = as.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx,
		&admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "evil"}}, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	for what, err := range denied {
		if !apierrors.IsForbidden(err) {
			t.Errorf("%s: want Forbidden, got %v", what, err)
		}
	}
}

// TestChartArgsKnownToBinary: every flag either mode of the chart passes
// is a flag of `webhook serve`. The self-managed certificate flags are
// skipped, not failed, until the binary has them.
func TestChartArgsKnownToBinary(t *testing.T) {
	bin := webhookBinary(t)
	help, err := exec.Command(bin, "serve", "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("webhook serve --help: %v\n%s", err, help)
	}
	for overlay, values := range overlays {
		t.Run(overlay, func(t *testing.T) {
			m := helmTemplate(t, release{name: defaultRelease.name, namespace: defaultRelease.namespace, values: values})
			dep := m.one(t, "Deployment")
			c := dep.Object["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)
			var missing []string
			for _, a := range c["args"].([]any)[1:] {
				name, _, _ := strings.Cut(a.(string), "=")
				if !bytes.Contains(help, []byte(name+" ")) {
					missing = append(missing, name)
				}
			}
			if len(missing) == 0 {
				return
			}
			if overlay == "self-managed" && slices.Contains(missing, "--cert-rotation") {
				t.Skipf("webhook serve does not have the self-managed certificate flags yet: %v", missing)
			}
			t.Errorf("the chart passes flags `webhook serve` does not have: %v", missing)
		})
	}
}

func ingress(name, class string, annotations map[string]string) *networkingv1.Ingress {
	prefix := networkingv1.PathTypePrefix
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: annotations},
		Spec: networkingv1.IngressSpec{
			IngressClassName: &class,
			Rules: []networkingv1.IngressRule{{
				Host: "ws.example.com",
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
					Path: "/", PathType: &prefix,
					Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "ws", Port: networkingv1.ServiceBackendPort{Number: 8080}}},
				}}}},
			}},
		},
	}
}

// eventually retries f until it succeeds or the time is up.
func eventually(t *testing.T, limit time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %v", limit, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// TestSelfManagedCertificatesAsServiceAccount runs `webhook serve` with the
// self-managed chart's args as that chart's ServiceAccount, bound only by its
// ClusterRole and Role: it must fill its Secret, inject the CA into both
// webhook configurations and become ready without an authorization error.
// The test plays the kubelet, copying the Secret into the cert folder as the
// Secret volume would. The configurations are envtest's (the chart's names);
// their caBundle is restored afterwards.
func TestSelfManagedCertificatesAsServiceAccount(t *testing.T) {
	c, r, m, sa, secretName, admin := selfManagedRelease(t)
	ctx := context.Background()

	// Restore the envtest configurations' caBundle whatever happens.
	mwc, err := admin.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, registration.MutatingName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	vwc, err := admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, registration.ValidatingName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		eventually(t, 10*time.Second, func() error {
			cur, err := admin.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, mwc.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			for i := range cur.Webhooks {
				cur.Webhooks[i].ClientConfig.CABundle = mwc.Webhooks[i].ClientConfig.CABundle
			}
			_, err = admin.AdmissionregistrationV1().MutatingWebhookConfigurations().Update(ctx, cur, metav1.UpdateOptions{})
			return err
		})
		eventually(t, 10*time.Second, func() error {
			cur, err := admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, vwc.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			for i := range cur.Webhooks {
				cur.Webhooks[i].ClientConfig.CABundle = vwc.Webhooks[i].ClientConfig.CABundle
			}
			_, err = admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().Update(ctx, cur, metav1.UpdateOptions{})
			return err
		})
	}()

	_, kubeconfig := serviceAccountKubeconfig(t, c, r.namespace, sa)

	args := chartArgs(t, m)
	if !slices.Contains(args, "--cert-rotation") {
		t.Fatalf("self-managed args lack --cert-rotation: %v", args)
	}
	local := *c
	local.CertDir = t.TempDir()
	if local.Port, err = freePort(); err != nil {
		t.Fatal(err)
	}
	var logs framework.SyncBuffer
	hook, err := framework.StartWebhookProcess(webhookBinary(t), &local, &logs,
		append(args, "--namespace", r.namespace, "--kubeconfig", kubeconfig)...)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = hook.Stop()
		if t.Failed() {
			t.Logf("---- webhook logs (errors, shortened) ----\n%s", errorLines(logs.String()))
		}
	}()

	var secret *corev1.Secret
	eventually(t, 30*time.Second, func() error {
		secret, err = admin.CoreV1().Secrets(r.namespace).Get(ctx, secretName, metav1.GetOptions{})
		if err == nil && len(secret.Data["tls.crt"]) == 0 {
			err = fmt.Errorf("Secret %s not filled yet", secretName)
			if strings.Contains(logs.String(), "is forbidden") {
				err = fmt.Errorf("%w; the webhook was refused access (log below): its caches must select the Secret and the "+
					"webhook configurations by name (fieldSelector metadata.name), as the chart's resourceNames-limited RBAC allows", err)
			}
		}
		return err
	})
	for _, name := range []string{"tls.crt", "tls.key"} {
		writeFile(t, filepath.Join(local.CertDir, name), string(secret.Data[name]))
	}
	if err := hook.WaitReady(ctx, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	ca := secret.Data["ca.crt"]
	eventually(t, 20*time.Second, func() error {
		m, err := admin.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, registration.MutatingName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		v, err := admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, registration.ValidatingName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, b := range [][]byte{m.Webhooks[0].ClientConfig.CABundle, v.Webhooks[0].ClientConfig.CABundle} {
			if len(ca) == 0 || !bytes.Equal(b, ca) {
				return fmt.Errorf("caBundle not injected")
			}
		}
		return nil
	})
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "forbidden") {
			t.Errorf("webhook log: %s", line)
		}
	}
}

// errorLines keeps the distinct error lines of JSON logs, without stack
// traces, so a failure shows the cause (typically "... is forbidden").
func errorLines(logs string) string {
	seen := map[string]bool{}
	var out []string
	for _, line := range strings.Split(logs, "\n") {
		if !strings.Contains(line, `"level":"error"`) {
			continue
		}
		line, _, _ = strings.Cut(line, `,"stacktrace"`)
		line = line[strings.Index(line, `"msg"`):]
		if !seen[line] {
			seen[line] = true
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// selfManagedRelease renders the chart without cert-manager into its own
// namespace and applies its RBAC (Secret included), for the tests of the
// self-managed certificate mode.
func selfManagedRelease(t *testing.T) (c *framework.Cluster, r release, m manifest, sa, secret string, admin *kubernetes.Clientset) {
	t.Helper()
	c = cluster(t)
	r = release{name: "wsd-sm", namespace: "wsd-sm", values: "certManager: {enabled: false}\n"}
	ensureNamespace(t, r.namespace)
	m = helmTemplate(t, r)
	applyRBAC(t, m, "Secret")
	return c, r, m, m.one(t, "ServiceAccount").GetName(), m.one(t, "Secret").GetName(), kubernetes.NewForConfigOrDie(c.Config)
}

// serviceAccountKubeconfig adds an envtest user that authenticates as the
// ServiceAccount namespace/sa and writes its kubeconfig to a file.
func serviceAccountKubeconfig(t *testing.T, c *framework.Cluster, namespace, sa string) (*envtest.AuthenticatedUser, string) {
	t.Helper()
	user, err := c.Env.AddUser(serviceAccountUser(namespace, sa), nil)
	if err != nil {
		t.Fatal(err)
	}
	kc, err := user.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	writeFile(t, kubeconfig, string(kc))
	return user, kubeconfig
}
