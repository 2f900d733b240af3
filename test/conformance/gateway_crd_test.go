package conformance

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
	"github.com/ws-defaults/ws-defaults/test/framework"
	"github.com/ws-defaults/ws-defaults/webhook/evidence"
	"github.com/ws-defaults/ws-defaults/webhook/mutate"
)

// ngfDurationPattern is NGINX Gateway Fabric's Duration
// (nginx/nginx-gateway-fabric apis/v1alpha1/shared_types.go, type Duration,
// +kubebuilder:validation:Pattern; the same in the generated CRD
// config/crd/bases/gateway.nginx.org_proxysettingspolicies.yaml for
// spec.timeout.{connect,read,send}; gateway-api-websocket-facts.md §3.3).
// NGF's CRDs could not be fetched from a Go module here (the module proxy
// does not serve one whose files hold them), so unlike the Gateway API and
// Envoy Gateway patterns below it is written down rather than read from
// the CRD file.
const ngfDurationPattern = `^[0-9]{1,4}(ms|s|m|h)?$`

// crdFieldPattern reads the validation pattern of a field from a CRD file
// under .cache/crds: path walks the version's openAPIV3Schema through
// properties, "[]" stepping into a list's items.
func crdFieldPattern(t *testing.T, file, version string, path ...string) string {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var crd map[string]any
	if err := yaml.Unmarshal(raw, &crd); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	versions, _ := pathIn(crd, "spec", "versions").([]any)
	for _, v := range versions {
		vm, _ := v.(map[string]any)
		if vm["name"] != version {
			continue
		}
		cur := pathIn(vm, "schema", "openAPIV3Schema")
		for _, p := range path {
			if p == "[]" {
				cur = pathIn(cur, "items")
			} else {
				cur = pathIn(cur, "properties", p)
			}
		}
		pattern, _ := pathIn(cur, "pattern").(string)
		if pattern == "" {
			t.Fatalf("%s %s: no pattern at %s", filepath.Base(file), version, strings.Join(path, "."))
		}
		return pattern
	}
	t.Fatalf("%s: no version %s", filepath.Base(file), version)
	return ""
}

func pathIn(v any, path ...string) any {
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	return v
}

// gatewayCRDPatterns are the Gateway API Duration patterns of the fields the
// mutation writes, read from the real CRDs (framework.ModuleCRDs).
func gatewayCRDPatterns(t *testing.T) map[string]string {
	t.Helper()
	dir := filepath.Join(repoRoot(), ".cache", "crds")
	if err := framework.FetchModuleCRDs(dir); err != nil {
		t.Fatal(err)
	}
	file := func(name string) string {
		for _, c := range framework.ModuleCRDs {
			if c.Name == name {
				return filepath.Join(dir, c.Name+"_"+c.Version+".yaml")
			}
		}
		t.Fatalf("%s is not among framework.ModuleCRDs", name)
		return ""
	}
	route, btp := file("httproutes.gateway.networking.k8s.io"), file("backendtrafficpolicies.gateway.envoyproxy.io")
	return map[string]string{
		"HTTPRoute v1 spec.rules[].timeouts.request":                   crdFieldPattern(t, route, "v1", "spec", "rules", "[]", "timeouts", "request"),
		"HTTPRoute v1beta1 spec.rules[].timeouts.request":              crdFieldPattern(t, route, "v1beta1", "spec", "rules", "[]", "timeouts", "request"),
		"HTTPRoute v1 spec.rules[].timeouts.backendRequest":            crdFieldPattern(t, route, "v1", "spec", "rules", "[]", "timeouts", "backendRequest"),
		"BackendTrafficPolicy spec.timeout.http.streamIdleTimeout":     crdFieldPattern(t, btp, "v1alpha1", "spec", "timeout", "http", "streamIdleTimeout"),
		"BackendTrafficPolicy spec.timeout.http.requestTimeout (peer)": crdFieldPattern(t, btp, "v1alpha1", "spec", "timeout", "http", "requestTimeout"),
	}
}

