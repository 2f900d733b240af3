package wsdefaults.lib_test

import data.wsdefaults.input_test
import data.wsdefaults.lib

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

# An Ingress with one annotation and one label.
ingress := {
	"apiVersion": "networking.k8s.io/v1",
	"kind": "Ingress",
	"metadata": {"name": "ws", "annotations": {"a": "1"}, "labels": {"app": "chat"}},
	"spec": {"rules": [{"host": "ws.example.com"}]},
}

# A Service with the given ports and metadata.
service(ports, metadata) := {
	"apiVersion": "v1",
	"kind": "Service",
	"metadata": object.union({"name": "chat"}, metadata),
	"spec": {"ports": ports},
}

# --- object accessors ---

test_group_core if {
	lib.group == "" with input as input_for(service([], {}))
}

test_group_named if {
	lib.group == "networking.k8s.io" with input as input_for(ingress)
}

test_is_ingress if {
	lib.is_ingress with input as input_for(ingress)
	not lib.is_service with input as input_for(ingress)
	not lib.is_ingress with input as input_for(object.union(ingress, {"apiVersion": "extensions.example.com/v1"}))
}

test_is_service if {
	lib.is_service with input as input_for(service([], {}))
	not lib.is_service with input as input_for(object.union(service([], {}), {"apiVersion": "serving.knative.dev/v1"}))
}

test_annotations_and_labels if {
	lib.annotations == {"a": "1"} with input as input_for(ingress)
	lib.labels == {"app": "chat"} with input as input_for(ingress)
	lib.annotations == {} with input as input_for(service([], {}))
	lib.spec == {} with input as input_for({"apiVersion": "v1", "kind": "ConfigMap"})
}

test_has_tls if {
	lib.has_tls with input as input_for(object.union(ingress, {"spec": {"tls": [{"hosts": ["ws.example.com"]}]}}))
	not lib.has_tls with input as input_for(ingress)
	not lib.has_tls with input as input_for(object.union(ingress, {"spec": {"tls": []}}))
}

# --- controller_is ---

test_controller_is_exact if {
	lib.controller_is("k8s.io/ingress-nginx") with input as input_with(ingress, {"controller": "k8s.io/ingress-nginx"})
}

test_controller_is_instance_suffix if {
	lib.controller_is("haproxy-ingress.github.io/controller") with input as input_with(ingress, {"controller": "haproxy-ingress.github.io/controller/internal"})
}

test_controller_is_lookalike if {
	not lib.controller_is("k8s.io/ingress-nginx") with input as input_with(ingress, {"controller": "k8s.io/ingress-nginx-extra"})
	not lib.controller_is("k8s.io/ingress-nginx") with input as input_with(ingress, {"controller": "example.com/k8s.io/ingress-nginx"})
}

test_controller_is_unknown if {
	not lib.controller_is("k8s.io/ingress-nginx") with input as input_for(ingress)
}

# --- nginx prefix, fields, defaulted ---

test_nginx_prefix if {
	lib.nginx == "nginx.ingress.kubernetes.io/" with input as input_for(ingress)
	lib.nginx == "custom.example.com/" with input as input_with(ingress, {"parameters": {"nginxAnnotationPrefix": "custom.example.com/"}})
}

# --- annotation indexes ---

# An Ingress with these annotations besides "a".
annotated(annotations) := object.union(ingress, {"metadata": {"annotations": annotations}})

test_annotation_keys if {
	lib.annotation_keys == {"a", "haproxy.org/timeout-tunnel"} with input as input_for(annotated({"haproxy.org/timeout-tunnel": "1h"}))
	lib.annotation_keys == set() with input as input_for(service([], {}))
}

test_nginx_annotations if {
	doc := input_for(annotated({"nginx.ingress.kubernetes.io/proxy-read-timeout": "3600", "nginx.org/websocket-services": "ws"}))
	lib.nginx_annotations == {"proxy-read-timeout": "3600"} with input as doc
}

test_nginx_annotations_custom_prefix if {
	doc := input_with(
		annotated({"nginx.ingress.kubernetes.io/affinity": "cookie", "custom.example.com/affinity": "none"}),
		{"parameters": {"nginxAnnotationPrefix": "custom.example.com"}},
	)
	lib.nginx_annotations == {"affinity": "none"} with input as doc
}

