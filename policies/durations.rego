# METADATA
# title: Duration rules
# description: >-
#   HAProxy time values the controller in front misreads. The two HAProxy
#   controllers read times differently (docs/conformance.md), so each
#   message says what the one that reads the annotation does with it.
package wsdefaults.rules.durations

import data.wsdefaults.lib
import data.wsdefaults.rules.timeouts

# A value for messages: strings quoted, anything else as JSON.
show(v) := json.marshal(v)

# haproxy-timeout-format (research §3.1-§3.3, §8; docs/conformance.md): the
# two controllers read times differently. haproxy-ingress (updater.go
# validateTime) keeps only values matching ^[0-9]+(us|ms|s|m|h|d)$ and
# ignores anything else with a warning, keeping its default; haproxytech
# (utils.ParseTime) reads a bare number as milliseconds, knows ms, s, m, h
# and d but not us, and reads most timeouts (timeout-tunnel among them)
# from its ConfigMap only. ingress.kubernetes.io/ is shared by both: the
# Ingress's controller decides, and when it is unknown only what neither
# accepts is reported.

# METADATA
# title: Duration violations
# description: >-
#   Everything this family reports, one lib.violation object per finding:
#   the webhook evaluates data.wsdefaults.rules[_].violation. The rule's
#   definition follows; its helpers come after it.
# scope: document
# entrypoint: true
violation contains lib.violation("haproxy-timeout-format", lib.annotation_field(key), msg) if {
	input.annotated.haproxy # lib.haproxy_annotated, for the rule index
	lib.haproxy_annotated
	some prefix in timeouts.haproxy_prefixes
	some name, value in lib.by_prefix[prefix]
	startswith(name, "timeout-")
	key := concat("", [prefix, name])
	reader := haproxy_reader(prefix)
	not haproxy_time_ok(reader, value)
	msg := haproxy_format_message(reader, key, name, value)
}

# A value in the right format that HAProxy itself cannot hold: its timers
# end at 2147483647 ms (about 24.8 days); beyond that it refuses the whole
# configuration ("timer overflow", haproxy -c in make conformance), so the
# controller's reload fails and no change takes effect.
violation contains lib.violation("haproxy-timeout-format", lib.annotation_field(key), msg) if {
	input.annotated.haproxy # lib.haproxy_annotated, for the rule index
	lib.haproxy_annotated
	some prefix in timeouts.haproxy_prefixes
	some name, value in lib.by_prefix[prefix]
	startswith(name, "timeout-")
	haproxy_time_ok(haproxy_reader(prefix), value)
	haproxy_ms(value) > haproxy_max_timer_ms
	key := concat("", [prefix, name])
	msg := sprintf(
		concat(" ", [
			"%s is %s: HAProxy's timers hold at most 2147483647 ms (about 24.8 days), so HAProxy refuses",
			"its whole configuration (\"timer overflow\") and the controller's reload fails: no Ingress change takes effect.",
			"Set it to at most \"24d\" (WebSocket idle timeouts rarely need more than \"1h\" to \"7d\").",
		]),
		[key, show(value)],
	)
}

haproxy_max_timer_ms := 2147483647

haproxy_unit_ms := {"us": 0.001, "ms": 1, "s": 1000, "m": 60000, "h": 3600000, "d": 86400000}

# A well-formed HAProxy time in milliseconds.
haproxy_ms(v) := ms if {
	parts := regex.find_all_string_submatch_n(`^([0-9]+)(us|ms|s|m|h|d)$`, v, 1)[0]
	ms := to_number(parts[1]) * haproxy_unit_ms[parts[2]]
}

# ===========================================================================
# Helpers.

haproxytech_controller := "haproxy.org/ingress-controller"

haproxy_ingress_controller := "haproxy-ingress.github.io/controller"

