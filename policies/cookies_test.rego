package wsdefaults.rules.cookies_test

import data.wsdefaults.input_test
import data.wsdefaults.rules.cookies

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

# The keys of an object, as the list input.defaulted is.
keys_of(o) := [k | some k, _ in o]

# The rule ids reported.
ids(vs) := {v.rule | some v in vs}

# An Ingress without TLS carrying annotations.
ingress(annotations) := {
	"apiVersion": "networking.k8s.io/v1",
	"kind": "Ingress",
	"metadata": {"name": "ws", "namespace": "chat", "annotations": annotations},
	"spec": {"rules": [{"host": "ws.example.com"}]},
}

# The same Ingress with a spec.tls entry.
tls_ingress(annotations) := object.union(ingress(annotations), {"spec": {"tls": [{"hosts": ["ws.example.com"], "secretName": "ws-tls"}]}})

# A Service with one WebSocket port carrying annotations.
service(annotations) := {
	"apiVersion": "v1",
	"kind": "Service",
	"metadata": {"name": "ws", "namespace": "chat", "annotations": annotations},
	"spec": {"ports": [{"name": "ws", "port": 8080}]},
}

# Annotation keys and their field paths, by controller.
nginx(key) := concat("", ["nginx.ingress.kubernetes.io/", key])

field(key) := sprintf("metadata.annotations[%s]", [key])

traefik(attr) := concat(".", ["traefik.ingress.kubernetes.io/service.sticky.cookie", attr])

sticky := "traefik.ingress.kubernetes.io/service.sticky.cookie"

hi(key) := concat("", ["haproxy-ingress.github.io/", key])

legacy(key) := concat("", ["ingress.kubernetes.io/", key])

haproxy_ingress := "haproxy-ingress.github.io/controller"

# --- affinity-hash-conflict ---

test_affinity_hash_conflict_fires if {
	vs := cookies.violation with input as input_for(ingress({nginx("affinity"): "cookie", nginx("upstream-hash-by"): "$remote_addr"}))
	fired(vs, "affinity-hash-conflict", field(nginx("upstream-hash-by")), "Remove nginx.ingress.kubernetes.io/upstream-hash-by")
}

# The seed guide's "complete" nginx Ingress sets both.
test_affinity_hash_conflict_seed_guide if {
	vs := cookies.violation with input as input_for(tls_ingress({
		nginx("upstream-hash-by"): "$remote_addr",
		nginx("affinity"): "cookie",
		nginx("affinity-mode"): "persistent",
		nginx("session-cookie-name"): "ws-server",
		nginx("session-cookie-expires"): "86400",
		nginx("session-cookie-max-age"): "86400",
		nginx("session-cookie-path"): "/",
	}))
	fired(vs, "affinity-hash-conflict", field(nginx("upstream-hash-by")), "Remove nginx.ingress.kubernetes.io/upstream-hash-by")
}

test_affinity_hash_conflict_affinity_only if {
	vs := cookies.violation with input as input_for(ingress({nginx("affinity"): "cookie"}))
	not "affinity-hash-conflict" in ids(vs)
}

test_affinity_hash_conflict_hash_only if {
	vs := cookies.violation with input as input_for(ingress({nginx("upstream-hash-by"): "$remote_addr"}))
	not "affinity-hash-conflict" in ids(vs)
}

test_affinity_hash_conflict_empty_hash if {
	vs := cookies.violation with input as input_for(ingress({nginx("affinity"): "cookie", nginx("upstream-hash-by"): ""}))
	not "affinity-hash-conflict" in ids(vs)
}

test_affinity_hash_conflict_custom_prefix if {
	doc := input_with(
		ingress({"custom.example.com/affinity": "cookie", "custom.example.com/upstream-hash-by": "$binary_remote_addr"}),
		{"parameters": {"nginxAnnotationPrefix": "custom.example.com"}},
	)
	fired(
		cookies.violation, "affinity-hash-conflict", field("custom.example.com/upstream-hash-by"),
		"Remove custom.example.com/upstream-hash-by",
	) with input as doc
}

