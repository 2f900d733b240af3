package evidence

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// TestSetMemory measures what the index keeps for 100k routes: 100k
// Ingresses with one REST path and one WebSocket path each (so 100k routed
// Service ports) and 100k Services. The Set keeps only strings per
// WebSocket route and per WebSocket port, never the objects. Not in -short.
func TestSetMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("memory measurement")
	}
	const n = 100_000
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	s := NewSet(Options{})
	for i := range n {
		ns := fmt.Sprintf("team-%d", i%500)
		s.Add(map[string]any{
			"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
			"metadata": map[string]any{"name": fmt.Sprintf("app-%d", i), "namespace": ns},
			"spec": map[string]any{"rules": []any{map[string]any{"http": map[string]any{"paths": []any{
				map[string]any{"path": "/api", "backend": map[string]any{"service": map[string]any{"name": fmt.Sprintf("api-%d", i), "port": map[string]any{"number": float64(80)}}}},
				map[string]any{"path": "/ws", "backend": map[string]any{"service": map[string]any{"name": fmt.Sprintf("live-%d", i), "port": map[string]any{"name": "http"}}}},
			}}}}},
		}, "")
		s.Add(map[string]any{
			"apiVersion": "v1", "kind": "Service",
			"metadata": map[string]any{"name": fmt.Sprintf("chat-%d", i), "namespace": ns},
			"spec":     map[string]any{"ports": []any{map[string]any{"name": "ws", "port": float64(8080)}, map[string]any{"name": "metrics", "port": float64(9090)}}},
		}, "")
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perRoute := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("index for %d WebSocket routes + %d WebSocket Services: %.1f MiB (%.0f bytes per route+Service)",
		n, n, float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), perRoute)
	// 583 bytes before the interned strings and derived route names, 424
	// after; the per-host index of WebSocket paths (hosts.go) added 255,
	// 98 once its records were made compact: 522. Here every Ingress has
	// the same (empty) host, so its records share one growing slice.
	if perRoute > 560 {
		t.Errorf("index keeps %.0f bytes per route+Service, want at most 560", perRoute)
	}
	want := "Ingress team-7/app-7 spec.rules[0].http.paths[1] (path /ws) sends traffic to port http"
	if r := s.RoutedPort("team-7", "live-7", PortRef{Name: "http", Number: 80}); !strings.HasPrefix(r, "Ingress team-7/app-7 spec.rules[0].http.paths[1] (") {
		t.Errorf("routed port reason %q, want like %q", r, want)
	}
	runtime.KeepAlive(s)
}
