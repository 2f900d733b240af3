// Package explain lays out, for each WebSocket route (Ingress path,
// HTTPRoute rule, VirtualService route, HTTPProxy route) and each WebSocket
// LoadBalancer Service, the hops a connection crosses — the load balancer
// in front, the ingress controller or gateway, a mesh sidecar — with each
// hop's idle timeout and where it comes from, and the effective idle
// timeout: the smallest, and the hop that sets it. `webhook explain` prints
// it. It reads objects after mutation, as the cluster would hold them.
package explain

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ws-defaults/ws-defaults/webhook/edge"
	"github.com/ws-defaults/ws-defaults/webhook/ingressclass"
)

// Hop is one proxy or load balancer on the path.
type Hop struct {
	// Hop is edge, controller or mesh.
	Hop string `json:"hop"`
	// Provider is the edge load balancer's provider ("unknown" when not
	// known); Controller the ingress controller or gateway.
	Provider   string `json:"provider,omitempty"`
	Controller string `json:"controller,omitempty"`
	// IdleSeconds is the hop's idle timeout; nil when it has none
	// (Unlimited) or it is not known.
	IdleSeconds *int64 `json:"idleSeconds"`
	Unlimited   bool   `json:"unlimited,omitempty"`
	// Source says where the value comes from: an annotation or field, the
	// provider's or controller's default, or "unknown".
	Source string `json:"source"`
	// Via says how the hop was linked to the route (edge hops).
	Via  string `json:"via,omitempty"`
	Note string `json:"note,omitempty"`
}

// Route is one WebSocket route or LoadBalancer Service port and its path.
type Route struct {
	// Object is "Kind namespace/name".
	Object string `json:"object"`
	// Route is the field path of the route or port.
	Route string `json:"route"`
	Hops  []Hop  `json:"hops"`
	// EffectiveIdleSeconds is the smallest known idle timeout on the path
	// (nil when no hop's is known); LimitedBy the hop that sets it.
	EffectiveIdleSeconds *int64   `json:"effectiveIdleSeconds"`
	LimitedBy            string   `json:"limitedBy"`
	Notes                []string `json:"notes,omitempty"`
	// Index is the object's index in Input.Objects.
	Index int `json:"-"`
}

// Object is one object after mutation with what the pipeline found about
// it.
type Object struct {
	Object map[string]any
	// Evidence is the object's WebSocket routes and ports by field path.
	Evidence []string
	// Controller is the resolved ingress controller (Ingress) or the
	// Gateway API controllers, comma-separated (HTTPRoute).
	Controller string
}

// Input is everything Paths reads.
type Input struct {
	Objects []Object
	// Provider is the policy's spec.edge.provider: the load balancer in
	// front where no Service links to a route.
	Provider string
	// NginxPrefix is ingress-nginx's annotation prefix, with the slash.
	NginxPrefix string
	// NamespaceLabels and NamespaceAnnotations by namespace name (mesh
	// injection).
	NamespaceLabels, NamespaceAnnotations map[string]map[string]string
	// LoadBalancers and GatewayAddresses are what a route's path may cross
	// besides its own object (Around collects them): the Services of type
	// LoadBalancer that have status addresses, in input order, and the
	// status addresses of the Gateways by namespace/name. Paths fills them
	// from Objects; PathsOf reads them, so that a caller judging objects
	// one at a time keeps only these.
	LoadBalancers    []map[string]any
	GatewayAddresses map[string][]string
}

// Around adds obj (after mutation) to what the paths of other objects may
// cross: a LoadBalancer Service with status addresses, a Gateway's status
// addresses. obj is kept only when it is such a Service.
func (in *Input) Around(obj map[string]any) {
	if edge.IsLoadBalancer(obj) && len(edge.StatusAddresses(obj)) > 0 {
		in.LoadBalancers = append(in.LoadBalancers, obj)
	}
	if kind, _ := obj["kind"].(string); kind == "Gateway" {
		status, _ := obj["status"].(map[string]any)
		list, _ := status["addresses"].([]any)
		for _, a := range list {
			m, _ := a.(map[string]any)
			if v, _ := m["value"].(string); v != "" {
				if in.GatewayAddresses == nil {
					in.GatewayAddresses = map[string][]string{}
				}
				key := namespacedName(obj)
				in.GatewayAddresses[key] = append(in.GatewayAddresses[key], strings.ToLower(v))
			}
		}
	}
}

