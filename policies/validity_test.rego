package wsdefaults.rules.validity_test

import data.wsdefaults.input_test
import data.wsdefaults.rules.validity

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

ingress(annotations) := ingress_spec(annotations, {"rules": [{"host": "ws.example.com"}]})

ingress_spec(annotations, spec) := {
	"apiVersion": "networking.k8s.io/v1",
	"kind": "Ingress",
	"metadata": {"name": "chat", "namespace": "chat", "annotations": annotations},
	"spec": spec,
}

service(annotations) := service_spec(annotations, {"ports": [{"name": "ws", "port": 8080}]})

service_spec(annotations, spec) := {
	"apiVersion": "v1",
	"kind": "Service",
	"metadata": {"name": "chat", "namespace": "chat", "annotations": annotations},
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

# --- ingress-class-mismatch --------------------------------------------------------

class_field := "metadata.annotations[kubernetes.io/ingress.class]"

test_ingress_class_mismatch_fires if {
	obj := ingress_spec({"kubernetes.io/ingress.class": "nginx"}, {"ingressClassName": "traefik"})
	fires(validity.violation, "ingress-class-mismatch", class_field, "Remove the kubernetes.io/ingress.class annotation") with input as input_for(obj)
}

test_ingress_class_mismatch_on_update if {
	obj := ingress_spec({"kubernetes.io/ingress.class": "nginx"}, {"ingressClassName": "traefik"})
	doc := object.union(input_for(obj), {"operation": "UPDATE", "oldObject": ingress_spec({}, {"ingressClassName": "traefik"})})
	vs := validity.violation with input as doc
	fires(vs, "ingress-class-mismatch", class_field, "Remove the kubernetes.io/ingress.class annotation")
}

test_ingress_class_mismatch_empty_annotation if {
	obj := ingress_spec({"kubernetes.io/ingress.class": ""}, {"ingressClassName": "nginx"})
	fires(validity.violation, "ingress-class-mismatch", class_field, "Remove") with input as input_for(obj)
}

test_ingress_class_mismatch_compliant if {
	obj := ingress_spec({"kubernetes.io/ingress.class": "nginx"}, {"ingressClassName": "nginx"})
	silent(validity.violation, "ingress-class-mismatch") with input as input_for(obj)
	silent(validity.violation, "ingress-class-mismatch") with input as input_for(ingress_spec({"kubernetes.io/ingress.class": "nginx"}, {}))
	silent(validity.violation, "ingress-class-mismatch") with input as input_for(ingress_spec({}, {"ingressClassName": "nginx"}))
}

# --- service-affinity-timeout-range ------------------------------------------------

affinity_field := "spec.sessionAffinityConfig.clientIP.timeoutSeconds"

affinity(t) := service_spec({}, {"sessionAffinity": "ClientIP", "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": t}}})

test_service_affinity_timeout_range_out_of_range if {
	every t in [0, -5, 86401, 100000, 1.5, "3600"] {
		fires(validity.violation, "service-affinity-timeout-range", affinity_field, "Set it to 10800") with input as input_for(affinity(t))
	}
}

test_service_affinity_timeout_range_bounds_ok if {
	every t in [1, 60, 10800, 86400] {
		silent(validity.violation, "service-affinity-timeout-range") with input as input_for(affinity(t))
	}
}

test_service_affinity_timeout_range_unset if {
	silent(validity.violation, "service-affinity-timeout-range") with input as input_for(service({}))
}

# --- alb-ssl-redirect-format -------------------------------------------------------

alb_redirect_field := "metadata.annotations[alb.ingress.kubernetes.io/ssl-redirect]"

test_alb_ssl_redirect_format_not_a_port if {
	every v in ["true", "443s", " 443", "0", "-443", "65536", "", "https"] {
		fires(
			validity.violation, "alb-ssl-redirect-format", alb_redirect_field,
			"Set it to \"443\"",
		) with input as input_for(ingress({"alb.ingress.kubernetes.io/ssl-redirect": v}))
	}
}

