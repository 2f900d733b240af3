# METADATA
# title: Gateway API and its implementations
# description: >-
#   HTTPRoute and GRPCRoute settings, and the policies of Envoy Gateway,
#   NGINX Gateway Fabric and GKE, that are invalid, unsafe, ignored by the
#   implementation serving the route, or that break WebSockets
#   (gateway-api-websocket-facts.md §1-§5). The implementation comes from
#   input.gateway.controllers; WebSocket rules and targets from
#   input.evidence.fields (policies/README.md).
package wsdefaults.rules.gatewayapi

import data.wsdefaults.lib

# ---------------------------------------------------------------------------
# gwapi-cors-wildcard-credentials (research §1.6, §5.2): with `*` among the
# allowed origins and allowCredentials true, Gateway API requires the
# gateway to echo the request's Origin, so every site gets credentialed
# cross-origin access. The origin pattern also allows a wildcard host
# ("https://*"), which matches every host of that scheme.

# METADATA
# title: Gateway API violations
# description: >-
#   Everything this family reports, one lib.violation object per finding:
#   the webhook evaluates data.wsdefaults.rules[_].violation. The rules'
#   definitions follow, one section per catalog rule; their helpers come
#   after the last one.
# scope: document
# entrypoint: true
violation contains lib.violation("gwapi-cors-wildcard-credentials", field, msg) if {
	input.object.kind == "HTTPRoute"
	lib.group == "gateway.networking.k8s.io"
	some path, f in route_filters
	cors := f.filter.cors
	cors.allowCredentials == true
	wildcards := [o | some o in object.get(cors, "allowOrigins", []); wildcard_origin(o)]
	count(wildcards) > 0
	field := concat("", [path, ".cors"])
	msg := sprintf(
		concat(" ", [
			"%s.allowOrigins holds %s with allowCredentials: true: Gateway API then requires the gateway to",
			"echo back whatever Origin the browser sends, so every website can make credentialed (cookie-bearing)",
			"cross-origin requests to this route and read the answers (ingress2gateway produces exactly this pair",
			"from ingress-nginx's CORS defaults). List the exact origins in %s.allowOrigins",
			"(e.g. \"https://app.example.com\"), or set %s.allowCredentials to false. CORS does not protect",
			"WebSocket handshakes either way: the WebSocket server must check the Origin header itself.",
		]),
		[field, concat(", ", [json.marshal(o) | some o in wildcards]), field, field],
	)
}

# ---------------------------------------------------------------------------
# gwapi-duration-format (research §1.2, §3.1): Gateway API Durations
# (GEP-2257) on routes and in Envoy Gateway's policies, whose CRDs (Gateway
# API v1.6.3, Envoy Gateway v1.9.1) all use the pattern
# ^([0-9]{1,5}(h|m|s|ms)){1,4}$. The API server rejects anything else; the
# rule says so earlier (webhook check) and suggests the value meant.

violation contains lib.violation("gwapi-duration-format", path, msg) if {
	input.object.kind in {"HTTPRoute", "GRPCRoute", "BackendTrafficPolicy", "ClientTrafficPolicy"} # gwapi_durations, for the rule index
	some path, value in gwapi_durations
	not lib.is_gwapi_duration(value)
	msg := sprintf(
		concat(" ", [
			"%s is %s, which is not a Gateway API Duration: that is 1 to 4 parts of at most 5 digits, each with",
			"a unit h, m, s or ms (\"1h\", \"90m\", \"1h30m\", \"500ms\"; no bare numbers, fractions, days or",
			"spaces), so the API server rejects this %s and the WebSocket route or policy never takes effect.",
			"Set %s to %s.",
		]),
		[path, json.marshal(value), lib.kind, path, gwapi_fix_text(value)],
	)
}

# ---------------------------------------------------------------------------
# ngf-duration-format (research §3.3): NGINX Gateway Fabric's own Duration
# (apis/v1alpha1/shared_types.go, v2.6.7): ^[0-9]{1,4}(ms|s|m|h)?$, a bare
# number being seconds. The Gateway API spelling of a day, "86400s", and
# multi-part values like "1h30m" are rejected there.

