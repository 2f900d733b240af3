# METADATA
# title: The WebSocket upgrade itself
# description: >-
#   Settings that stop the HTTP/1.1 Upgrade handshake from reaching the
#   backend: nginx headers and upstream protocol, ports forced to HTTP/2 by
#   Istio or Linkerd (research §1.2, §1.3, §4.1, §5).
package wsdefaults.rules.upgrade

import data.wsdefaults.lib

# ---------------------------------------------------------------------------
# nginx-upgrade-blocked: ingress-nginx settings that keep the HTTP/1.1
# Upgrade handshake from reaching the backend.
#
# connection-proxy-header (first below): ingress-nginx sends
# "Connection: $connection_upgrade" on every location unless this annotation
# replaces it (nginx.tmpl), so any value drops the upgrade.

# METADATA
# title: Upgrade violations
# description: >-
#   Everything this family reports, one lib.violation object per finding:
#   the webhook evaluates data.wsdefaults.rules[_].violation. The rules'
#   definitions follow, one section per catalog rule; their helpers come
#   after the last one.
# scope: document
# entrypoint: true
violation contains lib.violation("nginx-upgrade-blocked", lib.annotation_field(key), msg) if {
	input.object.kind == "Ingress"
	lib.is_ingress
	input.annotated.nginx # lib.nginx_annotations is not empty, for the rule index
	value := lib.nginx_annotations["connection-proxy-header"]
	ev := lib.ws_object
	key := concat("", [lib.nginx, "connection-proxy-header"])
	msg := sprintf(
		concat("", [
			"%s is %q: it replaces the \"Connection: upgrade\" header ingress-nginx sends for WebSocket ",
			"handshakes, so the backend never sees the upgrade request. Remove %s.%s",
		]),
		[key, value, key, lib.evidence_note(ev)],
	)
}

# The Upgrade mechanism exists only in HTTP/1.1; nginx's WebSocket proxying
# requires proxy_http_version 1.1 upstream.
violation contains lib.violation("nginx-upgrade-blocked", lib.annotation_field(key), msg) if {
	input.object.kind == "Ingress"
	lib.is_ingress
	input.annotated.nginx # lib.nginx_annotations is not empty, for the rule index
	trim_space(lib.nginx_annotations["proxy-http-version"]) == "1.0"
	ev := lib.ws_object
	key := concat("", [lib.nginx, "proxy-http-version"])
	msg := sprintf(
		concat("", [
			"%s is \"1.0\": HTTP/1.0 has no Upgrade mechanism, so nginx cannot pass the WebSocket handshake to ",
			"the backend. Remove %s (the default is \"1.1\") or set it to \"1.1\".%s",
		]),
		[key, key, lib.evidence_note(ev)],
	)
}

# gRPC and FastCGI backends are proxied with grpc_pass / fastcgi_pass, which
# do not carry the Upgrade handshake (research §1.3, inference from
# backendprotocol/main.go).
violation contains lib.violation("nginx-upgrade-blocked", lib.annotation_field(key), msg) if {
	input.object.kind == "Ingress"
	lib.is_ingress
	input.annotated.nginx # lib.nginx_annotations is not empty, for the rule index
	value := lib.nginx_annotations["backend-protocol"]
	key := concat("", [lib.nginx, "backend-protocol"])
	protocol := upper(trim_space(value))
	protocol in {"GRPC", "GRPCS", "FCGI"}

	# A gRPC-only Ingress is negative evidence: only an explicit or
	# cross-object signal (which outweighs it) makes this one WebSocket.
	ev := lib.ws_object
	fix := http_for(protocol)
	msg := sprintf(
		concat("", [
			"%s is %q: ingress-nginx then proxies with %s, which does not pass the HTTP/1.1 Upgrade handshake, ",
			"so WebSocket connections fail. Set %s to %q (or remove it: the default is HTTP) on the WebSocket ",
			"routes, moving them to an Ingress of their own if the others need %s.%s",
		]),
		[key, value, nginx_directive[protocol], key, fix, protocol, lib.evidence_note(ev)],
	)
}

