package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/ws-defaults/ws-defaults/test/framework"
	"github.com/ws-defaults/ws-defaults/webhook/registration"
)

var policyGVK = schema.GroupVersionKind{Group: "ws-defaults.io", Version: "v1alpha1", Kind: "WebSocketPolicy"}

// applyPolicy creates or replaces the spec of WebSocketPolicy "default"
// and returns the stored object (its generation).
func applyPolicy(t *testing.T, spec string) (*unstructured.Unstructured, error) {
	t.Helper()
	ctx := context.Background()
	u := object("apiVersion: ws-defaults.io/v1alpha1\nkind: WebSocketPolicy\nmetadata: {name: default}\nspec:\n" + indent(spec))
	// The webhook's status writer updates the object too: retry an update
	// that lost that race, as kubectl apply would.
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur := &unstructured.Unstructured{}
		cur.SetGroupVersionKind(policyGVK)
		err := cluster.Client.Get(ctx, client.ObjectKey{Name: "default"}, cur)
		switch {
		case apierrors.IsNotFound(err):
			return cluster.Client.Create(ctx, u)
		case err != nil:
			return err
		}
		cur.Object["spec"] = u.Object["spec"]
		if err := cluster.Client.Update(ctx, cur); err != nil {
			return err
		}
		u = cur
		return nil
	})
	return u, err
}

func mustApplyPolicy(t *testing.T, spec string) int64 {
	t.Helper()
	u, err := applyPolicy(t, spec)
	if err != nil {
		t.Fatalf("applying policy: %v", err)
	}
	return u.GetGeneration()
}

func deletePolicy(t *testing.T) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(policyGVK)
	u.SetName("default")
	if err := cluster.Client.Delete(context.Background(), u); err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("deleting policy: %v", err)
	}
}

func indent(s string) string {
	if strings.TrimSpace(s) == "" {
		return "  {}\n"
	}
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}

// dryRun sends doc through admission without storing it and returns what
// would be stored, or the denial.
func dryRun(doc string) (*unstructured.Unstructured, []string, error) {
	u := object(doc)
	w := &warnings{}
	cfg := rest.CopyConfig(cluster.Config)
	cfg.WarningHandler = w
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return nil, nil, err
	}
	err = c.Create(context.Background(), u, client.DryRunAll)
	return u, w.list, err
}

// eventually polls cond every 20 ms for up to 15 s and returns how long it
// took to hold.
func eventually(t *testing.T, what string, cond func() (bool, string)) time.Duration {
	t.Helper()
	start := time.Now()
	last := ""
	for time.Since(start) < 15*time.Second {
		ok, state := cond()
		if ok {
			return time.Since(start)
		}
		last = state
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: not within 15s; last: %s", what, last)
	return 0
}

// readTimeout is what the webhook adds as proxy-read-timeout to a new
// ingress-nginx Ingress in namespace ns.
func readTimeout(ns string) (string, error) {
	u, _, err := dryRun(ingress(ns, "probe", "nginx", ""))
	if err != nil {
		return "", err
	}
	return u.GetAnnotations()[nginx+"proxy-read-timeout"], nil
}

func waitTimeout(t *testing.T, ns, want string) time.Duration {
	t.Helper()
	return eventually(t, "proxy-read-timeout "+want, func() (bool, string) {
		got, err := readTimeout(ns)
		return err == nil && got == want, fmt.Sprintf("%q %v", got, err)
	})
}

func readyCondition(t *testing.T) (status, reason, message string, observed, conditionGeneration, generation int64) {
	t.Helper()
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(policyGVK)
	if err := cluster.Client.Get(context.Background(), client.ObjectKey{Name: "default"}, u); err != nil {
		t.Fatal(err)
	}
	observed, _, _ = unstructured.NestedInt64(u.Object, "status", "observedGeneration")
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m := c.(map[string]any)
		if m["type"] == "Ready" {
			g, _ := m["observedGeneration"].(int64)
			return fmt.Sprint(m["status"]), fmt.Sprint(m["reason"]), fmt.Sprint(m["message"]), observed, g, u.GetGeneration()
		}
	}
	return "", "", "", observed, 0, u.GetGeneration()
}

