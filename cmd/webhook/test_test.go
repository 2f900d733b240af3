package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runTest(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := newTestCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	code := 0
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		code = exitCode(err)
		out.WriteString(err.Error())
	}
	return code, out.String()
}

// TestTestCommand runs the README's worked example and suites that fail or
// cannot be read.
func TestTestCommand(t *testing.T) {
	example := "../../docs/examples/custom-rules"
	if code, out := runTest(t, example); code != 0 || !strings.Contains(out, "PASS Ingress/chat/week-long-cookie: team-max-cookie-age fires") {
		t.Fatalf("worked example: exit %d\n%s", code, out)
	}

	dir := t.TempDir()
	for _, name := range []string{"policy.yaml", "manifests.yaml"} {
		b, err := os.ReadFile(filepath.Join(example, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write := func(suite string) {
		if err := os.WriteFile(filepath.Join(dir, "ws-defaults-test.yaml"), []byte(suite), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("policy: policy.yaml\nresources: [manifests.yaml]\ncases:\n- object: Ingress/chat/default-cookie\n  fire: [team-max-cookie-age]\n")
	if code, out := runTest(t, dir); code != 1 || !strings.Contains(out, "FAIL Ingress/chat/default-cookie: team-max-cookie-age should fire") {
		t.Errorf("wrong expectation: exit %d\n%s", code, out)
	}
	write("policy: policy.yaml\nresources: [manifests.yaml]\ncases:\n- object: Ingress/nowhere\n  fire: [tls-required]\n")
	if code, out := runTest(t, dir); code != 2 || !strings.Contains(out, "no such object") {
		t.Errorf("unknown object: exit %d\n%s", code, out)
	}
	write("policy: policy.yaml\nresources: [manifests.yaml]\ncases:\n- object: Ingress/chat/default-cookie\n  pass: [team-max-cookie-age, a-rule-id-that-does-not-exist]\n")
	if code, out := runTest(t, dir); code != 2 || !strings.Contains(out, `no rule "a-rule-id-that-does-not-exist"`) {
		t.Errorf("unknown rule id: exit %d\n%s", code, out)
	}
	// print() in a rule under test is shown, with the rule's file and line.
	printing := strings.Replace(mustRead(t, filepath.Join(example, "policy.yaml")), "        to_number(v) > 86400\n", "        print(\"max age is\", v)\n        to_number(v) > 86400\n", 1)
	if err := os.WriteFile(filepath.Join(dir, "policy.yaml"), []byte(printing), 0o600); err != nil {
		t.Fatal(err)
	}
	write("policy: policy.yaml\nresources: [manifests.yaml]\ncases:\n- object: Ingress/chat/week-long-cookie\n  fire: [team-max-cookie-age]\n")
	if code, out := runTest(t, dir); code != 0 || !strings.Contains(out, "custom/team-max-cookie-age.rego:") || !strings.Contains(out, ": max age is 604800") {
		t.Errorf("print: exit %d\n%s", code, out)
	}
	write("polcy: policy.yaml\n")
	if code, out := runTest(t, dir); code != 2 || !strings.Contains(out, "polcy") {
		t.Errorf("misspelt field: exit %d\n%s", code, out)
	}
	// A custom rule that does not compile is the suite's input error, with
	// the rule and position named.
	bad := strings.Replace(mustRead(t, filepath.Join(example, "policy.yaml")), "to_number(v) > 86400", "to_number(v) >", 1)
	if err := os.WriteFile(filepath.Join(dir, "policy.yaml"), []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	write("policy: policy.yaml\nresources: [manifests.yaml]\ncases:\n- object: Ingress/chat/default-cookie\n  pass: [x]\n")
	if code, out := runTest(t, dir); code != 2 || !strings.Contains(out, "spec.customRules[0].rego: ") {
		t.Errorf("broken custom rule: exit %d\n%s", code, out)
	}
	if code, out := runTest(t, t.TempDir()); code != 2 || !strings.Contains(out, "no ws-defaults-test.yaml") {
		t.Errorf("empty folder: exit %d\n%s", code, out)
	}
}

func mustRead(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
