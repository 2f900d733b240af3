package mutate

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
	"github.com/ws-defaults/ws-defaults/webhook/edge"
	"github.com/ws-defaults/ws-defaults/webhook/evidence"
	"github.com/ws-defaults/ws-defaults/webhook/ingressclass"
)

// This file is the whole of what the webhook injects, one function per row
// of ../shared/spec/defaults.md. Every value comes from the effective policy
// (settings); every addition goes through the editor, which only adds what
// is absent.

// rows maps "Kind.group" to the function that defaults that kind.
var rows = map[string]func(*editor, settings){
	"Ingress.networking.k8s.io":           ingress,
	"Service.":                            service,
	"DestinationRule.networking.istio.io": destinationRule,
	"HTTPProxy.projectcontour.io":         httpProxy,
	"BackendConfig.cloud.google.com":      backendConfig,
	// Gateway API (defaults.md "Gateway API")
	"HTTPRoute.gateway.networking.k8s.io":        httpRoute,
	"BackendTrafficPolicy.gateway.envoyproxy.io": backendTrafficPolicy,
	"ProxySettingsPolicy.gateway.nginx.org":      proxySettingsPolicy,
	"GCPBackendPolicy.networking.gke.io":         gcpBackendPolicy,
}

// Annotation prefixes read by each controller.
const (
	haproxyIngressPrefix = "haproxy-ingress.github.io/"
	albPrefix            = "alb.ingress.kubernetes.io/"
	traefikServicePrefix = "traefik.ingress.kubernetes.io/service."
	kongPrefix           = "konghq.com/"
)

// haproxyIngressKeys are the keys haproxy-ingress reads for name (it also
// accepts the legacy ingress.kubernetes.io/ prefix).
func haproxyIngressKeys(name string) []string {
	return []string{haproxyIngressPrefix + name, "ingress.kubernetes.io/" + name}
}

// haproxyTechKeys are the three equivalent prefixes haproxytech reads.
func haproxyTechKeys(name string) []string {
	return []string{"haproxy.org/" + name, "haproxy.com/" + name, "ingress.kubernetes.io/" + name}
}

// evidenceOf is the object's WebSocket evidence: the pipeline's, or, for
// callers without one, the object's own signals read before any change.
func evidenceOf(e *editor, s settings) *evidence.Evidence {
	if s.evidence != nil {
		return s.evidence
	}
	return evidence.Of(e.obj, nil, evidence.Options{NginxPrefix: s.nginx})
}