test_alb_ssl_redirect_format_compliant if {
	every v in ["443", "8443", "1", "65535"] {
		silent(validity.violation, "alb-ssl-redirect-format") with input as input_for(ingress({"alb.ingress.kubernetes.io/ssl-redirect": v}))
	}
}

test_alb_ssl_redirect_format_only_ingress if {
	silent(validity.violation, "alb-ssl-redirect-format") with input as input_for(service({"alb.ingress.kubernetes.io/ssl-redirect": "true"}))
}

# --- alb-idle-timeout-range --------------------------------------------------------

alb_attributes_field := "metadata.annotations[alb.ingress.kubernetes.io/load-balancer-attributes]"

alb(attributes) := ingress({"alb.ingress.kubernetes.io/load-balancer-attributes": attributes})

test_alb_idle_timeout_range_out_of_range if {
	every v in [
		"idle_timeout.timeout_seconds=0",
		"idle_timeout.timeout_seconds=4001",
		"idle_timeout.timeout_seconds=-5",
		"idle_timeout.timeout_seconds=3600s",
		"idle_timeout.timeout_seconds=",
	] {
		fires(validity.violation, "alb-idle-timeout-range", alb_attributes_field, "Set idle_timeout.timeout_seconds=3600") with input as input_for(alb(v))
	}
}

test_alb_idle_timeout_range_among_other_attributes if {
	v := "deletion_protection.enabled=true, idle_timeout.timeout_seconds = 5000,routing.http2.enabled=false"
	fires(validity.violation, "alb-idle-timeout-range", alb_attributes_field, "idle_timeout.timeout_seconds=5000") with input as input_for(alb(v))
}

test_alb_idle_timeout_range_high_policy_minimum_capped if {
	doc := json.patch(input_for(alb("idle_timeout.timeout_seconds=0")), [{"op": "replace", "path": "/parameters/minIdleTimeoutSeconds", "value": 7200}])
	vs := validity.violation with input as doc
	fires(vs, "alb-idle-timeout-range", alb_attributes_field, "Set idle_timeout.timeout_seconds=4000")
}

test_alb_idle_timeout_range_compliant if {
	every v in [
		"idle_timeout.timeout_seconds=1",
		"idle_timeout.timeout_seconds=60",
		"idle_timeout.timeout_seconds=4000",
		"deletion_protection.enabled=true",
		" idle_timeout.timeout_seconds = 3600 ",
	] {
		silent(validity.violation, "alb-idle-timeout-range") with input as input_for(alb(v))
	}
}

# --- traefik-annotation-type -------------------------------------------------------

tr(name) := concat("", ["traefik.ingress.kubernetes.io/", name])

tr_field(name) := sprintf("metadata.annotations[traefik.ingress.kubernetes.io/%s]", [name])

test_traefik_annotation_type_priority_not_int if {
	fires(
		validity.violation, "traefik-annotation-type", tr_field("router.priority"),
		"Set it to a whole number, e.g. \"100\"",
	) with input as input_for(ingress({tr("router.priority"): "high"}))
	fires(
		validity.violation, "traefik-annotation-type", tr_field("router.priority"),
		"Set it to \"10\"",
	) with input as input_for(ingress({tr("router.priority"): "10.0"}))
	fires(
		validity.violation, "traefik-annotation-type", tr_field("router.priority"),
		"Set it to \"10\"",
	) with input as input_for(ingress({tr("router.priority"): " 10"}))
}

test_traefik_annotation_type_priority_int if {
	every v in ["10", "0", "-5", "+3"] {
		silent(validity.violation, "traefik-annotation-type") with input as input_for(ingress({tr("router.priority"): v}))
	}
}

test_traefik_annotation_type_maxage_not_int if {
	fires(
		validity.violation, "traefik-annotation-type", tr_field("service.sticky.cookie.maxage"),
		"Set it to a whole number of seconds, e.g. \"86400\"",
	) with input as input_for(service({tr("service.sticky.cookie.maxage"): "1d"}))
	fires(
		validity.violation, "traefik-annotation-type", tr_field("service.sticky.cookie.maxage"),
		"drops every Ingress route to it",
	) with input as input_for(service({tr("service.sticky.cookie.maxage"): "3600s"}))
}

