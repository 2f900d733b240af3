package wsdefaults.rules.upgrade_test

import data.wsdefaults.input_test
import data.wsdefaults.rules.upgrade

# A full input document for obj, as the engine builds it for an opted-in
# object with no controller and nothing defaulted.
input_for(obj) := input_test.complete({
	"operation": "CREATE",
	"object": obj,
	"oldObject": null,
	"namespace": {"name": "chat", "labels": {"ws-defaults": "enabled"}, "annotations": {}},
	"controller": "",
	"optedIn": true,
	"defaulted": [],
	"parameters": {"nginxAnnotationPrefix": "nginx.ingress.kubernetes.io", "minIdleTimeoutSeconds": 3600},
})

# input_for(obj) with some top-level fields replaced.
input_with(obj, extra) := input_test.complete(object.union(input_for(obj), extra))

# A violation of rule on field whose message contains fix.
fired(vs, rule, field, fix) if {
	some v in vs
	v.rule == rule
	v.field == field
	contains(v.message, fix)
}

# The rule ids reported.
ids(vs) := {v.rule | some v in vs}

# The keys of an object, as the list input.defaulted is.
keys_of(o) := [k | some k, _ in o]

# An ingress-nginx Ingress carrying annotations.
ingress(annotations) := {
	"apiVersion": "networking.k8s.io/v1",
	"kind": "Ingress",
	"metadata": {"name": "ws", "namespace": "chat", "annotations": annotations},
	"spec": {"ingressClassName": "nginx", "rules": [{"host": "ws.example.com"}]},
}

# An ingress-nginx annotation key and a field path.
nginx(key) := concat("", ["nginx.ingress.kubernetes.io/", key])

field(key) := sprintf("metadata.annotations[%s]", [key])

# A Service with the given ports and extra metadata.
service_meta(ports, metadata) := {
	"apiVersion": "v1",
	"kind": "Service",
	"metadata": object.union({"name": "chat", "namespace": "chat"}, metadata),
	"spec": {"selector": {"app": "chat"}, "ports": ports},
}

# A Service with the given ports only.
service(ports) := service_meta(ports, {})

# A Linkerd Server of one API version with spec.proxyProtocol.
linkerd_server(api_version, protocol) := {
	"apiVersion": api_version,
	"kind": "Server",
	"metadata": {"name": "websocket-server", "namespace": "chat"},
	"spec": {"podSelector": {"matchLabels": {"app": "websocket"}}, "port": 8080, "proxyProtocol": protocol},
}

# input_for(obj) with WebSocket evidence on the given fields, as the
# pipeline computes it (webhook/evidence).
ev_doc(obj, fields) := object.union(input_for(obj), {"evidence": {"fields": fields, "negative": "", "off": false}})

# An Ingress whose first path carries WebSocket.
ws_input(obj) := ev_doc(obj, {"spec.rules[0].http.paths[0]": "path segment ws"})

# A Service whose ports at the given indexes carry WebSocket.
ports_input(obj, indexes) := ev_doc(obj, {sprintf("spec.ports[%d]", [i]): "port name ws (token ws)" | some i in indexes})

# --- nginx-upgrade-blocked ---

# No evidence, no finding: an opted-in namespace also holds REST and gRPC
# Ingresses (a vendor's documented gRPC-only Ingress was denied before).
test_nginx_upgrade_blocked_needs_evidence if {
	obj := ingress({
		nginx("connection-proxy-header"): "keep-alive",
		nginx("proxy-http-version"): "1.0",
		nginx("backend-protocol"): "GRPC",
	})
	count(upgrade.violation) == 0 with input as input_for(obj)
	negative := object.union(input_for(obj), {"evidence": {
		"fields": {},
		"negative": "annotation nginx.ingress.kubernetes.io/backend-protocol: \"GRPC\"",
		"off": false,
	}})
	count(upgrade.violation) == 0 with input as negative
}