violation contains lib.violation("ngf-duration-format", path, msg) if {
	input.object.kind in {"ProxySettingsPolicy", "ClientSettingsPolicy", "UpstreamSettingsPolicy"} # ngf_durations, for the rule index
	some path, value in ngf_durations
	not lib.is_ngf_duration(value)
	msg := sprintf(
		concat(" ", [
			"%s is %s, which is not an NGINX Gateway Fabric duration: NGF takes one number of at most 4 digits",
			"with an optional unit ms, s, m or h (a bare number is seconds), so \"86400s\", \"1h30m\" and \"1.5h\"",
			"are invalid and the API server rejects this %s: it never takes effect and nginx keeps its defaults",
			"(a 60 s read timeout, which closes idle WebSockets). Set %s to %s.",
		]),
		[path, json.marshal(value), lib.kind, path, ngf_fix_text(value)],
	)
}

# ---------------------------------------------------------------------------
# gwapi-ws-backend-h2c (research §1.3, §2, §3.1, §3.2): a WebSocket rule
# whose backend Service port says HTTP/2 only. Envoy Gateway and Istio then
# speak HTTP/2 to the backend, which cannot carry the HTTP/1.1 Upgrade
# (backends rarely implement RFC 8441). The port's appProtocol comes from
# input.gateway.backends (the pipeline resolved the Service).

violation contains lib.violation("gwapi-ws-backend-h2c", field, msg) if {
	input.object.kind == "HTTPRoute"
	lib.group == "gateway.networking.k8s.io"
	some i, rule in object.get(lib.spec, "rules", [])
	ev := lib.ws_evidence(sprintf("spec.rules[%d]", [i]))
	some j, _ in object.get(rule, "backendRefs", [])
	field := sprintf("spec.rules[%d].backendRefs[%d]", [i, j])
	backend := lib.gateway_backends[field]
	is_string(backend.appProtocol)
	lower(backend.appProtocol) in h2_app_protocols
	msg := sprintf(
		concat(" ", [
			"%s sends this WebSocket rule to Service %s port %s, whose appProtocol is %q: the gateway then",
			"speaks HTTP/2 to the backend, which cannot carry the HTTP/1.1 Upgrade handshake, so WebSocket",
			"connections fail. Set that Service port's appProtocol to \"kubernetes.io/ws\" (\"kubernetes.io/wss\"",
			"if it serves TLS), or send the WebSocket rule to a port that speaks HTTP/1.1.%s",
		]),
		[field, backend.service, backend.port, backend.appProtocol, lib.evidence_note(sprintf("spec.rules[%d]: %s", [i, ev]))],
	)
}

# ---------------------------------------------------------------------------
# gwapi-ws-hop-header-modifier (research §5.2): Connection and Upgrade are
# the hop-by-hop headers of the handshake. ingress2gateway turns
# ingress-nginx's connection-proxy-header into a RequestHeaderModifier that
# sets Connection. Rule filters and backendRef filters alike; header names
# are case-insensitive.

violation contains lib.violation("gwapi-ws-hop-header-modifier", field, msg) if {
	input.object.kind == "HTTPRoute"
	lib.group == "gateway.networking.k8s.io"
	some path, f in route_filters
	ev := lib.ws_evidence(sprintf("spec.rules[%d]", [f.rule]))
	modifier := f.filter.requestHeaderModifier
	some op in ["set", "add"]
	some k, header in object.get(modifier, op, [])
	is_string(header.name)
	lower(header.name) in hop_headers
	field := sprintf("%s.requestHeaderModifier.%s[%d]", [path, op, k])
	msg := hop_message(field, op, header.name, sprintf("spec.rules[%d]: %s", [f.rule, ev]))
}

