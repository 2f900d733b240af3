package conformance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
)

// The Traefik module the proxy serves here (v3.7 is not served).
const (
	traefikModule     = "github.com/traefik/traefik/v3"
	traefikVersion    = "v3.6.12"
	traefikController = "traefik.io/ingress-controller"
	traefikPrefix     = "traefik.ingress.kubernetes.io/"
	traefikCookie     = traefikPrefix + "service.sticky.cookie"
)

// fullEnv is set by `make conformance` only: the tiers that need a
// controller's whole module or a system binary (Traefik's Ingress provider,
// Istio's validation, haproxy -c) run only then, never in `make test`.
const fullEnv = "WS_CONFORMANCE_FULL"

// needFull skips a `make conformance`-only tier.
func needFull(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("a `make conformance` tier (builds the webhook and controller code); skipped with -short")
	}
	if os.Getenv(fullEnv) != "1" {
		t.Skipf("a `make conformance` tier (needs %s=1); skipped by make conformance-fast", fullEnv)
	}
}

// traefikSvc is one Service of a Traefik fixture and what Traefik must
// build for it.
type traefikSvc struct {
	name, port  string            // port name (number 8080)
	annotations map[string]string // the user's own
	user        bool              // carries the user's own cookie settings
	want        func(v nginxVariant, affinity bool) *traefikWantCookie
}

type traefikWantCookie struct {
	Name              string `json:"name"`
	Secure            bool   `json:"secure"`
	HTTPOnly          bool   `json:"httpOnly"`
	SameSite          string `json:"sameSite"`
	MaxAge            int    `json:"maxAge"`
	SetCookieName     string `json:"setCookieName"` // "" = Traefik's generated name
	SetCookieSameSite string `json:"setCookieSameSite"`
}

type traefikService struct {
	Present bool               `json:"present"`
	Sticky  *traefikWantCookie `json:"sticky"`
	Routes  int                `json:"routes"`
}

type traefikConfigCase struct {
	Name     string                     `json:"name"`
	Objects  string                     `json:"objects"`
	Services map[string]*traefikService `json:"services"`
}

type traefikParseCase struct {
	Name        string            `json:"name"`
	Kind        string            `json:"kind"`
	Annotations map[string]string `json:"annotations"`
	WantErr     bool              `json:"wantErr"`
	WantOn      *bool             `json:"wantOn"`
}

// ours is the cookie we inject (webhook/mutate/defaults.go service, spec
// row "Traefik"): name, Secure, HttpOnly and the lower-case SameSite from
// the policy. No maxage: the spec's Traefik row does not set one, so the
// policy's cookieMaxAgeSeconds does not reach Traefik and the cookie is a
// session cookie (MaxAge 0, no Max-Age attribute).
func ours(v nginxVariant) *traefikWantCookie {
	return &traefikWantCookie{
		Name: v.cookieName, Secure: true, HTTPOnly: true, SameSite: strings.ToLower(v.sameSite),
		SetCookieName: v.cookieName, SetCookieSameSite: v.sameSite,
	}
}

