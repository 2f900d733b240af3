// Package e2e runs ws-defaults end to end: a real kube-apiserver and etcd,
// the webhook configurations installed as a cluster would have them, and
// the real `webhook serve` binary called by the API server over TLS.
package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/ws-defaults/ws-defaults/test/framework"
)

var (
	cluster *framework.Cluster
	binary  string
	logs    framework.SyncBuffer
	hook    *framework.Webhook
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if testing.Short() {
		fmt.Println("e2e: skipped in -short mode")
		return 0
	}
	root, err := framework.RepoRoot()
	if err != nil {
		return fail(err)
	}
	work, err := os.MkdirTemp("", "ws-defaults-e2e-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(work)
	// The controllers' own CRDs from their Go modules (real schemas), and
	// stubs only for kinds whose modules are not served.
	moduleCRDs := filepath.Join(root, ".cache", "crds")
	if err := framework.FetchModuleCRDs(moduleCRDs); err != nil {
		return fail(err)
	}
	assets, err := framework.ControlPlaneAssets(root, os.Stderr)
	if err != nil {
		return fail(err)
	}
	if binary, err = framework.BuildWebhook(root, work); err != nil {
		return fail(err)
	}
	cluster, err = framework.StartCluster(framework.ClusterOptions{
		Assets:  assets,
		CRDDirs: []string{filepath.Join(root, "charts", "ws-defaults", "crds"), moduleCRDs, filepath.Join(root, "test", "e2e", "testdata", "crds")},
		Workdir: work,
	})
	if err != nil {
		return fail(err)
	}
	defer cluster.Stop()
	// Cluster-scoped fixtures the webhook must see from its first request.
	for _, doc := range []string{
		"apiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata: {name: edge}\nspec: {controller: k8s.io/ingress-nginx}\n",
		"apiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata: {name: hap}\nspec: {controller: haproxy-ingress.github.io/controller}\n",
	} {
		if err := cluster.Client.Create(context.Background(), object(doc)); err != nil {
			return fail(err)
		}
	}
	if hook, err = framework.StartWebhook(context.Background(), binary, cluster, &logs); err != nil {
		fmt.Fprintln(os.Stderr, logs.String())
		return fail(err)
	}
	code := m.Run()
	if err := hook.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "webhook did not stop cleanly:", err)
		code = 1
	}
	if code != 0 {
		fmt.Fprintln(os.Stderr, "---- webhook logs ----\n"+logs.String())
	}
	return code
}

func fail(err error) int {
	fmt.Fprintln(os.Stderr, "e2e setup:", err)
	return 1
}

// object reads one YAML document.
func object(doc string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
		panic(err)
	}
	return u
}

// namespace creates a namespace with the given labels and removes it at the
// end of the test.
func namespace(t *testing.T, name string, labels map[string]string) {
	t.Helper()
	ns := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": name}}}
	ns.SetLabels(labels)
	ctx := context.Background()
	if err := cluster.Client.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	// No wait for the webhook's informer: a namespace missing from its
	// cache is read from the API server (cluster.Cached).
	t.Cleanup(func() { _ = cluster.Client.Delete(ctx, ns) })
}

// create stores doc and returns what the API server stored.
func create(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	u := object(doc)
	if err := cluster.Client.Create(context.Background(), u); err != nil {
		t.Fatalf("create %s: %v", u.GetKind(), err)
	}
	return stored(t, u)
}

func stored(t *testing.T, u *unstructured.Unstructured) *unstructured.Unstructured {
	t.Helper()
	got := &unstructured.Unstructured{}
	got.SetGroupVersionKind(u.GroupVersionKind())
	if err := cluster.Client.Get(context.Background(), client.ObjectKeyFromObject(u), got); err != nil {
		t.Fatal(err)
	}
	return got
}

// startReplica runs another `webhook serve` beside the suite's (the API
// server keeps calling the suite's one) with its metrics served, and stops
// it at the end of the test, showing its log if the test failed.
func startReplica(t *testing.T, extraArgs ...string) (hook *framework.Webhook, metricsAddr string, logs *framework.SyncBuffer) {
	t.Helper()
	metricsAddr, err := framework.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	port, err := framework.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	_, p, _ := strings.Cut(port, ":")
	logs = &framework.SyncBuffer{}
	args := append([]string{"--port", p, "--metrics-bind-address", metricsAddr}, extraArgs...)
	if hook, err = framework.StartWebhook(context.Background(), binary, cluster, logs, args...); err != nil {
		t.Fatalf("replica: %v\n%s", err, logs.String())
	}
	t.Cleanup(func() {
		if err := hook.Stop(); err != nil {
			t.Errorf("replica did not stop within 30s of SIGTERM: %v", err)
		}
		if t.Failed() {
			t.Log(logs.String())
		}
	})
	return hook, metricsAddr, logs
}
