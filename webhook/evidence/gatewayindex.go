package evidence

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
)

// GatewayIndex is the Gateway API part of an Index: the GatewayClasses and
// Gateways that resolve a route's implementation, the implementation
// policies attached to routes, Gateways and Services, and the Services'
// port protocols. An Index without it gives routes no Gateway facts (only
// the portable rules then apply).
type GatewayIndex interface {
	// GatewayController is the controllerName of the GatewayClass of
	// Gateway namespace/name ("" when the Gateway or its class is unknown).
	GatewayController(namespace, name string) string
	// AttachedPolicies are the implementation policies whose targetRefs
	// name target ("Kind namespace/name", e.g. "HTTPRoute chat/chat").
	AttachedPolicies(target string) []AttachedPolicy
	// ServicePortProtocol is the appProtocol of Service namespace/name's
	// port ref, and whether the Service (and that port) is known.
	ServicePortProtocol(namespace, name string, ref PortRef) (appProtocol string, known bool)
	// WebSocketRoute says why route ("Kind namespace/name") has WebSocket
	// rules by its own signals ("" when it has none or is unknown).
	WebSocketRoute(route string) string
	// WebSocketRouteOf says why Gateway namespace/name serves a route with
	// WebSocket rules ("" when none is known).
	WebSocketRouteOf(namespace, name string) string
}

const gatewayGroup = "gateway.networking.k8s.io"

// policyImplementations maps each implementation policy kind ("Kind.group")
// to the controller it belongs to: such a policy targeting a route says
// which implementation serves it, even when its Gateway is elsewhere.
var policyImplementations = map[string]string{
	"BackendTrafficPolicy.gateway.envoyproxy.io": ControllerEnvoyGateway,
	"ClientTrafficPolicy.gateway.envoyproxy.io":  ControllerEnvoyGateway,
	"ProxySettingsPolicy.gateway.nginx.org":      ControllerNGF,
	"ClientSettingsPolicy.gateway.nginx.org":     ControllerNGF,
	"UpstreamSettingsPolicy.gateway.nginx.org":   ControllerNGF,
	"GCPBackendPolicy.networking.gke.io":         ControllerGKE,
}

// IsGatewayRoute reports whether gk ("Kind.group") is a Gateway API route
// kind ws-defaults reads.
func IsGatewayRoute(gk string) bool {
	return gk == "HTTPRoute."+gatewayGroup || gk == "GRPCRoute."+gatewayGroup
}

// ParentGateways are the Gateways (namespace/name) a route attaches to, by
// Gateway API's defaults: group gateway.networking.k8s.io, kind Gateway,
// the route's namespace.
func ParentGateways(spec map[string]any, namespace string) []string {
	refs, _ := spec["parentRefs"].([]any)
	var out []string
	for _, r := range refs {
		ref, _ := r.(map[string]any)
		if g, ok := ref["group"].(string); ok && g != gatewayGroup {
			continue
		}
		if k, ok := ref["kind"].(string); ok && k != "Gateway" {
			continue
		}
		name, _ := ref["name"].(string)
		if name == "" {
			continue
		}
		ns, _ := ref["namespace"].(string)
		if ns == "" {
			ns = namespace
		}
		if key := ns + "/" + name; !slices.Contains(out, key) {
			out = append(out, key)
		}
	}
	return out
}

// PolicyTarget is one targetRef of an implementation policy.
type PolicyTarget struct {
	Field string // spec.targetRefs[N] or spec.targetRef
	Kind  string
	Key   string // "Kind namespace/name"
}

// PolicyTargets lists a policy's targetRefs (local references: the
// policy's namespace), under both spellings the implementations use.
func PolicyTargets(spec map[string]any, namespace string) []PolicyTarget {
	var out []PolicyTarget
	add := func(field string, v any) {
		ref, _ := v.(map[string]any)
		kind, _ := ref["kind"].(string)
		name, _ := ref["name"].(string)
		if kind == "" || name == "" {
			return
		}
		out = append(out, PolicyTarget{Field: field, Kind: kind, Key: kind + " " + namespace + "/" + name})
	}
	if refs, ok := spec["targetRefs"].([]any); ok {
		for i, r := range refs {
			add(fmt.Sprintf("spec.targetRefs[%d]", i), r)
		}
	}
	if ref, ok := spec["targetRef"]; ok {
		add("spec.targetRef", ref)
	}
	return out
}