// traefikServices are the Services of each namespace. A port named
// websocket is WebSocket evidence; http is not. The Services with the
// user's own cookie settings (user: true) are only in namespaces where
// affinity is on: there the mutation completes them.
var traefikServices = []traefikSvc{
	{name: "ws", port: "websocket", want: func(v nginxVariant, on bool) *traefikWantCookie {
		if !on {
			return nil
		}
		return ours(v)
	}},
	{name: "plain", port: "http", want: func(nginxVariant, bool) *traefikWantCookie { return nil }},
	// The user's own name is kept; we add the rest.
	{name: "user-name", port: "websocket", user: true, annotations: map[string]string{traefikCookie: "true", traefikCookie + ".name": "mine"},
		want: func(v nginxVariant, _ bool) *traefikWantCookie {
			c := ours(v)
			c.Name, c.SetCookieName = "mine", "mine"
			return c
		}},
	// The user turned the cookie off: nothing added, no cookie.
	{name: "user-off", port: "websocket", user: true, annotations: map[string]string{traefikCookie: "false"},
		want: func(nginxVariant, bool) *traefikWantCookie { return nil }},
	// "True": Traefik turns the cookie on (paerser: strings.EqualFold with
	// "true"), and so does the mutation (this tier found it completing the
	// cookie only after an exact "true", which left Traefik's defaults: a
	// generated name, not Secure, not HttpOnly, no SameSite).
	{name: "user-true-capital", port: "websocket", user: true, annotations: map[string]string{traefikCookie: "True"},
		want: func(v nginxVariant, _ bool) *traefikWantCookie { return ours(v) }},
	// A capitalised SameSite parses, but Traefik's convertSameSite knows
	// only none, lax and strict: the attribute is left out of Set-Cookie.
	{name: "user-samesite-capital", port: "websocket", user: true, annotations: map[string]string{traefikCookie + ".samesite": "None"},
		want: func(v nginxVariant, _ bool) *traefikWantCookie {
			c := ours(v)
			c.SameSite, c.SetCookieSameSite = "None", ""
			return c
		}},
}

// traefikService builds a Service manifest with one port and an
// EndpointSlice for it (so that the provider builds its load balancer).
func traefikServiceManifests(ns string, s traefikSvc) []string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: Service\nmetadata:\n  name: %s\n  namespace: %s\n", s.name, ns)
	if len(s.annotations) > 0 {
		b.WriteString("  annotations:\n")
		for k, v := range s.annotations {
			fmt.Fprintf(&b, "    %s: %q\n", k, v)
		}
	}
	fmt.Fprintf(&b, "spec:\n  clusterIP: 10.0.0.1\n  ports:\n  - name: %s\n    port: 8080\n", s.port)
	return []string{b.String(), traefikEndpointSlice(ns, s.name, s.port)}
}

func traefikEndpointSlice(ns, svc, port string) string {
	return fmt.Sprintf(`apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: %s-abc
  namespace: %s
  labels:
    kubernetes.io/service-name: %s
addressType: IPv4
ports:
- name: %s
  port: 8080
endpoints:
- addresses: [10.10.0.1]
  conditions: {ready: true}
`, svc, ns, svc, port)
}

// traefikIngress routes /<service> to each service on port 8080.
func traefikIngress(ns, name string, annotations map[string]string, services ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: %s\n  namespace: %s\n", name, ns)
	if len(annotations) > 0 {
		b.WriteString("  annotations:\n")
		for k, v := range annotations {
			fmt.Fprintf(&b, "    %s: %q\n", k, v)
		}
	}
	b.WriteString("spec:\n  ingressClassName: traefik\n  tls:\n  - hosts: [ws.example.com]\n    secretName: ws-tls\n  rules:\n  - host: ws.example.com\n    http:\n      paths:\n")
	for _, s := range services {
		fmt.Fprintf(&b, "      - path: /%s\n        pathType: Prefix\n        backend:\n          service:\n            name: %s\n            port:\n              number: 8080\n", s, s)
	}
	return b.String()
}

// providerObjects keeps what the Ingress provider reads from a `webhook
// check -o yaml` run (Ingresses, Services, IngressClasses) and adds the
// EndpointSlices, which the webhook does not see.
func providerObjects(t *testing.T, run checkRun, extra []string) string {
	t.Helper()
	docs := append([]string(nil), extra...)
	for _, o := range run.Objects {
		switch o["kind"] {
		case "Ingress", "Service", "IngressClass":
			b, err := json.Marshal(o)
			if err != nil {
				t.Fatal(err)
			}
			docs = append(docs, string(b))
		}
	}
	return strings.Join(docs, "\n---\n")
}

