# METADATA
# title: Deprecated APIs and annotations for another controller
# description: >-
#   Objects and annotations that the controller in front of them ignores or
#   will stop reading (research §2.4, §5, §6, §8).
package wsdefaults.rules.deprecations

import data.wsdefaults.lib

# ---------------------------------------------------------------------------
# traefik-legacy-api-group: Traefik deprecated traefik.containo.us in v2.10
# and removed it in v3, which then ignores these objects.

# METADATA
# title: Deprecation violations
# description: >-
#   Everything this family reports, one lib.violation object per finding:
#   the webhook evaluates data.wsdefaults.rules[_].violation. The rules'
#   definitions follow, one section per catalog rule; their helpers come
#   after the last one.
# scope: document
# entrypoint: true
violation contains lib.violation("traefik-legacy-api-group", "apiVersion", msg) if {
	startswith(input.object.apiVersion, "traefik.containo.us/") # lib.group == "traefik.containo.us", for the rule index
	msg := sprintf(
		concat(" ", [
			"apiVersion %s is in the traefik.containo.us API group, which Traefik deprecated in v2.10 and",
			"removed in v3: Traefik v3 ignores this %s, so its routes and WebSocket settings silently disappear.",
			"Set apiVersion to traefik.io/v1alpha1 (the same kinds exist there).",
		]),
		[lib.obj.apiVersion, lib.kind],
	)
}

# ---------------------------------------------------------------------------
# linkerd-server-authorization-deprecated

# Linkerd prefers AuthorizationPolicy and has announced that
# ServerAuthorization will be deprecated (reference/authorization-policy.md).
violation contains lib.violation("linkerd-server-authorization-deprecated", "kind", msg) if {
	input.object.kind == "ServerAuthorization"
	lib.group == "policy.linkerd.io"
	msg := concat(" ", [
		"ServerAuthorization is Linkerd's legacy way to authorize clients of a Server:",
		"Linkerd prefers AuthorizationPolicy and says ServerAuthorization will be deprecated,",
		"so this access rule may stop being enforced after an upgrade.",
		"Replace it with a policy.linkerd.io/v1alpha1 AuthorizationPolicy whose targetRef is the Server",
		"and whose requiredAuthenticationRefs name a MeshTLSAuthentication (or NetworkAuthentication)",
		"for the same clients.",
	])
}

# ---------------------------------------------------------------------------
# foreign-controller-annotation: annotations the controller in front of the
# object does not read.

# F5 NGINX Ingress Controller's WebSocket annotation; ingress-nginx has no
# such key and proxies WebSockets without one.
violation contains lib.violation("foreign-controller-annotation", lib.annotation_field(key), msg) if {
	input.object.kind == "Ingress"
	lib.is_ingress
	key := "nginx.org/websocket-services"
	_ = input.object.metadata.annotations[key] # key in lib.annotation_keys, for the rule index
	startswith(input.controller, "k8s.io/ingress-nginx") # lib.controller_is, for the rule index
	lib.controller_is("k8s.io/ingress-nginx")
	msg := sprintf(
		concat(" ", [
			"%s is an F5 NGINX Ingress Controller annotation; ingress-nginx, which serves this Ingress,",
			"ignores it (it proxies WebSockets without one) and closes idle WebSockets after 60 s",
			"unless its timeouts are raised. Remove %s and set %sproxy-read-timeout",
			"and %sproxy-send-timeout to \"3600\".",
		]),
		[key, key, lib.nginx, lib.nginx],
	)
}

# Kong has no send-timeout annotation (kong/kubernetes-ingress-controller#6300).
violation contains lib.violation("foreign-controller-annotation", lib.annotation_field(key), msg) if {
	input.annotated.kong # a konghq.com/ annotation, for the rule index
	key := "konghq.com/send-timeout"
	key in lib.annotation_keys
	msg := sprintf(
		concat(" ", [
			"%s does not exist, so Kong ignores it and keeps its default write timeout for WebSocket connections.",
			"Use konghq.com/write-timeout instead, in milliseconds (e.g. \"3600000\" for one hour).",
		]),
		[key],
	)
}

