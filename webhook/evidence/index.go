package evidence

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unique"
)

// Set is an Index over a set of objects: `webhook check` fills it with its
// input, and a cluster reader can feed it from informers. It keeps only
// what the index needs, never the objects: per Service, its WebSocket ports
// by their own signals; per Service, the ports WebSocket routes (by their
// own signals) send traffic to. Safe for concurrent use.
type Set struct {
	Options Options

	mu       sync.RWMutex
	services map[string][]portEntry   // namespace/name → its WebSocket ports
	grpc     map[string][]portEntry   // namespace/name → its gRPC/h2c-only ports
	routes   map[string][]routedEntry // namespace/service → routes to it
	targets  map[string][]string      // route object key → namespace/service keys it routes to
	// namespace/BackendConfig → the Services (and ports) that use it
	backendConfigs map[string][]configUser
	// namespace/service → the BackendConfig keys it uses
	configsOf map[string][]string
	// namespace/service → whether it attaches a BackendConfig, for every
	// Service the index has seen
	serviceConfig map[string]bool
	// namespace/service → its ports that set an appProtocol
	appProtocols map[string][]portEntry

	// The AWS Load Balancer Controller part (alb.go).
	albGroups    map[string][]albMember // IngressGroup name → its members
	albOf        map[string]string      // member object key → its group
	tgAttributes map[string]bool        // namespace/service → sets target-group-attributes

	// Ingress paths that are WebSocket by name, by class and host (hosts.go).
	hosts   map[string][]hostRecord // class "\x00" host → paths
	hostsOf map[string]string       // Ingress object key → its hosts keys (hostsSep)

	// The Gateway API part (gatewayindex.go).
	gwEntries     map[string]*gatewayEntry // object key → what it said
	classes       map[string]string        // GatewayClass name → controllerName
	gateways      map[string]string        // Gateway namespace/name → class name
	policies      map[string][]ownedPolicy // "Kind namespace/name" → policies targeting it
	wsRoutes      map[string]string        // "Kind namespace/name" → why it has WebSocket rules
	gatewayRoutes map[string][]ownedReason // Gateway namespace/name → its WebSocket routes
}

type configUser struct {
	service string    // namespace/name
	ports   []PortRef // the ports the BackendConfig applies to; PortRef{} for all
	all     []PortRef // every port of the Service, by name and number
}

// The index keeps one entry per WebSocket port and per WebSocket route for
// as long as the objects exist (100k of each in a large cluster), so its
// entries are compact: the strings that repeat across objects (port names,
// reasons, field paths) are interned (one copy each, an 8-byte handle per
// entry), and what can be derived (the route's "Kind namespace/name" from
// its key) is derived when a reason is formatted. memory_test.go measures
// the bytes per object.

type portEntry struct {
	name   unique.Handle[string]
	number int64
	reason unique.Handle[string]
}

func newPortEntry(name string, number int64, reason string) portEntry {
	return portEntry{name: unique.Make(name), number: number, reason: unique.Make(reason)}
}

type routedEntry struct {
	owner string // the route object's key: "Kind.group namespace/name"
	ref   PortRef
	// what the reason is built from, formatted on demand
	field, why unique.Handle[string]
}

func (r routedEntry) reason() string {
	gk, name, _ := strings.Cut(r.owner, " ")
	return fmt.Sprintf("%s %s %s (%s) sends traffic to port %s", kindOf(gk), name, r.field.Value(), r.why.Value(), r.ref)
}

var _ Index = (*Set)(nil)

// NewSet returns an empty Set.
func NewSet(opts Options) *Set {
	return &Set{Options: opts, services: map[string][]portEntry{}, grpc: map[string][]portEntry{}, routes: map[string][]routedEntry{}, targets: map[string][]string{},
		backendConfigs: map[string][]configUser{}, configsOf: map[string][]string{}, serviceConfig: map[string]bool{}, appProtocols: map[string][]portEntry{},
		gwEntries: map[string]*gatewayEntry{}, classes: map[string]string{}, gateways: map[string]string{}, policies: map[string][]ownedPolicy{},
		wsRoutes: map[string]string{}, gatewayRoutes: map[string][]ownedReason{}, albGroups: map[string][]albMember{}, albOf: map[string]string{}, tgAttributes: map[string]bool{},
		hosts: map[string][]hostRecord{}, hostsOf: map[string]string{}}
}