func traefikVariants() []nginxVariant {
	return []nginxVariant{
		builtinVariant,
		variant("strict-underscore-name", func(v *nginxVariant) {
			v.cookieName, v.sameSite, v.maxAge, v.secureOnTLS = "WS_Session.v1", "Strict", 1, false
		}),
		variant("none-tilde-name", func(v *nginxVariant) { v.cookieName, v.sameSite, v.maxAge = "a~b-c.d_E9", "None", 604800 }),
		variant("dotted-name-session", func(v *nginxVariant) { v.cookieName, v.sameSite, v.maxAge = "ws.route-1", "None", 0 }),
		variant("one-letter-lax", func(v *nginxVariant) { v.cookieName = "x" }),
		variant("affinity-off", func(v *nginxVariant) { v.affinity = false }),
	}
}

// traefikConfigCases runs every policy variant through `webhook check` and
// returns what the provider must build from the output.
func traefikConfigCases(t *testing.T) []traefikConfigCase {
	var cases []traefikConfigCase
	for _, v := range traefikVariants() {
		docs := []string{ingressClass("traefik", traefikController)}
		var slices []string
		c := traefikConfigCase{Name: v.name, Services: map[string]*traefikService{}}
		for _, ns := range []struct {
			name string
			ann  map[string]string
			on   bool
		}{
			{"policy", nil, v.affinity},
			{"affinity-off", map[string]string{v1alpha1.AffinityAnnotation: "off"}, false},
		} {
			docs = append(docs, namespace(ns.name, ns.ann))
			var names []string
			for _, s := range traefikServices {
				if s.user && !ns.on {
					continue
				}
				m := traefikServiceManifests(ns.name, s)
				docs = append(docs, m[0])
				slices = append(slices, m[1])
				names = append(names, s.name)
				c.Services[ns.name+"/"+s.name+"/8080"] = &traefikService{Present: true, Routes: 1, Sticky: s.want(v, ns.on)}
			}
			docs = append(docs, traefikIngress(ns.name, "app", nil, names...))
		}
		run := runCheck(t, v.policy(), docs)
		if run.Exit != 0 {
			t.Errorf("%s: webhook check denied a Traefik fixture built from our own defaults", v.name)
		}
		run.noRuleOnInjected(t, v.name)
		// The provider must see the appProtocol we add to WebSocket ports.
		ports, _ := run.object(t, "Service", "policy", "ws")["spec"].(map[string]any)["ports"].([]any)
		if len(ports) != 1 || ports[0].(map[string]any)["appProtocol"] == nil {
			t.Errorf("%s: Service policy/ws has no appProtocol after mutation: %v", v.name, ports)
		}
		c.Objects = providerObjects(t, run, slices)
		cases = append(cases, c)
	}
	return cases
}

// traefikScopeCase: what a parse failure drops. Service "bad" has a
// sticky.cookie.secure that does not parse; Ingress "mixed" routes to it
// and to "good", Ingress "other" to it and to "good2"; Ingress
// "bad-router" has a router.priority that does not parse.
func traefikScopeCase(t *testing.T) traefikConfigCase {
	ns := "scope"
	docs := []string{ingressClass("traefik", traefikController), namespace(ns, nil)}
	var slices []string
	for _, s := range []traefikSvc{
		{name: "bad", port: "websocket", annotations: map[string]string{traefikCookie + ".secure": "yes"}},
		{name: "good", port: "http"}, {name: "good2", port: "http"}, {name: "r", port: "http"},
	} {
		m := traefikServiceManifests(ns, s)
		docs = append(docs, m[0])
		slices = append(slices, m[1])
	}
	docs = append(docs,
		traefikIngress(ns, "mixed", nil, "bad", "good"),
		traefikIngress(ns, "other", nil, "bad", "good2"),
		traefikIngress(ns, "bad-router", map[string]string{traefikPrefix + "router.priority": "high"}, "r"),
	)
	run := runCheck(t, "", docs)
	for _, obj := range []string{"bad", "bad-router"} {
		if !deniedBy(run, obj, "traefik-annotation-type") {
			t.Errorf("scope: %s is not denied by traefik-annotation-type", obj)
		}
	}
	return traefikConfigCase{
		Name:    "parse-failure-scope",
		Objects: providerObjects(t, run, slices),
		Services: map[string]*traefikService{
			ns + "/bad/8080":   {Present: false, Routes: 0},
			ns + "/good/8080":  {Present: true, Routes: 1},
			ns + "/good2/8080": {Present: true, Routes: 1},
			ns + "/r/8080":     {Present: false, Routes: 0},
		},
	}
}

