package check

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
)

// ---- helpers ----

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// wheres lists each object's Where() and kind, "in.yaml#0 Ingress".
func wheres(objs []Object) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = o.Where() + " " + o.Kind()
	}
	return out
}

type runResult struct {
	sum            Summary
	err            error
	stdout, stderr string
}

func run(t *testing.T, o Options) runResult {
	t.Helper()
	var out, errb bytes.Buffer
	o.Stdout, o.Stderr = &out, &errb
	if o.Stdin == nil {
		o.Stdin = strings.NewReader("")
	}
	sum, err := Run(context.Background(), o)
	return runResult{sum, err, out.String(), errb.String()}
}

// checkString checks one YAML input given on stdin and returns the report.
func checkString(t *testing.T, input string, v Validator) *Report {
	t.Helper()
	r := run(t, Options{Files: []string{"-"}, Output: "json", Stdin: strings.NewReader(input), Validator: v})
	if r.err != nil {
		t.Fatalf("Run: %v", r.err)
	}
	var rep Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, r.stdout)
	}
	return &rep
}

func find(t *testing.T, rep *Report, kind, name string) Result {
	t.Helper()
	for _, r := range rep.Results {
		if r.Kind == kind && r.Name == name {
			return r
		}
	}
	t.Fatalf("no result for %s %s", kind, name)
	return Result{}
}

func patchValue(r Result, path string) (any, bool) {
	for _, op := range r.Patch {
		if op.Path == path {
			return op.Value, true
		}
	}
	return nil, false
}

// fakeValidator returns fn's violations.
type fakeValidator struct {
	fn func(obj map[string]any, in Input) []Violation
}

func (f fakeValidator) Validate(_ context.Context, obj map[string]any, in Input) ([]Violation, error) {
	return f.fn(obj, in), nil
}

// denyIngresses denies every Ingress and warns on every Service.
var denyIngresses = fakeValidator{fn: func(obj map[string]any, _ Input) []Violation {
	switch obj["kind"] {
	case "Ingress":
		return []Violation{{Rule: "nginx-snippet-annotation", Action: "deny", Severity: "critical",
			Field: "metadata.annotations[nginx.ingress.kubernetes.io/server-snippet]", Message: "remove the snippet"}}
	case "Service":
		return []Violation{{Rule: "http2-only-port", Action: "warn", Severity: "medium", Field: "spec.ports[0].name", Message: "rename the port"}}
	}
	return nil
}}

const (
	nginxIngress = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ws
  namespace: chat
spec:
  ingressClassName: nginx
`
	namespaceEnabled = `apiVersion: v1
kind: Namespace
metadata:
  name: chat
  labels:
    ws-defaults: enabled
`
	namespacePlain = `apiVersion: v1
kind: Namespace
metadata:
  name: chat
`
)

// ---- reading ----

func TestReadDocuments(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		want    []string
		wantErr string
	}{
		{name: "one object", input: nginxIngress, want: []string{"in.yaml#0 Ingress"}},
		{
			name:  "multi-document",
			input: namespaceEnabled + "---\n" + nginxIngress,
			want:  []string{"in.yaml#0 Namespace", "in.yaml#1 Ingress"},
		},
		{
			name:  "opening separator after a header comment starts document 0",
			input: "# Copyright the authors\n---\n" + nginxIngress + "---\n",
			want:  []string{"in.yaml#0 Ingress"},
		},
		{
			name:  "empty, blank and comment-only documents keep their numbers",
			input: namespaceEnabled + "---\n---\n\n---\n# nothing here\n---\nnull\n---\n" + nginxIngress,
			want:  []string{"in.yaml#0 Namespace", "in.yaml#5 Ingress"},
		},
		{
			name:  "separator with a comment, CRLF line ends",
			input: strings.ReplaceAll(namespaceEnabled+"--- # next\n"+nginxIngress, "\n", "\r\n"),
			want:  []string{"in.yaml#0 Namespace", "in.yaml#1 Ingress"},
		},
		{
			name: "List items",
			input: `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: a}
- apiVersion: networking.k8s.io/v1
  kind: Ingress
  metadata: {name: b}
`,
			want: []string{"in.yaml#0.items[0] Service", "in.yaml#0.items[1] Ingress"},
		},
		{
			name: "typed List items take the list's apiVersion and kind",
			input: `apiVersion: networking.k8s.io/v1
