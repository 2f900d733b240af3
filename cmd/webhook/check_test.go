package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ws-defaults/ws-defaults/webhook/check"
)

const manifests = "../../webhook/check/testdata/manifests"

// runCheck runs `webhook check args...` in-process and returns its exit
// status as main would compute it.
func runCheck(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string, err error) {
	t.Helper()
	cmd := newCheckCommand()
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetArgs(args)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err = cmd.ExecuteContext(context.Background())
	if err != nil {
		code = exitCode(err)
	}
	return code, out.String(), errb.String(), err
}

func TestCheckCommandJSON(t *testing.T) {
	code, out, _, err := runCheck(t, "", "-f", manifests, "-o", "json")
	if code != 0 || err != nil {
		t.Fatalf("exit %d: %v", code, err)
	}
	var rep struct {
		Results []struct {
			Source  string            `json:"source"`
			OptedIn bool              `json:"optedIn"`
			Patch   []json.RawMessage `json:"patch"`
		} `json:"results"`
		Summary struct {
			Objects, Mutated, Denied, Warned int
		} `json:"summary"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if len(rep.Results) != 7 || rep.Summary.Objects != 7 || rep.Summary.Mutated != 5 {
		t.Errorf("%d results, summary %+v", len(rep.Results), rep.Summary)
	}
	if !strings.HasPrefix(rep.Results[0].Source, manifests+"/00-namespace.yaml#0") {
		t.Errorf("first source %q", rep.Results[0].Source)
	}
}

// TestCheckCommandJSONL: -o jsonl is one result per line, in input order,
// then the summary; stdin works as a file does (check reads its input
// twice, stdin once), and nothing is left in the temporary folder.
func TestCheckCommandJSONL(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	stdin := "apiVersion: v1\nkind: Service\nmetadata: {name: from-stdin, namespace: chat}\nspec: {ports: [{name: ws, port: 80}]}\n"
	code, out, _, err := runCheck(t, stdin, "-f", manifests, "-f", "-", "-o", "jsonl")
	if code != 0 || err != nil {
		t.Fatalf("exit %d: %v", code, err)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 9 {
		t.Fatalf("%d lines, want 8 results and a summary:\n%s", len(lines), out)
	}
	var first, last struct {
		Source string `json:"source"`
		Name   string `json:"name"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil || !strings.HasPrefix(first.Source, manifests+"/00-namespace.yaml#0") {
		t.Errorf("first line %s (%v)", lines[0], err)
	}
	if err := json.Unmarshal([]byte(lines[7]), &last); err != nil || last.Source != "stdin#0" || last.Name != "from-stdin" {
		t.Errorf("last result %s (%v)", lines[7], err)
	}
	var sum struct{ Summary check.Summary }
	if err := json.Unmarshal([]byte(lines[8]), &sum); err != nil || sum.Summary.Objects != 8 {
		t.Errorf("summary line %s (%v)", lines[8], err)
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "*")); len(left) > 0 {
		t.Errorf("left in the temporary folder: %v", left)
	}
}

