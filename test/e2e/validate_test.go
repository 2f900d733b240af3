package e2e

import (
	"context"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// denyCase is a manifest that one deny rule must stop, on create and on
// update (the update starts from good, which is allowed, and turns it bad).
type denyCase struct {
	rule string
	// namespace is "enabled" for every rule: outside opt-in, cluster-scope
	// rules only warn by default (TestEnforcementFollowsOptIn).
	namespace string
	bad, good string
	// apiServerFirst marks cases the API server's own validation rejects
	// on create before any webhook runs; the update must still name rule.
	apiServerFirst bool
	// apiServerAlways: the API server rejects both create and update itself
	// (the rule exists for `webhook check`, before anything reaches a cluster).
	apiServerAlways bool
}

func ing(name, annotations, spec string) string {
	return "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: " + name + "\n  annotations: {" + annotations + "}\nspec:\n" +
		spec + "  rules:\n  - host: ws.example.com\n    http:\n      paths:\n      - {path: /, pathType: Prefix, backend: {service: {name: ws, port: {number: 80}}}}\n"
}

const tlsSpec = "  tls: [{hosts: [ws.example.com], secretName: ws}]\n"

var denyCases = []denyCase{
	// Cluster scope: judged where they deny, in an opted-in namespace.
	{rule: "nginx-snippet-annotation", namespace: "enabled",
		bad:  ing("snippet", `nginx.ingress.kubernetes.io/server-snippet: "return 200;"`, "  ingressClassName: nginx\n"),
		good: ing("snippet", ``, "  ingressClassName: nginx\n")},
	{rule: "haproxy-config-snippet", namespace: "enabled",
		bad:  ing("hsnippet", `haproxy.org/backend-config-snippet: "http-request deny"`, "  ingressClassName: haproxy\n"),
		good: ing("hsnippet", ``, "  ingressClassName: haproxy\n")},
	{rule: "traefik-insecure-skip-verify", namespace: "enabled",
		bad:  "apiVersion: traefik.io/v1alpha1\nkind: ServersTransport\nmetadata: {name: st}\nspec: {serverName: ws, insecureSkipVerify: true}\n",
		good: "apiVersion: traefik.io/v1alpha1\nkind: ServersTransport\nmetadata: {name: st}\nspec: {serverName: ws}\n"},
	{rule: "cors-wildcard-credentials", namespace: "enabled",
		bad:  ing("cors", `nginx.ingress.kubernetes.io/enable-cors: "true"`, "  ingressClassName: nginx\n"),
		good: ing("cors", `nginx.ingress.kubernetes.io/enable-cors: "true", nginx.ingress.kubernetes.io/cors-allow-origin: "https://app.example.com"`, "  ingressClassName: nginx\n")},
	{rule: "ingress-class-mismatch", namespace: "enabled", apiServerFirst: true,
		bad:  ing("mismatch", `kubernetes.io/ingress.class: traefik`, "  ingressClassName: nginx\n"),
		good: ing("mismatch", ``, "  ingressClassName: nginx\n")},
	// Istio's own CRD (istio.io/api v1.32) refuses both of these on create
	// and update (loadBalancer is a oneOf; timeout must exceed 1ms): the
	// rules matter in `webhook check`, and on clusters with older CRDs.
	{rule: "istio-lb-policy-conflict", namespace: "enabled", apiServerAlways: true,
		bad:  "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: lb}\nspec:\n  host: ws\n  trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN, consistentHash: {httpCookie: {name: s, ttl: 0s}}}}\n",
		good: "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: lb}\nspec:\n  host: ws\n  trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}\n"},
	{rule: "istio-zero-timeout", namespace: "enabled", apiServerAlways: true,
		bad:  "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: vs}\nspec:\n  hosts: [ws]\n  http: [{timeout: 0s, route: [{destination: {host: ws}}]}]\n",
		good: "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: vs}\nspec:\n  hosts: [ws]\n  http: [{route: [{destination: {host: ws}}]}]\n"},
	{rule: "istio-h2-upgrade-client-protocol", namespace: "enabled",
		bad:  "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: h2c}\nspec:\n  host: ws\n  trafficPolicy: {connectionPool: {http: {h2UpgradePolicy: UPGRADE, useClientProtocol: true}}}\n",
		good: "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: h2c}\nspec:\n  host: ws\n  trafficPolicy: {connectionPool: {http: {useClientProtocol: true}}}\n"},
	{rule: "service-affinity-timeout-range", namespace: "enabled", apiServerAlways: true,
		bad:  "apiVersion: v1\nkind: Service\nmetadata: {name: aff}\nspec:\n  ports: [{port: 80}]\n  sessionAffinity: ClientIP\n  sessionAffinityConfig: {clientIP: {timeoutSeconds: 100000}}\n",
		good: "apiVersion: v1\nkind: Service\nmetadata: {name: aff}\nspec:\n  ports: [{port: 80}]\n  sessionAffinity: ClientIP\n  sessionAffinityConfig: {clientIP: {timeoutSeconds: 600}}\n"},
	{rule: "alb-ssl-redirect-format", namespace: "enabled",
		bad:  ing("albssl", `alb.ingress.kubernetes.io/ssl-redirect: "true"`, "  ingressClassName: alb\n"),
		good: ing("albssl", `alb.ingress.kubernetes.io/ssl-redirect: "443"`, "  ingressClassName: alb\n")},

	// Opted-in scope: judged in an enabled namespace.
	{rule: "nginx-timeout-format", namespace: "enabled",
		bad:  ing("fmt", `nginx.ingress.kubernetes.io/proxy-read-timeout: "3600s"`, "  ingressClassName: nginx\n"),
		good: ing("fmt", `nginx.ingress.kubernetes.io/proxy-read-timeout: "3600"`, "  ingressClassName: nginx\n")},
	// A "breaks WebSocket" rule needs evidence (interfaces.md): the
	// annotation says this object carries WebSocket.
	{rule: "nginx-upgrade-blocked", namespace: "enabled",
		bad:  ing("upgrade", `nginx.ingress.kubernetes.io/proxy-http-version: "1.0", ws-defaults.io/websocket: "true"`, "  ingressClassName: nginx\n"),
		good: ing("upgrade", `nginx.ingress.kubernetes.io/proxy-http-version: "1.1"`, "  ingressClassName: nginx\n")},
	{rule: "ssl-redirect-disabled", namespace: "enabled",
		bad:  ing("redirect", `nginx.ingress.kubernetes.io/ssl-redirect: "false"`, "  ingressClassName: nginx\n"+tlsSpec),
		good: ing("redirect", ``, "  ingressClassName: nginx\n"+tlsSpec)},
	{rule: "cookie-samesite-none-insecure", namespace: "enabled",
		bad:  ing("samesite", `nginx.ingress.kubernetes.io/session-cookie-samesite: "None"`, "  ingressClassName: nginx\n"),
		good: ing("samesite", `nginx.ingress.kubernetes.io/session-cookie-samesite: "None", nginx.ingress.kubernetes.io/session-cookie-secure: "true"`, "  ingressClassName: nginx\n")},
	{rule: "traefik-annotation-type", namespace: "enabled",
		bad:  ing("prio", `traefik.ingress.kubernetes.io/router.priority: "high"`, "  ingressClassName: traefik\n"+tlsSpec),
		good: ing("prio", `traefik.ingress.kubernetes.io/router.priority: "10"`, "  ingressClassName: traefik\n"+tlsSpec)},
	{rule: "haproxy-timeout-format", namespace: "enabled",
		bad:  ing("tunnel", `haproxy-ingress.github.io/timeout-tunnel: "3600"`, "  ingressClassName: hap\n"+tlsSpec),
		good: ing("tunnel", `haproxy-ingress.github.io/timeout-tunnel: "1h"`, "  ingressClassName: hap\n"+tlsSpec)},
	{rule: "haproxy-cookie-conflict", namespace: "enabled",
		bad:  "apiVersion: v1\nkind: Service\nmetadata:\n  name: cookies\n  annotations: {haproxy.org/cookie-persistence: a, haproxy.org/cookie-persistence-no-dynamic: b}\nspec: {ports: [{port: 80}]}\n",
		good: "apiVersion: v1\nkind: Service\nmetadata:\n  name: cookies\n  annotations: {haproxy.org/cookie-persistence: a}\nspec: {ports: [{port: 80}]}\n"},
	{rule: "istio-h2-upgrade", namespace: "enabled",
		bad:  "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: up, annotations: {ws-defaults.io/websocket: \"true\"}}\nspec:\n  host: ws\n  trafficPolicy: {connectionPool: {http: {h2UpgradePolicy: UPGRADE}}}\n",
		good: "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: up}\nspec:\n  host: ws\n"},
	{rule: "alb-idle-timeout-range", namespace: "enabled",
		bad:  ing("albidle", `alb.ingress.kubernetes.io/load-balancer-attributes: "idle_timeout.timeout_seconds=5000"`, "  ingressClassName: alb\n"),
		good: ing("albidle", `alb.ingress.kubernetes.io/load-balancer-attributes: "idle_timeout.timeout_seconds=4000"`, "  ingressClassName: alb\n")},
}

func TestDenyRules(t *testing.T) {
	namespace(t, "enabled-deny", map[string]string{"ws-defaults": "enabled"})
	ctx := context.Background()
	for _, tc := range denyCases {
		t.Run(tc.rule, func(t *testing.T) {
			ns := tc.namespace + "-deny"
			bad, good := object(tc.bad), object(tc.good)
			bad.SetNamespace(ns)
			good.SetNamespace(ns)

			err := cluster.Client.Create(ctx, bad.DeepCopy())
			switch {
			case err == nil:
				t.Fatalf("create: %s was not denied", tc.rule)
			case !tc.apiServerFirst && !tc.apiServerAlways && !strings.Contains(err.Error(), "denied the request"):
				t.Fatalf("create denied, but not by the webhook: %v", err)
			case !tc.apiServerFirst && !tc.apiServerAlways && !strings.Contains(err.Error(), tc.rule+" ("):
				t.Fatalf("create: denial does not name %s first on its line: %v", tc.rule, err)
			}

			if err := cluster.Client.Create(ctx, good); err != nil {
				t.Fatalf("compliant variant denied: %v", err)
			}
			bad.SetResourceVersion(good.GetResourceVersion())
			err = cluster.Client.Update(ctx, bad)
			if err == nil {
				t.Fatalf("update: %s was not denied", tc.rule)
			}
			if !tc.apiServerAlways && !strings.Contains(err.Error(), tc.rule+" (") {
				t.Fatalf("update: denial does not name %s: %v", tc.rule, err)
			}
		})
	}
}

// TestEnforcementFollowsOptIn: a snippet Ingress (a cluster-scope deny
// rule) is admitted with a warning in a namespace that did not opt in,
// denied in one that did, and admitted untouched and silently when
// labelled ws-defaults=disabled (the built-in spec.enforcement).
func TestEnforcementFollowsOptIn(t *testing.T) {
	namespace(t, "enforce-enabled", map[string]string{"ws-defaults": "enabled"})
	namespace(t, "enforce-plain", nil)
	ctx := context.Background()
	snippet := func(name, namespace, labels string) *unstructured.Unstructured {
		u := object(ing(name, `nginx.ingress.kubernetes.io/server-snippet: "return 200;"`, "  ingressClassName: nginx\n"))
		u.SetNamespace(namespace)
		if labels != "" {
			u.SetLabels(map[string]string{"ws-defaults": labels})
		}
		return u
	}
	t.Run("plain namespace: admitted with a warning", func(t *testing.T) {
		c, w := warningClient(t)
		if err := c.Create(ctx, snippet("snip-plain", "enforce-plain", "")); err != nil {
			t.Fatalf("denied outside opt-in: %v", err)
		}
		if !strings.Contains(w.all(), "nginx-snippet-annotation (") {
			t.Errorf("warnings %q lack nginx-snippet-annotation", w.all())
		}
	})
	t.Run("opted-in namespace: denied", func(t *testing.T) {
		err := cluster.Client.Create(ctx, snippet("snip-enabled", "enforce-enabled", ""))
		if err == nil || !strings.Contains(err.Error(), "nginx-snippet-annotation (") {
			t.Fatalf("want a denial naming nginx-snippet-annotation, got %v", err)
		}
	})
	for _, ns := range []string{"enforce-enabled", "enforce-plain"} {
		t.Run("labelled disabled in "+ns+": admitted silently, untouched", func(t *testing.T) {
			c, w := warningClient(t)
			u := snippet("snip-disabled", ns, "disabled")
			if err := c.Create(ctx, u); err != nil {
				t.Fatalf("denied although labelled disabled: %v", err)
			}
			if w.all() != "" {
				t.Errorf("warnings %q for an object labelled disabled", w.all())
			}
			if got := stored(t, u).GetAnnotations(); len(got) != 1 {
				t.Errorf("annotations %v: want only the snippet (no defaults)", got)
			}
		})
	}
}

// warnings collects the API server's Warning headers.
type warnings struct {
	mu   sync.Mutex
	list []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, text)
}

