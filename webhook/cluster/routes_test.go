package cluster

import (
	"context"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	discoveryfake "k8s.io/client-go/discovery/fake"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/yaml"

	"github.com/ws-defaults/ws-defaults/webhook/evidence"
)

var (
	servicesGVR  = schema.GroupVersionResource{Version: "v1", Resource: "services"}
	ingressesGVR = schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "ingresses"}
)

func unstr(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
		t.Fatal(err)
	}
	return u
}

// TestRouteWatcher: the watcher follows routes as they come and go, so a
// Service admitted after its route gets the route's evidence.
func TestRouteWatcher(t *testing.T) {
	ing := unstr(t, "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: live, namespace: chat}\nspec: {rules: [{http: {paths: [{path: /ws, backend: {service: {name: web, port: {name: app}}}}]}}]}")
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(k8sruntime.NewScheme(), map[schema.GroupVersionResource]string{
		servicesGVR: "ServiceList", ingressesGVR: "IngressList",
	}, ing)
	set := evidence.NewSet(evidence.Options{})
	w := &RouteWatcher{Client: client, Set: set, Resources: []schema.GroupVersionResource{servicesGVR, ingressesGVR, {Group: "example.com", Version: "v1", Resource: "unserved"}},
		Served: func(gvr schema.GroupVersionResource) bool { return gvr.Group != "example.com" }}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error)
	go func() { done <- w.Start(ctx) }()
	if !w.WaitForSync(ctx, 10*time.Second) {
		t.Fatal("route index never synced")
	}
	svc := unstr(t, "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: chat}\nspec: {ports: [{name: app, port: 80}]}")
	eventually(t, "the listed route is indexed", func() bool {
		return strings.Contains(evidence.Of(svc.Object, set, evidence.Options{}).First(), "Ingress chat/live spec.rules[0].http.paths[0] (path segment ws)")
	})

	// The route moves to /api: no longer WebSocket.
	ing.Object["spec"] = map[string]any{"rules": []any{map[string]any{"http": map[string]any{"paths": []any{map[string]any{"path": "/api", "backend": map[string]any{"service": map[string]any{"name": "web", "port": map[string]any{"name": "app"}}}}}}}}}
	if _, err := client.Resource(ingressesGVR).Namespace("chat").Update(ctx, ing, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the update is indexed", func() bool { return !evidence.Of(svc.Object, set, evidence.Options{}).Any() })

	// A new WebSocket route, then its deletion.
	other := unstr(t, "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: cable, namespace: chat}\nspec: {rules: [{http: {paths: [{path: /cable, backend: {service: {name: web, port: {number: 80}}}}]}}]}")
	if _, err := client.Resource(ingressesGVR).Namespace("chat").Create(ctx, other, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a new route is indexed", func() bool { return evidence.Of(svc.Object, set, evidence.Options{}).Any() })
	if err := client.Resource(ingressesGVR).Namespace("chat").Delete(ctx, "cable", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a deleted route is forgotten", func() bool { return !evidence.Of(svc.Object, set, evidence.Options{}).Any() })

	cancel()
	if err := <-done; err != nil {
		t.Errorf("Start: %v", err)
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out: %s", what)
}

// TestRouteIndexMemory measures what `webhook serve` keeps for 100k
// routes: 100k Ingresses of realistic size (last-applied annotation,
// managedFields, TLS, a REST and a WebSocket path) and 100k Services, as the
// route watcher keeps them (the Set and the keys of what it put there).
// Not in -short.
func TestRouteIndexMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("memory measurement")
	}
	const n = 100_000
	set := evidence.NewSet(evidence.Options{})
	store := &keyStore{set: set, keys: map[string]struct{}{}}
	lastApplied := strings.Repeat("x", 1500)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := range n {
		ns := fmt.Sprintf("team-%d", i%500)
		ing := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
			"metadata": map[string]any{
				"name": fmt.Sprintf("app-%d", i), "namespace": ns, "uid": fmt.Sprintf("uid-%d", i), "resourceVersion": fmt.Sprint(i),
				"annotations":   map[string]any{"kubectl.kubernetes.io/last-applied-configuration": lastApplied, "nginx.ingress.kubernetes.io/proxy-read-timeout": "3600"},
				"managedFields": []any{map[string]any{"manager": "kubectl", "fieldsV1": map[string]any{"f:spec": map[string]any{}}}},
			},
			"spec": map[string]any{
				"ingressClassName": "nginx",
				"tls":              []any{map[string]any{"hosts": []any{"chat.example.com"}, "secretName": "tls"}},
				"rules": []any{map[string]any{"host": "chat.example.com", "http": map[string]any{"paths": []any{
					map[string]any{"path": "/api", "pathType": "Prefix", "backend": map[string]any{"service": map[string]any{"name": fmt.Sprintf("api-%d", i), "port": map[string]any{"number": float64(80)}}}},
					map[string]any{"path": "/ws", "pathType": "Prefix", "backend": map[string]any{"service": map[string]any{"name": fmt.Sprintf("live-%d", i), "port": map[string]any{"name": "http"}}}},
				}}}},
			},
		}}
		svc := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1", "kind": "Service",
			"metadata": map[string]any{"name": fmt.Sprintf("live-%d", i), "namespace": ns, "resourceVersion": fmt.Sprint(i),
				"annotations": map[string]any{"kubectl.kubernetes.io/last-applied-configuration": lastApplied}},
			"spec": map[string]any{"selector": map[string]any{"app": "live"}, "ports": []any{map[string]any{"name": "http", "port": float64(80)}}},
		}}
		for _, u := range []*unstructured.Unstructured{ing, svc} {
			if err := store.Add(u); err != nil {
				t.Fatal(err)
			}
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	total := float64(after.HeapAlloc - before.HeapAlloc)
	t.Logf("route index for %d Ingresses (2 paths, one WebSocket) + %d Services: %.1f MiB (%.0f bytes per route+Service)",
		n, n, total/(1<<20), total/n)
	svc := map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": map[string]any{"name": "live-7", "namespace": "team-7"},
		"spec": map[string]any{"ports": []any{map[string]any{"name": "http", "port": float64(80)}}}}
	if !evidence.Of(svc, set, evidence.Options{}).Any() {
		t.Error("index lost a route")
	}
	if len(store.keys) != 2*n {
		t.Errorf("store keeps %d keys, want %d", len(store.keys), 2*n)
	}
	runtime.KeepAlive(store)
}