violation contains lib.violation("gwapi-ws-hop-header-modifier", field, msg) if {
	input.object.kind == "HTTPRoute"
	lib.group == "gateway.networking.k8s.io"
	some path, f in route_filters
	ev := lib.ws_evidence(sprintf("spec.rules[%d]", [f.rule]))
	some k, name in object.get(f.filter, ["requestHeaderModifier", "remove"], [])
	is_string(name)
	lower(name) in hop_headers
	field := sprintf("%s.requestHeaderModifier.remove[%d]", [path, k])
	msg := hop_message(field, "remove", name, sprintf("spec.rules[%d]: %s", [f.rule, ev]))
}

# ---------------------------------------------------------------------------
# eg-ws-upgrade-disabled (research §3.1; Envoy Gateway v1.9
# internal/xds/translator/route.go buildUpgradeConfig): a non-empty
# spec.httpUpgrade replaces the default upgrade list (websocket), and
# spec.requestBuffer drops it. Upgrade types are case-insensitive in Envoy.
# Only policies with a WebSocket target (evidence: spec.targetRefs[N]).

violation contains lib.violation("eg-ws-upgrade-disabled", "spec.httpUpgrade", msg) if {
	input.object.kind == "BackendTrafficPolicy"
	lib.group == "gateway.envoyproxy.io"
	upgrades := lib.spec.httpUpgrade
	is_array(upgrades)
	count(upgrades) > 0
	not websocket_upgrade(upgrades)
	ev := lib.ws_object
	msg := sprintf(
		concat(" ", [
			"spec.httpUpgrade lists %s without websocket: the list replaces Envoy Gateway's default upgrade",
			"list (websocket), so Envoy answers WebSocket handshakes on the routes this policy targets with",
			"403. Add {\"type\": \"websocket\"} to spec.httpUpgrade.%s",
		]),
		[json.marshal([u.type | some u in upgrades]), lib.evidence_note(ev)],
	)
}

violation contains lib.violation("eg-ws-upgrade-disabled", "spec.requestBuffer", msg) if {
	input.object.kind == "BackendTrafficPolicy"
	lib.group == "gateway.envoyproxy.io"
	lib.spec.requestBuffer != null
	ev := lib.ws_object
	msg := sprintf(
		concat(" ", [
			"spec.requestBuffer is set: Envoy Gateway then drops its default websocket upgrade for the routes",
			"this policy targets (and the CRD forbids httpUpgrade beside it), so Envoy answers WebSocket",
			"handshakes with 403 (buffering waits for a request body that never ends). Remove spec.requestBuffer,",
			"or move the routes that need buffering to an HTTPRoute of their own with a separate",
			"BackendTrafficPolicy.%s",
		]),
		[lib.evidence_note(ev)],
	)
}

# ---------------------------------------------------------------------------
# eg-ws-stream-duration-finite (research §2, §3.1): maximum stream and
# connection durations end a WebSocket at that age, however active it is.
# "0s" (or any zero duration) sets no limit; malformed values are
# gwapi-duration-format's.

violation contains lib.violation("eg-ws-stream-duration-finite", path, msg) if {
	input.object.kind in {"BackendTrafficPolicy", "ClientTrafficPolicy"} # eg_max_durations, for the rule index
	some path, effect in eg_max_durations
	value := object.get(input.object, split(path, "."), null)
	lib.gwapi_duration_ms(value) > 0
	ev := lib.ws_object
	msg := sprintf(
		concat(" ", [
			"%s is %q: %s, so live WebSockets %s are cut every %s even when they carry traffic, and clients",
			"must reconnect. Remove %s (no limit)%s.%s",
		]),
		[path, value, effect, eg_served_by[lib.kind], value, path, eg_zero_note[path], lib.evidence_note(ev)],
	)
}

# ---------------------------------------------------------------------------
# gwapi-ws-timeouts-ignored (research §1.7, §3.3, §3.4, §3.9): NGINX Gateway
# Fabric, Traefik and GKE do not implement HTTPRoute timeouts; something
# else governs how long a WebSocket lives there. Timeouts the mutation
# injected (input.defaulted) are never reported.

