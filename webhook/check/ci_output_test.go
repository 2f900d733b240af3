package check

import (
	"encoding/json"
	"encoding/xml"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
	"github.com/ws-defaults/ws-defaults/webhook/version"
)

// ciValidator fires deny, warn and audit violations on chosen objects of
// testdata/manifests (and stdin), independent of the Rego rules:
//   - Ingress websocket-ingress: two denials and a warning;
//   - Ingress websocket-haproxy: one denial;
//   - Services: a warning;
//   - DestinationRule: an audit finding of a rule whose catalog default is
//     warn (as a policy setting it to audit would give);
//   - Namespace, IngressRoute: nothing.
var ciValidator = fakeValidator{fn: func(obj map[string]any, _ Input) []Violation {
	md, _ := obj["metadata"].(map[string]any)
	name, _ := md["name"].(string)
	switch obj["kind"] {
	case "Ingress":
		if name == "websocket-haproxy" {
			return []Violation{{Rule: "haproxy-config-snippet", Action: "deny", Severity: "critical",
				Field: "metadata.annotations[haproxy.org/backend-config-snippet]", Message: "remove the snippet"}}
		}
		return []Violation{
			{Rule: "nginx-snippet-annotation", Action: "deny", Severity: "critical",
				Field:   "metadata.annotations[nginx.ingress.kubernetes.io/server-snippet]",
				Message: `snippets run <as nginx> & "]]>" ends CDATA` + "\x01"},
			{Rule: "ssl-redirect-disabled", Action: "deny", Severity: "high",
				Field: "metadata.annotations[nginx.ingress.kubernetes.io/ssl-redirect]", Message: "metadata.annotations[nginx.ingress.kubernetes.io/ssl-redirect] is \"false\".\nRemove it."},
			{Rule: "tls-required", Action: "warn", Severity: "medium", Field: "spec.tls", Message: "add spec.tls"},
		}
	case "Service":
		return []Violation{{Rule: "http2-only-port", Action: "warn", Severity: "medium", Field: "spec.ports[0].name", Message: "rename the port"}}
	case "DestinationRule":
		return []Violation{{Rule: "istio-cookie-hash-ttl", Action: "audit", Severity: "medium",
			Field: "spec.trafficPolicy.loadBalancer.consistentHash.httpCookie", Message: "set a ttl"}}
	}
	return nil
}}

// Where testdata/manifests objects start.
const (
	nginxIngressLine   = 2
	haproxyIngressLine = 2
	istioDRLine        = 2
	istioServiceLine   = 19
	traefikServiceLine = 20
)

// ---- junit ----

