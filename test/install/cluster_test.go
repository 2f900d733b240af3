package install

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ws-defaults/ws-defaults/test/framework"
)

// CRDs the rendered objects need, read from the Go module cache (no copies in
// the repo): cert-manager ships its CRDs in deploy/crds, prometheus-operator
// its ServiceMonitor and friends in example/prometheus-operator-crd.
// `go mod download` fetches them through the module proxy once and verifies
// them against the checksum database. Bump the versions here.
var crdModules = []struct{ module, version, dir string }{
	{"github.com/cert-manager/cert-manager", "v1.21.2", "deploy/crds"},
	{"github.com/prometheus-operator/prometheus-operator", "v0.85.0", "example/prometheus-operator-crd"},
}

// crdDirs returns the module cache folders holding the CRDs.
func crdDirs() ([]string, error) {
	var dirs []string
	for _, m := range crdModules {
		cmd := exec.Command("go", "mod", "download", "-json", m.module+"@"+m.version)
		// Outside any module: the product's go.mod does not require these.
		cmd.Dir = os.TempDir()
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
		out, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("go mod download %s@%s: %w", m.module, m.version, err)
		}
		var info struct{ Dir, Error string }
		if err := json.Unmarshal(out, &info); err != nil || info.Error != "" || info.Dir == "" {
			return nil, fmt.Errorf("go mod download %s@%s: %v %s", m.module, m.version, err, info.Error)
		}
		dirs = append(dirs, filepath.Join(info.Dir, filepath.FromSlash(m.dir)))
	}
	return dirs, nil
}

var (
	clusterOnce sync.Once
	theCluster  *framework.Cluster
	clusterErr  error
	assetsDir   string
)

// cluster starts, once for the package, a real kube-apiserver and etcd (via
// test/framework) with the cert-manager and prometheus-operator CRDs and the
// chart's own (charts/ws-defaults/crds) installed, and the webhook configurations of webhook/registration pointing
// at a local port (as the e2e suite has them).
func cluster(t *testing.T) *framework.Cluster {
	t.Helper()
	clusterOnce.Do(func() {
		if assetsDir, clusterErr = framework.ControlPlaneAssets(root, os.Stderr); clusterErr != nil {
			return
		}
		var dirs []string
		if dirs, clusterErr = crdDirs(); clusterErr != nil {
			return
		}
		// The chart's own CRDs (WebSocketPolicy): `webhook serve` watches
		// the policy, and TestPolicyCRD exercises the schema.
		dirs = append(dirs, filepath.Join(root, "charts", "ws-defaults", "crds"))
		theCluster, clusterErr = framework.StartCluster(framework.ClusterOptions{Assets: assetsDir, CRDDirs: dirs, Workdir: work})
	})
	if clusterErr != nil {
		t.Fatal(clusterErr)
	}
	return theCluster
}

func stopCluster() {
	if theCluster != nil {
		_ = theCluster.Stop()
	}
}

// ensureNamespace creates a namespace (for real) unless it exists.
func ensureNamespace(t *testing.T, name string) {
	t.Helper()
	c := cluster(t)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := c.Client.Create(context.Background(), ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// kubectl runs the control plane's kubectl with a kubeconfig.
func kubectl(t *testing.T, kubeconfig string, stdin []byte, args ...string) ([]byte, error) {
	t.Helper()
	cluster(t)
	return execIn(context.Background(), stdin, filepath.Join(assetsDir, "kubectl"), append([]string{"--kubeconfig", kubeconfig}, args...)...)
}

// dryRun applies objects with a server-side dry run: the API server
// validates them against its schemas (CRDs included) and admission, and
// stores nothing. The webhook configurations are renamed: envtest installed
// configurations of those names already, and applying over them would be an
// update merged with envtest's url clientConfig, not the create an install is.
func dryRun(t *testing.T, m manifest) {
	t.Helper()
	var objs manifest
	for _, u := range m {
		u = u.DeepCopy()
		if strings.HasSuffix(u.GetKind(), "WebhookConfiguration") {
			u.SetName(u.GetName() + "-dry-run")
		}
		objs = append(objs, u)
	}
	out, err := kubectl(t, cluster(t).Kubeconfig, objs.yamlStream(),
		"apply", "--server-side", "--dry-run=server", "--field-manager=install-test", "-f", "-")
	if err != nil {
		t.Fatal(err)
	}
	// kubectl prints one line per object: "<kind>/<name> serverside-applied (server dry run)".
	if lines := strings.Count(strings.TrimSpace(string(out)), "\n") + 1; lines != len(m) {
		t.Errorf("kubectl applied %d objects, rendered %d:\n%s", lines, len(m), out)
	}
}

// TestDryRunChart applies every value set's objects to a real API server.
func TestDryRunChart(t *testing.T) {
	for _, vs := range valueSets {
		t.Run(vs.name, func(t *testing.T) {
			ensureNamespace(t, vs.rel.namespace)
			dryRun(t, helmTemplate(t, vs.rel))
		})
	}
}

// TestDryRunKustomize applies each kustomize overlay the same way.
func TestDryRunKustomize(t *testing.T) {
	for overlay := range overlays {
		t.Run(overlay, func(t *testing.T) {
			// Namespaced objects need their namespace to exist; a dry run
			// of the overlay's Namespace creates nothing.
			ensureNamespace(t, defaultRelease.namespace)
			dryRun(t, kustomizeBuild(t, overlay))
		})
	}
}

// TestPodSecurityRestricted creates (dry run) a Pod from the Deployment's
// template in a namespace enforcing the restricted Pod Security Standard: the
// API server's PodSecurity admission accepts it. A Pod without the hardening
// is rejected there, which shows the check is live.
func TestPodSecurityRestricted(t *testing.T) {
	c := cluster(t)
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "pss-restricted", Labels: map[string]string{
		"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest",
	}}}
	if err := c.Client.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	dep := typed[appsv1.Deployment](t, helmTemplate(t, defaultRelease).one(t, "Deployment"))
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "webhook", Namespace: ns.Name, Labels: dep.Spec.Template.Labels},
		Spec:       dep.Spec.Template.Spec,
	}
	pod.Spec.ServiceAccountName = "default"
	if err := c.Client.Create(ctx, pod.DeepCopy(), client.DryRunAll); err != nil {
		t.Fatalf("the chart's pod violates the restricted Pod Security Standard: %v", err)
	}
	loose := pod.DeepCopy()
	loose.Spec.SecurityContext = nil
	loose.Spec.Containers[0].SecurityContext = nil
	if err := c.Client.Create(ctx, loose, client.DryRunAll); err == nil || !strings.Contains(err.Error(), "PodSecurity") {
		t.Fatalf("a pod without the hardening was not rejected by PodSecurity: %v", err)
	}
}
