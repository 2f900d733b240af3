# METADATA
# title: Session-affinity cookies
# description: >-
#   Sticky cookies that are ignored, or that leak or get dropped because they
#   are not Secure (research §1.3, §2.1, §3.3).
package wsdefaults.rules.cookies

import data.wsdefaults.lib

# Values Go's strconv.ParseBool reads as true: ingress-nginx (ValidateBool)
# and Traefik (label.Decode) both parse booleans with it.
true_values := {"1", "t", "T", "TRUE", "true", "True"}

is_true(v) if v in true_values

# ---------------------------------------------------------------------------
# affinity-hash-conflict: the ingress-nginx balancer uses cookie affinity and
# never looks at the hash when both are set (lua/balancer.lua
# get_implementation).

# METADATA
# title: Cookie violations
# description: >-
#   Everything this family reports, one lib.violation object per finding:
#   the webhook evaluates data.wsdefaults.rules[_].violation. The rules'
#   definitions follow, one section per catalog rule; their helpers come
#   after the last one.
# scope: document
# entrypoint: true
violation contains lib.violation("affinity-hash-conflict", lib.annotation_field(hash_key), msg) if {
	input.object.kind == "Ingress"
	lib.is_ingress
	input.annotated.nginx # lib.nginx_annotations is not empty, for the rule index
	trim_space(lib.nginx_annotations.affinity) == "cookie"
	trim_space(lib.nginx_annotations["upstream-hash-by"]) != ""
	affinity_key := concat("", [lib.nginx, "affinity"])
	hash_key := concat("", [lib.nginx, "upstream-hash-by"])
	msg := sprintf(
		concat(" ", [
			"%s is ignored because %s is \"cookie\": ingress-nginx",
			"then balances WebSocket connections by the affinity cookie only. Remove %s,",
			"or remove %s (and its session-cookie-* annotations) to balance by the hash.",
		]),
		[hash_key, affinity_key, hash_key, affinity_key],
	)
}

# ---------------------------------------------------------------------------
# cookie-samesite-none-insecure: SameSite=None affinity cookies without
# Secure.

# ingress-nginx: browsers drop a SameSite=None cookie that is not Secure, so
# affinity silently stops working (rfc6265bis). Skipped when the mutation
# injected SameSite None itself (a policy choice).
violation contains lib.violation("cookie-samesite-none-insecure", lib.annotation_field(samesite_key), msg) if {
	input.object.kind == "Ingress"
	lib.is_ingress
	input.annotated.nginx # lib.nginx_annotations is not empty, for the rule index
	lower(trim_space(lib.nginx_annotations["session-cookie-samesite"])) == "none"
	samesite_key := concat("", [lib.nginx, "session-cookie-samesite"])
	not lib.defaulted(samesite_key)
	secure_key := concat("", [lib.nginx, "session-cookie-secure"])
	not is_true(object.get(lib.annotations, secure_key, ""))
	msg := sprintf(
		concat(" ", [
			"%s is None but %s is not \"true\": browsers reject a SameSite=None cookie that is",
			"not Secure (ingress-nginx marks it Secure itself only when it terminates TLS),",
			"so WebSocket reconnects lose their affinity. Set %s: \"true\" (or use SameSite Lax).",
		]),
		[samesite_key, secure_key, secure_key],
	)
}

# Traefik: the same browser rule for the Service's sticky cookie, which
# Traefik never marks Secure by default (http_config.go Cookie).
violation contains lib.violation("cookie-samesite-none-insecure", lib.annotation_field(samesite_key), msg) if {
	input.object.kind == "Service"
	lib.is_service
	input.annotated.traefik # traefik_sticky_on needs a Traefik annotation, for the rule index
	traefik_sticky_on
	samesite_key := traefik_cookie_key("samesite")
	lower(trim_space(lib.annotations[samesite_key])) == "none"
	not lib.defaulted(samesite_key)
	not traefik_secure
	secure_key := traefik_cookie_key("secure")
	msg := sprintf(
		concat(" ", [
			"%s is none but %s is not \"true\": browsers reject a SameSite=None cookie without Secure,",
			"so WebSocket reconnects lose their sticky backend. Set %s: \"true\" (or use samesite lax).",
		]),
		[samesite_key, secure_key, secure_key],
	)
}

# ---------------------------------------------------------------------------
# sticky-cookie-insecure: affinity cookies without Secure on TLS hosts.

# Traefik: a sticky cookie is not Secure unless annotated. A Service cannot
# see whether the Ingress in front of it has TLS, so this warns whenever the
# cookie is not Secure.
violation contains lib.violation("sticky-cookie-insecure", lib.annotation_field(secure_key), msg) if {
	input.object.kind == "Service"
	lib.is_service
	input.annotated.traefik # traefik_sticky_on needs a Traefik annotation, for the rule index
	traefik_sticky_on
	not traefik_secure
	secure_key := traefik_cookie_key("secure")
	not lib.defaulted(secure_key)
	msg := sprintf(
		concat(" ", [
			"The Traefik sticky cookie is not Secure because %s is not \"true\",",
			"so on a TLS host browsers also send it over plain http/ws, where it can be read",
			"and used to hijack the session. This Service cannot tell whether its Ingress uses TLS;",
			"if it does, set %s: \"true\".",
		]),
		[secure_key, secure_key],
	)
}

