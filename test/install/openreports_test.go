package install

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	orv1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
	"github.com/ws-defaults/ws-defaults/webhook/audit"
	"github.com/ws-defaults/ws-defaults/webhook/check"
)

var openReportsCRDs = []string{"openreports.io_reports.yaml", "openreports.io_clusterreports.yaml"}

// TestOpenReportsCRDs: the chart's crds/ carries the OpenReports CRDs
// byte for byte as the module go.mod pins ships them (`make manifests`
// copies them), and the real API server (which installed crds/) accepts a
// Report as the audit builds it, written as the chart's ServiceAccount.
func TestOpenReportsCRDs(t *testing.T) {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/openreports/reports-api")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	modDir := strings.TrimSpace(string(out))
	for _, f := range openReportsCRDs {
		want, err := os.ReadFile(filepath.Join(modDir, "config", "crd", f))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(root, "charts", "ws-defaults", "crds", f))
		if err != nil {
			t.Fatalf("%v: run make manifests", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("charts/ws-defaults/crds/%s differs from the module's: run make manifests", f)
		}
	}

	c := cluster(t)
	r := defaultRelease
	ensureNamespace(t, r.namespace)
	m := helmTemplate(t, r)
	applyRBAC(t, m)
	sa := m.one(t, "ServiceAccount").GetName()
	cfg := rest.CopyConfig(c.Config)
	u := serviceAccountUser(r.namespace, sa)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: u.Name, Groups: u.Groups}
	s := runtime.NewScheme()
	if err := orv1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	as, err := client.New(cfg, client.Options{Scheme: s})
	if err != nil {
		t.Fatal(err)
	}
	o := &audit.Object{
		Ref: corev1.ObjectReference{APIVersion: "networking.k8s.io/v1", Kind: "Ingress", Namespace: r.namespace, Name: "x", UID: "00000000-0000-0000-0000-000000000001"},
		Result: check.Result{Violations: []check.Violation{
			{Rule: "nginx-snippet-annotation", Action: v1alpha1.ActionDeny, Severity: "critical", Field: "metadata.annotations[a]", Message: "m"},
			audit.DefaultsMissing(nil, []string{"nginx.ingress.kubernetes.io/proxy-read-timeout"}),
		}},
	}
	rep := audit.BuildReport(o, time.Now(), 0)
	ctx := context.Background()
	if err := as.Create(ctx, rep, client.DryRunAll); err != nil {
		t.Fatalf("the API server refused the Report the audit builds: %v", err)
	}
	var list metav1.PartialObjectMetadataList
	list.SetGroupVersionKind(orv1.SchemeGroupVersion.WithKind("ReportList"))
	if err := as.List(ctx, &list, client.MatchingLabels{audit.ManagedByLabel: audit.ManagedBy}); err != nil {
		t.Errorf("listing reports as the ServiceAccount: %v", err)
	}
}