func waitReady(t *testing.T, wantStatus string) {
	t.Helper()
	eventually(t, "Ready="+wantStatus, func() (bool, string) {
		s, r, m, observed, cg, g := readyCondition(t)
		return s == wantStatus && observed == g && cg == g, fmt.Sprintf("%s %s %q observed %d/%d of %d", s, r, m, observed, cg, g)
	})
}

// TestClusterPolicy is the policy's life through the API server: applied
// and in effect within moments, rule actions changed, a namespace
// excluded, invalid generations refused at apply with the field named and
// the previous policy kept, and deletion back to the built-ins.
func TestClusterPolicy(t *testing.T) {
	namespace(t, "pol", map[string]string{"ws-defaults": "enabled"})
	namespace(t, "pol-plain", nil)
	t.Cleanup(func() { deletePolicy(t) })
	waitTimeout(t, "pol", "3600")

	t.Run("applied within seconds, Ready with observedGeneration", func(t *testing.T) {
		mustApplyPolicy(t, "mutation: {idleTimeoutSeconds: 7200}")
		d := waitTimeout(t, "pol", "7200")
		t.Logf("reload latency (apply to first request using the new value): %v", d)
		fmt.Fprintf(os.Stderr, "e2e: policy reload latency %v\n", d)
		waitReady(t, "True")
	})

	snippet := ing("snip", `nginx.ingress.kubernetes.io/server-snippet: "return 200;"`, "  ingressClassName: nginx\n")
	snippet = strings.Replace(snippet, "  name: snip\n", "  name: snip\n  namespace: pol-plain\n", 1)
	verdict := func() (bool, string) {
		_, w, err := dryRun(snippet)
		switch {
		case err != nil && strings.Contains(err.Error(), "nginx-snippet-annotation"):
			return false, "deny"
		case err != nil:
			return false, "error: " + err.Error()
		case strings.Contains(strings.Join(w, "\n"), "nginx-snippet-annotation"):
			return true, "warn"
		default:
			return true, "allow"
		}
	}
	for _, step := range []struct{ spec, want string }{
		{"mutation: {idleTimeoutSeconds: 7200}\nrules: {nginx-snippet-annotation: {action: warn}}", "warn"},
		{"mutation: {idleTimeoutSeconds: 7200}\nrules: {nginx-snippet-annotation: {action: \"off\"}}", "allow"},
		{"mutation: {idleTimeoutSeconds: 7200}\nrules: {nginx-snippet-annotation: {action: audit}}", "allow"},
		// pol-plain did not opt in: the rule's deny acts as
		// spec.enforcement.outsideOptIn, warn unless the policy says more.
		{"mutation: {idleTimeoutSeconds: 7200}", "warn"},
		{"mutation: {idleTimeoutSeconds: 7200}\nenforcement: {outsideOptIn: deny}", "deny"},
		{"mutation: {idleTimeoutSeconds: 7200}\nenforcement: {outsideOptIn: \"off\"}", "allow"},
	} {
		t.Run("rule action "+step.want, func(t *testing.T) {
			mustApplyPolicy(t, step.spec)
			eventually(t, "snippet "+step.want, func() (bool, string) {
				_, got := verdict()
				return got == step.want, got
			})
		})
	}

	t.Run("excluded namespace", func(t *testing.T) {
		mustApplyPolicy(t, "mutation: {idleTimeoutSeconds: 7200}\nexcludedNamespaces: [pol]")
		waitTimeout(t, "pol", "")
		mustApplyPolicy(t, "mutation: {idleTimeoutSeconds: 7200}")
		waitTimeout(t, "pol", "7200")
		waitReady(t, "True")
	})

	for _, bad := range []struct{ name, spec, field string }{
		{"unknown rule id", "rules: {no-such-rule: {action: warn}}", "spec.rules[no-such-rule]"},
		// The CRD's schema answers first, with its own path notation.
		{"action not in the enum", "rules: {tls-required: {action: block}}", "spec.rules.tls-required.action: Unsupported value"},
		{"enforcement not in the enum", "enforcement: {outsideOptIn: block}", "spec.enforcement.outsideOptIn: Unsupported value"},
		{"idle timeout out of range", "mutation: {idleTimeoutSeconds: 0}", "spec.mutation.idleTimeoutSeconds"},
		{"ClientIP timeout out of range", "mutation: {serviceAffinity: {timeoutSeconds: 90000}}", "spec.mutation.serviceAffinity.timeoutSeconds"},
		{"cookie name ingress-nginx would replace", "mutation: {affinity: {cookieName: \"ws;x\"}}", "spec.mutation.affinity.cookieName"},
	} {
		t.Run("refused at apply: "+bad.name, func(t *testing.T) {
			_, err := applyPolicy(t, bad.spec)
			if err == nil {
				t.Fatal("invalid policy stored")
			}
			if !strings.Contains(err.Error(), bad.field) {
				t.Errorf("error does not name %s: %v", bad.field, err)
			}
			if got, err := readTimeout("pol"); err != nil || got != "7200" {
				t.Errorf("previous policy not in effect: %q %v", got, err)
			}
		})
	}

	t.Run("a policy not named default is refused", func(t *testing.T) {
		u := object("apiVersion: ws-defaults.io/v1alpha1\nkind: WebSocketPolicy\nmetadata: {name: other}\nspec: {}\n")
		err := cluster.Client.Create(context.Background(), u)
		if err == nil {
			_ = cluster.Client.Delete(context.Background(), u)
			t.Fatal("stored")
		}
		if !strings.Contains(err.Error(), "default") {
			t.Errorf("error does not say the name must be default: %v", err)
		}
	})

	t.Run("deleted: built-in values", func(t *testing.T) {
		deletePolicy(t)
		waitTimeout(t, "pol", "3600")
	})
}