# Which controller reads an annotation under prefix: "haproxytech",
# "haproxy-ingress", or "both" (the shared prefix with neither controller
# resolved).
haproxy_reader(prefix) := "haproxytech" if {
	prefix in {"haproxy.org/", "haproxy.com/"}
} else := "haproxy-ingress" if {
	prefix == "haproxy-ingress.github.io/"
} else := "haproxytech" if {
	lib.controller_is(haproxytech_controller)
} else := "haproxy-ingress" if {
	lib.controller_is(haproxy_ingress_controller)
} else := "both"

# The values each reader takes as meant: haproxy-ingress's own pattern;
# haproxytech's parser minus bare numbers (read as milliseconds, almost
# never what was meant) and minus us (which it rejects).
haproxy_time_ok(reader, v) if {
	reader in {"haproxy-ingress", "both"}
	is_string(v)
	regex.match(`^[0-9]+(us|ms|s|m|h|d)$`, v)
}

haproxy_time_ok("haproxytech", v) if {
	is_string(v)
	regex.match(`^[0-9]+(ms|s|m|h|d)$`, v)
}

# haproxytech reads only these timeouts on an Ingress or Service
# (pkg/annotations: service.NewTimeoutServer, NewTimeoutCheck); every other
# timeout-* only from its ConfigMap.
haproxytech_object_timeouts := {"timeout-server", "timeout-check"}

# haproxy-ingress's defaults (keys.md), for "keeps its default".
haproxy_ingress_defaults := {
	"timeout-tunnel": "1h",
	"timeout-server": "50s",
	"timeout-server-fin": "50s",
	"timeout-connect": "5s",
	"timeout-http-request": "5s",
	"timeout-keep-alive": "1m",
	"timeout-queue": "5s",
	"timeout-client": "50s",
	"timeout-client-fin": "50s",
}

# The HAProxy spelling of a Go duration in nanoseconds: the largest exact
# unit; haproxytech has no us, so it gets whole milliseconds, rounded up.
haproxy_spelling(reader, ns) := timeouts.haproxy_duration(ns / 1000000000) if {
	ns % 1000000000 == 0
} else := sprintf("%dms", [ns / 1000000]) if {
	ns % 1000000 == 0
} else := sprintf("%dus", [ns / 1000]) if {
	reader != "haproxytech"
	ns % 1000 == 0
} else := sprintf("%vms", [ceil(ns / 1000000)])

# What the reader does with a bare number n.
bare_effect("haproxytech", value) := sprintf(
	"haproxytech reads a number without a unit as milliseconds, so this is %v s, not %s s, and WebSockets or requests are cut that quickly.",
	[to_number(value) / 1000, value],
)

bare_effect("haproxy-ingress", _) := concat(" ", [
	"haproxy-ingress accepts only a whole number followed by a unit (us, ms, s, m, h or d):",
	"it ignores this value with a warning in its log and keeps its default.",
])

bare_effect("both", value) := sprintf(
	concat(" ", [
		"haproxy-ingress ignores a number without a unit (it logs a warning and keeps its default),",
		"and haproxytech reads it as milliseconds, that is %v s, not %s s.",
	]),
	[to_number(value) / 1000, value],
)

# Anything else malformed.
other_effect("haproxytech") := concat(" ", [
	"haproxytech's time parser takes one whole number with an optional unit ms, s, m, h or d",
	"(no us, spaces, fractions or compound values such as \"1h30m\"): it logs an error and ignores the value.",
])

other_effect("haproxy-ingress") := concat(" ", [
	"haproxy-ingress accepts only one whole number followed by one unit (us, ms, s, m, h or d;",
	"no spaces, fractions or compound values such as \"1h30m\"): it ignores this value with a warning and keeps its default.",
])

other_effect("both") := concat(" ", [
	"HAProxy controllers accept only one whole number followed by one unit (ms, s, m, h or d;",
	"no spaces, fractions or compound values such as \"1h30m\"): haproxy-ingress ignores",
	"anything else and keeps its default, haproxytech logs an error and ignores it.",
])

