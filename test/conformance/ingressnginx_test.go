package conformance

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
)

// The ingress-nginx module the proxy serves here (controller-v1.11.0; for
// the annotations we inject its parsers match v1.15.1 once the risk level is
// set explicitly, which the test does for every level).
const (
	ingressNginxModule  = "k8s.io/ingress-nginx"
	ingressNginxVersion = "v0.0.0-20240708192948-52c50467d67d"
	nginxController     = "k8s.io/ingress-nginx"
	defaultNginxPrefix  = "nginx.ingress.kubernetes.io"
)

// nginxVariant is one policy, i.e. one `webhook check` run.
type nginxVariant struct {
	name        string
	prefix      string // nginxAnnotationPrefix
	idle        int    // mutation.idleTimeoutSeconds
	affinity    bool
	cookieName  string
	maxAge      int
	sameSite    string
	secureOnTLS bool
	risk        string // nginxAnnotationsRiskLevel ("" = not set: High)
	builtin     bool   // no policy file at all
}

func (v nginxVariant) policy() string {
	if v.builtin {
		return ""
	}
	var b strings.Builder
	b.WriteString("apiVersion: ws-defaults.io/v1alpha1\nkind: WebSocketPolicy\nmetadata:\n  name: default\nspec:\n")
	if v.prefix != defaultNginxPrefix {
		fmt.Fprintf(&b, "  nginxAnnotationPrefix: %s\n", v.prefix)
	}
	if v.risk != "" {
		fmt.Fprintf(&b, "  nginxAnnotationsRiskLevel: %s\n", v.risk)
	}
	fmt.Fprintf(&b, "  mutation:\n    idleTimeoutSeconds: %d\n    affinity:\n      enabled: %t\n", v.idle, v.affinity)
	fmt.Fprintf(&b, "      cookieName: %q\n      cookieMaxAgeSeconds: %d\n      sameSite: %s\n      secureOnTLS: %t\n",
		v.cookieName, v.maxAge, v.sameSite, v.secureOnTLS)
	return b.String()
}

// builtinVariant is what the built-in policy (api/v1alpha1/defaults.go)
// amounts to, spelled out independently of it.
var builtinVariant = nginxVariant{
	name: "builtin", builtin: true, prefix: defaultNginxPrefix, idle: 3600, affinity: true,
	cookieName: "ws-server", maxAge: 86400, sameSite: "Lax", secureOnTLS: true,
}

// variant is the built-in policy's variant changed by f, under name.
func variant(name string, f func(*nginxVariant)) nginxVariant {
	v := builtinVariant
	v.builtin = false
	v.name = name
	f(&v)
	return v
}

func nginxVariants(t *testing.T) []nginxVariant {
	vs := []nginxVariant{
		builtinVariant,
		variant("week-strict-underscore-name", func(v *nginxVariant) {
			v.idle, v.cookieName, v.sameSite, v.maxAge = 604800, "WS_Session.v1", "Strict", 1
		}),
		variant("second-tilde-name", func(v *nginxVariant) {
			v.idle, v.cookieName, v.maxAge, v.secureOnTLS = 1, "a~b-c.d_E9", 604800, false
		}),
		variant("samesite-none", func(v *nginxVariant) { v.sameSite, v.cookieName = "None", "x" }),
		variant("affinity-off", func(v *nginxVariant) { v.affinity = false }),
		variant("custom-prefix", func(v *nginxVariant) { v.prefix = "ingress.example.com" }),
	}
	if hasRiskLevelField() {
		for _, level := range []string{"Critical", "High", "Medium", "Low"} {
			vs = append(vs, variant("risk-"+strings.ToLower(level), func(v *nginxVariant) { v.risk = level }))
		}
	} else {
		t.Log("WebSocketPolicySpec has no nginxAnnotationsRiskLevel yet: the risk-level policy variants are not run")
	}
	return vs
}

// hasRiskLevelField reports whether the policy knows the cluster's
// ingress-nginx annotations-risk-level.
func hasRiskLevelField() bool {
	typ := reflect.TypeOf(v1alpha1.WebSocketPolicySpec{})
	for i := range typ.NumField() {
		if strings.HasPrefix(typ.Field(i).Tag.Get("json"), "nginxAnnotationsRiskLevel") {
			return true
		}
	}
	return false
}

// nginxCase is one Ingress after mutation and what ingress-nginx must read
// from it; its JSON form is what the template test reads (cases.json).
type nginxCase struct {
	Name        string              `json:"name"`
	Prefix      string              `json:"prefix"`
	Annotations map[string]string   `json:"annotations"`
	Want        nginxWant           `json:"want"`
	TooRisky    map[string][]string `json:"tooRisky"`
}

