package conformance

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
)

// The HAProxy tier renders what `webhook check` writes for HAProxy-served
// Ingresses and Services into the directives the two controllers generate
// from it, and has HAProxy itself check the result (`haproxy -c`):
//
//   - haproxy-ingress (jcmoraisjr/haproxy-ingress 465a51ce67a7,
//     rootfs/etc/templates/haproxy/haproxy.tmpl "backend" block):
//     `balance <balance-algorithm>`, `timeout tunnel <timeout-tunnel>`,
//     `cookie <session-cookie-name> insert <session-cookie-keywords,
//     default "indirect nocache httponly"> dynamic` and
//     `dynamic-cookie-key "Ingress"` (pkg/converters/ingress/annotations
//     backend.go buildBackendAffinity; defaults.go: dynamic true, key
//     "Ingress");
//   - haproxytech (haproxytech/kubernetes-ingress fc1206761aa7,
//     pkg/annotations/service/cookie.go): `cookie <cookie-persistence>
//     insert indirect nocache dynamic` with a dynamic-cookie-key, and
//     `balance <load-balance>`.
//
// What `haproxy -c` can prove: that HAProxy parses each directive and
// value (syntax, units, the timer range). It cannot show how long a timer
// is; the unit of a bare number is proven instead from the timer limit
// (2147483647 ms): a bare 2147483647 passes and 2147483648 overflows, so a
// bare number counts milliseconds.

const (
	haproxyIngressController = "haproxy-ingress.github.io/controller"
	haproxyTechController    = "haproxy.org/ingress-controller"
	haproxyIngressPrefix     = "haproxy-ingress.github.io/"
	haproxyInstall           = "apt-get install -y haproxy"
)

// haproxyIngressTime is haproxy-ingress's own time check (updater.go
// regexValidTime): values that fail it never reach HAProxy.
var haproxyIngressTime = regexp.MustCompile(`^[0-9]+(us|ms|s|m|h|d)$`)

// haproxyBin returns the haproxy binary, or skips the tier.
func haproxyBin(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skipf("haproxy is not installed, so the HAProxy tier cannot run; install Debian's package with `%s` (run as root, after apt-get update) and rerun make conformance", haproxyInstall)
	}
	return bin
}

// haproxyCheck runs `haproxy -c` on cfg: "ok" (valid, no warning),
// "warning" (valid with warnings) or "error", with HAProxy's output.
func haproxyCheck(t *testing.T, bin, cfg string) (string, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", "-f", path)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	switch {
	case err != nil:
		return "error", out.String()
	case strings.Contains(out.String(), "[WARNING]"):
		return "warning", out.String()
	default:
		return "ok", out.String()
	}
}

// haproxyConfig wraps backends in a minimal valid configuration (one
// frontend, so that -c exits 0 on a valid file).
func haproxyConfig(backends []string) string {
	var b strings.Builder
	b.WriteString("global\n    log stdout format raw local0\n\ndefaults\n    mode http\n    log global\n" +
		"    timeout connect 5s\n    timeout client 50s\n    timeout server 50s\n\n" +
		"frontend ws\n    bind 127.0.0.1:18080\n    default_backend " + strings.SplitN(strings.TrimPrefix(backends[0], "backend "), "\n", 2)[0] + "\n")
	for _, be := range backends {
		b.WriteString("\n" + be)
	}
	return b.String()
}