# ---------------------------------------------------------------------------
# http2-only-port: WebSocket ports whose protocol makes Istio or Linkerd
# speak HTTP/2 to the backend.

# A WebSocket port whose appProtocol makes the mesh speak HTTP/2 upstream.
violation contains lib.violation("http2-only-port", field, msg) if {
	input.object.kind == "Service"
	lib.is_service
	some i, port in object.get(lib.spec, "ports", [])
	lib.ws_evidence(sprintf("spec.ports[%d]", [i])) # first: most ports carry no WebSocket
	app_protocol(port) in h2_app_protocols
	ev := lib.ws_evidence(sprintf("spec.ports[%d]", [i]))
	field := sprintf("spec.ports[%d].appProtocol", [i])
	msg := sprintf(
		concat(" ", [
			"%s is %q on a WebSocket port: Istio and Linkerd then speak HTTP/2 to the backend,",
			"and a WebSocket server that expects the HTTP/1.1 Upgrade handshake cannot accept it.",
			"Set %s to \"http\" (or \"kubernetes.io/wss\" if the port serves TLS).%s",
		]),
		[field, port.appProtocol, field, lib.evidence_note(ev)],
	)
}

# A WebSocket port whose name makes Istio speak HTTP/2 upstream. appProtocol
# wins over the name in Istio, so this only applies while it is unset.
violation contains lib.violation("http2-only-port", field, msg) if {
	input.object.kind == "Service"
	lib.is_service
	some i, port in object.get(lib.spec, "ports", [])
	lib.ws_evidence(sprintf("spec.ports[%d]", [i])) # first: most ports carry no WebSocket
	app_protocol(port) == ""
	protocol := h2_name_protocol(port.name)
	ev := lib.ws_evidence(sprintf("spec.ports[%d]", [i]))
	field := sprintf("spec.ports[%d].name", [i])
	msg := sprintf(
		concat(" ", [
			"%s %q makes Istio treat this WebSocket port as %s and speak HTTP/2 to the backend,",
			"which cannot carry the HTTP/1.1 Upgrade handshake a WebSocket server expects.",
			"Set spec.ports[%d].appProtocol to \"http\" (it takes precedence over the name),",
			"or rename the port without the %s prefix.%s",
		]),
		[field, port.name, protocol, i, protocol, lib.evidence_note(ev)],
	)
}

# ---------------------------------------------------------------------------
# linkerd-http2-protocol: Linkerd Servers declared HTTP/2 only.

# Linkerd serves a Server's port with the protocol it declares; HTTP/2 and
# gRPC leave no room for the HTTP/1.1 Upgrade (research §5, inference).
violation contains lib.violation("linkerd-http2-protocol", "spec.proxyProtocol", msg) if {
	input.object.kind == "Server"
	lib.group == "policy.linkerd.io"
	protocol := lib.spec.proxyProtocol
	protocol in {"HTTP/2", "gRPC"}

	# A gRPC port is declared gRPC on purpose: only a port with evidence.
	ev := lib.ws_evidence("spec.port")
	msg := sprintf(
		concat(" ", [
			"spec.proxyProtocol is %q: Linkerd then handles this port as HTTP/2 only,",
			"so a WebSocket client's HTTP/1.1 Upgrade handshake cannot get through.",
			"Set spec.proxyProtocol to \"HTTP/1\", or remove it to let Linkerd detect the protocol.%s",
		]),
		[protocol, lib.evidence_note(ev)],
	)
}