test_nginx_upgrade_blocked_names_evidence if {
	vs := upgrade.violation with input as ws_input(ingress({nginx("proxy-http-version"): "1.0"}))
	fired(vs, "nginx-upgrade-blocked", field(nginx("proxy-http-version")), "WebSocket evidence: spec.rules[0].http.paths[0]: path segment ws.")
}

test_nginx_upgrade_blocked_connection_proxy_header if {
	every value in ["close", "keep-alive", "upgrade"] {
		vs := upgrade.violation with input as ws_input(ingress({nginx("connection-proxy-header"): value}))
		fired(vs, "nginx-upgrade-blocked", field(nginx("connection-proxy-header")), "Remove nginx.ingress.kubernetes.io/connection-proxy-header")
	}
}

test_nginx_upgrade_blocked_http_version_10 if {
	vs := upgrade.violation with input as ws_input(ingress({nginx("proxy-http-version"): "1.0"}))
	fired(vs, "nginx-upgrade-blocked", field(nginx("proxy-http-version")), `set it to "1.1"`)
}

test_nginx_upgrade_blocked_http_version_11 if {
	vs := upgrade.violation with input as ws_input(ingress({nginx("proxy-http-version"): "1.1"}))
	count(vs) == 0
}

test_nginx_upgrade_blocked_backend_protocol if {
	every value in ["GRPC", "grpc", "Grpc", "FCGI", "fcgi"] {
		vs := upgrade.violation with input as ws_input(ingress({nginx("backend-protocol"): value}))
		fired(vs, "nginx-upgrade-blocked", field(nginx("backend-protocol")), `Set nginx.ingress.kubernetes.io/backend-protocol to "HTTP"`)
	}
}

test_nginx_upgrade_blocked_backend_protocol_grpcs if {
	every value in ["GRPCS", "grpcs"] {
		vs := upgrade.violation with input as ws_input(ingress({nginx("backend-protocol"): value}))
		fired(vs, "nginx-upgrade-blocked", field(nginx("backend-protocol")), `Set nginx.ingress.kubernetes.io/backend-protocol to "HTTPS"`)
	}
}

test_nginx_upgrade_blocked_backend_protocol_http if {
	every value in ["HTTP", "HTTPS", "AUTO_HTTP", "http"] {
		vs := upgrade.violation with input as ws_input(ingress({nginx("backend-protocol"): value}))
		count(vs) == 0
	}
}

test_nginx_upgrade_blocked_all_three if {
	vs := upgrade.violation with input as ws_input(ingress({
		nginx("connection-proxy-header"): "keep-alive",
		nginx("proxy-http-version"): "1.0",
		nginx("backend-protocol"): "GRPC",
	}))
	count({v.field | some v in vs; v.rule == "nginx-upgrade-blocked"}) == 3
}

test_nginx_upgrade_blocked_custom_prefix if {
	doc := input_test.complete(object.union(
		ws_input(ingress({"custom.example.com/proxy-http-version": "1.0", nginx("proxy-http-version"): "1.0"})),
		{"parameters": {"nginxAnnotationPrefix": "custom.example.com/"}},
	))
	vs := upgrade.violation with input as doc
	fired(vs, "nginx-upgrade-blocked", field("custom.example.com/proxy-http-version"), `"1.1"`)
	count(vs) == 1
}

# The seed guide's nginx Ingress sets backend-protocol HTTP: fine.
test_nginx_upgrade_blocked_seed_guide if {
	vs := upgrade.violation with input as ws_input(ingress({
		nginx("proxy-read-timeout"): "3600",
		nginx("proxy-send-timeout"): "3600",
		nginx("proxy-buffering"): "off",
		nginx("backend-protocol"): "HTTP",
		nginx("ssl-redirect"): "true",
	}))
	count(vs) == 0
}