// haproxyIngressBackend renders one haproxy-ingress backend from an
// Ingress's annotations the way its template does.
func haproxyIngressBackend(id string, ann map[string]string) string {
	get := func(name string) string {
		// haproxy-ingress reads its own prefix first, then the legacy one.
		if v, ok := ann[haproxyIngressPrefix+name]; ok {
			return v
		}
		return ann["ingress.kubernetes.io/"+name]
	}
	var b strings.Builder
	fmt.Fprintf(&b, "backend %s\n    mode http\n", id)
	if v := get("balance-algorithm"); v != "" {
		fmt.Fprintf(&b, "    balance %s\n", v)
	}
	if v := get("timeout-tunnel"); v != "" {
		fmt.Fprintf(&b, "    timeout tunnel %s\n", v)
	}
	if get("affinity") == "cookie" {
		name := get("session-cookie-name")
		if name == "" {
			name = "INGRESSCOOKIE"
		}
		keywords := get("session-cookie-keywords")
		if keywords == "" {
			keywords = "indirect nocache httponly"
		}
		fmt.Fprintf(&b, "    cookie %s insert %s dynamic\n    dynamic-cookie-key \"Ingress\"\n", name, keywords)
	}
	b.WriteString("    server srv001 127.0.0.1:8080 weight 1\n")
	return b.String()
}

// haproxyTechBackend renders a haproxytech backend from the Ingress's and
// the Service's annotations (the Service's win).
func haproxyTechBackend(id string, ing, svc map[string]string) string {
	get := func(m map[string]string, name string) string {
		for _, p := range []string{"haproxy.org/", "haproxy.com/", "ingress.kubernetes.io/"} {
			if v, ok := m[p+name]; ok {
				return v
			}
		}
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "backend %s\n    mode http\n", id)
	balance := get(svc, "load-balance")
	if balance == "" {
		balance = get(ing, "load-balance")
	}
	if balance != "" {
		fmt.Fprintf(&b, "    balance %s\n", balance)
	}
	if fields := strings.Fields(get(svc, "cookie-persistence")); len(fields) > 0 {
		fmt.Fprintf(&b, "    cookie %s insert indirect nocache dynamic\n    dynamic-cookie-key \"ws-defaults\"\n", fields[0])
	}
	b.WriteString("    server srv001 127.0.0.1:8080 weight 1\n")
	return b.String()
}