func ingress(e *editor, s settings) {
	spec, _ := e.obj["spec"].(map[string]any)
	e.controller = ingressclass.ForObject(e.obj, s.classes).Controller
	// Opting in is the user's statement about the Ingress, so its idle
	// timeouts need no per-path evidence (a longer idle timeout does not
	// change how a REST request is served); but an Ingress with negative
	// evidence (gRPC-only, ssl-passthrough) carries no WebSocket, nor does
	// one the user marked ws-defaults.io/websocket: "false".
	ev := evidenceOf(e, s)
	if ev.Negative != "" || ev.Off {
		return
	}
	// Settings that change which backend gets a request or add a cookie
	// (cookie affinity, leastconn, ALB stickiness) apply only to an Ingress
	// with WebSocket evidence on some route (defaults.md): an opted-in
	// namespace also holds REST, cache and SSO Ingresses.
	ws := ev.Any()
	tls, _ := spec["tls"].([]any)
	secure := s.secureCookieOnTLS && len(tls) > 0
	idle := strconv.FormatInt(s.idle, 10)
	a := s.Mutation.Affinity

	switch c := e.controller; {
	case ingressclass.Is(c, ingressclass.Nginx): // research §1.3
		e.addAnnotation(s.nginx+"proxy-read-timeout", idle)
		e.addAnnotation(s.nginx+"proxy-send-timeout", idle)
		// proxy-connect-timeout is deliberately never set: it is not the
		// WebSocket idle timeout and nginx caps it at about 75 s.
		nginxAffinity(e, s, ws, secure)
	case ingressclass.Is(c, ingressclass.HAProxyIngress): // research §3.3
		e.addFirst(haproxyIngressKeys("timeout-tunnel"), haproxyDuration(s.idle))
		if ws {
			e.addFirst(haproxyIngressKeys("balance-algorithm"), "leastconn")
			if s.affinity {
				e.addFirst(haproxyIngressKeys("affinity"), "cookie")
				e.addFirst(haproxyIngressKeys("session-cookie-name"), a.CookieName)
			}
		}
		// On a TLS host the cookie affinity, ours or the user's, gets the
		// secure keyword, which haproxy-ingress's default keywords lack.
		if v, _ := e.firstAnnotation(haproxyIngressKeys("affinity")); secure && v == "cookie" {
			e.addFirst(haproxyIngressKeys("session-cookie-keywords"), "indirect nocache httponly secure")
		}
	case ingressclass.Is(c, ingressclass.HAProxyTech): // research §3.2
		// Its timeout-tunnel is ConfigMap-only (default 1h), so only the
		// balance algorithm suited to long sessions is set here.
		if ws {
			e.addFirst(haproxyTechKeys("load-balance"), "leastconn")
		}
	case ingressclass.Is(c, ingressclass.ALB): // research §6
		albIdle(e, s)
		if target, _ := e.annotation(albPrefix + "target-type"); ws && s.affinity && target == "ip" {
			// A Service's own target-group-attributes replace the Ingress's
			// for its target group: stickiness set here would not apply.
			if len(ev.OwnTargetGroupAttributes) > 0 {
				if !e.hasAttribute(albPrefix+"target-group-attributes", "stickiness.enabled") {
					e.warn(fmt.Sprintf("stickiness not added to %starget-group-attributes: Service %s sets its own "+
						"target-group-attributes, which replace the Ingress's; add stickiness.enabled=true,stickiness.type=lb_cookie there",
						albPrefix, strings.Join(ev.OwnTargetGroupAttributes, ", ")))
				}
				break
			}
			e.mergeAttributes(albPrefix+"target-group-attributes", [][2]string{
				{"stickiness.enabled", "true"},
				{"stickiness.type", "lb_cookie"},
				{"stickiness.lb_cookie.duration_seconds", strconv.FormatInt(s.cookieMaxAge, 10)},
			})
		}
	}
	// Traefik: nothing on the Ingress; its timeouts live on entry points and
	// its sticky cookies on the Service (see service).
}

// nginxAffinity adds ingress-nginx cookie affinity to an Ingress with
// WebSocket evidence (ws), and the cookie path wherever cookie affinity
// (ours or the user's) meets paths ingress-nginx treats as regex.
func nginxAffinity(e *editor, s settings, ws, secure bool) {
	// ingress-nginx refuses a whole Ingress that carries an annotation
	// riskier than its annotations-risk-level (annotations.go Extract); at
	// Low the Medium-risk keys (sessionaffinity/main.go) are left out, so
	// affinity falls back to the controller's defaults (balanced mode,
	// cookie INGRESSCOOKIE, session cookie).
	low := strings.EqualFold(s.NginxAnnotationsRiskLevel, v1alpha1.RiskLevelLow)
	var skipped []string
	medium := func(name, value string) {
		if !low {
			e.addAnnotation(s.nginx+name, value)
		} else if !e.hasAnnotation(s.nginx + name) {
			skipped = append(skipped, s.nginx+name)
		}
	}
	// Cookie affinity silently overrides upstream-hash-by, so a user who
	// chose hashing keeps it.
	if ws && s.affinity && !e.hasAnnotation(s.nginx+"upstream-hash-by") {
		a := s.Mutation.Affinity
		e.addAnnotation(s.nginx+"affinity", "cookie")
		medium("affinity-mode", "persistent")
		medium("session-cookie-name", a.CookieName)
		medium("session-cookie-max-age", strconv.FormatInt(s.cookieMaxAge, 10))
		e.addAnnotation(s.nginx+"session-cookie-samesite", a.SameSite)
		if secure {
			e.addAnnotation(s.nginx+"session-cookie-secure", "true")
		}
	}
	if v, _ := e.annotation(s.nginx + "affinity"); v == "cookie" && nginxRegexPaths(e, s.nginx) {
		// Without session-cookie-path the sticky cookie's Path is the
		// Ingress path as written (sticky.lua: ngx.var.location_path), a
		// regex string the browser never matches, so it never sends the
		// cookie back and every request is balanced afresh.
		medium("session-cookie-path", "/")
	}
	if len(skipped) > 0 {
		var kept []string
		for _, k := range skipped {
			kept = append(kept, nginxCookieDefault[strings.TrimPrefix(k, s.nginx)])
		}
		e.warn(fmt.Sprintf("not added: %s: ingress-nginx rates them Medium risk and the policy's "+
			"nginxAnnotationsRiskLevel is Low, where the controller refuses the whole Ingress for them; "+
			"the sticky cookie keeps ingress-nginx's defaults (%s)",
			strings.Join(skipped, ", "), strings.Join(kept, ", ")))
	}
}

