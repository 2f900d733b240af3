// Package evidence decides, per route and per Service port, whether an
// object carries WebSocket traffic, and says why (interfaces.md, "WebSocket
// evidence"). Opting a namespace in says "WebSocket lives here"; it does not
// make every route a WebSocket route. The admission pipeline computes an
// object's Evidence once (Prepare) and hands it to mutation and, as part of
// the input document, to the rules.
//
// Sources, in precedence order:
//   - the annotation ws-defaults.io/websocket: "false" on the object wins
//     over everything; "true" makes every route or port of it WebSocket;
//   - on a Service, ws-defaults.io/websocket-ports (names or numbers), port
//     names with a ws/wss/websocket token, appProtocol kubernetes.io/ws or
//     kubernetes.io/wss, and the Service's own ws-defaults=enabled label;
//   - on a route, its path (PathNames), a backend port named like a
//     WebSocket port, and controller switches (Contour enableWebsockets set
//     by the user, F5 NGINX nginx.org/websocket-services, Istio's removed
//     websocketUpgrade);
//   - from other objects (an Index): a Service port that is WebSocket by its
//     own signals makes the routes to it WebSocket routes, and a WebSocket
//     route (by its own signals) makes the Service port it sends traffic to
//     a WebSocket port. Evidence does not flow on transitively.
//
// Negative evidence: an Ingress that uses ssl-passthrough, or whose backend
// protocol is gRPC, carries no WebSocket unless an explicit or cross-object
// signal says otherwise (path names alone do not outweigh it).
package evidence

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
)

// Annotation on any handled object says whether all of its routes or ports
// carry WebSocket ("true") or none do ("false").
const Annotation = "ws-defaults.io/websocket"

// PortsAnnotation on a Service lists its WebSocket ports by name or number.
const PortsAnnotation = v1alpha1.WebSocketPortsAnnotation

// Item is one route or port judged WebSocket, and why.
type Item struct {
	// Field is the route's or port's field path, e.g. spec.rules[0].http.paths[1].
	Field string
	// Reason names the evidence, e.g. "path segment socket.io".
	Reason string
}

func (i Item) String() string { return i.Field + ": " + i.Reason }

// Evidence is what is known about one object.
type Evidence struct {
	// Off is set when ws-defaults.io/websocket is "false": nothing of the
	// object carries WebSocket, whatever else says so.
	Off bool
	// Negative names negative evidence (gRPC-only, ssl-passthrough) when it
	// decided that the object carries no WebSocket.
	Negative string
	// Items are the routes and ports with evidence, sorted by field.
	Items []Item
	// WithoutBackendConfig maps each Ingress route with evidence whose
	// Service the index knows and which attaches no GKE BackendConfig to
	// that Service ("namespace/name"): on GKE such a backend keeps the
	// load balancer's 30 s timeout.
	WithoutBackendConfig map[string]string
	// Gateway is what the index knows around a Gateway API route or an
	// implementation policy (gateway.go); nil for other kinds.
	Gateway *Gateway
	// ALBGroup is the other members of an Ingress's AWS Load Balancer
	// Controller IngressGroup (alb.go); nil when the Ingress is in none or
	// nothing is indexed.
	ALBGroup *ALBGroup
	// ServedElsewhere maps each Ingress route dropped from Items because
	// another Ingress of the same host and class serves its WebSocket
	// paths by a longer match (hosts.go) to why.
	ServedElsewhere map[string]string
	// OwnTargetGroupAttributes are the Ingress's backend Services
	// (namespace/name) that set their own ALB target-group-attributes,
	// which replace the Ingress's for them.
	OwnTargetGroupAttributes []string
}

// Any reports whether some route or port of the object carries WebSocket.
func (e *Evidence) Any() bool { return e != nil && len(e.Items) > 0 }

// For returns the reason field (a route or port path) carries WebSocket.
func (e *Evidence) For(field string) (string, bool) {
	if e == nil {
		return "", false
	}
	for _, it := range e.Items {
		if it.Field == field {
			return it.Reason, true
		}
	}
	return "", false
}

