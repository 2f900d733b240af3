package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ws-defaults/ws-defaults/webhook/check"
	"github.com/ws-defaults/ws-defaults/webhook/validate"
)

// checkValidator judges objects after mutation in `webhook check`: the
// embedded Rego rules. A variable so tests can stand in a fake.
var checkValidator func(ctx context.Context) (check.Validator, error) = func(ctx context.Context) (check.Validator, error) {
	engine, err := validate.NewEngine(ctx)
	if err != nil {
		return nil, err
	}
	return check.Rules{Engine: engine}, nil
}

// batchGC tunes the garbage collector for a batch job whose live heap is
// small (check's index and the objects being judged): collect a quarter as
// often as the default, within a soft limit of 160 MiB, unless GOGC or
// GOMEMLIMIT say otherwise. It spends a third less CPU on check.
func batchGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(160 << 20)
	}
}

func objects(n int) string {
	if n == 1 {
		return "object"
	}
	return "objects"
}

// newCheckCommand is `webhook check`: the webhook's mutation and policies
// on manifests, offline. Exit status 1 means something would be denied,
// 2 bad flags or unreadable input (see interfaces.md).
func newCheckCommand() *cobra.Command {
	var o check.Options
	cmd := &cobra.Command{
		Use:   "check -f PATH [-f PATH ...] [--policy FILE] [-o " + strings.Join(check.Formats(), "|") + "]",
		Short: "Run the mutation and policies on manifests, offline (for CI)",
		Long: `Reads Kubernetes manifests and reports what the webhook would add to each
object and which rules would fire, without a cluster.

Objects are opted in unless the input holds their Namespace object, whose
ws-defaults label then decides; an object's own ws-defaults label decides
first. IngressClass objects in the input map class names to controllers;
GatewayClass and Gateway objects, and implementation policies targeting a
route, resolve which Gateway API implementation serves an HTTPRoute.

Exit status: 0 nothing denied, 1 an object would be denied (or warned
about, with --fail-on warn), 2 bad flags, unreadable or ambiguous input
(duplicate keys, a custom rule failing at run time).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Stdin, o.Stdout, o.Stderr = cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr()
			v, err := checkValidator(cmd.Context())
			if err != nil {
				return exitError{code: check.ExitInput, err: err}
			}
			o.Validator = v
			o.Workers = runtime.GOMAXPROCS(0)
			batchGC()
			sum, err := check.Run(cmd.Context(), o)
			switch check.ExitStatusFailOn(sum, err, o.FailOn) {
			case check.ExitInput:
				return exitError{code: check.ExitInput, err: err}
			case check.ExitDenied:
				if sum.Denied == 0 {
					return exitError{code: check.ExitDenied, err: fmt.Errorf("%d %s warned about (--fail-on warn)", sum.Warned, objects(sum.Warned))}
				}
				return exitError{code: check.ExitDenied, err: fmt.Errorf("%d %s denied", sum.Denied, objects(sum.Denied))}
			}
			return nil
		},
	}
	f := cmd.Flags()
	// A string slice, like kubectl's -f: repeatable, and comma-separated too.
	f.StringSliceVarP(&o.Files, "filename", "f", nil, "a manifest file, a folder (read recursively for .yaml, .yml, .json) or - for stdin; repeatable")
	f.StringVar(&o.FailOn, "fail-on", check.FailOnDeny, "the mildest finding that fails the check (exit 1): deny, or warn for warnings too")
	f.BoolVar(&o.Strict, "strict", false, "fail (exit 2) on documents that are not Kubernetes objects (no apiVersion or kind) instead of skipping them with a notice")
	f.StringVar(&o.PolicyFile, "policy", "", "a WebSocketPolicy manifest to use instead of the built-in defaults")
	f.StringVarP(&o.Output, "output", "o", check.DefaultFormat, "output format: "+strings.Join(check.Formats(), ", "))
	_ = cmd.MarkFlagRequired("filename")
	return cmd
}