func TestCheckCommandExitStatus(t *testing.T) {
	tests := []struct {
		name      string
		stdin     string
		args      []string
		validator check.Validator
		wantCode  int
		wantErr   string
		wantOut   string
		// wantStderr must appear on stderr.
		wantStderr string
	}{
		{name: "yaml says on stderr which rule denied", args: []string{"-f", manifests + "/nginx-ingress.yaml", "-o", "yaml"}, validator: denyIngress{}, wantCode: 1,
			wantErr: "1 object denied", wantOut: "kind: Ingress", wantStderr: "nginx-ingress.yaml#0: deny Ingress"},
		{name: "fail on warn", args: []string{"-f", manifests, "--fail-on", "warn", "-o", "json"}, validator: warnServices{}, wantCode: 1,
			wantErr: "warned about (--fail-on warn)", wantStderr: ": warn Service "},
		{name: "warnings pass by default", args: []string{"-f", manifests, "-o", "json"}, validator: warnServices{}, wantCode: 0, wantStderr: ": warn Service "},
		{name: "bad --fail-on", args: []string{"-f", manifests, "--fail-on", "audit"}, wantCode: 2, wantErr: `--fail-on "audit"`},
		{name: "duplicate key", stdin: "apiVersion: v1\nkind: Service\nmetadata: {name: a}\napiVersion: v1\nkind: Service\n", args: []string{"-f", "-"},
			wantCode: 2, wantErr: `stdin#0: line 4: key "apiVersion" appears twice`},
		{name: "not an object: skipped with a notice", stdin: "apiVersion: v2\nname: chart\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n",
			args: []string{"-f", "-"}, wantCode: 0, wantStderr: "stdin#0 (line 1): skipped: not a Kubernetes object: kind is missing"},
		{name: "not an object: --strict", stdin: "apiVersion: v2\nname: chart\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n",
			args: []string{"-f", "-", "--strict"}, wantCode: 2, wantErr: "stdin#0: not a Kubernetes object: kind is missing"},
		{name: "table by default", args: []string{"-f", manifests}, validator: noRules{}, wantCode: 0, wantOut: "7 objects: 5 mutated, 0 denied, 0 warned"},
		{name: "several -f and stdin", stdin: "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n",
			args: []string{"-f", manifests + "/istio.yaml", "--filename", "-", "-o", "yaml"}, wantCode: 0, wantOut: "name: x"},
		{name: "policy", args: []string{"-f", manifests, "--policy", "../../webhook/check/testdata/policy.yaml", "-o", "yaml"},
			wantCode: 0, wantOut: `proxy-send-timeout: "7200"`},
		{name: "denied", args: []string{"-f", manifests}, validator: denyIngress{}, wantCode: 1, wantErr: "2 objects denied"},
		{name: "one denied", args: []string{"-f", manifests + "/nginx-ingress.yaml"}, validator: denyIngress{}, wantCode: 1, wantErr: "1 object denied"},
		{name: "no -f", args: []string{"-o", "json"}, wantCode: 2, wantErr: "filename"},
		{name: "unknown flag", args: []string{"-f", manifests, "--bogus"}, wantCode: 2, wantErr: "bogus"},
		{name: "unknown output", args: []string{"-f", manifests, "-o", "xml"}, wantCode: 2, wantErr: `unknown output format "xml"`},
		{name: "junit", args: []string{"-f", manifests, "-o", "junit"}, validator: warnServices{}, wantCode: 0,
			wantOut: `<testsuites name="ws-defaults check" tests="7" failures="0" errors="0">`},
		{name: "junit denied", args: []string{"-f", manifests, "-o", "junit"}, validator: denyIngress{}, wantCode: 1,
			wantErr: "2 objects denied", wantOut: `<failure type="nginx-snippet-annotation" message="no">`},
		{name: "sarif", args: []string{"-f", manifests, "-o", "sarif"}, validator: warnServices{}, wantCode: 0, wantOut: `"version": "2.1.0"`},
		{name: "sarif denied", args: []string{"-f", manifests, "-o", "sarif"}, validator: denyIngress{}, wantCode: 1,
			wantErr: "2 objects denied", wantOut: `"level": "error"`},
		{name: "missing file", args: []string{"-f", "nope.yaml"}, wantCode: 2, wantErr: "nope.yaml"},
		{name: "bad document", stdin: "apiVersion: v1\nkind: Namespace\n---\nkind: [\n", args: []string{"-f", "-"}, wantCode: 2, wantErr: "stdin#1"},
		{name: "bad policy", args: []string{"-f", manifests, "--policy", "../../webhook/check/testdata/bad-policy.yaml"},
			wantCode: 2, wantErr: "spec.mutation.idleTimeoutSeconds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.validator != nil {
				saved := checkValidator
				checkValidator = func(context.Context) (check.Validator, error) { return tt.validator, nil }
				t.Cleanup(func() { checkValidator = saved })
			}
			code, out, stderr, err := runCheck(t, tt.stdin, tt.args...)
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantStderr, stderr)
			}
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d (%v)", code, tt.wantCode, err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("error %v, want one containing %q", err, tt.wantErr)
			}
			if tt.wantErr == "" && err != nil {
				t.Errorf("error %v", err)
			}
			if !strings.Contains(out, tt.wantOut) {
				t.Errorf("output lacks %q:\n%s", tt.wantOut, out)
			}
		})
	}
}