// First is the first item's "field: reason" ("" when there is none): what a
// message about the whole object names.
func (e *Evidence) First() string {
	if !e.Any() {
		return ""
	}
	return e.Items[0].String()
}

// Strings are the items as `webhook check` reports them.
func (e *Evidence) Strings() []string {
	out := []string{}
	if e == nil {
		return out
	}
	for _, it := range e.Items {
		out = append(out, it.String())
	}
	return out
}

// Document is the evidence as the rules read it (policies/README.md):
// {"fields": {field: reason}, "negative": "...", "off": bool}.
func (e *Evidence) Document() map[string]any {
	fields := map[string]any{}
	doc := map[string]any{"fields": fields, "negative": "", "off": false}
	if e == nil {
		return doc
	}
	for _, it := range e.Items {
		fields[it.Field] = it.Reason
	}
	doc["negative"] = e.Negative
	doc["off"] = e.Off
	if e.ALBGroup != nil {
		doc["albGroup"] = e.ALBGroup.document()
	}
	if len(e.OwnTargetGroupAttributes) > 0 {
		svcs := make([]any, len(e.OwnTargetGroupAttributes))
		for i, s := range e.OwnTargetGroupAttributes {
			svcs[i] = s
		}
		doc["ownTargetGroupAttributes"] = svcs
	}
	if len(e.ServedElsewhere) > 0 {
		elsewhere := make(map[string]any, len(e.ServedElsewhere))
		for f, why := range e.ServedElsewhere {
			elsewhere[f] = why
		}
		doc["servedElsewhere"] = elsewhere
	}
	if len(e.WithoutBackendConfig) > 0 {
		without := make(map[string]any, len(e.WithoutBackendConfig))
		for f, svc := range e.WithoutBackendConfig {
			without[f] = svc
		}
		doc["withoutBackendConfig"] = without
	}
	return doc
}

// PortRef names a Service port as a route does: by name, by number, or
// neither (any port).
type PortRef struct {
	Name   string
	Number int64
}

// Matches reports whether the route's ref selects the Service port (name, number).
func (r PortRef) Matches(name string, number int64) bool {
	switch {
	case r.Name != "":
		return r.Name == name
	case r.Number != 0:
		return r.Number == number
	}
	return true
}

func (r PortRef) String() string {
	switch {
	case r.Name != "":
		return r.Name
	case r.Number != 0:
		return strconv.FormatInt(r.Number, 10)
	}
	return "*"
}

// Index is what other objects say. Both methods return a reason naming the
// other object, or "" when there is none.
type Index interface {
	// OwnPort: why Service namespace/name's port ref carries WebSocket by
	// its own signals (annotation, name, appProtocol, label).
	OwnPort(namespace, name string, ref PortRef) string
	// RoutedPort: a WebSocket route (by its own signals) that sends
	// traffic to Service namespace/name's port ref.
	RoutedPort(namespace, name string, ref PortRef) string
	// BackendConfig: a WebSocket Service port (by its own signals or a
	// WebSocket route to it) that GKE BackendConfig namespace/name applies
	// to (the Service's cloud.google.com/backend-config annotation).
	BackendConfig(namespace, name string) string
	// GRPCPort: why Service namespace/name's port ref carries only gRPC or
	// HTTP/2 (GRPCPortOwn), for negative evidence.
	GRPCPort(namespace, name string, ref PortRef) string
	// ServiceBackendConfig says whether Service namespace/name is known to
	// the index and, if so, whether it attaches a GKE BackendConfig.
	ServiceBackendConfig(namespace, name string) (known, attached bool)
}

// Options are the settings evidence depends on.
type Options struct {
	// NginxPrefix is ingress-nginx's annotation prefix, with or without the
	// trailing slash ("" means nginx.ingress.kubernetes.io).
	NginxPrefix string
	// Namespace is the object's namespace when its metadata does not say
	// (an admission request's namespace; a manifest's default).
	Namespace string
}