// Entry is what one object contributes to a Set, computed from the object
// alone (Set.Entry), so that a cache can keep the Entry instead of the
// object. It is immutable once made.
type Entry struct {
	key     string // Kind.group namespace/name
	service string // namespace/name, for a Service
	ports   []portEntry
	grpc    []portEntry
	configs map[string]configUser // BackendConfig namespace/name → use
	routes  []routedEntry
	targets []string // namespace/service of each of routes
	// hasBackendConfig: a Service that attaches a GKE BackendConfig
	hasBackendConfig bool
	isService        bool
	// appProtocols: a Service's ports that set one (reason = the value)
	appProtocols []portEntry
	gateway      *gatewayEntry
	// an Ingress in an ALB IngressGroup; a Service that sets its own
	// target-group-attributes
	albGroup     string
	albMember    ALBMember
	tgAttributes bool
	// an Ingress's paths that are WebSocket by name, by host
	hosts []hostEntry
}

// Entry computes what obj contributes to s (see Add).
func (s *Set) Entry(obj map[string]any, namespace string) *Entry {
	o := view(obj)
	if o.namespace == "" {
		o.namespace = namespace
	}
	e := &Entry{key: o.gk + " " + o.namespace + "/" + o.name}
	if o.gk == "Service." {
		e.isService = true
		e.service = o.namespace + "/" + o.name
		list, _ := o.spec["ports"].([]any)
		var all []PortRef
		for _, p := range list {
			port, _ := p.(map[string]any)
			if port == nil {
				continue
			}
			name, _ := port["name"].(string)
			all = append(all, PortRef{Name: name, Number: NumberOf(port["port"])})
			if ap, _ := port["appProtocol"].(string); ap != "" {
				e.appProtocols = append(e.appProtocols, newPortEntry(name, NumberOf(port["port"]), ap))
			}
			if r := ServicePortOwn(o.annotations, o.labels, port); r != "" {
				e.ports = append(e.ports, newPortEntry(name, NumberOf(port["port"]), r))
			} else if r := GRPCPortOwn(o.annotations, o.labels, port); r != "" {
				e.grpc = append(e.grpc, newPortEntry(name, NumberOf(port["port"]), r))
			}
		}
		_, e.tgAttributes = o.annotations[ALBTargetGroupAttributesAnnotation]
		for _, key := range BackendConfigAnnotations {
			if _, ok := o.annotations[key]; ok {
				e.hasBackendConfig = true
			}
		}
		for name, refs := range BackendConfigRefs(o.annotations) {
			u := configUser{service: e.service, all: all}
			for _, r := range refs {
				if n, err := strconv.ParseInt(r, 10, 64); err == nil {
					u.ports = append(u.ports, PortRef{Number: n})
				} else {
					u.ports = append(u.ports, PortRef{Name: r})
				}
			}
			if e.configs == nil {
				e.configs = map[string]configUser{}
			}
			e.configs[o.namespace+"/"+name] = u
		}
		return e
	}
	opts := s.Options
	opts.Namespace = o.namespace
	var own *Evidence
	if IsGatewayRoute(o.gk) {
		own = Of(obj, nil, opts)
	}
	e.gateway = gatewayEntryOf(o, own)
	if group := strings.TrimSpace(o.annotations[ALBGroupAnnotation]); group != "" && isIngress(o.gk) {
		e.albGroup = group
		e.albMember = ALBMember{Ingress: o.namespace + "/" + o.name, Attributes: ParseAttributes(o.annotations[ALBLoadBalancerAttributesAnnotation])}
	}
	if isIngress(o.gk) {
		e.hosts = hostEntries(o)
	}
	backends := RouteBackends(obj)
	if len(backends) == 0 {
		return e
	}
	if own == nil {
		own = Of(obj, nil, opts)
	}
	for _, it := range own.Items {
		for _, b := range backends[it.Field] {
			if b.Service == "" {
				continue
			}
			ns := b.Namespace
			if ns == "" {
				ns = o.namespace
			}
			e.routes = append(e.routes, routedEntry{owner: e.key, ref: b.Port, field: unique.Make(it.Field), why: unique.Make(it.Reason)})
			e.targets = append(e.targets, ns+"/"+b.Service)
		}
	}
	return e
}

