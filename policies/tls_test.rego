package wsdefaults.rules.tls_test

import data.wsdefaults.input_test
import data.wsdefaults.rules.tls

# A full input document with the README's defaults around obj.
input_for(obj) := input_test.complete({
	"operation": "CREATE",
	"object": obj,
	"oldObject": null,
	"namespace": {"name": "chat", "labels": {"ws-defaults": "enabled"}, "annotations": {}},
	"controller": "",
	"optedIn": true,
	"defaulted": [],
	"evidence": {"fields": ws_fields(obj), "negative": "", "off": false},
	"parameters": {"nginxAnnotationPrefix": "nginx.ingress.kubernetes.io", "minIdleTimeoutSeconds": 3600},
})

# Every rule (and the default backend) of obj has a WebSocket path.
ws_fields(obj) := object.union(
	{sprintf("spec.rules[%d].http.paths[0]", [i]): "path segment ws" | some i, _ in object.get(obj, ["spec", "rules"], [])},
	default_backend_field(obj),
)

default_backend_field(obj) := {"spec.defaultBackend": "backend port name ws"} if {
	obj.spec.defaultBackend
} else := {}

# input_for(obj) without any WebSocket evidence.
no_evidence(obj) := json.patch(input_for(obj), [{"op": "replace", "path": "/evidence/fields", "value": {}}])

ingress(annotations, spec) := {
	"apiVersion": "networking.k8s.io/v1",
	"kind": "Ingress",
	"metadata": {"name": "chat", "namespace": "chat", "annotations": annotations},
	"spec": spec,
}

# An Ingress for hosts with spec.tls listing tls_hosts (no spec.tls when null).
hosts_spec(hosts, tls_hosts) := {"rules": [{"host": h} | some h in hosts]} if {
	tls_hosts == null
} else := {"rules": [{"host": h} | some h in hosts], "tls": [{"hosts": tls_hosts, "secretName": "ws-tls"}]}

# The rule fired on field with a message that contains fix.
fires(vs, rule, field, fix) if {
	some v in vs
	v.rule == rule
	v.field == field
	contains(v.message, fix)
}

silent(vs, rule) if count([v | some v in vs; v.rule == rule]) == 0

# --- tls-required ------------------------------------------------------------------

test_tls_required_no_tls if {
	obj := ingress({}, hosts_spec(["ws.example.com"], null))
	fires(tls.violation, "tls-required", "spec.tls", "Add a spec.tls entry with hosts [\"ws.example.com\"]") with input as input_for(obj)
}

test_tls_required_host_not_covered if {
	obj := ingress({}, hosts_spec(["ws.example.com", "api.example.org"], ["ws.example.com"]))
	vs := tls.violation with input as input_for(obj)
	fires(vs, "tls-required", "spec.tls", "does not cover api.example.org:")
	fires(vs, "tls-required", "spec.tls", "hosts [\"api.example.org\"]")
}

test_tls_required_names_evidence if {
	obj := ingress({}, hosts_spec(["ws.example.com"], null))
	fires(tls.violation, "tls-required", "spec.tls", "WebSocket evidence: spec.rules[0].http.paths[0]: path segment ws.") with input as input_for(obj)
}

# A REST or gRPC-only Ingress (no evidence, or negative evidence, which
# leaves none) is not told about WebSocket clients.
test_tls_required_needs_evidence if {
	silent(tls.violation, "tls-required") with input as no_evidence(ingress({}, hosts_spec(["api.example.com"], null)))
	obj := ingress({"nginx.ingress.kubernetes.io/backend-protocol": "GRPC"}, hosts_spec(["grpc.example.com"], null))
	doc := json.patch(no_evidence(obj), [{"op": "replace", "path": "/evidence/negative", "value": "annotation backend-protocol: GRPC"}])
	silent(tls.violation, "tls-required") with input as doc
	silent(tls.violation, "tls-required") with input as no_evidence(ingress({}, {"defaultBackend": {"service": {"name": "api", "port": {"number": 80}}}}))
}

# Only the hosts that serve a WebSocket route are named.
test_tls_required_only_websocket_hosts if {
	obj := ingress({}, {"rules": [{"host": "api.example.com"}, {"host": "ws.example.com"}]})
	doc := json.patch(input_for(obj), [{"op": "replace", "path": "/evidence/fields", "value": {"spec.rules[1].http.paths[2]": "path segment socket.io"}}])
	vs := tls.violation with input as doc
	fires(vs, "tls-required", "spec.tls", "does not cover ws.example.com:")
	fires(vs, "tls-required", "spec.tls", "spec.rules[1].http.paths[2]: path segment socket.io")
	not fires(vs, "tls-required", "spec.tls", "api.example.com")
}