// nginxCookieDefault is what ingress-nginx's sticky cookie does without
// each Medium-risk key (sessionaffinity/main.go, sticky.lua).
var nginxCookieDefault = map[string]string{
	"affinity-mode":          "balanced mode",
	"session-cookie-name":    "name INGRESSCOOKIE",
	"session-cookie-max-age": "no Max-Age",
	"session-cookie-path":    "Path the Ingress path as written, a regex browsers never send the cookie back for",
}

// nginxRegexPaths reports whether ingress-nginx treats the Ingress's paths
// as regular expressions: use-regex true (a Go boolean, parser.
// GetBoolAnnotation), or a rewrite-target that differs from a path
// (rewrite/main.go; template.go needsRewrite, enforceRegexModifier).
func nginxRegexPaths(e *editor, nginx string) bool {
	if v, _ := e.annotation(nginx + "use-regex"); parseBool(v) {
		return true
	}
	target, _ := e.annotation(nginx + "rewrite-target")
	if target == "" {
		return false
	}
	spec, _ := e.obj["spec"].(map[string]any)
	for _, b := range evidence.IngressBackends(spec) {
		if b.Field != "spec.defaultBackend" && b.Path != target {
			return true
		}
	}
	return false
}

// parseBool is strconv.ParseBool's true, the controllers' boolean reader.
func parseBool(v string) bool {
	b, err := strconv.ParseBool(v)
	return err == nil && b
}

// albMaxIdle is the largest idle timeout AWS accepts on an ALB (1–4000 s);
// the controller cannot reconcile a load balancer given more.
const albMaxIdle = 4000

// albIdle merges the idle timeout into load-balancer-attributes, capped at
// what AWS accepts. Every Ingress of an IngressGroup
// (alb.ingress.kubernetes.io/group.name) must agree on each attribute it
// sets, or the controller stops reconciling the whole group ("conflicting
// load balancer attributes", model_build_load_balancer_attributes.go). So a
// grouped Ingress gets nothing, with a warning, when another member the
// index knows sets a different idle timeout; without an index (one-off
// calls), when its namespace overrides the policy's idle timeout, which
// the members elsewhere get.
func albIdle(e *editor, s settings) {
	const key, attr = albPrefix + "load-balancer-attributes", "idle_timeout.timeout_seconds"
	capped := func(v int64) int64 { return min(v, albMaxIdle) }
	idle := capped(s.idle)
	value := strconv.FormatInt(idle, 10)
	if e.hasAttribute(key, attr) {
		return
	}
	if group, _ := e.annotation(albPrefix + "group.name"); group != "" {
		if s.evidence != nil && s.evidence.ALBGroup != nil {
			if others := s.evidence.ALBGroup.Conflicts(attr, value); len(others) > 0 {
				e.warn(fmt.Sprintf("%s=%s not added to %s: this Ingress is in IngressGroup %q, whose members must all agree on it, "+
					"and member %s sets %s=%s; set the same value on every member of the group",
					attr, value, key, group, others[0].Ingress, attr, others[0].Attributes[attr]))
				return
			}
		} else if policyIdle := capped(int64(*s.Mutation.IdleTimeoutSeconds)); idle != policyIdle {
			e.warn(fmt.Sprintf("%s not added to %s: this Ingress is in IngressGroup %q, whose members must all agree on it, "+
				"and its namespace's idle timeout (%d s) differs from the policy's (%d s) that other members get; "+
				"set the same value on every member of the group", attr, key, group, idle, policyIdle))
			return
		}
	}
	if s.idle > albMaxIdle {
		e.warn(fmt.Sprintf("idle timeout %d s is above the ALB maximum of %d s: %s=%d added instead", s.idle, albMaxIdle, attr, albMaxIdle))
	}
	e.mergeAttributes(key, [][2]string{{attr, value}})
}

