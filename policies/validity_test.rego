package wsdefaults.rules.validity_test

import data.wsdefaults.rules.validity

# A full input document with the README's defaults around obj.
input_for(obj) := {
	"operation": "CREATE",
	"object": obj,
	"oldObject": null,
	"namespace": {"name": "chat", "labels": {"ws-defaults": "enabled"}, "annotations": {}},
	"controller": "",
	"optedIn": true,
	"defaulted": [],
	"parameters": {"nginxAnnotationPrefix": "nginx.ingress.kubernetes.io", "minIdleTimeoutSeconds": 3600},
}

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

violations(obj) := vs if {
	vs := validity.violation with input as input_for(obj)
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
	fires(violations(obj), "ingress-class-mismatch", class_field, "Remove the kubernetes.io/ingress.class annotation")
}

test_ingress_class_mismatch_on_update if {
	obj := ingress_spec({"kubernetes.io/ingress.class": "nginx"}, {"ingressClassName": "traefik"})
	doc := object.union(input_for(obj), {"operation": "UPDATE", "oldObject": ingress_spec({}, {"ingressClassName": "traefik"})})
	vs := validity.violation with input as doc
	fires(vs, "ingress-class-mismatch", class_field, "Remove the kubernetes.io/ingress.class annotation")
}

test_ingress_class_mismatch_empty_annotation if {
	obj := ingress_spec({"kubernetes.io/ingress.class": ""}, {"ingressClassName": "nginx"})
	fires(violations(obj), "ingress-class-mismatch", class_field, "Remove")
}

test_ingress_class_mismatch_compliant if {
	silent(violations(ingress_spec({"kubernetes.io/ingress.class": "nginx"}, {"ingressClassName": "nginx"})), "ingress-class-mismatch")
	silent(violations(ingress_spec({"kubernetes.io/ingress.class": "nginx"}, {})), "ingress-class-mismatch")
	silent(violations(ingress_spec({}, {"ingressClassName": "nginx"})), "ingress-class-mismatch")
}

# --- service-affinity-timeout-range ------------------------------------------------

affinity_field := "spec.sessionAffinityConfig.clientIP.timeoutSeconds"

affinity(t) := service_spec({}, {"sessionAffinity": "ClientIP", "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": t}}})

test_service_affinity_timeout_range_out_of_range if {
	every t in [0, -5, 86401, 100000, 1.5, "3600"] {
		fires(violations(affinity(t)), "service-affinity-timeout-range", affinity_field, "Set it to 10800")
	}
}

test_service_affinity_timeout_range_bounds_ok if {
	every t in [1, 60, 10800, 86400] {
		silent(violations(affinity(t)), "service-affinity-timeout-range")
	}
}

test_service_affinity_timeout_range_unset if {
	silent(violations(service({})), "service-affinity-timeout-range")
}

# --- alb-ssl-redirect-format -------------------------------------------------------

alb_redirect_field := "metadata.annotations[alb.ingress.kubernetes.io/ssl-redirect]"

test_alb_ssl_redirect_format_not_a_port if {
	every v in ["true", "443s", " 443", "0", "-443", "65536", "", "https"] {
		fires(violations(ingress({"alb.ingress.kubernetes.io/ssl-redirect": v})), "alb-ssl-redirect-format", alb_redirect_field, "Set it to \"443\"")
	}
}

test_alb_ssl_redirect_format_compliant if {
	every v in ["443", "8443", "1", "65535"] {
		silent(violations(ingress({"alb.ingress.kubernetes.io/ssl-redirect": v})), "alb-ssl-redirect-format")
	}
}

test_alb_ssl_redirect_format_only_ingress if {
	silent(violations(service({"alb.ingress.kubernetes.io/ssl-redirect": "true"})), "alb-ssl-redirect-format")
}

# --- alb-idle-timeout-range --------------------------------------------------------

alb_attributes_field := "metadata.annotations[alb.ingress.kubernetes.io/load-balancer-attributes]"