test_affinity_hash_conflict_other_prefix_ignored if {
	doc := input_with(
		ingress({nginx("affinity"): "cookie", nginx("upstream-hash-by"): "$remote_addr"}),
		{"parameters": {"nginxAnnotationPrefix": "custom.example.com"}},
	)
	not "affinity-hash-conflict" in ids(cookies.violation) with input as doc
}

test_affinity_hash_conflict_not_on_service if {
	vs := cookies.violation with input as input_for(service({nginx("affinity"): "cookie", nginx("upstream-hash-by"): "$remote_addr"}))
	count(vs) == 0
}

# --- cookie-samesite-none-insecure ---

test_cookie_samesite_none_insecure_nginx_fires if {
	vs := cookies.violation with input as input_for(ingress({nginx("affinity"): "cookie", nginx("session-cookie-samesite"): "None"}))
	fired(vs, "cookie-samesite-none-insecure", field(nginx("session-cookie-samesite")), `Set nginx.ingress.kubernetes.io/session-cookie-secure: "true"`)
}

test_cookie_samesite_none_insecure_nginx_case_variants if {
	every value in ["none", "NONE", "nOnE", " None "] {
		vs := cookies.violation with input as input_for(ingress({nginx("affinity"): "cookie", nginx("session-cookie-samesite"): value}))
		fired(vs, "cookie-samesite-none-insecure", field(nginx("session-cookie-samesite")), `session-cookie-secure: "true"`)
	}
}

test_cookie_samesite_none_insecure_nginx_secure_false if {
	vs := cookies.violation with input as input_for(tls_ingress({nginx("session-cookie-samesite"): "None", nginx("session-cookie-secure"): "false"}))
	fired(vs, "cookie-samesite-none-insecure", field(nginx("session-cookie-samesite")), `session-cookie-secure: "true"`)
}

test_cookie_samesite_none_insecure_nginx_secure if {
	every value in ["true", "True", "1"] {
		vs := cookies.violation with input as input_for(ingress({nginx("session-cookie-samesite"): "None", nginx("session-cookie-secure"): value}))
		not "cookie-samesite-none-insecure" in ids(vs)
	}
}

test_cookie_samesite_none_insecure_nginx_lax if {
	vs := cookies.violation with input as input_for(ingress({nginx("affinity"): "cookie", nginx("session-cookie-samesite"): "Lax"}))
	count(vs) == 0
}

# A policy with SameSite None injects it on an Ingress without TLS, where
# the mutation adds no Secure: not the user's doing.
test_cookie_samesite_none_insecure_nginx_defaulted if {
	doc := input_with(
		ingress({nginx("affinity"): "cookie", nginx("session-cookie-samesite"): "None"}),
		{"controller": "k8s.io/ingress-nginx", "defaulted": [nginx("affinity"), nginx("session-cookie-samesite")]},
	)
	count(cookies.violation) == 0 with input as doc
}

test_cookie_samesite_none_insecure_traefik_fires if {
	vs := cookies.violation with input as input_for(service({sticky: "true", traefik("samesite"): "none"}))
	fired(vs, "cookie-samesite-none-insecure", field(traefik("samesite")), `Set traefik.ingress.kubernetes.io/service.sticky.cookie.secure: "true"`)
}

test_cookie_samesite_none_insecure_traefik_case_variants if {
	every value in ["None", "NONE"] {
		vs := cookies.violation with input as input_for(service({traefik("name"): "ws", traefik("samesite"): value}))
		fired(vs, "cookie-samesite-none-insecure", field(traefik("samesite")), `sticky.cookie.secure: "true"`)
	}
}

