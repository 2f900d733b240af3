# METADATA
# title: Validity rules
# description: >-
#   Values that the API server, a cloud API or the controller refuses or
#   silently skips: reported at admission with the fix instead of surfacing
#   later as a missing route, a failed reconcile or a dropped Ingress.
package wsdefaults.rules.validity

import data.wsdefaults.lib

# A value for messages: strings quoted, anything else as JSON.
show(v) := json.marshal(v)

# Spellings Go's strconv.ParseBool accepts (Traefik parses booleans with it).
parse_bool := {"1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"}

# A string Go's strconv.ParseInt(s, 10, 64) accepts (sign allowed, no
# spaces; 18 digits keep it inside int64).
go_int(s) if {
	is_string(s)
	regex.match(`^[+-]?[0-9]{1,18}$`, s)
}

# ---------------------------------------------------------------------------
# ingress-class-mismatch (research §7): the API server rejects a differing
# kubernetes.io/ingress.class on create only; on update the two can drift and
# controllers disagree about who serves the Ingress.

# METADATA
# title: Validity violations
# description: >-
#   Everything this family reports, one lib.violation object per finding:
#   the webhook evaluates data.wsdefaults.rules[_].violation. The rules'
#   definitions follow, one section per catalog rule; their helpers come
#   after the last one.
# scope: document
# entrypoint: true
violation contains lib.violation("ingress-class-mismatch", lib.annotation_field(key), msg) if {
	input.object.kind == "Ingress"
	lib.is_ingress
	key := "kubernetes.io/ingress.class"
	annotated := input.object.metadata.annotations[key]
	name := lib.spec.ingressClassName
	annotated != name
	msg := sprintf(
		concat(" ", [
			"%s is %s but spec.ingressClassName is %s: the API server refuses this on create,",
			"and after an update controllers disagree about which of them serves the Ingress,",
			"so the WebSocket settings can end up on the wrong one.",
			"Remove the %s annotation (spec.ingressClassName is the field that counts).",
		]),
		[key, show(annotated), show(name), key],
	)
}

# ---------------------------------------------------------------------------
# service-affinity-timeout-range (research §7): validateAffinityTimeout
# accepts 1..86400 only.

violation contains lib.violation("service-affinity-timeout-range", field, msg) if {
	input.object.kind == "Service"
	lib.is_service
	t := lib.spec.sessionAffinityConfig.clientIP.timeoutSeconds
	not valid_affinity_timeout(t)
	field := "spec.sessionAffinityConfig.clientIP.timeoutSeconds"
	msg := sprintf(
		concat(" ", [
			"%s is %s, but the API server only accepts a whole number of seconds from 1 to 86400",
			"and will reject the Service. Set it to 10800 (the Kubernetes default, 3 h),",
			"or to another value from 1 to 86400.",
		]),
		[field, show(t)],
	)
}

# ---------------------------------------------------------------------------
# alb-ssl-redirect-format (research §6): the AWS Load Balancer Controller
# reads ssl-redirect with ParseInt32Annotation: it is the HTTPS port to
# redirect to, not a boolean.

violation contains lib.violation("alb-ssl-redirect-format", lib.annotation_field(key), msg) if {
	input.object.kind == "Ingress"
	lib.is_ingress
	key := "alb.ingress.kubernetes.io/ssl-redirect"
	value := input.object.metadata.annotations[key]
	not valid_port(value)
	msg := sprintf(
		concat(" ", [
			"%s is %s, but the AWS Load Balancer Controller expects the number of the HTTPS listener port",
			"to redirect to and fails to reconcile the load balancer otherwise, so plain ws:// stays open",
			"or the Ingress is not updated. Set it to \"443\" (with a 443 HTTPS listener in listen-ports).",
		]),
		[key, show(value)],
	)
}

# ---------------------------------------------------------------------------
# alb-idle-timeout-range (research §6): idle_timeout.timeout_seconds inside
# load-balancer-attributes; AWS accepts 1..4000 s ([Unverified] in the
# research, AWS ELB documentation).

