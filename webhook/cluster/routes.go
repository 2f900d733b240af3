package cluster

import (
	"context"
	"fmt"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/ws-defaults/ws-defaults/webhook/evidence"
)

// RouteResources are the kinds cross-object WebSocket evidence is read
// from: Services and the routes that send traffic to them, and, for Gateway
// API routes, what resolves their implementation.
var RouteResources = []schema.GroupVersionResource{
	{Version: "v1", Resource: "services"},
	{Group: "networking.k8s.io", Version: "v1", Resource: "ingresses"},
	{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"},
	{Group: "networking.istio.io", Version: "v1", Resource: "virtualservices"},
	{Group: "projectcontour.io", Version: "v1", Resource: "httpproxies"},
	{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "grpcroutes"},
	// What resolves a Gateway API route's implementation: its parent
	// Gateways' classes, and the implementation policies attached to it.
	{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "gatewayclasses"},
	{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "gateways"},
	{Group: "gateway.envoyproxy.io", Version: "v1alpha1", Resource: "backendtrafficpolicies"},
	{Group: "gateway.envoyproxy.io", Version: "v1alpha1", Resource: "clienttrafficpolicies"},
	{Group: "gateway.nginx.org", Version: "v1alpha1", Resource: "proxysettingspolicies"},
	{Group: "gateway.nginx.org", Version: "v1alpha1", Resource: "clientsettingspolicies"},
	{Group: "gateway.nginx.org", Version: "v1alpha1", Resource: "upstreamsettingspolicies"},
	{Group: "networking.gke.io", Version: "v1", Resource: "gcpbackendpolicies"},
}

// RouteWatcher keeps an evidence.Set in step with the cluster, so that
// `webhook serve` judges a Service with the routes that send traffic to it
// (and a route with the Services it sends traffic to), as `webhook check`
// does with its input. Its informers keep only what the index needs: a
// cache transform replaces each object by its name and the evidence.Entry
// it contributes (routes_test.go measures this at 100k routes).
//
// To use it, `webhook serve` makes one with NewRouteWatcher, adds it to the
// manager (it is a Runnable), sets pipeline.Pipeline.Routes to its Set and
// waits for HasSynced before it is ready; the webhook's ServiceAccount needs
// list and watch on RouteResources.
type RouteWatcher struct {
	Client dynamic.Interface
	Set    *evidence.Set
	// Resources are the kinds to watch; nil means RouteResources. A kind
	// whose API is not served (its CRD not installed) is skipped by
	// Served.
	Resources []schema.GroupVersionResource
	// Served reports whether the cluster serves a resource; nil means all.
	Served func(schema.GroupVersionResource) bool

	mu     sync.Mutex
	synced []cache.InformerSynced
}

// Start runs the informers until ctx is done (manager.Runnable).
func (w *RouteWatcher) Start(ctx context.Context) error {
	resources := w.Resources
	if resources == nil {
		resources = RouteResources
	}
	factory := dynamicinformer.NewDynamicSharedInformerFactory(w.Client, 0)
	for _, gvr := range resources {
		if w.Served != nil && !w.Served(gvr) {
			continue
		}
		inf := factory.ForResource(gvr).Informer()
		if err := inf.SetTransform(w.transform); err != nil {
			return fmt.Errorf("route index %s: %w", gvr, err)
		}
		if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(o any) { w.add(o) },
			UpdateFunc: func(_, o any) { w.add(o) },
			DeleteFunc: func(o any) {
				if d, ok := o.(cache.DeletedFinalStateUnknown); ok {
					o = d.Obj
				}
				if ix, ok := o.(*indexed); ok {
					w.Set.Remove(ix.entry)
				}
			},
		}); err != nil {
			return fmt.Errorf("route index %s: %w", gvr, err)
		}
		w.mu.Lock()
		w.synced = append(w.synced, inf.HasSynced)
		w.mu.Unlock()
	}
	factory.Start(ctx.Done())
	<-ctx.Done()
	factory.Shutdown()
	return nil
}