test_traefik_annotation_type_maxage_int if {
	silent(validity.violation, "traefik-annotation-type") with input as input_for(service({tr("service.sticky.cookie.maxage"): "86400"}))
}

test_traefik_annotation_type_bool_not_parse_bool if {
	every name in ["service.sticky.cookie.secure", "service.sticky.cookie.httponly", "service.passhostheader", "service.nativelb", "service.nodeportlb"] {
		fires(validity.violation, "traefik-annotation-type", tr_field(name), "Set it to \"true\"") with input as input_for(service({tr(name): "yes"}))
		fires(validity.violation, "traefik-annotation-type", tr_field(name), "Set it to \"false\"") with input as input_for(service({tr(name): "off"}))
		fires(validity.violation, "traefik-annotation-type", tr_field(name), "Set it to \"true\"") with input as input_for(service({tr(name): "tRuE"}))
	}
}

test_traefik_annotation_type_bool_go_spellings if {
	every v in ["1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"] {
		silent(validity.violation, "traefik-annotation-type") with input as input_for(service({
			tr("service.sticky.cookie.secure"): v,
			tr("service.passhostheader"): v,
			tr("service.nodeportlb"): v,
		}))
	}
}

test_traefik_annotation_type_switch_not_true if {
	fires(
		validity.violation, "traefik-annotation-type", tr_field("router.tls"),
		"TLS on this router is disabled. Set it to \"true\"",
	) with input as input_for(ingress({tr("router.tls"): "1"}))
	fires(
		validity.violation, "traefik-annotation-type", tr_field("router.tls"),
		"Set it to \"true\"",
	) with input as input_for(ingress({tr("router.tls"): "enabled"}))
	fires(
		validity.violation, "traefik-annotation-type", tr_field("service.sticky.cookie"),
		"the sticky cookie is disabled",
	) with input as input_for(service({tr("service.sticky.cookie"): "yes"}))
}

test_traefik_annotation_type_switch_ok if {
	every v in ["true", "TRUE", "True", "false", "False"] {
		silent(validity.violation, "traefik-annotation-type") with input as input_for(ingress({tr("router.tls"): v}))
		silent(validity.violation, "traefik-annotation-type") with input as input_for(service({tr("service.sticky.cookie"): v}))
	}
}

test_traefik_annotation_type_kind_specific if {
	# router.* is read from the Ingress, service.* from the Service only.
	silent(validity.violation, "traefik-annotation-type") with input as input_for(service({tr("router.priority"): "high"}))
	silent(validity.violation, "traefik-annotation-type") with input as input_for(ingress({tr("service.passhostheader"): "yes"}))
}

test_traefik_annotation_type_untyped_ignored if {
	silent(validity.violation, "traefik-annotation-type") with input as input_for(ingress({
		tr("router.entrypoints"): "websecure",
		tr("router.middlewares"): "chat-auth@kubernetescrd",
	}))
}

# --- haproxy-cookie-conflict -------------------------------------------------------

test_haproxy_cookie_conflict_same_prefix if {
	obj := service({"haproxy.org/cookie-persistence": "ws", "haproxy.org/cookie-persistence-no-dynamic": "ws"})
	fires(
		validity.violation, "haproxy-cookie-conflict",
		"metadata.annotations[haproxy.org/cookie-persistence-no-dynamic]",
		"Remove haproxy.org/cookie-persistence-no-dynamic",
	) with input as input_for(obj)
}

test_haproxy_cookie_conflict_mixed_prefixes if {
	obj := service({"haproxy.com/cookie-persistence": "ws", "ingress.kubernetes.io/cookie-persistence-no-dynamic": "ws"})
	fires(
		validity.violation, "haproxy-cookie-conflict",
		"metadata.annotations[ingress.kubernetes.io/cookie-persistence-no-dynamic]",
		"keep haproxy.com/cookie-persistence",
	) with input as input_for(obj)
}