// TestInvalidPolicyStoredAnyway: with the policy webhook out of the way (as
// when ws-defaults is down), an invalid generation can be stored; every
// replica keeps the last good policy and Ready turns False with the reason.
func TestInvalidPolicyStoredAnyway(t *testing.T) {
	ctx := context.Background()
	namespace(t, "pol-stored", map[string]string{"ws-defaults": "enabled"})
	t.Cleanup(func() { deletePolicy(t) })
	mustApplyPolicy(t, "mutation: {idleTimeoutSeconds: 5400}")
	waitTimeout(t, "pol-stored", "5400")

	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	if err := cluster.Client.Get(ctx, client.ObjectKey{Name: registration.ValidatingName}, vwc); err != nil {
		t.Fatal(err)
	}
	saved := vwc.DeepCopy()
	var kept []admissionregistrationv1.ValidatingWebhook
	for _, w := range vwc.Webhooks {
		if w.ClientConfig.URL == nil || !strings.HasSuffix(*w.ClientConfig.URL, registration.PolicyValidatePath) {
			kept = append(kept, w)
		}
	}
	if len(kept) == len(vwc.Webhooks) {
		t.Fatal("no policy webhook registered")
	}
	vwc.Webhooks = kept
	if err := cluster.Client.Update(ctx, vwc); err != nil {
		t.Fatal(err)
	}
	restore := func() {
		cur := &admissionregistrationv1.ValidatingWebhookConfiguration{}
		if err := cluster.Client.Get(ctx, client.ObjectKey{Name: registration.ValidatingName}, cur); err != nil {
			t.Fatal(err)
		}
		cur.Webhooks = saved.Webhooks
		if err := cluster.Client.Update(ctx, cur); err != nil {
			t.Fatal(err)
		}
	}
	defer restore()
	// The API server's configuration cache follows within moments.
	eventually(t, "invalid policy stored", func() (bool, string) {
		_, err := applyPolicy(t, "mutation: {idleTimeoutSeconds: 5400}\nrules: {no-such-rule: {action: warn}}")
		return err == nil, fmt.Sprint(err)
	})
	waitReady(t, "False")
	_, reason, message, _, _, _ := readyCondition(t)
	if reason != "Invalid" || !strings.Contains(message, "spec.rules[no-such-rule]") || !strings.Contains(message, "stays in effect") {
		t.Errorf("Ready condition reason %q message %q", reason, message)
	}
	if got, err := readTimeout("pol-stored"); err != nil || got != "5400" {
		t.Errorf("last good policy not kept: %q %v", got, err)
	}
	// The next valid generation is applied again.
	restore()
	eventually(t, "valid policy after an invalid one", func() (bool, string) {
		_, err := applyPolicy(t, "mutation: {idleTimeoutSeconds: 4500}")
		return err == nil, fmt.Sprint(err)
	})
	waitTimeout(t, "pol-stored", "4500")
	waitReady(t, "True")
}

