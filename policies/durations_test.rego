package wsdefaults.rules.durations_test

import data.wsdefaults.input_test
import data.wsdefaults.rules.durations

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
	"spec": {"rules": [{"host": "ws.example.com"}]},
}

service(annotations) := {
	"apiVersion": "v1",
	"kind": "Service",
	"metadata": {"name": "chat", "namespace": "chat", "annotations": annotations},
	"spec": {"ports": [{"name": "ws", "port": 8080}]},
}

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

# --- haproxy-timeout-format --------------------------------------------------------

# input_for(obj) served by the controller c.
input_controller(obj, c) := object.union(input_for(obj), {"controller": c})

# haproxytech reads a bare number as milliseconds.
test_haproxy_timeout_format_bare_number_haproxytech if {
	every key in ["haproxy.org/timeout-server", "haproxy.com/timeout-server"] {
		fires(durations.violation, "haproxy-timeout-format", ann(key), "this is 3.6 s") with input as input_for(service({key: "3600"}))
		fires(durations.violation, "haproxy-timeout-format", ann(key), "Set it to \"1h\"") with input as input_for(service({key: "3600"}))
	}
	key := "ingress.kubernetes.io/timeout-server"
	doc := input_controller(ingress({key: "3600"}), "haproxy.org/ingress-controller")
	fires(durations.violation, "haproxy-timeout-format", ann(key), "haproxytech reads a number without a unit as milliseconds, so this is 3.6 s") with input as doc
}

# haproxy-ingress drops a value without a unit and keeps its default
# (updater.go validateTime): it is not read as milliseconds.
test_haproxy_timeout_format_bare_number_haproxy_ingress if {
	every key in ["haproxy-ingress.github.io/timeout-tunnel", "ingress.kubernetes.io/timeout-tunnel"] {
		vs := durations.violation with input as input_controller(ingress({key: "3600"}), "haproxy-ingress.github.io/controller")
		fires(vs, "haproxy-timeout-format", ann(key), "it ignores this value with a warning in its log and keeps its default. Its default for timeout-tunnel is 1h.")
		fires(vs, "haproxy-timeout-format", ann(key), "Set it to \"1h\"")
		not fires(vs, "haproxy-timeout-format", ann(key), "3.6 s")
	}
}

# The shared prefix with no known controller: both readings.
test_haproxy_timeout_format_bare_number_shared_prefix if {
	key := "ingress.kubernetes.io/timeout-tunnel"
	vs := durations.violation with input as input_for(ingress({key: "3600"}))
	fires(vs, "haproxy-timeout-format", ann(key), "haproxy-ingress ignores a number without a unit")
	fires(vs, "haproxy-timeout-format", ann(key), "haproxytech reads it as milliseconds, that is 3.6 s")
}

# haproxytech reads timeout-tunnel (and every timeout but server and check)
# from its ConfigMap only: the annotation is ignored, whatever its format.
test_haproxy_timeout_format_haproxytech_configmap_only if {
	key := "haproxy.org/timeout-tunnel"
	vs := durations.violation with input as input_for(ingress({key: "3600"}))
	fires(vs, "haproxy-timeout-format", ann(key), "haproxytech reads timeout-tunnel only from its ConfigMap, so on an Ingress or Service it is ignored")
	fires(vs, "haproxy-timeout-format", ann(key), "(and in the ConfigMap this value would be 3.6 s, a number without a unit being milliseconds)")
	fires(vs, "haproxy-timeout-format", ann(key), "set timeout-tunnel: \"1h\" in the controller's ConfigMap")
	fires(durations.violation, "haproxy-timeout-format", ann(key), "not us") with input as input_for(ingress({key: "500us"}))
	silent(durations.violation, "haproxy-timeout-format") with input as input_for(ingress({key: "1h"}))
}

