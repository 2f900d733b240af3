package wsdefaults.rules.gatewayapi_test

import data.wsdefaults.input_test
import data.wsdefaults.lib
import data.wsdefaults.rules.gatewayapi

# --- input documents ---------------------------------------------------------

ngf := "gateway.nginx.org/nginx-gateway-controller"

eg := "gateway.envoyproxy.io/gatewayclass-controller"

istio := "istio.io/gateway-controller"

traefik := "traefik.io/gateway-controller"

gke := "networking.gke.io/gateway"

# A full input document for obj, as the engine builds it (policies/README.md),
# with WebSocket evidence on the given fields and the given Gateway API facts.
doc(obj, fields, gateway) := input_test.complete({
	"operation": "CREATE",
	"object": obj,
	"oldObject": null,
	"namespace": {"name": "chat", "labels": {"ws-defaults": "enabled"}, "annotations": {}},
	"controller": "",
	"optedIn": true,
	"defaulted": [],
	"evidence": {"fields": fields, "negative": "", "off": false},
	"gateway": object.union({"controllers": [], "backends": {}, "policies": []}, gateway),
	"parameters": {"nginxAnnotationPrefix": "nginx.ingress.kubernetes.io", "minIdleTimeoutSeconds": 3600},
})

# No evidence, no Gateway API facts.
bare(obj) := doc(obj, {}, {})

# The first rule of a route carries WebSocket; the route is served by the
# given implementations.
ws_route_doc(obj, controllers) := doc(obj, {"spec.rules[0]": "path segment ws"}, {"controllers": controllers})

# A policy whose first target is a WebSocket route.
ws_policy_doc(obj) := doc(obj, {"spec.targetRefs[0]": "HTTPRoute chat/chat has WebSocket rules"}, {})

with_defaulted(d, keys) := object.union(d, {"defaulted": keys})

# An HTTPRoute with the given rules.
route(rules) := {
	"apiVersion": "gateway.networking.k8s.io/v1",
	"kind": "HTTPRoute",
	"metadata": {"name": "chat", "namespace": "chat"},
	"spec": {"parentRefs": [{"name": "gw"}], "rules": rules},
}

grpc_route(rules) := {
	"apiVersion": "gateway.networking.k8s.io/v1",
	"kind": "GRPCRoute",
	"metadata": {"name": "chat", "namespace": "chat"},
	"spec": {"rules": rules},
}

backend := {"name": "api", "port": 8080}

# A route rule with extra fields.
rule(extra) := object.union({"matches": [{"path": {"type": "PathPrefix", "value": "/ws"}}], "backendRefs": [backend]}, extra)

