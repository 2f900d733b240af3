# METADATA
# title: Timeout rules
# description: >-
#   Timeouts that close WebSockets early: values a controller misreads
#   (wrong unit or format) and idle/lifetime timeouts below the policy's
#   minimum. Values the mutation injected are never reported.
package wsdefaults.rules.timeouts

import data.wsdefaults.lib

# A value for messages: strings quoted, anything else as JSON.
show(v) := json.marshal(v)

min_idle := input.parameters.minIdleTimeoutSeconds

# Nanoseconds of a Go duration ("90s", "1h30m", "1.5h"); undefined, never an
# error, for anything else, so evaluation is the same with strict builtin
# errors.
duration_ns(v) := time.parse_duration_ns(v) if {
	is_string(v)
	regex.match(`^[+-]?(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+$|^0$`, v)
}

# ---------------------------------------------------------------------------
# ingress-nginx timeouts (research §1.3): proxy/main.go reads them with
# GetIntAnnotation (strconv.Atoi) and silently falls back to the ConfigMap
# value (60 s read/send, 5 s connect) when that fails; a unit is not allowed.

# METADATA
# title: Timeout violations
# description: >-
#   Everything this family reports, one lib.violation object per finding:
#   the webhook evaluates data.wsdefaults.rules[_].violation. The rules'
#   definitions follow, one section per catalog rule; their helpers come
#   after the last one.
# scope: document
# entrypoint: true
violation contains lib.violation("nginx-timeout-format", lib.annotation_field(key), msg) if {
	some name, value in lib.nginx_annotations
	name in nginx_timeouts
	not nginx_seconds(value)
	key := concat("", [lib.nginx, name])
	msg := nginx_format_message(key, name, value, min_idle)
}

# ---------------------------------------------------------------------------
# nginx-connect-timeout-range (research §1.3, §8): the connect timeout
# "cannot usually exceed 75 seconds" and is not the WebSocket idle timeout.

violation contains lib.violation("nginx-connect-timeout-range", lib.annotation_field(key), msg) if {
	value := lib.nginx_annotations["proxy-connect-timeout"]
	nginx_seconds(value) > 75
	key := concat("", [lib.nginx, "proxy-connect-timeout"])
	msg := sprintf(
		concat(" ", [
			"%s is %s: it only bounds opening the TCP connection to a pod, nginx cannot usually wait",
			"longer than 75 s anyway, and a high value just delays failover from dead endpoints;",
			"it does not keep WebSockets open (proxy-read-timeout and proxy-send-timeout do). Remove it,",
			"or set it to \"5\" (the default).",
		]),
		[key, show(value)],
	)
}

# ---------------------------------------------------------------------------
# websocket-idle-timeout-too-low (research §1-§6): idle or lifetime timeouts
# below the policy's minimum, only on objects (Contour: routes) with
# WebSocket evidence: a REST route's deliberate 300 s is not a mistake. A value the mutation injected (listed in
# input.defaulted) follows the policy's own idle timeout, which a namespace
# may lower on purpose, so it is skipped.

# nginx: read/send timeouts that are well formed (malformed ones are
# nginx-timeout-format's).
violation contains lib.violation("websocket-idle-timeout-too-low", lib.annotation_field(key), msg) if {
	some name, value in lib.nginx_annotations
	name in nginx_idle_timeouts
	nginx_seconds(value) < min_idle
	key := concat("", [lib.nginx, name])
	not lib.defaulted(key)
	ev := lib.ws_object
	msg := sprintf(
		concat(" ", [
			"%s is %s seconds, below the policy minimum of %d s: ingress-nginx closes a WebSocket that carries no",
			"traffic in that direction for that long. Set it to \"%d\".%s",
		]),
		[key, show(value), min_idle, min_idle, lib.evidence_note(ev)],
	)
}