alb(attributes) := ingress({"alb.ingress.kubernetes.io/load-balancer-attributes": attributes})

test_alb_idle_timeout_range_out_of_range if {
	every v in ["idle_timeout.timeout_seconds=0", "idle_timeout.timeout_seconds=4001", "idle_timeout.timeout_seconds=-5", "idle_timeout.timeout_seconds=3600s", "idle_timeout.timeout_seconds="] {
		fires(violations(alb(v)), "alb-idle-timeout-range", alb_attributes_field, "Set idle_timeout.timeout_seconds=3600")
	}
}

test_alb_idle_timeout_range_among_other_attributes if {
	v := "deletion_protection.enabled=true, idle_timeout.timeout_seconds = 5000,routing.http2.enabled=false"
	fires(violations(alb(v)), "alb-idle-timeout-range", alb_attributes_field, "idle_timeout.timeout_seconds=5000")
}

test_alb_idle_timeout_range_high_policy_minimum_capped if {
	doc := json.patch(input_for(alb("idle_timeout.timeout_seconds=0")), [{"op": "replace", "path": "/parameters/minIdleTimeoutSeconds", "value": 7200}])
	vs := validity.violation with input as doc
	fires(vs, "alb-idle-timeout-range", alb_attributes_field, "Set idle_timeout.timeout_seconds=4000")
}

test_alb_idle_timeout_range_compliant if {
	every v in ["idle_timeout.timeout_seconds=1", "idle_timeout.timeout_seconds=60", "idle_timeout.timeout_seconds=4000", "deletion_protection.enabled=true", " idle_timeout.timeout_seconds = 3600 "] {
		silent(violations(alb(v)), "alb-idle-timeout-range")
	}
}

# --- traefik-annotation-type -------------------------------------------------------

tr(name) := concat("", ["traefik.ingress.kubernetes.io/", name])

tr_field(name) := sprintf("metadata.annotations[traefik.ingress.kubernetes.io/%s]", [name])

test_traefik_annotation_type_priority_not_int if {
	fires(violations(ingress({tr("router.priority"): "high"})), "traefik-annotation-type", tr_field("router.priority"), "Set it to a whole number, e.g. \"100\"")
	fires(violations(ingress({tr("router.priority"): "10.0"})), "traefik-annotation-type", tr_field("router.priority"), "Set it to \"10\"")
	fires(violations(ingress({tr("router.priority"): " 10"})), "traefik-annotation-type", tr_field("router.priority"), "Set it to \"10\"")
}

test_traefik_annotation_type_priority_int if {
	every v in ["10", "0", "-5", "+3"] {
		silent(violations(ingress({tr("router.priority"): v})), "traefik-annotation-type")
	}
}

test_traefik_annotation_type_maxage_not_int if {
	fires(violations(service({tr("service.sticky.cookie.maxage"): "1d"})), "traefik-annotation-type", tr_field("service.sticky.cookie.maxage"), "Set it to a whole number of seconds, e.g. \"86400\"")
	fires(violations(service({tr("service.sticky.cookie.maxage"): "3600s"})), "traefik-annotation-type", tr_field("service.sticky.cookie.maxage"), "drops every Ingress route to it")
}

test_traefik_annotation_type_maxage_int if {
	silent(violations(service({tr("service.sticky.cookie.maxage"): "86400"})), "traefik-annotation-type")
}

test_traefik_annotation_type_bool_not_parse_bool if {
	every name in ["service.sticky.cookie.secure", "service.sticky.cookie.httponly", "service.passhostheader", "service.nativelb", "service.nodeportlb"] {
		fires(violations(service({tr(name): "yes"})), "traefik-annotation-type", tr_field(name), "Set it to \"true\"")
		fires(violations(service({tr(name): "off"})), "traefik-annotation-type", tr_field(name), "Set it to \"false\"")
		fires(violations(service({tr(name): "tRuE"})), "traefik-annotation-type", tr_field(name), "Set it to \"true\"")
	}
}