// hasAttribute reports whether the comma-separated attribute annotation key
// already lists attr.
func (e *editor) hasAttribute(key, attr string) bool {
	current, _ := e.annotation(key)
	for _, kv := range evidence.SplitList(current) {
		if k, _, _ := strings.Cut(kv, "="); strings.TrimSpace(k) == attr {
			return true
		}
	}
	return false
}

func service(e *editor, s settings) {
	spec, ok := e.obj["spec"].(map[string]any)
	if !ok {
		return
	}
	// Every row here changes how the Service's traffic is handled, so it
	// applies only to Services with a WebSocket port (evidence), and the
	// protocol hint only to those ports.
	ev := evidenceOf(e, s)
	if !ev.Any() {
		return
	}
	// The load balancer in front of a Service of type LoadBalancer
	// (edge-load-balancer-facts.md): its idle timeout, and what it refuses.
	lb, isLB := edge.LB{}, edge.IsLoadBalancer(e.obj)
	if isLB {
		lb = edge.Detect(e.obj, s.Edge.Provider)
	}
	ports, _ := spec["ports"].([]any)
	for i, p := range ports { // research §4.1, §5
		port, ok := p.(map[string]any)
		if !ok {
			continue
		}
		name, _ := port["name"].(string)
		if proto, _ := port["protocol"].(string); proto != "" && proto != "TCP" {
			continue
		}
		if _, set := port["appProtocol"]; set || hasProtocolPrefix(name) {
			continue
		}
		if _, known := ev.For("spec.ports[" + strconv.Itoa(i) + "]"); !known {
			continue
		}
		tokens := strings.Split(strings.ToLower(name), "-")
		hint := s.Mutation.PortProtocolHint
		if slices.Contains(tokens, "wss") {
			// A wss port carries TLS: "http" would make Istio and Linkerd
			// parse the encrypted bytes as HTTP. kubernetes.io/wss is HTTPS
			// (passthrough) to Istio and opaque to Linkerd.
			hint = "kubernetes.io/wss"
		}
		if lb.Provider == edge.Azure && (strings.EqualFold(hint, "http") || strings.EqualFold(hint, "https")) {
			// cloud-provider-azure takes a port's appProtocol as its health
			// probe protocol: http(s) turns the probe into a GET of "/",
			// which a WebSocket server may answer with an error, and the
			// load balancer then sends it nothing.
			e.warn(fmt.Sprintf("spec.ports[%d].appProtocol not added: on an Azure load balancer appProtocol %s makes the health probe "+
				"an HTTP GET of /, which a WebSocket server may fail; set appProtocol kubernetes.io/ws (a TCP probe) if a mesh needs a hint", i, hint))
			continue
		}
		e.addField(port, "spec.ports["+strconv.Itoa(i)+"].appProtocol", hint, "appProtocol")
	}
	if isLB {
		loadBalancerIdle(e, s, lb, ev)
	}

	clusterIP, _ := spec["clusterIP"].(string)
	typ, _ := spec["type"].(string)
	affinity, _ := spec["sessionAffinity"].(string)
	// research §7: the API server defaults sessionAffinity to None before
	// admission, so None is what "unset" looks like here. Ingress
	// controllers and meshes bypass kube-proxy, so ClientIP only matters to
	// clients of the Service itself: only where a port carries WebSocket.
	clientIP := s.serviceAffinity && clusterIP != "None" && typ != "ExternalName" && (affinity == "" || affinity == "None" && !userSetSessionAffinity(e.obj))
	if clientIP && isLB && !lb.AcceptsClientIP() {
		// The AWS cloud provider and OCI refuse to build a load balancer
		// for a ClientIP Service; an unknown provider may too, which is
		// worse than no affinity.
		why := lb.Name() + " refuses it and would never build the load balancer"
		switch {
		case lb.Provider == edge.Unknown:
			why = "the load balancer's provider is unknown (" + lb.Source + "), and the AWS cloud provider and OCI " +
				"refuse ClientIP and then never build the load balancer; set the policy's spec.edge.provider"
		case !lb.RefusesClientIP():
			why = lb.Name() + " is not known to accept it"
		}
		e.warn("sessionAffinity ClientIP not added to this LoadBalancer Service: " + why)
		clientIP = false
	}
	if clientIP {
		spec["sessionAffinity"] = "ClientIP"
		e.added = append(e.added, "spec.sessionAffinity")
		e.addField(spec, "spec.sessionAffinityConfig.clientIP.timeoutSeconds", s.clientIPTimeout, "sessionAffinityConfig", "clientIP", "timeoutSeconds")
	}

	a := s.Mutation.Affinity
	if s.affinity && ingressclass.AnyIs(s.classes, ingressclass.Traefik) { // research §2.1
		// sticky.cookie is a switch to Traefik: on for "true" in any case
		// or empty (paerser's allowEmpty section; docs/conformance.md).
		if v, set := e.annotation(traefikServicePrefix + "sticky.cookie"); !set || v == "" || strings.EqualFold(strings.TrimSpace(v), "true") {
			e.addAnnotation(traefikServicePrefix+"sticky.cookie", "true")
			e.addAnnotation(traefikServicePrefix+"sticky.cookie.name", a.CookieName)
			e.addAnnotation(traefikServicePrefix+"sticky.cookie.secure", "true")
			e.addAnnotation(traefikServicePrefix+"sticky.cookie.httponly", "true")
			e.addAnnotation(traefikServicePrefix+"sticky.cookie.samesite", strings.ToLower(a.SameSite))
		}
	}
	if s.affinity && ingressclass.AnyIs(s.classes, ingressclass.HAProxyTech) { // research §3.2
		// cookie-persistence and cookie-persistence-no-dynamic exclude each other.
		if !e.hasAnnotation(append(haproxyTechKeys("cookie-persistence"), haproxyTechKeys("cookie-persistence-no-dynamic")...)...) {
			e.addAnnotation("haproxy.org/cookie-persistence", a.CookieName)
		}
		e.addFirst(haproxyTechKeys("load-balance"), "leastconn")
	}
	if ingressclass.AnyIs(s.classes, ingressclass.Kong) { // research §6: milliseconds
		ms := strconv.FormatInt(s.idle*1000, 10)
		e.addAnnotation(kongPrefix+"read-timeout", ms)
		e.addAnnotation(kongPrefix+"write-timeout", ms)
	}
}