violation contains lib.violation("gwapi-ws-timeouts-ignored", field, msg) if {
	input.object.kind == "HTTPRoute"
	lib.group == "gateway.networking.k8s.io"
	some i, rule in object.get(lib.spec, "rules", [])
	ev := lib.ws_evidence(sprintf("spec.rules[%d]", [i]))
	field := sprintf("spec.rules[%d].timeouts", [i])
	timeouts := rule.timeouts
	is_object(timeouts)
	user_set := [k | some k, _ in timeouts; not lib.defaulted(sprintf("%s.%s", [field, k]))]
	count(user_set) > 0
	some controller in lib.gateway_controllers
	governs := timeouts_governed_by(controller)
	msg := sprintf(
		"%s is set, but %s. Remove %s; %s.%s",
		[field, governs.why, field, governs.fix, lib.evidence_note(sprintf("spec.rules[%d]: %s", [i, ev]))],
	)
}

# ---------------------------------------------------------------------------
# gwapi-legacy-api-group (research §1.1): networking.x-k8s.io is the alpha
# group Gateway API left long ago (not gateway.networking.x-k8s.io, the
# current experimental group of XBackendTrafficPolicy and friends, which the
# literal "networking.x-k8s.io/" prefix does not match).

violation contains lib.violation("gwapi-legacy-api-group", "apiVersion", msg) if {
	startswith(input.object.apiVersion, "networking.x-k8s.io/") # lib.group == "networking.x-k8s.io", for the rule index
	msg := sprintf(
		concat(" ", [
			"apiVersion %s is the alpha Gateway API group, long removed: current Gateway API implementations",
			"do not watch it, so this %s and the routing and WebSocket settings in it are silently ignored.",
			"Move it to apiVersion gateway.networking.k8s.io/v1 (GatewayClass, Gateway, HTTPRoute, GRPCRoute,",
			"TLSRoute, ...) and adapt the fields that changed since.",
		]),
		[lib.obj.apiVersion, lib.kind],
	)
}

# ---------------------------------------------------------------------------
# gwapi-session-persistence-ignored (research §1.1, §3.2-§3.4, §3.9):
# rules[].sessionPersistence (experimental channel) on an implementation
# that drops it. NGINX Gateway Fabric v2.6.7 forbids it unless it runs NGINX
# Plus with Gateway API experimental features enabled, and then ignores it
# (internal/controller/state/graph/httproute.go, route_common.go spErrMsg).
# Not covered yet: standard-channel CRDs only, which prune the field (the
# input has no fact about the installed channel).

violation contains lib.violation("gwapi-session-persistence-ignored", field, msg) if {
	input.object.kind == "HTTPRoute"
	lib.group == "gateway.networking.k8s.io"
	some [field, msg] in session_persistence_findings
}

violation contains lib.violation("gwapi-session-persistence-ignored", field, msg) if {
	input.object.kind == "GRPCRoute"
	lib.group == "gateway.networking.k8s.io"
	some [field, msg] in session_persistence_findings
}

# ===========================================================================
# Helpers, by rule, in the order of the sections above.

# --- routes (several rules) ---

# The filters of an HTTPRoute by field path, rule filters and backendRef
# filters alike, with the index of their rule.
route_filters[path] := {"rule": i, "filter": filter} if {
	some i, rule in object.get(lib.spec, "rules", [])
	some j, filter in object.get(rule, "filters", [])
	is_object(filter)
	path := sprintf("spec.rules[%d].filters[%d]", [i, j])
}

route_filters[path] := {"rule": i, "filter": filter} if {
	some i, rule in object.get(lib.spec, "rules", [])
	some k, ref in object.get(rule, "backendRefs", [])
	some j, filter in object.get(ref, "filters", [])
	is_object(filter)
	path := sprintf("spec.rules[%d].backendRefs[%d].filters[%d]", [i, k, j])
}