// Paths lays out the path of every WebSocket route and LoadBalancer
// Service port in in.Objects, in input order.
func Paths(in Input) []Route {
	in.LoadBalancers, in.GatewayAddresses = nil, nil
	for _, o := range in.Objects {
		in.Around(o.Object)
	}
	var out []Route
	for idx, o := range in.Objects {
		first := len(out)
		out = append(out, PathsOf(in, o)...)
		for i := first; i < len(out); i++ {
			out[i].Index = idx
		}
	}
	return out
}

// PathsOf lays out the path of each WebSocket route and LoadBalancer
// Service port of o, with what in.LoadBalancers and in.GatewayAddresses
// say of the objects around it (in.Objects is not read).
func PathsOf(in Input, o Object) []Route {
	kind, _ := o.Object["kind"].(string)
	fields := evidenceFields(o.Evidence)
	if len(fields) == 0 {
		return nil
	}
	var out []Route
	name := kind + " " + namespacedName(o.Object)
	ns := namespaceOf(o.Object)
	mesh := meshHop(in, ns)
	switch {
	case kind == "Service" && edge.IsLoadBalancer(o.Object):
		for _, f := range fields {
			hops := []Hop{serviceEdgeHop(o.Object, in.Provider, portIndex(f), "the Service itself")}
			out = append(out, finish(name, f, append(hops, mesh...), nil))
		}
	case kind == "Ingress" || kind == "HTTPRoute" || kind == "VirtualService" || kind == "HTTPProxy":
		for _, f := range fields {
			if !isRoute(kind, f) {
				continue
			}
			var hops []Hop
			var notes []string
			ctrl := controllerHop(in, o, f)
			if ctrl.Provider == "aws-alb" {
				hops = append(hops, ctrl) // the ALB is the load balancer in front
			} else {
				hops = append(hops, routeEdgeHop(in, o), ctrl)
			}
			if ingressclass.Is(o.Controller, ingressclass.Nginx) && kind == "Ingress" {
				notes = append(notes, "ingress-nginx closes every WebSocket at most worker-shutdown-timeout (240 s by default, "+
					"ConfigMap key worker-shutdown-timeout) after each reload, and any Ingress change in the controller's scope "+
					"that is not only endpoints or certificates reloads it")
			}
			out = append(out, finish(name, f, append(hops, mesh...), notes))
		}
	}
	return out
}

// finish computes the effective idle timeout of a path.
func finish(object, route string, hops []Hop, notes []string) Route {
	r := Route{Object: object, Route: route, Hops: hops, LimitedBy: "unknown", Notes: notes}
	unknown := false
	for _, h := range hops {
		switch {
		case h.IdleSeconds != nil:
			if r.EffectiveIdleSeconds == nil || *h.IdleSeconds < *r.EffectiveIdleSeconds {
				v := *h.IdleSeconds
				r.EffectiveIdleSeconds, r.LimitedBy = &v, h.Hop
			}
		case !h.Unlimited:
			unknown = true
		}
	}
	if r.EffectiveIdleSeconds == nil && !unknown {
		r.LimitedBy = "none"
	}
	if unknown && r.EffectiveIdleSeconds != nil {
		r.Notes = append(r.Notes, "a hop's idle timeout is unknown and not counted")
	}
	return r
}

// serviceEdgeHop is the load balancer of a Service of type LoadBalancer:
// the smallest idle timeout of its settings (for port, when it is set per
// listener; port -1: any).
func serviceEdgeHop(svc map[string]any, provider string, port int, via string) Hop {
	lb := edge.Detect(svc, provider)
	h := Hop{Hop: "edge", Provider: string(lb.Provider), Via: via, Note: lb.Name() + " (" + lb.Source + ")"}
	if lb.Provider == edge.Unknown {
		h.Provider, h.Source = "unknown", "unknown: set the policy's spec.edge.provider"
		return h
	}
	if lb.Provider == edge.None {
		h.Unlimited, h.Source = true, "no load balancer (spec.edge.provider none)"
		return h
	}
	var best *int64
	for _, s := range edge.Settings(lb, svc) {
		if port >= 0 && s.Port >= 0 && s.Port != port {
			continue
		}
		var v int64
		var src string
		switch got := s.Read(svc); {
		case got.Set && got.Err == nil && got.OutOfRange == "":
			v, src = got.Seconds, "annotation "+s.Key
			if s.Attribute != "" {
				src += " (" + s.Attribute + ")"
			}
		case s.Default > 0:
			v, src = s.Default, "provider default"
			if got.Set {
				src = "provider default (" + s.Key + " is invalid and ignored)"
			}
			if s.Key == "" && s.Note != "" {
				src = "provider default: " + s.Note
			}
		case s.Default == edge.NoIdle:
			if best == nil {
				h.Unlimited, h.Source = true, "none: "+s.Note
			}
			continue
		default:
			if best == nil && h.Source == "" {
				h.Source = "unknown"
				if s.Note != "" {
					h.Source += ": " + s.Note
				}
			}
			continue
		}
		if best == nil || v < *best {
			vv := v
			best, h.Source, h.Unlimited = &vv, src, false
		}
	}
	h.IdleSeconds = best
	if h.Source == "" {
		h.Source = "unknown"
	}
	return h
}