// lastAppliedAnnotation is where kubectl apply (client-side) keeps the
// configuration the user applied.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// userSetSessionAffinity reports whether the user wrote spec.sessionAffinity
// (defaults.md: an explicit None is kept): kubectl apply's
// last-applied-configuration holds it, or a server-side apply manager owns
// it. Managers of operation Update do not count: their field set is the
// difference from the stored object, defaults included, so every Service
// created by an Update owns the sessionAffinity the API server defaulted.
func userSetSessionAffinity(obj map[string]any) bool {
	md, _ := obj["metadata"].(map[string]any)
	annotations, _ := md["annotations"].(map[string]any)
	if last, ok := annotations[lastAppliedAnnotation].(string); ok {
		var applied struct {
			Spec map[string]json.RawMessage `json:"spec"`
		}
		if json.Unmarshal([]byte(last), &applied) == nil {
			if _, set := applied.Spec["sessionAffinity"]; set {
				return true
			}
		}
	}
	entries, _ := md["managedFields"].([]any)
	for _, entry := range entries {
		m, _ := entry.(map[string]any)
		if op, _ := m["operation"].(string); op != "Apply" {
			continue
		}
		if _, owned := nested(m, "fieldsV1", "f:spec", "f:sessionAffinity").(map[string]any); owned {
			return true
		}
	}
	return false
}