# --- gwapi-cors-wildcard-credentials ---

# "*", or a scheme with a wildcard host ("https://*", "http://*:8080").
wildcard_origin("*")

wildcard_origin(o) if {
	is_string(o)
	regex.match(`^https?://\*(:[0-9]{1,5})?$`, o)
}

# --- gwapi-duration-format ---

# Gateway API Durations of an HTTPRoute or GRPCRoute rule (Gateway API
# v1.6.3 experimental CRDs; sessionPersistence.idleTimeout was removed in
# v1.6 but v1.5 CRDs still store it).
route_duration_fields := {
	"HTTPRoute": [
		["timeouts", "request"], ["timeouts", "backendRequest"], ["retry", "backoff"],
		["sessionPersistence", "absoluteTimeout"], ["sessionPersistence", "idleTimeout"],
	],
	"GRPCRoute": [["sessionPersistence", "absoluteTimeout"], ["sessionPersistence", "idleTimeout"]],
}

# Every Duration field of the Envoy Gateway v1.9.1 CRDs (those with the
# Gateway API pattern; none sits under a list).
btp_duration_fields := [
	"admissionControl.samplingWindow",
	"dns.dnsRefreshRate",
	"faultInjection.delay.fixedDelay",
	"healthCheck.active.initialJitter",
	"healthCheck.active.interval",
	"healthCheck.active.timeout",
	"healthCheck.passive.baseEjectionTime",
	"healthCheck.passive.interval",
	"http2.connectionKeepalive.idleInterval",
	"http2.connectionKeepalive.interval",
	"http2.connectionKeepalive.timeout",
	"loadBalancer.backendUtilization.blackoutPeriod",
	"loadBalancer.backendUtilization.outOfBand.reportingPeriod",
	"loadBalancer.backendUtilization.weightExpirationPeriod",
	"loadBalancer.backendUtilization.weightUpdatePeriod",
	"loadBalancer.consistentHash.cookie.ttl",
	"loadBalancer.slowStart.window",
	"retry.perRetry.backOff.baseInterval",
	"retry.perRetry.backOff.maxInterval",
	"retry.perRetry.timeout",
	"tcpKeepalive.idleTime",
	"tcpKeepalive.interval",
	"timeout.http.connectionIdleTimeout",
	"timeout.http.maxConnectionDuration",
	"timeout.http.maxStreamDuration",
	"timeout.http.requestTimeout",
	"timeout.http.streamIdleTimeout",
	"timeout.tcp.connectTimeout",
]

ctp_duration_fields := [
	"connection.connectionLimit.closeDelay",
	"connection.connectionLimit.maxConnectionDuration",
	"connection.connectionLimit.maxStreamDuration",
	"http2.connectionKeepalive.idleInterval",
	"http2.connectionKeepalive.interval",
	"http2.connectionKeepalive.timeout",
	"tcpKeepalive.idleTime",
	"tcpKeepalive.interval",
	"timeout.http.idleTimeout",
	"timeout.http.requestHeadersReceivedTimeout",
	"timeout.http.requestReceivedTimeout",
	"timeout.http.streamIdleTimeout",
	"timeout.tcp.connectionInspectionTimeout",
	"timeout.tcp.idleTimeout",
	"timeout.tcp.tlsHandshakeTimeout",
]

# The Gateway API Durations the object sets, by field path.
gwapi_durations[path] := value if {
	input.object.kind == "HTTPRoute"
	lib.group == "gateway.networking.k8s.io"
	some path, value in route_durations
}

gwapi_durations[path] := value if {
	input.object.kind == "GRPCRoute"
	lib.group == "gateway.networking.k8s.io"
	some path, value in route_durations
}

gwapi_durations[path] := value if {
	input.object.kind == "BackendTrafficPolicy"
	lib.group == "gateway.envoyproxy.io"
	some path, value in spec_values(btp_duration_fields)
}

