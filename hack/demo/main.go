// Command demo shows ws-defaults at work on a throwaway local cluster. It
// starts kube-apiserver and etcd (the binaries hack/controlplane.sh builds)
// and the real `webhook serve` binary, applies the WebSocket manifests in
// manifests/ to a namespace labelled ws-defaults=enabled, and prints what
// the API server stored, marking with "+" each setting the webhook added
// (the keys its ws-defaults.io/defaulted annotation lists).
//
// With a terminal on standard input it then keeps the cluster up for
// kubectl until Ctrl-C; otherwise it stops right after printing. Either way
// it stops everything it started and removes its files.
//
// It is a Go module of its own so that the product module keeps
// cmd/webhook as its only main package; `make demo` runs it.
package main

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/go-logr/logr"
	"golang.org/x/term"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/yaml"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
	"github.com/ws-defaults/ws-defaults/test/framework"
)

// manifests are embedded so the demo does not depend on the folder it runs in.
//
//go:embed manifests/*.yaml
var manifests embed.FS

const namespace = "chat"

// ingressClasses are created before the webhook starts, so its cache holds
// them from the first request: an Ingress's defaults depend on the
// controller its class names, and a Traefik class existing is what gives a
// Service Traefik's sticky-cookie annotations.
var ingressClasses = [][2]string{
	{"nginx", "k8s.io/ingress-nginx"},
	{"haproxy", "haproxy-ingress.github.io/controller"},
	{"traefik", "traefik.io/ingress-controller"},
}

func main() { os.Exit(run()) }

func run() (code int) {
	// Ctrl-C, SIGTERM or the terminal closing (SIGHUP) at any point ends the
	// demo through the same cleanup as a normal exit: kube-apiserver and etcd
	// run in process groups of their own and would outlive it otherwise.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	// envtest and the client log through controller-runtime; without a
	// logger it complains after 30 s. The demo reports errors itself.
	ctrllog.SetLogger(logr.Discard())

	var cleanup []func() error // run last first
	defer func() {
		for i := len(cleanup) - 1; i >= 0; i-- {
			if err := cleanup[i](); err != nil {
				fmt.Fprintln(os.Stderr, "demo: cleanup:", err)
				code = 1
			}
		}
	}()
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "demo:", err); return 1 }

	root, err := framework.RepoRoot()
	if err != nil {
		return fail(err)
	}
	work, err := os.MkdirTemp("", "ws-defaults-demo-")
	if err != nil {
		return fail(err)
	}
	cleanup = append(cleanup, func() error { return os.RemoveAll(work) })
	// The controllers' own CRDs from their Go modules (real schemas), and
	// stubs only for kinds whose modules are not served.
	moduleCRDs := filepath.Join(root, ".cache", "crds")
	if err := framework.FetchModuleCRDs(moduleCRDs); err != nil {
		return fail(err)
	}
	assets, err := framework.ControlPlaneAssets(root, os.Stderr)
	if err != nil {
		return fail(err)
	}
	fmt.Println("building cmd/webhook")
	bin, err := framework.BuildWebhook(root, work)
	if err != nil {
		return fail(err)
	}
	fmt.Println("starting kube-apiserver and etcd")
	cluster, err := framework.StartCluster(framework.ClusterOptions{
		Assets:  assets,
		CRDDirs: []string{filepath.Join(root, "charts", "ws-defaults", "crds"), moduleCRDs, filepath.Join(root, "test", "e2e", "testdata", "crds")},
		Workdir: work,
	})
	if err != nil {
		return fail(err)
	}
	cleanup = append(cleanup, cluster.Stop)
	c := cluster.Client
	for _, ic := range ingressClasses {
		doc := fmt.Sprintf("apiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata: {name: %s}\nspec: {controller: %s}\n", ic[0], ic[1])
		if err := c.Create(ctx, object(doc)); err != nil {
			return fail(err)
		}
	}
	for _, doc := range gatewayInfra {
		if err := c.Create(ctx, object(doc)); err != nil {
			return fail(err)
		}
	}
	logPath := filepath.Join(work, "webhook.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return fail(err)
	}
	cleanup = append(cleanup, func() error {
		// The log goes with the temp folder: show it when something failed.
		if b, err := os.ReadFile(logPath); err == nil && code != 0 {
			fmt.Fprintf(os.Stderr, "---- webhook log ----\n%s", b)
		}
		return logFile.Close()
	})
	fmt.Println("starting webhook serve, logging to", logPath)
	hook, err := framework.StartWebhook(ctx, bin, cluster, logFile)
	if err != nil {
		return fail(err)
	}
	cleanup = append(cleanup, hook.Stop)
	doc := fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata: {name: %s, labels: {%s: %s}}\n", namespace, v1alpha1.OptInLabel, v1alpha1.OptInEnabled)
	if err := c.Create(ctx, object(doc)); err != nil {
		return fail(err)
	}
	// No wait for the webhook's informer to see the namespace: on a cache
	// miss it reads the namespace from the API server.

	fmt.Printf("applying manifests/*.yaml to namespace %s (labelled %s=%s)\n", namespace, v1alpha1.OptInLabel, v1alpha1.OptInEnabled)
	objs, err := apply(ctx, c)
	if err != nil {
		return fail(err)
	}
	color := term.IsTerminal(int(os.Stdout.Fd())) && os.Getenv("NO_COLOR") == ""
	for _, u := range objs {
		if err := show(ctx, c, u, color); err != nil {
			return fail(err)
		}
	}

	if err := showRules(ctx, cluster.Config); err != nil {
		return fail(err)
	}

	kubectl := filepath.Join(assets, "kubectl")
	fmt.Printf("\nWhile the demo runs, try it from another shell:\n  export KUBECONFIG=%s\n  alias kubectl=%s\n", cluster.Kubeconfig, kubectl)
	fmt.Println(`  printf 'apiVersion: v1\nkind: Service\nmetadata: {name: echo}\nspec: {ports: [{name: ws, port: 80}]}\n' | kubectl -n chat apply -o yaml -f -`)
	fmt.Println("Webhook log:", logPath)
	if !term.IsTerminal(int(os.Stdin.Fd())) {
		fmt.Println("Standard input is not a terminal: stopping now (run `make demo` in a terminal to keep the cluster up).")
		return 0
	}
	fmt.Println("Press Ctrl-C to stop the webhook and the cluster.")
	// The webhook runs in a process group of its own, so Ctrl-C reaches
	// only the demo, which then stops everything it started.
	<-ctx.Done()
	fmt.Println("stopping")
	return 0
}

