# METADATA
# title: Security rules
# description: >-
#   Settings that hand out raw proxy configuration, switch off backend
#   certificate checks, or open credentialed CORS to every website. Scope
#   cluster: they apply whether or not the object opted in, and they never
#   consult input.defaulted, so nothing can be hidden from them.
package wsdefaults.rules.security

import data.wsdefaults.lib

# Spellings Go's strconv.ParseBool reads as true / false: ingress-nginx,
# haproxy-ingress and haproxytech all parse their boolean annotations with it.
bool_true := {"1", "t", "T", "TRUE", "true", "True"}

bool_false := {"0", "f", "F", "FALSE", "false", "False"}

# A value for messages: strings quoted, anything else as JSON.
show(v) := json.marshal(v)

# Annotations under one of prefixes, as [key, name without the prefix].
prefixed(prefixes) := {[key, name] |
	some prefix in prefixes
	some name, _ in lib.by_prefix[prefix]
	key := concat("", [prefix, name])
}

# ---------------------------------------------------------------------------
# nginx-snippet-annotation (research §1.3-1.5): *-snippet annotations are not
# validated at all (ValidateNull, risk Critical) and have leaked every Secret
# the controller can read (CVE-2021-25742, CVE-2023-5043).

# METADATA
# title: Security violations
# description: >-
#   Everything this family reports, one lib.violation object per finding:
#   the webhook evaluates data.wsdefaults.rules[_].violation. The rules'
#   definitions follow, one section per catalog rule; their helpers come
#   after the last one.
# scope: document
# entrypoint: true
violation contains lib.violation("nginx-snippet-annotation", lib.annotation_field(key), msg) if {
	input.annotated.nginx # lib.nginx_annotations is not empty, for the rule index
	some name, _ in lib.nginx_annotations
	endswith(name, "-snippet")
	key := concat("", [lib.nginx, name])
	msg := sprintf(
		concat(" ", [
			"%s injects raw nginx configuration that ingress-nginx does not validate:",
			"whoever can edit this object can rewrite routing for other tenants",
			"and read every Secret the controller can (CVE-2021-25742, CVE-2023-5043). ingress-nginx rates it Critical",
			"and, at its default annotations-risk-level (High, since v1.12), refuses the whole Ingress for it itself;",
			"this rule says so before the controller does. Remove the annotation",
			"and use the dedicated annotations, or a ConfigMap setting owned by the cluster admins, instead.",
		]),
		[key],
	)
}

# ---------------------------------------------------------------------------
# haproxy-config-snippet (research §3.2, §3.3): both HAProxy controllers copy
# these annotations into haproxy.cfg without any validation.

violation contains lib.violation("haproxy-config-snippet", lib.annotation_field(key), snippet_message(key)) if {
	input.annotated.haproxytech # lib.haproxytech_annotated, for the rule index
	lib.haproxytech_annotated
	some [key, name] in prefixed(lib.haproxytech_prefixes)
	name in haproxytech_snippets
}

violation contains lib.violation("haproxy-config-snippet", lib.annotation_field(key), snippet_message(key)) if {
	input.annotated.haproxyIngress # lib.haproxy_ingress_annotated, for the rule index
	lib.haproxy_ingress_annotated
	some [key, name] in prefixed(lib.haproxy_ingress_prefixes)
	haproxy_ingress_snippet(name)
}

# ---------------------------------------------------------------------------
# traefik-insecure-skip-verify (research §2.3): with insecureSkipVerify Go's
# crypto/tls accepts any backend certificate, i.e. TLS to the backend can be
# intercepted. Both API groups (traefik.containo.us is the pre-v3 one).

violation contains lib.violation("traefik-insecure-skip-verify", field, msg) if {
	input.object.kind == "ServersTransport"
	lib.group in traefik_groups
	lib.spec.insecureSkipVerify == true
	field := "spec.insecureSkipVerify"
	msg := skip_verify_message(field, "spec.rootCAs (spec.rootCAsSecrets on older CRDs)", "spec.serverName")
}

violation contains lib.violation("traefik-insecure-skip-verify", field, msg) if {
	input.object.kind == "ServersTransportTCP"
	lib.group in traefik_groups
	lib.spec.tls.insecureSkipVerify == true
	field := "spec.tls.insecureSkipVerify"
	msg := skip_verify_message(field, "spec.tls.rootCAs (spec.tls.rootCAsSecrets on older CRDs)", "spec.tls.serverName")
}

