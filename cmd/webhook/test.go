package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ws-defaults/ws-defaults/webhook/check"
)

// newTestCommand is `webhook test`: a team's rules against their fixtures
// (ws-defaults-test.yaml suites), like `kyverno test` or `gator verify`.
// Exit status 1 means an expectation failed, 2 unreadable input.
func newTestCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "test DIR [DIR ...]",
		Short: "Run the " + check.SuiteFile + " suites under DIR: policies and custom rules against fixtures",
		Long: `Finds every ` + check.SuiteFile + ` under the given folders and runs it: the
suite's policy (custom rules included) over its resources, exactly as
` + "`webhook check`" + ` would, then checks that each case's "fire" rules fired on
the named object and its "pass" rules did not.

  policy: policy.yaml          # a WebSocketPolicy file; omit for the built-ins
  resources: [manifests.yaml]  # files or folders
  cases:
  - object: Ingress/chat/week-long-cookie   # Kind/name or Kind/namespace/name
    fire: [team-max-cookie-age]
    pass: [tls-required]

Exit status: 0 all expectations hold, 1 one does not, 2 unreadable input.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, dirs []string) error {
			v, err := checkValidator(cmd.Context())
			if err != nil {
				return exitError{code: check.ExitInput, err: err}
			}
			res, err := check.RunSuites(cmd.Context(), dirs, v, cmd.OutOrStdout())
			if err != nil {
				return exitError{code: check.ExitInput, err: err}
			}
			if res.Failed > 0 {
				return exitError{code: check.ExitDenied, err: fmt.Errorf("%d expectation(s) failed", res.Failed)}
			}
			return nil
		},
	}
}
