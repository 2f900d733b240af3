// Package kinds is the one table of the object kinds ws-defaults handles:
// which it mutates (a row in webhook/mutate/defaults.go) and which its rules
// judge (policies/). The webhook configurations' rules are derived from it
// (webhook/registration), and tests fail when the mutation rows or the Rego
// rules handle a kind this table does not list, or the other way round.
package kinds

import (
	"slices"
	"strings"
)

// Any is the wildcard of a whole API group: every kind, every version.
const Any = "*"

// Kind is one handled kind.
type Kind struct {
	Group string
	// Versions the webhooks are called for; {Any} for every version.
	Versions []string
	// Resource is the plural REST name; Any for every kind of the group.
	Resource string
	// Kind is the object kind; Any for every kind of the group.
	Kind string
	// Mutated: /mutate adds defaults to it.
	Mutated bool
	// Validated: the rules judge it on /validate.
	Validated bool
}

// GroupKind is "Kind.group", as mutation rows and the Rego index key kinds.
func (k Kind) GroupKind() string { return k.Kind + "." + k.Group }

var (
	istioVersions = []string{"v1", "v1beta1", "v1alpha3"}
	gkeVersions   = []string{"v1", "v1beta1"}
)

// Handled lists every kind, in the order the webhook rules list them.
var Handled = []Kind{
	{Group: "networking.k8s.io", Versions: []string{"v1"}, Resource: "ingresses", Kind: "Ingress", Mutated: true, Validated: true},
	{Group: "", Versions: []string{"v1"}, Resource: "services", Kind: "Service", Mutated: true, Validated: true},
	{Group: "networking.istio.io", Versions: istioVersions, Resource: "destinationrules", Kind: "DestinationRule", Mutated: true, Validated: true},
	{Group: "networking.istio.io", Versions: istioVersions, Resource: "virtualservices", Kind: "VirtualService", Validated: true},
	{Group: "traefik.io", Versions: []string{"v1alpha1"}, Resource: "serverstransports", Kind: "ServersTransport", Validated: true},
	{Group: "traefik.io", Versions: []string{"v1alpha1"}, Resource: "serverstransporttcps", Kind: "ServersTransportTCP", Validated: true},
	{Group: "traefik.io", Versions: []string{"v1alpha1"}, Resource: "middlewares", Kind: "Middleware", Validated: true},
	// Traefik v3 removed the whole group: every kind in it is flagged.
	{Group: "traefik.containo.us", Versions: []string{Any}, Resource: Any, Kind: Any, Validated: true},
	{Group: "policy.linkerd.io", Versions: []string{Any}, Resource: "servers", Kind: "Server", Validated: true},
	{Group: "policy.linkerd.io", Versions: []string{Any}, Resource: "serverauthorizations", Kind: "ServerAuthorization", Validated: true},
	{Group: "projectcontour.io", Versions: []string{"v1"}, Resource: "httpproxies", Kind: "HTTPProxy", Mutated: true, Validated: true},
	{Group: "cloud.google.com", Versions: gkeVersions, Resource: "backendconfigs", Kind: "BackendConfig", Mutated: true, Validated: true},
	// Gateway API and its implementations (gateway-api-websocket-facts.md).
	{Group: "gateway.networking.k8s.io", Versions: []string{"v1", "v1beta1"}, Resource: "httproutes", Kind: "HTTPRoute", Mutated: true, Validated: true},
	{Group: "gateway.networking.k8s.io", Versions: []string{"v1"}, Resource: "grpcroutes", Kind: "GRPCRoute", Validated: true},
	// The alpha group, long removed: every kind in it is flagged.
	{Group: "networking.x-k8s.io", Versions: []string{Any}, Resource: Any, Kind: Any, Validated: true},
	{Group: "gateway.envoyproxy.io", Versions: []string{"v1alpha1"}, Resource: "backendtrafficpolicies", Kind: "BackendTrafficPolicy", Mutated: true, Validated: true},
	{Group: "gateway.envoyproxy.io", Versions: []string{"v1alpha1"}, Resource: "clienttrafficpolicies", Kind: "ClientTrafficPolicy", Validated: true},
	{Group: "gateway.nginx.org", Versions: []string{"v1alpha1"}, Resource: "proxysettingspolicies", Kind: "ProxySettingsPolicy", Mutated: true, Validated: true},
	{Group: "gateway.nginx.org", Versions: []string{"v1alpha1"}, Resource: "clientsettingspolicies", Kind: "ClientSettingsPolicy", Validated: true},
	{Group: "gateway.nginx.org", Versions: []string{"v1alpha1"}, Resource: "upstreamsettingspolicies", Kind: "UpstreamSettingsPolicy", Validated: true},
	{Group: "networking.gke.io", Versions: []string{"v1"}, Resource: "gcpbackendpolicies", Kind: "GCPBackendPolicy", Mutated: true, Validated: true},
	// Kong Ingress Controller 3.0 ignores KongIngress proxy/route sections
	// (kong-ingress-proxy-ignored).
	{Group: "configuration.konghq.com", Versions: []string{"v1"}, Resource: "kongingresses", Kind: "KongIngress", Validated: true},
}

// Mutated are the kinds /mutate defaults.
func Mutated() []Kind { return filter(func(k Kind) bool { return k.Mutated }) }

// Validated are the kinds /validate judges.
func Validated() []Kind { return filter(func(k Kind) bool { return k.Validated }) }

func filter(keep func(Kind) bool) []Kind {
	var out []Kind
	for _, k := range Handled {
		if keep(k) {
			out = append(out, k)
		}
	}
	return out
}

// Handles reports whether the webhook is called for objects of apiVersion
// ("group/version", or "version" for the core group) and kind.
func Handles(apiVersion, kind string) bool {
	group, version, found := strings.Cut(apiVersion, "/")
	if !found {
		group, version = "", apiVersion
	}
	for _, k := range Handled {
		if k.Group == group && (k.Kind == Any || k.Kind == kind) && (slices.Contains(k.Versions, Any) || slices.Contains(k.Versions, version)) {
			return true
		}
	}
	return false
}