test_cookie_samesite_none_insecure_traefik_secure if {
	vs := cookies.violation with input as input_for(service({sticky: "true", traefik("samesite"): "none", traefik("secure"): "true"}))
	count(vs) == 0
}

test_cookie_samesite_none_insecure_traefik_sticky_off if {
	vs := cookies.violation with input as input_for(service({sticky: "false", traefik("samesite"): "none"}))
	count(vs) == 0
}

test_cookie_samesite_none_insecure_traefik_defaulted if {
	doc := input_with(
		service({sticky: "true", traefik("samesite"): "none", traefik("secure"): "false"}),
		{"defaulted": [sticky, traefik("samesite")]},
	)
	not "cookie-samesite-none-insecure" in ids(cookies.violation) with input as doc
}

test_cookie_samesite_none_insecure_traefik_not_on_ingress if {
	vs := cookies.violation with input as input_for(ingress({sticky: "true", traefik("samesite"): "none"}))
	count(vs) == 0
}

# --- sticky-cookie-insecure ---

test_sticky_cookie_insecure_traefik_fires if {
	vs := cookies.violation with input as input_for(service({sticky: "true"}))
	fired(vs, "sticky-cookie-insecure", field(traefik("secure")), `set traefik.ingress.kubernetes.io/service.sticky.cookie.secure: "true"`)
	fired(vs, "sticky-cookie-insecure", field(traefik("secure")), "cannot tell whether its Ingress uses TLS")
}

test_sticky_cookie_insecure_traefik_secure_false if {
	vs := cookies.violation with input as input_for(service({sticky: "true", traefik("secure"): "false"}))
	fired(vs, "sticky-cookie-insecure", field(traefik("secure")), `sticky.cookie.secure: "true"`)
}

test_sticky_cookie_insecure_traefik_attributes_only if {
	vs := cookies.violation with input as input_for(service({traefik("name"): "ws-server", traefik("httponly"): "true"}))
	fired(vs, "sticky-cookie-insecure", field(traefik("secure")), `sticky.cookie.secure: "true"`)
}

test_sticky_cookie_insecure_traefik_secure if {
	every value in ["true", "True", "1"] {
		vs := cookies.violation with input as input_for(service({sticky: "true", traefik("secure"): value}))
		count(vs) == 0
	}
}

test_sticky_cookie_insecure_traefik_disabled if {
	vs := cookies.violation with input as input_for(service({sticky: "false"}))
	count(vs) == 0
}

test_sticky_cookie_insecure_traefik_no_sticky if {
	vs := cookies.violation with input as input_for(service({}))
	count(vs) == 0
}

test_sticky_cookie_insecure_haproxy_ingress_default_keywords if {
	vs := cookies.violation with input as input_for(tls_ingress({hi("affinity"): "cookie"}))
	fired(
		vs, "sticky-cookie-insecure", field(hi("session-cookie-keywords")),
		`haproxy-ingress.github.io/session-cookie-keywords: "indirect nocache httponly secure"`,
	)
}

test_sticky_cookie_insecure_haproxy_ingress_empty_keywords if {
	vs := cookies.violation with input as input_for(tls_ingress({hi("affinity"): "cookie", hi("session-cookie-keywords"): " "}))
	fired(vs, "sticky-cookie-insecure", field(hi("session-cookie-keywords")), `"indirect nocache httponly secure"`)
}

test_sticky_cookie_insecure_haproxy_ingress_keywords_without_secure if {
	vs := cookies.violation with input as input_for(tls_ingress({hi("affinity"): "cookie", hi("session-cookie-keywords"): "indirect nocache"}))
	fired(vs, "sticky-cookie-insecure", field(hi("session-cookie-keywords")), `haproxy-ingress.github.io/session-cookie-keywords: "indirect nocache secure"`)
}