// gatewayFacts computes the Gateway facts of a route or implementation
// policy; nil for other kinds.
func gatewayFacts(o object, idx Index) *Gateway {
	impl, isPolicy := policyImplementations[o.gk]
	if !isPolicy && !IsGatewayRoute(o.gk) {
		return nil
	}
	g := &Gateway{}
	gi, _ := idx.(GatewayIndex)
	if isPolicy {
		g.Controllers = []string{impl}
		return g
	}
	if gi == nil {
		return g
	}
	controllers := map[string]bool{}
	attach := func(target, how string) {
		for _, p := range gi.AttachedPolicies(target) {
			p.AttachedTo = how
			g.Policies = append(g.Policies, p)
			// A policy on a backend Service says what serves that Service,
			// not which Gateway serves this route.
			if c := policyImplementations[p.Kind+"."+p.Group]; c != "" && how != "service" {
				controllers[c] = true
			}
		}
	}
	attach(kindOf(o.gk)+" "+o.namespace+"/"+o.name, "route")
	for _, gw := range ParentGateways(o.spec, o.namespace) {
		ns, name, _ := strings.Cut(gw, "/")
		if c := gi.GatewayController(ns, name); c != "" {
			controllers[c] = true
		}
		attach("Gateway "+gw, "gateway")
	}
	services := map[string]bool{}
	rules, _ := o.spec["rules"].([]any)
	for i, r := range rules {
		rule, _ := r.(map[string]any)
		for j, b := range httpRouteBackends(rule) {
			if b.Service == "" {
				continue
			}
			ns := b.Namespace
			if ns == "" {
				ns = o.namespace
			}
			if ap, known := gi.ServicePortProtocol(ns, b.Service, b.Port); known {
				if g.Backends == nil {
					g.Backends = map[string]BackendPort{}
				}
				g.Backends[fmt.Sprintf("spec.rules[%d].backendRefs[%d]", i, j)] = BackendPort{Service: ns + "/" + b.Service, Port: b.Port.String(), AppProtocol: ap}
			}
			if key := "Service " + ns + "/" + b.Service; !services[key] {
				services[key] = true
				attach(key, "service")
			}
		}
	}
	for c := range controllers {
		g.Controllers = append(g.Controllers, c)
	}
	slices.Sort(g.Controllers)
	return g
}

// policyTargetItems are the WebSocket targets of an implementation policy:
// a route with WebSocket rules, a Gateway serving one, a Service with a
// WebSocket port.
func policyTargetItems(o object, idx Index, explicit bool) []candidate {
	var out []candidate
	gi, _ := idx.(GatewayIndex)
	for _, t := range PolicyTargets(o.spec, o.namespace) {
		if explicit {
			out = append(out, candidate{t.Field, explicitReason, true})
			continue
		}
		if idx == nil {
			continue
		}
		ns, name, _ := strings.Cut(strings.TrimPrefix(t.Key, t.Kind+" "), "/")
		why := ""
		switch t.Kind {
		case "HTTPRoute", "GRPCRoute":
			if gi != nil {
				if r := gi.WebSocketRoute(t.Key); r != "" {
					why = "targets " + t.Key + ", whose " + r
				}
			}
		case "Gateway":
			if gi != nil {
				if r := gi.WebSocketRouteOf(ns, name); r != "" {
					why = "targets " + t.Key + ", which serves " + r
				}
			}
		case "Service":
			r := idx.OwnPort(ns, name, PortRef{})
			if r == "" {
				r = idx.RoutedPort(ns, name, PortRef{})
			}
			if r != "" {
				why = "targets " + t.Key + ": " + r
			}
		}
		if why != "" {
			out = append(out, candidate{t.Field, why, true})
		}
	}
	return out
}

// --- the Set's Gateway API part ---

// gatewayEntry is what one object contributes to the Set's Gateway API
// part.
type gatewayEntry struct {
	class      string // GatewayClass name → controller
	controller string
	gateway    string // Gateway namespace/name → class
	gwClass    string
	policy     *AttachedPolicy // an implementation policy, with its targets
	targets    []string
	route      string   // "Kind namespace/name" of a route with WebSocket rules
	wsReason   string   // why (its first WebSocket rule)
	parents    []string // the route's parent Gateways
}