type junitDoc struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Suites   []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Cases    []struct {
			Classname string `xml:"classname,attr"`
			Name      string `xml:"name,attr"`
			File      string `xml:"file,attr"`
			Line      int    `xml:"line,attr"`
			Failures  []struct {
				Type    string `xml:"type,attr"`
				Message string `xml:"message,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
			SystemOut string `xml:"system-out"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func TestJUnitOutput(t *testing.T) {
	stdin := "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata: {name: s, namespace: chat}\n"
	res := run(t, Options{Files: []string{"testdata/manifests", "-"}, Output: "junit", Validator: ciValidator, Stdin: strings.NewReader(stdin)})
	if res.err != nil {
		t.Fatal(res.err)
	}
	// The exit status does not depend on the format.
	if got := ExitStatus(res.sum, res.err); got != ExitDenied {
		t.Errorf("exit status %d, want 1", got)
	}
	if !strings.HasPrefix(res.stdout, xml.Header) {
		t.Errorf("no XML header:\n%s", res.stdout)
	}
	var doc junitDoc
	if err := xml.Unmarshal([]byte(res.stdout), &doc); err != nil {
		t.Fatalf("not XML: %v\n%s", err, res.stdout)
	}
	if doc.Tests != 8 || doc.Failures != 2 {
		t.Errorf("testsuites tests=%d failures=%d, want 8 2", doc.Tests, doc.Failures)
	}
	var names []string
	for _, s := range doc.Suites {
		names = append(names, s.Name)
	}
	want := []string{
		"testdata/manifests/00-namespace.yaml", "testdata/manifests/haproxy-ingress.yaml", "testdata/manifests/istio.yaml",
		"testdata/manifests/nginx-ingress.yaml", "testdata/manifests/traefik.yaml", "stdin",
	}
	if !slices.Equal(names, want) {
		t.Fatalf("suites %q, want %q", names, want)
	}

	istio := doc.Suites[2]
	if istio.Tests != 2 || istio.Failures != 0 || len(istio.Cases) != 2 {
		t.Errorf("istio suite tests=%d failures=%d cases=%d", istio.Tests, istio.Failures, len(istio.Cases))
	}
	dr, svc := istio.Cases[0], istio.Cases[1]
	if dr.Classname != "DestinationRule" || dr.Name != "chat/websocket-dr (testdata/manifests/istio.yaml#0)" ||
		dr.File != "testdata/manifests/istio.yaml" || dr.Line != istioDRLine {
		t.Errorf("DestinationRule case %+v", dr)
	}
	if len(dr.Failures) != 0 || !strings.Contains(dr.SystemOut, "audit istio-cookie-hash-ttl (medium) at spec.trafficPolicy") ||
		!strings.Contains(dr.SystemOut, "set a ttl") {
		t.Errorf("an audit finding fails the case or is not listed: %+v", dr)
	}
	if svc.Line != istioServiceLine || len(svc.Failures) != 0 || !strings.Contains(svc.SystemOut, "warn http2-only-port (medium) at spec.ports[0].name\n  rename the port") {
		t.Errorf("Service case %+v", svc)
	}

	nginx := doc.Suites[3]
	if nginx.Tests != 1 || nginx.Failures != 1 {
		t.Errorf("nginx suite tests=%d failures=%d, want 1 1", nginx.Tests, nginx.Failures)
	}
	ing := nginx.Cases[0]
	if ing.Classname != "Ingress" || ing.Name != "chat/websocket-ingress (testdata/manifests/nginx-ingress.yaml#0)" || ing.Line != nginxIngressLine {
		t.Errorf("Ingress case %+v", ing)
	}
	if len(ing.Failures) != 2 {
		t.Fatalf("%d failures, want one per denial", len(ing.Failures))
	}
	f := ing.Failures[0]
	if f.Type != "nginx-snippet-annotation" || f.Message != "snippets run <as nginx> & \"]]>\" ends CDATA\uFFFD" {
		t.Errorf("failure type %q message %q", f.Type, f.Message)
	}
	if !strings.Contains(f.Text, "nginx-snippet-annotation (critical) at metadata.annotations[nginx.ingress.kubernetes.io/server-snippet]") ||
		!strings.Contains(f.Text, `& "]]>" ends`) {
		t.Errorf("failure text %q", f.Text)
	}
	if f2 := ing.Failures[1]; f2.Type != "ssl-redirect-disabled" || !strings.Contains(f2.Message, "\nRemove it.") {
		t.Errorf("second failure %+v (line breaks in the message must survive)", f2)
	}
	if !strings.Contains(ing.SystemOut, "warn tls-required") || strings.Contains(ing.SystemOut, "nginx-snippet-annotation") {
		t.Errorf("system-out %q: want the warning, not the denials", ing.SystemOut)
	}

	clean := doc.Suites[0].Cases[0]
	if clean.Classname != "Namespace" || clean.Name != "chat (testdata/manifests/00-namespace.yaml#0)" || len(clean.Failures) != 0 || clean.SystemOut != "" {
		t.Errorf("Namespace case %+v", clean)
	}
	item := doc.Suites[5].Cases[0]
	if item.Name != "chat/s (stdin#0.items[0])" || item.File != "stdin" || item.Line != 4 {
		t.Errorf("List item case %+v", item)
	}
}

func TestJUnitOutputClean(t *testing.T) {
	res := run(t, Options{Files: []string{"testdata/manifests/00-namespace.yaml"}, Output: "junit"})
	if res.err != nil || ExitStatus(res.sum, res.err) != ExitOK {
		t.Fatalf("exit %d: %v", ExitStatus(res.sum, res.err), res.err)
	}
	var doc junitDoc
	if err := xml.Unmarshal([]byte(res.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Tests != 1 || doc.Failures != 0 || len(doc.Suites) != 1 || strings.Contains(res.stdout, "<failure") ||
		strings.Contains(res.stdout, "<system-out") {
		t.Errorf("output:\n%s", res.stdout)
	}
}

// ---- sarif ----

// sarifDoc is the part of SARIF 2.1.0 that -o sarif promises.
type sarifDoc struct {
	Schema  string `json:"$schema"`
	Version string `json:"version"`
	Runs    []struct {
		Tool struct {
			Driver struct {
				Name    string `json:"name"`
				Version string `json:"version"`
				Rules   []struct {
					ID               string `json:"id"`
					ShortDescription struct {
						Text string `json:"text"`
					} `json:"shortDescription"`
					Help struct {
						Text string `json:"text"`
					} `json:"help"`
					HelpURI              string `json:"helpUri"`
					DefaultConfiguration struct {
						Level string `json:"level"`
					} `json:"defaultConfiguration"`
					Properties map[string]any `json:"properties"`
				} `json:"rules"`
			} `json:"driver"`
		} `json:"tool"`
		Results []sarifResult `json:"results"`
	} `json:"runs"`
}

type sarifResult struct {
	RuleID    string `json:"ruleId"`
	RuleIndex int    `json:"ruleIndex"`
	Level     string `json:"level"`
	Message   struct {
		Text string `json:"text"`
	} `json:"message"`
	Locations []struct {
		PhysicalLocation struct {
			ArtifactLocation struct {
				URI string `json:"uri"`
			} `json:"artifactLocation"`
			Region *struct {
				StartLine int `json:"startLine"`
			} `json:"region"`
		} `json:"physicalLocation"`
		LogicalLocations []struct {
			Name               string `json:"name"`
			FullyQualifiedName string `json:"fullyQualifiedName"`
			Kind               string `json:"kind"`
		} `json:"logicalLocations"`
	} `json:"locations"`
	Properties map[string]any `json:"properties"`
}

func (r sarifResult) where() (string, int) {
	l := r.Locations[0].PhysicalLocation
	if l.Region == nil {
		return l.ArtifactLocation.URI, 0
	}
	return l.ArtifactLocation.URI, l.Region.StartLine
}

func readSARIF(t *testing.T, out string) sarifDoc {
	t.Helper()
	var doc sarifDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if doc.Version != "2.1.0" || doc.Schema != "https://raw.githubusercontent.com/oasis-tcs/sarif-spec/main/sarif-2.1/schema/sarif-schema-2.1.0.json" {
		t.Errorf("version %q $schema %q", doc.Version, doc.Schema)
	}
	if len(doc.Runs) != 1 || doc.Runs[0].Tool.Driver.Name != "ws-defaults" {
		t.Fatalf("want one run of ws-defaults: %+v", doc.Runs)
	}
	// And against the SARIF 2.1.0 JSON schema.
	log, err := sarif.FromString(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := log.Validate(); err != nil {
		t.Errorf("not valid SARIF 2.1.0: %v", err)
	}
	return doc
}

func TestSARIFOutput(t *testing.T) {
	stdin := "# a list\napiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata: {name: s, namespace: chat}\n"
	res := run(t, Options{Files: []string{"testdata/manifests", "-"}, Output: "sarif", Validator: ciValidator, Stdin: strings.NewReader(stdin)})
	if res.err != nil {
		t.Fatal(res.err)
	}
	if got := ExitStatus(res.sum, res.err); got != ExitDenied {
		t.Errorf("exit status %d, want 1", got)
	}
	doc := readSARIF(t, res.stdout)
	run := doc.Runs[0]

	// The tool names its version: the binary's.
	if got, want := run.Tool.Driver.Version, version.Get().Version; got != want || got == "" {
		t.Errorf("tool.driver.version %q, want %q", got, want)
	}

	// Rules: those that fired, sorted, with the catalog's default level,
	// description and fix.
	type rule struct{ id, desc, help, helpURI, level, severity, scope string }
	var rules []rule
	for _, r := range run.Tool.Driver.Rules {
		scope, _ := r.Properties["scope"].(string)
		severity, _ := r.Properties["severity"].(string)
		rules = append(rules, rule{r.ID, r.ShortDescription.Text, r.Help.Text, r.HelpURI, r.DefaultConfiguration.Level, severity, scope})
	}
	described := func(id, level, severity, scope string) rule {
		d := v1alpha1.RuleDescriptions[id]
		return rule{id, d.Summary, d.Fix, "https://github.com/ws-defaults/ws-defaults/blob/main/docs/rules.md", level, severity, scope}
	}
	wantRules := []rule{
		described("haproxy-config-snippet", "error", "critical", "cluster"),
		described("http2-only-port", "warning", "medium", "opted-in"),
		// Catalog default warn, though this run audits it.
		described("istio-cookie-hash-ttl", "warning", "medium", "opted-in"),
		described("nginx-snippet-annotation", "error", "critical", "cluster"),
		described("ssl-redirect-disabled", "error", "high", "opted-in"),
		described("tls-required", "warning", "medium", "opted-in"),
	}
	if len(rules) == 0 || rules[0].desc != "A HAProxy controller config-snippet annotation is copied into haproxy.cfg without validation." {
		t.Errorf("rules %q: want haproxy-config-snippet first, described", rules)
	}
	if !slices.Equal(rules, wantRules) {
		t.Errorf("rules\n%q\nwant\n%q", rules, wantRules)
	}

	// Results: one per violation, in input order.
	type result struct {
		rule, level, uri string
		line             int
	}
	var results []result
	for _, r := range run.Results {
		uri, line := r.where()
		results = append(results, result{r.RuleID, r.Level, uri, line})
		if r.RuleIndex < 0 || r.RuleIndex >= len(run.Tool.Driver.Rules) || run.Tool.Driver.Rules[r.RuleIndex].ID != r.RuleID {
			t.Errorf("%s: ruleIndex %d does not point at its rule", r.RuleID, r.RuleIndex)
		}
	}
	wantResults := []result{
		{"haproxy-config-snippet", "error", "testdata/manifests/haproxy-ingress.yaml", haproxyIngressLine},
		{"istio-cookie-hash-ttl", "note", "testdata/manifests/istio.yaml", istioDRLine},
		{"http2-only-port", "warning", "testdata/manifests/istio.yaml", istioServiceLine},
		{"nginx-snippet-annotation", "error", "testdata/manifests/nginx-ingress.yaml", nginxIngressLine},
		{"ssl-redirect-disabled", "error", "testdata/manifests/nginx-ingress.yaml", nginxIngressLine},
		{"tls-required", "warning", "testdata/manifests/nginx-ingress.yaml", nginxIngressLine},
		{"http2-only-port", "warning", "testdata/manifests/traefik.yaml", traefikServiceLine},
		{"http2-only-port", "warning", "stdin", 5}, // the List item's line
	}
	if !slices.Equal(results, wantResults) {
		t.Errorf("results\n%v\nwant\n%v", results, wantResults)
	}

	snippet := run.Results[3]
	if want := "metadata.annotations[nginx.ingress.kubernetes.io/server-snippet]: snippets run <as nginx> & \"]]>\" ends CDATA\x01"; snippet.Message.Text != want {
		t.Errorf("message %q, want %q", snippet.Message.Text, want)
	}
	if !strings.Contains(res.stdout, "<as nginx> &") {
		t.Error("<, > and & are escaped in the output")
	}
	// A message that names its field is not prefixed with it again.
	if got := run.Results[4].Message.Text; !strings.HasPrefix(got, "metadata.annotations[nginx.ingress.kubernetes.io/ssl-redirect] is") {
		t.Errorf("message %q", got)
	}
	ll := snippet.Locations[0].LogicalLocations
	if len(ll) != 1 || ll[0].FullyQualifiedName != "Ingress/chat/websocket-ingress:metadata.annotations[nginx.ingress.kubernetes.io/server-snippet]" ||
		ll[0].Name != "metadata.annotations[nginx.ingress.kubernetes.io/server-snippet]" || ll[0].Kind != "property" {
		t.Errorf("logical locations %+v", ll)
	}
	if snippet.Properties["severity"] != "critical" || snippet.Properties["action"] != "deny" ||
		snippet.Properties["source"] != "testdata/manifests/nginx-ingress.yaml#0" {
		t.Errorf("properties %v", snippet.Properties)
	}
	if src := run.Results[7].Properties["source"]; src != "stdin#0.items[0]" {
		t.Errorf("List item source %v", src)
	}
}

func TestSARIFOutputClean(t *testing.T) {
	res := run(t, Options{Files: []string{"testdata/manifests"}, Output: "sarif"})
	if res.err != nil || ExitStatus(res.sum, res.err) != ExitOK {
		t.Fatalf("exit %d: %v", ExitStatus(res.sum, res.err), res.err)
	}
	doc := readSARIF(t, res.stdout)
	if len(doc.Runs[0].Results) != 0 || len(doc.Runs[0].Tool.Driver.Rules) != 0 {
		t.Errorf("results %v rules %v", doc.Runs[0].Results, doc.Runs[0].Tool.Driver.Rules)
	}
	// Code scanning wants "results" present even when empty.
	var raw struct {
		Runs []map[string]json.RawMessage `json:"runs"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &raw); err != nil {
		t.Fatal(err)
	}
	if got := string(raw.Runs[0]["results"]); got != "[]" {
		t.Errorf("results = %s, want []", got)
	}
}

func TestSARIFOutputIsStable(t *testing.T) {
	o := Options{Files: []string{"testdata/manifests"}, Output: "sarif", Validator: ciValidator}
	first := run(t, o)
	for range 3 {
		if again := run(t, o); again.stdout != first.stdout {
			t.Fatal("SARIF output differs between runs")
		}
	}
}

func TestSARIFFileURIs(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	abs := func(p ...string) string { return filepath.Join(append([]string{wd}, p...)...) }
	outside := filepath.Join(filepath.Dir(wd), "elsewhere", "a b.yaml")
	tests := []struct{ file, want string }{
		{"stdin", "stdin"},
		{"testdata/manifests/istio.yaml", "testdata/manifests/istio.yaml"},
		{"./testdata//manifests/../policy.yaml", "testdata/policy.yaml"},
		{"../check/testdata/policy.yaml", "../check/testdata/policy.yaml"},
		{abs("testdata", "policy.yaml"), "testdata/policy.yaml"},
		{"deploy/my app#1.yaml", "deploy/my%20app%231.yaml"},
		{"c:app.yaml", "./c:app.yaml"},
		{outside, (&url.URL{Scheme: "file", Path: filepath.ToSlash(filepath.Dir(wd)) + "/elsewhere/a b.yaml"}).String()},
	}
	for _, tt := range tests {
		if got := artifactURI(filepath.FromSlash(tt.file), wd); got != tt.want {
			t.Errorf("artifactURI(%q) = %q, want %q", tt.file, got, tt.want)
		}
	}

	// End to end: a file named by its absolute path is reported relative
	// to the working directory.
	res := run(t, Options{Files: []string{abs("testdata", "manifests", "nginx-ingress.yaml")}, Output: "sarif", Validator: ciValidator})
	doc := readSARIF(t, res.stdout)
	for _, r := range doc.Runs[0].Results {
		if uri, line := r.where(); uri != "testdata/manifests/nginx-ingress.yaml" || line != nginxIngressLine {
			t.Errorf("%s at %s:%d", r.RuleID, uri, line)
		}
	}
}

func TestFormats(t *testing.T) {
	if got, want := Formats(), []string{"json", "jsonl", "junit", "sarif", "table", "yaml"}; !slices.Equal(got, want) {
		t.Errorf("Formats() = %q, want %q", got, want)
	}
}