// Of computes the evidence of obj; idx may be nil (only the object's own
// signals then count).
func Of(obj map[string]any, idx Index, opts Options) *Evidence {
	o := view(obj)
	if o.namespace == "" {
		o.namespace = opts.Namespace
	}
	e := &Evidence{}
	switch v := strings.ToLower(strings.TrimSpace(o.annotations[Annotation])); v {
	case "false":
		e.Off = true
		e.Gateway = gatewayFacts(o, idx)
		if isIngress(o.gk) {
			albFacts(o, idx, e)
		}
		return e
	}
	explicit := strings.EqualFold(strings.TrimSpace(o.annotations[Annotation]), "true")
	var items []candidate
	switch o.gk {
	case "Service.":
		items = servicePorts(o, idx, explicit)
	case "Ingress.networking.k8s.io", "Ingress.extensions":
		items = ingressPaths(o, idx, explicit)
	case "HTTPProxy.projectcontour.io":
		items = httpProxyRoutes(o, idx, explicit)
	case "VirtualService.networking.istio.io":
		items = virtualServiceRoutes(o, idx, explicit)
	case "HTTPRoute.gateway.networking.k8s.io":
		items = httpRouteRules(o, idx, explicit)
	case "DestinationRule.networking.istio.io":
		items = destinationRuleHost(o, idx, explicit)
	case "Server.policy.linkerd.io":
		items = linkerdServerPort(o, explicit)
	case "BackendConfig.cloud.google.com":
		items = backendConfigUsers(o, idx, explicit)
	default:
		if _, ok := policyImplementations[o.gk]; ok {
			items = policyTargetItems(o, idx, explicit)
		} else if explicit {
			items = []candidate{{field: "metadata", reason: explicitReason, strong: true}}
		}
	}
	if isIngress(o.gk) {
		if neg := ingressNegative(o, idx, opts); neg != "" && !slices.ContainsFunc(items, func(c candidate) bool { return c.strong }) {
			e.Negative = neg
			items = nil
		}
	}
	for _, c := range items {
		e.Items = append(e.Items, Item{Field: c.field, Reason: c.reason})
	}
	slices.SortStableFunc(e.Items, func(a, b Item) int { return compareFields(a.Field, b.Field) })
	if isIngress(o.gk) && idx != nil {
		servedElsewhere(o, idx, e)
	}
	if isIngress(o.gk) && idx != nil && len(e.Items) > 0 {
		e.WithoutBackendConfig = withoutBackendConfig(o, idx, e)
	}
	e.Gateway = gatewayFacts(o, idx)
	if isIngress(o.gk) {
		albFacts(o, idx, e)
	}
	return e
}

func isIngress(gk string) bool {
	return gk == "Ingress.networking.k8s.io" || gk == "Ingress.extensions"
}

// withoutBackendConfig finds the routes with evidence whose Service is known
// and attaches no BackendConfig. A Service the index does not know is left
// out: nothing is claimed about what cannot be seen.
func withoutBackendConfig(o object, idx Index, e *Evidence) map[string]string {
	var out map[string]string
	for _, b := range IngressBackends(o.spec) {
		if _, ok := e.For(b.Field); !ok || b.Service == "" {
			continue
		}
		if known, attached := idx.ServiceBackendConfig(o.namespace, b.Service); known && !attached {
			if out == nil {
				out = map[string]string{}
			}
			out[b.Field] = o.namespace + "/" + b.Service
		}
	}
	return out
}

const explicitReason = "annotation " + Annotation + ": \"true\""

// candidate is an item before negative evidence is weighed: strong ones
// (explicit, cross-object, backend port names) outweigh it, path names do not.
type candidate struct {
	field, reason string
	strong        bool
}

// object is the parts of an object that evidence reads.
type object struct {
	obj         map[string]any
	gk          string
	namespace   string
	name        string
	annotations map[string]string
	labels      map[string]string
	defaulted   []string
	spec        map[string]any
}

func view(obj map[string]any) object {
	o := object{obj: obj}
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	group := ""
	if i := strings.LastIndex(apiVersion, "/"); i >= 0 {
		group = apiVersion[:i]
	}
	o.gk = kind + "." + group
	md, _ := obj["metadata"].(map[string]any)
	o.namespace, _ = md["namespace"].(string)
	o.name, _ = md["name"].(string)
	o.annotations = StringMap(md["annotations"])
	o.labels = StringMap(md["labels"])
	o.defaulted = SplitList(o.annotations[v1alpha1.DefaultedAnnotation])
	o.spec, _ = obj["spec"].(map[string]any)
	return o
}

