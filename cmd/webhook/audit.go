package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	orv1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
	"github.com/ws-defaults/ws-defaults/webhook/audit"
	"github.com/ws-defaults/ws-defaults/webhook/check"
	"github.com/ws-defaults/ws-defaults/webhook/cluster"
	"github.com/ws-defaults/ws-defaults/webhook/evidence"
	"github.com/ws-defaults/ws-defaults/webhook/policy"
	"github.com/ws-defaults/ws-defaults/webhook/validate"
)

// auditOptions are `webhook audit`'s flags.
type auditOptions struct {
	kubeconfig   string
	namespaces   []string
	output       string
	writeReports bool
	ownNamespace string
	// defaults are the installation's (the chart's enforcement.outsideOptIn).
	defaults policy.Defaults
}

// newAuditCommand is `webhook audit`: one audit pass against a live
// cluster, printed like `webhook check` (interfaces.md).
func newAuditCommand() *cobra.Command {
	var o auditOptions
	cmd := &cobra.Command{
		Use:   "audit [--kubeconfig FILE] [-n NAMESPACE ...] [-o " + strings.Join(auditFormats, "|") + "] [--write-reports]",
		Short: "Judge the objects that exist in a cluster, as admission would today",
		Long: `Lists every object of every kind the webhook handles (in pages), in all
namespaces that are not excluded or in the -n ones, and judges each exactly
as admission would now: the cluster's WebSocketPolicy (built-ins when
absent), namespace labels and annotations, IngressClasses. The output is
webhook check's, with source "cluster"; an object's patch is what the
mutating webhook would add to it now (drift), also reported as the finding
defaults-missing (warn).

-o json and -o jsonl (JSON Lines: one result per line, then a summary line)
are written object by object as the pass goes, in list order, so memory
stays the same whatever the cluster's size; table, junit and sarif hold
every result until the end.

--write-reports writes the OpenReports Reports the serve loop writes, then
exits.

Exit status: 0 nothing denied, 1 an object has a deny finding, 2 errors
(unreachable cluster, no permission, bad flags).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			code, err := runAudit(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
			if err != nil || code != 0 {
				if err == nil {
					err = fmt.Errorf("objects with deny findings")
				}
				return exitError{code: code, err: err}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig of the cluster to audit (default: KUBECONFIG, then in-cluster)")
	f.StringArrayVarP(&o.namespaces, "namespace", "n", nil, "audit only this namespace; repeatable (default: all namespaces not excluded)")
	f.StringVarP(&o.output, "output", "o", check.DefaultFormat, "output format: "+strings.Join(auditFormats, ", ")+" (json and jsonl are written as the pass goes)")
	f.BoolVar(&o.writeReports, "write-reports", false, "write the OpenReports Reports the serve loop writes, then exit")
	f.StringVar((*string)(&o.defaults.OutsideOptIn), "outside-opt-in", string(v1alpha1.DefaultOutsideOptIn), "as webhook serve's flag (the chart's enforcement.outsideOptIn): the most a cluster-scope rule does outside opt-in when the WebSocketPolicy leaves it unset")
	f.StringVar(&o.ownNamespace, "webhook-namespace", os.Getenv("POD_NAMESPACE"), "the webhook's own namespace, never audited (default: POD_NAMESPACE)")
	return cmd
}

// auditFormats are check's cluster formats plus JSON Lines.
var auditFormats = append(slices.Clone(check.ClusterFormats), "jsonl")

// auditScheme knows the kinds `webhook audit` reads and writes.
func auditScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, v1alpha1.AddToScheme, orv1.AddToScheme} {
		if err := add(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// clusterPolicy is the generation the cluster's WebSocketPolicy makes, or
// the built-in one when there is none.
func clusterPolicy(ctx context.Context, c client.Reader, defaults policy.Defaults) (*policy.Generation, error) {
	if err := defaults.Validate(); err != nil {
		return nil, fmt.Errorf("--outside-opt-in: %w", err)
	}
	var p v1alpha1.WebSocketPolicy
	err := c.Get(ctx, client.ObjectKey{Name: v1alpha1.PolicyName}, &p)
	if apierrors.IsNotFound(err) {
		return defaults.Builtin(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the WebSocketPolicy: %w", err)
	}
	gen, err := defaults.FromObject(&p)
	if err != nil {
		return nil, fmt.Errorf("the cluster's WebSocketPolicy is invalid: %w", err)
	}
	return gen, nil
}

func runAudit(ctx context.Context, o auditOptions, stdout, stderr io.Writer) (int, error) {
	if !slices.Contains(auditFormats, o.output) {
		return check.ExitInput, fmt.Errorf("unknown output format %q; use one of %s", o.output, strings.Join(auditFormats, ", "))
	}
	if o.kubeconfig != "" {
		// controller-runtime reads --kubeconfig via KUBECONFIG.
		if err := os.Setenv("KUBECONFIG", o.kubeconfig); err != nil {
			return check.ExitInput, err
		}
	}
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return check.ExitInput, err
	}
	scheme, err := auditScheme()
	if err != nil {
		return check.ExitInput, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return check.ExitInput, fmt.Errorf("connecting to the cluster: %w", err)
	}
	gen, err := clusterPolicy(ctx, c, o.defaults)
	if err != nil {
		return check.ExitInput, err
	}
	// The rules compile while the route index lists: neither needs the
	// other, and on a small cluster the compile is a good part of the run.
	type compiled struct {
		engine *validate.Engine
		err    error
	}
	engineDone := make(chan compiled, 1)
	go func() {
		e, err := validate.NewEngine(ctx)
		engineDone <- compiled{e, err}
	}()
	routes, err := routeIndex(ctx, cfg, gen.Spec.NginxAnnotationPrefix)
	ce := <-engineDone
	if ce.err != nil {
		return check.ExitInput, ce.err
	}
	if err != nil {
		return check.ExitInput, err
	}
	engine := ce.engine
	a := &audit.Auditor{
		Reader: c, Mapper: c.RESTMapper(), Policies: policy.NewStore(gen), Rules: engine,
		OwnNamespace: o.ownNamespace, Namespaces: o.namespaces, Routes: routes,
		// In list order, so that what streams comes out the same every run.
		Ordered: true,
	}
	// json and jsonl are written as the pass goes; the other formats lay
	// out the whole report, so their results are collected first.
	var col audit.Collect
	var stream *audit.Stream
	sink := col.Sink
	if slices.Contains(audit.StreamFormats, o.output) {
		if stream, err = audit.NewStream(stdout, o.output); err != nil {
			return check.ExitInput, err
		}
		sink = stream.Sink
	}
	warn := func(obj *audit.Object) {
		for _, e := range obj.RuleErrors {
			fmt.Fprintf(stderr, "%s %s/%s: warning: %v\n", obj.Ref.Kind, obj.Ref.Namespace, obj.Ref.Name, e)
		}
	}
	var w *audit.Writer
	if o.writeReports {
		w = &audit.Writer{Client: c}
		if err := w.Load(ctx, o.namespaces); err != nil {
			return check.ExitInput, err
		}
	}
	next := sink
	sink = func(ctx context.Context, obj *audit.Object) error {
		if w != nil {
			if err := w.Sync(ctx, obj); err != nil {
				return err
			}
		}
		warn(obj)
		return next(ctx, obj)
	}
	if _, err := a.Run(ctx, sink); err != nil {
		if stream != nil {
			// What was written stays a complete document.
			_ = stream.Close()
		}
		return check.ExitInput, err
	}
	if w != nil {
		if err := w.Sweep(ctx); err != nil {
			return check.ExitInput, err
		}
		fmt.Fprintf(stderr, "reports: %d created, %d updated, %d deleted, %d unchanged\n",
			w.Writes.Created.Load(), w.Writes.Updated.Load(), w.Writes.Deleted.Load(), w.Writes.Unchanged.Load())
	}
	if stream != nil {
		if err := stream.Close(); err != nil {
			return check.ExitInput, fmt.Errorf("writing the report: %w", err)
		}
		return check.ExitStatus(stream.Summary(), nil), nil
	}
	rep := col.Report()
	if err := check.Write(stdout, o.output, rep); err != nil {
		return check.ExitInput, fmt.Errorf("writing the report: %w", err)
	}
	return check.ExitStatus(rep.Summary, nil), nil
}

// routeIndex lists, as `webhook serve`'s route index does, the Services,
// routes, Gateways, GatewayClasses and implementation policies the
// cross-object evidence and Gateway API resolution read, so that the audit
// judges each object as admission would. It stops when ctx ends.
func routeIndex(ctx context.Context, cfg *rest.Config, nginxPrefix string) (*evidence.Set, error) {
	set := evidence.NewSet(evidence.Options{NginxPrefix: nginxPrefix})
	w, err := cluster.NewRouteWatcher(cfg, set)
	if err != nil {
		return nil, err
	}
	go func() { _ = w.Start(ctx) }()
	if !w.WaitForSync(ctx, 2*time.Minute) {
		return nil, fmt.Errorf("listing Services and routes for cross-object evidence: not done within 2 minutes (does the kubeconfig allow list and watch on them?)")
	}
	return set, nil
}