# haproxytech's parser has no us; haproxy-ingress's has.
test_haproxy_timeout_format_microseconds if {
	key := "haproxy.org/timeout-server"
	fires(durations.violation, "haproxy-timeout-format", ann(key), "knows ms, s, m, h and d but not us") with input as input_for(service({key: "500us"}))
	fires(durations.violation, "haproxy-timeout-format", ann(key), "Set it to \"1ms\"") with input as input_for(service({key: "500us"}))
	fires(durations.violation, "haproxy-timeout-format", ann(key), "Set it to \"2s\"") with input as input_for(service({key: "2000000us"}))
	silent(durations.violation, "haproxy-timeout-format") with input as input_for(ingress({"haproxy-ingress.github.io/timeout-server": "500us"}))
	silent(durations.violation, "haproxy-timeout-format") with input as input_for(ingress({"ingress.kubernetes.io/timeout-server": "500us"}))
	shared := "ingress.kubernetes.io/timeout-server"
	doc := input_controller(ingress({shared: "500us"}), "haproxy.org/ingress-controller")
	fires(durations.violation, "haproxy-timeout-format", ann(shared), "not us") with input as doc
}

# haproxytech's suggestion never uses us.
test_haproxy_timeout_format_haproxytech_fractions if {
	key := "haproxy.org/timeout-server"
	fires(durations.violation, "haproxy-timeout-format", ann(key), "Set it to \"2ms\"") with input as input_for(service({key: "1.5ms"}))
	other := "haproxy-ingress.github.io/timeout-server"
	fires(durations.violation, "haproxy-timeout-format", ann(other), "Set it to \"1500us\"") with input as input_for(ingress({other: "1.5ms"}))
}

test_haproxy_timeout_format_any_timeout_key if {
	fires(
		durations.violation, "haproxy-timeout-format", ann("haproxy.org/timeout-server"),
		"Set it to \"50s\"",
	) with input as input_for(service({"haproxy.org/timeout-server": "50"}))
	fires(
		durations.violation, "haproxy-timeout-format", ann("haproxy-ingress.github.io/timeout-client-fin"),
		"Set it to \"90s\"",
	) with input as input_for(ingress({"haproxy-ingress.github.io/timeout-client-fin": "90"}))
}

test_haproxy_timeout_format_malformed if {
	key := "haproxy-ingress.github.io/timeout-tunnel"
	fires(durations.violation, "haproxy-timeout-format", ann(key), "Set it to \"90m\"") with input as input_for(ingress({key: "1h30m"}))
	fires(durations.violation, "haproxy-timeout-format", ann(key), "Set it to \"1h\"") with input as input_for(ingress({key: " 1h"}))
	fires(durations.violation, "haproxy-timeout-format", ann(key), "Set it to \"1500ms\"") with input as input_for(ingress({key: "1.5s"}))
	fires(durations.violation, "haproxy-timeout-format", ann(key), "Set it to \"1h\"") with input as input_for(ingress({key: "1 h"}))
	fires(
		durations.violation, "haproxy-timeout-format", ann("haproxy.org/timeout-server"),
		"e.g. \"30s\"",
	) with input as input_for(ingress({"haproxy.org/timeout-server": "soon"}))
}

test_haproxy_timeout_format_compliant if {
	every v in ["1h", "3600s", "3600000ms", "1d", "50s", "0s"] {
		silent(durations.violation, "haproxy-timeout-format") with input as input_for(ingress({
			"haproxy.org/timeout-server": v,
			"haproxy-ingress.github.io/timeout-tunnel": v,
			"ingress.kubernetes.io/timeout-tunnel": v,
		}))
	}
}

test_haproxy_timeout_format_other_keys_ignored if {
	silent(durations.violation, "haproxy-timeout-format") with input as input_for(ingress({
		"haproxy.org/load-balance": "leastconn",
		"example.com/timeout-tunnel": "3600",
		nginx("proxy-read-timeout"): "3600",
	}))
}

# HAProxy's timers end at 2147483647 ms: a well-formed longer value makes
# HAProxy refuse its whole configuration (haproxy -c, make conformance).
test_haproxy_timer_overflow if {
	every value in ["25d", "597h", "2147484s", "2147483648ms"] {
		vs := durations.violation with input as input_for(ingress({"haproxy-ingress.github.io/timeout-tunnel": value}))
		some v in vs
		v.rule == "haproxy-timeout-format"
		contains(v.message, "timer overflow")
	}
	every value in ["24d", "596h", "2147483s", "2147483647ms", "7d"] {
		vs := durations.violation with input as input_for(ingress({"haproxy-ingress.github.io/timeout-tunnel": value}))
		count(vs) == 0
	}
}