kind: IngressList
items:
- metadata: {name: a, namespace: chat}
`,
			want: []string{"in.yaml#0.items[0] Ingress"},
		},
		{name: "empty List", input: "apiVersion: v1\nkind: List\nitems: []\n", want: []string{}},
		{name: "List with null items", input: "apiVersion: v1\nkind: List\nitems: null\n", want: []string{}},
		{name: "JSON object", input: `{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"}}`, want: []string{"in.yaml#0 Service"}},
		{
			name:  "JSON stream",
			input: "{\"apiVersion\": \"v1\", \"kind\": \"Service\"}\n{\"apiVersion\": \"v1\", \"kind\": \"Namespace\"}\n",
			want:  []string{"in.yaml#0 Service", "in.yaml#1 Namespace"},
		},
		{
			name:  "JSON List",
			input: `{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"}}]}`,
			want:  []string{"in.yaml#0.items[0] Service"},
		},
		{name: "nothing", input: "", want: []string{}},
		{name: "only comments", input: "# nothing\n---\n# at all\n", want: []string{}},
		{
			name:    "bad YAML names the document",
			input:   namespaceEnabled + "---\n" + nginxIngress + "---\nmetadata:\n  name: [unclosed\n",
			wantErr: "in.yaml#2:",
		},
		{name: "tab indentation", input: "apiVersion: v1\nkind: Service\nmetadata:\n\tname: a\n", wantErr: "in.yaml#0:"},
		{name: "bad separator", input: nginxIngress + "--- apiVersion: v1\n", wantErr: "in.yaml#1:"},
		{name: "scalar document", input: nginxIngress + "---\njust text\n", wantErr: "in.yaml#1: not a Kubernetes object"},
		{name: "sequence document", input: "- a\n- b\n", wantErr: "in.yaml#0: not a Kubernetes object"},
		{name: "no kind", input: "apiVersion: v1\nmetadata: {name: a}\n", wantErr: "in.yaml#0: not a Kubernetes object: kind is missing"},
		{name: "kind not a string", input: "apiVersion: v1\nkind: [a]\n", wantErr: "kind is not a string"},
		{name: "metadata not a mapping", input: "apiVersion: v1\nkind: Service\nmetadata: x\n", wantErr: "in.yaml#0: metadata is not a mapping"},
		{name: "metadata null", input: "apiVersion: v1\nkind: Service\nmetadata:\n", wantErr: "in.yaml#0: metadata is not a mapping"},
		{
			name:    "List item without kind",
			input:   "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n- apiVersion: v1\n",
			wantErr: "in.yaml#0.items[1]: not a Kubernetes object: kind is missing",
		},
		{name: "List item not an object", input: "apiVersion: v1\nkind: List\nitems: [3]\n", wantErr: "in.yaml#0.items[0]: not an object"},
		{name: "List items not a list", input: "apiVersion: v1\nkind: ServiceList\nitems: {a: b}\n", wantErr: "in.yaml#0: ServiceList.items is not a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := readStream("in.yaml", strings.NewReader(tt.input))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := wheres(objs); !slices.Equal(got, tt.want) {
				t.Errorf("read %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReadPaths(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "b.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: b}\n")
	writeFile(t, dir, "a.json", `{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"}}`)
	writeFile(t, dir, "sub/c.yml", "apiVersion: v1\nkind: Service\nmetadata: {name: c}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: d}\n")
	writeFile(t, dir, "sub/UPPER.YAML", "apiVersion: v1\nkind: Service\nmetadata: {name: e}\n")
	writeFile(t, dir, "notes.txt", "not: a manifest\n")
	writeFile(t, dir, ".git/config.yaml", "not: a manifest\n")
	named := writeFile(t, dir, "other/manifest.txt", "apiVersion: v1\nkind: Service\nmetadata: {name: f}\n")
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	stdin := "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
	rel := func(s string) string { return strings.TrimPrefix(s, dir+string(filepath.Separator)) }

	tests := []struct {
		name    string
		paths   []string
		want    []string
		wantErr string
	}{
		{
			name:  "folder walked recursively in lexical order, manifests only",
			paths: []string{dir},
			want: []string{"a.json#0 Service", "b.yaml#0 Service", "sub/UPPER.YAML#0 Service",
				"sub/c.yml#0 Service", "sub/c.yml#1 Service"},
		},
		{name: "a file is read whatever its name", paths: []string{named}, want: []string{"other/manifest.txt#0 Service"}},
		{name: "stdin", paths: []string{"-"}, want: []string{"stdin#0 Service"}},
		{
			name:  "in the order given",
			paths: []string{"-", filepath.Join(dir, "b.yaml")},
			want:  []string{"stdin#0 Service", "b.yaml#0 Service"},
		},
		{name: "stdin twice", paths: []string{"-", "-"}, wantErr: "more than once"},
		{name: "missing file", paths: []string{filepath.Join(dir, "nope.yaml")}, wantErr: "nope.yaml"},
		{name: "empty folder", paths: []string{empty}, wantErr: "empty: no .yaml, .yml or .json files"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := Read(tt.paths, strings.NewReader(stdin))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := wheres(objs)
			for i := range got {
				got[i] = filepath.ToSlash(rel(got[i]))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("read %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReadTestdata(t *testing.T) {
	objs, err := Read([]string{"testdata/manifests"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"testdata/manifests/00-namespace.yaml#0 Namespace",
		"testdata/manifests/haproxy-ingress.yaml#0 Ingress",
		"testdata/manifests/istio.yaml#0 DestinationRule",
		"testdata/manifests/istio.yaml#1 Service",
		"testdata/manifests/nginx-ingress.yaml#0 Ingress",
		"testdata/manifests/traefik.yaml#0 IngressRoute",
		"testdata/manifests/traefik.yaml#1 Service",
	}
	if got := wheres(objs); !slices.Equal(got, want) {
		t.Errorf("read %q, want %q", got, want)
	}
}

// ---- opt-in, namespaces and classes ----

func TestOptIn(t *testing.T) {
	withLabel := func(doc, value string) string {
		return strings.Replace(doc, "  namespace: chat\n", "  namespace: chat\n  labels:\n    ws-defaults: "+value+"\n", 1)
	}
	tests := []struct {
		name         string
		input        string
		policy       string
		wantOptedIn  bool
		wantExcluded bool
	}{
		{name: "namespace not in the input", input: nginxIngress, wantOptedIn: true},
		{name: "namespace in the input, enabled", input: namespaceEnabled + "---\n" + nginxIngress, wantOptedIn: true},
		{name: "namespace in the input, not labelled", input: namespacePlain + "---\n" + nginxIngress, wantOptedIn: false},
		{name: "object enabled in a plain namespace", input: namespacePlain + "---\n" + withLabel(nginxIngress, "enabled"), wantOptedIn: true},
		{name: "object disabled in an enabled namespace", input: namespaceEnabled + "---\n" + withLabel(nginxIngress, "disabled"), wantOptedIn: false},
		{name: "object disabled, namespace not in the input", input: withLabel(nginxIngress, "disabled"), wantOptedIn: false},
		{name: "namespace listed after the object", input: nginxIngress + "---\n" + namespacePlain, wantOptedIn: false},
		{
			name:  "system namespace",
			input: strings.Replace(withLabel(nginxIngress, "enabled"), "namespace: chat", "namespace: kube-system", 1),
			// Never acted on, whatever the labels say.
			wantOptedIn: false, wantExcluded: true,
		},
		{
			name:        "namespace excluded by the policy",
			input:       nginxIngress,
			policy:      "apiVersion: ws-defaults.io/v1alpha1\nkind: WebSocketPolicy\nmetadata: {name: default}\nspec:\n  excludedNamespaces: [chat]\n",
			wantOptedIn: false, wantExcluded: true,
		},
		{
			name:        "no namespace at all",
			input:       strings.Replace(nginxIngress, "  namespace: chat\n", "", 1),
			wantOptedIn: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Options{Files: []string{"-"}, Output: "json", Stdin: strings.NewReader(tt.input)}
			if tt.policy != "" {
				o.PolicyFile = writeFile(t, t.TempDir(), "policy.yaml", tt.policy)
			}
			res := run(t, o)
			if res.err != nil {
				t.Fatal(res.err)
			}
			var rep Report
			if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
				t.Fatal(err)
			}
			r := find(t, &rep, "Ingress", "ws")
			if r.OptedIn != tt.wantOptedIn || r.Excluded != tt.wantExcluded {
				t.Errorf("optedIn %v excluded %v, want %v %v", r.OptedIn, r.Excluded, tt.wantOptedIn, tt.wantExcluded)
			}
			if mutated := len(r.Patch) > 0; mutated != tt.wantOptedIn {
				t.Errorf("patch %v, want mutation %v", r.Patch, tt.wantOptedIn)
			}
			if r.Patch == nil {
				t.Error("patch is null, want a list")
			}
			// The controller is resolved either way.
			if r.Controller != "k8s.io/ingress-nginx" {
				t.Errorf("controller = %q", r.Controller)
			}
		})
	}
}

func TestNamespaceObjectOptIn(t *testing.T) {
	rep := checkString(t, namespacePlain+"---\n"+strings.Replace(namespaceEnabled, "name: chat", "name: live", 1), nil)
	if find(t, rep, "Namespace", "chat").OptedIn {
		t.Error("an unlabelled Namespace counts as opted in")
	}
	if !find(t, rep, "Namespace", "live").OptedIn {
		t.Error("an enabled Namespace does not count as opted in")
	}
}

func TestNamespaceAnnotations(t *testing.T) {
	ns := strings.Replace(namespaceEnabled, "metadata:\n", "metadata:\n  annotations:\n    ws-defaults.io/idle-timeout-seconds: \"120\"\n", 1)
	rep := checkString(t, ns+"---\n"+nginxIngress, nil)
	ann, _ := patchValue(find(t, rep, "Ingress", "ws"), "/metadata/annotations")
	m, _ := ann.(map[string]any)
	if got := m["nginx.ingress.kubernetes.io/proxy-read-timeout"]; got != "120" {
		t.Errorf("proxy-read-timeout = %v, want the namespace's 120", got)
	}
}

func TestIngressClassInInput(t *testing.T) {
	t.Run("custom class name mapped to ingress-nginx", func(t *testing.T) {
		res := run(t, Options{Files: []string{"testdata/custom-class.yaml"}, Output: "json"})
		if res.err != nil {
			t.Fatal(res.err)
		}
		var rep Report
		if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
			t.Fatal(err)
		}
		r := find(t, &rep, "Ingress", "websocket-public")
		if r.Controller != "k8s.io/ingress-nginx" {
			t.Errorf("controller = %q, want k8s.io/ingress-nginx", r.Controller)
		}
		if !slices.Contains(r.Added, "nginx.ingress.kubernetes.io/proxy-read-timeout") {
			t.Errorf("added %q, want the nginx timeouts", r.Added)
		}
	})
	t.Run("without the class the name means nothing", func(t *testing.T) {
		data, err := os.ReadFile("testdata/custom-class.yaml")
		if err != nil {
			t.Fatal(err)
		}
		_, ingress, _ := strings.Cut(string(data), "---\n")
		r := find(t, checkString(t, ingress, nil), "Ingress", "websocket-public")
		if r.Controller != "" || len(r.Patch) != 0 {
			t.Errorf("controller %q patch %v, want none", r.Controller, r.Patch)
		}
	})
	t.Run("default class", func(t *testing.T) {
		input := `apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: edge
  annotations:
    ingressclass.kubernetes.io/is-default-class: "true"
spec:
  controller: haproxy-ingress.github.io/controller
---
` + strings.Replace(nginxIngress, "  ingressClassName: nginx\n", "  rules: []\n", 1)
		r := find(t, checkString(t, input, nil), "Ingress", "ws")
		if r.Controller != "haproxy-ingress.github.io/controller" {
			t.Errorf("controller = %q, want the default class's", r.Controller)
		}
	})
	t.Run("classes apply to objects before them", func(t *testing.T) {
		svc := "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: chat}\nspec:\n  ports: [{name: ws, port: 80}]\n"
		class := "apiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata: {name: traefik}\nspec: {controller: traefik.io/ingress-controller}\n"
		r := find(t, checkString(t, svc+"---\n"+class, nil), "Service", "s")
		if !slices.Contains(r.Added, "traefik.ingress.kubernetes.io/service.sticky.cookie") {
			t.Errorf("added %q, want Traefik's sticky cookie", r.Added)
		}
	})
}

// ---- policy ----

func TestPolicy(t *testing.T) {
	t.Run("policy file", func(t *testing.T) {
		res := run(t, Options{Files: []string{"testdata/manifests/nginx-ingress.yaml"}, PolicyFile: "testdata/policy.yaml", Output: "json"})
		if res.err != nil {
			t.Fatal(res.err)
		}
		var rep Report
		if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
			t.Fatal(err)
		}
		r := rep.Results[0]
		if v, _ := patchValue(r, "/metadata/annotations/nginx.ingress.kubernetes.io~1proxy-send-timeout"); v != "7200" {
			t.Errorf("proxy-send-timeout = %v, want the policy's 7200", v)
		}
		if _, ok := patchValue(r, "/metadata/annotations/nginx.ingress.kubernetes.io~1affinity"); ok {
			t.Error("affinity added though the policy turns it off")
		}
	})
	dir := t.TempDir()
	tests := []struct {
		name, file string
		wantErr    []string
	}{
		{name: "invalid values", file: "testdata/bad-policy.yaml", wantErr: []string{
			"testdata/bad-policy.yaml#0", "spec.mutation.idleTimeoutSeconds", "spec.mutation.affinity.sameSite"}},
		{name: "unknown field", file: writeFile(t, dir, "typo.yaml", "apiVersion: ws-defaults.io/v1alpha1\nkind: WebSocketPolicy\nspec:\n  mutation:\n    idleTimeout: 60\n"),
			wantErr: []string{"typo.yaml#0", "idleTimeout"}},
		{name: "no policy", file: writeFile(t, dir, "none.yaml", namespacePlain), wantErr: []string{"none.yaml holds no WebSocketPolicy"}},
		// What the policy webhook refuses, check refuses.
		{name: "not named default", file: writeFile(t, dir, "other.yaml", "apiVersion: ws-defaults.io/v1alpha1\nkind: WebSocketPolicy\nmetadata: {name: other}\n"),
			wantErr: []string{"other.yaml#0", `metadata.name: Invalid value: "other"`, "the cluster would refuse it"}},
		{name: "custom rule that does not compile", file: writeFile(t, dir, "rego.yaml", "apiVersion: ws-defaults.io/v1alpha1\nkind: WebSocketPolicy\nmetadata: {name: default}\n"+
			"spec:\n  customRules:\n  - id: broken\n    rego: \"package wsdefaults.custom.broken\\n\\nviolation := 1\\n\"\n"),
			wantErr: []string{"rego.yaml#0", "spec.customRules[0].rego: 3:1: violation must be a set of objects"}},
		{name: "wrong apiVersion", file: writeFile(t, dir, "old.yaml", "apiVersion: ws-defaults.io/v1\nkind: WebSocketPolicy\n"), wantErr: []string{"old.yaml#0", "ws-defaults.io/v1alpha1"}},
		{name: "missing", file: filepath.Join(dir, "missing.yaml"), wantErr: []string{"missing.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := run(t, Options{Files: []string{"testdata/manifests"}, PolicyFile: tt.file})
			if res.err == nil {
				t.Fatal("no error")
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(res.err.Error(), want) {
					t.Errorf("error %q does not mention %q", res.err, want)
				}
			}
			if ExitStatus(res.sum, res.err) != ExitInput {
				t.Errorf("exit status %d, want 2", ExitStatus(res.sum, res.err))
			}
		})
	}
	t.Run("several policies, one named default", func(t *testing.T) {
		p := "apiVersion: ws-defaults.io/v1alpha1\nkind: WebSocketPolicy\nmetadata: {name: other}\nspec: {mutation: {idleTimeoutSeconds: 5}}\n---\n" +
			"apiVersion: ws-defaults.io/v1alpha1\nkind: WebSocketPolicy\nmetadata: {name: default}\nspec: {mutation: {idleTimeoutSeconds: 7}}\n"
		spec, err := LoadPolicy(writeFile(t, dir, "two.yaml", p))
		if err != nil {
			t.Fatal(err)
		}
		if got := *spec.Mutation.IdleTimeoutSeconds; got != 7 {
			t.Errorf("idle timeout %d, want the default policy's 7", got)
		}
	})
	t.Run("built-in", func(t *testing.T) {
		spec, err := LoadPolicy("")
		if err != nil {
			t.Fatal(err)
		}
		if got := *spec.Mutation.IdleTimeoutSeconds; got != v1alpha1.DefaultIdleTimeoutSeconds {
			t.Errorf("idle timeout %d", got)
		}
	})
}

// ---- outputs ----

func TestJSONOutput(t *testing.T) {
	res := run(t, Options{Files: []string{"testdata/manifests"}, Output: "json"})
	if res.err != nil {
		t.Fatal(res.err)
	}
	var doc struct {
		Results []map[string]json.RawMessage `json:"results"`
		Summary map[string]int               `json:"summary"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &doc); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if len(doc.Results) != 7 {
		t.Fatalf("%d results, want 7", len(doc.Results))
	}
	for _, r := range doc.Results {
		for _, key := range []string{"source", "apiVersion", "kind", "namespace", "name", "optedIn", "patch", "violations"} {
			if _, ok := r[key]; !ok {
				t.Errorf("result %s lacks %q", r["source"], key)
			}
		}
		if !bytes.HasPrefix(r["patch"], []byte("[")) {
			t.Errorf("%s: patch = %s, want a list", r["source"], r["patch"])
		}
		if string(r["violations"]) != "[]" {
			t.Errorf("%s: violations = %s, want []", r["source"], r["violations"])
		}
	}
	byName := map[string]map[string]json.RawMessage{}
	for _, r := range doc.Results {
		var name string
		_ = json.Unmarshal(r["name"], &name)
		byName[name] = r
	}
	ns := byName["chat"]
	if string(ns["patch"]) != "[]" {
		t.Errorf("Namespace patch = %s, want []", ns["patch"])
	}
	if _, ok := ns["controller"]; ok {
		t.Error("controller present for a Namespace")
	}
	ing := byName["websocket-ingress"]
	if string(ing["source"]) != `"testdata/manifests/nginx-ingress.yaml#0"` || string(ing["controller"]) != `"k8s.io/ingress-nginx"` ||
		string(ing["optedIn"]) != "true" || string(ing["namespace"]) != `"chat"` {
		t.Errorf("nginx Ingress result: %s %s %s %s", ing["source"], ing["controller"], ing["optedIn"], ing["namespace"])
	}
	var ops []struct {
		Op    string `json:"op"`
		Path  string `json:"path"`
		Value any    `json:"value"`
	}
	if err := json.Unmarshal(ing["patch"], &ops); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, op := range ops {
		if op.Op != "add" {
			t.Errorf("op %q", op.Op)
		}
		if op.Path == "/metadata/annotations/nginx.ingress.kubernetes.io~1proxy-send-timeout" && op.Value == "3600" {
			found = true
		}
	}
	if !found {
		t.Errorf("patch %s lacks proxy-send-timeout 3600", ing["patch"])
	}
	want := map[string]int{"objects": 7, "mutated": 5, "denied": 0, "warned": 0}
	for k, v := range want {
		if got, ok := doc.Summary[k]; !ok || got != v {
			t.Errorf("summary.%s = %d (present %v), want %d", k, got, ok, v)
		}
	}
}

func TestJSONOutputIsStable(t *testing.T) {
	first := run(t, Options{Files: []string{"testdata/manifests", "testdata/custom-class.yaml"}, Output: "json"})
	for range 5 {
		again := run(t, Options{Files: []string{"testdata/manifests", "testdata/custom-class.yaml"}, Output: "json"})
		if again.stdout != first.stdout {
			t.Fatal("JSON output differs between runs")
		}
	}
}

func TestViolations(t *testing.T) {
	var seen []Input
	var objects []map[string]any
	v := fakeValidator{fn: func(obj map[string]any, in Input) []Violation {
		seen = append(seen, in)
		objects = append(objects, obj)
		return denyIngresses.fn(obj, in)
	}}
	res := run(t, Options{Files: []string{"testdata/manifests"}, Output: "json", Validator: v})
	if res.err != nil {
		t.Fatal(res.err)
	}
	if ExitStatus(res.sum, res.err) != ExitDenied {
		t.Errorf("exit status %d, want 1", ExitStatus(res.sum, res.err))
	}
	if want := (Summary{Objects: 7, Mutated: 5, Denied: 2, Warned: 2}); res.sum != want {
		t.Errorf("summary %+v, want %+v", res.sum, want)
	}
	var rep Report
	if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	r := find(t, &rep, "Ingress", "websocket-ingress")
	if len(r.Violations) != 1 || r.Violations[0].Rule != "nginx-snippet-annotation" || r.Violations[0].Action != "deny" {
		t.Errorf("violations %+v", r.Violations)
	}
	if !strings.Contains(res.stdout, `"severity": "critical"`) || !strings.Contains(res.stdout, `"field": "metadata.annotations[nginx.ingress.kubernetes.io/server-snippet]"`) {
		t.Error("violation JSON lacks severity or field")
	}

	// The validator sees the object after mutation, and what the pipeline
	// found about it.
	if len(seen) != 7 {
		t.Fatalf("validator called %d times, want 7", len(seen))
	}
	for i, in := range seen {
		if in.Object.Name() != "websocket-ingress" {
			continue
		}
		if !in.OptedIn || in.Controller != "k8s.io/ingress-nginx" || in.NamespaceObject == nil ||
			!slices.Contains(in.Added, "nginx.ingress.kubernetes.io/proxy-send-timeout") {
			t.Errorf("input %+v", in)
		}
		md := objects[i]["metadata"].(map[string]any)
		if md["annotations"].(map[string]any)["nginx.ingress.kubernetes.io/proxy-send-timeout"] != "3600" {
			t.Error("the validator does not get the object after mutation")
		}
		if _, set := in.Object.Annotations()["nginx.ingress.kubernetes.io/proxy-send-timeout"]; set {
			t.Error("Input.Object is not the object as read")
		}
	}

	t.Run("table lists them", func(t *testing.T) {
		res := run(t, Options{Files: []string{"testdata/manifests"}, Validator: denyIngresses})
		for _, want := range []string{"1 deny", "1 warn", "Violations:", "deny  nginx-snippet-annotation  metadata.annotations[", "remove the snippet",
			"7 objects: 5 mutated, 2 denied, 2 warned"} {
			if !strings.Contains(res.stdout, want) {
				t.Errorf("table lacks %q:\n%s", want, res.stdout)
			}
		}
	})
	t.Run("validator error", func(t *testing.T) {
		bad := errValidator{}
		res := run(t, Options{Files: []string{"testdata/manifests/istio.yaml"}, Validator: bad})
		if res.err == nil || !strings.Contains(res.err.Error(), "testdata/manifests/istio.yaml#0") || ExitStatus(res.sum, res.err) != ExitInput {
			t.Errorf("error %v", res.err)
		}
	})
}

type errValidator struct{}

func (errValidator) Validate(context.Context, map[string]any, Input) ([]Violation, error) {
	return nil, errors.New("broken rule")
}

func TestTableOutput(t *testing.T) {
	res := run(t, Options{Files: []string{"testdata/manifests", "testdata/custom-class.yaml"}})
	if res.err != nil {
		t.Fatal(res.err)
	}
	lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
	header := strings.Fields(lines[0])
	if want := []string{"SOURCE", "KIND", "NAMESPACE/NAME", "OPTED-IN", "CONTROLLER", "ADDED", "VIOLATIONS"}; !slices.Equal(header, want) {
		t.Errorf("header %q", header)
	}
	for _, want := range []string{
		"testdata/manifests/nginx-ingress.yaml#0", "chat/websocket-ingress", "k8s.io/ingress-nginx",
		"testdata/custom-class.yaml#0", "IngressClass",
	} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("table lacks %q", want)
		}
	}
	// Aligned: every row starts its KIND column where the header does.
	col := strings.Index(lines[0], "KIND")
	for _, l := range lines[1:10] {
		if l[col-1] != ' ' || l[col] == ' ' {
			t.Errorf("row not aligned with the header: %q", l)
		}
	}
	if last := lines[len(lines)-1]; last != "9 objects: 6 mutated, 0 denied, 0 warned" {
		t.Errorf("summary line %q", last)
	}
}

func TestYAMLRoundTrip(t *testing.T) {
	in := []string{"testdata/manifests", "testdata/custom-class.yaml"}
	first := run(t, Options{Files: in, Output: "yaml"})
	if first.err != nil {
		t.Fatal(first.err)
	}
	// Fed back, nothing is left to add.
	back := run(t, Options{Files: []string{"-"}, Output: "json", Stdin: strings.NewReader(first.stdout)})
	if back.err != nil {
		t.Fatalf("-o yaml output does not read back: %v\n%s", back.err, first.stdout)
	}
	var rep Report
	if err := json.Unmarshal([]byte(back.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 9 {
		t.Fatalf("%d objects read back, want 9", len(rep.Results))
	}
	for i, r := range rep.Results {
		if len(r.Patch) != 0 {
			t.Errorf("%s (%s %s) still gets a patch: %v", r.Source, r.Kind, r.Name, r.Patch)
		}
		if want := "stdin#" + string(rune('0'+i)); r.Source != want {
			t.Errorf("source %s, want %s (one document per object, in order)", r.Source, want)
		}
	}
	if rep.Summary.Mutated != 0 {
		t.Errorf("summary %+v", rep.Summary)
	}
	// And printing it again changes nothing.
	again := run(t, Options{Files: []string{"-"}, Output: "yaml", Stdin: strings.NewReader(first.stdout)})
	if again.stdout != first.stdout {
		t.Errorf("-o yaml is not a fixed point:\n%s\n---- vs ----\n%s", first.stdout, again.stdout)
	}
	if !strings.Contains(first.stdout, "nginx.ingress.kubernetes.io/proxy-read-timeout: \"3600\"") {
		t.Error("yaml output lacks the added annotation, quoted as a string")
	}
}

func TestYAMLOutputFlattensLists(t *testing.T) {
	input := "apiVersion: networking.k8s.io/v1\nkind: IngressList\nitems:\n- metadata: {name: a, namespace: chat}\n  spec: {ingressClassName: nginx}\n"
	res := run(t, Options{Files: []string{"-"}, Output: "yaml", Stdin: strings.NewReader(input)})
	if res.err != nil {
		t.Fatal(res.err)
	}
	if !strings.HasPrefix(res.stdout, "apiVersion: networking.k8s.io/v1\nkind: Ingress\n") || !strings.Contains(res.stdout, "proxy-read-timeout") {
		t.Errorf("yaml output:\n%s", res.stdout)
	}
}

func TestWarningsToStderr(t *testing.T) {
	ns := strings.Replace(namespaceEnabled, "metadata:\n", "metadata:\n  annotations:\n    ws-defaults.io/idle-timeout-seconds: soon\n", 1)
	res := run(t, Options{Files: []string{"-"}, Output: "json", Stdin: strings.NewReader(ns + "---\n" + nginxIngress)})
	if res.err != nil {
		t.Fatal(res.err)
	}
	if !strings.HasPrefix(res.stderr, "stdin#1: warning: namespace annotation ws-defaults.io/idle-timeout-seconds") {
		t.Errorf("stderr %q", res.stderr)
	}
	if !strings.Contains(res.stdout, `"warnings": [`) {
		t.Error("warnings missing from the JSON result")
	}
}

func TestBadFlagsAndInput(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, dir, "bad.yaml", namespaceEnabled+"---\nkind: [\n")
	tests := []struct {
		name    string
		o       Options
		wantErr string
	}{
		{name: "unknown format", o: Options{Files: []string{"testdata/manifests"}, Output: "xml"}, wantErr: `unknown output format "xml"; use one of json, jsonl, junit, sarif, table, yaml`},
		{name: "no files", o: Options{}, wantErr: "no input"},
		{name: "bad YAML", o: Options{Files: []string{bad}}, wantErr: bad + "#1:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := run(t, tt.o)
			if res.err == nil || !strings.Contains(res.err.Error(), tt.wantErr) {
				t.Errorf("error %v, want %q", res.err, tt.wantErr)
			}
			if ExitStatus(res.sum, res.err) != ExitInput {
				t.Errorf("exit status %d, want 2", ExitStatus(res.sum, res.err))
			}
			if res.stdout != "" {
				t.Errorf("printed a report: %q", res.stdout)
			}
		})
	}
	t.Run("clean input exits 0", func(t *testing.T) {
		res := run(t, Options{Files: []string{"testdata/manifests"}})
		if got := ExitStatus(res.sum, res.err); got != ExitOK {
			t.Errorf("exit status %d (%v)", got, res.err)
		}
	})
}

func TestStableOrder(t *testing.T) {
	rep := checkString(t, "apiVersion: v1\nkind: Service\nmetadata: {name: s, annotations: {a: b}}\nspec:\n  ports: [{name: ws, port: 80}]\n", nil)
	var paths []string
	for _, op := range rep.Results[0].Patch {
		paths = append(paths, op.Path)
	}
	if !slices.IsSorted(paths) {
		t.Errorf("patch paths not sorted: %q", paths)
	}
}

// ---- fuzzing ----

func FuzzRead(f *testing.F) {
	for _, seed := range []string{
		nginxIngress,
		namespaceEnabled + "---\n" + nginxIngress,
		"---\n---\n# c\n---\n",
		"apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n",
		`{"apiVersion": "v1", "kind": "Service"}{"apiVersion": "v1"}`,
		"apiVersion: v1\nkind: ServiceList\nitems: [{metadata: {name: a}}]\n",
		"a: &x [*x]\n",
		"kind: [\n",
		"\xef\xbb\xbf--- \t#\r\n{",
		"apiVersion: v1\nkind: Service\nmetadata: {name: s, annotations: {a: b}}\nspec:\n  ports: [{name: ws, port: 80}]\n",
		"apiVersion: networking.istio.io/v1\nkind: DestinationRule\nspec: {trafficPolicy: {connectionPool: 3}}\n",
		"apiVersion: projectcontour.io/v1\nkind: HTTPProxy\nspec: {routes: [{enableWebsockets: true}]}\n---\n" +
			"apiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata: {name: x}\nspec: {controller: traefik.io/ingress-controller}\n",
		// Shapes that must never pass silently: duplicate keys (a missing
		// ---), documents that are no Kubernetes objects, odd opt-in label
		// values, kinds nothing handles, control characters in names.
		"apiVersion: v1\nkind: Service\nmetadata: {name: a}\napiVersion: v1\nkind: Service\n",
		`{"apiVersion": "v1", "kind": "Service", "kind": "Secret"}`,
		"apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Service, metadata: {name: a}, metadata: {}}\n",
		"apiVersion: v2\nname: chart\n---\nresources: [a.yaml]\n---\n- a\n---\n" + nginxIngress,
		"apiVersion: v1\nkind: Namespace\nmetadata: {name: chat, labels: {ws-defaults: Enabled}}\n---\n" +
			"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: chat, labels: {ws-defaults: \"true\"}}\n",
		"apiVersion: v1\nkind: Service\nmetadata: {name: \"\\e[31mred\\u202e\\x00\"}\n",
	} {
		f.Add([]byte(seed))
	}
	duplicateLine := regexp.MustCompile(`^fuzz#\d+: line (\d+): key `)
	f.Fuzz(func(t *testing.T, data []byte) {
		nlines := bytes.Count(data, []byte("\n")) + 1
		var notices []Notice
		lenient, lerr := readStreamWith("fuzz", bytes.NewReader(data), ReadOptions{Skipped: func(n Notice) { notices = append(notices, n) }})
		for _, n := range notices {
			if !strings.HasPrefix(n.Source, "fuzz#") || n.Line < 1 || n.Line > nlines {
				t.Errorf("notice %v does not place the document", n)
			}
		}
		objs, err := readStream("fuzz", bytes.NewReader(data))
		// The streaming reader (one strict YAML decoding where that
		// applies) reads what the reader before it read.
		var oldNotices []Notice
		oldLenient, oldLerr := oldReadStream("fuzz", bytes.NewReader(data), ReadOptions{Skipped: func(n Notice) { oldNotices = append(oldNotices, n) }})
		oldObjs, oldErr := oldReadStream("fuzz", bytes.NewReader(data), ReadOptions{Strict: true})
		if fmt.Sprint(err) != fmt.Sprint(oldErr) || fmt.Sprint(lerr) != fmt.Sprint(oldLerr) || !slices.Equal(notices, oldNotices) ||
			!sameObjects(objs, oldObjs) || !sameObjects(lenient, oldLenient) {
			t.Errorf("streaming reader: %v, %v, %v, %d objects; before: %v, %v, %v, %d objects", err, lerr, notices, len(objs), oldErr, oldLerr, oldNotices, len(oldObjs))
		}
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz#") {
				t.Errorf("error does not name the document: %v", err)
			}
			if m := duplicateLine.FindStringSubmatch(err.Error()); m != nil {
				if n, _ := strconv.Atoi(m[1]); n < 1 || n > nlines {
					t.Errorf("duplicate key placed on line %d of %d: %v", n, nlines, err)
				}
			}
			if lerr == nil && len(notices) == 0 {
				t.Errorf("strict read failed (%v) but the lenient one neither failed nor skipped anything", err)
			}
			return
		}
		if lerr != nil || len(notices) > 0 || len(lenient) != len(objs) {
			t.Errorf("strict read accepted what the lenient one did not: %v, %v", lerr, notices)
		}
		for _, o := range objs {
			if o.Kind() == "" || o.APIVersion() == "" || !json.Valid(o.Raw) {
				t.Errorf("%s: accepted a non-object: %s", o.Where(), o.Raw)
			}
			if o.Line < 1 || o.Line > nlines || o.File != "fuzz" {
				t.Errorf("%s: file %q line %d of %d", o.Where(), o.File, o.Line, nlines)
			}
		}
		// Whatever Read accepts, the rest of check handles, and the table
		// prints no control character from the input.
		rep, err := Check(context.Background(), objs, v1alpha1.BuiltinPolicy(), nil)
		if err != nil {
			t.Errorf("Check: %v", err)
			return
		}
		var table bytes.Buffer
		if err := writeTable(&table, rep); err != nil {
			t.Fatal(err)
		}
		for _, r := range table.String() {
			if r != '\n' && (unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)) {
				t.Errorf("table holds control character %U", r)
			}
		}
	})
}

func sameObjects(a, b []Object) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Source != y.Source || x.File != y.File || x.Line != y.Line || x.Item != y.Item || !bytes.Equal(x.Raw, y.Raw) || !reflect.DeepEqual(x.Object, y.Object) {
			return false
		}
	}
	return true
}

func TestListItemsKeepNumbers(t *testing.T) {
	objs, err := readStream("in.yaml", strings.NewReader("apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  spec: {n: 12345678901234567890, f: 1.50}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(objs[0].Raw, []byte(`12345678901234567890`)) {
		t.Errorf("raw %s lost digits", objs[0].Raw)
	}
}
