package wsdefaults.rules.timeouts_test

import data.wsdefaults.input_test
import data.wsdefaults.rules.timeouts

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
	"evidence": {"fields": ws_fields, "negative": "", "off": false},
})

# WebSocket evidence on every route and port the objects below have, as the
# pipeline computes it for an annotated object (webhook/evidence).
ws_fields := {
	"spec.rules[0].http.paths[0]": "path segment ws",
	"spec.ports[0]": "port name ws (token ws)",
	"spec.routes[0]": "enableWebsockets: true",
	"spec.routes[1]": "enableWebsockets: true",
	"spec.routes[2]": "enableWebsockets: true",
	"metadata": "annotation ws-defaults.io/websocket: \"true\"",
}

# input_for(obj) without any WebSocket evidence.
input_bare(obj) := json.patch(input_for(obj), [{"op": "replace", "path": "/evidence/fields", "value": {}}])

# input_for(obj) with the given keys recorded as added by the mutation.
input_defaulted(obj, keys) := object.union(input_for(obj), {"defaulted": keys})

ingress(annotations) := {
	"apiVersion": "networking.k8s.io/v1",
	"kind": "Ingress",
	"metadata": {"name": "chat", "namespace": "chat", "annotations": annotations},
	"spec": {"rules": [{"host": "ws.example.com"}]},
}

service(annotations) := {
	"apiVersion": "v1",
	"kind": "Service",
	"metadata": {"name": "chat", "namespace": "chat", "annotations": annotations},
	"spec": {"ports": [{"name": "ws", "port": 8080}]},
}

backend_config(t) := {"apiVersion": "cloud.google.com/v1", "kind": "BackendConfig", "metadata": {"name": "ws"}, "spec": {"timeoutSec": t}}

http_proxy(routes) := {"apiVersion": "projectcontour.io/v1", "kind": "HTTPProxy", "metadata": {"name": "ws"}, "spec": {"routes": routes}}

# The rule fired on field with a message that contains fix.
fires(vs, rule, field, fix) if {
	some v in vs
	v.rule == rule
	v.field == field
	contains(v.message, fix)
}

silent(vs, rule) if count([v | some v in vs; v.rule == rule]) == 0

nginx(name) := concat("", ["nginx.ingress.kubernetes.io/", name])

ann(key) := sprintf("metadata.annotations[%s]", [key])

# --- nginx-timeout-format ----------------------------------------------------------

test_nginx_timeout_format_unit_suffix if {
	key := nginx("proxy-read-timeout")
	fires(timeouts.violation, "nginx-timeout-format", ann(key), "falls back to its default (60 s") with input as input_for(ingress({key: "3600s"}))
	fires(timeouts.violation, "nginx-timeout-format", ann(key), "Set it to \"3600\".") with input as input_for(ingress({key: "3600s"}))
}

test_nginx_timeout_format_all_three_keys if {
	every name in ["proxy-read-timeout", "proxy-send-timeout", "proxy-connect-timeout"] {
		fires(timeouts.violation, "nginx-timeout-format", ann(nginx(name)), "Set it to") with input as input_for(ingress({nginx(name): "abc"}))
	}
}

test_nginx_timeout_format_intended_value if {
	fires(
		timeouts.violation, "nginx-timeout-format", ann(nginx("proxy-send-timeout")),
		"Set it to \"3600\".",
	) with input as input_for(ingress({nginx("proxy-send-timeout"): "1h"}))
	fires(
		timeouts.violation, "nginx-timeout-format", ann(nginx("proxy-read-timeout")),
		"Set it to \"3600\".",
	) with input as input_for(ingress({nginx("proxy-read-timeout"): " 3600"}))
	fires(
		timeouts.violation, "nginx-timeout-format", ann(nginx("proxy-read-timeout")),
		"Set it to \"7200\".",
	) with input as input_for(ingress({nginx("proxy-read-timeout"): "7200 "}))
	fires(
		timeouts.violation, "nginx-timeout-format", ann(nginx("proxy-connect-timeout")),
		"Set it to \"10\".",
	) with input as input_for(ingress({nginx("proxy-connect-timeout"): "10s"}))
	fires(
		timeouts.violation, "nginx-timeout-format", ann(nginx("proxy-connect-timeout")),
		"Set it to \"5\".",
	) with input as input_for(ingress({nginx("proxy-connect-timeout"): "1h"}))
}

test_nginx_timeout_format_zero_and_negative if {
	every v in ["0", "-5", "00"] {
		fires(
			timeouts.violation, "nginx-timeout-format", ann(nginx("proxy-read-timeout")),
			"Set it to \"3600\".",
		) with input as input_for(ingress({nginx("proxy-read-timeout"): v}))
	}
}

test_nginx_timeout_format_compliant if {
	silent(timeouts.violation, "nginx-timeout-format") with input as input_for(ingress({
		nginx("proxy-read-timeout"): "3600",
		nginx("proxy-send-timeout"): "60",
		nginx("proxy-connect-timeout"): "5",
	}))
}