# HAProxy: timeout-tunnel under every prefix of both controllers (see
# haproxy_prefixes below).
violation contains lib.violation("websocket-idle-timeout-too-low", lib.annotation_field(key), msg) if {
	lib.haproxy_annotated
	some prefix in haproxy_prefixes
	key := concat("", [prefix, "timeout-tunnel"])
	value := lib.annotations[key]
	not lib.defaulted(key)
	micros := haproxy_micros(value)
	micros < min_idle * 1000000
	ev := lib.ws_object
	seconds := micros / 1000000
	msg := sprintf(
		concat(" ", [
			"%s is %s, that is %v s (a number without a unit is milliseconds), below the policy minimum of %d s:",
			"HAProxy closes a WebSocket tunnel that is idle for that long. Set it to \"%s\".%s",
		]),
		[key, show(value), seconds, min_idle, haproxy_duration(min_idle), lib.evidence_note(ev)],
	)
}

# AWS ALB: idle_timeout.timeout_seconds inside load-balancer-attributes. The
# mutation merges it in and records either the whole annotation or
# "<annotation>[idle_timeout.timeout_seconds]". ALB caps the value at 4000 s,
# so a higher policy minimum asks for 4000.
violation contains lib.violation("websocket-idle-timeout-too-low", lib.annotation_field(alb_attributes), msg) if {
	input.object.kind == "Ingress"
	lib.is_ingress
	input.object.metadata.annotations["alb.ingress.kubernetes.io/load-balancer-attributes"] # alb_attributes, for the rule index
	not alb_idle_defaulted
	some value in alb_idle_timeouts
	regex.match(`^[0-9]{1,4}$`, value)
	seconds := to_number(value)
	seconds >= 1 # 0 and out-of-range values are alb-idle-timeout-range's
	want := min([min_idle, 4000])
	seconds < want
	ev := lib.ws_object
	msg := sprintf(
		concat(" ", [
			"idle_timeout.timeout_seconds=%s in %s is below the policy minimum of %d s:",
			"the ALB closes WebSockets that are idle for longer. Set idle_timeout.timeout_seconds=%d.%s",
		]),
		[value, alb_attributes, min_idle, want, lib.evidence_note(ev)],
	)
}

# Kong: read/write timeouts on the Service, in milliseconds (strconv.Atoi).
violation contains lib.violation("websocket-idle-timeout-too-low", lib.annotation_field(key), msg) if {
	input.object.kind == "Service"
	lib.is_service
	some key in kong_timeouts
	value := lib.annotations[key]
	is_string(value)
	not lib.defaulted(key)
	regex.match(`^-?[0-9]{1,15}$`, value)
	to_number(value) < min_idle * 1000
	ev := lib.ws_object
	seconds := to_number(value) / 1000
	msg := sprintf(
		concat(" ", [
			"%s is %s milliseconds (%v s), below the policy minimum of %d s:",
			"Kong closes a WebSocket that is idle for that long, and the value is in milliseconds,",
			"not seconds. Set it to \"%d\".%s",
		]),
		[key, show(value), seconds, min_idle, min_idle * 1000, lib.evidence_note(ev)],
	)
}

# GKE BackendConfig: timeoutSec caps the whole life of a WebSocket, idle or
# not (default 30 s).
violation contains lib.violation("websocket-idle-timeout-too-low", "spec.timeoutSec", msg) if {
	input.object.kind == "BackendConfig"
	lib.group == "cloud.google.com"
	not lib.defaulted("spec.timeoutSec")
	t := lib.spec.timeoutSec
	is_number(t)
	t < min_idle
	ev := lib.ws_object
	msg := sprintf(
		concat(" ", [
			"spec.timeoutSec is %v, below the policy minimum of %d s:",
			"the Google Cloud load balancer ends every WebSocket after that many seconds, even an active one.",
			"Set spec.timeoutSec to %d.%s",
		]),
		[t, min_idle, min_idle, lib.evidence_note(ev)],
	)
}