func TestCheckCommandCIFormats(t *testing.T) {
	saved := checkValidator
	checkValidator = func(context.Context) (check.Validator, error) { return warnServices{}, nil }
	t.Cleanup(func() { checkValidator = saved })

	t.Run("junit", func(t *testing.T) {
		code, out, _, err := runCheck(t, "", "-f", manifests, "-o", "junit")
		if code != 0 || err != nil {
			t.Fatalf("exit %d: %v", code, err)
		}
		var doc struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
			Suites   []struct {
				Name  string `xml:"name,attr"`
				Cases []struct {
					Classname string `xml:"classname,attr"`
					SystemOut string `xml:"system-out"`
				} `xml:"testcase"`
			} `xml:"testsuite"`
		}
		if err := xml.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("not XML: %v\n%s", err, out)
		}
		if doc.Tests != 7 || doc.Failures != 0 || len(doc.Suites) != 5 || doc.Suites[2].Name != manifests+"/istio.yaml" {
			t.Errorf("tests=%d failures=%d suites=%d", doc.Tests, doc.Failures, len(doc.Suites))
		}
		if c := doc.Suites[2].Cases[1]; c.Classname != "Service" || !strings.Contains(c.SystemOut, "warn http2-only-port") {
			t.Errorf("Service case %+v", c)
		}
	})
	t.Run("sarif", func(t *testing.T) {
		code, out, _, err := runCheck(t, "", "-f", manifests, "-o", "sarif")
		if code != 0 || err != nil {
			t.Fatalf("exit %d: %v", code, err)
		}
		var doc struct {
			Version string `json:"version"`
			Runs    []struct {
				Results []struct {
					RuleID    string `json:"ruleId"`
					Level     string `json:"level"`
					Locations []struct {
						PhysicalLocation struct {
							ArtifactLocation struct {
								URI string `json:"uri"`
							} `json:"artifactLocation"`
							Region struct {
								StartLine int `json:"startLine"`
							} `json:"region"`
						} `json:"physicalLocation"`
					} `json:"locations"`
				} `json:"results"`
			} `json:"runs"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, out)
		}
		if doc.Version != "2.1.0" || len(doc.Runs) != 1 || len(doc.Runs[0].Results) != 2 {
			t.Fatalf("version %q, %d runs: %s", doc.Version, len(doc.Runs), out)
		}
		r := doc.Runs[0].Results[0]
		loc := r.Locations[0].PhysicalLocation
		// The path as given: relative, even with "..".
		if r.RuleID != "http2-only-port" || r.Level != "warning" || loc.ArtifactLocation.URI != manifests+"/istio.yaml" || loc.Region.StartLine != 19 {
			t.Errorf("result %+v", r)
		}
	})
}

// noRules judges nothing: the cases that are not about rules do not
// depend on the Rego catalog.
type noRules struct{}

func (noRules) Validate(context.Context, map[string]any, check.Input) ([]check.Violation, error) {
	return nil, nil
}

// warnServices warns on every Service.
type warnServices struct{}

func (warnServices) Validate(_ context.Context, obj map[string]any, _ check.Input) ([]check.Violation, error) {
	if obj["kind"] != "Service" {
		return nil, nil
	}
	return []check.Violation{{Rule: "http2-only-port", Action: "warn", Severity: "medium", Field: "spec.ports[0].name", Message: "rename the port"}}, nil
}

// denyIngress denies every Ingress.
type denyIngress struct{}

func (denyIngress) Validate(_ context.Context, obj map[string]any, _ check.Input) ([]check.Violation, error) {
	if obj["kind"] != "Ingress" {
		return nil, nil
	}
	return []check.Violation{{Rule: "nginx-snippet-annotation", Action: "deny", Severity: "critical", Field: "metadata.annotations", Message: "no"}}, nil
}