// routeEdgeHop finds the load balancer in front of a route: a LoadBalancer
// Service whose status address the route's (or its Gateway's) status
// shares, else the policy's spec.edge.provider.
func routeEdgeHop(in Input, o Object) Hop {
	addrs := edge.StatusAddresses(o.Object)
	if kind, _ := o.Object["kind"].(string); kind == "HTTPRoute" {
		addrs = append(addrs, gatewayAddresses(in, o.Object)...)
	}
	for _, svc := range in.LoadBalancers {
		for _, a := range edge.StatusAddresses(svc) {
			if slices.Contains(addrs, a) {
				return serviceEdgeHop(svc, in.Provider, -1, "status address "+a+" of Service "+namespacedName(svc))
			}
		}
	}
	p := strings.TrimSpace(in.Provider)
	if p == "" || p == "auto" {
		return Hop{Hop: "edge", Provider: "unknown", Source: "unknown: no LoadBalancer Service shares this route's status address, " +
			"and the policy's spec.edge.provider is auto"}
	}
	// The policy's provider, for a Service with no annotations and the
	// usual ports.
	svc := map[string]any{"kind": "Service", "metadata": map[string]any{},
		"spec": map[string]any{"type": "LoadBalancer", "ports": []any{map[string]any{"port": float64(443)}}}}
	h := serviceEdgeHop(svc, p, -1, "policy spec.edge.provider (no LoadBalancer Service linked by status)")
	if h.Source == "annotation" {
		h.Source = "provider default"
	}
	return h
}

// gatewayAddresses are the status.addresses of the route's parent Gateways
// (in.GatewayAddresses).
func gatewayAddresses(in Input, route map[string]any) []string {
	spec, _ := route["spec"].(map[string]any)
	refs, _ := spec["parentRefs"].([]any)
	var out []string
	for _, r := range refs {
		ref, _ := r.(map[string]any)
		name, _ := ref["name"].(string)
		ns, _ := ref["namespace"].(string)
		if ns == "" {
			ns = namespaceOf(route)
		}
		out = append(out, in.GatewayAddresses[ns+"/"+name]...)
	}
	return out
}

// controllerHop is the ingress controller's or gateway's idle timeout for
// the route.
func controllerHop(in Input, o Object, field string) Hop {
	ann := annotations(o.Object)
	kind, _ := o.Object["kind"].(string)
	h := Hop{Hop: "controller", Controller: o.Controller, Source: "unknown: this controller's idle timeout is not modelled"}
	switch {
	case kind == "Ingress" && ingressclass.Is(o.Controller, ingressclass.Nginx):
		// proxy_read_timeout and proxy_send_timeout each close an idle
		// WebSocket; the ConfigMap's default is 60 s.
		best, src := int64(-1), ""
		for _, k := range []string{"proxy-read-timeout", "proxy-send-timeout"} {
			key := in.NginxPrefix + k
			v, s := int64(60), "ConfigMap default (60 s) for "+k
			if raw, ok := ann[key]; ok {
				if n, err := strconv.Atoi(raw); err == nil && n > 0 {
					v, s = int64(n), "annotation "+key
				}
			}
			if best < 0 || v < best {
				best, src = v, s
			}
		}
		h.IdleSeconds, h.Source = &best, src
	case kind == "Ingress" && ingressclass.Is(o.Controller, ingressclass.ALB):
		const key = "alb.ingress.kubernetes.io/load-balancer-attributes"
		v, src := int64(60), "ALB default"
		if m, err := edge.ParseStringMap(ann[key]); err == nil {
			if n, err := strconv.ParseInt(m["idle_timeout.timeout_seconds"], 10, 64); err == nil {
				v, src = n, "annotation "+key+" (idle_timeout.timeout_seconds)"
			}
		}
		return Hop{Hop: "edge", Provider: "aws-alb", Controller: o.Controller, IdleSeconds: &v, Source: src, Via: "the ALB is the Ingress's own load balancer"}
	case kind == "HTTPProxy":
		route := routeAt(o.Object, field)
		tp, _ := route["timeoutPolicy"].(map[string]any)
		v, src := int64(300), "Contour default stream idle timeout (5 min)"
		if s, ok := tp["idle"].(string); ok {
			if s == "infinity" || s == "infinite" {
				h.Unlimited, h.Source = true, "timeoutPolicy.idle "+s
				return h
			}
			if d, err := time.ParseDuration(s); err == nil {
				v, src = int64(d/time.Second), field+".timeoutPolicy.idle"
			}
		}
		h.IdleSeconds, h.Source = &v, src
	case kind == "HTTPRoute" && strings.Contains(o.Controller, "gateway.envoyproxy.io"):
		rule := routeAt(o.Object, field)
		to, _ := rule["timeouts"].(map[string]any)
		v, src := int64(300), "Envoy Gateway default stream idle timeout (5 min)"
		if s, ok := to["request"].(string); ok {
			if d, err := time.ParseDuration(s); err == nil {
				v, src = max(3600, int64(d/time.Second)), field+".timeouts.request (idle = max(1h, request))"
			}
		}
		h.IdleSeconds, h.Source = &v, src
		h.Note = "a BackendTrafficPolicy's streamIdleTimeout, when set, wins"
	case kind == "VirtualService":
		h.Controller = "istio"
		h.Unlimited, h.Source = true, "Istio sets no route or stream idle timeout by default"
	}
	return h
}