// loadBalancerIdle adds the idle timeout of the load balancer in front of
// a WebSocket Service of type LoadBalancer, one row per provider
// (defaults.md "Service of type LoadBalancer"; edge.Settings holds each
// provider's annotation, unit and range): the policy's idle timeout, raised
// to the provider's minimum and capped at its maximum (with a warning), on
// the listeners of WebSocket ports where the provider sets it per
// listener. Nothing for an unknown provider or one without the knob.
func loadBalancerIdle(e *editor, s settings, lb edge.LB, ev *evidence.Evidence) {
	for _, st := range edge.Settings(lb, e.obj) {
		if st.Port >= 0 {
			if _, ws := ev.For("spec.ports[" + strconv.Itoa(st.Port) + "]"); !ws {
				continue
			}
		}
		switch {
		case st.Key == "" && st.Default > 0 && st.Default < s.idle:
			e.warn(fmt.Sprintf("%s%s: the idle timeout cannot be set (%s); WebSockets idle for %d s are closed, "+
				"so clients should send pings more often", lb.Name(), listenerSuffix(st), st.Note, st.Default))
			continue
		case st.Key == "" || st.Skip != "":
			continue
		}
		value, used := st.Format(s.idle)
		if st.Attribute != "" {
			if e.hasAttribute(st.Key, st.Attribute) {
				continue
			}
			if current, set := e.annotation(st.Key); set {
				if _, err := edge.ParseStringMap(current); err != nil {
					continue // malformed: edge-idle-timeout-format says so
				}
			}
			_, v, _ := strings.Cut(value, "=")
			e.mergeAttributes(st.Key, [][2]string{{st.Attribute, v}})
		} else {
			if e.hasAnnotation(st.Key) {
				continue
			}
			e.addAnnotation(st.Key, value)
		}
		if used < s.idle {
			e.warn(fmt.Sprintf("idle timeout %d s is above the %s maximum (%s): %s=%s added instead, so WebSockets idle for longer than %d s are closed there",
				s.idle, lb.Name(), st.RangeText(), st.Key, value, used))
		}
	}
}

func listenerSuffix(st edge.Setting) string {
	if st.Listener == "" {
		return ""
	}
	return " listener " + st.Listener
}

func destinationRule(e *editor, _ settings) { // research §4.3
	spec, ok := e.obj["spec"].(map[string]any)
	if !ok {
		return
	}
	e.addField(spec, "spec.trafficPolicy.connectionPool.http.h2UpgradePolicy", "DO_NOT_UPGRADE",
		"trafficPolicy", "connectionPool", "http", "h2UpgradePolicy")
}

// httpProxy sets Contour's WebSocket switches on WebSocket routes only
// (evidence): other routes keep Envoy's response and idle timeouts.
func httpProxy(e *editor, s settings) { // research §6
	ev := evidenceOf(e, s)
	routes, _ := nested(e.obj, "spec", "routes").([]any)
	for i, r := range routes {
		route, ok := r.(map[string]any)
		if !ok {
			continue
		}
		if _, ws := ev.For("spec.routes[" + strconv.Itoa(i) + "]"); !ws {
			continue
		}
		at := "spec.routes[" + strconv.Itoa(i) + "]."
		e.addField(route, at+"enableWebsockets", true, "enableWebsockets")
		// A route the user marked as not WebSocket keeps Envoy's timeouts.
		if ws, _ := route["enableWebsockets"].(bool); ws {
			// The stream idle timeout (Contour's default 5 min) closes idle
			// WebSockets; response: older Envoy cut upgraded streams at the
			// 15 s route timeout.
			e.addField(route, at+"timeoutPolicy.idle", strconv.FormatInt(s.idle, 10)+"s", "timeoutPolicy", "idle")
			e.addField(route, at+"timeoutPolicy.response", "infinity", "timeoutPolicy", "response")
		}
	}
}

func backendConfig(e *editor, s settings) { // research §6: a lifetime cap, not idle
	spec, ok := e.obj["spec"].(map[string]any)
	if !ok {
		return
	}
	e.addField(spec, "spec.timeoutSec", s.idle, "timeoutSec")
}

