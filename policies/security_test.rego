package wsdefaults.rules.security_test

import data.wsdefaults.input_test
import data.wsdefaults.rules.security

# A full input document with the README's defaults around obj.
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

ingress(annotations) := {
	"apiVersion": "networking.k8s.io/v1",
	"kind": "Ingress",
	"metadata": {"name": "chat", "namespace": "chat", "annotations": annotations},
	"spec": {"rules": [{"host": "ws.example.com"}], "tls": [{"hosts": ["ws.example.com"], "secretName": "ws-tls"}]},
}

service(annotations) := {
	"apiVersion": "v1",
	"kind": "Service",
	"metadata": {"name": "chat", "namespace": "chat", "annotations": annotations},
	"spec": {"ports": [{"name": "ws", "port": 8080}]},
}

traefik(group, kind, spec) := {
	"apiVersion": concat("", [group, "/v1alpha1"]),
	"kind": kind,
	"metadata": {"name": "t", "namespace": "chat"},
	"spec": spec,
}

# The rule fired on field with a message that contains fix.
fires(vs, rule, field, fix) if {
	some v in vs
	v.rule == rule
	v.field == field
	contains(v.message, fix)
}

silent(vs, rule) if count([v | some v in vs; v.rule == rule]) == 0

# --- nginx-snippet-annotation -----------------------------------------------

test_nginx_snippet_annotation_each_snippet if {
	every name in ["configuration-snippet", "server-snippet", "auth-snippet", "stream-snippet", "modsecurity-snippet"] {
		key := concat("", ["nginx.ingress.kubernetes.io/", name])
		fires(
			security.violation, "nginx-snippet-annotation", sprintf("metadata.annotations[%s]", [key]),
			"Remove the annotation",
		) with input as input_for(ingress({key: "more_set_headers \"X: y\";"}))
	}
}

test_nginx_snippet_annotation_compliant if {
	silent(security.violation, "nginx-snippet-annotation") with input as input_for(ingress({"nginx.ingress.kubernetes.io/proxy-read-timeout": "3600"}))
}

test_nginx_snippet_annotation_custom_prefix if {
	obj := ingress({"nginx.example.com/server-snippet": "x", "nginx.ingress.kubernetes.io/server-snippet": "y"})
	doc := input_test.complete(json.patch(input_for(obj), [{"op": "replace", "path": "/parameters/nginxAnnotationPrefix", "value": "nginx.example.com"}]))
	vs := security.violation with input as doc
	fires(vs, "nginx-snippet-annotation", "metadata.annotations[nginx.example.com/server-snippet]", "Remove the annotation")
	not fires(vs, "nginx-snippet-annotation", "metadata.annotations[nginx.ingress.kubernetes.io/server-snippet]", "")
}

test_nginx_snippet_annotation_other_controllers_ignored if {
	silent(security.violation, "nginx-snippet-annotation") with input as input_for(ingress({"nginx.org/server-snippets": "x", "haproxy.org/server-snippet": "y"}))
}

# --- haproxy-config-snippet --------------------------------------------------

test_haproxy_config_snippet_haproxytech_all_prefixes if {
	every prefix in ["haproxy.org/", "haproxy.com/", "ingress.kubernetes.io/"] {
		every name in ["backend-config-snippet", "frontend-config-snippet"] {
			key := concat("", [prefix, name])
			fires(
				security.violation, "haproxy-config-snippet", sprintf("metadata.annotations[%s]", [key]),
				"Remove the annotation",
			) with input as input_for(service({key: "http-request deny"}))
		}
	}
}

test_haproxy_config_snippet_haproxy_ingress_both_prefixes if {
	every prefix in ["haproxy-ingress.github.io/", "ingress.kubernetes.io/"] {
		every name in ["config-backend", "config-backend-early", "config-backend-late", "config-defaults"] {
			key := concat("", [prefix, name])
			fires(
				security.violation, "haproxy-config-snippet", sprintf("metadata.annotations[%s]", [key]),
				"Remove the annotation",
			) with input as input_for(ingress({key: "acl x path /"}))
		}
	}
}

test_haproxy_config_snippet_compliant if {
	silent(security.violation, "haproxy-config-snippet") with input as input_for(ingress({
		"haproxy.org/load-balance": "leastconn",
		"haproxy-ingress.github.io/timeout-tunnel": "1h",
		"haproxy-ingress.github.io/config-frontend-ish": "x",
		"example.com/backend-config-snippet": "x",
	}))
}