// --- Service ---

// ServicePortOwn is why port (a decoded spec.ports entry) of a Service with
// the given annotations and labels carries WebSocket by the Service's own
// signals ("" when it does not).
func ServicePortOwn(annotations, labels map[string]string, port map[string]any) string {
	if v := strings.ToLower(strings.TrimSpace(annotations[Annotation])); v == "false" {
		return ""
	} else if v == "true" {
		return explicitReason
	}
	name, _ := port["name"].(string)
	number := NumberOf(port["port"])
	for _, l := range SplitList(annotations[PortsAnnotation]) {
		if (name != "" && l == name) || (number != 0 && l == strconv.FormatInt(number, 10)) {
			return fmt.Sprintf("listed in annotation %s", PortsAnnotation)
		}
	}
	if ap, _ := port["appProtocol"].(string); slices.Contains(WebSocketAppProtocols, strings.ToLower(ap)) {
		return "appProtocol " + ap
	}
	if t := PortNameToken(name); t != "" {
		return fmt.Sprintf("port name %s (token %s)", name, t)
	}
	if labels[v1alpha1.OptInLabel] == v1alpha1.OptInEnabled {
		return fmt.Sprintf("label %s=%s on the Service", v1alpha1.OptInLabel, v1alpha1.OptInEnabled)
	}
	return ""
}

func servicePorts(o object, idx Index, _ bool) []candidate {
	ports, _ := o.spec["ports"].([]any)
	var out []candidate
	for i, p := range ports {
		port, ok := p.(map[string]any)
		if !ok {
			continue
		}
		if proto, _ := port["protocol"].(string); proto != "" && proto != "TCP" {
			continue
		}
		field := fmt.Sprintf("spec.ports[%d]", i)
		if r := ServicePortOwn(o.annotations, o.labels, port); r != "" {
			out = append(out, candidate{field: field, reason: r, strong: true})
			continue
		}
		if idx != nil {
			name, _ := port["name"].(string)
			if r := idx.RoutedPort(o.namespace, o.name, PortRef{Name: name, Number: NumberOf(port["port"])}); r != "" {
				out = append(out, candidate{field: field, reason: r, strong: true})
			}
		}
	}
	return out
}

// --- Ingress ---

// IngressBackend is one Ingress path (or the default backend) and the
// Service port it sends traffic to.
type IngressBackend struct {
	Field   string
	Path    string
	Service string
	Port    PortRef
}

// IngressBackends lists spec.defaultBackend and every spec.rules[].http.paths[].
func IngressBackends(spec map[string]any) []IngressBackend {
	var out []IngressBackend
	if db, ok := spec["defaultBackend"].(map[string]any); ok {
		svc, ref := ingressService(db)
		out = append(out, IngressBackend{Field: "spec.defaultBackend", Service: svc, Port: ref})
	}
	rules, _ := spec["rules"].([]any)
	for i, r := range rules {
		rule, _ := r.(map[string]any)
		http, _ := rule["http"].(map[string]any)
		paths, _ := http["paths"].([]any)
		for j, p := range paths {
			path, _ := p.(map[string]any)
			if path == nil {
				continue
			}
			b, _ := path["backend"].(map[string]any)
			svc, ref := ingressService(b)
			s, _ := path["path"].(string)
			out = append(out, IngressBackend{Field: fmt.Sprintf("spec.rules[%d].http.paths[%d]", i, j), Path: s, Service: svc, Port: ref})
		}
	}
	return out
}

// ingressService reads networking.k8s.io/v1 (service.name, service.port)
// and the older serviceName/servicePort.
func ingressService(b map[string]any) (string, PortRef) {
	if s, ok := b["service"].(map[string]any); ok {
		name, _ := s["name"].(string)
		port, _ := s["port"].(map[string]any)
		pn, _ := port["name"].(string)
		return name, PortRef{Name: pn, Number: NumberOf(port["number"])}
	}
	name, _ := b["serviceName"].(string)
	switch p := b["servicePort"].(type) {
	case string:
		if n, err := strconv.ParseInt(p, 10, 64); err == nil {
			return name, PortRef{Number: n}
		}
		return name, PortRef{Name: p}
	default:
		return name, PortRef{Number: NumberOf(p)}
	}
}