// gatewayInfra is the platform team's part of Gateway API, created before
// the webhook starts: an Envoy Gateway GatewayClass and a Gateway in its
// own namespace, which the HTTPRoute in manifests/ attaches to. The
// webhook resolves the route's implementation through them.
var gatewayInfra = []string{
	"apiVersion: v1\nkind: Namespace\nmetadata: {name: infra}\n",
	"apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: eg}\nspec: {controllerName: gateway.envoyproxy.io/gatewayclass-controller}\n",
	"apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: edge, namespace: infra}\nspec:\n  gatewayClassName: eg\n" +
		"  listeners: [{name: http, protocol: HTTP, port: 80, allowedRoutes: {namespaces: {from: All}}}]\n",
}

// mistakes are advice from the guide "Kubernetes Ingress WebSocket
// Configuration" that the rules catch: each is
// sent as a server-side dry run, and what the API server answers is shown.
var mistakes = []struct{ what, annotations string }{
	{"the nginx snippet a popular WebSocket guide suggests, and a timeout with a unit",
		`nginx.ingress.kubernetes.io/server-snippet: "proxy_read_timeout 7d;", nginx.ingress.kubernetes.io/proxy-read-timeout: "3600s"`},
	{"the hour-long proxy-connect-timeout a popular WebSocket guide suggests",
		`nginx.ingress.kubernetes.io/proxy-connect-timeout: "3600"`},
}

// routeMistakes are Gateway API objects the rules catch: what
// ingress2gateway makes of ingress-nginx's CORS defaults.
var routeMistakes = []struct{ what, doc string }{
	{"an ingress2gateway-style CORS filter (any Origin, with credentials)",
		"apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: mistake, namespace: " + namespace + "}\n" +
			"spec:\n  parentRefs: [{name: edge, namespace: infra}]\n  rules:\n" +
			"  - filters: [{type: CORS, cors: {allowOrigins: [\"*\"], allowCredentials: true}}]\n    backendRefs: [{name: api, port: 80}]\n"},
}