// deniedBy reports whether rule denied an object called name.
func deniedBy(run checkRun, name, rule string) bool {
	for _, r := range run.Report.Results {
		if r.Name != name {
			continue
		}
		for _, v := range r.Violations {
			if v.Rule == rule && v.Action == "deny" {
				return true
			}
		}
	}
	return false
}

// traefikFact is one annotation value: what our rule traefik-annotation-type
// does with it (deny) and what Traefik's parser must do (fail, and for the
// router.tls and sticky.cookie switches, on or off).
type traefikFact struct {
	kind, key, value string
	deny, fail       bool
	on               *bool
}

func boolp(b bool) *bool { return &b }

var traefikFacts = []traefikFact{
	{"Ingress", "router.priority", "10", false, false, nil},
	{"Ingress", "router.priority", "+10", false, false, nil},
	{"Ingress", "router.priority", "-5", false, false, nil},
	{"Ingress", "router.priority", "high", true, true, nil},
	{"Ingress", "router.priority", "10.0", true, true, nil},
	{"Ingress", "router.priority", " 10", true, true, nil},
	{"Ingress", "router.priority", "", true, true, nil},
	{"Ingress", "router.Priority", "high", true, true, nil},
	{"Ingress", "router.tls", "true", false, false, boolp(true)},
	{"Ingress", "router.tls", "TRUE", false, false, boolp(true)},
	{"Ingress", "router.tls", "", false, false, boolp(true)},
	{"Ingress", "router.tls", "false", false, false, boolp(false)},
	{"Ingress", "router.tls", "1", true, false, boolp(false)},
	{"Ingress", "router.tls", "yes", true, false, boolp(false)},
	{"Service", "service.sticky.cookie", "true", false, false, boolp(true)},
	{"Service", "service.sticky.cookie", "tRuE", false, false, boolp(true)},
	{"Service", "service.sticky.cookie", "", false, false, boolp(true)},
	{"Service", "service.sticky.cookie", "false", false, false, boolp(false)},
	{"Service", "service.sticky.cookie", "1", true, false, boolp(false)},
	{"Service", "service.sticky.cookie", "yes", true, false, boolp(false)},
	{"Service", "service.sticky.cookie.name", "only-a-name", false, false, boolp(true)},
	{"Service", "service.sticky.cookie.secure", "true", false, false, nil},
	{"Service", "service.sticky.cookie.secure", "1", false, false, nil},
	{"Service", "service.sticky.cookie.secure", "F", false, false, nil},
	{"Service", "service.sticky.cookie.secure", "yes", true, true, nil},
	{"Service", "service.sticky.cookie.secure", "on", true, true, nil},
	{"Service", "service.sticky.cookie.httponly", "enabled", true, true, nil},
	{"Service", "service.sticky.cookie.HttpOnly", "maybe", true, true, nil},
	{"Service", "service.sticky.cookie.maxage", "86400", false, false, nil},
	{"Service", "service.sticky.cookie.maxage", "-1", false, false, nil},
	{"Service", "service.sticky.cookie.maxage", "1d", true, true, nil},
	{"Service", "service.sticky.cookie.maxage", "3600s", true, true, nil},
	{"Service", "service.sticky.cookie.maxage", "1.5", true, true, nil},
	{"Service", "service.sticky.cookie.samesite", "Lax", false, false, nil},
	{"Service", "service.passhostheader", "false", false, false, nil},
	{"Service", "service.passhostheader", "no", true, true, nil},
	{"Service", "service.nativelb", "yes", true, true, nil},
	{"Service", "service.nodeportlb", "yes", true, true, nil},
}

