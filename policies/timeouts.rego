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
	input.annotated.nginx # lib.nginx_annotations is not empty, for the rule index
	some name in nginx_timeouts
	value := lib.nginx_annotations[name]
	not nginx_seconds(value)
	key := concat("", [lib.nginx, name])
	msg := nginx_format_message(key, name, value, min_idle)
}

# ---------------------------------------------------------------------------
# nginx-connect-timeout-range (research §1.3, §8): the connect timeout
# "cannot usually exceed 75 seconds" and is not the WebSocket idle timeout.

violation contains lib.violation("nginx-connect-timeout-range", lib.annotation_field(key), msg) if {
	input.annotated.nginx # lib.nginx_annotations is not empty, for the rule index
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
	input.annotated.nginx # lib.nginx_annotations is not empty, for the rule index
	some name in nginx_idle_timeouts
	value := lib.nginx_annotations[name]
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
	input.annotated.haproxy # lib.haproxy_annotated, for the rule index
	lib.haproxy_annotated
	some prefix in haproxy_prefixes
	value := lib.by_prefix[prefix]["timeout-tunnel"]
	key := concat("", [prefix, "timeout-tunnel"])
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
	input.annotated.kong # a konghq.com/ annotation, for the rule index
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
	startswith(input.controller, "k8s.io/ingress-gce") # lib.controller_is, for the rule index
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

# ---------------------------------------------------------------------------
# Gateway API implementations (gateway-api-websocket-facts.md §2, §3.1,
# §3.3, §3.9): the implementation policies that set an idle or lifetime
# timeout, on policies with a WebSocket target (evidence: spec.targetRefs[N]
# or spec.targetRef), and, on a WebSocket HTTPRoute rule (evidence
# spec.rules[N]), the timeout that applies there when no policy raises it.
# Values the mutation injected (input.defaulted) are skipped, as above.

# Envoy Gateway: streamIdleTimeout of a BackendTrafficPolicy (per route) or
# ClientTrafficPolicy (per listener). "0s" turns idle reaping off: no
# finding; malformed values are gwapi-duration-format's.
violation contains lib.violation("websocket-idle-timeout-too-low", eg_stream_idle_path, eg_stream_idle_message) if {
	input.object.kind == "BackendTrafficPolicy"
	lib.group == "gateway.envoyproxy.io"
}

violation contains lib.violation("websocket-idle-timeout-too-low", eg_stream_idle_path, eg_stream_idle_message) if {
	input.object.kind == "ClientTrafficPolicy"
	lib.group == "gateway.envoyproxy.io"
}

# NGINX Gateway Fabric: ProxySettingsPolicy read/send timeouts (nginx
# proxy_read_timeout / proxy_send_timeout); a bare number is seconds.
# Malformed values are ngf-duration-format's.
violation contains lib.violation("websocket-idle-timeout-too-low", path, msg) if {
	input.object.kind == "ProxySettingsPolicy"
	lib.group == "gateway.nginx.org"
	some name, direction in ngf_idle_timeouts
	path := concat(".", ["spec.timeout", name])
	value := lib.spec.timeout[name]
	not lib.defaulted(path)
	ms := lib.ngf_duration_ms(value)
	ms < min_idle * 1000
	ev := lib.ws_object
	msg := sprintf(
		concat(" ", [
			"%s is %s (%v s; a number without a unit is seconds), below the policy minimum of %d s: nginx closes",
			"a WebSocket on the routes this policy applies to when %s for that long. Set it to %q.%s",
		]),
		[path, show(value), ms / 1000, min_idle, direction, lib.ngf_duration_of(min_idle), lib.evidence_note(ev)],
	)
}

# GKE: GCPBackendPolicy timeoutSec caps the whole life of a WebSocket to the
# Service it targets, idle or not (default 30 s).
violation contains lib.violation("websocket-idle-timeout-too-low", "spec.default.timeoutSec", msg) if {
	input.object.kind == "GCPBackendPolicy"
	lib.group == "networking.gke.io"
	not lib.defaulted("spec.default.timeoutSec")
	t := lib.spec["default"].timeoutSec
	is_number(t)
	t < min_idle
	ev := lib.ws_object
	msg := sprintf(
		concat(" ", [
			"spec.default.timeoutSec is %v, below the policy minimum of %d s: the Google Cloud load balancer",
			"ends every WebSocket to the targeted Service after that many seconds, even an active one.",
			"Set spec.default.timeoutSec to %d.%s",
		]),
		[t, min_idle, min_idle, lib.evidence_note(ev)],
	)
}

# A WebSocket rule served by NGINX Gateway Fabric while no ProxySettingsPolicy
# that applies to the route (its own, else its Gateway's: NGF policies are
# inherited) sets timeout.read to the minimum: nginx's 60 s default, or the
# policy's lower value, closes WebSockets whose backend stays quiet. The
# message prints a policy to apply.
violation contains lib.violation("websocket-idle-timeout-too-low", field, msg) if {
	input.object.kind == "HTTPRoute"
	lib.group == "gateway.networking.k8s.io"
	lib.served_by(lib.controller_ngf)
	not ngf_read_ok
	some i, _ in object.get(lib.spec, "rules", [])
	field := sprintf("spec.rules[%d]", [i])
	ev := lib.ws_evidence(field)
	d := lib.ngf_duration_of(min_idle)
	note := conflict_note("ProxySettingsPolicy", "gateway.nginx.org", "spec.timeout.read and spec.timeout.send")
	policy := {
		"apiVersion": "gateway.nginx.org/v1alpha1",
		"kind": "ProxySettingsPolicy",
		"metadata": new_metadata(sprintf("%s-websocket", [route_name])),
		"spec": {
			"targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": route_name}],
			"timeout": {"read": d, "send": d},
		},
	}
	msg := sprintf(
		concat(" ", [
			"This WebSocket rule is served by NGINX Gateway Fabric, and %s: nginx closes a WebSocket whose",
			"backend sends nothing for that long, below the policy minimum of %d s (NGF ignores the route's",
			"own timeouts). Apply this ProxySettingsPolicy (kubectl apply -f -): %s%s.%s",
		]),
		[ngf_read_state, min_idle, json.marshal(policy), note, lib.evidence_note(sprintf("%s: %s", [field, ev]))],
	)
}