test_nginx_timeout_format_custom_prefix if {
	obj := ingress({"nginx.example.com/proxy-read-timeout": "3600s", nginx("proxy-read-timeout"): "3600s"})
	doc := input_test.complete(json.patch(input_for(obj), [{"op": "replace", "path": "/parameters/nginxAnnotationPrefix", "value": "nginx.example.com/"}]))
	vs := timeouts.violation with input as doc
	fires(vs, "nginx-timeout-format", ann("nginx.example.com/proxy-read-timeout"), "Set it to \"3600\"")
	silent({v | some v in vs; v.field == ann(nginx("proxy-read-timeout"))}, "nginx-timeout-format")
}

# --- nginx-connect-timeout-range ---------------------------------------------------

test_nginx_connect_timeout_range_above_75 if {
	every v in ["76", "3600"] {
		fires(
			timeouts.violation, "nginx-connect-timeout-range", ann(nginx("proxy-connect-timeout")),
			"Remove it, or set it to \"5\"",
		) with input as input_for(ingress({nginx("proxy-connect-timeout"): v}))
	}
}

test_nginx_connect_timeout_range_compliant if {
	every v in ["5", "75", "1"] {
		silent(timeouts.violation, "nginx-connect-timeout-range") with input as input_for(ingress({nginx("proxy-connect-timeout"): v}))
	}
}

test_nginx_connect_timeout_range_malformed_left_to_format if {
	vs := timeouts.violation with input as input_for(ingress({nginx("proxy-connect-timeout"): "3600s"}))
	silent(vs, "nginx-connect-timeout-range")
	fires(vs, "nginx-timeout-format", ann(nginx("proxy-connect-timeout")), "Set it to \"5\"")
}

# --- websocket-idle-timeout-too-low ------------------------------------------------

test_websocket_idle_timeout_too_low_nginx if {
	every name in ["proxy-read-timeout", "proxy-send-timeout"] {
		fires(timeouts.violation, "websocket-idle-timeout-too-low", ann(nginx(name)), "Set it to \"3600\"") with input as input_for(ingress({nginx(name): "60"}))
	}
}

# Without evidence the rule is silent on every kind: a REST Ingress with a
# deliberate 300 s, a plain Service, a BackendConfig of a REST backend.
test_websocket_idle_timeout_too_low_needs_evidence if {
	every obj in [
		ingress({nginx("proxy-read-timeout"): "300"}),
		ingress({"haproxy-ingress.github.io/timeout-tunnel": "30m"}),
		ingress({alb_key: "idle_timeout.timeout_seconds=60"}),
		service({"konghq.com/read-timeout": "60000"}),
		backend_config(30),
		http_proxy([{"timeoutPolicy": {"response": "15s"}}]),
	] {
		silent(timeouts.violation, "websocket-idle-timeout-too-low") with input as input_bare(obj)
	}
}

test_websocket_idle_timeout_too_low_names_evidence if {
	fires(
		timeouts.violation, "websocket-idle-timeout-too-low", ann(nginx("proxy-read-timeout")),
		"WebSocket evidence: metadata: annotation",
	) with input as input_for(ingress({nginx("proxy-read-timeout"): "60"}))
}

# Contour: only WebSocket routes; REST routes keep their response timeouts.
test_websocket_idle_timeout_too_low_contour_only_ws_routes if {
	obj := http_proxy([
		{"conditions": [{"prefix": "/api"}], "timeoutPolicy": {"response": "30s"}},
		{"conditions": [{"prefix": "/ws"}], "timeoutPolicy": {"response": "30s"}},
	])
	doc := json.patch(input_for(obj), [{"op": "replace", "path": "/evidence/fields", "value": {"spec.routes[1]": "path segment ws"}}])
	vs := timeouts.violation with input as doc
	fires(vs, "websocket-idle-timeout-too-low", "spec.routes[1].timeoutPolicy.response", "WebSocket evidence: spec.routes[1]: path segment ws.")
	count([v | some v in vs; v.rule == "websocket-idle-timeout-too-low"]) == 1
}

test_websocket_idle_timeout_too_low_nginx_ok if {
	silent(timeouts.violation, "websocket-idle-timeout-too-low") with input as input_for(ingress({
		nginx("proxy-read-timeout"): "3600",
		nginx("proxy-send-timeout"): "86400",
	}))
}

test_websocket_idle_timeout_too_low_nginx_malformed_left_to_format if {
	every v in ["60s", "0", "-5", " 60"] {
		silent(timeouts.violation, "websocket-idle-timeout-too-low") with input as input_for(ingress({nginx("proxy-read-timeout"): v}))
	}
}

test_websocket_idle_timeout_too_low_nginx_connect_ignored if {
	silent(timeouts.violation, "websocket-idle-timeout-too-low") with input as input_for(ingress({nginx("proxy-connect-timeout"): "5"}))
}

test_websocket_idle_timeout_too_low_policy_minimum if {
	obj := ingress({nginx("proxy-read-timeout"): "600"})
	low := json.patch(input_for(obj), [{"op": "replace", "path": "/parameters/minIdleTimeoutSeconds", "value": 300}])
	silent(timeouts.violation, "websocket-idle-timeout-too-low") with input as low
	high := json.patch(input_for(obj), [{"op": "replace", "path": "/parameters/minIdleTimeoutSeconds", "value": 7200}])
	fires(timeouts.violation, "websocket-idle-timeout-too-low", ann(nginx("proxy-read-timeout")), "Set it to \"7200\"") with input as high
}