// IngressRouteOwn is why an Ingress path carries WebSocket by the Ingress's
// own signals ("" when it does not); strong reports whether the reason
// outweighs negative evidence.
func IngressRouteOwn(annotations map[string]string, b IngressBackend) (reason string, strong bool) {
	if strings.EqualFold(strings.TrimSpace(annotations[Annotation]), "true") {
		return explicitReason, true
	}
	if b.Service != "" {
		for _, s := range SplitList(annotations["nginx.org/websocket-services"]) {
			if s == b.Service {
				return fmt.Sprintf("annotation nginx.org/websocket-services lists Service %s", s), true
			}
		}
	}
	if t := PortNameToken(b.Port.Name); t != "" {
		return fmt.Sprintf("backend port name %s", b.Port.Name), true
	}
	if seg := PathSegment(b.Path); seg != "" {
		return "path segment " + seg, false
	}
	return "", false
}

func ingressPaths(o object, idx Index, _ bool) []candidate {
	var out []candidate
	for _, b := range IngressBackends(o.spec) {
		if r, strong := IngressRouteOwn(o.annotations, b); r != "" {
			out = append(out, candidate{field: b.Field, reason: r, strong: strong})
			continue
		}
		if r := ownPort(idx, o.namespace, []Backend{{Service: b.Service, Port: b.Port}}); r != "" {
			out = append(out, candidate{field: b.Field, reason: r, strong: true})
		}
	}
	return out
}

// ingressNegative is the negative evidence of an Ingress: ssl-passthrough
// (the controller never sees HTTP), a gRPC backend protocol, or every path
// going to a gRPC or h2c Service port (idx).
func ingressNegative(o object, idx Index, opts Options) string {
	nginx := strings.TrimSuffix(opts.NginxPrefix, "/")
	if nginx == "" {
		nginx = "nginx.ingress.kubernetes.io"
	}
	for _, key := range []string{nginx + "/ssl-passthrough", "haproxy-ingress.github.io/ssl-passthrough", "haproxy.org/ssl-passthrough", "ingress.kubernetes.io/ssl-passthrough"} {
		if strings.EqualFold(strings.TrimSpace(o.annotations[key]), "true") {
			return fmt.Sprintf("annotation %s: \"true\" (TLS is passed through; the controller never sees the HTTP upgrade)", key)
		}
	}
	for _, key := range []string{nginx + "/backend-protocol", "haproxy-ingress.github.io/backend-protocol"} {
		if v := strings.ToUpper(strings.TrimSpace(o.annotations[key])); v == "GRPC" || v == "GRPCS" || v == "H2" || v == "H2S" {
			return fmt.Sprintf("annotation %s: %q (every path is gRPC/HTTP/2)", key, o.annotations[key])
		}
	}
	if idx == nil {
		return ""
	}
	backends := IngressBackends(o.spec)
	first := ""
	for _, b := range backends {
		r := ""
		if b.Service != "" {
			r = idx.GRPCPort(o.namespace, b.Service, b.Port)
		}
		if r == "" {
			return ""
		}
		if first == "" {
			first = r
		}
	}
	if first == "" {
		return ""
	}
	return "every path goes to a gRPC/HTTP/2 port (" + first + ")"
}

// GRPCPortOwn is why a Service port (a decoded spec.ports entry) carries
// gRPC or HTTP/2 only, by its appProtocol (grpc, kubernetes.io/h2c) or name
// (grpc, grpc-…); "" when it does not, or when it also has WebSocket
// evidence of its own.
func GRPCPortOwn(annotations, labels map[string]string, port map[string]any) string {
	if ServicePortOwn(annotations, labels, port) != "" {
		return ""
	}
	if ap, _ := port["appProtocol"].(string); strings.EqualFold(ap, "grpc") || strings.EqualFold(ap, "kubernetes.io/h2c") {
		return "appProtocol " + ap
	}
	name, _ := port["name"].(string)
	if n := strings.ToLower(name); n == "grpc" || strings.HasPrefix(n, "grpc-") && !strings.HasPrefix(n, "grpc-web") {
		return "port name " + name
	}
	return ""
}