test_haproxy_cookie_conflict_compliant if {
	silent(validity.violation, "haproxy-cookie-conflict") with input as input_for(service({"haproxy.org/cookie-persistence": "ws"}))
	silent(validity.violation, "haproxy-cookie-conflict") with input as input_for(service({"haproxy.org/cookie-persistence-no-dynamic": "ws"}))
	silent(validity.violation, "haproxy-cookie-conflict") with input as input_for(service({
		"haproxy.org/cookie-persistence": "ws",
		"haproxy.com/cookie-persistence": "ws",
	}))
}

# --- what the mutation injects --------------------------------------------------

mutated_nginx := ingress_spec(
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
	{"ingressClassName": "nginx", "rules": [{"host": "ws.example.com"}], "tls": [{"hosts": ["ws.example.com"], "secretName": "ws-tls"}]},
)

mutated_haproxy := ingress({
	"haproxy-ingress.github.io/timeout-tunnel": "1h",
	"haproxy-ingress.github.io/balance-algorithm": "leastconn",
	"haproxy-ingress.github.io/affinity": "cookie",
	"haproxy-ingress.github.io/session-cookie-name": "ws-server",
	"haproxy-ingress.github.io/session-cookie-keywords": "indirect nocache httponly secure",
	"haproxy.org/load-balance": "leastconn",
})

mutated_alb := ingress({
	"alb.ingress.kubernetes.io/load-balancer-attributes": "deletion_protection.enabled=true,idle_timeout.timeout_seconds=3600",
	"alb.ingress.kubernetes.io/target-type": "ip",
	"alb.ingress.kubernetes.io/target-group-attributes": "stickiness.enabled=true,stickiness.type=lb_cookie,stickiness.lb_cookie.duration_seconds=86400",
})

mutated_service := service_spec(
	{
		"traefik.ingress.kubernetes.io/service.sticky.cookie": "true",
		"traefik.ingress.kubernetes.io/service.sticky.cookie.name": "ws-server",
		"traefik.ingress.kubernetes.io/service.sticky.cookie.secure": "true",
		"traefik.ingress.kubernetes.io/service.sticky.cookie.httponly": "true",
		"traefik.ingress.kubernetes.io/service.sticky.cookie.samesite": "lax",
		"haproxy.org/cookie-persistence": "ws-server",
		"haproxy.org/load-balance": "leastconn",
		"konghq.com/read-timeout": "3600000",
		"konghq.com/write-timeout": "3600000",
	},
	{
		"ports": [{"name": "ws", "port": 8080, "appProtocol": "http"}],
		"sessionAffinity": "ClientIP",
		"sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 10800}},
	},
)

mutated_backend_config := {"apiVersion": "cloud.google.com/v1", "kind": "BackendConfig", "metadata": {"name": "ws"}, "spec": {"timeoutSec": 3600}}

mutated_http_proxy := {
	"apiVersion": "projectcontour.io/v1",
	"kind": "HTTPProxy",
	"metadata": {"name": "ws"},
	"spec": {"routes": [{"enableWebsockets": true, "timeoutPolicy": {"response": "infinity"}}]},
}

test_mutation_defaults_no_validity_violation if {
	every obj in [mutated_nginx, mutated_haproxy, mutated_alb, mutated_service, mutated_backend_config, mutated_http_proxy] {
		count(validity.violation) == 0 with input as input_for(obj)
	}
}

# --- alb-group-attributes-conflict -------------------------------------------------

alb_group(attributes, members) := object.union(
	input_for(ingress({
		"alb.ingress.kubernetes.io/group.name": "shared",
		"alb.ingress.kubernetes.io/load-balancer-attributes": attributes,
	})),
	{"evidence": {"fields": {}, "negative": "", "off": false, "albGroup": {"name": "shared", "members": members}}},
)