violation contains lib.violation("alb-idle-timeout-range", lib.annotation_field(alb_attributes), msg) if {
	input.object.kind == "Ingress"
	lib.is_ingress
	input.object.metadata.annotations["alb.ingress.kubernetes.io/load-balancer-attributes"] # alb_attributes, for the rule index
	some value in alb_idle_timeouts
	not valid_alb_idle(value)
	fix := min([input.parameters.minIdleTimeoutSeconds, 4000])
	msg := sprintf(
		concat(" ", [
			"idle_timeout.timeout_seconds=%s in %s is not a whole number of seconds from 1 to 4000:",
			"AWS rejects the attribute, the controller cannot reconcile the load balancer,",
			"and WebSockets keep the previous idle timeout (60 s by default).",
			"Set idle_timeout.timeout_seconds=%d.",
		]),
		[value, alb_attributes, fix],
	)
}

# alb-group-attributes-conflict (research §6; aws-load-balancer-controller
# pkg/ingress/model_build_load_balancer_attributes.go
# buildIngressGroupLoadBalancerAttributes): every Ingress of an IngressGroup
# (alb.ingress.kubernetes.io/group.name, any namespace) feeds the one load
# balancer; two members setting one attribute to different values make the
# controller fail the whole group's model ("conflicting load balancer
# attributes <key>: <a> | <b>"), so no member is reconciled. The other
# members come from the route index (input.evidence.albGroup).

violation contains lib.violation("alb-group-attributes-conflict", lib.annotation_field(alb_attributes), msg) if {
	input.object.kind == "Ingress"
	lib.is_ingress
	group := input.evidence.albGroup
	some key, value in alb_attribute_map
	some member in group.members
	other := member.attributes[key]
	other != value
	msg := sprintf(
		concat(" ", [
			"%s=%s in %s disagrees with IngressGroup %q member %s, which sets %s=%s:",
			"the AWS Load Balancer Controller then fails the whole group (\"conflicting load balancer attributes\")",
			"and stops reconciling every Ingress in it, WebSocket idle timeouts included.",
			"Set the same %s on every member of the group, or remove it from all but one",
			"(newer controllers also accept it from the IngressClassParams loadBalancerAttributes, which then wins).",
		]),
		[key, value, alb_attributes, group.name, member.ingress, key, other, key],
	)
}

# ---------------------------------------------------------------------------
# traefik-annotation-type (research §2.1): Traefik decodes its annotations
# into typed structs (traefik/paerser). Integers use strconv.ParseInt and
# booleans strconv.ParseBool; a failure drops the whole Ingress (router.*)
# or every route to the Service (service.*). router.tls and
# service.sticky.cookie are "allowEmpty" sections, not booleans: paerser
# never fails on them but treats every value other than "true" (any case)
# as off, so "1" or "yes" silently disable TLS or stickiness.

violation contains lib.violation("traefik-annotation-type", lib.annotation_field(key), msg) if {
	input.annotated.traefik # traefik_annotations is not empty, for the rule index
	some [key, "int"] in traefik_annotations
	value := lib.annotations[key]
	not go_int(value)
	msg := sprintf(
		"%s is %s, which is not a whole number: %s. Set it to %s.",
		[key, show(value), traefik_loss[lib.kind], int_fix(key, sprintf("%v", [value]))],
	)
}

violation contains lib.violation("traefik-annotation-type", lib.annotation_field(key), msg) if {
	input.annotated.traefik # traefik_annotations is not empty, for the rule index
	some [key, "bool"] in traefik_annotations
	value := lib.annotations[key]
	not value in parse_bool
	msg := sprintf(
		concat(" ", [
			"%s is %s, which Go's strconv.ParseBool does not accept (only 1, t, T, TRUE, true, True, 0, f, F,",
			"FALSE, false, False): %s. Set it to %s.",
		]),
		[key, show(value), traefik_loss[lib.kind], bool_fix(sprintf("%v", [value]))],
	)
}