func (w *warnings) all() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.list, "\n")
}

func warningClient(t *testing.T) (client.Client, *warnings) {
	t.Helper()
	w := &warnings{}
	cfg := rest.CopyConfig(cluster.Config)
	cfg.WarningHandler = w
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c, w
}

func TestWarnAndScope(t *testing.T) {
	namespace(t, "enabled-warn", map[string]string{"ws-defaults": "enabled"})
	namespace(t, "plain-warn", nil)
	ctx := context.Background()

	t.Run("a warn rule warns and the object is stored", func(t *testing.T) {
		c, w := warningClient(t)
		u := object(ing("connect", `nginx.ingress.kubernetes.io/proxy-connect-timeout: "3600"`, "  ingressClassName: nginx\n"+tlsSpec))
		u.SetNamespace("enabled-warn")
		if err := c.Create(ctx, u); err != nil {
			t.Fatalf("warn rule blocked the create: %v", err)
		}
		if !strings.Contains(w.all(), "nginx-connect-timeout-range (") {
			t.Errorf("warnings %q lack nginx-connect-timeout-range", w.all())
		}
		stored(t, u)
	})
	t.Run("an opted-in rule does not fire where nobody opted in", func(t *testing.T) {
		c, w := warningClient(t)
		u := object(ing("fmt-plain", `nginx.ingress.kubernetes.io/proxy-read-timeout: "3600s"`, "  ingressClassName: nginx\n"))
		u.SetNamespace("plain-warn")
		if err := c.Create(ctx, u); err != nil {
			t.Fatalf("opted-in rule applied outside opted-in objects: %v", err)
		}
		if w.all() != "" {
			t.Errorf("unexpected warnings %q", w.all())
		}
	})
	t.Run("the rules judge the object after mutation", func(t *testing.T) {
		// haproxy-ingress's own cookie keywords lack "secure"; the webhook
		// adds them with it, so sticky-cookie-insecure must stay quiet.
		c, w := warningClient(t)
		u := object(ing("after", `haproxy-ingress.github.io/affinity: cookie`, "  ingressClassName: hap\n"+tlsSpec))
		u.SetNamespace("enabled-warn")
		if err := c.Create(ctx, u); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(w.all(), "sticky-cookie-insecure") {
			t.Errorf("rule fired on what the mutation fixed: %q", w.all())
		}
		got := stored(t, u)
		if kw := got.GetAnnotations()["haproxy-ingress.github.io/session-cookie-keywords"]; !strings.Contains(kw, "secure") {
			t.Errorf("keywords = %q", kw)
		}
	})
}