type nginxWant struct {
	ReadTimeout int    `json:"readTimeout"`
	SendTimeout int    `json:"sendTimeout"`
	Affinity    string `json:"affinity"`
	Mode        string `json:"mode"`
	CookieName  string `json:"cookieName"`
	MaxAge      string `json:"maxAge"`
	SameSite    string `json:"sameSite"`
	Secure      bool   `json:"secure"`
	Path        string `json:"path"`
	// Regex: ingress-nginx makes the server's locations regex
	// (template.go enforceRegexModifier: use-regex, or a rewrite-target
	// other than the path), where the sticky cookie's Path would be the
	// path string unless session-cookie-path is set.
	Regex bool `json:"regex"`
}

// shape is one Ingress per namespace: with or without TLS and regex paths
// (use-regex, or a capture-group rewrite-target, which the user sets).
type shape struct {
	name                string
	tls, regex, rewrite bool
}

var shapes = []shape{
	{"plain", false, false, false}, {"tls", true, false, false}, {"regex", false, true, false},
	{"tls-regex", true, true, false}, {"rewrite", false, false, true},
}

// nginxRun runs one variant through `webhook check` and returns its cases.
func nginxRun(t *testing.T, v nginxVariant) []nginxCase {
	t.Helper()
	type nsInfo struct {
		name     string
		idle     int
		affinity bool
	}
	var nss []nsInfo
	docs := []string{ingressClass("nginx", nginxController)}
	nss = append(nss, nsInfo{"policy", v.idle, v.affinity})
	docs = append(docs, namespace("policy", nil))
	for _, idle := range idles {
		name := fmt.Sprintf("idle-%d", idle)
		nss = append(nss, nsInfo{name, idle, v.affinity})
		docs = append(docs, namespace(name, map[string]string{v1alpha1.IdleTimeoutAnnotation: strconv.Itoa(idle)}))
	}
	nss = append(nss, nsInfo{"affinity-off", v.idle, false})
	docs = append(docs, namespace("affinity-off", map[string]string{v1alpha1.AffinityAnnotation: "off"}))
	prefix := v.prefix + "/"
	for _, ns := range nss {
		for _, s := range shapes {
			ann := map[string]string{}
			if s.regex {
				ann[prefix+"use-regex"] = "true"
			}
			if s.rewrite {
				ann[prefix+"rewrite-target"] = "/ws/$1"
			}
			docs = append(docs, ingress(ns.name, s.name, "nginx", ann, s.tls))
		}
	}
	run := runCheck(t, v.policy(), docs)
	if run.Exit != 0 {
		t.Errorf("%s: webhook check denied an object built only from our own defaults", v.name)
	}
	run.noRuleOnInjected(t, v.name)

	low := v.risk == "Low"
	var cases []nginxCase
	for _, ns := range nss {
		for _, s := range shapes {
			obj := run.object(t, "Ingress", ns.name, s.name)
			c := nginxCase{
				Name:        fmt.Sprintf("%s/%s/%s", v.name, ns.name, s.name),
				Prefix:      v.prefix,
				Annotations: annotationsOf(obj),
				Want:        nginxWant{ReadTimeout: ns.idle, SendTimeout: ns.idle, Regex: s.regex || s.rewrite},
				TooRisky:    map[string][]string{},
			}
			if s.rewrite {
				// The user's rewrite-target is Medium risk itself.
				c.TooRisky["Low"] = []string{"rewrite-target"}
			}
			if ns.affinity {
				c.Want.Affinity = "cookie"
				c.Want.SameSite = v.sameSite
				c.Want.Secure = s.tls && v.secureOnTLS
				if !low {
					c.Want.Mode = "persistent"
					c.Want.CookieName = v.cookieName
					c.Want.MaxAge = strconv.Itoa(v.maxAge)
					// What we claim ingress-nginx rates Medium
					// (sessionaffinity/main.go); all else we inject is Low.
					// The parsers' own tables decide in the template test.
					risky := []string{"affinity-mode", "session-cookie-name", "session-cookie-max-age"}
					if s.regex || s.rewrite {
						c.Want.Path = "/"
						risky = append(risky, "session-cookie-path")
					}
					if s.rewrite {
						risky = append(risky, "rewrite-target")
					}
					c.TooRisky["Low"] = risky
				} else {
					c.Want.CookieName = "INGRESSCOOKIE" // ingress-nginx's default name
					assertSkipWarning(t, run, ns.name, s.name)
				}
			}
			cases = append(cases, c)
		}
	}
	return cases
}

// assertSkipWarning checks that at risk level Low the mutation says which
// Medium-risk keys it left out.
func assertSkipWarning(t *testing.T, run checkRun, namespace, name string) {
	t.Helper()
	for _, r := range run.Report.Results {
		if r.Kind != "Ingress" || r.Namespace != namespace || r.Name != name {
			continue
		}
		for _, w := range r.Warnings {
			if strings.Contains(w, "session-cookie-name") && strings.Contains(w, "Low") {
				return
			}
		}
		t.Errorf("Ingress %s/%s at risk level Low: no warning naming the skipped keys, got %q", namespace, name, r.Warnings)
	}
}

