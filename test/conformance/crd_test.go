package conformance

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
	"github.com/ws-defaults/ws-defaults/test/framework"
)

// crdPolicies are the policy variants every mutated object is checked
// under: the values a policy can put into a CRD field.
var crdPolicies = map[string]string{
	"built-in":              "",
	"ws hint, affinity off": "apiVersion: ws-defaults.io/v1alpha1\nkind: WebSocketPolicy\nmetadata: {name: default}\nspec:\n  mutation:\n    portProtocolHint: kubernetes.io/ws\n    affinity: {enabled: false}\n",
	"7 days, other cookie":  "apiVersion: ws-defaults.io/v1alpha1\nkind: WebSocketPolicy\nmetadata: {name: default}\nspec:\n  mutation:\n    idleTimeoutSeconds: 604800\n    affinity: {cookieName: ws.route-1, cookieMaxAgeSeconds: 0, sameSite: None}\n    serviceAffinity: {timeoutSeconds: 86400}\n",
}

// crdFixtures are objects of every kind the webhook mutates (and the kinds
// whose real CRD the suite installs), in namespace ns.
func crdFixtures(ns string) []string {
	return []string{
		`apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: {name: chat, namespace: ` + ns + `}
spec:
  virtualhost: {fqdn: chat.example.com}
  routes:
  - conditions: [{prefix: /ws}]
    services: [{name: chat, port: 8080}]
  - conditions: [{prefix: /api}]
    services: [{name: api, port: 8080}]
  - enableWebsockets: true
    conditions: [{prefix: /live}]
    services: [{name: live, port: 8080}]
`,
		"apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: chat, namespace: " + ns + "}\nspec:\n  host: chat\n",
		"apiVersion: networking.istio.io/v1beta1\nkind: DestinationRule\nmetadata: {name: chat-beta, namespace: " + ns + "}\nspec:\n  host: chat\n  trafficPolicy: {connectionPool: {tcp: {maxConnections: 10}}}\n",
		"apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: chat, namespace: " + ns + "}\nspec:\n  hosts: [chat]\n  http:\n  - match: [{uri: {prefix: /ws}}]\n    route: [{destination: {host: chat}}]\n",
		"apiVersion: v1\nkind: Service\nmetadata: {name: chat, namespace: " + ns + "}\nspec:\n  ports:\n  - {name: websocket, port: 8080}\n  - {name: wss, port: 8443}\n  - {name: http, port: 80}\n",
		"apiVersion: traefik.io/v1alpha1\nkind: ServersTransport\nmetadata: {name: chat, namespace: " + ns + "}\nspec: {serverName: chat}\n",
		"apiVersion: traefik.io/v1alpha1\nkind: Middleware\nmetadata: {name: chat, namespace: " + ns + "}\nspec: {headers: {customRequestHeaders: {X-Ws: \"1\"}}}\n",
		ingress(ns, "nginx", "nginx", nil, true),
		ingress(ns, "haproxy-ingress", "haproxy-ingress", nil, true),
		ingress(ns, "haproxytech", "haproxy", nil, false),
		ingress(ns, "traefik", "traefik", nil, true),
		ingress(ns, "alb", "alb", nil, true),
	}
}

// TestMutatedObjectsAcceptedByRealCRDs is the CRD tier: what `webhook
// check` outputs for every mutated kind, under each policy variant and
// namespace idle timeouts from 1 s to 7 days, is created (server-side dry
// run) in a real API server holding the controllers' own CRDs, taken from
// their Go modules (test/framework.ModuleCRDs). A value our mutation adds
// that a CRD's schema or CEL rules reject fails here.
func TestMutatedObjectsAcceptedByRealCRDs(t *testing.T) {
	needBinary(t)
	c := crdCluster(t, filepath.Join(repoRoot(), "charts", "ws-defaults", "crds"))
	ctx := context.Background()
	created := map[string]bool{}
	checked := map[string]int{}
	for name, policy := range crdPolicies {
		docs := []string{ingressClass("haproxy-ingress", "haproxy-ingress.github.io/controller"), ingressClass("alb", "ingress.k8s.aws/alb")}
		for _, idle := range idles {
			ns := fmt.Sprintf("crd-idle-%d", idle)
			docs = append(docs, namespace(ns, map[string]string{v1alpha1.IdleTimeoutAnnotation: strconv.Itoa(idle)}))
			docs = append(docs, crdFixtures(ns)...)
		}
		run := runCheck(t, policy, docs)
		for _, obj := range run.Objects {
			u := &unstructured.Unstructured{Object: obj}
			if u.GetKind() == "" {
				continue
			}
			key := u.GetKind() + "/" + u.GetNamespace() + "/" + u.GetName()
			if u.GetKind() == "Namespace" || u.GetKind() == "IngressClass" {
				// Stored for real once, so the namespaced objects have a home.
				if !created[key] {
					if err := c.Create(ctx, u.DeepCopy()); err != nil {
						t.Fatalf("%s: %v", key, err)
					}
					created[key] = true
				}
				continue
			}
			if err := c.Create(ctx, u.DeepCopy(), client.DryRunAll); err != nil {
				t.Errorf("policy %s: %s as mutated is refused by its CRD: %v\nadded: %s", name, key, err, annotationsOf(obj)[v1alpha1.DefaultedAnnotation])
				continue
			}
			checked[u.GetKind()]++
		}
	}
	for _, kind := range []string{"HTTPProxy", "DestinationRule", "VirtualService", "Service", "Ingress", "ServersTransport", "Middleware"} {
		if checked[kind] == 0 {
			t.Errorf("no %s was checked", kind)
		}
	}
	t.Logf("objects accepted by their CRDs after mutation: %s", strings.TrimPrefix(fmt.Sprint(checked), "map"))
}

// crdCluster starts a local kube-apiserver holding the controllers' CRDs
// from their Go modules (test/framework.ModuleCRDs) and those in extraDirs,
// stopped when the test ends, and returns a client for it.
func crdCluster(t *testing.T, extraDirs ...string) client.Client {
	t.Helper()
	root := repoRoot()
	moduleCRDs := filepath.Join(root, ".cache", "crds")
	if err := framework.FetchModuleCRDs(moduleCRDs); err != nil {
		t.Fatal(err)
	}
	assets, err := framework.ControlPlaneAssets(root, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     append(extraDirs, moduleCRDs),
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