// traefikParseCases runs the facts through `webhook check` (our rule's
// verdict must match the table) and returns them for Traefik's parsers.
// The objects carry no WebSocket evidence, so the mutation adds nothing.
func traefikParseCases(t *testing.T) []traefikParseCase {
	ns := "facts"
	docs := []string{ingressClass("traefik", traefikController), namespace(ns, nil)}
	name := func(i int) string { return fmt.Sprintf("fact-%d", i) }
	for i, f := range traefikFacts {
		ann := map[string]string{traefikPrefix + f.key: f.value}
		if f.kind == "Service" {
			docs = append(docs, traefikServiceManifests(ns, traefikSvc{name: name(i), port: "http", annotations: ann})[0])
		} else {
			docs = append(docs, traefikIngress(ns, name(i), ann, "s"))
		}
	}
	run := runCheck(t, "", docs)
	var cases []traefikParseCase
	for i, f := range traefikFacts {
		what := fmt.Sprintf("%s %s=%q", f.kind, f.key, f.value)
		if got := deniedBy(run, name(i), "traefik-annotation-type"); got != f.deny {
			t.Errorf("%s: traefik-annotation-type denies = %t, want %t", what, got, f.deny)
		}
		cases = append(cases, traefikParseCase{
			Name: what, Kind: f.kind, WantErr: f.fail, WantOn: f.on,
			Annotations: annotationsOf(run.object(t, f.kind, ns, name(i))),
		})
	}
	return cases
}

// TestTraefikIngressProvider is the Traefik tier: Traefik's own Kubernetes
// Ingress provider (module github.com/traefik/traefik/v3,
// pkg/provider/kubernetes/ingress) builds its dynamic configuration from
// what `webhook check -o yaml` prints, the sticky cookie is written by its
// weighted round robin, and its annotation parsers get the values our
// traefik-annotation-type rule judges.
func TestTraefikIngressProvider(t *testing.T) {
	needFull(t)
	start := time.Now()
	config := traefikConfigCases(t)
	config = append(config, traefikScopeCase(t))
	parse := traefikParseCases(t)
	t.Logf("%d configurations and %d annotation sets from webhook check in %s", len(config), len(parse), time.Since(start).Round(time.Millisecond))
	if t.Failed() {
		return
	}
	dir := moduleCopy(t, traefikModule, traefikVersion, "traefik@"+traefikVersion)
	pkg := filepath.Join(dir, "pkg", "provider", "kubernetes", "ingress")
	placeTest(t, "traefik", filepath.Join(pkg, "wsdefaults_conformance_test.go"), filepath.Join(pkg, "wsdefaults_cases.json"),
		map[string]any{"config": config, "parse": parse})
	moduleTest(t, dir, "./pkg/provider/kubernetes/ingress/", "^TestWSDefaults", "Traefik's Ingress provider disagrees with what we inject or claim")
}

// moduleTest runs `go test` on pkg inside a module copy (GOWORK=off,
// nice'd: these builds are large) and fails t with its output.
func moduleTest(t *testing.T, dir, pkg, run, failure string) {
	t.Helper()
	start := time.Now()
	cmd := exec.Command("nice", "-n", "19", "go", "test", "-count=1", "-v", "-run", run, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod -buildvcs=false", "GOTOOLCHAIN=local")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	t.Logf("go test %s in %s: %s", pkg, filepath.Base(dir), time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("%s (%v):\n%s", failure, err, out.String())
	}
	if testing.Verbose() {
		t.Logf("%s", out.String())
	}
}