// TestDurationFormatsMatchCRDPatterns: for every idle timeout from 1 s to
// 7 days, mutate.GatewayDuration matches the pattern of each Gateway API
// Duration field we write, read from the real HTTPRoute and Envoy Gateway
// BackendTrafficPolicy CRDs, and reads back (time.ParseDuration, which
// sums components as CEL's duration() does) to exactly the input;
// mutate.NGFDuration matches NGF's pattern and reads back to at least the
// input (rounded up where one unit cannot hold it exactly).
func TestDurationFormatsMatchCRDPatterns(t *testing.T) {
	needBinary(t)
	patterns := gatewayCRDPatterns(t)
	gateway := map[string]*regexp.Regexp{}
	for field, p := range patterns {
		if p != mutate.GatewayDurationPattern {
			t.Errorf("%s: the CRD's pattern %q differs from mutate.GatewayDurationPattern %q", field, p, mutate.GatewayDurationPattern)
		}
		gateway[field] = regexp.MustCompile(p)
	}
	if mutate.NGFDurationPattern != ngfDurationPattern {
		t.Errorf("mutate.NGFDurationPattern %q differs from NGF's %q", mutate.NGFDurationPattern, ngfDurationPattern)
	}
	ngf := regexp.MustCompile(ngfDurationPattern)
	for s := int64(1); s <= int64(v1alpha1.MaxIdleTimeoutSeconds); s++ {
		want := time.Duration(s) * time.Second
		g, ok := mutate.GatewayDuration(s)
		if !ok {
			t.Fatalf("GatewayDuration(%d): not representable", s)
		}
		for field, re := range gateway {
			if !re.MatchString(g) {
				t.Fatalf("GatewayDuration(%d) = %q does not match %s's pattern %s", s, g, field, re)
			}
		}
		if d, err := time.ParseDuration(g); err != nil || d != want {
			t.Fatalf("GatewayDuration(%d) = %q reads back as %v (%v)", s, g, d, err)
		}
		n, ok := mutate.NGFDuration(s)
		if !ok || !ngf.MatchString(n) {
			t.Fatalf("NGFDuration(%d) = %q, %v does not match NGF's pattern %s", s, n, ok, ngfDurationPattern)
		}
		if d, err := time.ParseDuration(n); err != nil || d < want {
			t.Fatalf("NGFDuration(%d) = %q reads back as %v (%v), below the input", s, n, d, err)
		}
	}
	for s, want := range map[int64]string{3600: "1h", 5400: "1h30m", 86400: "24h", 604800: "168h"} {
		if got, _ := mutate.GatewayDuration(s); got != want {
			t.Errorf("GatewayDuration(%d) = %q, want %q", s, got, want)
		}
	}
	for s, want := range map[int64]string{3600: "1h", 5400: "90m", 86400: "24h", 604800: "168h"} {
		if got, _ := mutate.NGFDuration(s); got != want {
			t.Errorf("NGFDuration(%d) = %q, want %q", s, got, want)
		}
	}
}