# gke-ws-backend-timeout: a GKE Ingress route with WebSocket evidence whose
# Service attaches no BackendConfig keeps the load balancer's backend service
# timeout of 30 s, which for WebSocket is the longest a connection may live,
# idle or not. Only Services the webhook has seen are judged (the pipeline's
# index; in `webhook check`, the input).
violation contains lib.violation("gke-ws-backend-timeout", field, msg) if {
	input.object.kind == "Ingress"
	lib.is_ingress
	lib.controller_is("k8s.io/ingress-gce")
	some field, service in object.get(input, ["evidence", "withoutBackendConfig"], {})
	ev := lib.ws_evidence(field)
	msg := sprintf(
		concat(" ", [
			"Service %s, behind this GKE route, attaches no BackendConfig, so the load balancer keeps its",
			"30 s backend service timeout, which ends every WebSocket after 30 s, active or not. Create a",
			"BackendConfig with spec.timeoutSec (e.g. %d) and attach it with the Service annotation",
			"cloud.google.com/backend-config: '{\"default\": \"<name>\"}'.%s",
		]),
		[service, min_idle, lib.evidence_note(sprintf("%s: %s", [field, ev]))],
	)
}

# Contour HTTPProxy: per-route response and idle timeouts on WebSocket
# routes. Go durations, or "infinity"/"infinite"; a zero duration means
# unset, which for response is Envoy's 15 s default and for idle no limit.
violation contains lib.violation("websocket-idle-timeout-too-low", path, msg) if {
	input.object.kind == "HTTPProxy"
	lib.group == "projectcontour.io"
	some i, route in object.get(lib.spec, "routes", [])

	# A route the user switched off is no WebSocket route, whatever its path.
	not route.enableWebsockets == false
	ev := lib.ws_evidence(sprintf("spec.routes[%d]", [i]))
	some field in ["response", "idle"]
	value := route.timeoutPolicy[field]
	path := sprintf("spec.routes[%d].timeoutPolicy.%s", [i, field])
	not lib.defaulted(path)
	is_string(value)
	not lower(value) in contour_unlimited
	ns := contour_ns(field, value)
	ns < min_idle * 1000000000
	seconds := ns / 1000000000
	msg := sprintf(
		"%s is %s (%v s%s), below the policy minimum of %d s: %s. Set it to \"infinity\".%s",
		[path, show(value), seconds, contour_zero_note(field, value), min_idle, contour_effect[field], lib.evidence_note(sprintf("spec.routes[%d]: %s", [i, ev]))],
	)
}

# ===========================================================================
# Helpers, by rule, in the order of the sections above.

# --- nginx-timeout-format ---

nginx_timeouts := ["proxy-read-timeout", "proxy-send-timeout", "proxy-connect-timeout"]

# The idle timeouts among them (the connect timeout is not one).
nginx_idle_timeouts := {"proxy-read-timeout", "proxy-send-timeout"}

nginx_defaults := {"proxy-read-timeout": 60, "proxy-send-timeout": 60, "proxy-connect-timeout": 5}

# Seconds of a well-formed nginx timeout: what strconv.Atoi reads, above
# zero (nginx gets "<n>s").
nginx_seconds(v) := n if {
	is_string(v)
	n := to_number(regex.find_all_string_submatch_n(`^\+?([0-9]{1,9})$`, v, 1)[0][1])
	n > 0
}

# Whole seconds the user most likely meant (" 3600", "+3600", "3600s",
# "1h"); undefined when unclear.
intended_seconds(v) := to_number(n) if {
	is_string(v)
	n := regex.find_all_string_submatch_n(`^\s*\+?([0-9]{1,9})\s*$`, v, 1)[0][1]
	to_number(n) > 0
} else := ns / 1000000000 if {
	is_string(v)
	ns := duration_ns(trim_space(v))
	ns >= 1000000000
	ns % 1000000000 == 0
}

# The value to suggest for a malformed nginx timeout, given the policy's
# minimum idle timeout.
nginx_fix(name, v, minimum) := n if {
	name in nginx_idle_timeouts
	n := intended_seconds(v)
} else := n if {
	name == "proxy-connect-timeout"
	n := intended_seconds(v)
	n <= 75
} else := minimum if {
	name in nginx_idle_timeouts
} else := 5