test_alb_group_conflict_fires if {
	doc := alb_group("idle_timeout.timeout_seconds=3600, deletion_protection.enabled=true", [
		{"ingress": "web/a", "attributes": {"idle_timeout.timeout_seconds": "3600"}},
		{"ingress": "web/b", "attributes": {"idle_timeout.timeout_seconds": "120"}},
	])
	fires(validity.violation, "alb-group-attributes-conflict", alb_attributes_field, "member web/b, which sets idle_timeout.timeout_seconds=120") with input as doc
	vs := validity.violation with input as doc
	count([v | some v in vs; v.rule == "alb-group-attributes-conflict"]) == 1
}

test_alb_group_agreeing_or_disjoint_members_silent if {
	every doc in [
		alb_group("idle_timeout.timeout_seconds=3600", [{"ingress": "web/a", "attributes": {"idle_timeout.timeout_seconds": "3600"}}]),
		alb_group("idle_timeout.timeout_seconds=3600", [{"ingress": "web/a", "attributes": {"deletion_protection.enabled": "true"}}]),
		alb_group("", [{"ingress": "web/a", "attributes": {"idle_timeout.timeout_seconds": "120"}}]),
		alb_group("idle_timeout.timeout_seconds=3600", []),
		input_for(alb("idle_timeout.timeout_seconds=3600")),
	] {
		silent(validity.violation, "alb-group-attributes-conflict") with input as doc
	}
}

# --- nginx-path-type-regex -----------------------------------------------------

path_ingress(paths) := ingress_spec({}, {"rules": [{"host": "ws.example.com", "http": {"paths": paths}}]})

with_controller(obj, c) := json.patch(input_for(obj), [{"op": "replace", "path": "/controller", "value": c}])

test_nginx_path_type_regex_fires if {
	obj := path_ingress([
		{"path": "/ws", "pathType": "Prefix"},
		{"path": "/socket.io(/|$)(.*)", "pathType": "Prefix"},
		{"path": "/api/v[0-9]+", "pathType": "Exact"},
	])
	vs := validity.violation with input as with_controller(obj, "k8s.io/ingress-nginx")
	fires(vs, "nginx-path-type-regex", "spec.rules[0].http.paths[1].path", "set pathType: ImplementationSpecific")
	fires(vs, "nginx-path-type-regex", "spec.rules[0].http.paths[2].path", "pathType Exact")
	count([v | some v in vs; v.rule == "nginx-path-type-regex"]) == 2
}

# Plain paths (any case, dots, dashes), ImplementationSpecific regexes,
# and other controllers (or an unknown one) are left alone.
test_nginx_path_type_regex_silent if {
	obj := path_ingress([
		{"path": "/WS/v1.2/live_feed-x/", "pathType": "Prefix"},
		{"path": "/socket.io(/|$)(.*)", "pathType": "ImplementationSpecific"},
	])
	vs := validity.violation with input as with_controller(obj, "k8s.io/ingress-nginx")
	not "nginx-path-type-regex" in {v.rule | some v in vs}
	regex_obj := path_ingress([{"path": "/ws(/|$)(.*)", "pathType": "Prefix"}])
	every c in ["", "traefik.io/ingress-controller", "haproxy.org/ingress-controller"] {
		vs2 := validity.violation with input as with_controller(regex_obj, c)
		not "nginx-path-type-regex" in {v.rule | some v in vs2}
	}
}

# --- ingress-api-removed -------------------------------------------------------

test_ingress_api_removed if {
	every v in ["extensions/v1beta1", "networking.k8s.io/v1beta1"] {
		obj := json.patch(ingress({}), [{"op": "replace", "path": "/apiVersion", "value": v}])
		fires(validity.violation, "ingress-api-removed", "apiVersion", "Set apiVersion: networking.k8s.io/v1") with input as input_for(obj)
	}
	vs := validity.violation with input as input_for(ingress({}))
	not "ingress-api-removed" in {v.rule | some v in vs}
}