test_traefik_annotation_type_bool_go_spellings if {
	every v in ["1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"] {
		silent(violations(service({tr("service.sticky.cookie.secure"): v, tr("service.passhostheader"): v, tr("service.nodeportlb"): v})), "traefik-annotation-type")
	}
}

test_traefik_annotation_type_switch_not_true if {
	fires(violations(ingress({tr("router.tls"): "1"})), "traefik-annotation-type", tr_field("router.tls"), "TLS on this router is disabled. Set it to \"true\"")
	fires(violations(ingress({tr("router.tls"): "enabled"})), "traefik-annotation-type", tr_field("router.tls"), "Set it to \"true\"")
	fires(violations(service({tr("service.sticky.cookie"): "yes"})), "traefik-annotation-type", tr_field("service.sticky.cookie"), "the sticky cookie is disabled")
}

test_traefik_annotation_type_switch_ok if {
	every v in ["true", "TRUE", "True", "false", "False"] {
		silent(violations(ingress({tr("router.tls"): v})), "traefik-annotation-type")
		silent(violations(service({tr("service.sticky.cookie"): v})), "traefik-annotation-type")
	}
}

test_traefik_annotation_type_kind_specific if {
	# router.* is read from the Ingress, service.* from the Service only.
	silent(violations(service({tr("router.priority"): "high"})), "traefik-annotation-type")
	silent(violations(ingress({tr("service.passhostheader"): "yes"})), "traefik-annotation-type")
}

test_traefik_annotation_type_untyped_ignored if {
	silent(violations(ingress({tr("router.entrypoints"): "websecure", tr("router.middlewares"): "chat-auth@kubernetescrd"})), "traefik-annotation-type")
}

# --- haproxy-cookie-conflict -------------------------------------------------------

test_haproxy_cookie_conflict_same_prefix if {
	obj := service({"haproxy.org/cookie-persistence": "ws", "haproxy.org/cookie-persistence-no-dynamic": "ws"})
	fires(violations(obj), "haproxy-cookie-conflict", "metadata.annotations[haproxy.org/cookie-persistence-no-dynamic]", "Remove haproxy.org/cookie-persistence-no-dynamic")
}

test_haproxy_cookie_conflict_mixed_prefixes if {
	obj := service({"haproxy.com/cookie-persistence": "ws", "ingress.kubernetes.io/cookie-persistence-no-dynamic": "ws"})
	fires(violations(obj), "haproxy-cookie-conflict", "metadata.annotations[ingress.kubernetes.io/cookie-persistence-no-dynamic]", "keep haproxy.com/cookie-persistence")
}

test_haproxy_cookie_conflict_compliant if {
	silent(violations(service({"haproxy.org/cookie-persistence": "ws"})), "haproxy-cookie-conflict")
	silent(violations(service({"haproxy.org/cookie-persistence-no-dynamic": "ws"})), "haproxy-cookie-conflict")
	silent(violations(service({"haproxy.org/cookie-persistence": "ws", "haproxy.com/cookie-persistence": "ws"})), "haproxy-cookie-conflict")
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
	{"ports": [{"name": "ws", "port": 8080, "appProtocol": "http"}], "sessionAffinity": "ClientIP", "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 10800}}},
)

mutated_backend_config := {"apiVersion": "cloud.google.com/v1", "kind": "BackendConfig", "metadata": {"name": "ws"}, "spec": {"timeoutSec": 3600}}

mutated_http_proxy := {"apiVersion": "projectcontour.io/v1", "kind": "HTTPProxy", "metadata": {"name": "ws"}, "spec": {"routes": [{"enableWebsockets": true, "timeoutPolicy": {"response": "infinity"}}]}}

test_mutation_defaults_no_validity_violation if {
	every obj in [mutated_nginx, mutated_haproxy, mutated_alb, mutated_service, mutated_backend_config, mutated_http_proxy] {
		count(violations(obj)) == 0
	}
}
