// Command webhook is ws-defaults' only binary: the admission server
// (serve), the same mutation and policies offline for CI (check), a
// runner for teams' rule fixtures (test), and what the binary was built
// from (version).
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/ws-defaults/ws-defaults/webhook/version"
)

func main() {
	if err := newRootCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "webhook:", err)
		os.Exit(exitCode(err))
	}
}

func newRootCommand() *cobra.Command {
	info := version.Get()
	root := &cobra.Command{
		Use:           "webhook",
		Short:         "ws-defaults: WebSocket defaults and policies for Kubernetes admission",
		SilenceUsage:  true,
		SilenceErrors: true,
		// Version gives the root command a --version flag, printed as
		// `webhook version` prints it.
		Version: info.Version,
	}
	root.SetVersionTemplate(info.String() + "\n")
	root.AddCommand(newServeCommand(), newCheckCommand(), newTestCommand(), newAuditCommand(), newExplainCommand(), newVersionCommand())
	return root
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