# What the fallback costs, per timeout.
nginx_fallback_effect(name) := ", which closes idle WebSockets after a minute" if {
	name in nginx_idle_timeouts
	nginx_defaults[name] == 60
} else := ""

# An integer that is not above zero reaches nginx as such; anything else
# (a unit, spaces, a fraction) makes ingress-nginx fall back to its default.
# minimum is the policy's minimum idle timeout (see nginx_fix).
nginx_format_message(key, name, value, minimum) := sprintf(
	concat(" ", [
		"%s is %s: ingress-nginx passes it to nginx as a timeout of that many seconds,",
		"and zero or a negative number is not a working timeout. Set it to \"%d\".",
	]),
	[key, show(value), nginx_fix(name, value, minimum)],
) if {
	is_string(value)
	regex.match(`^[+-]?[0-9]+$`, value)
} else := sprintf(
	concat(" ", [
		"%s is %s: ingress-nginx wants whole seconds without a unit and silently falls back to its default",
		"(%d s unless the ConfigMap changes it) on anything else%s. Set it to \"%d\".",
	]),
	[key, show(value), nginx_defaults[name], nginx_fallback_effect(name), nginx_fix(name, value, minimum)],
)

# --- websocket-idle-timeout-too-low ---

# The HAProxy spelling of whole seconds: the largest exact unit.
haproxy_duration(s) := sprintf("%dh", [s / 3600]) if {
	s > 0
	s % 3600 == 0
} else := sprintf("%dm", [s / 60]) if {
	s > 0
	s % 60 == 0
} else := sprintf("%ds", [s])

# HAProxy time units in microseconds (configuration.txt §2.5); a bare number
# is milliseconds. Integers keep the arithmetic exact.
haproxy_units := {"us": 1, "ms": 1000, "": 1000, "s": 1000000, "m": 60000000, "h": 3600000000, "d": 86400000000}

# Microseconds of a HAProxy time value; undefined when it does not parse.
haproxy_micros(v) := to_number(m[1]) * haproxy_units[m[2]] if {
	is_string(v)
	m := regex.find_all_string_submatch_n(`^([0-9]{1,12})(us|ms|s|m|h|d)?$`, v, 1)[0]
}

# Both HAProxy controllers: haproxy-ingress (2 prefixes) and haproxytech
# (3 prefixes; its timeout-tunnel is read from the ConfigMap only, so an
# annotation there is at best ignored).
haproxy_prefixes := {p | some p in array.concat(lib.haproxytech_prefixes, lib.haproxy_ingress_prefixes)}

# The ALB annotation that holds idle_timeout.timeout_seconds.
alb_attributes := "alb.ingress.kubernetes.io/load-balancer-attributes"

alb_idle_defaulted if lib.defaulted(alb_attributes)

alb_idle_defaulted if lib.defaulted(concat("", [alb_attributes, "[idle_timeout.timeout_seconds]"]))

# Values of idle_timeout.timeout_seconds in the attribute list.
alb_idle_timeouts contains value if {
	raw := lib.annotations[alb_attributes]
	is_string(raw)
	some pair in split(raw, ",")
	kv := split(pair, "=")
	trim_space(kv[0]) == "idle_timeout.timeout_seconds"
	value := trim_space(concat("=", array.slice(kv, 1, count(kv))))
}

# Kong's idle timeouts.
kong_timeouts := {"konghq.com/read-timeout", "konghq.com/write-timeout"}

contour_unlimited := {"infinity", "infinite"}

# Nanoseconds of a Contour timeout, with zero meaning "unset".
contour_ns(field, v) := 15000000000 if {
	field == "response"
	duration_ns(v) == 0
} else := ns if {
	ns := duration_ns(v)
	ns > 0
}

contour_effect := {
	"response": "Envoy ends the WebSocket when the route's response timeout expires",
	"idle": "Envoy closes the WebSocket after that long without traffic",
}

contour_zero_note(field, v) := "; Contour reads a zero duration as unset, so Envoy's 15 s default applies" if {
	field == "response"
	duration_ns(v) == 0
} else := ""
