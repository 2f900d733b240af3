// Command webhook is ws-defaults' only binary: the admission server
// (serve), the same mutation and policies offline for CI (check), and
// a runner for teams' rule fixtures (test).
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	root := &cobra.Command{
		Use:           "webhook",
		Short:         "ws-defaults: WebSocket defaults and policies for Kubernetes admission",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServeCommand(), newCheckCommand(), newTestCommand(), newAuditCommand(), newExplainCommand())
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "webhook:", err)
		os.Exit(exitCode(err))
	}
}

// exitError carries a process exit status out of a subcommand.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }

func exitCode(err error) int {
	if e, ok := err.(exitError); ok {
		return e.code
	}
	return 2
}
