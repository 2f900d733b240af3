package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ws-defaults/ws-defaults/webhook/version"
)

func runRoot(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := newRootCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	if err := cmd.Execute(); err != nil {
		return exitCode(err), out.String() + err.Error()
	}
	return 0, out.String()
}

// `webhook version`, `webhook --version` and `webhook version -o json` say
// the same thing: what version.Get reads from the binary.
func TestVersionCommand(t *testing.T) {
	want := version.Get()
	if code, out := runRoot(t, "version"); code != 0 || out != want.String()+"\n" {
		t.Errorf("webhook version: exit %d, %q; want %q", code, out, want.String())
	}
	if code, out := runRoot(t, "--version"); code != 0 || out != want.String()+"\n" {
		t.Errorf("webhook --version: exit %d, %q; want %q", code, out, want.String())
	}
	code, out := runRoot(t, "version", "-o", "json")
	var got version.Info
	if err := json.Unmarshal([]byte(out), &got); code != 0 || err != nil || got != want {
		t.Errorf("webhook version -o json: exit %d, %v\n%s", code, err, out)
	}
	for _, key := range []string{`"version"`, `"moduleVersion"`, `"goVersion"`, `"platform"`} {
		if !strings.Contains(out, key) {
			t.Errorf("webhook version -o json lacks %s:\n%s", key, out)
		}
	}
	if code, out := runRoot(t, "version", "-o", "yaml"); code != 2 || !strings.Contains(out, "text or json") {
		t.Errorf("webhook version -o yaml: exit %d, %s", code, out)
	}
}
