package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ws-defaults/ws-defaults/webhook/check"
	"github.com/ws-defaults/ws-defaults/webhook/explain"
	"github.com/ws-defaults/ws-defaults/webhook/policy"
)

// newExplainCommand is `webhook explain`: each WebSocket route's path hop
// by hop (docs/edge.md), offline on manifests like `webhook check`.
func newExplainCommand() *cobra.Command {
	var files, namespaces []string
	var policyFile, output, kubeconfig string
	cmd := &cobra.Command{
		Use:   "explain (-f PATH [-f PATH ...] [--policy FILE] | --kubeconfig FILE [-n NAMESPACE ...]) [-o table|json]",
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

With --kubeconfig (live), the cluster's objects and WebSocketPolicy are the
input: Namespaces, IngressClasses, Services, Ingresses, Gateway API
GatewayClasses, Gateways and HTTPRoutes, Istio VirtualServices and Contour
HTTPProxies (kinds the cluster does not serve are skipped).

Exit status: 0, or 2 for bad flags, unreadable input or an unreachable
cluster.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "table" && output != "json" {
				return exitError{code: check.ExitInput, err: fmt.Errorf("unknown output format %q: use table or json", output)}
			}
			var routes []explain.Route
			var err error
			switch {
			case (len(files) > 0) == (kubeconfig != ""):
				err = fmt.Errorf("give either -f (manifests) or --kubeconfig (a live cluster)")
			case kubeconfig != "":
				routes, err = explainLive(cmd.Context(), kubeconfig, namespaces)
			default:
				routes, err = explainFiles(cmd, files, policyFile)
			}
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
	f.StringVar(&kubeconfig, "kubeconfig", "", "explain the objects of this cluster instead of manifests")
	f.StringArrayVarP(&namespaces, "namespace", "n", nil, "with --kubeconfig: only routes in this namespace; repeatable")
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

// liveKinds are what explainLive lists: the objects the pipeline reads
// around a route, and the routes.
var liveKinds = []schema.GroupVersionKind{
	{Version: "v1", Kind: "Namespace"},
	{Group: "networking.k8s.io", Version: "v1", Kind: "IngressClass"},
	{Version: "v1", Kind: "Service"},
	{Group: "networking.k8s.io", Version: "v1", Kind: "Ingress"},
	{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "GatewayClass"},
	{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "Gateway"},
	{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "HTTPRoute"},
	{Group: "networking.istio.io", Version: "v1", Kind: "VirtualService"},
	{Group: "projectcontour.io", Version: "v1", Kind: "HTTPProxy"},
}

// explainLive runs the same pipeline as explainFiles with the cluster's
// objects and WebSocketPolicy as the input.
func explainLive(ctx context.Context, kubeconfig string, namespaces []string) ([]explain.Route, error) {
	if err := os.Setenv("KUBECONFIG", kubeconfig); err != nil {
		return nil, err
	}
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return nil, err
	}
	scheme, err := auditScheme()
	if err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, err
	}
	gen, err := clusterPolicy(ctx, c, policy.Defaults{}) // explain judges no rule: the enforcement caps do not matter
	if err != nil {
		return nil, err
	}
	var objs []check.Object
	for _, gvk := range liveKinds {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := c.List(ctx, list); err != nil {
			if meta.IsNoMatchError(err) || apierrors.IsNotFound(err) {
				continue // the cluster does not serve this kind
			}
			return nil, fmt.Errorf("listing %s: %w", gvk.Kind, err)
		}
		for i := range list.Items {
			u := &list.Items[i]
			u.SetManagedFields(nil)
			raw, err := json.Marshal(u.Object)
			if err != nil {
				return nil, err
			}
			objs = append(objs, check.Object{Source: check.SourceCluster, File: check.SourceCluster, Item: -1, Raw: raw, Object: u.Object})
		}
	}
	rep, err := check.Check(ctx, objs, gen.Spec, nil)
	if err != nil {
		return nil, err
	}
	var routes []explain.Route
	for _, r := range rep.Results {
		if len(namespaces) == 0 || slices.Contains(namespaces, r.Namespace) {
			routes = append(routes, r.Path...)
		}
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