test_nginx_upgrade_blocked_not_on_service if {
	vs := upgrade.violation with input as input_for(service_meta([{"name": "web", "port": 80}], {"annotations": {nginx("connection-proxy-header"): "close"}}))
	count(vs) == 0
}

# --- http2-only-port ---

test_http2_only_port_app_protocol if {
	every ap in ["http2", "grpc", "grpc-web", "kubernetes.io/h2c", "HTTP2", "GRPC", "Kubernetes.io/H2C"] {
		vs := upgrade.violation with input as ports_input(service([{"name": "metrics", "port": 9090}, {"name": "ws", "port": 8080, "appProtocol": ap}]), [1])
		fired(vs, "http2-only-port", "spec.ports[1].appProtocol", `Set spec.ports[1].appProtocol to "http"`)
	}
}

test_http2_only_port_name_prefix if {
	every name in ["http2-ws", "grpc-ws", "grpc-web-ws", "GRPC-websocket", "http2-wss"] {
		vs := upgrade.violation with input as ports_input(service([{"name": name, "port": 8080}]), [0])
		fired(vs, "http2-only-port", "spec.ports[0].name", `Set spec.ports[0].appProtocol to "http"`)
	}
}

test_http2_only_port_name_grpc_web_protocol if {
	vs := upgrade.violation with input as ports_input(service([{"name": "grpc-web-ws", "port": 8080}]), [0])
	fired(vs, "http2-only-port", "spec.ports[0].name", "as grpc-web")
}

# Exact names count when the port is known to carry WebSockets some other way.
test_http2_only_port_exact_names if {
	every name in ["http2", "grpc", "grpc-web"] {
		obj := service_meta([{"name": "web", "port": 80}, {"name": name, "port": 8080}], {"labels": {"ws-defaults": "enabled"}})
		vs := upgrade.violation with input as ports_input(obj, [0, 1])
		fired(vs, "http2-only-port", "spec.ports[1].name", `Set spec.ports[1].appProtocol to "http"`)
	}
}

test_http2_only_port_listed_by_number if {
	vs := upgrade.violation with input as ports_input(
		service_meta(
			[{"name": "http2-chat", "port": 8080}, {"name": "http2-api", "port": 9000}],
			{"annotations": {"ws-defaults.io/websocket-ports": "8080"}},
		),
		[0],
	)
	fired(vs, "http2-only-port", "spec.ports[0].name", `appProtocol to "http"`)
	count(vs) == 1
}

test_http2_only_port_listed_by_name if {
	vs := upgrade.violation with input as ports_input(
		service_meta(
			[{"name": "api", "port": 9000, "appProtocol": "grpc"}, {"name": "chat", "port": 8080, "appProtocol": "kubernetes.io/h2c"}],
			{"annotations": {"ws-defaults.io/websocket-ports": "api, chat"}},
		),
		[0, 1],
	)
	fired(vs, "http2-only-port", "spec.ports[0].appProtocol", `appProtocol to "http"`)
	fired(vs, "http2-only-port", "spec.ports[1].appProtocol", `appProtocol to "http"`)
}

# Only the ports with evidence, and the message names it.
test_http2_only_port_only_ports_with_evidence if {
	obj := service([
		{"name": "grpc-api", "port": 9000},
		{"name": "http2-live", "port": 8080},
		{"name": "app", "port": 80, "appProtocol": "grpc"},
	])
	route := "Ingress chat/web spec.rules[0].http.paths[0] (path segment ws)"
	vs := upgrade.violation with input as ev_doc(obj, {"spec.ports[1]": concat(" ", [route, "sends traffic to port 8080"])})
	fired(vs, "http2-only-port", "spec.ports[1].name", concat(" ", ["WebSocket evidence:", route]))
	count(vs) == 1
}

# A port not known to carry WebSockets may be real gRPC.
test_http2_only_port_not_ws if {
	vs := upgrade.violation with input as input_for(service([{"name": "grpc-api", "port": 9000}, {"name": "metrics", "port": 9090, "appProtocol": "http2"}]))
	count(vs) == 0
}