gwapi_durations[path] := value if {
	input.object.kind == "ClientTrafficPolicy"
	lib.group == "gateway.envoyproxy.io"
	some path, value in spec_values(ctp_duration_fields)
}

route_durations[path] := value if {
	some i, rule in object.get(lib.spec, "rules", [])
	some sub in route_duration_fields[lib.kind]
	value := object.get(rule, sub, null)
	value != null
	path := sprintf("spec.rules[%d].%s", [i, concat(".", sub)])
}

# The values set at the given dotted paths under spec, by "spec.<path>".
spec_values(fields) := {path: value |
	some f in fields
	value := object.get(lib.spec, split(f, "."), null)
	value != null
	path := concat(".", ["spec", f])
}

# The value most likely meant, in milliseconds: a number or bare integer is
# seconds ("3600"), a Go duration ("1.5s", "10h0m0s", too many parts or
# digits for Gateway API) its length, "<n>d" days. Undefined when unclear.
intended_ms(v) := v * 1000 if {
	is_number(v)
	v >= 0
	v == floor(v)
} else := to_number(trim_space(v)) * 1000 if {
	is_string(v)
	regex.match(`^\s*[0-9]{1,9}\s*$`, v)
} else := ns / 1000000 if {
	is_string(v)
	ns := go_duration_ns(trim_space(v))
	ns >= 0
	ns % 1000000 == 0
} else := to_number(d[1]) * 86400000 if {
	is_string(v)
	d := regex.find_all_string_submatch_n(`^\s*([0-9]{1,4})d\s*$`, v, 1)[0]
}

# Nanoseconds of a Go duration; undefined, never an error, for anything
# else (the digit bounds per unit keep time.parse_duration_ns below its
# overflow at about 292 years, even with 6 parts).
go_duration_pattern := concat("", [
	`^([0-9]{1,5}(\.[0-9]{1,9})?h|[0-9]{1,6}(\.[0-9]{1,9})?m|[0-9]{1,7}(\.[0-9]{1,9})?s`,
	`|[0-9]{1,10}(\.[0-9]{1,9})?ms|[0-9]{1,12}(\.[0-9]{1,9})?(ns|us|µs|μs)){1,6}$`,
])

go_duration_ns(v) := time.parse_duration_ns(v) if {
	regex.match(go_duration_pattern, v)
}

# Milliseconds as a Gateway API Duration ("1h", "1s500ms", "250ms").
gwapi_duration_of_ms(ms) := lib.gwapi_duration_of(ms / 1000) if {
	ms % 1000 == 0
} else := sprintf("%dms", [ms]) if {
	ms < 1000
} else := sprintf("%s%dms", [lib.gwapi_duration_of(floor(ms / 1000)), ms % 1000])

# The replacement to suggest, quoted, or a description when unclear.
gwapi_fix_text(v) := json.marshal(gwapi_duration_of_ms(intended_ms(v))) if {
	intended_ms(v)
} else := sprintf("a Duration such as %q", [lib.gwapi_duration_of(input.parameters.minIdleTimeoutSeconds)])

# --- ngf-duration-format ---

ngf_duration_fields := {
	"ProxySettingsPolicy": ["timeout.connect", "timeout.read", "timeout.send"],
	"ClientSettingsPolicy": [
		"body.timeout", "keepAlive.time", "keepAlive.timeout.server", "keepAlive.timeout.header",
		"keepAlive.minTimeout",
	],
	"UpstreamSettingsPolicy": ["keepAlive.time", "keepAlive.timeout"],
}

# The NGINX Gateway Fabric Durations the object sets, by field path.
ngf_durations[path] := value if {
	input.object.kind == "ProxySettingsPolicy"
	lib.group == "gateway.nginx.org"
	some path, value in spec_values(ngf_duration_fields[lib.kind])
}

ngf_durations[path] := value if {
	input.object.kind == "ClientSettingsPolicy"
	lib.group == "gateway.nginx.org"
	some path, value in spec_values(ngf_duration_fields[lib.kind])
}