// TestServedRouteResources: kinds the cluster does not serve are left out,
// and a route kind takes its newest served version.
func TestServedRouteResources(t *testing.T) {
	dc := &discoveryfake.FakeDiscovery{Fake: &clienttesting.Fake{Resources: []*metav1.APIResourceList{
		{GroupVersion: "v1", APIResources: []metav1.APIResource{{Name: "services"}, {Name: "pods"}}},
		{GroupVersion: "networking.k8s.io/v1", APIResources: []metav1.APIResource{{Name: "ingresses"}, {Name: "ingressclasses"}}},
		{GroupVersion: "networking.istio.io/v1beta1", APIResources: []metav1.APIResource{{Name: "virtualservices"}, {Name: "destinationrules"}}},
		{GroupVersion: "networking.istio.io/v1alpha3", APIResources: []metav1.APIResource{{Name: "virtualservices"}}},
	}}}
	got := ServedRouteResources(dc)
	want := []schema.GroupVersionResource{
		servicesGVR, ingressesGVR,
		{Group: "networking.istio.io", Version: "v1beta1", Resource: "virtualservices"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("served = %v, want %v", got, want)
	}
}

// TestKeyStore: what a Reflector does to the store reaches the Set. A
// streaming list passes through a temporary store that keys the transformed
// objects by namespace/name; a relist forgets what it no longer has; a
// delete seen only as a final state unknown is forgotten too.
func TestKeyStore(t *testing.T) {
	set := evidence.NewSet(evidence.Options{})
	store := &keyStore{set: set, keys: map[string]struct{}{}}
	route := func(name, path string) *unstructured.Unstructured {
		return unstr(t, "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: "+name+", namespace: chat}\nspec: {rules: [{http: {paths: [{path: "+path+", backend: {service: {name: web, port: {number: 80}}}}]}}]}")
	}
	svc := unstr(t, "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: chat}\nspec: {ports: [{name: app, port: 80}]}")
	routed := func() bool { return evidence.Of(svc.Object, set, evidence.Options{}).Any() }

	// The streaming list: the Reflector's temporary store, with our transform.
	tmp := cache.NewStore(cache.DeletionHandlingMetaNamespaceKeyFunc, cache.WithTransformer(store.Transformer()))
	for _, o := range []any{route("live", "/ws"), route("api", "/api"), svc} {
		if err := tmp.Add(o); err != nil {
			t.Fatal(err)
		}
	}
	if keys := tmp.ListKeys(); !slices.Equal(slices.Sorted(slices.Values(keys)), []string{"chat/api", "chat/live", "chat/web"}) {
		t.Fatalf("temporary store keys %v", keys)
	}
	if err := store.Replace(tmp.List(), "1"); err != nil {
		t.Fatal(err)
	}
	if !store.synced.Load() || !routed() || len(store.keys) != 3 {
		t.Fatalf("after the list: synced %v, routed %v, keys %v", store.synced.Load(), routed(), store.keys)
	}
	// A relist without the WebSocket route forgets it.
	if err := store.Replace([]any{route("api", "/api"), svc}, "2"); err != nil {
		t.Fatal(err)
	}
	if routed() || len(store.keys) != 2 {
		t.Fatalf("after the relist: routed %v, keys %v", routed(), store.keys)
	}
	// Watch events.
	if err := store.Add(route("cable", "/cable")); err != nil {
		t.Fatal(err)
	}
	if !routed() {
		t.Fatal("an added route is not indexed")
	}
	if err := store.Update(route("cable", "/api/v2")); err != nil {
		t.Fatal(err)
	}
	if routed() {
		t.Fatal("an updated route is still WebSocket")
	}
	if err := store.Update(route("cable", "/cable")); err != nil {
		t.Fatal(err)
	}
	if err := store.Delete(cache.DeletedFinalStateUnknown{Key: "chat/cable", Obj: route("cable", "/cable")}); err != nil {
		t.Fatal(err)
	}
	if routed() || len(store.keys) != 2 {
		t.Fatalf("after the delete: routed %v, keys %v", routed(), store.keys)
	}
}