# appProtocol wins over the port name in Istio.
test_http2_only_port_app_protocol_overrides_name if {
	vs := upgrade.violation with input as ports_input(service([{"name": "grpc-ws", "port": 8080, "appProtocol": "http"}]), [0])
	count(vs) == 0
}

test_http2_only_port_compliant if {
	vs := upgrade.violation with input as ports_input(
		service([
			{"name": "ws", "port": 8080, "appProtocol": "http"},
			{"name": "wss", "port": 8443, "appProtocol": "kubernetes.io/wss"},
			{"name": "http-websocket", "port": 8081},
			{"name": "websocket", "port": 8082, "appProtocol": "kubernetes.io/ws"},
			{"name": "http2ws", "port": 8083},
		]),
		[0, 1, 2, 3, 4],
	)
	count(vs) == 0
}

# What the mutation injects: appProtocol http, or kubernetes.io/wss on wss ports.
test_http2_only_port_mutation_defaults if {
	doc := object.union(
		ports_input(service([{"name": "ws", "port": 8080, "appProtocol": "http"}, {"name": "wss", "port": 8443, "appProtocol": "kubernetes.io/wss"}]), [0, 1]),
		{"defaulted": ["spec.ports[0].appProtocol", "spec.ports[1].appProtocol", "spec.sessionAffinity"]},
	)
	count(upgrade.violation) == 0 with input as doc
}

# --- linkerd-http2-protocol ---

test_linkerd_http2_protocol_fires if {
	every version in ["policy.linkerd.io/v1beta1", "policy.linkerd.io/v1beta2", "policy.linkerd.io/v1beta3", "policy.linkerd.io/v1alpha1"] {
		every protocol in ["HTTP/2", "gRPC"] {
			vs := upgrade.violation with input as ev_doc(linkerd_server(version, protocol), {"spec.port": "annotation ws-defaults.io/websocket: \"true\""})
			fired(vs, "linkerd-http2-protocol", "spec.proxyProtocol", `Set spec.proxyProtocol to "HTTP/1"`)
		}
	}
}

# A Server declared gRPC for a gRPC port is right; the fix would break it.
test_linkerd_http2_protocol_needs_evidence if {
	every protocol in ["HTTP/2", "gRPC"] {
		count(upgrade.violation) == 0 with input as input_for(linkerd_server("policy.linkerd.io/v1beta3", protocol))
	}
}

test_linkerd_http2_protocol_other_values if {
	every protocol in ["HTTP/1", "unknown", "opaque", "TLS"] {
		vs := upgrade.violation with input as input_for(linkerd_server("policy.linkerd.io/v1beta3", protocol))
		count(vs) == 0
	}
}

# The seed guide's Server says "HTTP/1.1", which is not one of Linkerd's
# values (the CRD rejects it) but does not force HTTP/2.
test_linkerd_http2_protocol_seed_guide if {
	vs := upgrade.violation with input as input_for(linkerd_server("policy.linkerd.io/v1beta1", "HTTP/1.1"))
	count(vs) == 0
}

test_linkerd_http2_protocol_unset if {
	obj := json.remove(linkerd_server("policy.linkerd.io/v1beta3", ""), ["spec/proxyProtocol"])
	count(upgrade.violation) == 0 with input as input_for(obj)
}

test_linkerd_http2_protocol_other_group if {
	vs := upgrade.violation with input as input_for(linkerd_server("example.com/v1", "HTTP/2"))
	count(vs) == 0
}

# --- nginx-rewrite-ws-path ---

# An ingress-nginx Ingress with annotations and one path.
ingress_path(annotations, path) := object.union(ingress(annotations), {"spec": {
	"ingressClassName": "nginx",
	"rules": [{"host": "ws.example.com", "http": {"paths": [{"path": path, "pathType": "Prefix"}]}}],
}})