# A WebSocket rule served by GKE whose backend Service has no
# GCPBackendPolicy with timeoutSec at the minimum: the 30 s backend service
# timeout ends every WebSocket after 30 s. One finding per backendRef; the
# Service comes from input.gateway.backends, else from the ref itself.
violation contains lib.violation("websocket-idle-timeout-too-low", field, msg) if {
	input.object.kind == "HTTPRoute"
	lib.group == "gateway.networking.k8s.io"
	lib.served_by(lib.controller_gke)
	some i, rule in object.get(lib.spec, "rules", [])
	ev := lib.ws_evidence(sprintf("spec.rules[%d]", [i]))
	some j, ref in object.get(rule, "backendRefs", [])
	field := sprintf("spec.rules[%d].backendRefs[%d]", [i, j])
	[ns, name] := backend_service(field, ref)
	target := sprintf("Service %s/%s", [ns, name])
	not gke_timeout_ok(target)
	policy := {
		"apiVersion": "networking.gke.io/v1",
		"kind": "GCPBackendPolicy",
		"metadata": object.union({"name": sprintf("%s-websocket", [name])}, namespace_field(ns)),
		"spec": {
			"targetRef": {"group": "", "kind": "Service", "name": name},
			"default": {"timeoutSec": min_idle},
		},
	}
	msg := sprintf(
		concat(" ", [
			"This WebSocket rule is served by GKE's Gateway and sends traffic to %s, and %s: the load balancer",
			"ends every WebSocket to it after that many seconds, active or not, below the policy minimum of %d s",
			"(GKE ignores the route's own timeouts). Apply this GCPBackendPolicy (kubectl apply -f -): %s%s.%s",
		]),
		[target, gke_timeout_state(target), min_idle, json.marshal(policy), gke_conflict_note(target), lib.evidence_note(sprintf("spec.rules[%d]: %s", [i, ev]))],
	)
}

