// Package conformance checks what the webhook injects against the
// controllers' own code: it runs `webhook check` (the real binary, built
// from cmd/webhook) over fixtures covering every defaults row and policy
// variant, and feeds the mutated objects to the code that reads them, e.g.
// ingress-nginx's annotation parsers (ingressnginx_test.go). docs/conformance.md
// lists what the suite confirmed or corrected.
//
// The tiers build real code (the webhook binary, a copy of a controller's
// module), so they are skipped with -short; `make conformance-fast` (part of
// `make test`) and `make conformance` run them.
package conformance

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// webhookBin is the webhook binary built for this run ("" with -short).
var webhookBin string

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "ws-defaults-conformance-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// WS_DEFAULTS_WEBHOOK names a webhook binary built elsewhere (e.g. by
	// `make build` in CI); by default the tiers build their own.
	webhookBin = os.Getenv("WS_DEFAULTS_WEBHOOK")
	if webhookBin == "" {
		webhookBin = filepath.Join(dir, "webhook")
		build := exec.Command("go", "build", "-o", webhookBin, "./cmd/webhook")
		build.Dir = repoRoot()
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "building the webhook:", err)
			os.Exit(1)
		}
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// needBinary skips a tier in -short mode.
func needBinary(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the webhook and controller code; run by make conformance-fast")
	}
}

// repoRoot is the module root: this package lives in test/conformance.
func repoRoot() string {
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return filepath.Clean(filepath.Join(wd, "..", ".."))
}

// checkRun is one `webhook check` run over a folder of manifests.
type checkRun struct {
	Objects []map[string]any // -o yaml: every object after mutation
	Report  report           // -o json
	Exit    int              // exit status (0 nothing denied, 1 denied)
}

type report struct {
	Results []struct {
		Kind       string   `json:"kind"`
		Namespace  string   `json:"namespace"`
		Name       string   `json:"name"`
		Controller string   `json:"controller"`
		Added      []string `json:"added"`
		Warnings   []string `json:"warnings"`
		Violations []struct {
			Rule    string `json:"rule"`
			Field   string `json:"field"`
			Action  string `json:"action"`
			Message string `json:"message"`
		} `json:"violations"`
	} `json:"results"`
}

