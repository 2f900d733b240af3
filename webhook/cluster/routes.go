package cluster

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
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
// does with its input.
//
// It keeps nothing per object but the Set's own entries and the object's
// key: each kind is followed by a client-go Reflector (list, then watch,
// relisting when the watch expires) writing into a keyStore, which turns
// every object into its evidence.Entry as it arrives, puts that in the Set
// and remembers only the key (routes_test.go measures this at 100k routes).
// A shared informer would also keep a copy of every object (or of a
// transform of it), a namespace index and a resourceVersion, which on a
// large cluster is most of the process's memory.
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
	stores []*keyStore
}

// Start follows every kind until ctx is done (manager.Runnable).
func (w *RouteWatcher) Start(ctx context.Context) error {
	resources := w.Resources
	if resources == nil {
		resources = RouteResources
	}
	var wg sync.WaitGroup
	for _, gvr := range resources {
		if w.Served != nil && !w.Served(gvr) {
			continue
		}
		store := &keyStore{set: w.Set, keys: map[string]struct{}{}}
		w.mu.Lock()
		w.stores = append(w.stores, store)
		w.mu.Unlock()
		r := cache.NewReflectorWithOptions(w.listWatch(gvr), &unstructured.Unstructured{}, store,
			cache.ReflectorOptions{Name: "route index " + gvr.String(), TypeDescription: gvr.String()})
		wg.Go(func() { r.RunWithContext(ctx) })
	}
	<-ctx.Done()
	wg.Wait()
	return nil
}

// listWatch lists and watches gvr in every namespace, with the streaming
// list (WatchList) where the API server offers it, as a shared informer's
// does.
func (w *RouteWatcher) listWatch(gvr schema.GroupVersionResource) cache.ListerWatcher {
	res := w.Client.Resource(gvr)
	return cache.ToListWatcherWithWatchListSemantics(&cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			return res.List(ctx, opts)
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			return res.Watch(ctx, opts)
		},
	}, w.Client)
}

// NeedLeaderElection is false: every replica judges with the index.
func (w *RouteWatcher) NeedLeaderElection() bool { return false }

// HasSynced reports whether every kind has been listed once (for
// readiness: until then a Service may miss its route's evidence).
func (w *RouteWatcher) HasSynced() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stores == nil {
		return false
	}
	for _, s := range w.stores {
		if !s.synced.Load() {
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

// keyStore is what a Reflector writes one kind into (cache.ReflectorStore):
// each object goes into the Set as its Entry at once, and the store keeps
// only the keys it put there, to forget on a relist what is no longer
// listed. The Reflector calls it from one goroutine.
type keyStore struct {
	set    *evidence.Set
	keys   map[string]struct{} // evidence.Entry keys of the objects put
	synced atomic.Bool         // listed once
}

// Transformer makes the Reflector's streaming list keep, until the list is
// complete, each object's Entry rather than the object
// (cache.TransformingStore).
func (s *keyStore) Transformer() cache.TransformFunc {
	return func(o any) (any, error) {
		if u, ok := o.(*unstructured.Unstructured); ok {
			return &pending{entry: s.set.Entry(u.Object, "")}, nil
		}
		return o, nil
	}
}

func (s *keyStore) entry(o any) *evidence.Entry {
	switch o := o.(type) {
	case *pending:
		return o.entry
	case *unstructured.Unstructured:
		return s.set.Entry(o.Object, "")
	}
	return nil
}

func (s *keyStore) Add(o any) error {
	if e := s.entry(o); e != nil {
		s.set.Put(e)
		s.keys[e.Key()] = struct{}{}
	}
	return nil
}

func (s *keyStore) Update(o any) error { return s.Add(o) }

func (s *keyStore) Delete(o any) error {
	if d, ok := o.(cache.DeletedFinalStateUnknown); ok {
		o = d.Obj
	}
	var key string
	switch o := o.(type) {
	case *pending:
		key = o.entry.Key()
	case *unstructured.Unstructured:
		key = evidence.Key(o.Object, "")
	default:
		return nil
	}
	s.set.RemoveKey(key)
	delete(s.keys, key)
	return nil
}

// Replace puts what a (re)list returned and forgets what it no longer has.
func (s *keyStore) Replace(list []any, _ string) error {
	keys := make(map[string]struct{}, len(list))
	for _, o := range list {
		if e := s.entry(o); e != nil {
			s.set.Put(e)
			keys[e.Key()] = struct{}{}
		}
	}
	for key := range s.keys {
		if _, ok := keys[key]; !ok {
			s.set.RemoveKey(key)
		}
	}
	s.keys = keys
	s.synced.Store(true)
	return nil
}

// Resync has nothing to do: the Set is the only copy.
func (s *keyStore) Resync() error { return nil }

// pending is an object of a streaming list between the Reflector's
// temporary store and Replace: its Entry only. The temporary store keys it
// by namespace/name (meta.Accessor reads GetObjectMeta).
type pending struct {
	entry *evidence.Entry
}

// GetObjectKind implements runtime.Object.
func (p *pending) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

// DeepCopyObject implements runtime.Object; the Entry is immutable.
func (p *pending) DeepCopyObject() runtime.Object { return &pending{entry: p.entry} }

// GetObjectMeta implements metav1.ObjectMetaAccessor, from the Entry's key
// ("Kind.group namespace/name").
func (p *pending) GetObjectMeta() metav1.Object {
	_, nsName, _ := strings.Cut(p.entry.Key(), " ")
	ns, name, _ := strings.Cut(nsName, "/")
	return &metav1.ObjectMeta{Namespace: ns, Name: name}
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