// meshHop is a sidecar hop when the namespace injects one.
func meshHop(in Input, ns string) []Hop {
	labels, ann := in.NamespaceLabels[ns], in.NamespaceAnnotations[ns]
	switch {
	case labels["istio-injection"] == "enabled" || labels["istio.io/rev"] != "":
		return []Hop{{Hop: "mesh", Controller: "istio", Source: "unknown: the sidecar's idle timeout is not modelled",
			Note: "namespace label istio-injection/istio.io/rev"}}
	case ann["linkerd.io/inject"] == "enabled":
		return []Hop{{Hop: "mesh", Controller: "linkerd", Source: "unknown: the proxy's idle timeout is not modelled",
			Note: "namespace annotation linkerd.io/inject"}}
	}
	return nil
}

// isRoute keeps the route fields of a kind (an Ingress's paths, not its
// Service ports).
func isRoute(kind, field string) bool {
	switch kind {
	case "Ingress":
		return strings.HasPrefix(field, "spec.rules[") || field == "spec.defaultBackend"
	case "HTTPRoute":
		return strings.HasPrefix(field, "spec.rules[")
	case "VirtualService":
		return strings.HasPrefix(field, "spec.http[")
	case "HTTPProxy":
		return strings.HasPrefix(field, "spec.routes[")
	}
	return false
}

// routeAt is the object at a field path such as spec.routes[2].
func routeAt(obj map[string]any, field string) map[string]any {
	var cur any = obj
	for _, part := range strings.Split(field, ".") {
		name, idx, hasIdx := strings.Cut(part, "[")
		m, _ := cur.(map[string]any)
		cur = m[name]
		if hasIdx {
			i, _ := strconv.Atoi(strings.TrimSuffix(idx, "]"))
			list, _ := cur.([]any)
			if i < 0 || i >= len(list) {
				return nil
			}
			cur = list[i]
		}
	}
	m, _ := cur.(map[string]any)
	return m
}

// evidenceFields reads the field paths out of "field: reason" strings.
func evidenceFields(ev []string) []string {
	var out []string
	for _, e := range ev {
		f, _, _ := strings.Cut(e, ": ")
		if f != "" && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

func portIndex(field string) int {
	var i int
	if _, err := fmt.Sscanf(field, "spec.ports[%d]", &i); err != nil {
		return -1
	}
	return i
}

func namespacedName(obj map[string]any) string {
	md, _ := obj["metadata"].(map[string]any)
	name, _ := md["name"].(string)
	return namespaceOf(obj) + "/" + name
}

func namespaceOf(obj map[string]any) string {
	md, _ := obj["metadata"].(map[string]any)
	ns, _ := md["namespace"].(string)
	if ns == "" {
		ns = "default"
	}
	return ns
}

func annotations(obj map[string]any) map[string]string {
	md, _ := obj["metadata"].(map[string]any)
	a, _ := md["annotations"].(map[string]any)
	out := make(map[string]string, len(a))
	for k, v := range a {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}