test_haproxy_annotated if {
	tech := input_for(annotated({"haproxy.com/timeout-tunnel": "1h"}))
	lib.haproxytech_annotated with input as tech
	not lib.haproxy_ingress_annotated with input as tech
	lib.haproxy_annotated with input as tech

	hi := input_for(annotated({"haproxy-ingress.github.io/affinity": "cookie"}))
	not lib.haproxytech_annotated with input as hi
	lib.haproxy_ingress_annotated with input as hi
	lib.haproxy_annotated with input as hi

	# ingress.kubernetes.io/ is read by both controllers.
	shared := input_for(annotated({"ingress.kubernetes.io/timeout-tunnel": "1h"}))
	lib.haproxytech_annotated with input as shared
	lib.haproxy_ingress_annotated with input as shared

	not lib.haproxy_annotated with input as input_for(ingress)
}

test_annotation_field if {
	lib.annotation_field("nginx.ingress.kubernetes.io/affinity") == "metadata.annotations[nginx.ingress.kubernetes.io/affinity]"
}

test_defaulted if {
	doc := input_with(ingress, {"defaulted": ["nginx.ingress.kubernetes.io/affinity", "spec.ports[0].appProtocol"]})
	lib.defaulted("nginx.ingress.kubernetes.io/affinity") with input as doc
	lib.defaulted("spec.ports[0].appProtocol") with input as doc
	not lib.defaulted("nginx.ingress.kubernetes.io/upstream-hash-by") with input as doc
	not lib.defaulted("nginx.ingress.kubernetes.io/affinity") with input as input_for(ingress)
}

test_violation if {
	lib.violation("istio-h2-upgrade", "spec.x", "m") == {"rule": "istio-h2-upgrade", "field": "spec.x", "message": "m"}
}

# --- is_int ---

test_is_int if {
	every s in ["0", "3600", "-5", "1000"] {
		lib.is_int(s)
	}
	every s in ["", "3600s", "1.5", " 1", "+1", "1e3"] {
		not lib.is_int(s)
	}
}

# --- duration_seconds ---

test_duration_seconds if {
	lib.duration_seconds("1h30m") == 5400
	lib.duration_seconds("15s") == 15
	lib.duration_seconds("250ms") == 0.25
	lib.duration_seconds("0s") == 0
	lib.duration_seconds("0") == 0
	lib.duration_seconds("0h0m0s") == 0
	lib.duration_seconds("-1s") == -1
}

test_duration_seconds_unparsable if {
	every s in ["", "3600", "forever", "1 h", "1.5"] {
		not lib.duration_seconds(s)
	}
}

# OPA's parser also takes days, which Go's time.ParseDuration does not.
test_duration_seconds_days if {
	lib.duration_seconds("1d") == 86400
}

# --- ws_evidence, ws_object, evidence_note ---
# (which routes and ports carry WebSocket is decided in Go, webhook/evidence;
# the rules only read input.evidence)

test_ws_evidence_reads_fields if {
	doc := object.union(input_for(service([], {})), {"evidence": {"fields": {"spec.ports[1]": "port name ws (token ws)"}, "negative": "", "off": false}})
	lib.ws_evidence("spec.ports[1]") == "port name ws (token ws)" with input as doc
	not lib.ws_evidence("spec.ports[0]") with input as doc
}

test_ws_evidence_absent_input if {
	not lib.ws_evidence("spec.ports[0]") with input as input_for(service([], {}))
	not lib.ws_object with input as input_for(service([], {}))
}

test_ws_object_first_field if {
	fields := {
		"spec.rules[1].http.paths[0]": "path segment cable",
		"spec.rules[0].http.paths[2]": "path segment ws",
	}
	doc := object.union(input_for(service([], {})), {"evidence": {"fields": fields}})
	lib.ws_object == "spec.rules[0].http.paths[2]: path segment ws" with input as doc
}

test_evidence_note if {
	lib.evidence_note("spec.ports[0]: port name ws") == " WebSocket evidence: spec.ports[0]: port name ws."
}

# is_ingress and is_service read apiVersion as group does.
test_kind_and_group if {
	every api_version in ["v1", "/v1", "networking.k8s.io/v1", "extensions/v1beta1", "x/networking.k8s.io/v1", 1, null] {
		svc := {"object": {"kind": "Service", "apiVersion": api_version}}
		service := {1 | lib.is_service} with input as svc
		core := {1 | lib.group == ""} with input as svc
		service == core
		ing := {"object": {"kind": "Ingress", "apiVersion": api_version}}
		ingress := {1 | lib.is_ingress} with input as ing
		networking := {1 | lib.group == "networking.k8s.io"} with input as ing
		ingress == networking
	}
}
