# METADATA
# title: Shared helpers for the ws-defaults rules
# description: >-
#   Reads the input document (see policies/README.md) so that rules say what
#   they check, not how to dig it out of the object.
package wsdefaults.lib

obj := input.object

kind := obj.kind

# API group of the object ("" for the core group).
default group := ""

group := split(obj.apiVersion, "/")[0] if contains(obj.apiVersion, "/")

annotations := object.get(obj, ["metadata", "annotations"], {})

# The annotation keys, as a set (computed once per object, like every rule
# without arguments: rules test `key in lib.annotation_keys` rather than
# calling object.keys each time).
annotation_keys := object.keys(annotations)

labels := object.get(obj, ["metadata", "labels"], {})

spec := object.get(obj, "spec", {})

# OPA's rule index only uses comparisons of input with constants, not virtual
# documents like lib.kind or lib.annotations. So rules for one kind begin with
# `input.object.kind == "<Kind>"` (then lib.is_ingress or lib.is_service for
# the API group), rules for an annotation with a fixed key read it as
# input.object.metadata.annotations["<key>"] (the value of
# lib.annotations["<key>"]), and rules about one controller's annotations
# begin with input.annotated.<controller> (see annotated below): objects of
# other kinds, or without the annotation, then do not evaluate them at all.
# (Both read the input directly: they are asked on every object of their
# kind, and group is the same as `startswith` on apiVersion here.)
is_ingress if {
	input.object.kind == "Ingress"
	api_version := input.object.apiVersion
	startswith(api_version, "networking.k8s.io/")
}

is_service if {
	input.object.kind == "Service"
	not contains(input.object.apiVersion, "/")
}

is_service if {
	input.object.kind == "Service"
	startswith(input.object.apiVersion, "/")
}

# The resolved ingress controller is c, or c with an "/<instance>" suffix.
controller_is(c) if input.controller == c

controller_is(c) if startswith(input.controller, concat("", [c, "/"]))

# Annotation prefix of ingress-nginx, with the trailing slash.
nginx := concat("", [trim_suffix(input.parameters.nginxAnnotationPrefix, "/"), "/"])

# The annotations under each prefix the rules read by name (nginx and
# known_prefixes), by the rest of the key: by_prefix[p][name] is
# annotations[concat("", [p, name])]; a prefix without annotations is
# absent. The webhook computes it in one pass over the annotations
# (input.annotationsByPrefix, policies/README.md), so no rule walks every
# annotation of every object; it is computed here only for an input
# without it (opa eval, tests written before it).
by_prefix := p if {
	p := input.annotationsByPrefix
} else := {prefix: names |
	some prefix in {p | some p in array.concat([nginx], known_prefixes)}
	names := annotations_under(prefix)
	count(names) > 0
}

# The prefixes besides nginx in by_prefix (the webhook's
# validate.AnnotationPrefixes).
known_prefixes := [
	"haproxy.org/", "haproxy.com/", "ingress.kubernetes.io/", "haproxy-ingress.github.io/",
	"traefik.ingress.kubernetes.io/", "konghq.com/",
]

# The ingress-nginx annotations by name (the key without the nginx prefix):
# nginx_annotations[name] is annotations[concat("", [nginx, name])].
nginx_annotations := object.get(by_prefix, nginx, {})

# The annotations whose keys start with prefix, by the rest of the key.
annotations_under(prefix) := {name: value |
	some key, value in annotations
	startswith(key, prefix)
	name := substring(key, count(prefix), -1)
}

# Prefixes that address the same keys.
haproxytech_prefixes := ["haproxy.org/", "haproxy.com/", "ingress.kubernetes.io/"]

haproxy_ingress_prefixes := ["haproxy-ingress.github.io/", "ingress.kubernetes.io/"]

# The annotation prefixes of each controller whose annotations rules read
# by name ("haproxy": either HAProxy controller).
controller_prefixes := {
	"nginx": [nginx],
	"haproxytech": haproxytech_prefixes,
	"haproxyIngress": haproxy_ingress_prefixes,
	"haproxy": array.concat(haproxytech_prefixes, haproxy_ingress_prefixes),
	"traefik": ["traefik.ingress.kubernetes.io/"],
	"kong": ["konghq.com/"],
}

# The controllers of controller_prefixes whose annotations the object
# carries, each true. The webhook computes it (input.annotated,
# policies/README.md) and rules about one controller's annotations begin
# with input.annotated.<controller>, which OPA's rule index reads: an object
# without such annotations never evaluates them. Computed here only for an
# input without it.
annotated := a if {
	a := input.annotated
} else := {c: true |
	some c, prefixes in controller_prefixes
	some prefix in prefixes
	by_prefix[prefix]
}

# Whether the object carries annotations of a HAProxy controller (haproxy:
# either).
haproxytech_annotated if annotated.haproxytech

haproxy_ingress_annotated if annotated.haproxyIngress

haproxy_annotated if annotated.haproxy

# The field path of an annotation, as messages and reports name it.
annotation_field(key) := sprintf("metadata.annotations[%s]", [key])

# Whether the mutating webhook added key (listed in ws-defaults.io/defaulted).
# Only rules that could trip over a value the policy itself injects consult
# this; security rules never do, so the list cannot be used to hide a value.
defaulted(key) if key in input.defaulted

# A violation object: rules build theirs with this.
violation(rule, field, message) := {"rule": rule, "field": field, "message": message}