// NeedLeaderElection is false: every replica judges with the index.
func (w *RouteWatcher) NeedLeaderElection() bool { return false }

func (w *RouteWatcher) add(o any) {
	if ix, ok := o.(*indexed); ok {
		w.Set.Put(ix.entry)
	}
}

// HasSynced reports whether every informer has listed its kind once (for
// readiness: until then a Service may miss its route's evidence).
func (w *RouteWatcher) HasSynced() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.synced == nil {
		return false
	}
	for _, s := range w.synced {
		if !s() {
			return false
		}
	}
	return true
}

// WaitForSync waits until HasSynced or timeout.
func (w *RouteWatcher) WaitForSync(ctx context.Context, timeout time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return cache.WaitForCacheSync(ctx.Done(), w.HasSynced)
}

// indexed is what the route informers store for an object: its type,
// name and namespace, and the evidence.Entry it contributes to the index,
// never the object itself (the cache transform makes it).
type indexed struct {
	metav1.PartialObjectMetadata
	entry *evidence.Entry
}

// DeepCopyObject implements runtime.Object; the Entry is immutable.
func (i *indexed) DeepCopyObject() runtime.Object {
	return &indexed{PartialObjectMetadata: *i.PartialObjectMetadata.DeepCopy(), entry: i.entry}
}

// transform turns what an informer lists or watches into an indexed.
func (w *RouteWatcher) transform(o any) (any, error) {
	u, ok := o.(*unstructured.Unstructured)
	if !ok {
		return o, nil
	}
	ix := &indexed{entry: w.Set.Entry(u.Object, "")}
	ix.TypeMeta = metav1.TypeMeta{APIVersion: u.GetAPIVersion(), Kind: u.GetKind()}
	ix.Name, ix.Namespace, ix.ResourceVersion = u.GetName(), u.GetNamespace(), u.GetResourceVersion()
	return ix, nil
}

// routeVersions are the versions each route kind is served in, newest
// first: the watcher uses the first one the cluster serves.
var routeVersions = map[schema.GroupResource][]string{
	{Group: "gateway.networking.k8s.io", Resource: "httproutes"}:     {"v1", "v1beta1"},
	{Group: "gateway.networking.k8s.io", Resource: "gatewayclasses"}: {"v1", "v1beta1"},
	{Group: "gateway.networking.k8s.io", Resource: "gateways"}:       {"v1", "v1beta1"},
	{Group: "networking.istio.io", Resource: "virtualservices"}:      {"v1", "v1beta1", "v1alpha3"},
}

// NewRouteWatcher makes a RouteWatcher for the cluster at cfg that watches
// every RouteResources kind the cluster serves (in the newest served
// version), feeding set. It asks discovery once: a route CRD installed later
// is picked up at the next start.
func NewRouteWatcher(cfg *rest.Config, set *evidence.Set) (*RouteWatcher, error) {
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("route index: %w", err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("route index: %w", err)
	}
	return &RouteWatcher{Client: client, Set: set, Resources: ServedRouteResources(dc)}, nil
}

// ServedRouteResources is RouteResources as dc serves them: kinds whose API
// is not served are left out, and a route kind takes its newest served
// version.
func ServedRouteResources(dc discovery.DiscoveryInterface) []schema.GroupVersionResource {
	served := func(gvr schema.GroupVersionResource) bool {
		list, err := dc.ServerResourcesForGroupVersion(gvr.GroupVersion().String())
		if err != nil {
			return false
		}
		for _, r := range list.APIResources {
			if r.Name == gvr.Resource {
				return true
			}
		}
		return false
	}
	var out []schema.GroupVersionResource
	for _, gvr := range RouteResources {
		versions := routeVersions[gvr.GroupResource()]
		if versions == nil {
			versions = []string{gvr.Version}
		}
		for _, v := range versions {
			if c := (schema.GroupVersionResource{Group: gvr.Group, Version: v, Resource: gvr.Resource}); served(c) {
				out = append(out, c)
				break
			}
		}
	}
	return out
}