// showRules dry-runs each mistake in the opted-in namespace and prints the
// denial or the warnings the API server relays from the webhook.
func showRules(ctx context.Context, cfg *rest.Config) error {
	w := &warnings{}
	cfg = rest.CopyConfig(cfg)
	cfg.WarningHandler = w
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return err
	}
	type attempt struct {
		what string
		u    *unstructured.Unstructured
	}
	var attempts []attempt
	for _, m := range mistakes {
		attempts = append(attempts, attempt{"an Ingress with " + m.what, object("apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: mistake\n  namespace: " + namespace +
			"\n  annotations: {" + m.annotations + "}\nspec:\n  ingressClassName: nginx\n  tls: [{hosts: [ws.example.com], secretName: t}]\n" +
			"  rules: [{host: ws.example.com, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: ws, port: {number: 80}}}}]}}]\n")})
	}
	for _, m := range routeMistakes {
		attempts = append(attempts, attempt{m.what, object(m.doc)})
	}
	for _, a := range attempts {
		w.list = nil
		fmt.Printf("\n=== Applying %s\n", a.what)
		err := c.Create(ctx, a.u, client.DryRunAll)
		switch {
		case apierrors.IsForbidden(err) || apierrors.IsInvalid(err) || apierrors.IsBadRequest(err):
			fmt.Println("  rejected:")
			for _, line := range strings.Split(err.Error(), "\n") {
				fmt.Println("    " + line)
			}
		case err != nil:
			return err
		default:
			fmt.Println("  accepted")
		}
		for _, text := range w.list {
			fmt.Println("  warning: " + text)
		}
	}
	return nil
}

// warnings collects the Warning headers the API server relays.
type warnings struct{ list []string }

func (w *warnings) HandleWarningHeader(_ int, _ string, text string) { w.list = append(w.list, text) }

// apply server-side applies every manifest, in file order, to the demo
// namespace and returns what the API server stored, webhook changes
// included.
func apply(ctx context.Context, c client.Client) ([]*unstructured.Unstructured, error) {
	files, err := fs.Glob(manifests, "manifests/*.yaml")
	if err != nil {
		return nil, err
	}
	var out []*unstructured.Unstructured
	for _, f := range files {
		data, err := manifests.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for _, doc := range strings.Split(string(data), "\n---\n") {
			u := &unstructured.Unstructured{}
			if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			if len(u.Object) == 0 {
				continue
			}
			u.SetNamespace(namespace)
			// Apply decodes the API server's answer, the stored object, into u.
			if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner("ws-defaults-demo")); err != nil {
				return nil, fmt.Errorf("apply %s %s: %w", u.GetKind(), u.GetName(), err)
			}
			out = append(out, u)
		}
	}
	return out, nil
}

// show prints a header and the stored object as YAML: apiVersion, kind,
// spec, and the metadata a user writes (status and server bookkeeping left
// out), with the settings the webhook added marked.
func show(ctx context.Context, c client.Client, u *unstructured.Unstructured, color bool) error {
	var keys []string
	for _, k := range strings.Split(u.GetAnnotations()[v1alpha1.DefaultedAnnotation], ",") {
		if k = strings.TrimSpace(k); k != "" {
			keys = append(keys, k)
		}
	}
	p := &printer{w: os.Stdout, color: color, added: map[string]bool{}}
	for _, k := range keys {
		if strings.HasPrefix(k, "spec.") { // a field path
			p.added[k] = true
			continue
		}
		// An annotation key, or key[attribute] for an attribute merged into
		// a list the user started (AWS); the whole line is marked then.
		k, _, _ = strings.Cut(k, "[")
		p.added["metadata.annotations."+k] = true
	}

	header := fmt.Sprintf("%s %s/%s", u.GetKind(), u.GetNamespace(), u.GetName())
	if class, ok, _ := unstructured.NestedString(u.Object, "spec", "ingressClassName"); ok && u.GetKind() == "Ingress" {
		ic := &unstructured.Unstructured{}
		ic.SetAPIVersion("networking.k8s.io/v1")
		ic.SetKind("IngressClass")
		if err := c.Get(ctx, client.ObjectKey{Name: class}, ic); err != nil {
			return fmt.Errorf("IngressClass %s: %w", class, err)
		}
		controller, _, _ := unstructured.NestedString(ic.Object, "spec", "controller")
		header += fmt.Sprintf(" (class %s, controller %s)", class, controller)
	}
	plural := "s"
	if len(keys) == 1 {
		plural = ""
	}
	header = fmt.Sprintf("=== %s: %d setting%s added", header, len(keys), plural)
	if color {
		header = "\x1b[1m" + header + "\x1b[0m"
	}
	fmt.Println("\n" + header)

	meta := map[string]any{}
	stored, _ := u.Object["metadata"].(map[string]any)
	for _, k := range []string{"name", "namespace", "labels", "annotations"} {
		if v, ok := stored[k]; ok {
			meta[k] = v
		}
	}
	p.entries("", map[string]any{"apiVersion": u.GetAPIVersion(), "kind": u.GetKind(), "metadata": meta, "spec": u.Object["spec"]}, 0, false)
	return nil
}