// gatewayFixtures are Gateway API objects served by Envoy Gateway in
// namespace ns (the GatewayClass is cluster-wide, added once): a route
// with a WebSocket rule, a REST rule, a WebSocket rule whose user-set
// backendRequest (30m) the CRD requires to be no longer than request, and
// one with the user's own request; the same route as v1beta1; a
// BackendTrafficPolicy targeting it; the backend Service.
func gatewayFixtures(ns string) []string {
	route := func(version, name string) string {
		return `apiVersion: gateway.networking.k8s.io/` + version + `
kind: HTTPRoute
metadata: {name: ` + name + `, namespace: ` + ns + `}
spec:
  parentRefs: [{name: eg}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /ws}}]
    backendRefs: [{name: chat, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /api}}]
    backendRefs: [{name: api, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /socket.io}}]
    backendRefs: [{name: chat, port: 8080}]
    timeouts: {backendRequest: 30m}
  - matches: [{path: {type: PathPrefix, value: /cable}}]
    backendRefs: [{name: chat, port: 8080}]
    timeouts: {request: 10s, backendRequest: 5s}
`
	}
	return []string{
		"apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: eg, namespace: " + ns + "}\nspec:\n  gatewayClassName: eg\n  listeners: [{name: http, port: 80, protocol: HTTP}]\n",
		route("v1", "chat"),
		route("v1beta1", "chat-beta"),
		"apiVersion: gateway.envoyproxy.io/v1alpha1\nkind: BackendTrafficPolicy\nmetadata: {name: chat, namespace: " + ns + "}\nspec:\n  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: chat}]\n  timeout: {tcp: {connectTimeout: 5s}}\n",
		"apiVersion: gateway.envoyproxy.io/v1alpha1\nkind: BackendTrafficPolicy\nmetadata: {name: chat-single, namespace: " + ns + "}\nspec:\n  targetRef: {group: gateway.networking.k8s.io, kind: HTTPRoute, name: chat-beta}\n",
		"apiVersion: v1\nkind: Service\nmetadata: {name: chat, namespace: " + ns + "}\nspec:\n  ports:\n  - {name: app, port: 8080}\n",
	}
}

// TestGatewayMutationsAcceptedByRealCRDs is the CRD tier for Gateway API:
// what `webhook check` outputs for Envoy Gateway HTTPRoutes (v1, v1beta1)
// and BackendTrafficPolicies, under each policy variant of crd_test.go and
// namespace idle timeouts from 1 s to 7 days, is created (server-side dry
// run) in a real API server holding the Gateway API and Envoy Gateway
// CRDs from their Go modules, so their patterns and CEL rules (HTTPRoute:
// backendRequest <= request) judge what we add. NGF's ProxySettingsPolicy
// and GKE's GCPBackendPolicy have no module-served CRD here; their formats
// are checked by TestDurationFormatsMatchCRDPatterns and the mutate tests.
func TestGatewayMutationsAcceptedByRealCRDs(t *testing.T) {
	needBinary(t)
	c := crdCluster(t)
	ctx := context.Background()
	dryRun := func(obj map[string]any) error {
		return c.Create(ctx, (&unstructured.Unstructured{Object: obj}).DeepCopy(), client.DryRunAll)
	}

	// The tier must be able to fail: the API server enforces the CEL rule
	// our HTTPRoute row works around.
	if err := c.Create(ctx, &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "crd-control"}}}); err != nil {
		t.Fatal(err)
	}
	var bad map[string]any
	if err := yaml.Unmarshal([]byte("apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: bad, namespace: crd-control}\nspec:\n  rules:\n  - timeouts: {request: 1h, backendRequest: 2h}\n"), &bad); err != nil {
		t.Fatal(err)
	}
	if err := dryRun(bad); err == nil || !strings.Contains(err.Error(), "backendRequest timeout cannot be longer than request timeout") {
		t.Fatalf("the HTTPRoute CRD's CEL rule is not enforced here (err %v): the tier would prove nothing", err)
	}

	created := map[string]bool{}
	checked := map[string]int{}
	for name, policy := range crdPolicies {
		docs := []string{"apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: eg}\nspec: {controllerName: " + evidence.ControllerEnvoyGateway + "}\n"}
		for _, idle := range idles {
			ns := fmt.Sprintf("gw-idle-%d", idle)
			docs = append(docs, namespace(ns, map[string]string{v1alpha1.IdleTimeoutAnnotation: strconv.Itoa(idle)}))
			docs = append(docs, gatewayFixtures(ns)...)
		}
		run := runCheck(t, policy, docs)
		run.noRuleOnInjected(t, "gateway, policy "+name)
		for _, obj := range run.Objects {
			u := &unstructured.Unstructured{Object: obj}
			if u.GetKind() == "" {
				continue
			}
			key := u.GetKind() + "/" + u.GetNamespace() + "/" + u.GetName()
			if u.GetKind() == "Namespace" {
				if !created[key] {
					if err := c.Create(ctx, u.DeepCopy()); err != nil {
						t.Fatalf("%s: %v", key, err)
					}
					created[key] = true
				}
				continue
			}
			if err := dryRun(obj); err != nil {
				t.Errorf("policy %s: %s as mutated is refused by its CRD: %v\nadded: %s", name, key, err, annotationsOf(obj)[v1alpha1.DefaultedAnnotation])
				continue
			}
			checked[u.GetKind()]++
		}
		for _, idle := range idles {
			ns := fmt.Sprintf("gw-idle-%d", idle)
			checkGatewayValues(t, run, name, ns, int64(idle))
		}
	}
	for _, kind := range []string{"GatewayClass", "Gateway", "HTTPRoute", "BackendTrafficPolicy", "Service"} {
		if checked[kind] == 0 {
			t.Errorf("no %s was checked", kind)
		}
	}
	t.Logf("Gateway API objects accepted by their CRDs after mutation: %s", strings.TrimPrefix(fmt.Sprint(checked), "map"))
}