# --- traefik-insecure-skip-verify ----------------------------------------------

test_traefik_insecure_skip_verify_servers_transport if {
	every group in ["traefik.io", "traefik.containo.us"] {
		fires(
			security.violation, "traefik-insecure-skip-verify", "spec.insecureSkipVerify",
			"Remove the field",
		) with input as input_for(traefik(group, "ServersTransport", {"insecureSkipVerify": true}))
	}
}

test_traefik_insecure_skip_verify_servers_transport_tcp if {
	every group in ["traefik.io", "traefik.containo.us"] {
		fires(
			security.violation, "traefik-insecure-skip-verify", "spec.tls.insecureSkipVerify",
			"spec.tls.rootCAs",
		) with input as input_for(traefik(group, "ServersTransportTCP", {"tls": {"insecureSkipVerify": true}}))
	}
}

test_traefik_insecure_skip_verify_compliant if {
	every obj in [
		traefik("traefik.io", "ServersTransport", {"insecureSkipVerify": false, "serverName": "api"}),
		traefik("traefik.io", "ServersTransport", {"rootCAs": [{"secret": "ca"}]}),
		traefik("traefik.io", "ServersTransportTCP", {"tls": {"serverName": "db"}}),
	] {
		silent(security.violation, "traefik-insecure-skip-verify") with input as input_for(obj)
	}
}

test_traefik_insecure_skip_verify_other_group_ignored if {
	silent(security.violation, "traefik-insecure-skip-verify") with input as input_for(traefik("example.com", "ServersTransport", {"insecureSkipVerify": true}))
}

# --- cors-wildcard-credentials -------------------------------------------------

nginx_cors := "metadata.annotations[nginx.ingress.kubernetes.io/enable-cors]"

test_cors_wildcard_credentials_nginx_defaults if {
	fires(
		security.violation, "cors-wildcard-credentials", nginx_cors,
		"set nginx.ingress.kubernetes.io/cors-allow-credentials to \"false\"",
	) with input as input_for(ingress({"nginx.ingress.kubernetes.io/enable-cors": "true"}))
}

test_cors_wildcard_credentials_nginx_explicit_wildcard if {
	fires(
		security.violation,
		"cors-wildcard-credentials", nginx_cors, "Set nginx.ingress.kubernetes.io/cors-allow-origin to the exact origins",
	) with input as input_for(ingress({
		"nginx.ingress.kubernetes.io/enable-cors": "true",
		"nginx.ingress.kubernetes.io/cors-allow-origin": "*",
		"nginx.ingress.kubernetes.io/cors-allow-credentials": "true",
	}))
}

test_cors_wildcard_credentials_nginx_wildcard_among_origins if {
	fires(
		security.violation,
		"cors-wildcard-credentials", nginx_cors, "cors-allow-credentials to \"false\"",
	) with input as input_for(ingress({
		"nginx.ingress.kubernetes.io/enable-cors": "true",
		"nginx.ingress.kubernetes.io/cors-allow-origin": "https://app.example.com, *",
	}))
}

test_cors_wildcard_credentials_nginx_invalid_credentials_fall_back_to_true if {
	fires(security.violation, "cors-wildcard-credentials", nginx_cors, "\"false\"") with input as input_for(ingress({
		"nginx.ingress.kubernetes.io/enable-cors": "True",
		"nginx.ingress.kubernetes.io/cors-allow-credentials": "no",
	}))
}

test_cors_wildcard_credentials_nginx_credentials_false if {
	every f in ["false", "False", "0"] {
		silent(security.violation, "cors-wildcard-credentials") with input as input_for(ingress({
			"nginx.ingress.kubernetes.io/enable-cors": "true",
			"nginx.ingress.kubernetes.io/cors-allow-credentials": f,
		}))
	}
}

test_cors_wildcard_credentials_nginx_explicit_origins if {
	silent(security.violation, "cors-wildcard-credentials") with input as input_for(ingress({
		"nginx.ingress.kubernetes.io/enable-cors": "true",
		"nginx.ingress.kubernetes.io/cors-allow-origin": "https://app.example.com, https://admin.example.com",
	}))
}

test_cors_wildcard_credentials_nginx_cors_off if {
	silent(security.violation, "cors-wildcard-credentials") with input as input_for(ingress({
		"nginx.ingress.kubernetes.io/enable-cors": "false",
		"nginx.ingress.kubernetes.io/cors-allow-origin": "*",
	}))
}