// --- Contour HTTPProxy ---

func httpProxyRoutes(o object, idx Index, explicit bool) []candidate {
	routes, _ := o.spec["routes"].([]any)
	var out []candidate
	for i, r := range routes {
		route, _ := r.(map[string]any)
		if route == nil {
			continue
		}
		field := fmt.Sprintf("spec.routes[%d]", i)
		if explicit {
			out = append(out, candidate{field, explicitReason, true})
			continue
		}
		if ws, _ := route["enableWebsockets"].(bool); ws && !slices.Contains(o.defaulted, field+".enableWebsockets") {
			out = append(out, candidate{field, "enableWebsockets: true", true})
			continue
		}
		if seg := conditionSegment(route["conditions"]); seg != "" {
			out = append(out, candidate{field, "path segment " + seg, false})
			continue
		}
		if r := ownPort(idx, o.namespace, httpProxyBackends(route)); r != "" {
			out = append(out, candidate{field, r, true})
		}
	}
	return out
}

func conditionSegment(v any) string {
	conds, _ := v.([]any)
	for _, c := range conds {
		cond, _ := c.(map[string]any)
		for _, k := range []string{"prefix", "exact", "regex"} {
			if s, _ := cond[k].(string); s != "" {
				if seg := PathSegment(s); seg != "" {
					return seg
				}
			}
		}
	}
	return ""
}

// --- Istio VirtualService ---

func virtualServiceRoutes(o object, idx Index, explicit bool) []candidate {
	routes, _ := o.spec["http"].([]any)
	var out []candidate
	for i, r := range routes {
		route, _ := r.(map[string]any)
		if route == nil {
			continue
		}
		field := fmt.Sprintf("spec.http[%d]", i)
		if explicit {
			out = append(out, candidate{field, explicitReason, true})
			continue
		}
		if ws, _ := route["websocketUpgrade"].(bool); ws {
			out = append(out, candidate{field, "websocketUpgrade: true (removed in Istio 1.5)", true})
			continue
		}
		if seg := istioMatchSegment(route["match"]); seg != "" {
			out = append(out, candidate{field, "path segment " + seg, false})
			continue
		}
		if r := ownPort(idx, o.namespace, virtualServiceBackends(route)); r != "" {
			out = append(out, candidate{field, r, true})
		}
	}
	return out
}

func istioMatchSegment(v any) string {
	matches, _ := v.([]any)
	for _, m := range matches {
		match, _ := m.(map[string]any)
		uri, _ := match["uri"].(map[string]any)
		for _, k := range []string{"prefix", "exact", "regex"} {
			if s, _ := uri[k].(string); s != "" {
				if seg := PathSegment(s); seg != "" {
					return seg
				}
			}
		}
	}
	return ""
}

// ServiceOfHost reads a Kubernetes Service out of an Istio host: "name",
// "name.namespace", "name.namespace.svc[.cluster.local]"; namespace is ""
// when the host does not say (the route's own namespace then).
func ServiceOfHost(host, _ string) (namespace, name string) {
	parts := strings.Split(host, ".")
	if len(parts) == 1 {
		return "", parts[0]
	}
	if len(parts) == 2 || parts[2] == "svc" {
		return parts[1], parts[0]
	}
	return "", "" // an external host
}

// --- Gateway API HTTPRoute ---

func httpRouteRules(o object, idx Index, explicit bool) []candidate {
	rules, _ := o.spec["rules"].([]any)
	var out []candidate
	for i, r := range rules {
		rule, _ := r.(map[string]any)
		if rule == nil {
			continue
		}
		field := fmt.Sprintf("spec.rules[%d]", i)
		if explicit {
			out = append(out, candidate{field, explicitReason, true})
			continue
		}
		if seg := gatewayMatchSegment(rule["matches"]); seg != "" {
			out = append(out, candidate{field, "path segment " + seg, false})
			continue
		}
		if r := ownPort(idx, o.namespace, httpRouteBackends(rule)); r != "" {
			out = append(out, candidate{field, r, true})
		}
	}
	return out
}