// TestSecondReplicaAppliesPolicy runs a second `webhook serve` beside the
// first: both apply each change (the second shows it in its metrics; the
// API server only calls the first).
func TestSecondReplicaAppliesPolicy(t *testing.T) {
	namespace(t, "pol-two", map[string]string{"ws-defaults": "enabled"})
	t.Cleanup(func() { deletePolicy(t) })
	_, metricsAddr, logs2 := startReplica(t)
	gauge := func() string {
		resp, err := http.Get("http://" + metricsAddr + "/metrics")
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "ws_defaults_policy_generation ") {
				return strings.TrimPrefix(l, "ws_defaults_policy_generation ")
			}
		}
		return "absent"
	}
	for _, idle := range []string{"1800", "2700"} {
		gen := mustApplyPolicy(t, "mutation: {idleTimeoutSeconds: "+idle+"}")
		waitTimeout(t, "pol-two", idle)
		eventually(t, "second replica at generation "+fmt.Sprint(gen), func() (bool, string) {
			g := gauge()
			return g == fmt.Sprint(gen), g
		})
	}
	if !strings.Contains(logs2.String(), "WebSocketPolicy applied") {
		t.Error("second replica did not log the applied policy")
	}
}

// TestPolicyChurnLosesNoCreate changes the policy five times while creates
// run continuously: not one create fails.
func TestPolicyChurnLosesNoCreate(t *testing.T) {
	namespace(t, "pol-churn", map[string]string{"ws-defaults": "enabled"})
	t.Cleanup(func() { deletePolicy(t) })
	ctx, cancel := context.WithCancel(context.Background())
	var created, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				u := object(ingress("pol-churn", fmt.Sprintf("churn-%d-%d", w, i), "nginx", ""))
				if err := cluster.Client.Create(context.Background(), u); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				created.Add(1)
			}
		}()
	}
	for i, idle := range []string{"3700", "3800", "3900", "4000", "4100"} {
		mustApplyPolicy(t, fmt.Sprintf("mutation: {idleTimeoutSeconds: %s}\nrules: {tls-required: {action: %q}}", idle, []string{"warn", "audit", "off", "warn", "audit"}[i]))
		waitTimeout(t, "pol-churn", idle)
	}
	cancel()
	wg.Wait()
	if failed.Load() != 0 {
		t.Errorf("%d of %d creates failed while the policy changed; first: %v", failed.Load(), created.Load()+failed.Load(), firstErr.Load())
	}
	if created.Load() < 10 {
		t.Errorf("only %d creates ran", created.Load())
	}
	t.Logf("%d creates, none failed, across 5 policy changes", created.Load())
}