# ---------------------------------------------------------------------------
# cors-wildcard-credentials (research §1.3, §3.3, §2.5, §8): CORS switched on
# for any origin while credentialed requests are allowed. CORS never protects
# the WebSocket handshake itself (RFC 6455 §10.2): the app must check Origin.

# ingress-nginx: credentials default to true and anything ParseBool cannot
# read also falls back to true; the origin defaults to "*" (cors/main.go),
# which the template sends literally: browsers refuse it with credentials
# (Fetch standard, CORS check), so the result is broken, not exposed. Unlike
# haproxy-ingress below, which echoes the request's Origin: exposed.
violation contains lib.violation("cors-wildcard-credentials", lib.annotation_field(enable), msg) if {
	input.annotated.nginx # lib.nginx_annotations is not empty, for the rule index
	lib.nginx_annotations["enable-cors"] in bool_true
	enable := concat("", [lib.nginx, "enable-cors"])
	origin := concat("", [lib.nginx, "cors-allow-origin"])
	wildcard_origin(object.get(lib.annotations, origin, "*"))
	credentials := concat("", [lib.nginx, "cors-allow-credentials"])
	not object.get(lib.annotations, credentials, "true") in bool_false
	msg := sprintf(
		concat(" ", [
			"%s turns CORS on while %s and %s is not \"false\" (ingress-nginx defaults it to true):",
			"ingress-nginx then sends a literal Access-Control-Allow-Origin * together with Allow-Credentials true,",
			"and browsers refuse every credentialed cross-origin response that carries the wildcard,",
			"so the calls with cookies this configuration is meant to allow fail (broken rather than exposed);",
			"it also does nothing for WebSockets, whose Origin only the app can check.",
			"Set %s to the exact origins you trust (e.g. \"https://app.example.com\"), or set %s to \"false\".",
		]),
		[enable, origin_text(origin), credentials, origin, credentials],
	)
}

# haproxy-ingress (both prefixes): see haproxy_ingress_cors below.
violation contains lib.violation("cors-wildcard-credentials", lib.annotation_field(enable), msg) if {
	input.annotated.haproxyIngress # lib.haproxy_ingress_annotated, for the rule index
	lib.haproxy_ingress_annotated
	some [enable, origin, credentials] in haproxy_ingress_cors
	msg := sprintf(
		concat(" ", [
			"%s turns CORS on while %s and %s is not \"false\" (haproxy-ingress defaults it to true):",
			"haproxy-ingress echoes any request Origin back with Allow-Credentials true,",
			"so every website can read this host's responses with the user's cookies,",
			"and CORS does nothing for WebSockets, whose Origin only the app can check.",
			"Set %s to the exact origins you trust (e.g. \"https://app.example.com\"), or set %s to \"false\".",
		]),
		[enable, origin_text(origin), credentials, origin, credentials],
	)
}

# haproxytech (three prefixes): credentials default to false, so only an
# explicit true is a problem. ingress.kubernetes.io/ is shared with
# haproxy-ingress: when that branch already reports the key, this one stays
# quiet so the object gets one violation for one mistake.
violation contains lib.violation("cors-wildcard-credentials", lib.annotation_field(enable), msg) if {
	input.annotated.haproxytech # lib.haproxytech_annotated, for the rule index
	lib.haproxytech_annotated
	enable := first_set(keys_of(lib.haproxytech_prefixes, "cors-enable"))
	lib.annotations[enable] in bool_true
	not enable in {e | some [e, _, _] in haproxy_ingress_cors}
	prefix := trim_suffix(enable, "cors-enable")
	origin := key_of(lib.haproxytech_prefixes, "cors-allow-origin", prefix)
	wildcard_origin(object.get(lib.annotations, origin, "*"))
	credentials := first_set(keys_of(lib.haproxytech_prefixes, "cors-allow-credentials"))
	lib.annotations[credentials] in bool_true
	msg := sprintf(
		concat(" ", [
			"%s turns CORS on while %s and %s is %s: allowing every origin together with credentials opens",
			"this host's responses to any website's scripts (or breaks credentialed calls in browsers),",
			"and CORS does nothing for WebSockets, whose Origin only the app can check.",
			"Set %s to the exact origins you trust (e.g. \"https://app.example.com\"), or set %s to \"false\".",
		]),
		[enable, origin_text(origin), credentials, show(lib.annotations[credentials]), origin, credentials],
	)
}