violation contains lib.violation("traefik-annotation-type", lib.annotation_field(key), msg) if {
	input.annotated.traefik # traefik_annotations is not empty, for the rule index
	some [key, "switch"] in traefik_annotations
	value := lib.annotations[key]
	value != ""
	not lower(sprintf("%v", [value])) in {"true", "false"}
	what := {"Ingress": "TLS on this router", "Service": "the sticky cookie"}[lib.kind]
	msg := sprintf(
		concat(" ", [
			"%s is %s: Traefik reads this switch as on only when it is \"true\" (in any case)",
			"and silently treats every other value as off, so %s is disabled. Set it to %s.",
		]),
		[key, show(value), what, bool_fix(sprintf("%v", [value]))],
	)
}

# ---------------------------------------------------------------------------
# haproxy-cookie-conflict (research §3.2): haproxytech's cookie.go refuses
# cookie-persistence together with cookie-persistence-no-dynamic ("cannot use
# both"), whichever of the three prefixes each one uses.

violation contains lib.violation("haproxy-cookie-conflict", lib.annotation_field(static), msg) if {
	input.annotated.haproxytech # lib.haproxytech_annotated, for the rule index
	lib.haproxytech_annotated
	some p in lib.haproxytech_prefixes
	dynamic := concat("", [p, "cookie-persistence"])
	dynamic in lib.annotation_keys
	some q in lib.haproxytech_prefixes
	static := concat("", [q, "cookie-persistence-no-dynamic"])
	static in lib.annotation_keys
	msg := sprintf(
		concat(" ", [
			"%s and %s are both set: the haproxytech controller refuses to combine dynamic and static cookie",
			"persistence, so the backend gets no sticky cookie and WebSocket reconnects can land on another pod.",
			"Remove %s and keep %s (or remove %s if you need static cookies).",
		]),
		[dynamic, static, static, dynamic, dynamic],
	)
}

# ---------------------------------------------------------------------------
# nginx-path-type-regex: since controller v1.12 ingress-nginx validates
# every path whose pathType is not ImplementationSpecific against
# (?i)^/[[:alnum:]._\-/]*$ (internal/ingress/inspector/rules.go
# validPathType) and, with the ConfigMap's strict-validate-path-type (on by
# default since v1.12), refuses the whole Ingress when one fails
# ("ingress contains invalid paths"): none of its routes is programmed.

violation contains lib.violation("nginx-path-type-regex", sprintf("spec.rules[%d].http.paths[%d].path", [r, p]), msg) if {
	input.object.kind == "Ingress"
	lib.is_ingress
	startswith(input.controller, "k8s.io/ingress-nginx") # lib.controller_is, for the rule index
	lib.controller_is("k8s.io/ingress-nginx")
	some r, rule in object.get(lib.spec, "rules", [])
	some p, path in object.get(rule, ["http", "paths"], [])
	is_string(path.path)
	path.path != ""
	object.get(path, "pathType", "") != "ImplementationSpecific"
	not regex.match(`(?i)^/[[:alnum:]._\-/]*$`, path.path)
	msg := sprintf(
		concat(" ", [
			"path %q has pathType %s and characters outside letters, digits, '.', '_', '-' and '/':",
			"ingress-nginx v1.12 and later (strict-validate-path-type, on by default) refuse the whole Ingress for it,",
			"so none of its routes is served. If the path is a regular expression, set pathType: ImplementationSpecific",
			"and %suse-regex: \"true\"; otherwise write it as a plain path.",
		]),
		[path.path, object.get(path, "pathType", "<unset>"), lib.nginx],
	)
}

# ---------------------------------------------------------------------------
# ingress-api-removed: Kubernetes 1.22 stopped serving Ingress in
# extensions/v1beta1 and networking.k8s.io/v1beta1; the API server refuses
# such a manifest (`webhook check` input and GitOps repositories still
# hold them).

violation contains lib.violation("ingress-api-removed", "apiVersion", msg) if {
	input.object.kind == "Ingress"
	input.object.apiVersion in {"extensions/v1beta1", "networking.k8s.io/v1beta1"}
	msg := sprintf(
		concat(" ", [
			"apiVersion %s: Kubernetes 1.22 and later no longer serve Ingress in it, so the API server refuses this manifest.",
			"Set apiVersion: networking.k8s.io/v1, and rewrite spec.backend as spec.defaultBackend, each",
			"serviceName/servicePort as service: {name, port: {number} or {name}}, and give every path a pathType",
			"(Prefix, Exact or ImplementationSpecific).",
		]),
		[input.object.apiVersion],
	)
}