// TestCheckAgreesWithCluster feeds one policy and one set of objects to
// `webhook check --policy` and to the cluster: the same settings are added
// and the same rules fire.
func TestCheckAgreesWithCluster(t *testing.T) {
	namespace(t, "pol-check", map[string]string{"ws-defaults": "enabled"})
	t.Cleanup(func() { deletePolicy(t) })
	spec := "mutation: {idleTimeoutSeconds: 5000, affinity: {cookieName: agree}}\nrules: {tls-required: {action: audit}, nginx-connect-timeout-range: {action: deny}}\n"
	gen := mustApplyPolicy(t, spec)
	waitTimeout(t, "pol-check", "5000")
	_ = gen

	objs := []string{
		ingress("pol-check", "agree-a", "nginx", ""),
		strings.Replace(ing("agree-b", `nginx.ingress.kubernetes.io/proxy-connect-timeout: "3600"`, "  ingressClassName: nginx\n"+tlsSpec), "  name: agree-b\n", "  name: agree-b\n  namespace: pol-check\n", 1),
		"apiVersion: v1\nkind: Service\nmetadata: {name: agree-s, namespace: pol-check}\nspec:\n  ports: [{name: websocket, port: 8080}]\n",
	}
	dir := t.TempDir()
	policyFile := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(policyFile, []byte("apiVersion: ws-defaults.io/v1alpha1\nkind: WebSocketPolicy\nmetadata: {name: default}\nspec:\n"+indent(spec)), 0o600); err != nil {
		t.Fatal(err)
	}
	input := filepath.Join(dir, "objects.yaml")
	ns := "apiVersion: v1\nkind: Namespace\nmetadata: {name: pol-check, labels: {ws-defaults: enabled}}\n"
	if err := os.WriteFile(input, []byte(ns+"---\n"+strings.Join(objs, "---\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "check", "-f", input, "--policy", policyFile, "-o", "json")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	_ = cmd.Run() // exit 1 when something is denied
	var rep struct {
		Results []struct {
			Name       string   `json:"name"`
			Added      []string `json:"added"`
			Violations []struct {
				Rule   string `json:"rule"`
				Action string `json:"action"`
			} `json:"violations"`
		} `json:"results"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("check output: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	offline := map[string][2][]string{}
	for _, r := range rep.Results[1:] {
		var rules []string
		for _, v := range r.Violations {
			if v.Action == "deny" || v.Action == "warn" {
				rules = append(rules, v.Action+" "+v.Rule)
			}
		}
		offline[r.Name] = [2][]string{r.Added, rules}
	}
	for _, doc := range objs {
		u, warns, err := dryRun(doc)
		var rules []string
		if err != nil {
			for _, l := range strings.Split(err.Error(), "\n") {
				for id := range ruleIDs(l) {
					rules = append(rules, "deny "+id)
				}
			}
		}
		for _, w := range warns {
			for id := range ruleIDs(w) {
				rules = append(rules, "warn "+id)
			}
		}
		var added []string
		if err == nil {
			added = splitList(u.GetAnnotations()["ws-defaults.io/defaulted"])
		}
		want := offline[u.GetName()]
		if err == nil && !reflect.DeepEqual(withoutDefaulted(added), withoutDefaulted(want[0])) {
			t.Errorf("%s: cluster added %v, check %v", u.GetName(), added, want[0])
		}
		if !sameSet(rules, want[1]) {
			t.Errorf("%s: cluster fired %v, check %v", u.GetName(), rules, want[1])
		}
	}
}

// ruleIDs finds "rule-id (" at the start of a denial or warning line.
func ruleIDs(line string) map[string]bool {
	out := map[string]bool{}
	line = strings.TrimPrefix(line, "ws-defaults: ")
	if i := strings.Index(line, "denied the request: "); i >= 0 {
		line = line[i+len("denied the request: "):]
	}
	if id, _, ok := strings.Cut(line, " ("); ok && !strings.ContainsAny(id, " :") {
		out[id] = true
	}
	return out
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func withoutDefaulted(l []string) []string {
	var out []string
	for _, s := range l {
		if s != "ws-defaults.io/defaulted" {
			out = append(out, s)
		}
	}
	return out
}

func sameSet(a, b []string) bool {
	m := map[string]int{}
	for _, s := range a {
		m[s]++
	}
	for _, s := range b {
		m[s]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}

// TestPolicyCRDServedAsShipped: the API server serves the CRD the chart
// ships, schema and printer columns included.
func TestPolicyCRDServedAsShipped(t *testing.T) {
	root, err := framework.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "charts", "ws-defaults", "crds", "ws-defaults.io_websocketpolicies.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var shipped apiextensionsv1.CustomResourceDefinition
	if err := yaml.UnmarshalStrict(b, &shipped); err != nil {
		t.Fatal(err)
	}
	var served apiextensionsv1.CustomResourceDefinition
	if err := cluster.Client.Get(context.Background(), client.ObjectKey{Name: shipped.Name}, &served); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(served.Spec.Versions, shipped.Spec.Versions) || served.Spec.Scope != shipped.Spec.Scope || served.Spec.Names.Kind != shipped.Spec.Names.Kind {
		t.Error("the served CRD differs from charts/ws-defaults/crds")
	}
}

const teamRule = `package wsdefaults.custom.team_max_cookie_age

import data.wsdefaults.lib

violation contains {"field": f, "message": m} if {
  v := lib.nginx_annotations["session-cookie-max-age"]
  to_number(v) > 86400
  f := lib.annotation_field(concat("", [lib.nginx, "session-cookie-max-age"]))
  m := sprintf("cookie max age %v is above a day: set it to 86400 or less", [v])
}
`

// customRulesSpec is a policy spec holding the given custom rules (id,
// action, rego).
func customRulesSpec(rules ...[3]string) string {
	var b strings.Builder
	b.WriteString("customRules:\n")
	for _, r := range rules {
		b.WriteString("- id: " + r[0] + "\n  action: " + r[1] + "\n  scope: cluster\n  rego: |\n")
		for _, l := range strings.Split(strings.TrimRight(r[2], "\n"), "\n") {
			b.WriteString("    " + l + "\n")
		}
	}
	return b.String()
}

// TestCustomRules: a team's rule applied through the policy denies through
// the API server with its id and message; broken rules are refused at
// apply with the position named and the working rule stays; a rule that
// would run for minutes cannot hold a create past the webhook's timeout.
func TestCustomRules(t *testing.T) {
	namespace(t, "custom", map[string]string{"ws-defaults": "enabled"})
	t.Cleanup(func() { deletePolicy(t) })
	cookie := func(age string) string {
		return strings.Replace(ing("team", `nginx.ingress.kubernetes.io/session-cookie-max-age: "`+age+`"`, "  ingressClassName: nginx\n"+tlsSpec),
			"  name: team\n", "  name: team\n  namespace: custom\n", 1)
	}
	denied := func() (bool, string) {
		_, _, err := dryRun(cookie("604800"))
		return err != nil && strings.Contains(err.Error(), "team-max-cookie-age (metadata.annotations[nginx.ingress.kubernetes.io/session-cookie-max-age]): cookie max age 604800 is above a day"), fmt.Sprint(err)
	}
	mustApplyPolicy(t, customRulesSpec([3]string{"team-max-cookie-age", "deny", teamRule}))
	eventually(t, "custom rule denies", denied)
	if _, _, err := dryRun(cookie("3600")); err != nil {
		t.Errorf("a compliant object was refused: %v", err)
	}

	for _, bad := range []struct{ name, rego, want string }{
		{"syntax error", "package wsdefaults.custom.broken\n\nviolation contains {\"field\": \"f\" if {\n", "spec.customRules[1].rego: 3:"},
		{"http.send", "package wsdefaults.custom.exfil\n\nviolation contains {\"field\": \"f\", \"message\": r.body} if {\n  r := http.send({\"method\": \"GET\", \"url\": \"http://example.com\"})\n}\n", "spec.customRules[1].rego: 4:8: undefined function http.send"},
	} {
		t.Run("refused: "+bad.name, func(t *testing.T) {
			_, err := applyPolicy(t, customRulesSpec([3]string{"team-max-cookie-age", "deny", teamRule}, [3]string{"broken", "warn", bad.rego}))
			if err == nil || !strings.Contains(err.Error(), bad.want) {
				t.Fatalf("error %v, want %q", err, bad.want)
			}
			if ok, state := denied(); !ok {
				t.Errorf("the working custom rule stopped working: %s", state)
			}
		})
	}

	t.Run("a slow rule cannot hold a create", func(t *testing.T) {
		slow := "package wsdefaults.custom.slow\n\nviolation contains {\"field\": \"spec\", \"message\": \"never\"} if {\n  some a in numbers.range(1, 100000)\n  some b in numbers.range(1, 100000)\n  a * b == -1\n}\n"
		mustApplyPolicy(t, customRulesSpec([3]string{"slow", "deny", slow}))
		eventually(t, "slow rule in effect", func() (bool, string) {
			_, w, err := dryRun(cookie("3600"))
			return err == nil && strings.Contains(strings.Join(w, "\n"), "rule slow not evaluated"), fmt.Sprint(w, err)
		})
		start := time.Now()
		_, w, err := dryRun(cookie("3600"))
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("create took %v", took)
		}
		if err != nil || !strings.Contains(strings.Join(w, "\n"), "rule slow not evaluated") {
			t.Errorf("err %v warnings %v", err, w)
		}
	})
}