ngf_durations[path] := value if {
	input.object.kind == "UpstreamSettingsPolicy"
	lib.group == "gateway.nginx.org"
	some path, value in spec_values(ngf_duration_fields[lib.kind])
}

# Milliseconds as an NGINX Gateway Fabric Duration, never below ms.
ngf_duration_of_ms(ms) := lib.ngf_duration_of(ms / 1000) if {
	ms % 1000 == 0
} else := sprintf("%dms", [ms]) if {
	ms <= 9999
} else := lib.ngf_duration_of(ceil(ms / 1000))

ngf_fix_text(v) := json.marshal(ngf_duration_of_ms(intended_ms(v))) if {
	intended_ms(v)
} else := sprintf("a duration such as %q", [lib.ngf_duration_of(input.parameters.minIdleTimeoutSeconds)])

# --- gwapi-ws-backend-h2c ---

# The appProtocol values rules.md names as HTTP/2-only.
h2_app_protocols := {"kubernetes.io/h2c", "http2", "grpc"}

# --- gwapi-ws-hop-header-modifier ---

hop_headers := {"connection", "upgrade"}

hop_verb := {"set": "overwrites", "add": "adds to", "remove": "removes"}

hop_message(field, op, name, ev) := sprintf(
	concat(" ", [
		"%s %s the %s request header on a WebSocket rule: Connection and Upgrade are the hop-by-hop headers",
		"that carry the WebSocket handshake (\"Connection: Upgrade\", \"Upgrade: websocket\"), so changing them",
		"keeps the upgrade from reaching the backend (ingress2gateway turns ingress-nginx's",
		"connection-proxy-header into exactly this). Remove %s from the filter; the gateway forwards the",
		"handshake headers itself.%s",
	]),
	[field, hop_verb[op], name, field, lib.evidence_note(ev)],
)

# --- eg-ws-upgrade-disabled ---

websocket_upgrade(upgrades) if {
	some u in upgrades
	is_string(u.type)
	lower(u.type) == "websocket"
}

# --- eg-ws-stream-duration-finite ---

# The finite-duration fields by object kind, with what they do.
eg_max_durations[path] := effect if {
	input.object.kind == "BackendTrafficPolicy"
	lib.group == "gateway.envoyproxy.io"
	some path, effect in btp_max_durations
}

eg_max_durations[path] := effect if {
	input.object.kind == "ClientTrafficPolicy"
	lib.group == "gateway.envoyproxy.io"
	some path, effect in ctp_max_durations
}

btp_max_durations := {"spec.timeout.http.maxStreamDuration": concat(" ", [
	"Envoy resets every stream that reaches this age,",
	"and a WebSocket is one long stream",
])}

ctp_max_durations := {
	"spec.connection.connectionLimit.maxStreamDuration": concat(" ", [
		"Envoy resets every client stream that reaches this age,",
		"and a WebSocket is one long stream",
	]),
	"spec.connection.connectionLimit.maxConnectionDuration": concat(" ", [
		"Envoy drains and closes every client connection at this age,",
		"with the WebSocket it carries",
	]),
}

eg_served_by := {
	"BackendTrafficPolicy": "on the routes this policy targets",
	"ClientTrafficPolicy": "on the listeners this policy targets",
}

eg_zero_note := {
	"spec.timeout.http.maxStreamDuration": " or set it to \"0s\"",
	"spec.connection.connectionLimit.maxStreamDuration": "",
	"spec.connection.connectionLimit.maxConnectionDuration": "",
}

# --- gwapi-ws-timeouts-ignored ---