// Add records obj (replacing what an earlier Add of the same object said).
// Services and routes (Ingress, HTTPRoute, VirtualService, HTTPProxy) are
// recorded; other kinds are ignored. namespace stands in for an object
// whose metadata names none.
func (s *Set) Add(obj map[string]any, namespace string) { s.Put(s.Entry(obj, namespace)) }

// Put records e, replacing what the same object said before.
func (s *Set) Put(e *Entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.remove(e)
	s.putGateway(e.key, e.gateway)
	if e.albGroup != "" {
		s.albGroups[e.albGroup] = append(s.albGroups[e.albGroup], albMember{owner: e.key, ALBMember: e.albMember})
		s.albOf[e.key] = e.albGroup
	}
	s.putHosts(e.key, e.hosts)
	if e.isService {
		s.serviceConfig[e.service] = e.hasBackendConfig
		if e.tgAttributes {
			s.tgAttributes[e.service] = true
		}
		if len(e.appProtocols) > 0 {
			s.appProtocols[e.service] = e.appProtocols
		}
		if len(e.ports) > 0 {
			s.services[e.service] = e.ports
		}
		if len(e.grpc) > 0 {
			s.grpc[e.service] = e.grpc
		}
		for key, u := range e.configs {
			s.backendConfigs[key] = append(s.backendConfigs[key], u)
			s.configsOf[e.service] = append(s.configsOf[e.service], key)
		}
		return
	}
	for i, r := range e.routes {
		s.routes[e.targets[i]] = append(s.routes[e.targets[i]], r)
	}
	if len(e.targets) > 0 {
		s.targets[e.key] = e.targets
	}
}

// Delete forgets obj (namespace as for Add).
func (s *Set) Delete(obj map[string]any, namespace string) {
	s.RemoveKey(Key(obj, namespace))
}

// Key is the key the Set knows obj by (namespace as for Add): what
// Entry.Key of its Entry is, without computing the Entry.
func Key(obj map[string]any, namespace string) string {
	o := view(obj)
	if o.namespace == "" {
		o.namespace = namespace
	}
	return o.gk + " " + o.namespace + "/" + o.name
}

// Remove forgets what e's object said.
func (s *Set) Remove(e *Entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.remove(e)
}

// Key is what identifies e's object in the Set ("Kind.group
// namespace/name"): RemoveKey(e.Key()) forgets what it said, so a cluster
// reader need keep only the key, not the Entry, once it is put.
func (e *Entry) Key() string { return e.key }

// RemoveKey forgets what the object with key (Entry.Key) said.
func (s *Set) RemoveKey(key string) {
	e := &Entry{key: key}
	if nsName, ok := strings.CutPrefix(key, "Service. "); ok {
		e.isService, e.service = true, nsName
	}
	s.Remove(e)
}

func (s *Set) remove(e *Entry) {
	s.forgetGateway(e.key)
	s.forgetALBMember(e.key)
	s.forgetHosts(e.key)
	if e.isService {
		delete(s.serviceConfig, e.service)
		delete(s.tgAttributes, e.service)
		delete(s.appProtocols, e.service)
		delete(s.services, e.service)
		delete(s.grpc, e.service)
		s.forgetConfigs(e.service)
		return
	}
	s.forgetRoute(e.key)
}