# ===========================================================================
# Helpers, by rule, in the order of the sections above.

# --- service-affinity-timeout-range ---

valid_affinity_timeout(t) if {
	is_number(t)
	t >= 1
	t <= 86400
	t == round(t)
}

# --- alb-ssl-redirect-format ---

valid_port(v) if {
	is_string(v)
	regex.match(`^[0-9]{1,5}$`, v)
	to_number(v) >= 1
	to_number(v) <= 65535
}

# --- alb-idle-timeout-range ---

alb_attributes := "alb.ingress.kubernetes.io/load-balancer-attributes"

# Values of idle_timeout.timeout_seconds in the attribute list (comma
# separated key=value, spaces ignored as the controller does).
alb_idle_timeouts contains value if {
	raw := lib.annotations[alb_attributes]
	is_string(raw)
	some pair in split(raw, ",")
	kv := split(pair, "=")
	trim_space(kv[0]) == "idle_timeout.timeout_seconds"
	value := trim_space(concat("=", array.slice(kv, 1, count(kv))))
}

# The attribute list as a map (the controller splits on "," and "=",
# trimming spaces).
alb_attribute_map[key] := value if {
	raw := lib.annotations[alb_attributes]
	is_string(raw)
	some pair in split(raw, ",")
	kv := split(pair, "=")
	count(kv) > 1
	key := trim_space(kv[0])
	key != ""
	value := trim_space(concat("=", array.slice(kv, 1, count(kv))))
}

valid_alb_idle(v) if {
	regex.match(`^[0-9]{1,4}$`, v)
	to_number(v) >= 1
	to_number(v) <= 4000
}

# --- traefik-annotation-type ---

traefik := "traefik.ingress.kubernetes.io/"

# Annotations Traefik reads, by the kind that carries them and their type.
traefik_types := {
	"Ingress": {
		"router.priority": "int",
		"router.tls": "switch",
	},
	"Service": {
		"service.sticky.cookie.maxage": "int",
		"service.sticky.cookie": "switch",
		"service.sticky.cookie.secure": "bool",
		"service.sticky.cookie.httponly": "bool",
		"service.passhostheader": "bool",
		"service.nativelb": "bool",
		"service.nodeportlb": "bool",
	},
}

# What each kind loses when its annotations do not parse.
traefik_loss := {
	"Ingress": "Traefik fails to parse this Ingress's router annotations and skips the whole Ingress, so its WebSocket routes disappear",
	"Service": "Traefik fails to parse this Service's annotations and drops every Ingress route to it",
}

# Traefik annotations of this object as [key, type]; names are matched
# case-insensitively, as paerser does.
traefik_annotations contains [key, type] if {
	input.object.kind == "Service"
	lib.is_service
	some name, _ in lib.by_prefix[traefik]
	type := traefik_types.Service[lower(name)]
	key := concat("", [traefik, name])
}

traefik_annotations contains [key, type] if {
	input.object.kind == "Ingress"
	lib.is_ingress
	some name, _ in lib.by_prefix[traefik]
	type := traefik_types.Ingress[lower(name)]
	key := concat("", [traefik, name])
}

# The fix for an integer annotation: the whole number the user most likely
# meant (" 10" or "10.0" -> "10"), else an example for that annotation.
int_fix(key_name, v) := sprintf("\"%s\"", [n]) if {
	n := regex.find_all_string_submatch_n(`^\s*([+-]?[0-9]{1,18})(\.0*)?\s*$`, v, 1)[0][1]
} else := "a whole number of seconds, e.g. \"86400\"" if {
	endswith(lower(key_name), "maxage")
} else := "a whole number, e.g. \"100\""

# The boolean the user most likely meant.
bool_fix(v) := "\"true\"" if {
	lower(trim_space(v)) in {"true", "yes", "y", "on", "1", "t", "enabled", "enable"}
} else := "\"false\"" if {
	lower(trim_space(v)) in {"false", "no", "n", "off", "0", "f", "disabled", "disable"}
} else := "\"true\" or \"false\""