// factCases are values users set themselves: they pin down the claims our
// rules make about ingress-nginx (docs/conformance.md).
func factCases(t *testing.T) []nginxCase {
	p := defaultNginxPrefix + "/"
	facts := []struct {
		name string
		ann  map[string]string
		want func(*nginxWant)
		deny string // the rule of ours that must deny it ("" none)
	}{
		{"read-timeout-with-unit", map[string]string{p + "proxy-read-timeout": "3600s"},
			func(w *nginxWant) { w.ReadTimeout = 60 }, "nginx-timeout-format"},
		{"cookie-name-semicolon", map[string]string{p + "session-cookie-name": "ws;x"},
			func(w *nginxWant) { w.CookieName = "INGRESSCOOKIE" }, ""},
		{"cookie-name-space", map[string]string{p + "session-cookie-name": "ws x"},
			func(w *nginxWant) { w.CookieName = "ws x" }, ""},
	}
	docs := []string{ingressClass("nginx", nginxController), namespace("facts", nil)}
	for _, f := range facts {
		docs = append(docs, ingress("facts", f.name, "nginx", f.ann, false))
	}
	run := runCheck(t, "", docs)
	var cases []nginxCase
	for _, f := range facts {
		w := nginxWant{ReadTimeout: 3600, SendTimeout: 3600, Affinity: "cookie", Mode: "persistent",
			CookieName: "ws-server", MaxAge: "86400", SameSite: "Lax"}
		f.want(&w)
		risky := []string{"affinity-mode", "session-cookie-name", "session-cookie-max-age"}
		cases = append(cases, nginxCase{
			Name: "facts/" + f.name, Prefix: defaultNginxPrefix,
			Annotations: annotationsOf(run.object(t, "Ingress", "facts", f.name)),
			Want:        w, TooRisky: map[string][]string{"Low": risky},
		})
		denied := false
		for _, r := range run.Report.Results {
			if r.Name != f.name {
				continue
			}
			for _, viol := range r.Violations {
				if viol.Rule == f.deny && viol.Action == "deny" {
					denied = true
				}
			}
		}
		if f.deny != "" && !denied {
			t.Errorf("facts/%s: rule %s does not deny it", f.name, f.deny)
		}
	}
	return cases
}

// TestIngressNginxParsers runs ingress-nginx's own annotation parsers
// (module k8s.io/ingress-nginx, internal/ingress/annotations) on every
// ingress-nginx Ingress that `webhook check -o yaml` prints, over all policy
// variants, and on the fact cases.
func TestIngressNginxParsers(t *testing.T) {
	needBinary(t)
	start := time.Now()
	var cases []nginxCase
	for _, v := range nginxVariants(t) {
		cases = append(cases, nginxRun(t, v)...)
	}
	cases = append(cases, factCases(t)...)
	t.Logf("%d Ingresses from webhook check in %s", len(cases), time.Since(start).Round(time.Millisecond))

	dir := ingressNginxCopy(t)
	pkg := filepath.Join(dir, "internal", "wsdefaultsconformance")
	placeTest(t, "ingressnginx", filepath.Join(pkg, "conformance_test.go"), filepath.Join(pkg, "testdata", "cases.json"), cases)

	start = time.Now()
	cmd := exec.Command("go", "test", "-count=1", "./internal/wsdefaultsconformance/")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod -buildvcs=false", "GOTOOLCHAIN=local")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	t.Logf("ingress-nginx parsers on %d Ingresses: %s", len(cases), time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("ingress-nginx's parsers disagree with what we inject (%v):\n%s", err, out.String())
	}
}

// ingressNginxCopy returns a writable copy of the ingress-nginx module from
// the module cache, under .cache/conformance (kept between runs so that the
// Go build cache, keyed by path among other things, stays warm).
func ingressNginxCopy(t *testing.T) string {
	return moduleCopy(t, ingressNginxModule, ingressNginxVersion, "ingress-nginx@"+ingressNginxVersion)
}

// TestCookieNamesIngressNginxWouldReplace: a policy cookie name that
// ingress-nginx would silently replace by INGRESSCOOKIE (";" is outside its
// BasicCharsRegex) or that RFC 6265 forbids (a space, which ingress-nginx
// strips only to validate and then keeps) is refused when the policy is
// read, so it never reaches an Ingress.
func TestCookieNamesIngressNginxWouldReplace(t *testing.T) {
	needBinary(t)
	for _, name := range []string{"ws;x", "ws x", "wś", "a=b"} {
		v := builtinVariant
		v.builtin, v.cookieName = false, name
		dir := t.TempDir()
		policy := filepath.Join(dir, "policy.yaml")
		in := filepath.Join(dir, "in.yaml")
		if err := os.WriteFile(policy, []byte(v.policy()), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(in, []byte(ingressClass("nginx", nginxController)), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(webhookBin, "check", "-f", in, "--policy", policy)
		out, err := cmd.CombinedOutput()
		if code := cmd.ProcessState.ExitCode(); code != 2 || !strings.Contains(string(out), "cookieName") {
			t.Errorf("cookie name %q: webhook check exits %d (%v), want 2 naming cookieName:\n%s", name, code, err, out)
		}
	}
}
