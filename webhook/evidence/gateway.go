package evidence

import "sort"

// Gateway API controller names (GatewayClass spec.controllerName) of the
// implementations ws-defaults knows (gateway-api-websocket-facts.md §3).
const (
	ControllerEnvoyGateway = "gateway.envoyproxy.io/gatewayclass-controller"
	ControllerIstio        = "istio.io/gateway-controller"
	ControllerNGF          = "gateway.nginx.org/nginx-gateway-controller"
	ControllerTraefik      = "traefik.io/gateway-controller"
	ControllerGKE          = "networking.gke.io/gateway"
)

// Gateway is what the index knows around a Gateway API route (HTTPRoute,
// GRPCRoute) or an implementation policy (Envoy Gateway
// BackendTrafficPolicy/ClientTrafficPolicy, NGINX Gateway Fabric
// ProxySettingsPolicy, GKE GCPBackendPolicy): which implementations serve
// it, the backend Service ports it sends traffic to, and the implementation
// policies attached to it. Nil for other kinds.
type Gateway struct {
	// Controllers are the GatewayClass controllerNames serving the object,
	// sorted and unique: for a route, those of its parent Gateways the
	// index knows, plus the implementation of any policy that targets the
	// route; for an implementation policy, its own implementation. Empty
	// when unknown: then only portable rules and defaults apply.
	Controllers []string
	// Backends maps a route's backendRef field path
	// (spec.rules[N].backendRefs[M]) to what the index knows of that
	// Service port; only refs to Services the index has seen.
	Backends map[string]BackendPort
	// Policies are the implementation policies attached to the route, to
	// one of its parent Gateways, or (GCPBackendPolicy) to one of its
	// backend Services.
	Policies []AttachedPolicy
}

// BackendPort is a Service port a route sends traffic to.
type BackendPort struct {
	// Service is namespace/name; Port the ref's port (number or "*").
	Service, Port string
	// AppProtocol is the Service port's spec.ports[].appProtocol ("" unset).
	AppProtocol string
}

// AttachedPolicy is one implementation policy attached to a route.
type AttachedPolicy struct {
	// Kind is e.g. ProxySettingsPolicy; Group its API group.
	Kind, Group string
	Namespace   string
	Name        string
	// AttachedTo says through what it applies: "route", "gateway" or
	// "service"; Target names that object ("Kind namespace/name").
	AttachedTo string
	Target     string
	// Spec is the policy's spec as stored (targetRefs included).
	Spec map[string]any
}

// HasController reports whether c serves the object.
func (g *Gateway) HasController(c string) bool {
	if g == nil {
		return false
	}
	for _, x := range g.Controllers {
		if x == c {
			return true
		}
	}
	return false
}

// Document is the gateway facts as the rules read them (input.gateway,
// policies/README.md); an empty document (no controllers, no backends, no
// policies) for a nil Gateway.
func (g *Gateway) Document() map[string]any {
	controllers := []any{}
	backends := map[string]any{}
	policies := []any{}
	doc := map[string]any{"controllers": controllers, "backends": backends, "policies": policies}
	if g == nil {
		return doc
	}
	for _, c := range g.Controllers {
		controllers = append(controllers, c)
	}
	doc["controllers"] = controllers
	for f, b := range g.Backends {
		backends[f] = map[string]any{"service": b.Service, "port": b.Port, "appProtocol": b.AppProtocol}
	}
	ps := append([]AttachedPolicy(nil), g.Policies...)
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].Kind != ps[j].Kind {
			return ps[i].Kind < ps[j].Kind
		}
		return ps[i].Namespace+"/"+ps[i].Name < ps[j].Namespace+"/"+ps[j].Name
	})
	for _, p := range ps {
		spec := p.Spec
		if spec == nil {
			spec = map[string]any{}
		}
		policies = append(policies, map[string]any{"kind": p.Kind, "group": p.Group, "namespace": p.Namespace, "name": p.Name,
			"attachedTo": p.AttachedTo, "target": p.Target, "spec": spec})
	}
	doc["policies"] = policies
	return doc
}