# The Ingress has at least one spec.tls entry.
has_tls if count(object.get(spec, "tls", [])) > 0

# Whether a string is a whole number (optionally signed).
is_int(s) if regex.match(`^-?[0-9]+$`, s)

# Durations in seconds for Go/Envoy-style strings ("1h30m", "15s", "250ms");
# undefined when the string does not parse.
duration_seconds(s) := n if {
	ns := time.parse_duration_ns(s)
	n := ns / 1000000000
}

# WebSocket evidence (policies/README.md, interfaces.md): the pipeline
# decides per route and per Service port whether it carries WebSocket, and
# why. Rules whose claim is "this breaks WebSocket" fire only where there is
# evidence, and name it.
evidence_fields := object.get(input, ["evidence", "fields"], {})

# Why the route or port at field (e.g. "spec.ports[0]",
# "spec.rules[0].http.paths[1]", "spec.http[2]") carries WebSocket;
# undefined when nothing says it does.
ws_evidence(field) := evidence_fields[field]

# The object's first evidence, as "field: reason", for rules about the
# whole object (an Ingress annotation, a Service annotation); undefined when
# no route or port of it carries WebSocket.
ws_object := sprintf("%s: %s", [field, evidence_fields[field]]) if {
	fields := sort(object.keys(evidence_fields))
	count(fields) > 0
	field := fields[0]
}

# The sentence a message ends with to name its evidence.
evidence_note(reason) := sprintf(" WebSocket evidence: %s.", [reason])

# ---------------------------------------------------------------------------
# Gateway API (policies/README.md, "input.gateway").

# GatewayClass spec.controllerName of the implementations the rules know
# (gateway-api-websocket-facts.md §3).
controller_envoy_gateway := "gateway.envoyproxy.io/gatewayclass-controller"

controller_istio := "istio.io/gateway-controller"

controller_ngf := "gateway.nginx.org/nginx-gateway-controller"

controller_traefik := "traefik.io/gateway-controller"

controller_gke := "networking.gke.io/gateway"

# The implementations serving a route or policy ([] when unknown), the
# Service port behind each spec.rules[N].backendRefs[M] of a route, and the
# implementation policies attached to it; empty when the input has none.
gateway_controllers := object.get(input, ["gateway", "controllers"], [])

gateway_backends := object.get(input, ["gateway", "backends"], {})

gateway_policies := object.get(input, ["gateway", "policies"], [])

# Whether the implementation with controllerName c serves the object.
served_by(c) if c in gateway_controllers

# Gateway API Duration (GEP-2257): 1 to 4 parts of up to 5 digits and a unit
# of h, m, s or ms ("1h30m", "500ms"; not "3600", "1.5s" or "1d").
gwapi_duration_pattern := `^([0-9]{1,5}(h|m|s|ms)){1,4}$`

is_gwapi_duration(v) if {
	is_string(v)
	regex.match(gwapi_duration_pattern, v)
}

duration_unit_ms := {"h": 3600000, "m": 60000, "s": 1000, "ms": 1, "": 1000}

# Milliseconds of a valid Gateway API Duration (the parts add up, "1h2h" is
# 3h); undefined for anything else.
gwapi_duration_ms(v) := sum(parts) if {
	is_gwapi_duration(v)
	parts := [n |
		some p in regex.find_all_string_submatch_n(`([0-9]+)(ms|h|m|s)`, v, -1)
		n := to_number(p[1]) * duration_unit_ms[p[2]]
	]
}

# NGINX Gateway Fabric Duration (apis/v1alpha1/shared_types.go): one part of
# up to 4 digits, the unit optional (a bare number is seconds).
ngf_duration_pattern := `^[0-9]{1,4}(ms|s|m|h)?$`

is_ngf_duration(v) if {
	is_string(v)
	regex.match(ngf_duration_pattern, v)
}

# Milliseconds of a valid NGINX Gateway Fabric Duration; undefined otherwise.
ngf_duration_ms(v) := to_number(p[1]) * duration_unit_ms[p[2]] if {
	is_ngf_duration(v)
	p := regex.find_all_string_submatch_n(`^([0-9]+)(ms|s|m|h)?$`, v, 1)[0]
}

# Whole seconds s as a Gateway API Duration, largest units first ("1h",
# "1h30m", "3601s" is "1h1s").
gwapi_duration_of(s) := "0s" if {
	s == 0
} else := concat("", parts) if {
	parts := [part |
		some [n, unit] in [[floor(s / 3600), "h"], [floor((s % 3600) / 60), "m"], [s % 60, "s"]]
		n > 0
		part := sprintf("%d%s", [n, unit])
	]
}

# Whole seconds s as an NGINX Gateway Fabric Duration (at most 4 digits):
# whole hours, else whole minutes, else seconds, else rounded up to minutes
# (then hours), so the value is never below s.
ngf_duration_of(s) := sprintf("%dh", [s / 3600]) if {
	s > 0
	s % 3600 == 0
	s / 3600 <= 9999
} else := sprintf("%dm", [s / 60]) if {
	s > 0
	s % 60 == 0
	s / 60 <= 9999
} else := sprintf("%ds", [s]) if {
	s <= 9999
} else := sprintf("%dm", [ceil(s / 60)]) if {
	ceil(s / 60) <= 9999
} else := sprintf("%dh", [ceil(s / 3600)])