# Traefik Headers middleware (research §2.5): "*" in the origin list matches
# every request; with credentials on that is a credentialed wildcard.
violation contains lib.violation("cors-wildcard-credentials", "spec.headers.accessControlAllowOriginList", msg) if {
	input.object.kind == "Middleware"
	lib.group in traefik_groups
	headers := lib.spec.headers
	headers.accessControlAllowCredentials == true
	"*" in headers.accessControlAllowOriginList
	msg := concat(" ", [
		"spec.headers.accessControlAllowOriginList contains \"*\"",
		"while spec.headers.accessControlAllowCredentials is true: every website may then make",
		"credentialed cross-origin calls to the routes behind this middleware (or browsers refuse them),",
		"and CORS does nothing for WebSockets, whose Origin only the app can check.",
		"Replace \"*\" with the exact origins you trust (e.g. \"https://app.example.com\"),",
		"or set accessControlAllowCredentials to false.",
	])
}

# ===========================================================================
# Helpers, by rule, in the order of the sections above.

# --- haproxy-config-snippet ---

haproxytech_snippets := {"backend-config-snippet", "frontend-config-snippet"}

# haproxy-ingress: config-backend, config-backend-early, config-backend-late
# and config-defaults.
haproxy_ingress_snippet(name) if startswith(name, "config-backend")

haproxy_ingress_snippet("config-defaults")

snippet_message(key) := sprintf(
	concat(" ", [
		"%s is raw HAProxy configuration that the controller copies into haproxy.cfg without validation:",
		"whoever can edit this object can change routing, TLS or ACLs of the shared proxy,",
		"or break its reload for everyone. Remove the annotation and use the controller's dedicated",
		"annotations (or a ConfigMap/CR setting owned by the cluster admins) instead.",
	]),
	[key],
)

# --- traefik-insecure-skip-verify ---

traefik_groups := {"traefik.io", "traefik.containo.us"}

skip_verify_message(field, ca_field, name_field) := sprintf(
	concat(" ", [
		"%s is true: Traefik then accepts any certificate the backend presents,",
		"so anyone on the network path can impersonate the backend and read or alter the (WebSocket)",
		"traffic it forwards. Remove the field (or set it to false) and trust the backend's CA with %s,",
		"plus %s if the certificate's name differs from the address.",
	]),
	[field, ca_field, name_field],
)

# --- cors-wildcard-credentials ---

# A comma-separated origin list that contains the wildcard.
wildcard_origin(list) if {
	is_string(list)
	some origin in split(list, ",")
	trim_space(origin) == "*"
}

# The origin annotation as messages show it.
origin_text(key) := sprintf("%s is %s", [key, show(lib.annotations[key])]) if {
	key in lib.annotation_keys
} else := sprintf("%s is unset (it defaults to \"*\")", [key])

# The first of keys that the object sets, in the controller's precedence
# order; undefined when none is set.
first_set(keys) := present[0] if {
	present := [k | some k in keys; k in lib.annotation_keys]
	count(present) > 0
}

# The annotation keys of name under each prefix, in precedence order.
keys_of(prefixes, name) := [concat("", [p, name]) | some p in prefixes]

# The key of name that the object sets (first prefix wins), else name under
# fallback: the key a message should tell the user to set.
key_of(prefixes, name, fallback) := first_set(keys_of(prefixes, name)) if {
	first_set(keys_of(prefixes, name))
} else := concat("", [fallback, name])

# haproxy-ingress (both prefixes): the allowed origin defaults to "*" and the
# Origin header is copied into Access-Control-Allow-Origin; credentials
# default to true, and any set value other than a ParseBool true is false.
haproxy_ingress_cors contains [enable, origin, credentials] if {
	input.annotated.haproxyIngress # lib.haproxy_ingress_annotated, for the rule index
	lib.haproxy_ingress_annotated
	enable := first_set(keys_of(lib.haproxy_ingress_prefixes, "cors-enable"))
	lib.annotations[enable] in bool_true
	prefix := trim_suffix(enable, "cors-enable")
	origin := key_of(lib.haproxy_ingress_prefixes, "cors-allow-origin", prefix)
	wildcard_origin(object.get(lib.annotations, origin, "*"))
	credentials := key_of(lib.haproxy_ingress_prefixes, "cors-allow-credentials", prefix)
	object.get(lib.annotations, credentials, "true") in bool_true
}