// TestHAProxyConfigCheck is the HAProxy tier over what we inject: every
// policy variant and namespace idle timeout from 1 s to 7 days, on
// haproxy-ingress Ingresses (plain and TLS) and haproxytech Ingresses and
// Services, rendered and checked by `haproxy -c`, which must accept it
// without a warning.
func TestHAProxyConfigCheck(t *testing.T) {
	needFull(t)
	bin := haproxyBin(t)
	variants := nginxVariants(t)
	var backends []string
	tunnels := map[string]bool{}
	for _, v := range variants {
		if v.prefix != defaultNginxPrefix || v.risk != "" {
			continue // ingress-nginx-only settings
		}
		docs := []string{
			ingressClass("haproxy-ingress", haproxyIngressController),
			ingressClass("haproxy", haproxyTechController),
		}
		var nss []string
		for _, idle := range idles {
			ns := fmt.Sprintf("idle-%d", idle)
			nss = append(nss, ns)
			docs = append(docs, namespace(ns, map[string]string{v1alpha1.IdleTimeoutAnnotation: strconv.Itoa(idle)}))
			docs = append(docs,
				ingress(ns, "hi-plain", "haproxy-ingress", nil, false),
				ingress(ns, "hi-tls", "haproxy-ingress", nil, true),
				ingress(ns, "tech", "haproxy", nil, false),
				"apiVersion: v1\nkind: Service\nmetadata: {name: ws, namespace: "+ns+"}\nspec:\n  ports:\n  - {name: websocket, port: 8080}\n",
			)
		}
		run := runCheck(t, v.policy(), docs)
		if run.Exit != 0 {
			t.Errorf("%s: webhook check denied an HAProxy fixture built from our own defaults", v.name)
		}
		run.noRuleOnInjected(t, v.name)
		for i, ns := range nss {
			for _, name := range []string{"hi-plain", "hi-tls"} {
				ann := annotationsOf(run.object(t, "Ingress", ns, name))
				tunnel := ann[haproxyIngressPrefix+"timeout-tunnel"]
				if !haproxyIngressTime.MatchString(tunnel) {
					t.Errorf("%s %s/%s: timeout-tunnel %q fails haproxy-ingress's own time check", v.name, ns, name, tunnel)
				}
				if got, want := haproxySeconds(t, tunnel), int64(idles[i]); got != want {
					t.Errorf("%s %s/%s: timeout-tunnel %q is %d s, want %d s", v.name, ns, name, tunnel, got, want)
				}
				tunnels[tunnel] = true
				if ann[haproxyIngressPrefix+"balance-algorithm"] != "leastconn" {
					t.Errorf("%s %s/%s: balance-algorithm %q, want leastconn", v.name, ns, name, ann[haproxyIngressPrefix+"balance-algorithm"])
				}
				if v.affinity && ann[haproxyIngressPrefix+"session-cookie-name"] != v.cookieName {
					t.Errorf("%s %s/%s: session-cookie-name %q, want %q", v.name, ns, name, ann[haproxyIngressPrefix+"session-cookie-name"], v.cookieName)
				}
				backends = append(backends, haproxyIngressBackend(fmt.Sprintf("%s_%s_%s", v.name, ns, name), ann))
			}
			ing := annotationsOf(run.object(t, "Ingress", ns, "tech"))
			svc := annotationsOf(run.object(t, "Service", ns, "ws"))
			if v.affinity && svc["haproxy.org/cookie-persistence"] != v.cookieName {
				t.Errorf("%s %s: haproxytech Service cookie-persistence %q, want %q", v.name, ns, svc["haproxy.org/cookie-persistence"], v.cookieName)
			}
			backends = append(backends, haproxyTechBackend(fmt.Sprintf("%s_%s_tech", v.name, ns), ing, svc))
		}
	}
	cfg := haproxyConfig(backends)
	verdict, out := haproxyCheck(t, bin, cfg)
	if verdict != "ok" {
		t.Errorf("haproxy -c on %d backends rendered from what we inject: %s\n%s", len(backends), verdict, out)
	}
	for _, want := range []string{"cookie WS_Session.v1 insert indirect nocache httponly dynamic", "insert indirect nocache httponly secure dynamic", "timeout tunnel 168h", "timeout tunnel 1s", "balance leastconn", "cookie a~b-c.d_E9 insert indirect nocache dynamic"} {
		if !strings.Contains(cfg, want) {
			t.Errorf("the rendered configuration lacks %q: the fixtures no longer cover it", want)
		}
	}
	var ts []string
	for v := range tunnels {
		ts = append(ts, v)
	}
	sort.Strings(ts)
	t.Logf("haproxy -c: %d backends, timeout tunnel values %s: %s", len(backends), strings.Join(ts, " "), verdict)
}

// haproxySeconds reads an HAProxy time written in whole seconds or larger.
func haproxySeconds(t *testing.T, v string) int64 {
	t.Helper()
	units := map[string]int64{"s": 1, "m": 60, "h": 3600, "d": 86400}
	for suffix, mult := range units {
		if n, err := strconv.ParseInt(strings.TrimSuffix(v, suffix), 10, 64); strings.HasSuffix(v, suffix) && !strings.HasSuffix(v, "ms") && !strings.HasSuffix(v, "us") && err == nil {
			return n * mult
		}
	}
	t.Errorf("timeout %q is not a whole number of s, m, h or d", v)
	return -1
}

