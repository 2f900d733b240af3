package conformance

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The istio.io/istio module the proxy serves here (a pseudo-version: Istio
// tags its releases in a way the proxy does not serve as semver).
const (
	istioModule  = "istio.io/istio"
	istioVersion = "v0.0.0-20260827124520-eed52ebb66ad"
)

// istioFixture is one DestinationRule or VirtualService, what our rules
// must do with it and whether Istio must accept it after mutation.
type istioFixture struct {
	name, manifest string
	deny           string // the rule of ours that must deny it ("" none may)
	valid          bool   // Istio accepts it
	errorContains  string // a piece of Istio's error, when it rejects it
	// pieces of the spec as Istio reads it that must be there / not
	specHas, specLacks string
}

func dr(apiVersion, name, spec string) string {
	return "apiVersion: networking.istio.io/" + apiVersion + "\nkind: DestinationRule\nmetadata: {name: " + name + ", namespace: istio}\nspec:\n  host: chat\n" + spec
}

func vs(name, route string) string {
	return "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: " + name + ", namespace: istio}\nspec:\n  hosts: [chat]\n  http:\n  - match: [{uri: {prefix: /ws}}]\n    route: [{destination: {host: chat}}]\n" + route
}

const (
	upgradeClient = "{http: {h2UpgradePolicy: UPGRADE, useClientProtocol: true}}"
	lbConflict    = "{simple: ROUND_ROBIN, consistentHash: {useSourceIp: true}}"
	clientErr     = "use client protocol must not be true when H2UpgradePolicy is UPGRADE"
	durationErr   = "duration must be greater than 1ms"
)

var istioFixtures = []istioFixture{
	// What we inject (h2UpgradePolicy: DO_NOT_UPGRADE) on every version and
	// beside the fields users set.
	{name: "dr-v1-bare", manifest: dr("v1", "dr-v1-bare", ""), valid: true},
	{name: "dr-v1beta1-tcp", manifest: dr("v1beta1", "dr-v1beta1-tcp", "  trafficPolicy: {connectionPool: {tcp: {maxConnections: 10}}}\n"), valid: true},
	{name: "dr-v1alpha3-subsets", manifest: dr("v1alpha3", "dr-v1alpha3-subsets", "  subsets: [{name: v1, labels: {version: v1}}]\n"), valid: true},
	{name: "dr-simple-lb", manifest: dr("v1", "dr-simple-lb", "  trafficPolicy: {loadBalancer: {simple: LEAST_REQUEST}}\n"), valid: true},
	{name: "dr-http-idle", manifest: dr("v1", "dr-http-idle", "  trafficPolicy: {connectionPool: {http: {idleTimeout: 3600s, maxRequestsPerConnection: 0}}}\n"), valid: true},
	// useClientProtocol beside the DO_NOT_UPGRADE we add: only UPGRADE
	// conflicts with it.
	{name: "dr-use-client-protocol", manifest: dr("v1", "dr-use-client-protocol", "  trafficPolicy: {connectionPool: {http: {useClientProtocol: true}}}\n"), valid: true},
	// The fix istio-cookie-hash-ttl suggests: a ttl of 0s (session cookie).
	{name: "dr-cookie-hash-ttl-0s", manifest: dr("v1", "dr-cookie-hash-ttl-0s", "  trafficPolicy: {loadBalancer: {consistentHash: {httpCookie: {name: ws, ttl: 0s}}}}\n"), valid: true},
	{name: "vs-no-timeout", manifest: vs("vs-no-timeout", ""), valid: true},
	{name: "vs-timeout-1ms", manifest: vs("vs-timeout-1ms", "    timeout: 1ms\n"), valid: true},

	// What our deny rules claim Istio refuses.
	{name: "vs-timeout-0s", manifest: vs("vs-timeout-0s", "    timeout: 0s\n"), deny: "istio-zero-timeout", errorContains: durationErr},
	{name: "vs-timeout-0ms", manifest: vs("vs-timeout-0ms", "    timeout: 0ms\n"), deny: "istio-zero-timeout", errorContains: durationErr},
	{name: "vs-timeout-negative", manifest: vs("vs-timeout-negative", "    timeout: -1s\n"), deny: "istio-zero-timeout", errorContains: durationErr},
	{name: "dr-upgrade-client-protocol", manifest: dr("v1", "dr-upgrade-client-protocol", "  trafficPolicy: {connectionPool: "+upgradeClient+"}\n"),
		deny: "istio-h2-upgrade-client-protocol", errorContains: clientErr},
	{name: "dr-upgrade-client-protocol-port", manifest: dr("v1", "dr-upgrade-client-protocol-port", "  trafficPolicy: {portLevelSettings: [{port: {number: 8080}, connectionPool: "+upgradeClient+"}]}\n"),
		deny: "istio-h2-upgrade-client-protocol", errorContains: clientErr},
	{name: "dr-upgrade-client-protocol-subset", manifest: dr("v1beta1", "dr-upgrade-client-protocol-subset", "  subsets: [{name: v1, labels: {version: v1}, trafficPolicy: {connectionPool: "+upgradeClient+"}}]\n"),
		deny: "istio-h2-upgrade-client-protocol", errorContains: clientErr},
	// istiod itself does not refuse simple beside consistentHash: its JSON
	// to proto conversion (config.ApplyJSON, golang/protobuf jsonpb) keeps
	// consistentHash and drops simple, in either JSON key order, and
	// validation then sees one policy. The refusal comes from the CRD
	// schema's oneOf (the CRD tier), i.e. the API server.
	{name: "dr-lb-conflict", manifest: dr("v1", "dr-lb-conflict", "  trafficPolicy: {loadBalancer: "+lbConflict+"}\n"),
		deny: "istio-lb-policy-conflict", valid: true, specHas: "consistentHash", specLacks: "simple"},
	{name: "dr-lb-conflict-port", manifest: dr("v1", "dr-lb-conflict-port", "  trafficPolicy: {portLevelSettings: [{port: {number: 8080}, loadBalancer: "+lbConflict+"}]}\n"),
		deny: "istio-lb-policy-conflict", valid: true, specHas: "consistentHash", specLacks: "simple"},
	{name: "dr-lb-conflict-subset", manifest: dr("v1alpha3", "dr-lb-conflict-subset", "  subsets: [{name: v1, labels: {version: v1}, trafficPolicy: {loadBalancer: "+lbConflict+"}}]\n"),
		deny: "istio-lb-policy-conflict", valid: true, specHas: "consistentHash", specLacks: "simple"},

	// Istio also refuses positive timeouts under 1ms and timeouts finer
	// than 1ms; this tier found istio-zero-timeout letting them through,
	// and it now denies them too.
	{name: "vs-timeout-500us", manifest: vs("vs-timeout-500us", "    timeout: 500us\n"), deny: "istio-zero-timeout", errorContains: durationErr},
	{name: "vs-timeout-1.5ms", manifest: vs("vs-timeout-1.5ms", "    timeout: 1.5ms\n"), deny: "istio-zero-timeout", errorContains: "only durations to ms precision are supported"},
}

type istioCase struct {
	Name          string `json:"name"`
	Object        string `json:"object"`
	Valid         bool   `json:"valid"`
	ErrorContains string `json:"errorContains"`
	SpecHas       string `json:"specHas"`
	SpecLacks     string `json:"specLacks"`
}

// TestIstioValidation is the Istio tier: istiod's own validation (module
// istio.io/istio: crd.ConvertObject, then pkg/config/validation
// ValidateDestinationRule / ValidateVirtualService, the path of its
// validating webhook) accepts every DestinationRule and VirtualService as
// `webhook check` mutated it, and rejects exactly those our
// istio-zero-timeout, istio-h2-upgrade-client-protocol and
// istio-lb-policy-conflict rules deny.
func TestIstioValidation(t *testing.T) {
	needFull(t)
	docs := []string{namespace("istio", nil)}
	for _, f := range istioFixtures {
		docs = append(docs, f.manifest)
	}
	run := runCheck(t, "", docs)
	run.noRuleOnInjected(t, "istio")
	var cases []istioCase
	for _, f := range istioFixtures {
		obj := run.object(t, kindOf(f.manifest), "istio", f.name)
		if f.deny != "" && !deniedBy(run, f.name, f.deny) {
			t.Errorf("%s: our rule %s does not deny it", f.name, f.deny)
		}
		if f.deny == "" {
			for _, r := range run.Report.Results {
				if r.Name != f.name {
					continue
				}
				for _, v := range r.Violations {
					if v.Action == "deny" {
						t.Errorf("%s: denied by %s (%s), want no denial", f.name, v.Rule, v.Message)
					}
				}
			}
		}
		if f.valid {
			if got := nestedString(obj, "spec", "trafficPolicy", "connectionPool", "http", "h2UpgradePolicy"); kindOf(f.manifest) == "DestinationRule" && got == "" {
				t.Errorf("%s: no h2UpgradePolicy after mutation", f.name)
			}
		}
		b, err := json.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		c := istioCase{Name: f.name, Object: string(b), Valid: f.valid, ErrorContains: f.errorContains, SpecHas: f.specHas, SpecLacks: f.specLacks}
		cases = append(cases, c)
		if f.name == "dr-lb-conflict" {
			// The same with simple first in the JSON (json.Marshal sorts
			// keys, so consistentHash comes first above).
			sorted := `"loadBalancer":{"consistentHash":{"useSourceIp":true},"simple":"ROUND_ROBIN"}`
			if !strings.Contains(c.Object, sorted) {
				t.Fatalf("dr-lb-conflict: %s lacks %s", c.Object, sorted)
			}
			c.Name += " (simple first)"
			c.Object = strings.Replace(c.Object, sorted, `"loadBalancer":{"simple":"ROUND_ROBIN","consistentHash":{"useSourceIp":true}}`, 1)
			cases = append(cases, c)
		}
	}
	if t.Failed() {
		return
	}
	start := time.Now()
	dir := moduleCopy(t, istioModule, istioVersion, "istio@"+istioVersion)
	pkg := filepath.Join(dir, "pkg", "config", "validation", "wsdefaultsconformance")
	placeTest(t, "istio", filepath.Join(pkg, "conformance_test.go"), filepath.Join(pkg, "testdata", "cases.json"), cases)
	moduleTest(t, dir, "./pkg/config/validation/wsdefaultsconformance/", "^TestIstioValidation$", "Istio's validation disagrees with what we inject or claim")
	t.Logf("Istio tier: %s", time.Since(start).Round(time.Millisecond))
}

func kindOf(manifest string) string {
	for _, k := range []string{"DestinationRule", "VirtualService"} {
		if strings.Contains(manifest, "\nkind: "+k+"\n") {
			return k
		}
	}
	return ""
}

func nestedString(obj map[string]any, path ...string) string {
	var cur any = obj
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = m[p]
	}
	s, _ := cur.(string)
	return s
}