# An implementation policy of kind in group with spec.
policy(api_version, kind, spec) := {
	"apiVersion": api_version,
	"kind": kind,
	"metadata": {"name": "ws", "namespace": "chat"},
	"spec": object.union({"targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "chat"}]}, spec),
}

btp(spec) := policy("gateway.envoyproxy.io/v1alpha1", "BackendTrafficPolicy", spec)

ctp(spec) := policy("gateway.envoyproxy.io/v1alpha1", "ClientTrafficPolicy", spec)

psp(spec) := policy("gateway.nginx.org/v1alpha1", "ProxySettingsPolicy", spec)

# The rule fired on field with a message that contains fix.
fires(vs, rule_id, field, fix) if {
	some v in vs
	v.rule == rule_id
	v.field == field
	contains(v.message, fix)
}

findings(vs, rule_id) := [v | some v in vs; v.rule == rule_id]

silent(vs, rule_id) if count(findings(vs, rule_id)) == 0

# --- lib helpers -------------------------------------------------------------

test_lib_gwapi_duration if {
	lib.gwapi_duration_ms("1h30m") == 5400000
	lib.gwapi_duration_ms("500ms") == 500
	lib.gwapi_duration_ms("1h2h") == 10800000
	lib.gwapi_duration_ms("1m500ms") == 60500
	not lib.gwapi_duration_ms("3600")
	every v in ["1h", "3600s", "1h30m", "500ms", "99999s", "0s", "30m1800s", "10h0m0s", "1h2h"] {
		lib.is_gwapi_duration(v)
	}
	every v in ["3600", "1.5s", "1d", "100000s", "1h0m0s0ms0s", "", "0", " 1h", "1H", "-1s", "1us", 3600] {
		not lib.is_gwapi_duration(v)
	}
}

test_lib_ngf_duration if {
	lib.ngf_duration_ms("3600") == 3600000
	lib.ngf_duration_ms("1h") == 3600000
	lib.ngf_duration_ms("500ms") == 500
	every v in ["3600", "1h", "500ms", "60s", "9999m", "0"] {
		lib.is_ngf_duration(v)
	}
	every v in ["86400s", "1h30m", "1.5h", "10000", "", "1d", 60] {
		not lib.is_ngf_duration(v)
	}
}

test_lib_duration_formatting if {
	lib.gwapi_duration_of(0) == "0s"
	every row in [
		[3600, "1h", "1h"],
		[5400, "1h30m", "90m"],
		[3601, "1h1s", "3601s"],
		[86400, "24h", "24h"],
		[604800, "168h", "168h"],
		[10001, "2h46m41s", "167m"],
		[60, "1m", "1m"],
		[45, "45s", "45s"],
	] {
		[seconds, gwapi, ngf_form] := row
		lib.gwapi_duration_of(seconds) == gwapi
		lib.ngf_duration_of(seconds) == ngf_form
		lib.is_gwapi_duration(gwapi)
		lib.is_ngf_duration(ngf_form)
		lib.ngf_duration_ms(ngf_form) >= seconds * 1000
	}
}

# --- gwapi-cors-wildcard-credentials --------------------------------------------

cors_filter(origins, credentials) := {"type": "CORS", "cors": {"allowOrigins": origins, "allowCredentials": credentials, "allowMethods": ["GET"]}}

# ingress2gateway's translation of enable-cors with ingress-nginx defaults.
test_gwapi_cors_wildcard_credentials_fires if {
	every origins in [["*"], ["https://*"], ["http://*:8080"]] {
		obj := route([rule({"filters": [cors_filter(origins, true)]})])

		# Scope cluster: no evidence, no opt-in needed.
		vs := gatewayapi.violation with input as object.union(bare(obj), {"optedIn": false})
		fires(vs, "gwapi-cors-wildcard-credentials", "spec.rules[0].filters[0].cors", "List the exact origins in spec.rules[0].filters[0].cors.allowOrigins")
	}
}

test_gwapi_cors_wildcard_credentials_backend_ref_filter if {
	obj := route([rule({"backendRefs": [object.union(backend, {"filters": [cors_filter(["*"], true)]})]})])
	vs := gatewayapi.violation with input as bare(obj)
	fires(vs, "gwapi-cors-wildcard-credentials", "spec.rules[0].backendRefs[0].filters[0].cors", "allowCredentials to false")
}

test_gwapi_cors_wildcard_credentials_silent if {
	# Same fields on another group's kind.
	other := json.patch(route([rule({"filters": [cors_filter(["*"], true)]})]), [{"op": "replace", "path": "/apiVersion", "value": "example.com/v1"}])
	silent(gatewayapi.violation, "gwapi-cors-wildcard-credentials") with input as bare(other)
	every f in [
		cors_filter(["*"], false),
		{"type": "CORS", "cors": {"allowOrigins": ["*"]}},
		cors_filter(["https://app.example.com"], true),
		cors_filter(["https://*.example.com"], true),
		{"type": "RequestHeaderModifier", "requestHeaderModifier": {"set": [{"name": "X-A", "value": "*"}]}},
	] {
		silent(gatewayapi.violation, "gwapi-cors-wildcard-credentials") with input as bare(route([rule({"filters": [f]})]))
	}
}

# --- gwapi-duration-format --------------------------------------------------------

test_gwapi_duration_format_suggestions if {
	every row in [
		["3600", `Set spec.rules[0].timeouts.request to "1h".`],
		[3600, `to "1h".`],
		["1.5s", `to "1s500ms".`],
		["1d", `to "24h".`],
		["100000s", `to "27h46m40s".`],
		["1h0m0s0ms0s", `to "1h".`],
		[" 1h", `to "1h".`],
		["250ms ", `to "250ms".`],
		["abc", `to a Duration such as "1h".`],
		["-5s", `to a Duration such as "1h".`],
	] {
		[value, fix] := row
		vs := gatewayapi.violation with input as bare(route([rule({"timeouts": {"request": value}})]))
		fires(vs, "gwapi-duration-format", "spec.rules[0].timeouts.request", fix)
	}
}

test_gwapi_duration_format_valid if {
	every value in ["1h", "3600s", "1h30m", "500ms", "99999s", "0s", "30m1800s", "10h0m0s"] {
		silent(gatewayapi.violation, "gwapi-duration-format") with input as bare(route([rule({"timeouts": {"request": value, "backendRequest": value}})]))
	}
}

test_gwapi_duration_format_fields if {
	every row in [
		[route([rule({}), rule({"timeouts": {"backendRequest": "30"}})]), "spec.rules[1].timeouts.backendRequest"],
		[route([rule({"retry": {"backoff": "1.5s"}})]), "spec.rules[0].retry.backoff"],
		[route([rule({"sessionPersistence": {"absoluteTimeout": "1d"}})]), "spec.rules[0].sessionPersistence.absoluteTimeout"],
		[route([rule({"sessionPersistence": {"idleTimeout": "30"}})]), "spec.rules[0].sessionPersistence.idleTimeout"],
		[grpc_route([{"sessionPersistence": {"absoluteTimeout": "3600"}}]), "spec.rules[0].sessionPersistence.absoluteTimeout"],
		[btp({"timeout": {"http": {"streamIdleTimeout": "3600"}}}), "spec.timeout.http.streamIdleTimeout"],
		[btp({"loadBalancer": {"consistentHash": {"cookie": {"ttl": "1d"}}}}), "spec.loadBalancer.consistentHash.cookie.ttl"],
		[btp({"retry": {"perRetry": {"backOff": {"maxInterval": "1.5s"}}}}), "spec.retry.perRetry.backOff.maxInterval"],
		[ctp({"connection": {"connectionLimit": {"maxConnectionDuration": "24"}}}), "spec.connection.connectionLimit.maxConnectionDuration"],
		[ctp({"timeout": {"http": {"idleTimeout": "1 h"}}}), "spec.timeout.http.idleTimeout"],
	] {
		[obj, field] := row
		vs := gatewayapi.violation with input as bare(obj)
		fires(vs, "gwapi-duration-format", field, "is not a Gateway API Duration")
		count(findings(vs, "gwapi-duration-format")) == 1
	}
}

# Only Envoy Gateway's policies: same kind name, other group.
test_gwapi_duration_format_other_group if {
	obj := policy("example.com/v1", "BackendTrafficPolicy", {"timeout": {"http": {"streamIdleTimeout": "3600"}}})
	silent(gatewayapi.violation, "gwapi-duration-format") with input as bare(obj)
}

# --- ngf-duration-format -------------------------------------------------------------

test_ngf_duration_format_suggestions if {
	every row in [
		["86400s", `Set spec.timeout.read to "24h".`],
		["1h30m", `to "90m".`],
		["1.5h", `to "90m".`],
		["3600000ms", `to "1h".`],
		["10000", `to "167m".`],
		[60, `to "1m".`],
		["1d", `to "24h".`],
		["forever", `to a duration such as "1h".`],
	] {
		[value, fix] := row
		vs := gatewayapi.violation with input as bare(psp({"timeout": {"read": value}}))
		fires(vs, "ngf-duration-format", "spec.timeout.read", fix)
	}
}

test_ngf_duration_format_valid if {
	every value in ["3600", "1h", "500ms", "60s", "9999m"] {
		silent(gatewayapi.violation, "ngf-duration-format") with input as bare(psp({"timeout": {"read": value, "send": value, "connect": value}}))
	}
}

test_ngf_duration_format_fields if {
	every row in [
		[psp({"timeout": {"connect": "86400s"}}), "spec.timeout.connect"],
		[psp({"timeout": {"send": "1h30m"}}), "spec.timeout.send"],
		[policy("gateway.nginx.org/v1alpha1", "ClientSettingsPolicy", {"body": {"timeout": "1.5s"}}), "spec.body.timeout"],
		[policy("gateway.nginx.org/v1alpha1", "ClientSettingsPolicy", {"keepAlive": {"timeout": {"server": "10000s"}}}), "spec.keepAlive.timeout.server"],
		[policy("gateway.nginx.org/v1alpha1", "ClientSettingsPolicy", {"keepAlive": {"minTimeout": "1m30s"}}), "spec.keepAlive.minTimeout"],
		[policy("gateway.nginx.org/v1alpha1", "UpstreamSettingsPolicy", {"keepAlive": {"time": "1h0m"}}), "spec.keepAlive.time"],
		[policy("gateway.nginx.org/v1alpha1", "UpstreamSettingsPolicy", {"keepAlive": {"timeout": "60000ms"}}), "spec.keepAlive.timeout"],
	] {
		[obj, field] := row
		vs := gatewayapi.violation with input as bare(obj)
		fires(vs, "ngf-duration-format", field, "not an NGINX Gateway Fabric duration")
		count(findings(vs, "ngf-duration-format")) == 1
		silent(vs, "gwapi-duration-format")
	}
}

# A Gateway API Duration that NGF accepts is fine, and NGF policies are not
# judged as Gateway API Durations (or the other way round).
test_ngf_duration_format_other_kinds if {
	silent(gatewayapi.violation, "ngf-duration-format") with input as bare(btp({"timeout": {"http": {"streamIdleTimeout": "86400s"}}}))
	silent(gatewayapi.violation, "ngf-duration-format") with input as bare(policy("example.com/v1", "ProxySettingsPolicy", {"timeout": {"read": "86400s"}}))
}

# --- gwapi-ws-backend-h2c ----------------------------------------------------------

h2c_doc(app_protocol, fields) := doc(
	route([rule({"backendRefs": [{"name": "web", "port": 80}, backend]})]),
	fields,
	{"backends": {
		"spec.rules[0].backendRefs[0]": {"service": "chat/web", "port": "80", "appProtocol": ""},
		"spec.rules[0].backendRefs[1]": {"service": "chat/api", "port": "8080", "appProtocol": app_protocol},
	}},
)

test_gwapi_ws_backend_h2c_fires if {
	every ap in ["kubernetes.io/h2c", "http2", "grpc", "HTTP2", "Kubernetes.io/H2C"] {
		vs := gatewayapi.violation with input as h2c_doc(ap, {"spec.rules[0]": "path segment ws"})
		fires(vs, "gwapi-ws-backend-h2c", "spec.rules[0].backendRefs[1]", "Service chat/api port 8080")
		fires(vs, "gwapi-ws-backend-h2c", "spec.rules[0].backendRefs[1]", "WebSocket evidence: spec.rules[0]: path segment ws.")
		count(findings(vs, "gwapi-ws-backend-h2c")) == 1
	}
}

test_gwapi_ws_backend_h2c_silent if {
	# A gRPC rule without WebSocket evidence keeps its h2c backend.
	silent(gatewayapi.violation, "gwapi-ws-backend-h2c") with input as h2c_doc("kubernetes.io/h2c", {})
	silent(gatewayapi.violation, "gwapi-ws-backend-h2c") with input as h2c_doc("kubernetes.io/h2c", {"spec.rules[1]": "path segment ws"})

	# The Service is unknown: nothing to judge.
	silent(gatewayapi.violation, "gwapi-ws-backend-h2c") with input as ws_route_doc(route([rule({})]), [])
	every ap in ["kubernetes.io/ws", "kubernetes.io/wss", "http", ""] {
		silent(gatewayapi.violation, "gwapi-ws-backend-h2c") with input as h2c_doc(ap, {"spec.rules[0]": "path segment ws"})
	}
}

# --- gwapi-ws-hop-header-modifier ------------------------------------------------

header_filter(modifier) := {"type": "RequestHeaderModifier", "requestHeaderModifier": modifier}

test_gwapi_ws_hop_header_modifier_fires if {
	every row in [
		[[header_filter({"set": [{"name": "Connection", "value": "keep-alive"}]})], "spec.rules[0].filters[0].requestHeaderModifier.set[0]"],
		[[header_filter({"add": [{"name": "X-A", "value": "1"}, {"name": "upgrade", "value": "h2c"}]})], "spec.rules[0].filters[0].requestHeaderModifier.add[1]"],
		[[{"type": "URLRewrite"}, header_filter({"remove": ["UPGRADE"]})], "spec.rules[0].filters[1].requestHeaderModifier.remove[0]"],
	] {
		[filters, field] := row
		vs := gatewayapi.violation with input as ws_route_doc(route([rule({"filters": filters})]), [])
		fires(vs, "gwapi-ws-hop-header-modifier", field, sprintf("Remove %s from the filter", [field]))
		fires(vs, "gwapi-ws-hop-header-modifier", field, "WebSocket evidence: spec.rules[0]: path segment ws.")
	}
}

test_gwapi_ws_hop_header_modifier_backend_ref_filter if {
	ref := object.union(backend, {"filters": [header_filter({"set": [{"name": "connection", "value": "close"}]})]})
	vs := gatewayapi.violation with input as ws_route_doc(route([rule({"backendRefs": [ref]})]), [])
	fires(vs, "gwapi-ws-hop-header-modifier", "spec.rules[0].backendRefs[0].filters[0].requestHeaderModifier.set[0]", "overwrites the connection request header")
}

test_gwapi_ws_hop_header_modifier_silent if {
	connection := header_filter({"set": [{"name": "Connection", "value": "close"}]})

	# Not a WebSocket rule (no evidence, or evidence on another rule).
	silent(gatewayapi.violation, "gwapi-ws-hop-header-modifier") with input as bare(route([rule({"filters": [connection]})]))
	silent(gatewayapi.violation, "gwapi-ws-hop-header-modifier") with input as ws_route_doc(route([rule({}), rule({"filters": [connection]})]), [])

	# Other headers, and response headers.
	every f in [
		header_filter({"set": [{"name": "X-Forwarded-Proto", "value": "https"}], "remove": ["X-Debug"]}),
		{"type": "ResponseHeaderModifier", "responseHeaderModifier": {"set": [{"name": "Connection", "value": "close"}]}},
	] {
		silent(gatewayapi.violation, "gwapi-ws-hop-header-modifier") with input as ws_route_doc(route([rule({"filters": [f]})]), [])
	}
}

# --- eg-ws-upgrade-disabled -----------------------------------------------------------

test_eg_ws_upgrade_disabled_http_upgrade if {
	vs := gatewayapi.violation with input as ws_policy_doc(btp({"httpUpgrade": [{"type": "CONNECT"}]}))
	fires(vs, "eg-ws-upgrade-disabled", "spec.httpUpgrade", `Add {"type": "websocket"} to spec.httpUpgrade.`)
	fires(vs, "eg-ws-upgrade-disabled", "spec.httpUpgrade", `lists ["CONNECT"]`)
	fires(vs, "eg-ws-upgrade-disabled", "spec.httpUpgrade", "WebSocket evidence: spec.targetRefs[0]: HTTPRoute chat/chat has WebSocket rules.")
}

test_eg_ws_upgrade_disabled_request_buffer if {
	vs := gatewayapi.violation with input as ws_policy_doc(btp({"requestBuffer": {"limit": "10Mi"}}))
	fires(vs, "eg-ws-upgrade-disabled", "spec.requestBuffer", "Remove spec.requestBuffer")
}

test_eg_ws_upgrade_disabled_silent if {
	# No WebSocket target: a CONNECT-only or buffering policy is legitimate.
	silent(gatewayapi.violation, "eg-ws-upgrade-disabled") with input as bare(btp({"httpUpgrade": [{"type": "CONNECT"}]}))
	silent(gatewayapi.violation, "eg-ws-upgrade-disabled") with input as bare(btp({"requestBuffer": {"limit": "10Mi"}}))
	other := policy("example.com/v1", "BackendTrafficPolicy", {"requestBuffer": {"limit": "10Mi"}})
	silent(gatewayapi.violation, "eg-ws-upgrade-disabled") with input as ws_policy_doc(other)
	every spec in [
		{"httpUpgrade": [{"type": "websocket"}, {"type": "CONNECT"}]},
		{"httpUpgrade": [{"type": "WebSocket"}]},
		{"httpUpgrade": []},
		{"timeout": {"http": {"streamIdleTimeout": "1h"}}},
	] {
		silent(gatewayapi.violation, "eg-ws-upgrade-disabled") with input as ws_policy_doc(btp(spec))
	}
}

# --- eg-ws-stream-duration-finite ---------------------------------------------------

limit(key, value) := {"connection": {"connectionLimit": {key: value}}}

test_eg_ws_stream_duration_finite_fires if {
	every row in [
		[btp({"timeout": {"http": {"maxStreamDuration": "1h"}}}), "spec.timeout.http.maxStreamDuration", `or set it to "0s"`],
		[ctp(limit("maxStreamDuration", "30m")), "spec.connection.connectionLimit.maxStreamDuration", "Remove spec.connection.connectionLimit.maxStreamDuration"],
		[ctp(limit("maxConnectionDuration", "24h")), "spec.connection.connectionLimit.maxConnectionDuration", "drains and closes every client connection"],
	] {
		[obj, field, fix] := row
		vs := gatewayapi.violation with input as ws_policy_doc(obj)
		fires(vs, "eg-ws-stream-duration-finite", field, fix)
		fires(vs, "eg-ws-stream-duration-finite", field, "WebSocket evidence:")
	}
}

test_eg_ws_stream_duration_finite_silent if {
	# Without a WebSocket target.
	silent(gatewayapi.violation, "eg-ws-stream-duration-finite") with input as bare(btp({"timeout": {"http": {"maxStreamDuration": "1h"}}}))

	# Upstream connection age (BTP maxConnectionDuration) is not a client stream limit.
	silent(gatewayapi.violation, "eg-ws-stream-duration-finite") with input as ws_policy_doc(btp({"timeout": {"http": {"maxConnectionDuration": "1h"}}}))

	# Zero is unlimited; malformed values are gwapi-duration-format's.
	every value in ["0s", "0ms", "0h0m", "1d"] {
		silent(gatewayapi.violation, "eg-ws-stream-duration-finite") with input as ws_policy_doc(btp({"timeout": {"http": {"maxStreamDuration": value}}}))
	}
}

# --- gwapi-ws-timeouts-ignored ---------------------------------------------------------

test_gwapi_ws_timeouts_ignored_fires if {
	obj := route([rule({"timeouts": {"request": "1h"}})])
	ngf_vs := gatewayapi.violation with input as ws_route_doc(obj, [ngf])
	fires(ngf_vs, "gwapi-ws-timeouts-ignored", "spec.rules[0].timeouts", `spec.timeout.send set to "1h"`)
	every row in [
		[ngf, "ProxySettingsPolicy's spec.timeout.read and spec.timeout.send"],
		[traefik, "transport.respondingTimeouts and the serversTransport.forwardingTimeouts"],
		[gke, "GCPBackendPolicy spec.default.timeoutSec"],
	] {
		[controller, governs] := row
		vs := gatewayapi.violation with input as ws_route_doc(obj, [controller])
		fires(vs, "gwapi-ws-timeouts-ignored", "spec.rules[0].timeouts", governs)
		fires(vs, "gwapi-ws-timeouts-ignored", "spec.rules[0].timeouts", "Remove spec.rules[0].timeouts")
		fires(vs, "gwapi-ws-timeouts-ignored", "spec.rules[0].timeouts", "WebSocket evidence: spec.rules[0]: path segment ws.")
	}
}

# Several parents: one finding per implementation that ignores them.
test_gwapi_ws_timeouts_ignored_several_parents if {
	vs := gatewayapi.violation with input as ws_route_doc(route([rule({"timeouts": {"request": "1h"}})]), [eg, ngf, traefik])
	count(findings(vs, "gwapi-ws-timeouts-ignored")) == 2
}

test_gwapi_ws_timeouts_ignored_silent if {
	obj := route([rule({"timeouts": {"request": "1h"}})])

	# Not a WebSocket rule.
	silent(gatewayapi.violation, "gwapi-ws-timeouts-ignored") with input as doc(obj, {}, {"controllers": [ngf]})

	# Injected by the mutation (an Envoy Gateway parent beside NGF).
	injected := with_defaulted(ws_route_doc(obj, [eg, ngf]), ["spec.rules[0].timeouts.request"])
	silent(gatewayapi.violation, "gwapi-ws-timeouts-ignored") with input as injected
	every controllers in [[eg], [istio], []] {
		silent(gatewayapi.violation, "gwapi-ws-timeouts-ignored") with input as ws_route_doc(obj, controllers)
	}
}

test_gwapi_ws_timeouts_ignored_user_value_beside_injected if {
	obj := route([rule({"timeouts": {"request": "1h", "backendRequest": "30s"}})])
	d := with_defaulted(ws_route_doc(obj, [ngf]), ["spec.rules[0].timeouts.request"])
	fires(gatewayapi.violation, "gwapi-ws-timeouts-ignored", "spec.rules[0].timeouts", "UnsupportedField") with input as d
}

# --- gwapi-legacy-api-group ---------------------------------------------------------

test_gwapi_legacy_api_group_fires if {
	every row in [["networking.x-k8s.io/v1alpha1", "HTTPRoute"], ["networking.x-k8s.io/v1alpha1", "Gateway"]] {
		[api_version, kind] := row
		obj := {"apiVersion": api_version, "kind": kind, "metadata": {"name": "old"}, "spec": {}}
		vs := gatewayapi.violation with input as bare(obj)
		fires(vs, "gwapi-legacy-api-group", "apiVersion", "Move it to apiVersion gateway.networking.k8s.io/v1")
		fires(vs, "gwapi-legacy-api-group", "apiVersion", sprintf("this %s", [kind]))
	}
}

# The current experimental group is not the legacy one.
test_gwapi_legacy_api_group_silent if {
	every api_version in ["gateway.networking.x-k8s.io/v1alpha1", "gateway.networking.k8s.io/v1", "networking.k8s.io/v1"] {
		obj := {"apiVersion": api_version, "kind": "XBackendTrafficPolicy", "metadata": {"name": "x"}, "spec": {}}
		silent(gatewayapi.violation, "gwapi-legacy-api-group") with input as bare(obj)
	}
}

# --- gwapi-session-persistence-ignored ---------------------------------------------

sp := {"sessionPersistence": {"sessionName": "ws", "type": "Cookie"}}

test_gwapi_session_persistence_ignored_fires if {
	every row in [
		[istio, "DestinationRule"],
		[traefik, "Traefik IngressRoute"],
		[ngf, "without its experimental flag"],
		[ngf, "NGINX Plus"],
		[gke, "GCPBackendPolicy"],
	] {
		[controller, fix] := row
		every obj in [route([rule({}), rule(sp)]), grpc_route([{}, sp])] {
			vs := gatewayapi.violation with input as doc(obj, {}, {"controllers": [controller]})
			fires(vs, "gwapi-session-persistence-ignored", "spec.rules[1].sessionPersistence", fix)
			fires(vs, "gwapi-session-persistence-ignored", "spec.rules[1].sessionPersistence", "Remove spec.rules[1].sessionPersistence")
		}
	}
}

test_gwapi_session_persistence_ignored_silent if {
	silent(gatewayapi.violation, "gwapi-session-persistence-ignored") with input as doc(route([rule({})]), {}, {"controllers": [istio]})
	every controllers in [[eg], []] {
		silent(gatewayapi.violation, "gwapi-session-persistence-ignored") with input as doc(route([rule(sp)]), {}, {"controllers": controllers})
	}
}

# --- what the mutation leaves -----------------------------------------------------

# An Envoy Gateway WebSocket route after mutation, and the policies the
# mutation fills in: nothing to report.
test_mutated_objects_clean if {
	mutated := with_defaulted(ws_route_doc(route([rule({"timeouts": {"request": "1h"}})]), [eg]), ["spec.rules[0].timeouts.request"])
	count(gatewayapi.violation) == 0 with input as mutated
	every obj in [
		btp({"timeout": {"http": {"streamIdleTimeout": "1h"}}}),
		psp({"timeout": {"read": "1h", "send": "1h"}}),
		policy("networking.gke.io/v1", "GCPBackendPolicy", {"default": {"timeoutSec": 3600}}),
	] {
		count(gatewayapi.violation) == 0 with input as ws_policy_doc(obj)
	}
}