// checkGatewayValues: the values `webhook check` added in namespace ns are
// the idle timeout, exactly, where the row applies.
func checkGatewayValues(t *testing.T, run checkRun, policy, ns string, idle int64) {
	t.Helper()
	want, _ := mutate.GatewayDuration(idle)
	long := time.Duration(idle)*time.Second >= 30*time.Minute
	for _, name := range []string{"chat", "chat-beta"} {
		route := run.object(t, "HTTPRoute", ns, name)
		rules, _ := pathIn(route, "spec", "rules").([]any)
		if len(rules) != 4 {
			t.Fatalf("%s/%s: %d rules", ns, name, len(rules))
		}
		request := func(i int) any { return pathIn(rules[i], "timeouts", "request") }
		if got := request(0); got != want {
			t.Errorf("policy %s: HTTPRoute %s/%s rule 0 (ws) timeouts.request = %v, want %q", policy, ns, name, got, want)
		}
		if got := request(1); got != nil {
			t.Errorf("policy %s: HTTPRoute %s/%s rule 1 (REST) got timeouts.request %v", policy, ns, name, got)
		}
		// backendRequest 30m: the CRD needs request >= 30m, so the row adds
		// the idle timeout only when it is at least that long.
		if got := request(2); long && got != want || !long && got != nil {
			t.Errorf("policy %s: HTTPRoute %s/%s rule 2 (backendRequest 30m) timeouts.request = %v (idle %d s)", policy, ns, name, got, idle)
		}
		if got := request(3); got != "10s" {
			t.Errorf("policy %s: HTTPRoute %s/%s rule 3: the user's timeouts.request became %v", policy, ns, name, got)
		}
	}
	for _, name := range []string{"chat", "chat-single"} {
		btp := run.object(t, "BackendTrafficPolicy", ns, name)
		if got := pathIn(btp, "spec", "timeout", "http", "streamIdleTimeout"); got != want {
			t.Errorf("policy %s: BackendTrafficPolicy %s/%s streamIdleTimeout = %v, want %q", policy, ns, name, got, want)
		}
	}
	for _, r := range run.Report.Results {
		if r.Namespace != ns || r.Kind != "HTTPRoute" && r.Kind != "BackendTrafficPolicy" {
			continue
		}
		for _, w := range r.Warnings {
			if !long && strings.Contains(w, "backendRequest") {
				continue // the user's 30m backendRequest, named as such
			}
			t.Errorf("policy %s: %s %s/%s: warning %q", policy, r.Kind, ns, r.Name, w)
		}
	}
}