// printer writes block-style YAML with a two-column gutter: "+ " for what
// the webhook added, blank otherwise.
type printer struct {
	w     io.Writer
	added map[string]bool // field paths, annotations as metadata.annotations.<key>
	color bool
}

func (p *printer) line(added bool, text string) {
	switch {
	case added && p.color:
		fmt.Fprintf(p.w, "\x1b[32m+ %s\x1b[0m\n", text)
	case added:
		fmt.Fprintf(p.w, "+ %s\n", text)
	default:
		fmt.Fprintf(p.w, "  %s\n", text)
	}
}

// entries prints m's keys, sorted, at depth; in a list item (item) the
// first key follows the "- ".
func (p *printer) entries(path string, m map[string]any, depth int, item bool) {
	for i, k := range slices.Sorted(maps.Keys(m)) {
		lead := strings.Repeat("  ", depth)
		if item && i == 0 {
			lead = strings.Repeat("  ", depth-1) + "- "
		}
		at := k
		if path != "" {
			at = path + "." + k
		}
		p.node(at, lead+scalar(k)+":", m[k], depth)
	}
}

// node prints the value at path after head ("key:").
func (p *printer) node(path, head string, v any, depth int) {
	switch v := v.(type) {
	case map[string]any:
		if len(v) > 0 {
			p.line(p.isAdded(path, v), head)
			p.entries(path, v, depth+1, false)
			return
		}
	case []any:
		if len(v) > 0 {
			p.line(p.isAdded(path, v), head)
			for i, item := range v {
				at := fmt.Sprintf("%s[%d]", path, i)
				if m, ok := item.(map[string]any); ok && len(m) > 0 {
					p.entries(at, m, depth+1, true)
				} else {
					p.line(p.isAdded(at, item), strings.Repeat("  ", depth)+"- "+scalar(item))
				}
			}
			return
		}
	}
	p.line(p.isAdded(path, v), head+" "+scalar(v))
}

// isAdded says whether the webhook added v: a value it names, or an object
// or list all of whose values it added (a parent it created).
func (p *printer) isAdded(path string, v any) bool {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			if !p.isAdded(path+"."+k, child) {
				return false
			}
		}
		return len(v) > 0
	case []any:
		for i, child := range v {
			if !p.isAdded(fmt.Sprintf("%s[%d]", path, i), child) {
				return false
			}
		}
		return len(v) > 0
	}
	return p.added[path]
}

// scalar writes a key or a leaf value as YAML on one line, quoting strings
// that would read as another type ("7200", "off").
func scalar(v any) string {
	switch s := v.(type) {
	case map[string]any, []any: // only empty ones or lists in lists get here
		b, _ := json.Marshal(v)
		return string(b)
	case string:
		if strings.Contains(s, "\n") {
			b, _ := json.Marshal(s)
			return string(b)
		}
	}
	b, err := yaml.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(string(b), "\n")
}

// object reads one YAML document.
func object(doc string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
		panic(err)
	}
	return u
}