test_websocket_idle_timeout_too_low_defaulted_skipped if {
	# A namespace lowered the idle timeout to 600 s; the mutation injected it.
	obj := ingress({nginx("proxy-read-timeout"): "600", nginx("proxy-send-timeout"): "600"})
	vs := timeouts.violation with input as input_defaulted(obj, [nginx("proxy-read-timeout"), nginx("proxy-send-timeout")])
	count(vs) == 0
}

test_websocket_idle_timeout_too_low_haproxy_prefixes if {
	every prefix in ["haproxy-ingress.github.io/", "ingress.kubernetes.io/", "haproxy.org/", "haproxy.com/"] {
		key := concat("", [prefix, "timeout-tunnel"])
		fires(timeouts.violation, "websocket-idle-timeout-too-low", ann(key), "Set it to \"1h\"") with input as input_for(ingress({key: "30m"}))
	}
}

test_websocket_idle_timeout_too_low_haproxy_units if {
	key := "haproxy-ingress.github.io/timeout-tunnel"
	every v in ["3600", "3600000us", "59m", "3599s"] {
		fires(timeouts.violation, "websocket-idle-timeout-too-low", ann(key), "Set it to \"1h\"") with input as input_for(ingress({key: v}))
	}
	every v in ["3600000", "3600000ms", "3600s", "60m", "1h", "1d"] {
		silent(timeouts.violation, "websocket-idle-timeout-too-low") with input as input_for(ingress({key: v}))
	}
}

test_websocket_idle_timeout_too_low_haproxy_odd_minimum if {
	obj := ingress({"haproxy-ingress.github.io/timeout-tunnel": "1m"})
	doc := json.patch(input_for(obj), [{"op": "replace", "path": "/parameters/minIdleTimeoutSeconds", "value": 5400}])
	fires(timeouts.violation, "websocket-idle-timeout-too-low", ann("haproxy-ingress.github.io/timeout-tunnel"), "Set it to \"90m\"") with input as doc
}

test_websocket_idle_timeout_too_low_haproxy_defaulted_skipped if {
	obj := ingress({"haproxy-ingress.github.io/timeout-tunnel": "10m"})
	silent(timeouts.violation, "websocket-idle-timeout-too-low") with input as input_defaulted(obj, ["haproxy-ingress.github.io/timeout-tunnel"])
}

alb_key := "alb.ingress.kubernetes.io/load-balancer-attributes"

test_websocket_idle_timeout_too_low_alb if {
	obj := ingress({alb_key: "deletion_protection.enabled=true,idle_timeout.timeout_seconds=60"})
	fires(timeouts.violation, "websocket-idle-timeout-too-low", ann(alb_key), "Set idle_timeout.timeout_seconds=3600") with input as input_for(obj)
}

test_websocket_idle_timeout_too_low_alb_ok if {
	every v in [
		"idle_timeout.timeout_seconds=3600",
		"idle_timeout.timeout_seconds=4000",
		"idle_timeout.timeout_seconds=0",
		"idle_timeout.timeout_seconds=abc",
		"deletion_protection.enabled=true",
	] {
		silent(timeouts.violation, "websocket-idle-timeout-too-low") with input as input_for(ingress({alb_key: v}))
	}
}

test_websocket_idle_timeout_too_low_alb_capped_at_4000 if {
	obj := ingress({alb_key: "idle_timeout.timeout_seconds=4000"})
	doc := json.patch(input_for(obj), [{"op": "replace", "path": "/parameters/minIdleTimeoutSeconds", "value": 7200}])
	silent(timeouts.violation, "websocket-idle-timeout-too-low") with input as doc
	doc2 := json.patch(
		input_for(ingress({alb_key: "idle_timeout.timeout_seconds=3600"})),
		[{"op": "replace", "path": "/parameters/minIdleTimeoutSeconds", "value": 7200}],
	)
	fires(timeouts.violation, "websocket-idle-timeout-too-low", ann(alb_key), "Set idle_timeout.timeout_seconds=4000") with input as doc2
}

test_websocket_idle_timeout_too_low_alb_defaulted_skipped if {
	obj := ingress({alb_key: "idle_timeout.timeout_seconds=600"})
	silent(timeouts.violation, "websocket-idle-timeout-too-low") with input as input_defaulted(obj, [alb_key])
	merged := ingress({alb_key: "deletion_protection.enabled=true,idle_timeout.timeout_seconds=600"})
	silent(timeouts.violation, "websocket-idle-timeout-too-low") with input as input_defaulted(merged, [concat("", [alb_key, "[idle_timeout.timeout_seconds]"])])
}

test_websocket_idle_timeout_too_low_kong if {
	every key in ["konghq.com/read-timeout", "konghq.com/write-timeout"] {
		fires(timeouts.violation, "websocket-idle-timeout-too-low", ann(key), "Set it to \"3600000\"") with input as input_for(service({key: "3600"}))
		fires(timeouts.violation, "websocket-idle-timeout-too-low", ann(key), "milliseconds") with input as input_for(service({key: "60000"}))
	}
}