# haproxytech reads most timeouts from its ConfigMap only: on an Ingress or
# Service the annotation does nothing, whatever its format.
haproxy_format_message(reader, key, name, value) := sprintf(
	concat(" ", [
		"%s is %s: haproxytech reads %s only from its ConfigMap, so on an Ingress or Service it is ignored",
		"(and in the ConfigMap this value would be %s). Remove the annotation and set %s: \"%s\"",
		"in the controller's ConfigMap.",
	]),
	[key, show(value), name, haproxytech_reading(value), name, haproxytech_fix(name, value)],
) if {
	reader == "haproxytech"
	not name in haproxytech_object_timeouts
} else := bare_message(reader, key, name, value) if {
	is_string(value)
	regex.match(`^[0-9]{1,12}$`, value)
} else := sprintf(
	concat(" ", [
		"%s is %s: haproxytech's time parser knows ms, s, m, h and d but not us,",
		"so it logs an error and ignores the value. Set it to \"%s\".",
	]),
	[key, show(value), us_fix(value)],
) if {
	reader == "haproxytech"
	is_string(value)
	regex.match(`^[0-9]{1,15}us$`, value)
} else := malformed_message(reader, key, name, value)

# A bare number: what the reader does with it, and the unit to add.
bare_message(reader, key, name, value) := sprintf(
	"%s is %s: %s%s Set it to \"%s\" (or \"%sms\" if you really mean milliseconds).",
	[key, show(value), bare_effect(reader, value), default_text(reader, name), timeouts.haproxy_duration(to_number(value)), value],
)

# Anything else malformed: the value meant, if it reads as a Go duration.
malformed_message(reader, key, name, value) := sprintf(
	"%s is %s: %s%s Set it to \"%s\".",
	[key, show(value), other_effect(reader), default_text(reader, name), haproxy_spelling(reader, timeouts.duration_ns(trim_space(value)))],
) if {
	is_string(value)
	timeouts.duration_ns(trim_space(value)) > 0
} else := sprintf(
	"%s is %s: %s%s Set it to %s.",
	[key, show(value), other_effect(reader), default_text(reader, name), haproxy_example(name)],
)

# How haproxytech's parser would read value in its ConfigMap.
haproxytech_reading(value) := sprintf("%v s, a number without a unit being milliseconds", [to_number(value) / 1000]) if {
	is_string(value)
	regex.match(`^[0-9]{1,12}$`, value)
} else := "rejected: its parser knows ms, s, m, h and d but not us" if {
	is_string(value)
	regex.match(`^[0-9]{1,15}us$`, value)
} else := "rejected: its parser takes one whole number with an optional unit"

# The value to put in haproxytech's ConfigMap instead.
haproxytech_fix(name, value) := timeouts.haproxy_duration(to_number(value)) if {
	is_string(value)
	regex.match(`^[0-9]{1,12}$`, value)
} else := us_fix(value) if {
	is_string(value)
	regex.match(`^[0-9]{1,15}us$`, value)
} else := haproxy_spelling("haproxytech", timeouts.duration_ns(trim_space(value))) if {
	is_string(value)
	timeouts.duration_ns(trim_space(value)) > 0
} else := timeouts.haproxy_duration(input.parameters.minIdleTimeoutSeconds) if {
	name == "timeout-tunnel"
} else := "30s"

# haproxy-ingress's default for name, in the message.
default_text(reader, name) := sprintf(" Its default for %s is %s.", [name, haproxy_ingress_defaults[name]]) if {
	reader in {"haproxy-ingress", "both"}
	haproxy_ingress_defaults[name]
} else := ""

# Microseconds as haproxytech can read them: whole milliseconds, rounded up.
us_fix(value) := fix if {
	n := to_number(trim_suffix(value, "us"))
	n % 1000000 == 0
	fix := timeouts.haproxy_duration(n / 1000000)
} else := sprintf("%vms", [max([1, ceil(to_number(trim_suffix(value, "us")) / 1000)])])

# An example value for an unreadable HAProxy timeout.
haproxy_example(name) := sprintf("\"%s\"", [timeouts.haproxy_duration(input.parameters.minIdleTimeoutSeconds)]) if {
	name == "timeout-tunnel"
} else := "a whole number with a unit, e.g. \"30s\""