// gatewayEntryOf computes the Gateway API part of obj's Entry; nil when it
// has none.
func gatewayEntryOf(o object, own *Evidence) *gatewayEntry {
	switch {
	case o.gk == "GatewayClass."+gatewayGroup:
		c, _ := o.spec["controllerName"].(string)
		return &gatewayEntry{class: o.name, controller: c}
	case o.gk == "Gateway."+gatewayGroup:
		c, _ := o.spec["gatewayClassName"].(string)
		return &gatewayEntry{gateway: o.namespace + "/" + o.name, gwClass: c}
	case IsGatewayRoute(o.gk):
		e := &gatewayEntry{route: kindOf(o.gk) + " " + o.namespace + "/" + o.name, parents: ParentGateways(o.spec, o.namespace)}
		if own.Any() {
			e.wsReason = own.Items[0].String()
		}
		return e
	}
	if _, ok := policyImplementations[o.gk]; ok {
		group := strings.TrimPrefix(o.gk, kindOf(o.gk)+".")
		p := &AttachedPolicy{Kind: kindOf(o.gk), Group: group, Namespace: o.namespace, Name: o.name, Spec: runtime.DeepCopyJSON(o.spec)}
		e := &gatewayEntry{policy: p}
		for _, t := range PolicyTargets(o.spec, o.namespace) {
			e.targets = append(e.targets, t.Key)
		}
		return e
	}
	return nil
}

// putGateway records e's Gateway API part; s.mu is held.
func (s *Set) putGateway(key string, g *gatewayEntry) {
	if g == nil {
		return
	}
	s.gwEntries[key] = g
	switch {
	case g.class != "":
		s.classes[g.class] = g.controller
	case g.gateway != "":
		s.gateways[g.gateway] = g.gwClass
	case g.policy != nil:
		for _, t := range g.targets {
			s.policies[t] = append(s.policies[t], ownedPolicy{owner: key, policy: g.policy})
		}
	case g.route != "":
		if g.wsReason != "" {
			s.wsRoutes[g.route] = g.wsReason
			for _, p := range g.parents {
				s.gatewayRoutes[p] = append(s.gatewayRoutes[p], ownedReason{owner: key, reason: g.route + " " + g.wsReason})
			}
		}
	}
}

// forgetGateway drops what object key said in the Gateway API part; s.mu
// is held.
func (s *Set) forgetGateway(key string) {
	g := s.gwEntries[key]
	if g == nil {
		return
	}
	delete(s.gwEntries, key)
	switch {
	case g.class != "":
		delete(s.classes, g.class)
	case g.gateway != "":
		delete(s.gateways, g.gateway)
	case g.policy != nil:
		for _, t := range g.targets {
			s.policies[t] = slices.DeleteFunc(s.policies[t], func(p ownedPolicy) bool { return p.owner == key })
			if len(s.policies[t]) == 0 {
				delete(s.policies, t)
			}
		}
	case g.route != "":
		delete(s.wsRoutes, g.route)
		for _, p := range g.parents {
			s.gatewayRoutes[p] = slices.DeleteFunc(s.gatewayRoutes[p], func(r ownedReason) bool { return r.owner == key })
			if len(s.gatewayRoutes[p]) == 0 {
				delete(s.gatewayRoutes, p)
			}
		}
	}
}

type ownedPolicy struct {
	owner  string
	policy *AttachedPolicy
}

type ownedReason struct {
	owner, reason string
}

var _ GatewayIndex = (*Set)(nil)

// GatewayController implements GatewayIndex.
func (s *Set) GatewayController(namespace, name string) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	class, ok := s.gateways[namespace+"/"+name]
	if !ok {
		return ""
	}
	return s.classes[class]
}

// AttachedPolicies implements GatewayIndex. The policies are copies; their
// Spec is shared and must not be modified.
func (s *Set) AttachedPolicies(target string) []AttachedPolicy {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []AttachedPolicy
	for _, p := range s.policies[target] {
		c := *p.policy
		c.Target = target
		out = append(out, c)
	}
	return out
}

// ServicePortProtocol implements GatewayIndex.
func (s *Set) ServicePortProtocol(namespace, name string, ref PortRef) (string, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	key := namespace + "/" + name
	if _, known := s.serviceConfig[key]; !known {
		return "", false
	}
	for _, p := range s.appProtocols[key] {
		if ref.Matches(p.name.Value(), p.number) {
			return p.reason.Value(), true
		}
	}
	return "", true
}

// WebSocketRoute implements GatewayIndex.
func (s *Set) WebSocketRoute(route string) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.wsRoutes[route]
}

// WebSocketRouteOf implements GatewayIndex: the first in a stable order.
func (s *Set) WebSocketRouteOf(namespace, name string) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	best := ""
	for _, r := range s.gatewayRoutes[namespace+"/"+name] {
		if best == "" || r.reason < best {
			best = r.reason
		}
	}
	return best
}