// httpRoute sets timeouts.request on the WebSocket rules (evidence) of a
// route Envoy Gateway serves (gateway-api-websocket-facts.md §2, §3.1): with
// a request timeout, Envoy Gateway sets the route's idle timeout to
// max(1h, request) instead of leaving the listener's 5 min stream idle
// default, which closes idle WebSockets; on Envoy ≥ 1.36 the route timeout
// itself only bounds the wait for the 101 response. Nothing for the other
// implementations: Istio has neither a route nor a stream idle timeout by
// default, and NGINX Gateway Fabric, Traefik and GKE ignore timeouts or
// flag them (§3.2–3.4, §3.9). A route with several parents, one of them
// Envoy Gateway, still gets it: without it Envoy Gateway closes idle
// WebSockets after 5 min, while for Istio it becomes a route timeout that
// bounds only the handshake on current Envoy, and NGF merely reports
// timeouts as an unsupported field (the route stays accepted).
func httpRoute(e *editor, s settings) {
	ev := evidenceOf(e, s)
	if !ev.Gateway.HasController(evidence.ControllerEnvoyGateway) {
		return
	}
	rules, _ := nested(e.obj, "spec", "rules").([]any)
	for i, r := range rules {
		rule, ok := r.(map[string]any)
		if !ok {
			continue
		}
		at := "spec.rules[" + strconv.Itoa(i) + "]"
		if _, ws := ev.For(at); !ws {
			continue
		}
		timeouts, _ := rule["timeouts"].(map[string]any)
		if v, set := timeouts["request"]; set && v != nil {
			continue
		}
		value, ok := GatewayDuration(s.idle)
		if !ok {
			e.warn(fmt.Sprintf("%s.timeouts.request not added: the idle timeout (%d s) is too long for a Gateway API Duration (at most %dh)",
				at, s.idle, maxGatewayComponent))
			return
		}
		// The CRD refuses a backendRequest longer than a non-zero request
		// (CEL on HTTPRouteTimeouts), so adding request = idle below such a
		// backendRequest would get the whole route refused. We then add
		// nothing rather than a request timeout that is not the policy's
		// (every value comes from the policy; the user chose the long
		// backendRequest and is best placed to choose request too) and say
		// what to set.
		if br, set := timeouts["backendRequest"]; set && br != nil {
			d, valid := parseGatewayDuration(br)
			if !valid {
				e.warn(fmt.Sprintf("%s.timeouts.request not added: timeouts.backendRequest %v is not a Gateway API Duration", at, br))
				continue
			}
			if d > time.Duration(s.idle)*time.Second {
				e.warn(fmt.Sprintf("%s.timeouts.request not added: timeouts.backendRequest %q is longer than the idle timeout %q, "+
					"and the HTTPRoute CRD requires backendRequest <= request; set timeouts.request to at least %q "+
					"(Envoy Gateway then keeps idle WebSockets open for max(1h, request)), or set a BackendTrafficPolicy "+
					"spec.timeout.http.streamIdleTimeout for this route",
					at, br, value, br))
				continue
			}
		}
		e.addField(rule, at+".timeouts.request", value, "timeouts", "request")
	}
}

// backendTrafficPolicy sets Envoy Gateway's per-route stream idle timeout
// (v1.8+, §3.1), which wins over the route's synthesized idle timeout and
// the listener's. defaults.md adds it to a policy "targeting a ws route":
// a policy whose only WebSocket targets are Gateways (or ListenerSets)
// would change the stream idle timeout of every route behind them, ws or
// not, so it gets nothing, unless the user marked the policy itself
// ws-defaults.io/websocket: "true" (everything it applies to is WebSocket).
func backendTrafficPolicy(e *editor, s settings) {
	spec, ok := e.obj["spec"].(map[string]any)
	if !ok {
		return
	}
	ev := evidenceOf(e, s)
	explicit, _ := e.annotation(evidence.Annotation)
	if !wsRouteTarget(spec, ev) && !(ev.Any() && strings.EqualFold(strings.TrimSpace(explicit), "true")) {
		return
	}
	value, ok := GatewayDuration(s.idle)
	if !ok {
		e.warn(fmt.Sprintf("spec.timeout.http.streamIdleTimeout not added: the idle timeout (%d s) is too long for a Gateway API Duration (at most %dh)",
			s.idle, maxGatewayComponent))
		return
	}
	e.addField(spec, "spec.timeout.http.streamIdleTimeout", value, "timeout", "http", "streamIdleTimeout")
}

// wsRouteTarget reports whether some WebSocket evidence of a policy is not
// a targetRef of kind Gateway or ListenerSet: a route target, or another
// field the evidence names.
func wsRouteTarget(spec map[string]any, ev *evidence.Evidence) bool {
	kinds := map[string]string{}
	for _, t := range evidence.PolicyTargets(spec, "") {
		kinds[t.Field] = t.Kind
	}
	for _, it := range ev.Items {
		switch kinds[it.Field] {
		case "Gateway", "ListenerSet":
		default:
			return true
		}
	}
	return false
}

