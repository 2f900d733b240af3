package check

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
	"github.com/ws-defaults/ws-defaults/webhook/validate"
)

// TestDuplicateKeys: a key given twice (a missing "---" merges two
// objects, the later value wins) is an input error naming file, document
// and line, in YAML and in JSON.
func TestDuplicateKeys(t *testing.T) {
	for _, tt := range []struct{ name, input, want string }{
		{"missing separator", "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n# a --- was meant here\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: b}\n",
			`in.yaml#0: line 5: key "apiVersion" appears twice`},
		{"second document, nested", "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\n# comment\napiVersion: v1\nkind: Service\nmetadata:\n  name: b\n  labels: {x: y}\n  labels: {z: w}\n",
			`in.yaml#1: line 11: key "labels" appears twice`},
		{"JSON", "{\"apiVersion\": \"v1\", \"kind\": \"Service\",\n \"metadata\": {\"name\": \"a\", \"name\": \"b\"}}\n",
			`in.yaml#0: line 2: key "name" appears twice`},
		{"JSON with tabs", "{\n\t\"apiVersion\": \"v1\",\n\t\"kind\": \"Service\",\n\t\"kind\": \"Secret\"\n}\n",
			`in.yaml#0: line 4: key "kind" appears twice`},
		{"List item", "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata: {name: a}\n  metadata: {name: b}\n",
			`in.yaml#0: line 7: key "metadata" appears twice`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readStream("in.yaml", strings.NewReader(tt.input))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
	// Keys that differ only in case are two keys; anchors are fine.
	if _, err := readStream("in.yaml", strings.NewReader("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {a: &x '1', A: *x}\n")); err != nil {
		t.Error(err)
	}
}

// TestSkipNonObjects: documents without apiVersion or kind are skipped
// with a notice naming them, unless reading strictly.
func TestSkipNonObjects(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "Chart.yaml", "apiVersion: v2\nname: app\nversion: 1.0.0\n")
	writeFile(t, dir, "suite/ws-defaults-test.yaml", "resources: [a.yaml]\ncases: []\n")
	writeFile(t, dir, "svc.yaml", "# a list\n- a\n- b\n---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\n")
	var notices []string
	objs, err := ReadWith([]string{dir}, nil, ReadOptions{Skipped: func(n Notice) { notices = append(notices, n.String()) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 || objs[0].Name() != "s" {
		t.Errorf("objects %v", wheres(objs))
	}
	want := []string{
		filepath.Join(dir, "Chart.yaml") + "#0 (line 1): skipped: not a Kubernetes object: kind is missing (--strict makes this an error)",
		filepath.Join(dir, "suite/ws-defaults-test.yaml") + "#0 (line 1): skipped: not a Kubernetes object: apiVersion is missing",
		filepath.Join(dir, "svc.yaml") + "#0 (line 2): skipped: not a Kubernetes object (a mapping with apiVersion and kind)",
	}
	if len(notices) != len(want) {
		t.Fatalf("notices %q", notices)
	}
	for i := range want {
		if !strings.HasPrefix(notices[i], want[i]) {
			t.Errorf("notice %q, want %q", notices[i], want[i])
		}
	}
	if _, err := ReadWith([]string{dir}, nil, ReadOptions{Strict: true}); err == nil || !strings.Contains(err.Error(), "Chart.yaml#0: not a Kubernetes object: kind is missing") {
		t.Errorf("strict: %v", err)
	}
	// A List item must be an object: never skipped.
	if _, err := ReadWith([]string{"-"}, strings.NewReader("apiVersion: v1\nkind: List\nitems:\n- {name: x}\n"), ReadOptions{}); err == nil {
		t.Error("a List item without kind was skipped")
	}
	// A broken object (kind not a string) is an error, not a skip.
	if _, err := ReadWith([]string{"-"}, strings.NewReader("apiVersion: v1\nkind: [Service]\n"), ReadOptions{}); err == nil {
		t.Error("kind: [Service] was skipped")
	}

	// Through Run: a notice on stderr; nothing but skipped documents is an
	// input error, not a pass.
	var stdout, stderr bytes.Buffer
	if _, err := Run(context.Background(), Options{Files: []string{dir}, Output: "json", Stdout: &stdout, Stderr: &stderr}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "Chart.yaml#0 (line 1): skipped:") {
		t.Errorf("stderr %q", stderr.String())
	}
	_, err = Run(context.Background(), Options{Files: []string{filepath.Join(dir, "Chart.yaml")}, Output: "json", Stdout: &stdout, Stderr: &stderr})
	if err == nil || !strings.Contains(err.Error(), "no Kubernetes objects in the input (1 document skipped)") {
		t.Errorf("only skipped documents: %v", err)
	}
	_, err = Run(context.Background(), Options{Files: []string{dir}, Strict: true, Output: "json", Stdout: &stdout, Stderr: &stderr})
	if err == nil || ExitStatus(Summary{}, err) != ExitInput {
		t.Errorf("--strict: %v", err)
	}
}

// TestTableEscapesControlCharacters: a name with a terminal escape
// sequence, a bidirectional override or a newline is printed escaped.
func TestTableEscapesControlCharacters(t *testing.T) {
	rep := checkString(t, "apiVersion: v1\nkind: Service\nmetadata: {name: \"\\e[31mred\\u202egnp.exe\\nfake\"}\n", nil)
	var out bytes.Buffer
	if err := writeTable(&out, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `\x1b[31mred\u202egnp.exe\nfake`) {
		t.Errorf("table:\n%s", out.String())
	}
	if strings.ContainsAny(out.String(), "\x1b\u202e") {
		t.Error("raw control characters in the table")
	}
	if got := printable("caf\xe9 ok"); got != `caf\xe9 ok` {
		t.Errorf("invalid UTF-8: %q", got)
	}
}

// TestLabelAndKindReported: an opt-in label value ws-defaults does not
// know is warned about with the accepted spellings, and a kind the webhook
// never sees is "not handled", never "opted in".
func TestLabelAndKindReported(t *testing.T) {
	in := "apiVersion: v1\nkind: Namespace\nmetadata: {name: chat, labels: {ws-defaults: Enabled}}\n---\n" +
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: other}\n---\n" +
		"apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: other, labels: {ws-defaults: \"true\"}}\n"
	var stdout, stderr bytes.Buffer
	if _, err := Run(context.Background(), Options{Files: []string{"-"}, Stdin: strings.NewReader(in), Stdout: &stdout, Stderr: &stderr}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`stdin#0: warning: label ws-defaults="Enabled" is not a value ws-defaults knows and counts as no label: use "enabled" or "disabled" (lowercase); did you mean "enabled"?`,
		`stdin#2: warning: label ws-defaults="true"`,
	} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
	rows := map[string]string{}
	for _, line := range strings.Split(stdout.String(), "\n") {
		if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[0], "stdin#") {
			rows[f[1]] = strings.Join(f[3:len(f)-3], " ")
		}
	}
	if rows["Namespace"] != "no" || rows["ConfigMap"] != "not handled" || rows["Service"] != "yes" {
		t.Errorf("OPTED-IN column %v:\n%s", rows, stdout.String())
	}
	rep := checkString(t, in, nil)
	if r := find(t, rep, "ConfigMap", "c"); r.OptedIn || !r.NotHandled {
		t.Errorf("ConfigMap: %+v", r)
	}
}

// TestCustomRuleRuntimeErrorIsInputError: a custom rule failing at run
// time (to_number("7d")) makes check fail with exit 2, naming the rule and
// the object, not pass.
func TestCustomRuleRuntimeErrorIsInputError(t *testing.T) {
	engine, err := validate.NewEngine(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	spec := v1alpha1.WebSocketPolicySpec{CustomRules: []v1alpha1.CustomRule{{ID: "max-age", Scope: v1alpha1.ScopeCluster,
		Rego: "package wsdefaults.custom.max_age\n\nviolation contains {\"field\": \"f\", \"message\": \"too long\"} if to_number(input.object.metadata.annotations.age) > 1\n"}}}
	objs, err := readStream("in.yaml", strings.NewReader("apiVersion: v1\nkind: Service\nmetadata: {name: s, annotations: {age: 7d}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Check(context.Background(), objs, spec, Rules{Engine: engine})
	if err == nil || !strings.Contains(err.Error(), "in.yaml#0: validating: rule max-age not evaluated") || ExitStatus(Summary{}, err) != ExitInput {
		t.Errorf("error %v", err)
	}
}
