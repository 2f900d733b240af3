package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ws-defaults/ws-defaults/webhook/check"
)

// Bad flags and an unreachable cluster are exit 2, before anything is
// judged (the end-to-end suite runs `webhook audit` against a real API
// server).
func TestAuditExit2(t *testing.T) {
	t.Setenv("KUBECONFIG", os.Getenv("KUBECONFIG")) // runAudit sets it; restored after
	var out, errb bytes.Buffer
	code, err := runAudit(context.Background(), auditOptions{output: "yaml"}, &out, &errb)
	if code != check.ExitInput || err == nil || !strings.Contains(err.Error(), "json, junit, sarif, table") {
		t.Errorf("-o yaml: %d %v", code, err)
	}
	code, err = runAudit(context.Background(), auditOptions{output: "json", kubeconfig: filepath.Join(t.TempDir(), "missing")}, &out, &errb)
	if code != check.ExitInput || err == nil {
		t.Errorf("missing kubeconfig: %d %v", code, err)
	}
}