test_cors_wildcard_credentials_haproxy_ingress_both_prefixes if {
	every prefix in ["haproxy-ingress.github.io/", "ingress.kubernetes.io/"] {
		key := concat("", [prefix, "cors-enable"])
		fires(
			security.violation, "cors-wildcard-credentials", sprintf("metadata.annotations[%s]", [key]),
			sprintf("set %scors-allow-credentials to \"false\"", [prefix]),
		) with input as input_for(ingress({key: "true"}))
	}
}

test_cors_wildcard_credentials_haproxy_ingress_mixed_prefixes if {
	vs := security.violation with input as input_for(ingress({
		"haproxy-ingress.github.io/cors-enable": "true",
		"ingress.kubernetes.io/cors-allow-origin": "*",
		"ingress.kubernetes.io/cors-allow-credentials": "true",
	}))
	fires(
		vs, "cors-wildcard-credentials", "metadata.annotations[haproxy-ingress.github.io/cors-enable]",
		"set ingress.kubernetes.io/cors-allow-credentials to \"false\"",
	)
	count([v | some v in vs; v.rule == "cors-wildcard-credentials"]) == 1
}

test_cors_wildcard_credentials_haproxy_ingress_compliant if {
	silent(security.violation, "cors-wildcard-credentials") with input as input_for(ingress({
		"haproxy-ingress.github.io/cors-enable": "true",
		"haproxy-ingress.github.io/cors-allow-credentials": "false",
	}))
	silent(security.violation, "cors-wildcard-credentials") with input as input_for(ingress({
		"haproxy-ingress.github.io/cors-enable": "true",
		"haproxy-ingress.github.io/cors-allow-origin": "https://app.example.com",
	}))
}

test_cors_wildcard_credentials_haproxytech_explicit_credentials if {
	every prefix in ["haproxy.org/", "haproxy.com/"] {
		key := concat("", [prefix, "cors-enable"])
		obj := ingress({key: "true", concat("", [prefix, "cors-allow-credentials"]): "true"})
		fires(
			security.violation, "cors-wildcard-credentials", sprintf("metadata.annotations[%s]", [key]),
			sprintf("Set %scors-allow-origin to the exact origins", [prefix]),
		) with input as input_for(obj)
	}
}

test_cors_wildcard_credentials_haproxytech_default_credentials_off if {
	silent(security.violation, "cors-wildcard-credentials") with input as input_for(ingress({"haproxy.org/cors-enable": "true"}))
	silent(security.violation, "cors-wildcard-credentials") with input as input_for(ingress({
		"haproxy.org/cors-enable": "true",
		"haproxy.org/cors-allow-credentials": "false",
	}))
	silent(security.violation, "cors-wildcard-credentials") with input as input_for(ingress({
		"haproxy.org/cors-enable": "true",
		"haproxy.org/cors-allow-credentials": "true",
		"haproxy.org/cors-allow-origin": "https://app.example.com",
	}))
}

test_cors_wildcard_credentials_shared_prefix_reported_once if {
	vs := security.violation with input as input_for(ingress({
		"ingress.kubernetes.io/cors-enable": "true",
		"ingress.kubernetes.io/cors-allow-credentials": "true",
	}))
	count([v | some v in vs; v.rule == "cors-wildcard-credentials"]) == 1
}

test_cors_wildcard_credentials_traefik_middleware if {
	every group in ["traefik.io", "traefik.containo.us"] {
		obj := traefik(group, "Middleware", {"headers": {"accessControlAllowOriginList": ["https://app.example.com", "*"], "accessControlAllowCredentials": true}})
		fires(
			security.violation, "cors-wildcard-credentials", "spec.headers.accessControlAllowOriginList",
			"Replace \"*\" with the exact origins",
		) with input as input_for(obj)
	}
}

test_cors_wildcard_credentials_traefik_compliant if {
	every headers in [
		{"accessControlAllowOriginList": ["*"], "accessControlAllowCredentials": false},
		{"accessControlAllowOriginList": ["*"]},
		{"accessControlAllowOriginList": ["https://app.example.com"], "accessControlAllowCredentials": true},
	] {
		obj := traefik("traefik.io", "Middleware", {"headers": headers})
		silent(security.violation, "cors-wildcard-credentials") with input as input_for(obj)
	}
}

# --- what the mutation injects --------------------------------------------------