// TestHAProxyTimeoutFacts: timeout-tunnel values users write on a
// haproxy-ingress Ingress, what our haproxy-timeout-format rule does with
// them, whether haproxy-ingress's own check passes them on to HAProxy, and
// what `haproxy -c` says of `timeout tunnel <value>`.
func TestHAProxyTimeoutFacts(t *testing.T) {
	needFull(t)
	bin := haproxyBin(t)
	facts := []struct {
		value   string
		deny    bool   // haproxy-timeout-format denies it
		haproxy string // ok, warning, error
		note    string
	}{
		{"3600", true, "ok", "valid syntax: HAProxy reads 3.6 s (a bare number is ms, see the next two)"},
		{"2147483647", true, "ok", "the largest timer, in ms"},
		{"2147483648", true, "error", "one ms more overflows: a bare number counts milliseconds"},
		{"2147483s", false, "ok", ""},
		{"2147484s", true, "error", "timer overflow: above 24.8 days (the rule denies it since this tier found it)"},
		{"596h", false, "ok", ""},
		{"597h", true, "error", "timer overflow: above 24.8 days"},
		{"1.5h", true, "error", "fractions are refused"},
		{"1h30m", true, "warning", "HAProxy 2.6 warns (keeps the leading 1h) that this will become an error"},
		{"500us", false, "ok", ""},
		{"1d", false, "ok", ""},
		{"7d", false, "ok", ""},
	}
	docs := []string{ingressClass("haproxy-ingress", haproxyIngressController), namespace("facts", nil)}
	for i, f := range facts {
		docs = append(docs, ingress("facts", fmt.Sprintf("fact-%d", i), "haproxy-ingress", map[string]string{haproxyIngressPrefix + "timeout-tunnel": f.value}, true))
	}
	run := runCheck(t, "", docs)
	for i, f := range facts {
		name := fmt.Sprintf("fact-%d", i)
		if got := deniedBy(run, name, "haproxy-timeout-format"); got != f.deny {
			t.Errorf("timeout-tunnel %q: haproxy-timeout-format denies = %t, want %t", f.value, got, f.deny)
		}
		cfg := haproxyConfig([]string{"backend b\n    mode http\n    timeout tunnel " + f.value + "\n    server srv001 127.0.0.1:8080\n"})
		verdict, out := haproxyCheck(t, bin, cfg)
		if verdict != f.haproxy {
			t.Errorf("timeout tunnel %s: haproxy -c says %s, want %s\n%s", f.value, verdict, f.haproxy, out)
		}
		t.Logf("timeout-tunnel %-12q rule denies %-5t haproxy-ingress passes it on %-5t haproxy -c %s %s",
			f.value, f.deny, haproxyIngressTime.MatchString(f.value), verdict, f.note)
	}
}

// TestHAProxyNamespaceIdleBeyondTimerLimit: a Namespace's
// ws-defaults.io/idle-timeout-seconds is read up to the int32 range
// (webhook/mutate/mutate.go effective), unlike the policy's 7-day cap.
// What we then write as haproxy-ingress's timeout-tunnel must still be a
// timer HAProxy accepts (at most 2147483647 ms, ~24.8 days), or
// HAProxy refuses the whole configuration.
func TestHAProxyNamespaceIdleBeyondTimerLimit(t *testing.T) {
	needFull(t)
	bin := haproxyBin(t)
	idlesBeyond := []int{2147483, 2147484, 2592000}
	docs := []string{ingressClass("haproxy-ingress", haproxyIngressController)}
	for _, idle := range idlesBeyond {
		ns := fmt.Sprintf("idle-%d", idle)
		docs = append(docs, namespace(ns, map[string]string{v1alpha1.IdleTimeoutAnnotation: strconv.Itoa(idle)}),
			ingress(ns, "hi", "haproxy-ingress", nil, true))
	}
	run := runCheck(t, "", docs)
	for _, idle := range idlesBeyond {
		ns := fmt.Sprintf("idle-%d", idle)
		ann := annotationsOf(run.object(t, "Ingress", ns, "hi"))
		tunnel, set := ann[haproxyIngressPrefix+"timeout-tunnel"]
		if !set {
			t.Logf("namespace idle %d s: no timeout-tunnel added", idle)
			continue
		}
		verdict, out := haproxyCheck(t, bin, haproxyConfig([]string{haproxyIngressBackend("b", ann)}))
		t.Logf("namespace idle %d s: timeout-tunnel %q: haproxy -c %s", idle, tunnel, verdict)
		if verdict != "ok" {
			t.Errorf("namespace idle %d s: we add timeout-tunnel %q, which HAProxy refuses (%s), so haproxy-ingress cannot load any configuration change:\n%s",
				idle, tunnel, verdict, out)
		}
	}
}