// proxySettingsPolicy sets NGINX Gateway Fabric's proxy_read_timeout and
// proxy_send_timeout (v2.6+, §3.3): without them nginx's 60 s default
// closes a WebSocket after a minute without data. Its targets are a ws
// route or the Gateway serving one (defaults.md); connect is not the idle
// timeout and is left alone.
func proxySettingsPolicy(e *editor, s settings) {
	spec, ok := e.obj["spec"].(map[string]any)
	if !ok || !evidenceOf(e, s).Any() {
		return
	}
	value, ok := NGFDuration(s.idle)
	if !ok {
		e.warn(fmt.Sprintf("spec.timeout.read and spec.timeout.send not added: the idle timeout (%d s) is too long for an NGINX Gateway Fabric Duration (at most %dh)",
			s.idle, maxNGFNumber))
		return
	}
	e.addField(spec, "spec.timeout.read", value, "timeout", "read")
	e.addField(spec, "spec.timeout.send", value, "timeout", "send")
}

// gcpBackendPolicy sets the GKE backend service timeout (§3.9), which caps
// the whole life of a WebSocket (default 30 s), for a policy whose target
// Service has a WebSocket port.
func gcpBackendPolicy(e *editor, s settings) {
	spec, ok := e.obj["spec"].(map[string]any)
	if !ok || !evidenceOf(e, s).Any() {
		return
	}
	if s.idle < 1 || s.idle > maxGCPTimeoutSec {
		return // unreachable: the idle timeout is 1 s up to an int32
	}
	e.addField(spec, "spec.default.timeoutSec", s.idle, "default", "timeoutSec")
}

// maxGCPTimeoutSec is the CRD's maximum of spec.default.timeoutSec.
const maxGCPTimeoutSec = 2147483647

// firstAnnotation is the value of the first of the equivalent keys that is
// set.
func (e *editor) firstAnnotation(keys []string) (string, bool) {
	for _, k := range keys {
		if v, ok := e.annotation(k); ok {
			return v, true
		}
	}
	return "", false
}

// addFirst sets keys[0] to value unless any of the equivalent keys is set.
func (e *editor) addFirst(keys []string, value string) {
	if !e.hasAnnotation(keys...) {
		e.addAnnotation(keys[0], value)
	}
}

// mergeAttributes adds each absent key=value to a comma-separated attribute
// annotation (AWS LBC style), keeping every attribute already listed. A
// group whose first key is already present is left to the user entirely.
func (e *editor) mergeAttributes(key string, attrs [][2]string) {
	current, set := e.annotation(key)
	if set && current == "" {
		set = false
	}
	present := map[string]bool{}
	for _, kv := range evidence.SplitList(current) {
		k, _, _ := strings.Cut(kv, "=")
		present[strings.TrimSpace(k)] = true
	}
	if present[attrs[0][0]] {
		return
	}
	value := strings.TrimSpace(current)
	var added []string
	for _, kv := range attrs {
		if !present[kv[0]] {
			value = strings.TrimPrefix(value+","+kv[0]+"="+kv[1], ",")
			added = append(added, kv[0])
		}
	}
	if !set {
		e.setAnnotation(key, value, key)
		return
	}
	e.setAnnotation(key, value, key+"["+added[0]+"]")
	for _, k := range added[1:] {
		e.added = append(e.added, key+"["+k+"]")
	}
}

// haproxyDuration writes seconds with the largest exact HAProxy unit: a bare
// number would be read as milliseconds.
func haproxyDuration(seconds int64) string {
	switch {
	case seconds%3600 == 0:
		return strconv.FormatInt(seconds/3600, 10) + "h"
	case seconds%60 == 0:
		return strconv.FormatInt(seconds/60, 10) + "m"
	default:
		return strconv.FormatInt(seconds, 10) + "s"
	}
}

// istioProtocols are the port-name prefixes Istio reads as a protocol
// (research §4.1); a port named with one already says what it carries.
var istioProtocols = []string{"http", "http2", "https", "tcp", "tls", "grpc", "grpc-web", "mongo", "mysql", "redis", "udp"}

func hasProtocolPrefix(name string) bool {
	n := strings.ToLower(name)
	prefix, _, _ := strings.Cut(n, "-")
	return slices.Contains(istioProtocols, prefix) || strings.HasPrefix(n, "grpc-web")
}

func nested(obj map[string]any, path ...string) any {
	v, _ := field(obj, path...)
	return v
}
