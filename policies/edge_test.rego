package wsdefaults.rules.edge_test

import data.wsdefaults.input_test
import data.wsdefaults.rules.edge

# input.edge is computed by the webhook (webhook/edge, whose Go tests cover
# detection and parsing); these tests give it as the webhook would.

service(annotations, spec) := {
	"apiVersion": "v1",
	"kind": "Service",
	"metadata": {"name": "chat", "namespace": "chat", "annotations": annotations},
	"spec": object.union({"type": "LoadBalancer", "ports": [{"name": "ws", "port": 443}]}, spec),
}

input_for(obj, lb, evidence, defaulted) := input_test.complete({
	"operation": "CREATE",
	"object": obj,
	"oldObject": null,
	"namespace": {"name": "chat", "labels": {"ws-defaults": "enabled"}, "annotations": {}},
	"controller": "",
	"optedIn": true,
	"defaulted": defaulted,
	"evidence": {"fields": evidence, "negative": "", "off": false},
	"gateway": {"controllers": [], "backends": {}, "policies": []},
	"edge": lb,
	"parameters": {"nginxAnnotationPrefix": "nginx.ingress.kubernetes.io", "minIdleTimeoutSeconds": 3600},
})

ws := {"spec.ports[0]": "port name ws (token ws)"}

lb(provider, name, refuses, settings, ignored) := {
	"loadBalancer": true, "provider": provider, "variant": "", "name": name, "source": "policy spec.edge.provider",
	"refusesClientIP": refuses, "settings": settings, "ignored": ignored,
}

clb_key := "service.beta.kubernetes.io/aws-load-balancer-connection-idle-timeout"

azure_key := "service.beta.kubernetes.io/azure-load-balancer-tcp-idle-timeout"

nlb_key := "service.beta.kubernetes.io/aws-load-balancer-listener-attributes.TCP-443"

setting(key, unit, rng, dflt, port, value) := {
	"listener": "", "key": key, "field": sprintf("metadata.annotations[%s]", [key]), "attribute": "",
	"unit": unit, "range": rng, "default": dflt, "note": "", "port": port,
	"set": value.set, "seconds": value.seconds, "error": value.error, "outOfRange": value.outOfRange,
	"suggested": value.suggested, "wantSeconds": 3600,
}

unset := {"set": false, "seconds": 0, "error": "", "outOfRange": "", "suggested": "3600"}

clb(value) := setting(clb_key, "seconds", "1 to 3600 seconds", 60, -1, value)

azure(value) := setting(azure_key, "minutes", "4 to 100 minutes", 240, -1, object.union(value, {"suggested": "60"}))

fires(vs, rule, field, fix) if {
	some v in vs
	v.rule == rule
	v.field == field
	contains(v.message, fix)
}

silent(vs, rule) if count([v | some v in vs; v.rule == rule]) == 0

# --- edge-affinity-unsupported ---

test_affinity_refused_fires if {
	obj := service({}, {"sessionAffinity": "ClientIP"})
	doc := input_for(obj, lb("aws-clb", "AWS Classic ELB (AWS cloud provider)", true, [], []), {}, [])
	fires(edge.violation, "edge-affinity-unsupported", "spec.sessionAffinity", "Set spec.sessionAffinity to None") with input as doc
}

test_affinity_accepted_silent if {
	obj := service({}, {"sessionAffinity": "ClientIP"})
	doc := input_for(obj, lb("azure", "Azure Load Balancer", false, [], []), {}, [])
	silent(edge.violation, "edge-affinity-unsupported") with input as doc
}

test_affinity_none_silent if {
	obj := service({}, {"sessionAffinity": "None"})
	doc := input_for(obj, lb("oci", "OCI Load Balancer", true, [], []), {}, [])
	silent(edge.violation, "edge-affinity-unsupported") with input as doc
}

test_not_a_load_balancer_silent if {
	obj := object.union(service({}, {"sessionAffinity": "ClientIP"}), {"spec": {"type": "ClusterIP"}})
	doc := input_for(obj, {"loadBalancer": false, "settings": [], "ignored": []}, ws, [])
	count(edge.violation) == 0 with input as doc
}

# --- edge-idle-timeout-format ---

test_format_azure_seconds_as_minutes if {
	obj := service({azure_key: "3600"}, {})
	v := {"set": true, "seconds": 216000, "error": "", "outOfRange": "4 to 100 minutes"}
	doc := input_for(obj, lb("azure", "Azure Load Balancer", false, [azure(v)], []), {}, [])
	vs := edge.violation with input as doc
	fires(vs, "edge-idle-timeout-format", sprintf("metadata.annotations[%s]", [azure_key]), "the unit is minutes, not seconds")
	fires(vs, "edge-idle-timeout-format", sprintf("metadata.annotations[%s]", [azure_key]), `Set it to "60"`)
}

test_format_unreadable if {
	obj := service({clb_key: "1h"}, {})
	v := {"set": true, "seconds": 0, "error": "not a whole number of seconds", "outOfRange": "", "suggested": "3600"}
	doc := input_for(obj, lb("aws-clb", "AWS Classic ELB (AWS cloud provider)", true, [clb(v)], []), {}, [])
	fires(edge.violation, "edge-idle-timeout-format", sprintf("metadata.annotations[%s]", [clb_key]), "cannot read") with input as doc
}

