package policy

import (
	"context"
	"fmt"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
	"github.com/ws-defaults/ws-defaults/webhook/metrics"
)

// Applier puts the WebSocketPolicy named "default" in effect on this
// replica: every replica runs one (no leader election), so each applies a
// new generation within its watch latency. An invalid generation is
// counted, logged and skipped; the previous generation stays in effect.
type Applier struct {
	// Reader reads the policy, from the manager's cache.
	Reader client.Reader
	Store  *Store
	// Defaults fill what the policy leaves unset (the chart's values).
	Defaults Defaults

	mu sync.Mutex
	// seen is the last generation processed, applied or rejected, so
	// readiness can tell a replica that has not caught up yet.
	seen objectGeneration
}

type objectGeneration struct {
	uid        types.UID
	generation int64
}

// Reconcile applies the current object, or the built-in policy when there
// is none.
func (a *Applier) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	logger := log.FromContext(ctx)
	var p v1alpha1.WebSocketPolicy
	err := a.Reader.Get(ctx, req.NamespacedName, &p)
	if apierrors.IsNotFound(err) {
		if a.Store.Current().Source != SourceBuiltin {
			a.Store.Set(a.Defaults.Builtin())
			metrics.PolicyGeneration.Set(0)
			logger.Info("WebSocketPolicy deleted; the built-in policy is in effect")
		}
		a.markSeen(objectGeneration{})
		return reconcile.Result{}, nil
	}
	if err != nil {
		return reconcile.Result{}, err
	}
	seen := objectGeneration{uid: p.UID, generation: p.Generation}
	if cur := a.Store.Current(); cur.UID == p.UID && cur.ObjectGeneration == p.Generation {
		a.markSeen(seen)
		return reconcile.Result{}, nil
	}
	a.mu.Lock()
	already := a.seen == seen
	a.mu.Unlock()
	if already {
		// Rejected before; a status update or resync brought it back.
		return reconcile.Result{}, nil
	}
	g, err := a.Defaults.FromObject(&p)
	if err != nil {
		metrics.PolicyReloads.WithLabelValues(metrics.ReloadRejected).Inc()
		cur := a.Store.Current()
		logger.Error(err, "WebSocketPolicy rejected; the previous policy stays in effect",
			"generation", p.Generation, "inEffect", cur.Source, "inEffectGeneration", cur.ObjectGeneration)
		a.markSeen(seen)
		return reconcile.Result{}, nil
	}
	a.Store.Set(g)
	metrics.PolicyReloads.WithLabelValues(metrics.ReloadApplied).Inc()
	metrics.PolicyGeneration.Set(float64(p.Generation))
	logger.Info("WebSocketPolicy applied", "generation", p.Generation)
	a.markSeen(seen)
	return reconcile.Result{}, nil
}

func (a *Applier) markSeen(s objectGeneration) {
	a.mu.Lock()
	a.seen = s
	a.mu.Unlock()
}

// CaughtUp reports nil once the generation in the cache has been
// processed, so a replica does not serve the built-in values while a
// policy exists.
func (a *Applier) CaughtUp(ctx context.Context) error {
	var p v1alpha1.WebSocketPolicy
	err := a.Reader.Get(ctx, client.ObjectKey{Name: v1alpha1.PolicyName}, &p)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the WebSocketPolicy: %w", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.seen != (objectGeneration{uid: p.UID, generation: p.Generation}) {
		return fmt.Errorf("WebSocketPolicy generation %d not processed yet", p.Generation)
	}
	return nil
}

// StatusWriter reports in status.conditions[Ready] whether the current
// generation is in effect. Only the leader writes, so replicas never race
// each other; every replica reaches the same verdict, since Compile is
// deterministic.
type StatusWriter struct {
	Client client.Client
	Store  *Store
}

// Reconcile writes the Ready condition for the object's generation.
func (w *StatusWriter) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	var p v1alpha1.WebSocketPolicy
	if err := w.Client.Get(ctx, req.NamespacedName, &p); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	cond := ReadyCondition(&p, w.Store.Current())
	if old := meta.FindStatusCondition(p.Status.Conditions, cond.Type); old != nil && p.Status.ObservedGeneration == p.Generation &&
		old.Status == cond.Status && old.Reason == cond.Reason && old.Message == cond.Message && old.ObservedGeneration == cond.ObservedGeneration {
		return reconcile.Result{}, nil
	}
	patch := client.MergeFrom(p.DeepCopy())
	p.Status.ObservedGeneration = p.Generation
	meta.SetStatusCondition(&p.Status.Conditions, cond)
	if err := w.Client.Status().Patch(ctx, &p, patch); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	return reconcile.Result{}, nil
}

// ReadyCondition is the Ready condition for p: True when it compiles (and
// so is in effect), False with every bad field otherwise.
func ReadyCondition(p *v1alpha1.WebSocketPolicy, inEffect *Generation) metav1.Condition {
	cond := metav1.Condition{Type: v1alpha1.ConditionReady, ObservedGeneration: p.Generation}
	if _, err := FromObject(p); err != nil {
		keep := "the built-in policy stays in effect"
		if inEffect != nil && inEffect.Source != SourceBuiltin && inEffect.UID == p.UID {
			keep = fmt.Sprintf("generation %d stays in effect", inEffect.ObjectGeneration)
		}
		cond.Status, cond.Reason = metav1.ConditionFalse, v1alpha1.ReasonInvalid
		cond.Message = fmt.Sprintf("generation %d is invalid and was not applied (%s): %v", p.Generation, keep, err)
	} else {
		cond.Status, cond.Reason = metav1.ConditionTrue, v1alpha1.ReasonApplied
		cond.Message = fmt.Sprintf("generation %d is in effect", p.Generation)
	}
	return cond
}

// Setup registers the Applier (on every replica) and the StatusWriter (on
// the leader) with mgr.
func Setup(mgr ctrl.Manager, store *Store, defaults Defaults) (*Applier, error) {
	onlyDefault := builder.WithPredicates(predicate.NewPredicateFuncs(func(o client.Object) bool {
		return o.GetName() == v1alpha1.PolicyName
	}))
	applier := &Applier{Reader: mgr.GetCache(), Store: store, Defaults: defaults}
	everyReplica := false
	if err := ctrl.NewControllerManagedBy(mgr).Named("policy-applier").
		For(&v1alpha1.WebSocketPolicy{}, onlyDefault).
		WithOptions(controller.Options{NeedLeaderElection: &everyReplica}).
		Complete(applier); err != nil {
		return nil, fmt.Errorf("setting up the policy applier: %w", err)
	}
	if err := ctrl.NewControllerManagedBy(mgr).Named("policy-status").
		For(&v1alpha1.WebSocketPolicy{}, onlyDefault).
		Complete(&StatusWriter{Client: mgr.GetClient(), Store: store}); err != nil {
		return nil, fmt.Errorf("setting up the policy status writer: %w", err)
	}
	return applier, nil
}
