package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"

	"io"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	orv1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ws-defaults/ws-defaults/test/framework"
)

// auditJSON is `webhook audit -o json`'s shape (check's).
type auditJSON struct {
	Results []struct {
		Source     string           `json:"source"`
		Kind       string           `json:"kind"`
		Namespace  string           `json:"namespace"`
		Name       string           `json:"name"`
		Controller string           `json:"controller"`
		OptedIn    bool             `json:"optedIn"`
		Patch      []map[string]any `json:"patch"`
		Violations []struct {
			Rule, Action, Severity, Field, Message string
		} `json:"violations"`
	} `json:"results"`
	Summary struct{ Objects, Mutated, Denied, Warned int } `json:"summary"`
}

func reportsClient(t *testing.T) client.Client {
	t.Helper()
	s := runtime.NewScheme()
	if err := orv1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cluster.Config, client.Options{Scheme: s})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// metric reads one sample (name with labels, as printed) from a
// /metrics endpoint; "" when absent.
func metric(addr, name string) string {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, name+" ") {
			return strings.TrimPrefix(l, name+" ")
		}
	}
	return ""
}

// TestAudit: objects that exist before the webhook judged them (created
// under a policy with the snippet rule off, and before their namespace
// opted in) are found by `webhook audit` and by the serve loop, which
// writes one Report per object with findings and none for clean ones,
// rewrites nothing on an unchanged pass, and deletes a Report once its
// object is fixed.
func TestAudit(t *testing.T) {
	ctx := context.Background()
	t.Cleanup(func() { deletePolicy(t) })
	// The rule is off while the objects are created, as if it had been
	// tightened since.
	mustApplyPolicy(t, "audit: {interval: 10s}\nrules:\n  nginx-snippet-annotation: {action: \"off\"}")
	waitReady(t, "True")
	namespace(t, "audit-e2e", nil)
	namespace(t, "audit-clean", nil)
	drift := create(t, tlsIngress("audit-e2e", "drift", ""))
	snippet := create(t, tlsIngress("audit-e2e", "snippet", `nginx.ingress.kubernetes.io/server-snippet: "return 200;"`))
	clean := create(t, tlsIngress("audit-clean", "plain", ""))
	if len(drift.GetAnnotations()) != 0 {
		t.Fatalf("the webhook mutated an Ingress in a namespace not opted in: %v", drift.GetAnnotations())
	}
	// Opt the namespace in after the fact, and tighten the rule again.
	ns := &unstructured.Unstructured{}
	ns.SetAPIVersion("v1")
	ns.SetKind("Namespace")
	ns.SetName("audit-e2e")
	if err := cluster.Client.Patch(ctx, ns, client.RawPatch("application/merge-patch+json", []byte(`{"metadata":{"labels":{"ws-defaults":"enabled"}}}`))); err != nil {
		t.Fatal(err)
	}
	mustApplyPolicy(t, "audit: {interval: 10s}")
	waitReady(t, "True")

	t.Run("webhook audit", func(t *testing.T) {
		cmd := exec.Command(binary, "audit", "--kubeconfig", cluster.Kubeconfig, "-n", "audit-e2e", "-n", "audit-clean", "-o", "json")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 {
			t.Fatalf("exit %v, want 1 (a deny finding)\n%s\n%s", err, stderr.String(), stdout.String())
		}
		var out auditJSON
		if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
			t.Fatalf("%v\n%s", err, stdout.String())
		}
		found := map[string]map[string]string{} // name -> rule -> action
		patched := map[string]bool{}
		for _, r := range out.Results {
			if r.Source != "cluster" {
				t.Errorf("%s: source %q", r.Name, r.Source)
			}
			found[r.Namespace+"/"+r.Name] = map[string]string{}
			for _, v := range r.Violations {
				found[r.Namespace+"/"+r.Name][v.Rule] = v.Action
			}
			patched[r.Namespace+"/"+r.Name] = len(r.Patch) > 0
		}
		if found["audit-e2e/drift"][ruleDefaultsMissing] != "warn" || !patched["audit-e2e/drift"] {
			t.Errorf("drift: findings %v, patch %v; want defaults-missing (warn) and a patch", found["audit-e2e/drift"], patched["audit-e2e/drift"])
		}
		if found["audit-e2e/snippet"]["nginx-snippet-annotation"] != "deny" {
			t.Errorf("snippet: findings %v; want nginx-snippet-annotation (deny)", found["audit-e2e/snippet"])
		}
		if f, ok := found["audit-clean/plain"]; !ok || len(f) != 0 || patched["audit-clean/plain"] {
			t.Errorf("audit-clean/plain: listed %v, findings %v; want listed and clean", ok, f)
		}
		if out.Summary.Objects != 3 || out.Summary.Denied != 1 {
			t.Errorf("summary %+v", out.Summary)
		}
		// -o jsonl: the same results, one a line in the same (list) order,
		// then the summary; -o json streams them in that order too.
		lines := exec.Command(binary, "audit", "--kubeconfig", cluster.Kubeconfig, "-n", "audit-e2e", "-n", "audit-clean", "-o", "jsonl")
		var jsonl bytes.Buffer
		lines.Stdout, lines.Stderr = &jsonl, &stderr
		if err := lines.Run(); !errors.As(err, &exit) || exit.ExitCode() != 1 {
			t.Fatalf("-o jsonl: exit %v, want 1\n%s", err, stderr.String())
		}
		ls := strings.Split(strings.TrimSuffix(jsonl.String(), "\n"), "\n")
		if len(ls) != len(out.Results)+1 {
			t.Fatalf("-o jsonl: %d lines, want %d results and a summary:\n%s", len(ls), len(out.Results), jsonl.String())
		}
		for i, r := range out.Results {
			var line struct{ Namespace, Name string }
			if err := json.Unmarshal([]byte(ls[i]), &line); err != nil || line.Namespace != r.Namespace || line.Name != r.Name {
				t.Errorf("-o jsonl line %d: %s (%v), want %s/%s", i, ls[i], err, r.Namespace, r.Name)
			}
		}
		var sum struct {
			Summary struct{ Objects, Denied int }
		}
		if err := json.Unmarshal([]byte(ls[len(ls)-1]), &sum); err != nil || sum.Summary.Objects != out.Summary.Objects || sum.Summary.Denied != out.Summary.Denied {
			t.Errorf("-o jsonl summary line %s (%v), want %+v", ls[len(ls)-1], err, out.Summary)
		}
		// Bad flags are exit 2.
		if err := exec.Command(binary, "audit", "--kubeconfig", cluster.Kubeconfig, "-o", "yaml").Run(); !errors.As(err, &exit) || exit.ExitCode() != 2 {
			t.Errorf("-o yaml: %v, want exit 2", err)
		}
	})

	t.Run("serve loop", func(t *testing.T) {
		// A replica of our own, to read its metrics; the suite's webhook
		// runs the loop too, and writes the same Reports.
		_, metricsAddr, logs2 := startReplica(t)
		rc := reportsClient(t)
		get := func(u *unstructured.Unstructured) (*orv1.Report, error) {
			var r orv1.Report
			err := rc.Get(ctx, client.ObjectKey{Namespace: u.GetNamespace(), Name: "ws-defaults-" + string(u.GetUID())}, &r)
			return &r, err
		}
		// lastRun waits for the replica's next complete pass.
		lastRun := func() float64 {
			v, _ := strconv.ParseFloat(metric(metricsAddr, "ws_defaults_audit_last_run_timestamp_seconds"), 64)
			return v
		}
		nextPass := func() {
			t.Helper()
			before := lastRun()
			deadline := time.Now().Add(45 * time.Second)
			for lastRun() <= before {
				if time.Now().After(deadline) {
					t.Fatalf("no audit pass within 45s\n%s", logs2.String())
				}
				time.Sleep(200 * time.Millisecond)
			}
		}
		nextPass()

		for _, u := range []*unstructured.Unstructured{drift, snippet} {
			r, err := get(u)
			if err != nil {
				t.Fatalf("report for %s: %v", u.GetName(), err)
			}
			if r.Labels["app.kubernetes.io/managed-by"] != "ws-defaults" || r.Source != "ws-defaults" {
				t.Errorf("%s: labels %v source %q", r.Name, r.Labels, r.Source)
			}
			if len(r.OwnerReferences) != 1 || r.OwnerReferences[0].UID != u.GetUID() || r.OwnerReferences[0].Kind != "Ingress" {
				t.Errorf("%s: ownerReferences %+v", r.Name, r.OwnerReferences)
			}
			if r.Scope == nil || r.Scope.Name != u.GetName() || r.Scope.UID != u.GetUID() {
				t.Errorf("%s: scope %+v", r.Name, r.Scope)
			}
		}
		rules := func(r *orv1.Report) map[string]string {
			m := map[string]string{}
			for _, res := range r.Results {
				m[res.Rule] = string(res.Result) + "/" + res.Properties["action"]
			}
			return m
		}
		dr, _ := get(drift)
		if rules(dr)[ruleDefaultsMissing] != "warn/warn" {
			t.Errorf("drift report results %v", rules(dr))
		}
		sr, _ := get(snippet)
		if rules(sr)["nginx-snippet-annotation"] != "fail/deny" || sr.Summary.Fail < 1 {
			t.Errorf("snippet report results %v summary %+v", rules(sr), sr.Summary)
		}
		if _, err := get(clean); !apierrors.IsNotFound(err) {
			t.Errorf("a clean object has a report: %v", err)
		}

		// An unchanged pass rewrites nothing.
		writes := metric(metricsAddr, `ws_defaults_audit_report_writes_total{operation="create"}`)
		nextPass()
		dr2, _ := get(drift)
		sr2, _ := get(snippet)
		if dr2.ResourceVersion != dr.ResourceVersion || sr2.ResourceVersion != sr.ResourceVersion {
			t.Errorf("an unchanged pass rewrote reports: %s→%s, %s→%s", dr.ResourceVersion, dr2.ResourceVersion, sr.ResourceVersion, sr2.ResourceVersion)
		}
		if w := metric(metricsAddr, `ws_defaults_audit_report_writes_total{operation="create"}`); w != writes {
			t.Errorf("creates went from %q to %q on an unchanged pass", writes, w)
		}
		for _, m := range []string{`ws_defaults_audit_objects{kind="Ingress"}`, `ws_defaults_audit_findings{action="deny",rule="nginx-snippet-annotation"}`, "ws_defaults_audit_duration_seconds_count"} {
			if metric(metricsAddr, m) == "" {
				t.Errorf("metric %s absent", m)
			}
		}

		// Fixing the objects removes their Reports: the snippet goes, and
		// any update of the drifted Ingress gets it the defaults.
		cur := stored(t, snippet)
		ann := cur.GetAnnotations()
		delete(ann, "nginx.ingress.kubernetes.io/server-snippet")
		cur.SetAnnotations(ann)
		if err := cluster.Client.Update(ctx, cur); err != nil {
			t.Fatal(err)
		}
		cur = stored(t, drift)
		cur.SetLabels(map[string]string{"fixed": "yes"})
		if err := cluster.Client.Update(ctx, cur); err != nil {
			t.Fatal(err)
		}
		nextPass()
		for _, u := range []*unstructured.Unstructured{drift, snippet} {
			if r, err := get(u); !apierrors.IsNotFound(err) {
				t.Errorf("%s fixed, its report is still there: %v %v", u.GetName(), err, rules(r))
			}
		}
	})
}