# haproxy-ingress: on a TLS Ingress the affinity cookie lacks Secure unless
# the keywords say so; its default keywords "indirect nocache httponly" do
# not. Skipped when the affinity itself was injected without keywords (a
# policy with secureOnTLS off).
violation contains lib.violation("sticky-cookie-insecure", lib.annotation_field(haproxy_keywords_key), msg) if {
	input.object.kind == "Ingress"
	lib.is_ingress
	input.annotated.haproxyIngress # lib.haproxy_ingress_annotated, for the rule index
	lib.haproxy_ingress_annotated
	lib.has_tls
	affinity_key := haproxy_ingress_key("affinity")
	haproxy_ingress_serves(affinity_key)
	trim_space(lib.annotations[affinity_key]) == "cookie"
	not haproxy_same_site_secure
	not "secure" in regex.split(`\s+`, haproxy_keywords)
	not lib.defaulted(haproxy_keywords_key)
	not injected_without_keywords(affinity_key)
	msg := sprintf(
		concat(" ", [
			"The haproxy-ingress affinity cookie on this TLS Ingress has the keywords %s, without secure:",
			"browsers would also send it over plain http/ws, where it can be read and used to pin",
			"or hijack the session. Set %s: \"%s secure\".",
		]),
		[haproxy_keywords_shown, haproxy_keywords_key, haproxy_keywords],
	)
}

# ---------------------------------------------------------------------------
# nginx-upstream-hash-literal: ingress-nginx builds the consistent-hash key
# from upstream-hash-by with util.parse_complex_value and
# generate_var_value (rootfs/etc/nginx/lua/balancer/chash.lua, util.lua):
# text without a $variable is taken literally, so every request gets the
# same key and goes to the same replica. The annotation's validator
# (upstreamhashby/main.go, [A-Za-z0-9-_${}]*) accepts such a value.

violation contains lib.violation("nginx-upstream-hash-literal", lib.annotation_field(key), msg) if {
	input.annotated.nginx # lib.nginx_annotations is not empty, for the rule index
	value := lib.nginx_annotations["upstream-hash-by"]
	is_string(value)
	trim_space(value) != ""
	not contains(value, "$")
	key := concat("", [lib.nginx, "upstream-hash-by"])
	msg := sprintf(
		concat(" ", [
			"%s is %q, which names no nginx variable: ingress-nginx hashes every request by that fixed text,",
			"so all connections, WebSockets included, go to one replica. Set it to \"$%s\" if you meant that",
			"variable (e.g. \"$remote_addr\" or \"$arg_room\"), or remove it.",
		]),
		[key, value, trim_space(value)],
	)
}

# ===========================================================================
# Helpers, by rule, in the order of the sections above.

# --- cookie-samesite-none-insecure and sticky-cookie-insecure (Traefik) ---

# Traefik reads sticky cookies from annotations on the Service.
traefik_cookie := "traefik.ingress.kubernetes.io/service.sticky.cookie"

traefik_cookie_key(attr) := concat(".", [traefik_cookie, attr])

# Traefik creates the sticky cookie when service.sticky.cookie is a switch
# that is on (paerser's allowEmpty section: "true" in any case, or empty;
# anything else is off, "1" included), or when only its attributes (.name,
# .secure, …) are given.
traefik_sticky_on if traefik_switch_on(lib.annotations[traefik_cookie])

traefik_sticky_on if {
	not traefik_cookie in lib.annotation_keys
	some name, _ in lib.by_prefix["traefik.ingress.kubernetes.io/"]
	startswith(name, "service.sticky.cookie.")
}

traefik_switch_on(v) if lower(trim_space(v)) == "true"

traefik_switch_on("")

# Whether the Traefik sticky cookie is marked Secure.
traefik_secure if is_true(lib.annotations[traefik_cookie_key("secure")])

# --- sticky-cookie-insecure (haproxy-ingress) ---

# The haproxy-ingress annotation for name that wins: haproxy-ingress reads
# its prefixes in order and keeps the first one found.
haproxy_ingress_key(name) := key if {
	keys := [k |
		some prefix in lib.haproxy_ingress_prefixes
		k := concat("", [prefix, name])
		k in lib.annotation_keys
	]
	key := keys[0]
}

# haproxy-ingress is the controller, or the controller is unknown and the
# annotation uses haproxy-ingress's own prefix (ingress.kubernetes.io/ alone
# is shared with other controllers).
haproxy_ingress_serves(_) if lib.controller_is("haproxy-ingress.github.io/controller")

haproxy_ingress_serves(key) if {
	input.controller == ""
	startswith(key, "haproxy-ingress.github.io/")
}

# The keywords haproxy-ingress puts on its cookie line: the annotation, or
# its default when unset or empty (annotations/backend.go).
default haproxy_keywords := "indirect nocache httponly"

haproxy_keywords := v if {
	v := trim_space(lib.annotations[haproxy_ingress_key("session-cookie-keywords")])
	v != ""
}

# How the message names the keywords in use.
haproxy_keywords_shown := sprintf("\"%s\"", [haproxy_keywords]) if {
	trim_space(lib.annotations[haproxy_ingress_key("session-cookie-keywords")]) != ""
} else := sprintf("\"%s\" (its default)", [haproxy_keywords])

# The keywords annotation in use, or the primary key to set when none is.
default haproxy_keywords_key := "haproxy-ingress.github.io/session-cookie-keywords"

haproxy_keywords_key := haproxy_ingress_key("session-cookie-keywords")

# session-cookie-same-site "true" makes haproxy-ingress add
# "attr SameSite=None secure" itself (haproxy.tmpl).
haproxy_same_site_secure if lib.annotations[haproxy_ingress_key("session-cookie-same-site")] == "true"

# The mutation added the affinity and left the keywords to their default.
injected_without_keywords(affinity_key) if {
	lib.defaulted(affinity_key)
	not haproxy_ingress_key("session-cookie-keywords")
}