# A WebSocket rule served by Envoy Gateway with no streamIdleTimeout from a
# BackendTrafficPolicy (per route) or ClientTrafficPolicy (per listener):
# Envoy Gateway then derives the route's idle timeout from the request
# timeout, max(1h, request) ("0s": none), or, without one, leaves Envoy's
# 5 min stream idle timeout (route.go idleTimeout(), v1.9). The mutation sets
# timeouts.request on such rules; an injected value is never reported.
violation contains lib.violation("websocket-idle-timeout-too-low", field, msg) if {
	input.object.kind == "HTTPRoute"
	lib.group == "gateway.networking.k8s.io"
	lib.served_by(lib.controller_envoy_gateway)
	not eg_stream_idle_attached
	some i, rule in object.get(lib.spec, "rules", [])
	field := sprintf("spec.rules[%d]", [i])
	ev := lib.ws_evidence(field)
	idle := eg_route_idle(i, rule)
	idle.seconds < min_idle
	note := conflict_note("BackendTrafficPolicy", "gateway.envoyproxy.io", "spec.timeout.http.streamIdleTimeout")
	policy := {
		"apiVersion": "gateway.envoyproxy.io/v1alpha1",
		"kind": "BackendTrafficPolicy",
		"metadata": new_metadata(sprintf("%s-websocket", [route_name])),
		"spec": {
			"targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": route_name}],
			"timeout": {"http": {"streamIdleTimeout": lib.gwapi_duration_of(min_idle)}},
		},
	}
	msg := sprintf(
		concat(" ", [
			"This WebSocket rule is served by Envoy Gateway, and %s: Envoy closes a WebSocket that is idle",
			"for %d s, below the policy minimum of %d s. Apply this BackendTrafficPolicy (kubectl apply -f -;",
			"Envoy Gateway v1.8 or later): %s%s.%s",
		]),
		[idle.why, idle.seconds, min_idle, json.marshal(policy), note, lib.evidence_note(sprintf("%s: %s", [field, ev]))],
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
# zero (nginx gets "<n>s"): an optional "+" and 1 to 9 digits. (Without a
# regular expression: this runs for every nginx timeout of every object.)
nginx_seconds(v) := n if {
	is_string(v)
	digits := trim_prefix(v, "+")
	count(digits) > 0
	count(digits) <= 9
	trim_left(digits, "0123456789") == ""
	n := to_number(digits)
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

# --- websocket-idle-timeout-too-low: Gateway API ---

eg_stream_idle_path := "spec.timeout.http.streamIdleTimeout"

# The finding on an Envoy Gateway policy's streamIdleTimeout.
eg_stream_idle_message := msg if {
	not lib.defaulted(eg_stream_idle_path)
	value := lib.spec.timeout.http.streamIdleTimeout
	ms := lib.gwapi_duration_ms(value)
	ms > 0
	ms < min_idle * 1000
	ev := lib.ws_object
	msg := sprintf(
		concat(" ", [
			"%s is %s (%v s), below the policy minimum of %d s: Envoy closes a WebSocket that carries no",
			"traffic in either direction for that long, %s. Set it to %q.%s",
		]),
		[eg_stream_idle_path, show(value), ms / 1000, min_idle, eg_stream_idle_scope[lib.kind], lib.gwapi_duration_of(min_idle), lib.evidence_note(ev)],
	)
}

# What the streamIdleTimeout of each policy governs.
eg_stream_idle_scope := {
	"BackendTrafficPolicy": "on the routes this policy targets",
	"ClientTrafficPolicy": "on every route of the listeners this policy targets, unless a BackendTrafficPolicy sets its own",
}

# nginx's idle timeouts in a ProxySettingsPolicy, with when they fire.
ngf_idle_timeouts := {
	"read": "the backend sends nothing",
	"send": "nothing can be written to the backend",
}

# The route's name and namespace, for the policies the messages print.
route_name := input.object.metadata.name

default route_namespace := ""

route_namespace := ns if {
	ns := input.object.metadata.namespace
	is_string(ns)
	ns != ""
} else := ns if {
	ns := input.namespace.name
	is_string(ns)
	ns != ""
}

namespace_field(ns) := {"namespace": ns} if ns != ""

namespace_field("") := {}

new_metadata(name) := object.union({"name": name}, namespace_field(route_namespace))

# The implementation policies of one kind that apply to the route.
attached(kind, group) := [p |
	some p in lib.gateway_policies
	p.kind == kind
	p.group == group
]

# A policy of that kind already targets the route: a second one would
# conflict, so the message says to extend it instead.
default conflict_note(_, _, _) := ""

conflict_note(kind, group, fields) := sprintf(
	" (%s %s/%s already targets this HTTPRoute: set %s there instead, since two policies on one route conflict)",
	[kind, p.namespace, p.name, fields],
) if {
	p := [q | some q in attached(kind, group); q.attachedTo == "route"][0]
}

# NGINX Gateway Fabric: the ProxySettingsPolicies setting timeout.read that
# apply to the route: its own, else its Gateway's (the route's wins).
ngf_read_policies := ps if {
	ps := [p |
		some p in attached("ProxySettingsPolicy", "gateway.nginx.org")
		p.attachedTo == "route"
		p.spec.timeout.read != null
	]
	count(ps) > 0
} else := [p |
	some p in attached("ProxySettingsPolicy", "gateway.nginx.org")
	p.attachedTo == "gateway"
	p.spec.timeout.read != null
]

ngf_read_ok if {
	some p in ngf_read_policies
	lib.ngf_duration_ms(p.spec.timeout.read) >= min_idle * 1000
}

ngf_read_state := sprintf(
	"ProxySettingsPolicy %s/%s (attached to its %s) sets spec.timeout.read to %s",
	[p.namespace, p.name, p.attachedTo, show(p.spec.timeout.read)],
) if {
	p := ngf_read_policies[0]
} else := concat(" ", [
	"no ProxySettingsPolicy attached to this HTTPRoute or its Gateway sets spec.timeout.read,",
	"so nginx's default of 60 s applies",
])

# GKE: the backend Service of a backendRef as [namespace, name], from the
# pipeline's facts, else from a ref to a core Service.
backend_service(field, ref) := parts if {
	parts := split(lib.gateway_backends[field].service, "/")
	count(parts) == 2
} else := [object.get(ref, "namespace", route_namespace), ref.name] if {
	object.get(ref, "kind", "Service") == "Service"
	object.get(ref, "group", "") in {"", "core"}
	is_string(ref.name)
}

gke_policies(target) := [p |
	some p in attached("GCPBackendPolicy", "networking.gke.io")
	p.attachedTo == "service"
	p.target == target
]

gke_timeout_ok(target) if {
	some p in gke_policies(target)
	t := p.spec["default"].timeoutSec
	is_number(t)
	t >= min_idle
}

gke_timeout_state(target) := sprintf("GCPBackendPolicy %s/%s sets spec.default.timeoutSec to %v", [p.namespace, p.name, p.spec["default"].timeoutSec]) if {
	p := [q | some q in gke_policies(target); is_number(q.spec["default"].timeoutSec)][0]
} else := sprintf("GCPBackendPolicy %s/%s leaves spec.default.timeoutSec unset, so the 30 s default applies", [p.namespace, p.name]) if {
	p := gke_policies(target)[0]
} else := "no GCPBackendPolicy targets it, so the backend service timeout of 30 s applies"

gke_conflict_note(target) := sprintf(
	" (GCPBackendPolicy %s/%s already targets it: set spec.default.timeoutSec there instead, since a Service takes one)",
	[p.namespace, p.name],
) if {
	p := gke_policies(target)[0]
} else := ""

# Envoy Gateway: a BackendTrafficPolicy or ClientTrafficPolicy applying to
# the route sets a stream idle timeout, which wins over the derived one (it
# is judged on the policy itself).
eg_stream_idle_attached if {
	some kind in ["BackendTrafficPolicy", "ClientTrafficPolicy"]
	some p in attached(kind, "gateway.envoyproxy.io")
	p.spec.timeout.http.streamIdleTimeout != null
}

# The idle timeout Envoy Gateway gives the rule, in seconds, with why;
# undefined when there is none ("0s" request timeout), when the request
# timeout was injected by the mutation or is malformed.
eg_route_idle(i, rule) := idle if {
	path := sprintf("spec.rules[%d].timeouts.request", [i])
	not lib.defaulted(path)
	idle := eg_idle_from_request(path, rule.timeouts.request)
} else := idle if {
	not rule.timeouts.request
	p := eg_btp_request_timeouts[0]
	idle := eg_idle_from_request(sprintf("BackendTrafficPolicy %s/%s spec.timeout.http.requestTimeout", [p.namespace, p.name]), p.spec.timeout.http.requestTimeout)
} else := {
	"seconds": 300,
	"why": sprintf(
		"neither spec.rules[%d].timeouts.request nor a BackendTrafficPolicy sets a timeout, so Envoy's stream idle timeout of 5 min applies",
		[i],
	),
} if {
	not rule.timeouts.request
	count(eg_btp_request_timeouts) == 0
}

# The BackendTrafficPolicies setting requestTimeout that apply to the route,
# its own first (they win over its Gateway's).
eg_btp_request_timeouts := array.concat(
	[p | some p in attached("BackendTrafficPolicy", "gateway.envoyproxy.io"); p.attachedTo == "route"; p.spec.timeout.http.requestTimeout != null],
	[p | some p in attached("BackendTrafficPolicy", "gateway.envoyproxy.io"); p.attachedTo != "route"; p.spec.timeout.http.requestTimeout != null],
)

eg_idle_from_request(what, value) := {
	"seconds": seconds,
	"why": sprintf("%s is %s, so Envoy Gateway sets the route's idle timeout to max(1h, that) = %d s", [what, show(value), seconds]),
} if {
	ms := lib.gwapi_duration_ms(value)
	ms > 0
	seconds := max([3600, ms / 1000])
}