const ruleDefaultsMissing = "defaults-missing"

// tlsIngress is an ingress-nginx Ingress with TLS (so tls-required, a warn
// rule for opted-in objects, stays quiet), a WebSocket path (so nothing
// asks for the evidence annotation) and the given annotations.
func tlsIngress(namespace, name, annotations string) string {
	doc := strings.Replace(ingress(namespace, name, "edge", ""), "      - path: /\n", "      - path: /ws\n", 1) +
		"  tls:\n  - hosts: [ws.example.com]\n    secretName: ws-tls\n"
	return strings.Replace(doc, "  labels: {}\n", "  labels: {}\n  annotations: {"+annotations+"}\n", 1)
}

// TestAuditLeaderOnly: of two replicas with --leader-elect, only the
// leader audits; it stops on SIGTERM within the graceful period, and the
// other takes over the audit.
func TestAuditLeaderOnly(t *testing.T) {
	ctx := context.Background()
	ns := &unstructured.Unstructured{}
	ns.SetAPIVersion("v1")
	ns.SetKind("Namespace")
	ns.SetName("ws-defaults") // the lease's namespace (--namespace)
	if err := cluster.Client.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	type replica struct {
		hook    *framework.Webhook
		metrics string
		logs    *framework.SyncBuffer
	}
	start := func() *replica {
		r := &replica{}
		r.hook, r.metrics, r.logs = startReplica(t, "--leader-elect")
		return r
	}
	audited := func(r *replica) bool {
		v, _ := strconv.ParseFloat(metric(r.metrics, "ws_defaults_audit_last_run_timestamp_seconds"), 64)
		return v > 0
	}
	a, b := start(), start()
	stopped := map[*replica]bool{}
	defer func() {
		for _, r := range []*replica{a, b} {
			if !stopped[r] {
				_ = r.hook.Stop()
			}
			if t.Failed() {
				t.Log(r.logs.String())
			}
		}
	}()
	deadline := time.Now().Add(45 * time.Second)
	for !audited(a) && !audited(b) {
		if time.Now().After(deadline) {
			t.Fatal("neither replica audited within 45s")
		}
		time.Sleep(200 * time.Millisecond)
	}
	leader, follower := a, b
	if audited(b) {
		leader, follower = b, a
	}
	if audited(follower) || strings.Contains(follower.logs.String(), "audit pass done") {
		t.Fatal("both replicas audited")
	}
	stopAt := time.Now()
	if err := leader.hook.Stop(); err != nil {
		t.Fatalf("the leader did not stop on SIGTERM: %v", err)
	}
	stopped[leader] = true
	t.Logf("leader stopped %s after SIGTERM", time.Since(stopAt).Round(time.Millisecond))
	deadline = time.Now().Add(60 * time.Second)
	for !audited(follower) {
		if time.Now().After(deadline) {
			t.Fatal("the other replica did not take over the audit within 60s")
		}
		time.Sleep(200 * time.Millisecond)
	}
}