test_websocket_idle_timeout_too_low_kong_ok if {
	silent(timeouts.violation, "websocket-idle-timeout-too-low") with input as input_for(service({
		"konghq.com/read-timeout": "3600000",
		"konghq.com/write-timeout": "86400000",
		"konghq.com/connect-timeout": "5000",
	}))

	# Kong reads these from the Service only.
	silent(timeouts.violation, "websocket-idle-timeout-too-low") with input as input_for(ingress({"konghq.com/read-timeout": "3600"}))
}

test_websocket_idle_timeout_too_low_kong_defaulted_skipped if {
	obj := service({"konghq.com/read-timeout": "600000"})
	silent(timeouts.violation, "websocket-idle-timeout-too-low") with input as input_defaulted(obj, ["konghq.com/read-timeout"])
}

test_websocket_idle_timeout_too_low_backend_config if {
	fires(timeouts.violation, "websocket-idle-timeout-too-low", "spec.timeoutSec", "Set spec.timeoutSec to 3600") with input as input_for(backend_config(30))
	silent(timeouts.violation, "websocket-idle-timeout-too-low") with input as input_for(backend_config(3600))
	silent(timeouts.violation, "websocket-idle-timeout-too-low") with input as input_for(backend_config(86400))
	silent(timeouts.violation, "websocket-idle-timeout-too-low") with input as input_defaulted(backend_config(600), ["spec.timeoutSec"])
}

test_websocket_idle_timeout_too_low_contour_response if {
	obj := http_proxy([{"enableWebsockets": true, "timeoutPolicy": {"response": "15s"}}])
	fires(timeouts.violation, "websocket-idle-timeout-too-low", "spec.routes[0].timeoutPolicy.response", "Set it to \"infinity\"") with input as input_for(obj)
}

test_websocket_idle_timeout_too_low_contour_zero_response_is_default if {
	obj := http_proxy([{"enableWebsockets": true, "timeoutPolicy": {"response": "0s"}}])
	fires(timeouts.violation, "websocket-idle-timeout-too-low", "spec.routes[0].timeoutPolicy.response", "Envoy's 15 s default") with input as input_for(obj)
}

test_websocket_idle_timeout_too_low_contour_idle if {
	obj := http_proxy([
		{"enableWebsockets": true, "timeoutPolicy": {"response": "infinity", "idle": "5m"}},
		{"enableWebsockets": true, "timeoutPolicy": {"response": "infinite", "idle": "30m"}},
	])
	vs := timeouts.violation with input as input_for(obj)
	fires(vs, "websocket-idle-timeout-too-low", "spec.routes[0].timeoutPolicy.idle", "Set it to \"infinity\"")
	fires(vs, "websocket-idle-timeout-too-low", "spec.routes[1].timeoutPolicy.idle", "Set it to \"infinity\"")
	count([v | some v in vs; v.rule == "websocket-idle-timeout-too-low"]) == 2
}

test_websocket_idle_timeout_too_low_contour_ok if {
	obj := http_proxy([
		{"enableWebsockets": true, "timeoutPolicy": {"response": "infinity", "idle": "0s"}},
		{"enableWebsockets": true, "timeoutPolicy": {"response": "2h", "idle": "1h30m"}},
		{"enableWebsockets": false, "timeoutPolicy": {"response": "15s"}},
	])
	silent(timeouts.violation, "websocket-idle-timeout-too-low") with input as input_for(obj)
}