test_format_malformed_map if {
	obj := service({nlb_key: "tcp.idle_timeout.seconds"}, {})
	v := {
		"set": true, "seconds": 0, "error": "not a key=value pair", "outOfRange": "",
		"suggested": "tcp.idle_timeout.seconds=3600",
	}
	s := object.union(setting(nlb_key, "seconds", "60 to 6000 seconds", 350, 0, v), {"attribute": "tcp.idle_timeout.seconds"})
	doc := input_for(obj, lb("aws-nlb", "AWS NLB (AWS Load Balancer Controller)", false, [s], []), ws, [])
	fires(edge.violation, "edge-idle-timeout-format", sprintf("metadata.annotations[%s]", [nlb_key]), "tcp.idle_timeout.seconds=3600") with input as doc
}

test_format_valid_silent if {
	obj := service({azure_key: "60"}, {})
	v := {"set": true, "seconds": 3600, "error": "", "outOfRange": ""}
	doc := input_for(obj, lb("azure", "Azure Load Balancer", false, [azure(v)], []), ws, [])
	count(edge.violation) == 0 with input as doc
}

# --- edge-idle-timeout-ignored ---

test_ignored_fires if {
	obj := service({clb_key: "3600"}, {})
	i := {"key": clb_key, "field": sprintf("metadata.annotations[%s]", [clb_key]), "use": concat("", ["use ", nlb_key])}
	doc := input_for(obj, lb("aws-nlb", "AWS NLB (AWS Load Balancer Controller)", false, [], [i]), {}, [])
	fires(edge.violation, "edge-idle-timeout-ignored", sprintf("metadata.annotations[%s]", [clb_key]), nlb_key) with input as doc
}

# --- edge-idle-timeout-too-low ---

test_too_low_default if {
	obj := service({}, {})
	doc := input_for(obj, lb("aws-clb", "AWS Classic ELB (AWS cloud provider)", true, [clb(unset)], []), ws, [])
	fires(edge.violation, "edge-idle-timeout-too-low", sprintf("metadata.annotations[%s]", [clb_key]), `(its default)`) with input as doc
	fires(edge.violation, "edge-idle-timeout-too-low", sprintf("metadata.annotations[%s]", [clb_key]), `to "3600"`) with input as doc
}

test_too_low_value if {
	obj := service({clb_key: "120"}, {})
	v := {"set": true, "seconds": 120, "error": "", "outOfRange": "", "suggested": "3600"}
	doc := input_for(obj, lb("aws-clb", "AWS Classic ELB (AWS cloud provider)", true, [clb(v)], []), ws, [])
	fires(edge.violation, "edge-idle-timeout-too-low", sprintf("metadata.annotations[%s]", [clb_key]), "idle for 120 s") with input as doc
}

test_too_low_fixed_listener if {
	obj := service({}, {})
	s := object.union(setting("", "", "", 350, 0, unset), {"field": "", "listener": "TLS-443", "note": "fixed at 350 s"})
	doc := input_for(obj, lb("aws-nlb", "AWS NLB (AWS Load Balancer Controller)", false, [s], []), ws, [])
	fires(edge.violation, "edge-idle-timeout-too-low", "spec.ports[0]", "pings more often than every 350 s") with input as doc
}

test_too_low_injected_silent if {
	obj := service({clb_key: "60"}, {})
	v := {"set": true, "seconds": 60, "error": "", "outOfRange": "", "suggested": "3600"}
	doc := input_for(obj, lb("aws-clb", "AWS Classic ELB (AWS cloud provider)", true, [clb(v)], []), ws, [clb_key])
	silent(edge.violation, "edge-idle-timeout-too-low") with input as doc
}

test_too_low_merged_attribute_silent if {
	obj := service({nlb_key: "tcp.idle_timeout.seconds=60"}, {})
	v := {"set": true, "seconds": 60, "error": "", "outOfRange": "", "suggested": "tcp.idle_timeout.seconds=3600"}
	s := object.union(setting(nlb_key, "seconds", "60 to 6000 seconds", 350, 0, v), {"attribute": "tcp.idle_timeout.seconds"})
	doc := input_for(obj, lb("aws-nlb", "AWS NLB (AWS Load Balancer Controller)", false, [s], []), ws, [concat("", [nlb_key, "[tcp.idle_timeout.seconds]"])])
	silent(edge.violation, "edge-idle-timeout-too-low") with input as doc
}

test_too_low_without_evidence_silent if {
	obj := service({}, {})
	doc := input_for(obj, lb("aws-clb", "AWS Classic ELB (AWS cloud provider)", true, [clb(unset)], []), {}, [])
	silent(edge.violation, "edge-idle-timeout-too-low") with input as doc
}

test_too_low_unknown_default_silent if {
	obj := service({}, {})
	s := setting("service.beta.kubernetes.io/do-loadbalancer-http-idle-timeout-seconds", "seconds", "30 to 600 seconds", 0, -1, unset)
	doc := input_for(obj, lb("digitalocean", "DigitalOcean Load Balancer", false, [s], []), ws, [])
	silent(edge.violation, "edge-idle-timeout-too-low") with input as doc
}

test_too_low_enough_silent if {
	obj := service({azure_key: "60"}, {})
	v := {"set": true, "seconds": 3600, "error": "", "outOfRange": ""}
	doc := input_for(obj, lb("azure", "Azure Load Balancer", false, [azure(v)], []), ws, [])
	silent(edge.violation, "edge-idle-timeout-too-low") with input as doc
}