# Why timeouts do nothing on the implementation with controllerName c, and
# what to do instead.
timeouts_governed_by(c) := {
	"why": concat(" ", [
		"NGINX Gateway Fabric does not implement HTTPRoute timeouts (it accepts the route with reason",
		"UnsupportedField and ignores them): what closes an idle WebSocket there is nginx's proxy_read_timeout /",
		"proxy_send_timeout (default 60 s), set by a ProxySettingsPolicy's spec.timeout.read and spec.timeout.send",
	]),
	"fix": sprintf(
		"attach a ProxySettingsPolicy (gateway.nginx.org/v1alpha1) to this HTTPRoute with spec.timeout.read and spec.timeout.send set to %q",
		[lib.ngf_duration_of(input.parameters.minIdleTimeoutSeconds)],
	),
} if {
	c == lib.controller_ngf
}

timeouts_governed_by(c) := {
	"why": concat(" ", [
		"Traefik accepts HTTPRoute timeouts and ignores them: its timeouts are the static entry point's",
		"transport.respondingTimeouts and the serversTransport.forwardingTimeouts, set for the whole proxy",
	]),
	"fix": "configure those in Traefik's static configuration (Helm values) instead, and keep the WebSocket alive with ping/pong frames",
} if {
	c == lib.controller_traefik
}

timeouts_governed_by(c) := {
	"why": concat(" ", [
		"GKE's Gateway does not implement HTTPRoute timeouts: a WebSocket there lives at most the backend",
		"service timeout, GCPBackendPolicy spec.default.timeoutSec (default 30 s), active or not",
	]),
	"fix": sprintf(
		"attach a GCPBackendPolicy (networking.gke.io/v1) to the backend Service with spec.default.timeoutSec: %d",
		[input.parameters.minIdleTimeoutSeconds],
	),
} if {
	c == lib.controller_gke
}

# --- gwapi-session-persistence-ignored ---

# [field, message] for each rule with sessionPersistence, per implementation
# serving the route that drops it.
session_persistence_findings contains [field, msg] if {
	some i, rule in object.get(lib.spec, "rules", [])
	rule.sessionPersistence != null
	field := sprintf("spec.rules[%d].sessionPersistence", [i])
	some controller in lib.gateway_controllers
	instead := session_persistence_instead[controller]
	msg := sprintf(
		concat(" ", [
			"%s is set, but %s, so clients are not pinned to one backend and a reconnecting WebSocket client",
			"may land on another pod. Remove %s; %s.",
		]),
		[field, instead.why, field, instead.fix],
	)
}

session_persistence_instead[lib.controller_istio] := {
	"why": "Istio's Gateway API implementation does not read sessionPersistence on routes (it ignores it silently)",
	"fix": concat(" ", [
		"configure affinity with a DestinationRule for the backend Service,",
		"trafficPolicy.loadBalancer.consistentHash.httpCookie with a name and a ttl",
	]),
}

session_persistence_instead[lib.controller_traefik] := {
	"why": "Traefik's Gateway API provider does not support sessionPersistence (it ignores it)",
	"fix": concat(" ", [
		"Traefik offers no sticky sessions through Gateway API: if the backend needs affinity, route it with a",
		"Traefik IngressRoute whose service sets sticky.cookie",
	]),
}

session_persistence_instead[lib.controller_ngf] := {
	"why": concat(" ", [
		"NGINX Gateway Fabric honours it only with NGINX Plus and with Gateway API experimental features",
		"enabled (--gateway-api-experimental-features, Helm nginxGateway.gwAPIExperimentalFeatures.enable);",
		"without its experimental flag (or on NGINX OSS) it marks the field unsupported and ignores it",
	]),
	"fix": concat(" ", [
		"enable both, or on NGINX OSS set loadBalancingMethod: ip_hash in an UpstreamSettingsPolicy",
		"(gateway.nginx.org/v1alpha1) that targets the backend Service",
	]),
}

session_persistence_instead[lib.controller_gke] := {
	"why": "GKE's Gateway does not implement sessionPersistence on routes",
	"fix": concat(" ", [
		"configure affinity in a GCPBackendPolicy (networking.gke.io/v1) that targets the backend Service,",
		"spec.default.sessionAffinity.type: GENERATED_COOKIE with cookieTtlSec",
	]),
}
