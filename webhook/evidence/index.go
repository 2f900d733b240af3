package evidence

import (
	"fmt"
	"sync"
)

// Set is an Index over a set of objects: `webhook check` fills it with its
// input. It keeps only what the index needs: per Service, its WebSocket
// ports by their own signals; per route, the Service ports a WebSocket route
// (by its own signals) sends traffic to. Safe for concurrent use.
type Set struct {
	Options Options

	mu       sync.RWMutex
	services map[string]map[string][]portReason // namespace/name → object key → ports
	routes   map[string]map[string][]routedRef  // namespace/service → object key → refs
}

type portReason struct {
	name   string
	number int64
	reason string
}

type routedRef struct {
	ref    PortRef
	reason string
}

var _ Index = (*Set)(nil)

// NewSet returns an empty Set.
func NewSet(opts Options) *Set {
	return &Set{Options: opts, services: map[string]map[string][]portReason{}, routes: map[string]map[string][]routedRef{}}
}

// Add records obj (replacing what an earlier Add of the same object said).
// Objects of other kinds are ignored.
func (s *Set) Add(obj map[string]any) {
	o := view(obj)
	key := o.gk + " " + o.namespace + "/" + o.name
	s.Delete(obj)
	s.mu.Lock()
	defer s.mu.Unlock()
	if o.gk == "Service." {
		var ports []portReason
		list, _ := o.spec["ports"].([]any)
		for _, p := range list {
			port, _ := p.(map[string]any)
			if port == nil {
				continue
			}
			if r := ServicePortOwn(o.annotations, o.labels, port); r != "" {
				name, _ := port["name"].(string)
				ports = append(ports, portReason{name: name, number: numberOf(port["port"]), reason: r})
			}
		}
		if len(ports) > 0 {
			put(s.services, o.namespace+"/"+o.name, key, ports)
		}
		return
	}
	backends := RouteBackends(obj)
	if len(backends) == 0 {
		return
	}
	own := Of(obj, nil, s.Options)
	for _, it := range own.Items {
		for _, b := range backends[it.Field] {
			if b.Service == "" {
				continue
			}
			ns := b.Namespace
			if ns == "" {
				ns = o.namespace
			}
			ref := routedRef{ref: b.Port, reason: fmt.Sprintf("%s %s/%s %s (%s) sends traffic to port %s", kindOf(o.gk), o.namespace, o.name, it.Field, it.Reason, b.Port)}
			m := s.routes[ns+"/"+b.Service]
			if m == nil {
				m = map[string][]routedRef{}
				s.routes[ns+"/"+b.Service] = m
			}
			m[key] = append(m[key], ref)
		}
	}
}

// Delete forgets obj.
func (s *Set) Delete(obj map[string]any) {
	o := view(obj)
	key := o.gk + " " + o.namespace + "/" + o.name
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.services[o.namespace+"/"+o.name]; m != nil {
		delete(m, key)
		if len(m) == 0 {
			delete(s.services, o.namespace+"/"+o.name)
		}
	}
	for svc, m := range s.routes {
		if _, ok := m[key]; ok {
			delete(m, key)
			if len(m) == 0 {
				delete(s.routes, svc)
			}
		}
	}
}

func put(m map[string]map[string][]portReason, svc, key string, ports []portReason) {
	if m[svc] == nil {
		m[svc] = map[string][]portReason{}
	}
	m[svc][key] = ports
}

// OwnPort implements Index.
func (s *Set) OwnPort(namespace, name string, ref PortRef) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, ports := range s.services[namespace+"/"+name] {
		for _, p := range ports {
			if ref.Matches(p.name, p.number) {
				return fmt.Sprintf("Service %s/%s port %s is WebSocket (%s)", namespace, name, portLabel(p), p.reason)
			}
		}
	}
	return ""
}

// RoutedPort implements Index.
func (s *Set) RoutedPort(namespace, name string, ref PortRef) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	best := ""
	for _, refs := range s.routes[namespace+"/"+name] {
		for _, r := range refs {
			if ref == (PortRef{}) || r.ref.Matches(ref.Name, ref.Number) {
				// The first in a stable order, whatever the map's.
				if best == "" || r.reason < best {
					best = r.reason
				}
			}
		}
	}
	return best
}

func portLabel(p portReason) string {
	if p.name != "" {
		return p.name
	}
	return fmt.Sprint(p.number)
}

func kindOf(gk string) string {
	for i := 0; i < len(gk); i++ {
		if gk[i] == '.' {
			return gk[:i]
		}
	}
	return gk
}