test_tls_required_all_covered if {
	obj := ingress({}, hosts_spec(["ws.example.com", "api.example.com"], ["api.example.com", "ws.example.com"]))
	silent(tls.violation, "tls-required") with input as input_for(obj)
}

test_tls_required_case_insensitive if {
	silent(tls.violation, "tls-required") with input as input_for(ingress({}, hosts_spec(["ws.example.com"], ["WS.Example.com"])))
}

test_tls_required_wildcard_one_level if {
	silent(tls.violation, "tls-required") with input as input_for(ingress({}, hosts_spec(["ws.example.com", "api.example.com"], ["*.example.com"])))
}

test_tls_required_wildcard_not_deeper_nor_apex if {
	vs := tls.violation with input as input_for(ingress({}, hosts_spec(["a.ws.example.com", "example.com"], ["*.example.com"])))
	fires(vs, "tls-required", "spec.tls", "does not cover a.ws.example.com, example.com:")
}

test_tls_required_wildcard_rule_host if {
	silent(tls.violation, "tls-required") with input as input_for(ingress({}, hosts_spec(["*.example.com"], ["*.example.com"])))
	fires(
		tls.violation, "tls-required", "spec.tls",
		"hosts [\"*.example.com\"]",
	) with input as input_for(ingress({}, hosts_spec(["*.example.com"], ["ws.example.com"])))
}

test_tls_required_tls_entry_without_hosts if {
	obj := ingress({}, {"rules": [{"host": "ws.example.com"}], "tls": [{"secretName": "default-cert"}]})
	silent(tls.violation, "tls-required") with input as input_for(obj)
}

test_tls_required_no_hosts_no_tls if {
	obj := ingress({}, {"defaultBackend": {"service": {"name": "chat", "port": {"number": 80}}}})
	fires(tls.violation, "tls-required", "spec.tls", "add a spec.tls entry") with input as input_for(obj)
}

test_tls_required_terminated_in_front if {
	spec := hosts_spec(["ws.example.com"], null)
	every annotations in [
		{"nginx.ingress.kubernetes.io/force-ssl-redirect": "true"},
		{"alb.ingress.kubernetes.io/certificate-arn": "arn:aws:acm:eu-west-1:123456789012:certificate/abc"},
		{"networking.gke.io/managed-certificates": "ws-cert"},
		{"ingress.gcp.kubernetes.io/pre-shared-cert": "ws-cert"},
	] {
		silent(tls.violation, "tls-required") with input as input_for(ingress(annotations, spec))
	}
}

test_tls_required_not_terminated_in_front if {
	spec := hosts_spec(["ws.example.com"], null)
	every annotations in [
		{"nginx.ingress.kubernetes.io/force-ssl-redirect": "false"},
		{"alb.ingress.kubernetes.io/certificate-arn": ""},
		{"nginx.org/redirect-to-https": "true"},
	] {
		fires(tls.violation, "tls-required", "spec.tls", "force-ssl-redirect: \"true\"") with input as input_for(ingress(annotations, spec))
	}
}

test_tls_required_custom_nginx_prefix if {
	obj := ingress({"nginx.example.com/force-ssl-redirect": "true"}, hosts_spec(["ws.example.com"], null))
	doc := input_test.complete(json.patch(input_for(obj), [{"op": "replace", "path": "/parameters/nginxAnnotationPrefix", "value": "nginx.example.com"}]))
	silent(tls.violation, "tls-required") with input as doc
	fires(tls.violation, "tls-required", "spec.tls", "nginx.ingress.kubernetes.io/force-ssl-redirect") with input as input_for(obj)
}

test_tls_required_only_ingress if {
	svc := {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "chat"}, "spec": {"ports": [{"name": "ws", "port": 80}]}}
	silent(tls.violation, "tls-required") with input as input_for(svc)
}

# --- ssl-redirect-disabled ---------------------------------------------------------

tls_spec := hosts_spec(["ws.example.com"], ["ws.example.com"])

test_ssl_redirect_disabled_all_prefixes if {
	every key in [
		"nginx.ingress.kubernetes.io/ssl-redirect",
		"haproxy.org/ssl-redirect",
		"haproxy.com/ssl-redirect",
		"ingress.kubernetes.io/ssl-redirect",
		"haproxy-ingress.github.io/ssl-redirect",
	] {
		fires(
			tls.violation, "ssl-redirect-disabled", sprintf("metadata.annotations[%s]", [key]),
			"Set it to \"true\"",
		) with input as input_for(ingress({key: "false"}, tls_spec))
	}
}