func gatewayMatchSegment(v any) string {
	matches, _ := v.([]any)
	for _, m := range matches {
		match, _ := m.(map[string]any)
		path, _ := match["path"].(map[string]any)
		if s, _ := path["value"].(string); s != "" {
			if seg := PathSegment(s); seg != "" {
				return seg
			}
		}
	}
	return ""
}

// --- Istio DestinationRule ---

func destinationRuleHost(o object, idx Index, explicit bool) []candidate {
	if explicit {
		return []candidate{{"spec.host", explicitReason, true}}
	}
	host, _ := o.spec["host"].(string)
	ns, name := ServiceOfHost(host, "")
	if idx == nil || name == "" {
		return nil
	}
	if ns == "" {
		ns = o.namespace
	}
	if r := idx.OwnPort(ns, name, PortRef{}); r != "" {
		return []candidate{{"spec.host", r, true}}
	}
	if r := idx.RoutedPort(ns, name, PortRef{}); r != "" {
		return []candidate{{"spec.host", r, true}}
	}
	return nil
}

// --- Linkerd Server ---

func linkerdServerPort(o object, explicit bool) []candidate {
	if explicit {
		return []candidate{{"spec.port", explicitReason, true}}
	}
	if name, ok := o.spec["port"].(string); ok {
		if t := PortNameToken(name); t != "" {
			return []candidate{{"spec.port", fmt.Sprintf("port name %s (token %s)", name, t), true}}
		}
	}
	return nil
}

// --- GKE BackendConfig ---

func backendConfigUsers(o object, idx Index, explicit bool) []candidate {
	if explicit {
		return []candidate{{"metadata", explicitReason, true}}
	}
	if idx == nil {
		return nil
	}
	if r := idx.BackendConfig(o.namespace, o.name); r != "" {
		return []candidate{{"metadata", r, true}}
	}
	return nil
}

// BackendConfigAnnotations are the Service annotations that attach GKE
// BackendConfigs, newest first.
var BackendConfigAnnotations = []string{"cloud.google.com/backend-config", "beta.cloud.google.com/backend-config"}

// BackendConfigRefs reads a Service's BackendConfig annotation,
// {"default": "name"} and/or {"ports": {"<port name or number>": "name"}}:
// BackendConfig name → the ports it applies to ("" for every port).
func BackendConfigRefs(annotations map[string]string) map[string][]string {
	for _, key := range BackendConfigAnnotations {
		v, ok := annotations[key]
		if !ok {
			continue
		}
		var doc struct {
			Default string            `json:"default"`
			Ports   map[string]string `json:"ports"`
		}
		if json.Unmarshal([]byte(v), &doc) != nil {
			return nil
		}
		out := map[string][]string{}
		if doc.Default != "" {
			out[doc.Default] = append(out[doc.Default], "")
		}
		for port, name := range doc.Ports {
			out[name] = append(out[name], port)
		}
		return out
	}
	return nil
}

// --- helpers ---

// Backend is a Service port a route sends traffic to; Namespace "" is the
// route's own.
type Backend struct {
	Namespace, Service string
	Port               PortRef
}

// ownPort asks idx about each backend and returns the first reason.
func ownPort(idx Index, namespace string, backends []Backend) string {
	if idx == nil {
		return ""
	}
	for _, b := range backends {
		if b.Service == "" {
			continue
		}
		ns := b.Namespace
		if ns == "" {
			ns = namespace
		}
		if r := idx.OwnPort(ns, b.Service, b.Port); r != "" {
			return r
		}
	}
	return ""
}

func httpProxyBackends(route map[string]any) []Backend {
	var out []Backend
	services, _ := route["services"].([]any)
	for _, s := range services {
		m, _ := s.(map[string]any)
		name, _ := m["name"].(string)
		out = append(out, Backend{Service: name, Port: PortRef{Number: NumberOf(m["port"])}})
	}
	return out
}