# ---------------------------------------------------------------------------
# nginx-rewrite-ws-path: ingress-nginx's rewrite-target replaces the request
# path before it reaches the backend: unless the path equals the target,
# the location gets `rewrite "(?i)<path>" <target> break;` (ingress-nginx
# internal/ingress/controller/template/template.go, buildProxyPass), and
# nginx's rewrite replaces the whole URI. A rewrite is how people strip a
# routing prefix, and a capture group (`/ws$2`, `/$2`) can carry the
# WebSocket segment on, so the rule judges only what it can prove: a
# literal target (no $ reference: every request on the path becomes that
# path) that drops the segment the WebSocket evidence came from. Whether
# the server accepts the handshake there is still unknown to a program, so
# its default action is audit.

violation contains lib.violation("nginx-rewrite-ws-path", lib.annotation_field(key), msg) if {
	input.object.kind == "Ingress"
	lib.is_ingress
	input.annotated.nginx # lib.nginx_annotations is not empty, for the rule index
	target := lib.nginx_annotations["rewrite-target"]
	is_string(target)
	not contains(target, "$")
	key := concat("", [lib.nginx, "rewrite-target"])
	some r, rule in object.get(lib.spec, "rules", [])
	some p, path in object.get(rule, ["http", "paths"], [])
	field := sprintf("spec.rules[%d].http.paths[%d]", [r, p])
	ev := lib.ws_evidence(field)
	startswith(ev, "path segment ")
	is_string(path.path)
	trim_suffix(target, "/") != trim_suffix(path.path, "/")
	segment := substring(ev, count("path segment "), -1)
	not segment in path_segments(target)
	msg := sprintf(
		concat(" ", [
			"%s is %q: ingress-nginx rewrites every request on path %q to %q before it reaches the backend,",
			"so the WebSocket handshake arrives without its %q segment, and a server listening on %q refuses it (404 or 400).",
			"Remove %s so the backend receives the path as requested, or give it a target that keeps %q;",
			"if the server accepts WebSocket on %q, set this rule to off for it.%s",
		]),
		[
			key, target, path.path, target, segment, path.path, key, segment, target,
			lib.evidence_note(sprintf("%s: %s", [field, ev])),
		],
	)
}

# ===========================================================================
# Helpers, by rule, in the order of the sections above.

# --- nginx-rewrite-ws-path ---

# The segments of a path as the evidence reads them (webhook/evidence
# PathSegment): lower case, split on anything but letters, digits, '.', '_'
# and '-', dots trimmed.
path_segments(path) := {trim(seg, ".") | some seg in regex.split(`[^a-z0-9._-]+`, lower(path))}

# --- nginx-upgrade-blocked ---

# The nginx directive each backend protocol turns into.
nginx_directive := {"GRPC": "grpc_pass", "GRPCS": "grpc_pass", "FCGI": "fastcgi_pass"}

# A TLS backend keeps TLS when moved off gRPC.
http_for("GRPCS") := "HTTPS"

http_for(protocol) := "HTTP" if protocol != "GRPCS"

# --- http2-only-port ---

# appProtocol values Istio (ConvertProtocol, case-insensitive) and Linkerd
# (kubernetes.io/h2c) turn into HTTP/2 to the backend.
h2_app_protocols := {"http2", "grpc", "grpc-web", "kubernetes.io/h2c"}

# The Istio protocol a port name selects when it is an HTTP/2 one: the name
# is the protocol, or the protocol followed by "-" (grpc-web is checked
# first, as Istio does).
h2_name_protocol(name) := "grpc-web" if prefix_or_equal(lower(name), "grpc-web")

h2_name_protocol(name) := p if {
	n := lower(name)
	not prefix_or_equal(n, "grpc-web")
	some p in ["http2", "grpc"]
	prefix_or_equal(n, p)
}

# n is p, or starts with p and a dash.
prefix_or_equal(n, p) if n == p

prefix_or_equal(n, p) if startswith(n, dashed[p])

dashed := {"http2": "http2-", "grpc": "grpc-", "grpc-web": "grpc-web-"}

# appProtocol as set on a port ("" when unset).
app_protocol(port) := lower(object.get(port, "appProtocol", "")) if {
	is_string(object.get(port, "appProtocol", ""))
} else := ""