// forgetRoute drops what the route object key said; s.mu is held.
func (s *Set) forgetRoute(key string) {
	for _, target := range s.targets[key] {
		kept := s.routes[target][:0]
		for _, e := range s.routes[target] {
			if e.owner != key {
				kept = append(kept, e)
			}
		}
		if len(kept) == 0 {
			delete(s.routes, target)
		} else {
			s.routes[target] = kept
		}
	}
	delete(s.targets, key)
}

// forgetConfigs drops the BackendConfigs Service svc uses; s.mu is held.
func (s *Set) forgetConfigs(svc string) {
	for _, key := range s.configsOf[svc] {
		kept := s.backendConfigs[key][:0]
		for _, u := range s.backendConfigs[key] {
			if u.service != svc {
				kept = append(kept, u)
			}
		}
		if len(kept) == 0 {
			delete(s.backendConfigs, key)
		} else {
			s.backendConfigs[key] = kept
		}
	}
	delete(s.configsOf, svc)
}

// BackendConfig implements Index.
func (s *Set) BackendConfig(namespace, name string) string {
	s.mu.RLock()
	users := slices.Clone(s.backendConfigs[namespace+"/"+name])
	s.mu.RUnlock()
	best := ""
	for _, u := range users {
		ns, svc, _ := strings.Cut(u.service, "/")
		for _, ref := range u.ports {
			for _, port := range u.all {
				if !ref.Matches(port.Name, port.Number) {
					continue
				}
				why := s.OwnPort(ns, svc, port)
				if why == "" {
					why = s.RoutedPort(ns, svc, port)
				}
				if why == "" {
					continue
				}
				if r := fmt.Sprintf("used by Service %s: %s", u.service, why); best == "" || r < best {
					best = r
				}
			}
		}
	}
	return best
}

// ServiceBackendConfig implements Index.
func (s *Set) ServiceBackendConfig(namespace, name string) (known, attached bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	attached, known = s.serviceConfig[namespace+"/"+name]
	return known, attached
}

// GRPCPort implements Index.
func (s *Set) GRPCPort(namespace, name string, ref PortRef) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, p := range s.grpc[namespace+"/"+name] {
		if ref != (PortRef{}) && ref.Matches(p.name.Value(), p.number) {
			label := p.name.Value()
			if label == "" {
				label = fmt.Sprint(p.number)
			}
			return fmt.Sprintf("Service %s/%s port %s: %s", namespace, name, label, p.reason.Value())
		}
	}
	return ""
}

// OwnPort implements Index.
func (s *Set) OwnPort(namespace, name string, ref PortRef) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, p := range s.services[namespace+"/"+name] {
		if ref.Matches(p.name.Value(), p.number) {
			label := p.name.Value()
			if label == "" {
				label = fmt.Sprint(p.number)
			}
			return fmt.Sprintf("Service %s/%s port %s is WebSocket (%s)", namespace, name, label, p.reason.Value())
		}
	}
	return ""
}

// RoutedPort implements Index: the first matching route in a stable order.
func (s *Set) RoutedPort(namespace, name string, ref PortRef) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	best := ""
	for _, e := range s.routes[namespace+"/"+name] {
		if ref == (PortRef{}) || e.ref.Matches(ref.Name, ref.Number) {
			if r := e.reason(); best == "" || r < best {
				best = r
			}
		}
	}
	return best
}

func kindOf(gk string) string {
	kind, _, _ := strings.Cut(gk, ".")
	return kind
}

// forgetALBMember drops object key from the IngressGroup it was in; s.mu
// is held.
func (s *Set) forgetALBMember(key string) {
	g, ok := s.albOf[key]
	if !ok {
		return
	}
	delete(s.albOf, key)
	kept := slices.DeleteFunc(s.albGroups[g], func(m albMember) bool { return m.owner == key })
	if len(kept) == 0 {
		delete(s.albGroups, g)
	} else {
		s.albGroups[g] = kept
	}
}