// runCheck writes manifests (and the policy, unless empty) to a temporary
// folder and runs `webhook check` on it twice: -o yaml and -o json.
func runCheck(t *testing.T, policy string, manifests []string) checkRun {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, "manifests.yaml")
	if err := os.WriteFile(in, []byte(strings.Join(manifests, "\n---\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"check", "-f", in}
	if policy != "" {
		p := filepath.Join(dir, "policy.yaml")
		if err := os.WriteFile(p, []byte(policy), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--policy", p)
	}
	var run checkRun
	out, exit := webhook(t, append(args, "-o", "yaml")...)
	run.Exit = exit
	for _, doc := range strings.Split(string(out), "\n---\n") {
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatalf("webhook check -o yaml printed an unreadable document: %v\n%s", err, doc)
		}
		run.Objects = append(run.Objects, obj)
	}
	out, exit = webhook(t, append(args, "-o", "json")...)
	if exit != run.Exit {
		t.Fatalf("webhook check exits %d with -o json but %d with -o yaml", exit, run.Exit)
	}
	if err := json.Unmarshal(out, &run.Report); err != nil {
		t.Fatalf("webhook check -o json: %v\n%s", err, out)
	}
	return run
}

// webhook runs the binary; an exit status above 1 (bad input) fails the test.
func webhook(t *testing.T, args ...string) ([]byte, int) {
	t.Helper()
	cmd := exec.Command(webhookBin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return stdout.Bytes(), 0
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		return stdout.Bytes(), 1
	default:
		t.Fatalf("webhook %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		return nil, 0
	}
}

// object finds kind namespace/name among a run's objects.
func (r checkRun) object(t *testing.T, kind, namespace, name string) map[string]any {
	t.Helper()
	for _, o := range r.Objects {
		md, _ := o["metadata"].(map[string]any)
		if o["kind"] == kind && md["namespace"] == namespace && md["name"] == name {
			return o
		}
	}
	t.Fatalf("no %s %s/%s in the output of webhook check", kind, namespace, name)
	return nil
}

func annotationsOf(obj map[string]any) map[string]string {
	md, _ := obj["metadata"].(map[string]any)
	a, _ := md["annotations"].(map[string]any)
	out := make(map[string]string, len(a))
	for k, v := range a {
		s, _ := v.(string)
		out[k] = s
	}
	return out
}

// namespace is an opted-in Namespace manifest with annotations.
func namespace(name string, annotations map[string]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n  labels:\n    ws-defaults: enabled\n", name)
	if len(annotations) > 0 {
		b.WriteString("  annotations:\n")
		for k, v := range annotations {
			fmt.Fprintf(&b, "    %s: %q\n", k, v)
		}
	}
	return b.String()
}

func ingressClass(name, controller string) string {
	return fmt.Sprintf("apiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata:\n  name: %s\nspec:\n  controller: %s\n", name, controller)
}

// ingress is an Ingress manifest of class with annotations, optionally
// with spec.tls. Its one path, /ws, is WebSocket by its name (evidence):
// the defaults that change how requests are balanced apply only there.
func ingress(namespace, name, class string, annotations map[string]string, tls bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: %s\n  namespace: %s\n", name, namespace)
	if len(annotations) > 0 {
		b.WriteString("  annotations:\n")
		for k, v := range annotations {
			fmt.Fprintf(&b, "    %s: %q\n", k, v)
		}
	}
	fmt.Fprintf(&b, "spec:\n  ingressClassName: %s\n", class)
	if tls {
		b.WriteString("  tls:\n    - hosts: [ws.example.com]\n      secretName: ws-tls\n")
	}
	b.WriteString(`  rules:
    - host: ws.example.com
      http:
        paths:
          - path: /ws
            pathType: Prefix
            backend:
              service:
                name: ws
                port:
                  number: 8080
`)
	return b.String()
}

// idles are the idle timeouts every tier covers: 1 s to 7 days, around
// each controller's limits (60 s defaults, 3600 s, ALB's 4000 s).
var idles = []int{1, 59, 60, 61, 3599, 3600, 3601, 4000, 4001, 7200, 86400, 604800}

// noRuleOnInjected fails the test for every violation on a field the
// mutation added: our rules must never fire on our own values. (Rules about
// the user's own object, e.g. tls-required on an Ingress without TLS, may.)
func (r checkRun) noRuleOnInjected(t *testing.T, what string) {
	t.Helper()
	for _, res := range r.Report.Results {
		added := map[string]bool{}
		for _, a := range res.Added {
			key, _, _ := strings.Cut(a, "[")
			added["metadata.annotations["+key+"]"] = true
			added[a] = true
		}
		for _, v := range res.Violations {
			if added[v.Field] {
				t.Errorf("%s: %s %s/%s: rule %s (%s) fired on %s, which the mutation added: %s",
					what, res.Kind, res.Namespace, res.Name, v.Rule, v.Action, v.Field, v.Message)
			}
		}
	}
}

// moduleCopy returns a writable copy of module@version from the module
// cache under .cache/conformance/dirName (kept between runs so that the Go
// build cache, keyed by path among other things, stays warm).
func moduleCopy(t *testing.T, module, version, dirName string) string {
	t.Helper()
	dst := filepath.Join(repoRoot(), ".cache", "conformance", dirName)
	if _, err := os.Stat(filepath.Join(dst, "go.mod")); err == nil {
		return dst
	}
	dl := exec.Command("go", "mod", "download", "-json", module+"@"+version)
	dl.Dir = t.TempDir()
	dl.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	out, err := dl.Output()
	if err != nil {
		t.Fatalf("go mod download %s@%s: %v\n%s", module, version, err, out)
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		t.Fatalf("go mod download: %v\n%s", err, out)
	}
	tmp := dst + ".partial"
	_ = os.RemoveAll(tmp)
	err = filepath.WalkDir(mod.Dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(mod.Dir, path)
		target := filepath.Join(tmp, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatalf("copying %s: %v", mod.Dir, err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		t.Fatal(err)
	}
	return dst
}

// placeTest puts a tier's test (testdata/<tier>/conformance_test.go.tmpl)
// into a module copy as testFile, and the cases it reads, as JSON, into
// casesFile.
func placeTest(t *testing.T, tier, testFile, casesFile string, cases any) {
	t.Helper()
	tmpl, err := os.ReadFile(filepath.Join("testdata", tier, "conformance_test.go.tmpl"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.MarshalIndent(cases, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	for file, data := range map[string][]byte{testFile: tmpl, casesFile: b} {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
