package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ws-defaults/ws-defaults/webhook/check"
	"github.com/ws-defaults/ws-defaults/webhook/explain"
)

// newExplainCommand is `webhook explain`: each WebSocket route's path hop
// by hop (docs/edge.md), offline on manifests like `webhook check`.
func newExplainCommand() *cobra.Command {
	var files []string
	var policyFile, output string
	cmd := &cobra.Command{
		Use:   "explain -f PATH [-f PATH ...] [--policy FILE] [-o table|json]",
		Short: "Show each WebSocket route's path, hop by hop, and its effective idle timeout",
		Long: `Reads Kubernetes manifests as 'webhook check' does, applies the mutation, and
shows for every WebSocket route (Ingress path, HTTPRoute rule, VirtualService
route, HTTPProxy route) and WebSocket LoadBalancer Service port the hops in
order: the load balancer in front (its provider, idle timeout and where that
comes from), the ingress controller or gateway, and a mesh sidecar where one
is in play; then the effective idle timeout (the smallest) and the hop that
limits it.

A route is linked to the load balancer in front by status: a LoadBalancer
Service whose status.loadBalancer.ingress shares an address with the route's
(or its Gateway's status.addresses); otherwise the policy's spec.edge.provider
stands in.

Exit status: 0, or 2 for bad flags or unreadable input.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "table" && output != "json" {
				return exitError{code: check.ExitInput, err: fmt.Errorf("unknown output format %q: use table or json", output)}
			}
			routes, err := explainFiles(cmd, files, policyFile)
			if err != nil {
				return exitError{code: check.ExitInput, err: err}
			}
			if output == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(map[string]any{"routes": routes})
			}
			return writeExplainTable(cmd.OutOrStdout(), routes)
		},
	}
	f := cmd.Flags()
	f.StringSliceVarP(&files, "filename", "f", nil, "a manifest file, a folder (read recursively for .yaml, .yml, .json) or - for stdin; repeatable")
	f.StringVar(&policyFile, "policy", "", "a WebSocketPolicy manifest to use instead of the built-in defaults")
	f.StringVarP(&output, "output", "o", "table", "output format: table, json")
	_ = cmd.MarkFlagRequired("filename")
	return cmd
}

// explainFiles runs `webhook check`'s pipeline on the input and collects
// the paths it lays out.
func explainFiles(cmd *cobra.Command, files []string, policyFile string) ([]explain.Route, error) {
	policy, err := check.LoadPolicy(policyFile)
	if err != nil {
		return nil, err
	}
	objs, err := check.Read(files, cmd.InOrStdin())
	if err != nil {
		return nil, err
	}
	rep, err := check.Check(cmd.Context(), objs, policy, nil)
	if err != nil {
		return nil, err
	}
	// check lays out each result's path (explain.Paths over all objects).
	var routes []explain.Route
	for _, r := range rep.Results {
		routes = append(routes, r.Path...)
	}
	return routes, nil
}

func writeExplainTable(w io.Writer, routes []explain.Route) error {
	if len(routes) == 0 {
		_, err := fmt.Fprintln(w, "no WebSocket route or WebSocket LoadBalancer Service in the input")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "OBJECT\tROUTE\tHOP\tWHAT\tIDLE\tSOURCE")
	for _, r := range routes {
		for i, h := range r.Hops {
			obj, route := r.Object, r.Route
			if i > 0 {
				obj, route = "", ""
			}
			what := h.Provider
			if h.Controller != "" {
				what = strings.TrimSpace(what + " " + h.Controller)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", obj, route, h.Hop, what, idleText(h.IdleSeconds, h.Unlimited), h.Source)
		}
		fmt.Fprintf(tw, "\t\t=> effective\t\t%s\tlimited by %s\n", idleText(r.EffectiveIdleSeconds, r.LimitedBy == "none"), r.LimitedBy)
		for _, n := range r.Notes {
			fmt.Fprintf(tw, "\t\tnote\t\t\t%s\n", n)
		}
	}
	return tw.Flush()
}

func idleText(s *int64, unlimited bool) string {
	switch {
	case s != nil:
		return strconv.FormatInt(*s, 10) + "s"
	case unlimited:
		return "none"
	}
	return "?"
}