test_sticky_cookie_insecure_haproxy_ingress_legacy_prefix if {
	doc := input_with(
		tls_ingress({legacy("affinity"): "cookie", legacy("session-cookie-keywords"): "indirect nocache httponly"}),
		{"controller": haproxy_ingress},
	)
	fired(
		cookies.violation, "sticky-cookie-insecure", field(legacy("session-cookie-keywords")),
		`ingress.kubernetes.io/session-cookie-keywords: "indirect nocache httponly secure"`,
	) with input as doc
}

test_sticky_cookie_insecure_haproxy_ingress_instance_controller if {
	doc := input_with(tls_ingress({legacy("affinity"): "cookie"}), {"controller": "haproxy-ingress.github.io/controller/internal"})
	fired(cookies.violation, "sticky-cookie-insecure", field(hi("session-cookie-keywords")), `"indirect nocache httponly secure"`) with input as doc
}

# ingress.kubernetes.io/ is shared with other controllers: without
# haproxy-ingress as the controller it says nothing.
test_sticky_cookie_insecure_haproxy_ingress_legacy_prefix_other_controller if {
	doc := input_with(tls_ingress({legacy("affinity"): "cookie"}), {"controller": "haproxy.org/ingress-controller"})
	count(cookies.violation) == 0 with input as doc
}

test_sticky_cookie_insecure_haproxy_ingress_secure_keyword if {
	vs := cookies.violation with input as input_for(tls_ingress({hi("affinity"): "cookie", hi("session-cookie-keywords"): "indirect  nocache httponly secure"}))
	count(vs) == 0
}

test_sticky_cookie_insecure_haproxy_ingress_no_tls if {
	vs := cookies.violation with input as input_for(ingress({hi("affinity"): "cookie"}))
	count(vs) == 0
}

# session-cookie-same-site "true" adds "attr SameSite=None secure".
test_sticky_cookie_insecure_haproxy_ingress_same_site if {
	vs := cookies.violation with input as input_for(tls_ingress({hi("affinity"): "cookie", hi("session-cookie-same-site"): "true"}))
	count(vs) == 0
}

# haproxy-ingress annotations say nothing on an Ingress another controller serves.
test_sticky_cookie_insecure_haproxy_ingress_other_controller if {
	doc := input_with(tls_ingress({hi("affinity"): "cookie"}), {"controller": "k8s.io/ingress-nginx"})
	count(cookies.violation) == 0 with input as doc
}

# The primary prefix wins when both are set.
test_sticky_cookie_insecure_haproxy_ingress_prefix_precedence if {
	safe := cookies.violation with input as input_for(tls_ingress({
		hi("affinity"): "cookie",
		hi("session-cookie-keywords"): "indirect nocache httponly secure",
		legacy("session-cookie-keywords"): "indirect nocache httponly",
	}))
	count(safe) == 0
	unsafe := cookies.violation with input as input_for(tls_ingress({
		hi("affinity"): "cookie",
		hi("session-cookie-keywords"): "indirect nocache httponly",
		legacy("session-cookie-keywords"): "indirect nocache httponly secure",
	}))
	fired(unsafe, "sticky-cookie-insecure", field(hi("session-cookie-keywords")), `"indirect nocache httponly secure"`)
}

# A policy with secureOnTLS off injects the affinity and no keywords.
test_sticky_cookie_insecure_haproxy_ingress_defaulted if {
	doc := input_with(
		tls_ingress({hi("affinity"): "cookie", hi("session-cookie-name"): "ws-server"}),
		{"controller": haproxy_ingress, "defaulted": [hi("affinity"), hi("session-cookie-name")]},
	)
	count(cookies.violation) == 0 with input as doc
}

test_sticky_cookie_insecure_haproxy_ingress_other_affinity if {
	vs := cookies.violation with input as input_for(tls_ingress({hi("affinity"): "source"}))
	count(vs) == 0
}

# --- what the mutation injects with the built-in policy ---