test_ssl_redirect_disabled_parse_bool_spellings if {
	every v in ["False", "FALSE", "0", "f"] {
		fires(
			tls.violation, "ssl-redirect-disabled", "metadata.annotations[nginx.ingress.kubernetes.io/ssl-redirect]",
			"Set it to \"true\"",
		) with input as input_for(ingress({"nginx.ingress.kubernetes.io/ssl-redirect": v}, tls_spec))
	}
}

test_ssl_redirect_disabled_shared_prefix_once if {
	vs := tls.violation with input as input_for(ingress({"ingress.kubernetes.io/ssl-redirect": "false"}, tls_spec))
	count([v | some v in vs; v.rule == "ssl-redirect-disabled"]) == 1
}

test_ssl_redirect_disabled_without_tls if {
	obj := ingress({"nginx.ingress.kubernetes.io/ssl-redirect": "false"}, hosts_spec(["ws.example.com"], null))
	silent(tls.violation, "ssl-redirect-disabled") with input as input_for(obj)
}

test_ssl_redirect_disabled_compliant if {
	silent(tls.violation, "ssl-redirect-disabled") with input as input_for(ingress(
		{"nginx.ingress.kubernetes.io/ssl-redirect": "true", "haproxy.org/ssl-redirect": "true"},
		tls_spec,
	))
	silent(tls.violation, "ssl-redirect-disabled") with input as input_for(ingress({}, tls_spec))
	silent(tls.violation, "ssl-redirect-disabled") with input as input_for(ingress(
		{"alb.ingress.kubernetes.io/ssl-redirect": "443", "example.com/ssl-redirect": "false"},
		tls_spec,
	))
}

test_ssl_redirect_disabled_custom_nginx_prefix if {
	obj := ingress({"nginx.example.com/ssl-redirect": "false"}, tls_spec)
	doc := input_test.complete(json.patch(input_for(obj), [{"op": "replace", "path": "/parameters/nginxAnnotationPrefix", "value": "nginx.example.com"}]))
	fires(tls.violation, "ssl-redirect-disabled", "metadata.annotations[nginx.example.com/ssl-redirect]", "Set it to \"true\"") with input as doc
	silent(tls.violation, "ssl-redirect-disabled") with input as input_for(obj)
}

# --- what the mutation injects --------------------------------------------------

test_mutation_defaults_no_tls_violation if {
	every annotations in [
		{
			"nginx.ingress.kubernetes.io/proxy-read-timeout": "3600",
			"nginx.ingress.kubernetes.io/proxy-send-timeout": "3600",
			"nginx.ingress.kubernetes.io/affinity": "cookie",
			"nginx.ingress.kubernetes.io/affinity-mode": "persistent",
			"nginx.ingress.kubernetes.io/session-cookie-name": "ws-server",
			"nginx.ingress.kubernetes.io/session-cookie-max-age": "86400",
			"nginx.ingress.kubernetes.io/session-cookie-samesite": "Lax",
			"nginx.ingress.kubernetes.io/session-cookie-secure": "true",
		},
		{
			"haproxy-ingress.github.io/timeout-tunnel": "1h",
			"haproxy-ingress.github.io/balance-algorithm": "leastconn",
			"haproxy-ingress.github.io/affinity": "cookie",
			"haproxy-ingress.github.io/session-cookie-name": "ws-server",
			"haproxy-ingress.github.io/session-cookie-keywords": "indirect nocache httponly secure",
		},
		{"haproxy.org/load-balance": "leastconn"},
		{
			"alb.ingress.kubernetes.io/load-balancer-attributes": "idle_timeout.timeout_seconds=3600",
			"alb.ingress.kubernetes.io/target-type": "ip",
			"alb.ingress.kubernetes.io/target-group-attributes": "stickiness.enabled=true,stickiness.type=lb_cookie,stickiness.lb_cookie.duration_seconds=86400",
		},
	] {
		count(tls.violation) == 0 with input as input_for(ingress(annotations, tls_spec))
	}
}

# The "TLS ends in front" hint speaks the Ingress's own controller.
test_tls_required_hint_per_controller if {
	obj := ingress({}, hosts_spec(["ws.example.com"], null))
	every c in [
		["k8s.io/ingress-nginx", "force-ssl-redirect"],
		["ingress.k8s.aws/alb", "alb.ingress.kubernetes.io/certificate-arn"],
		["k8s.io/ingress-gce", "networking.gke.io/managed-certificates"],
	] {
		doc := json.patch(input_for(obj), [{"op": "replace", "path": "/controller", "value": c[0]}])
		fires(tls.violation, "tls-required", "spec.tls", c[1]) with input as doc
	}
	doc := json.patch(input_for(obj), [{"op": "replace", "path": "/controller", "value": "traefik.io/ingress-controller"}])
	vs := tls.violation with input as doc
	some v in vs
	v.rule == "tls-required"
	not contains(v.message, "force-ssl-redirect")
}