func virtualServiceBackends(route map[string]any) []Backend {
	var out []Backend
	dests, _ := route["route"].([]any)
	for _, d := range dests {
		m, _ := d.(map[string]any)
		dest, _ := m["destination"].(map[string]any)
		host, _ := dest["host"].(string)
		port, _ := dest["port"].(map[string]any)
		ns, name := ServiceOfHost(host, "")
		out = append(out, Backend{Namespace: ns, Service: name, Port: PortRef{Number: NumberOf(port["number"])}})
	}
	return out
}

func httpRouteBackends(rule map[string]any) []Backend {
	var out []Backend
	refs, _ := rule["backendRefs"].([]any)
	for _, r := range refs {
		b, _ := r.(map[string]any)
		if k, _ := b["kind"].(string); k != "" && k != "Service" {
			continue
		}
		if g, _ := b["group"].(string); g != "" {
			continue
		}
		name, _ := b["name"].(string)
		ns, _ := b["namespace"].(string)
		out = append(out, Backend{Namespace: ns, Service: name, Port: PortRef{Number: NumberOf(b["port"])}})
	}
	return out
}

// RouteBackends lists, per route field path, the Service ports each route
// of obj (Ingress, HTTPProxy, VirtualService, HTTPRoute) sends traffic to.
func RouteBackends(obj map[string]any) map[string][]Backend {
	o := view(obj)
	out := map[string][]Backend{}
	each := func(key string, f func(int, map[string]any)) {
		list, _ := o.spec[key].([]any)
		for i, r := range list {
			if m, ok := r.(map[string]any); ok {
				f(i, m)
			}
		}
	}
	switch o.gk {
	case "Ingress.networking.k8s.io", "Ingress.extensions":
		for _, b := range IngressBackends(o.spec) {
			out[b.Field] = []Backend{{Service: b.Service, Port: b.Port}}
		}
	case "HTTPProxy.projectcontour.io":
		each("routes", func(i int, r map[string]any) { out[fmt.Sprintf("spec.routes[%d]", i)] = httpProxyBackends(r) })
	case "VirtualService.networking.istio.io":
		each("http", func(i int, r map[string]any) { out[fmt.Sprintf("spec.http[%d]", i)] = virtualServiceBackends(r) })
	case "HTTPRoute.gateway.networking.k8s.io":
		each("rules", func(i int, r map[string]any) { out[fmt.Sprintf("spec.rules[%d]", i)] = httpRouteBackends(r) })
	}
	return out
}

// compareFields orders field paths with their indexes compared as numbers.
func compareFields(a, b string) int {
	for a != "" && b != "" {
		da, db := digitsPrefix(a), digitsPrefix(b)
		if da != "" && db != "" {
			na, _ := strconv.Atoi(da)
			nb, _ := strconv.Atoi(db)
			if na != nb {
				return na - nb
			}
			a, b = a[len(da):], b[len(db):]
			continue
		}
		if a[0] != b[0] {
			return int(a[0]) - int(b[0])
		}
		a, b = a[1:], b[1:]
	}
	return len(a) - len(b)
}

func digitsPrefix(s string) string {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i]
}

// NumberOf is a decoded number field as an integer (0 when it is not a
// number): what encoding/json decodes, or what the mutation sets. The one
// such helper: the edge settings use it too.
func NumberOf(v any) int64 {
	switch n := v.(type) {
	case float64:
		return int64(n)
	case int64:
		return n
	case int:
		return int64(n)
	case int32:
		return int64(n)
	}
	return 0
}

// StringMap returns the string-valued entries of a decoded map field
// (labels, annotations); anything that is not a map gives an empty map.
// The one such helper: mutation and the pipeline use it too.
func StringMap(v any) map[string]string {
	m, _ := v.(map[string]any)
	out := make(map[string]string, len(m))
	for k, val := range m {
		if s, ok := val.(string); ok {
			out[k] = s
		}
	}
	return out
}

// SplitList splits a comma-separated annotation value into its trimmed,
// non-empty items. The one such helper: mutation and the edge settings use
// it too.
func SplitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
