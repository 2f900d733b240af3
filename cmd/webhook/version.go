package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ws-defaults/ws-defaults/webhook/version"
)

func newVersionCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, VCS revision and commit time, and Go version the binary was built with",
		Long: `Prints what this binary was built from: its version (the image build
stamps the chart's appVersion; otherwise the module version the go command
derived from the checkout), the git revision and commit time, whether the
tree was modified, the Go version and the platform. -o json prints the
same as one JSON object.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info := version.Get()
			switch output {
			case "text":
				_, err := fmt.Fprintln(cmd.OutOrStdout(), info)
				return err
			case "json":
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(info)
			default:
				return exitError{code: 2, err: fmt.Errorf("-o %q: want text or json", output)}
			}
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text, json")
	return cmd
}