test_websocket_idle_timeout_too_low_contour_defaulted_skipped if {
	obj := http_proxy([{"enableWebsockets": true, "timeoutPolicy": {"response": "10m"}}])
	silent(timeouts.violation, "websocket-idle-timeout-too-low") with input as input_defaulted(obj, ["spec.routes[0].timeoutPolicy.response"])
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

mutated_service := service({
	"traefik.ingress.kubernetes.io/service.sticky.cookie": "true",
	"traefik.ingress.kubernetes.io/service.sticky.cookie.name": "ws-server",
	"traefik.ingress.kubernetes.io/service.sticky.cookie.secure": "true",
	"traefik.ingress.kubernetes.io/service.sticky.cookie.httponly": "true",
	"traefik.ingress.kubernetes.io/service.sticky.cookie.samesite": "lax",
	"haproxy.org/cookie-persistence": "ws-server",
	"haproxy.org/load-balance": "leastconn",
	"konghq.com/read-timeout": "3600000",
	"konghq.com/write-timeout": "3600000",
})

mutated_http_proxy := http_proxy([
	{"enableWebsockets": true, "timeoutPolicy": {"response": "infinity"}},
	{"enableWebsockets": true, "timeoutPolicy": {"response": "infinity"}},
])

# The values are clean on their own, and also when listed as defaulted.
test_mutation_defaults_no_timeouts_violation if {
	every obj in [mutated_nginx, mutated_haproxy, mutated_alb, mutated_service, backend_config(3600), mutated_http_proxy] {
		count(timeouts.violation) == 0 with input as input_for(obj)
		count(timeouts.violation) == 0 with input as input_defaulted(obj, [
			"nginx.ingress.kubernetes.io/proxy-read-timeout",
			"haproxy-ingress.github.io/timeout-tunnel",
			"konghq.com/read-timeout",
			"spec.timeoutSec",
		])
	}
}

# --- gke-ws-backend-timeout ---

gke_ingress := {
	"apiVersion": "networking.k8s.io/v1",
	"kind": "Ingress",
	"metadata": {"name": "chat", "namespace": "chat"},
	"spec": {"ingressClassName": "gce", "rules": [{"http": {"paths": [
		{"path": "/ws", "backend": {"service": {"name": "chat", "port": {"number": 80}}}},
		{"path": "/api", "backend": {"service": {"name": "api", "port": {"number": 80}}}},
	]}}]},
}

gke_doc(controller, without) := object.union(input_for(gke_ingress), {
	"controller": controller,
	"evidence": {
		"fields": {"spec.rules[0].http.paths[0]": "path segment ws"},
		"negative": "",
		"off": false,
		"withoutBackendConfig": without,
	},
})

test_gke_ws_backend_timeout_fires if {
	vs := timeouts.violation with input as gke_doc("k8s.io/ingress-gce", {"spec.rules[0].http.paths[0]": "chat/chat"})
	some v in vs
	v.rule == "gke-ws-backend-timeout"
	v.field == "spec.rules[0].http.paths[0]"
	contains(v.message, "Service chat/chat")
	contains(v.message, "WebSocket evidence: spec.rules[0].http.paths[0]: path segment ws")
}

# The Service has a BackendConfig (or is unknown): nothing in withoutBackendConfig.
test_gke_ws_backend_timeout_silent_with_config if {
	vs := timeouts.violation with input as gke_doc("k8s.io/ingress-gce", {})
	not "gke-ws-backend-timeout" in {v.rule | some v in vs}
}

# Another controller: GKE's timeout does not apply.
test_gke_ws_backend_timeout_other_controller if {
	vs := timeouts.violation with input as gke_doc("k8s.io/ingress-nginx", {"spec.rules[0].http.paths[0]": "chat/chat"})
	not "gke-ws-backend-timeout" in {v.rule | some v in vs}
}

# A route without evidence, even if listed, is not judged.
test_gke_ws_backend_timeout_needs_evidence if {
	vs := timeouts.violation with input as gke_doc("k8s.io/ingress-gce", {"spec.rules[0].http.paths[1]": "chat/api"})
	not "gke-ws-backend-timeout" in {v.rule | some v in vs}
}

# --- websocket-idle-timeout-too-low: Gateway API -----------------------------------

eg_controller := "gateway.envoyproxy.io/gatewayclass-controller"

ngf_controller := "gateway.nginx.org/nginx-gateway-controller"

gke_controller := "networking.gke.io/gateway"

# input_for(obj) with the given evidence and Gateway API facts.
gw_input(obj, fields, gateway) := json.patch(input_for(obj), [
	{"op": "replace", "path": "/evidence/fields", "value": fields},
	{"op": "add", "path": "/gateway", "value": object.union({"controllers": [], "backends": {}, "policies": []}, gateway)},
])

# d with another policy minimum.
with_min(d, seconds) := json.patch(d, [{"op": "replace", "path": "/parameters/minIdleTimeoutSeconds", "value": seconds}])

# An implementation policy with a WebSocket target.
ws_target := {"spec.targetRefs[0]": "HTTPRoute chat/chat has WebSocket rules"}

gw_policy(api_version, kind, spec) := {
	"apiVersion": api_version,
	"kind": kind,
	"metadata": {"name": "ws", "namespace": "chat"},
	"spec": object.union({"targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "chat"}]}, spec),
}

eg_btp(spec) := gw_policy("gateway.envoyproxy.io/v1alpha1", "BackendTrafficPolicy", spec)

eg_ctp(spec) := gw_policy("gateway.envoyproxy.io/v1alpha1", "ClientTrafficPolicy", spec)

ngf_psp(spec) := gw_policy("gateway.nginx.org/v1alpha1", "ProxySettingsPolicy", spec)

gcp_backend_policy(spec) := {
	"apiVersion": "networking.gke.io/v1",
	"kind": "GCPBackendPolicy",
	"metadata": {"name": "api", "namespace": "chat"},
	"spec": object.union({"targetRef": {"group": "", "kind": "Service", "name": "api"}}, spec),
}

stream_idle(v) := {"timeout": {"http": {"streamIdleTimeout": v}}}

test_websocket_idle_timeout_too_low_eg_stream_idle if {
	doc := with_min(gw_input(eg_btp(stream_idle("1h")), ws_target, {}), 5401)
	fires(timeouts.violation, "websocket-idle-timeout-too-low", "spec.timeout.http.streamIdleTimeout", `Set it to "1h30m1s".`) with input as doc
	every obj in [eg_btp(stream_idle("5m")), eg_ctp(stream_idle("300s"))] {
		vs := timeouts.violation with input as gw_input(obj, ws_target, {})
		fires(vs, "websocket-idle-timeout-too-low", "spec.timeout.http.streamIdleTimeout", "(300 s), below the policy minimum of 3600 s")
		fires(vs, "websocket-idle-timeout-too-low", "spec.timeout.http.streamIdleTimeout", `Set it to "1h".`)
		fires(vs, "websocket-idle-timeout-too-low", "spec.timeout.http.streamIdleTimeout", "WebSocket evidence: spec.targetRefs[0]: HTTPRoute chat/chat")
	}
}

test_websocket_idle_timeout_too_low_eg_stream_idle_silent if {
	# No WebSocket target; injected by the mutation; another group.
	silent(timeouts.violation, "websocket-idle-timeout-too-low") with input as gw_input(eg_btp(stream_idle("5m")), {}, {})
	injected := object.union(gw_input(eg_btp(stream_idle("10m")), ws_target, {}), {"defaulted": ["spec.timeout.http.streamIdleTimeout"]})
	silent(timeouts.violation, "websocket-idle-timeout-too-low") with input as injected
	other := gw_policy("example.com/v1", "BackendTrafficPolicy", stream_idle("5m"))
	silent(timeouts.violation, "websocket-idle-timeout-too-low") with input as gw_input(other, ws_target, {})

	# At the minimum, off ("0s"), malformed (gwapi-duration-format's).
	every v in ["1h", "3600s", "2h", "0s", "0ms", "300"] {
		silent(timeouts.violation, "websocket-idle-timeout-too-low") with input as gw_input(eg_btp(stream_idle(v)), ws_target, {})
	}
}

test_websocket_idle_timeout_too_low_ngf_proxy_settings if {
	# NGF's format: a day is "24h", never "86400s".
	doc := with_min(gw_input(ngf_psp({"timeout": {"read": "1h"}}), ws_target, {}), 86400)
	fires(timeouts.violation, "websocket-idle-timeout-too-low", "spec.timeout.read", `Set it to "24h".`) with input as doc
	every row in [["read", "60s"], ["send", "60"], ["read", "59m"], ["send", "3599s"], ["read", "9999ms"]] {
		[name, value] := row
		field := sprintf("spec.timeout.%s", [name])
		vs := timeouts.violation with input as gw_input(ngf_psp({"timeout": {name: value}}), ws_target, {})
		fires(vs, "websocket-idle-timeout-too-low", field, `Set it to "1h".`)
		fires(vs, "websocket-idle-timeout-too-low", field, "WebSocket evidence:")
	}
}

test_websocket_idle_timeout_too_low_ngf_proxy_settings_silent if {
	silent(timeouts.violation, "websocket-idle-timeout-too-low") with input as gw_input(ngf_psp({"timeout": {"read": "60s"}}), {}, {})
	injected := object.union(
		gw_input(ngf_psp({"timeout": {"read": "10m", "send": "10m"}}), ws_target, {}),
		{"defaulted": ["spec.timeout.read", "spec.timeout.send"]},
	)
	silent(timeouts.violation, "websocket-idle-timeout-too-low") with input as injected

	# The connect timeout is not an idle timeout.
	silent(timeouts.violation, "websocket-idle-timeout-too-low") with input as gw_input(ngf_psp({"timeout": {"connect": "5s"}}), ws_target, {})
	every value in ["3600", "1h", "60m", "9999h", "86400s"] {
		obj := ngf_psp({"timeout": {"read": value, "send": value, "connect": "5s"}})
		silent(timeouts.violation, "websocket-idle-timeout-too-low") with input as gw_input(obj, ws_target, {})
	}
}

test_websocket_idle_timeout_too_low_gcp_backend_policy if {
	ws_service := {"spec.targetRef": "Service chat/api has a WebSocket port"}
	vs := timeouts.violation with input as gw_input(gcp_backend_policy({"default": {"timeoutSec": 30}}), ws_service, {})
	fires(vs, "websocket-idle-timeout-too-low", "spec.default.timeoutSec", "Set spec.default.timeoutSec to 3600.")
	fires(vs, "websocket-idle-timeout-too-low", "spec.default.timeoutSec", "WebSocket evidence: spec.targetRef: Service chat/api")
	silent(timeouts.violation, "websocket-idle-timeout-too-low") with input as gw_input(gcp_backend_policy({"default": {"timeoutSec": 3600}}), ws_service, {})
	silent(timeouts.violation, "websocket-idle-timeout-too-low") with input as gw_input(gcp_backend_policy({"default": {"timeoutSec": 30}}), {}, {})
	injected := object.union(gw_input(gcp_backend_policy({"default": {"timeoutSec": 600}}), ws_service, {}), {"defaulted": ["spec.default.timeoutSec"]})
	silent(timeouts.violation, "websocket-idle-timeout-too-low") with input as injected
}

# --- on the WebSocket route itself ---

gw_route(rules) := {
	"apiVersion": "gateway.networking.k8s.io/v1",
	"kind": "HTTPRoute",
	"metadata": {"name": "chat", "namespace": "chat"},
	"spec": {"parentRefs": [{"name": "gw"}], "rules": rules},
}

ws_rule(extra) := object.union({"matches": [{"path": {"type": "PathPrefix", "value": "/ws"}}], "backendRefs": [{"name": "api", "port": 8080}]}, extra)

ws_rule0 := {"spec.rules[0]": "path segment ws"}

# An attached policy as input.gateway.policies lists it.
attached(kind, group, name, to, spec) := {
	"kind": kind, "group": group, "namespace": "chat", "name": name,
	"attachedTo": to, "target": "HTTPRoute chat/chat", "spec": spec,
}

psp_attached(name, to, read) := attached("ProxySettingsPolicy", "gateway.nginx.org", name, to, {"timeout": {"read": read}})

# The object a message prints, parsed back.
printed(msg) := json.unmarshal(regex.find_n(`\{.*\}`, msg, 1)[0])

route_finding(vs, field) := v if {
	some v in vs
	v.rule == "websocket-idle-timeout-too-low"
	v.field == field
}

test_websocket_idle_timeout_too_low_ngf_route_default if {
	vs := timeouts.violation with input as gw_input(gw_route([ws_rule({})]), ws_rule0, {"controllers": [ngf_controller]})
	v := route_finding(vs, "spec.rules[0]")
	contains(v.message, "nginx's default of 60 s applies")
	contains(v.message, "WebSocket evidence: spec.rules[0]: path segment ws.")
	printed(v.message) == {
		"apiVersion": "gateway.nginx.org/v1alpha1",
		"kind": "ProxySettingsPolicy",
		"metadata": {"name": "chat-websocket", "namespace": "chat"},
		"spec": {
			"targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "chat"}],
			"timeout": {"read": "1h", "send": "1h"},
		},
	}
}

test_websocket_idle_timeout_too_low_ngf_route_policies if {
	route := gw_route([ws_rule({})])

	# The route's own policy wins over its Gateway's.
	both := {"controllers": [ngf_controller], "policies": [psp_attached("gw", "gateway", "1h"), psp_attached("ws", "route", "60s")]}
	vs := timeouts.violation with input as gw_input(route, ws_rule0, both)
	v := route_finding(vs, "spec.rules[0]")
	contains(v.message, `ProxySettingsPolicy chat/ws (attached to its route) sets spec.timeout.read to "60s"`)
	contains(v.message, "ProxySettingsPolicy chat/ws already targets this HTTPRoute")

	# A long minimum in NGF's format.
	doc := with_min(gw_input(route, ws_rule0, {"controllers": [ngf_controller]}), 86400)
	vs2 := timeouts.violation with input as doc
	printed(route_finding(vs2, "spec.rules[0]").message).spec.timeout == {"read": "24h", "send": "24h"}

	# A policy raising read, on the route or (inherited) on its Gateway.
	every p in [psp_attached("ws", "route", "1h"), psp_attached("gw", "gateway", "3600")] {
		silent(timeouts.violation, "websocket-idle-timeout-too-low") with input as gw_input(route, ws_rule0, {"controllers": [ngf_controller], "policies": [p]})
	}
}

test_websocket_idle_timeout_too_low_gw_route_silent if {
	route := gw_route([ws_rule({})])

	# No WebSocket rule; the implementation is unknown, or one with no such default.
	all_three := {"controllers": [ngf_controller, gke_controller, eg_controller]}
	silent(timeouts.violation, "websocket-idle-timeout-too-low") with input as gw_input(route, {}, all_three)
	every controllers in [[], ["istio.io/gateway-controller"], ["traefik.io/gateway-controller"]] {
		silent(timeouts.violation, "websocket-idle-timeout-too-low") with input as gw_input(route, ws_rule0, {"controllers": controllers})
	}
}

test_websocket_idle_timeout_too_low_gke_route if {
	route := gw_route([ws_rule({"backendRefs": [{"name": "api", "port": 8080}, {"name": "other", "namespace": "ops", "port": 80}]})])
	facts := {"controllers": [gke_controller], "backends": {"spec.rules[0].backendRefs[0]": {"service": "chat/api", "port": "8080", "appProtocol": ""}}}
	vs := timeouts.violation with input as gw_input(route, ws_rule0, facts)
	v := route_finding(vs, "spec.rules[0].backendRefs[0]")
	contains(v.message, "sends traffic to Service chat/api, and no GCPBackendPolicy targets it, so the backend service timeout of 30 s applies")
	printed(v.message) == {
		"apiVersion": "networking.gke.io/v1",
		"kind": "GCPBackendPolicy",
		"metadata": {"name": "api-websocket", "namespace": "chat"},
		"spec": {"default": {"timeoutSec": 3600}, "targetRef": {"group": "", "kind": "Service", "name": "api"}},
	}

	# Without the pipeline's facts the Service comes from the ref itself.
	w := route_finding(vs, "spec.rules[0].backendRefs[1]")
	contains(w.message, "Service ops/other")
	printed(w.message).metadata == {"name": "other-websocket", "namespace": "ops"}
}

# A GCPBackendPolicy attached to Service chat/api with timeoutSec t.
gcp_attached(t) := object.union(
	attached("GCPBackendPolicy", "networking.gke.io", "api", "service", {"default": {"timeoutSec": t}}),
	{"target": "Service chat/api"},
)

test_websocket_idle_timeout_too_low_gke_route_policies if {
	route := gw_route([ws_rule({})])
	ok := {"controllers": [gke_controller], "policies": [gcp_attached(3600)]}
	silent(timeouts.violation, "websocket-idle-timeout-too-low") with input as gw_input(route, ws_rule0, ok)
	low := {"controllers": [gke_controller], "policies": [gcp_attached(30)]}
	vs := timeouts.violation with input as gw_input(route, ws_rule0, low)
	v := route_finding(vs, "spec.rules[0].backendRefs[0]")
	contains(v.message, "GCPBackendPolicy chat/api sets spec.default.timeoutSec to 30")
	contains(v.message, "GCPBackendPolicy chat/api already targets it")
}

test_websocket_idle_timeout_too_low_eg_route_default if {
	vs := timeouts.violation with input as gw_input(gw_route([ws_rule({})]), ws_rule0, {"controllers": [eg_controller]})
	v := route_finding(vs, "spec.rules[0]")
	contains(v.message, "Envoy's stream idle timeout of 5 min applies")
	contains(v.message, "idle for 300 s")
	printed(v.message) == {
		"apiVersion": "gateway.envoyproxy.io/v1alpha1",
		"kind": "BackendTrafficPolicy",
		"metadata": {"name": "chat-websocket", "namespace": "chat"},
		"spec": {
			"targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "chat"}],
			"timeout": {"http": {"streamIdleTimeout": "1h"}},
		},
	}
}

test_websocket_idle_timeout_too_low_eg_route_request_timeout if {
	# Idle = max(1h, request): fine at the default minimum, short of a 2 h one.
	route := gw_route([ws_rule({"timeouts": {"request": "10m"}})])
	silent(timeouts.violation, "websocket-idle-timeout-too-low") with input as gw_input(route, ws_rule0, {"controllers": [eg_controller]})
	doc := with_min(gw_input(route, ws_rule0, {"controllers": [eg_controller]}), 7200)
	vs := timeouts.violation with input as doc
	v := route_finding(vs, "spec.rules[0]")
	contains(v.message, `spec.rules[0].timeouts.request is "10m", so Envoy Gateway sets the route's idle timeout to max(1h, that) = 3600 s`)
	printed(v.message).spec.timeout.http.streamIdleTimeout == "2h"

	# The same from a BackendTrafficPolicy's requestTimeout.
	btp := attached("BackendTrafficPolicy", "gateway.envoyproxy.io", "ws", "route", {"timeout": {"http": {"requestTimeout": "30s"}}})
	doc2 := with_min(gw_input(gw_route([ws_rule({})]), ws_rule0, {"controllers": [eg_controller], "policies": [btp]}), 7200)
	v2 := route_finding(timeouts.violation, "spec.rules[0]") with input as doc2
	contains(v2.message, "BackendTrafficPolicy chat/ws spec.timeout.http.requestTimeout is \"30s\"")
	contains(v2.message, "BackendTrafficPolicy chat/ws already targets this HTTPRoute")
}

test_websocket_idle_timeout_too_low_eg_route_silent if {
	# "0s" turns idle reaping off; an injected request timeout (the mutation's).
	off := gw_route([ws_rule({"timeouts": {"request": "0s"}})])
	silent(timeouts.violation, "websocket-idle-timeout-too-low") with input as gw_input(off, ws_rule0, {"controllers": [eg_controller]})
	mutated := object.union(
		gw_input(gw_route([ws_rule({"timeouts": {"request": "10m"}})]), ws_rule0, {"controllers": [eg_controller]}),
		{"defaulted": ["spec.rules[0].timeouts.request"], "parameters": {"nginxAnnotationPrefix": "nginx.ingress.kubernetes.io", "minIdleTimeoutSeconds": 7200}},
	)
	silent(timeouts.violation, "websocket-idle-timeout-too-low") with input as mutated

	# A stream idle timeout from a BackendTrafficPolicy or the listener's ClientTrafficPolicy wins.
	route := gw_route([ws_rule({})])
	btp_off := attached("BackendTrafficPolicy", "gateway.envoyproxy.io", "ws", "gateway", {"timeout": {"http": {"requestTimeout": "0s"}}})
	silent(timeouts.violation, "websocket-idle-timeout-too-low") with input as gw_input(route, ws_rule0, {"controllers": [eg_controller], "policies": [btp_off]})
	every p in [
		attached("BackendTrafficPolicy", "gateway.envoyproxy.io", "ws", "route", stream_idle("5m")),
		attached("ClientTrafficPolicy", "gateway.envoyproxy.io", "gw", "gateway", stream_idle("2h")),
	] {
		silent(timeouts.violation, "websocket-idle-timeout-too-low") with input as gw_input(route, ws_rule0, {"controllers": [eg_controller], "policies": [p]})
	}
}

# The Gateway API objects the mutation fills in are clean.
test_mutation_defaults_no_gateway_api_violation if {
	mutated := object.union(
		gw_input(gw_route([ws_rule({"timeouts": {"request": "1h"}})]), ws_rule0, {"controllers": [eg_controller]}),
		{"defaulted": ["spec.rules[0].timeouts.request"]},
	)
	count(timeouts.violation) == 0 with input as mutated
	every obj in [eg_btp(stream_idle("1h")), ngf_psp({"timeout": {"read": "1h", "send": "1h"}}), gcp_backend_policy({"default": {"timeoutSec": 3600}})] {
		count(timeouts.violation) == 0 with input as gw_input(obj, ws_target, {})
	}
}

# nginx_seconds reads what ^\+?[0-9]{1,9}$ matches, above zero.
test_nginx_seconds if {
	cases := {
		"1": 1, "+1": 1, "3600": 3600, "000000042": 42, "123456789": 123456789,
		"0": null, "+0": null, "1234567890": null, "+": null, "++1": null, "-1": null, " 1": null,
		"1 ": null, "1s": null, "1.5": null, "1e3": null, "０": null, "1\n": null, "": null,
	}
	every v, want in cases {
		object.get({"n": n | n := timeouts.nginx_seconds(v)}, "n", null) == want
	}
}