# Kong reads these as milliseconds, so a value under 1000 (one second) was
# almost certainly meant as seconds.
violation contains lib.violation("foreign-controller-annotation", lib.annotation_field(key), msg) if {
	input.annotated.kong # a konghq.com/ annotation, for the rule index
	some key in kong_timeouts
	value := trim_space(lib.annotations[key])
	lib.is_int(value)
	ms := to_number(value)
	ms < 1000
	msg := sprintf(
		"%s is %q, but Kong reads it in milliseconds (%v s): %s. Set it in milliseconds: %s: %q.",
		[key, value, ms / 1000, kong_effect[key], key, as_milliseconds(ms)],
	)
}

# ---------------------------------------------------------------------------
# kong-ingress-proxy-ignored: Kong Ingress Controller 3.0 removed the
# KongIngress proxy and route sections (CHANGELOG 3.0.0, #4760; newer CRDs
# refuse them by CEL, and the admission handler only warns); their settings,
# timeouts included, are ignored. Service annotations carry them now.

violation contains lib.violation("kong-ingress-proxy-ignored", sprintf("%s.%s", [section, name]), msg) if {
	input.object.kind == "KongIngress"
	lib.group == "configuration.konghq.com"
	some section in ["proxy", "route"]
	some name, value in object.get(input.object, section, {})
	msg := sprintf(
		concat(" ", [
			"%s.%s is %s: Kong Ingress Controller 3.0 and later ignore the KongIngress %s section,",
			"so Kong keeps its default. %s",
		]),
		[section, name, json.marshal(value), section, kong_fix(section, name, value)],
	)
}

# ===========================================================================
# Helpers, by rule, in the order of the sections above.

# --- foreign-controller-annotation ---

# Kong's timeout annotations whose unit is milliseconds.
kong_timeouts := {"konghq.com/connect-timeout", "konghq.com/read-timeout", "konghq.com/write-timeout"}

# What a too-short Kong timeout does to WebSocket traffic.
kong_effect := {
	"konghq.com/connect-timeout": "Kong gives up connecting to the backend after that short a time",
	"konghq.com/read-timeout": "a WebSocket whose backend stays silent that long is closed",
	"konghq.com/write-timeout": "a WebSocket whose client sends nothing for that long is closed",
}

# The millisecond value for a number meant as seconds; one hour when the
# number is not a positive duration at all.
as_milliseconds(n) := sprintf("%d", [n * 1000]) if n > 0

as_milliseconds(n) := "3600000" if n <= 0

# --- kong-ingress-proxy-ignored ---

# The Service annotation that replaces a proxy field (KIC annotations.go).
kong_proxy_annotation := {
	"read_timeout": "konghq.com/read-timeout",
	"write_timeout": "konghq.com/write-timeout",
	"connect_timeout": "konghq.com/connect-timeout",
	"retries": "konghq.com/retries",
	"path": "konghq.com/path",
	"protocol": "konghq.com/protocol",
}

kong_fix("proxy", name, value) := sprintf(
	"Set %s: %s on the Service instead (timeouts in milliseconds) and remove proxy.%s.",
	[kong_proxy_annotation[name], json.marshal(annotation_text(value)), name],
)

kong_fix(section, name, _) := sprintf(
	"Use the konghq.com/ annotation for it on the Service (proxy) or the Ingress (route) instead, and remove %s.%s.",
	[section, name],
) if {
	not kong_proxy_annotation[name]
}

kong_fix("route", name, _) := sprintf(
	"Use the konghq.com/ annotation for it on the Ingress instead, and remove route.%s.",
	[name],
) if {
	kong_proxy_annotation[name]
}

# An annotation value for a KongIngress field value (integers in full, not
# in exponent form).
annotation_text(v) := format_int(v, 10) if {
	is_number(v)
	v == floor(v)
} else := sprintf("%v", [v])
