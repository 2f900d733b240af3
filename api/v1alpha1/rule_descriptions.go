package v1alpha1

// RuleDescription says in one line what a built-in rule catches and how to
// fix it: SARIF's rule shortDescription and help (webhook check -o sarif).
// The rule's own message, written for the object at hand, says more.
type RuleDescription struct {
	// Summary is what the rule catches, one sentence.
	Summary string
	// Fix is what to change.
	Fix string
}

// RuleDescriptions describes every rule in BuiltinRules (a test keeps the
// two in step).
var RuleDescriptions = map[string]RuleDescription{
	"nginx-snippet-annotation": {
		"An ingress-nginx *-snippet annotation injects raw nginx configuration that the controller does not validate (CVE-2021-25742, CVE-2023-5043).",
		"Remove the annotation; use the dedicated annotations or a ConfigMap setting owned by the cluster admins."},
	"haproxy-config-snippet": {
		"A HAProxy controller config-snippet annotation is copied into haproxy.cfg without validation.",
		"Remove the annotation; use the dedicated keys."},
	"traefik-insecure-skip-verify": {
		"A Traefik ServersTransport with insecureSkipVerify: true accepts any backend certificate.",
		"Remove insecureSkipVerify; set rootCAs or serverName."},
	"cors-wildcard-credentials": {
		"CORS allows every origin (unset or *) while sending credentials.",
		`List the allowed origins, or set credentials to "false".`},
	"ingress-class-mismatch": {
		"The kubernetes.io/ingress.class annotation names another class than spec.ingressClassName.",
		"Remove the annotation."},
	"istio-lb-policy-conflict": {
		"A DestinationRule load balancer sets both simple and consistentHash.",
		"Keep one of them."},
	"istio-zero-timeout": {
		"A VirtualService http route timeout is zero, under 1ms or not whole milliseconds, which Istio rejects.",
		"Omit the timeout (no timeout is the default)."},
	"istio-h2-upgrade-client-protocol": {
		"A DestinationRule sets h2UpgradePolicy: UPGRADE with useClientProtocol: true, which Istio rejects.",
		"Drop one of them."},
	"service-affinity-timeout-range": {
		"A Service's sessionAffinityConfig.clientIP.timeoutSeconds is outside 1 to 86400.",
		"A value from 1 to 86400."},
	"alb-ssl-redirect-format": {
		"alb.ingress.kubernetes.io/ssl-redirect is not a port number.",
		`A port, e.g. "443".`},
	"nginx-timeout-format": {
		"An ingress-nginx proxy-read/send/connect-timeout is not a positive whole number of seconds (\"3600s\" silently becomes 60 s).",
		`Whole seconds without a unit, e.g. "3600".`},
	"nginx-connect-timeout-range": {
		"An ingress-nginx proxy-connect-timeout above 75 s: it is not the WebSocket idle timeout.",
		"Leave it unset or at most 75; raise proxy-read/send-timeout instead."},
	"websocket-idle-timeout-too-low": {
		"An idle or lifetime timeout on a WebSocket object or route is below the policy's minimum.",
		"Raise it to the minimum, or remove it and let the webhook set it."},
	"nginx-upgrade-blocked": {
		"An ingress-nginx setting on a WebSocket Ingress keeps the Upgrade from reaching the backend.",
		"Remove the annotation."},
	"tls-required": {
		"A WebSocket Ingress serves hosts that are not in spec.tls.",
		"Add the hosts to spec.tls."},
	"ssl-redirect-disabled": {
		`ssl-redirect: "false" on an Ingress with spec.tls lets clients use plaintext ws:// and cookies.`,
		"Remove it; clients use wss://."},
	"affinity-hash-conflict": {
		"ingress-nginx affinity: cookie together with upstream-hash-by: the hash is ignored.",
		"Keep one of them."},
	"cookie-samesite-none-insecure": {
		"A SameSite=None cookie that is not Secure: browsers drop it.",
		"Set the cookie Secure, or SameSite Lax."},
	"sticky-cookie-insecure": {
		"A sticky cookie on a TLS host is not Secure.",
		"Mark the cookie secure."},
	"traefik-annotation-type": {
		"A Traefik annotation does not parse as its type, so Traefik skips the Ingress or the routes to the Service.",
		`An integer, or "true" or "false", as the annotation wants.`},
	"traefik-legacy-api-group": {
		"An object of traefik.containo.us, which Traefik v3 removed.",
		"apiVersion: traefik.io/v1alpha1."},
	"haproxy-timeout-format": {
		"A HAProxy timeout annotation that the controller misreads or ignores.",
		`Add the unit, e.g. "1h" (at most 24d); move haproxytech's ConfigMap-only keys to its ConfigMap.`},
	"haproxy-cookie-conflict": {
		"haproxytech cookie-persistence together with cookie-persistence-no-dynamic.",
		"Keep one of them."},
	"istio-h2-upgrade": {
		"A DestinationRule upgrades a WebSocket host to HTTP/2, which breaks the upgrade through sidecars.",
		"h2UpgradePolicy: DO_NOT_UPGRADE."},
	"istio-route-timeout": {
		"A finite VirtualService route timeout on a WebSocket route cuts live connections.",
		"Omit the timeout."},
	"istio-cookie-hash-ttl": {
		"A DestinationRule consistentHash.httpCookie without ttl: no cookie is ever generated.",
		"Set a ttl (0s for a session cookie)."},
	"http2-only-port": {
		"A Service port with WebSocket evidence is forced to HTTP/2 by its name or appProtocol.",
		"Name it http-… or set appProtocol: http."},
	"linkerd-http2-protocol": {
		"A Linkerd Server declares HTTP/2 or gRPC on a WebSocket port.",
		"proxyProtocol: HTTP/1 or unknown."},
	"linkerd-server-authorization-deprecated": {
		"A Linkerd ServerAuthorization, which Linkerd deprecated.",
		"Use an AuthorizationPolicy."},
	"foreign-controller-annotation": {
		"An annotation that the object's controller ignores.",
		"Remove it or use the controller's own key and unit."},
	"alb-idle-timeout-range": {
		"An ALB idle_timeout.timeout_seconds outside 1 to 4000.",
		"A value from 1 to 4000."},
	"alb-group-attributes-conflict": {
		"ALB IngressGroup members set a load balancer attribute differently, so the controller reconciles none of the group.",
		"The same value on every member, or set it on one member only."},
	"istio-websocket-upgrade-removed": {
		"VirtualService websocketUpgrade, removed in Istio 1.5, does nothing.",
		"Remove the field."},
	"nginx-rewrite-ws-path": {
		"An ingress-nginx rewrite-target on a WebSocket path sends the handshake to another path.",
		"Remove the rewrite or keep the WebSocket path."},
	"gke-ws-backend-timeout": {
		"A GKE Ingress WebSocket route to a Service without a BackendConfig: the 30 s backend timeout ends every WebSocket.",
		"Attach a BackendConfig with timeoutSec through cloud.google.com/backend-config."},
	"gwapi-cors-wildcard-credentials": {
		"An HTTPRoute CORS filter allows every origin with allowCredentials: true.",
		"List the allowed origins, or drop allowCredentials."},
	"gwapi-duration-format": {
		"A Gateway API duration that is not in the Gateway API Duration format.",
		"E.g. 1h, 90m, 1h30m."},
	"ngf-duration-format": {
		"An NGINX Gateway Fabric policy duration that NGINX Gateway Fabric does not accept.",
		"One unit and at most 4 digits, e.g. 24h or 90m."},
	"gwapi-ws-backend-h2c": {
		"A WebSocket rule's backend port is HTTP/2-only, but the upgrade needs HTTP/1.1.",
		"appProtocol: kubernetes.io/ws (or http)."},
	"gwapi-ws-hop-header-modifier": {
		"A header filter on a WebSocket rule sets, adds or removes Connection or Upgrade.",
		"Remove those headers from the filter."},
	"eg-ws-upgrade-disabled": {
		"An Envoy Gateway BackendTrafficPolicy on a WebSocket route disables the upgrade (Envoy answers 403).",
		"Add {type: websocket} to httpUpgrade, or remove requestBuffer."},
	"eg-ws-stream-duration-finite": {
		"A finite Envoy Gateway stream or connection duration cuts live WebSockets at that age.",
		"Remove it or set 0s."},
	"gwapi-ws-timeouts-ignored": {
		"timeouts on a WebSocket rule served by an implementation that ignores them.",
		"Use the setting the message names for that implementation."},
	"gwapi-legacy-api-group": {
		"An object of networking.x-k8s.io, the long-removed alpha Gateway API group.",
		"gateway.networking.k8s.io/v1."},
	"gwapi-session-persistence-ignored": {
		"sessionPersistence on a route served by an implementation that ignores it.",
		"Use the implementation's own session affinity."},
	"edge-affinity-unsupported": {
		"sessionAffinity: ClientIP on a LoadBalancer Service whose provider (the AWS cloud provider, OCI) refuses it and never builds the load balancer.",
		"Remove sessionAffinity (use cookie affinity at the ingress controller), or use the AWS Load Balancer Controller."},
	"edge-idle-timeout-format": {
		"A cloud load balancer idle-timeout annotation in the wrong unit, format or range for its provider: the load balancer keeps its default or fails to sync.",
		"Write the value in the provider's unit and range (docs/edge.md)."},
	"edge-idle-timeout-ignored": {
		"The Classic ELB idle-timeout annotation on an NLB, which ignores it.",
		"Use aws-load-balancer-listener-attributes.TCP-<port>: tcp.idle_timeout.seconds=N (AWS Load Balancer Controller)."},
	"edge-idle-timeout-too-low": {
		"A WebSocket LoadBalancer Service whose load balancer idle timeout, set or the provider's default, is below the policy minimum.",
		"Set the annotation the message names, in the provider's unit."},
	"nginx-upstream-hash-literal": {
		"An ingress-nginx upstream-hash-by without a $ variable hashes fixed text: every connection goes to one replica.",
		`Use a variable, e.g. "$remote_addr".`},
	"nginx-path-type-regex": {
		"A regex path under pathType Prefix or Exact: ingress-nginx 1.12 and later refuse the whole Ingress.",
		`Use pathType: ImplementationSpecific with use-regex: "true", or a plain path.`},
	"ingress-api-removed": {
		"An Ingress in extensions/v1beta1 or networking.k8s.io/v1beta1, which no current API server serves.",
		"Use networking.k8s.io/v1 and its field names."},
	"kong-ingress-proxy-ignored": {
		"KongIngress proxy or route sections, ignored since Kong Ingress Controller 3.0.",
		"Set konghq.com/read-timeout, konghq.com/write-timeout, … on the Service."},
	"websocket-evidence-missing": {
		"An opted-in Ingress none of whose routes shows WebSocket evidence.",
		`Annotate it ws-defaults.io/websocket: "true" (or "false").`},
}