mutated_nginx := ingress({
	"nginx.ingress.kubernetes.io/proxy-read-timeout": "3600",
	"nginx.ingress.kubernetes.io/proxy-send-timeout": "3600",
	"nginx.ingress.kubernetes.io/affinity": "cookie",
	"nginx.ingress.kubernetes.io/affinity-mode": "persistent",
	"nginx.ingress.kubernetes.io/session-cookie-name": "ws-server",
	"nginx.ingress.kubernetes.io/session-cookie-max-age": "86400",
	"nginx.ingress.kubernetes.io/session-cookie-samesite": "Lax",
	"nginx.ingress.kubernetes.io/session-cookie-secure": "true",
})

mutated_haproxy := ingress({
	"haproxy-ingress.github.io/timeout-tunnel": "1h",
	"haproxy-ingress.github.io/balance-algorithm": "leastconn",
	"haproxy-ingress.github.io/affinity": "cookie",
	"haproxy-ingress.github.io/session-cookie-name": "ws-server",
	"haproxy-ingress.github.io/session-cookie-keywords": "indirect nocache httponly secure",
	"haproxy.org/load-balance": "leastconn",
})

mutated_alb := ingress({
	"alb.ingress.kubernetes.io/load-balancer-attributes": "idle_timeout.timeout_seconds=3600",
	"alb.ingress.kubernetes.io/target-type": "ip",
	"alb.ingress.kubernetes.io/target-group-attributes": "stickiness.enabled=true,stickiness.type=lb_cookie,stickiness.lb_cookie.duration_seconds=86400",
})

mutated_service := object.union(
	service({
		"traefik.ingress.kubernetes.io/service.sticky.cookie": "true",
		"traefik.ingress.kubernetes.io/service.sticky.cookie.name": "ws-server",
		"traefik.ingress.kubernetes.io/service.sticky.cookie.secure": "true",
		"traefik.ingress.kubernetes.io/service.sticky.cookie.httponly": "true",
		"traefik.ingress.kubernetes.io/service.sticky.cookie.samesite": "lax",
		"haproxy.org/cookie-persistence": "ws-server",
		"haproxy.org/load-balance": "leastconn",
		"konghq.com/read-timeout": "3600000",
		"konghq.com/write-timeout": "3600000",
	}),
	{"spec": {
		"ports": [{"name": "ws", "port": 8080, "appProtocol": "http"}],
		"sessionAffinity": "ClientIP",
		"sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 10800}},
	}},
)

mutated_backend_config := {"apiVersion": "cloud.google.com/v1", "kind": "BackendConfig", "metadata": {"name": "ws"}, "spec": {"timeoutSec": 3600}}

mutated_http_proxy := {
	"apiVersion": "projectcontour.io/v1",
	"kind": "HTTPProxy",
	"metadata": {"name": "ws"},
	"spec": {"routes": [{"enableWebsockets": true, "timeoutPolicy": {"response": "infinity"}}]},
}

test_mutation_defaults_no_security_violation if {
	every obj in [mutated_nginx, mutated_haproxy, mutated_alb, mutated_service, mutated_backend_config, mutated_http_proxy] {
		count(security.violation) == 0 with input as input_for(obj)
	}
}

# The message says ingress-nginx itself refuses snippets at its default
# risk level (test/conformance TestSnippetsAreCritical checks the claim).
test_nginx_snippet_annotation_says_controller_refuses if {
	key := "nginx.ingress.kubernetes.io/configuration-snippet"
	fires(
		security.violation, "nginx-snippet-annotation", sprintf("metadata.annotations[%s]", [key]),
		"at its default annotations-risk-level (High, since v1.12), refuses the whole Ingress for it itself",
	) with input as input_for(ingress({key: "x"}))
}

# The message says what each controller really does: ingress-nginx's
# literal "*" breaks credentialed calls; haproxy-ingress's echoed Origin
# exposes them.
test_cors_wildcard_credentials_message_per_controller if {
	nginx_vs := security.violation with input as input_for(ingress({"nginx.ingress.kubernetes.io/enable-cors": "true"}))
	fires(nginx_vs, "cors-wildcard-credentials", nginx_cors, "broken rather than exposed")
	not fires(nginx_vs, "cors-wildcard-credentials", nginx_cors, "every website can read")
	hi := "metadata.annotations[haproxy-ingress.github.io/cors-enable]"
	hi_vs := security.violation with input as input_for(ingress({"haproxy-ingress.github.io/cors-enable": "true"}))
	fires(hi_vs, "cors-wildcard-credentials", hi, "every website can read")
}