# What the mutation adds to an ingress-nginx Ingress without TLS.
nginx_injected := {
	nginx("proxy-read-timeout"): "3600",
	nginx("proxy-send-timeout"): "3600",
	nginx("affinity"): "cookie",
	nginx("affinity-mode"): "persistent",
	nginx("session-cookie-name"): "ws-server",
	nginx("session-cookie-max-age"): "86400",
	nginx("session-cookie-samesite"): "Lax",
}

test_cookies_mutation_defaults_nginx_tls if {
	annotations := object.union(nginx_injected, {nginx("session-cookie-secure"): "true"})
	doc := input_with(tls_ingress(annotations), {"controller": "k8s.io/ingress-nginx", "defaulted": keys_of(annotations)})
	count(cookies.violation) == 0 with input as doc
}

test_cookies_mutation_defaults_nginx_plain if {
	doc := input_with(ingress(nginx_injected), {"controller": "k8s.io/ingress-nginx", "defaulted": keys_of(nginx_injected)})
	count(cookies.violation) == 0 with input as doc
}

test_cookies_mutation_defaults_haproxy_ingress_tls if {
	annotations := {
		hi("timeout-tunnel"): "1h",
		hi("balance-algorithm"): "leastconn",
		hi("affinity"): "cookie",
		hi("session-cookie-name"): "ws-server",
		hi("session-cookie-keywords"): "indirect nocache httponly secure",
	}
	doc := input_with(tls_ingress(annotations), {"controller": haproxy_ingress, "defaulted": keys_of(annotations)})
	count(cookies.violation) == 0 with input as doc
}

test_cookies_mutation_defaults_traefik_service if {
	annotations := {
		sticky: "true",
		traefik("name"): "ws-server",
		traefik("secure"): "true",
		traefik("httponly"): "true",
		traefik("samesite"): "lax",
		"haproxy.org/cookie-persistence": "ws-server",
		"haproxy.org/load-balance": "leastconn",
		"konghq.com/read-timeout": "3600000",
		"konghq.com/write-timeout": "3600000",
	}
	doc := input_with(service(annotations), {"defaulted": keys_of(annotations)})
	count(cookies.violation) == 0 with input as doc
}

# A policy with SameSite None: Traefik still gets Secure.
test_cookies_mutation_defaults_traefik_samesite_none if {
	annotations := {sticky: "true", traefik("name"): "ws-server", traefik("secure"): "true", traefik("httponly"): "true", traefik("samesite"): "none"}
	doc := input_with(service(annotations), {"defaulted": keys_of(annotations)})
	count(cookies.violation) == 0 with input as doc
}

# Traefik's sticky.cookie is a switch: "true" in any case or empty is on,
# anything else (ParseBool's "1" and "t" included) is off.
test_traefik_sticky_switch_as_traefik_reads_it if {
	every v in ["TRUE", "tRuE", ""] {
		"cookie-samesite-none-insecure" in ids(cookies.violation) with input as input_for(service({sticky: v, traefik("samesite"): "none"}))
	}
	every v in ["1", "t", "yes"] {
		not "cookie-samesite-none-insecure" in ids(cookies.violation) with input as input_for(service({sticky: v, traefik("samesite"): "none"}))
	}
}

# --- nginx-upstream-hash-literal ---------------------------------------------------

test_nginx_upstream_hash_literal_fires if {
	vs := cookies.violation with input as input_for(ingress({"nginx.ingress.kubernetes.io/upstream-hash-by": "remote_addr"}))
	fired(vs, "nginx-upstream-hash-literal", "metadata.annotations[nginx.ingress.kubernetes.io/upstream-hash-by]", "Set it to \"$remote_addr\"")
}

test_nginx_upstream_hash_literal_silent if {
	every v in ["$remote_addr", "${request_uri}-text", "$arg_room$host", ""] {
		vs := cookies.violation with input as input_for(ingress({"nginx.ingress.kubernetes.io/upstream-hash-by": v}))
		not "nginx-upstream-hash-literal" in ids(vs)
	}
}