# The evidence the pipeline computes for a path named like a WebSocket endpoint.
path_evidence(segment) := {"evidence": {
	"fields": {"spec.rules[0].http.paths[0]": concat(" ", ["path segment", segment])},
	"negative": "",
	"off": false,
}}

test_nginx_rewrite_ws_path_fires if {
	obj := ingress_path({nginx("rewrite-target"): "/"}, "/ws")
	vs := upgrade.violation with input as input_with(obj, path_evidence("ws"))
	fired(vs, "nginx-rewrite-ws-path", field(nginx("rewrite-target")), "WebSocket evidence: spec.rules[0].http.paths[0]: path segment ws")
}

# A capture group can carry the WebSocket segment on (/prefix/ws(/|$)(.*)
# to /ws$2, or /chat(/|$)(.*) to /$2 for /chat/ws): what the backend
# receives depends on the request, so the rule says nothing.
test_nginx_rewrite_ws_path_capture_groups_silent if {
	every c in [
		["/ws$2", "/prefix/ws(/|$)(.*)", "ws"],
		["/$2", "/socket.io(/|$)(.*)", "socket.io"],
		["/$1", "/chat/(ws.*)", "ws"],
	] {
		obj := ingress_path({nginx("rewrite-target"): c[0], nginx("use-regex"): "true"}, c[1])
		vs := upgrade.violation with input as input_with(obj, path_evidence(c[2]))
		not "nginx-rewrite-ws-path" in ids(vs)
	}
}

# A literal target that keeps the segment strips only a routing prefix.
test_nginx_rewrite_ws_path_keeps_segment if {
	obj := ingress_path({nginx("rewrite-target"): "/ws"}, "/chat/ws")
	vs := upgrade.violation with input as input_with(obj, path_evidence("ws"))
	not "nginx-rewrite-ws-path" in ids(vs)
	obj2 := ingress_path({nginx("rewrite-target"): "/Socket.IO/"}, "/api/socket.io")
	vs2 := upgrade.violation with input as input_with(obj2, path_evidence("socket.io"))
	not "nginx-rewrite-ws-path" in ids(vs2)
}

# The message names the lost segment and the fix.
test_nginx_rewrite_ws_path_fix if {
	obj := ingress_path({nginx("rewrite-target"): "/"}, "/socket.io/")
	vs := upgrade.violation with input as input_with(obj, path_evidence("socket.io"))
	fired(vs, "nginx-rewrite-ws-path", field(nginx("rewrite-target")), "arrives without its \"socket.io\" segment")
	fired(vs, "nginx-rewrite-ws-path", field(nginx("rewrite-target")), "Remove nginx.ingress.kubernetes.io/rewrite-target so")
}

# Same path: nothing changes.
test_nginx_rewrite_ws_path_same_path if {
	obj := ingress_path({nginx("rewrite-target"): "/ws/"}, "/ws")
	vs := upgrade.violation with input as input_with(obj, path_evidence("ws"))
	not "nginx-rewrite-ws-path" in ids(vs)
}

# No rewrite, or a path that is not WebSocket by its own name.
test_nginx_rewrite_ws_path_silent if {
	plain := upgrade.violation with input as input_with(ingress_path({}, "/ws"), path_evidence("ws"))
	not "nginx-rewrite-ws-path" in ids(plain)
	api := upgrade.violation with input as input_for(ingress_path({nginx("rewrite-target"): "/"}, "/api"))
	not "nginx-rewrite-ws-path" in ids(api)
	routed := {"evidence": {"fields": {"spec.rules[0].http.paths[0]": "annotation ws-defaults.io/websocket"}, "negative": "", "off": false}}
	explicit := upgrade.violation with input as input_with(ingress_path({nginx("rewrite-target"): "/"}, "/"), routed)
	not "nginx-rewrite-ws-path" in ids(explicit)
}
