// Package install tests what users install: the Helm chart in
// charts/ws-defaults and the kustomize tree in config/webhook (generated from
// the chart). Helm and kustomize are built from their Go modules by
// hack/tools.sh; the API server is the real one test/framework starts.
//
//	go test ./test/install/                 # everything (minutes on a cold cache)
//	go test ./test/install/ -run Template   # rendering only, no API server
//	hack/render-kustomize.sh                # regenerate config/webhook
//
// Every test is skipped with -short: the first run builds Helm (about 2.5
// minutes on 2 cores) and, without KUBEBUILDER_ASSETS, the control plane.
package install

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ws-defaults/ws-defaults/test/framework"
)

var update = flag.Bool("update", false, "rewrite config/webhook from the chart instead of comparing (hack/render-kustomize.sh)")

var (
	root string
	// work holds kubeconfigs, the webhook binary and rendered files.
	work string
)

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("install: skipped in -short mode")
		return
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	if root, err = framework.RepoRoot(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if work, err = os.MkdirTemp("", "ws-defaults-install-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(work)
	code := m.Run()
	stopCluster()
	return code
}

var tools sync.Map // name -> *toolResult

type toolResult struct {
	once sync.Once
	path string
	err  error
}

// tool returns the path of a pinned tool: $HELM or $KUSTOMIZE when set (an
// already installed binary), else what `hack/tools.sh <name>` builds into
// .cache/tools (once; later runs find it there).
func tool(t *testing.T, name string) string {
	t.Helper()
	v, _ := tools.LoadOrStore(name, &toolResult{})
	r := v.(*toolResult)
	r.once.Do(func() {
		if p := os.Getenv(strings.ToUpper(name)); p != "" {
			r.path = p
			return
		}
		cmd := exec.Command(filepath.Join(root, "hack", "tools.sh"), name)
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			r.err = fmt.Errorf("hack/tools.sh %s: %w", name, err)
			return
		}
		r.path = strings.TrimSpace(string(out))
	})
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.path
}

// execIn runs a command with stdin and returns its stdout; stderr goes into
// the error.
func execIn(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = root
	if stdin != nil {
		cmd.Stdin = strings.NewReader(string(stdin))
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w\n%s", filepath.Base(name), strings.Join(args, " "), err, stderr.String())
	}
	return out, nil
}
