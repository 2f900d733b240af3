# METADATA
# title: TLS rules
# description: >-
#   WebSocket Ingresses reachable over plaintext ws://: hosts without TLS,
#   and TLS hosts whose HTTP-to-HTTPS redirect was switched off.
package wsdefaults.rules.tls

import data.wsdefaults.lib

# Spellings Go's strconv.ParseBool reads as true / false (the controllers
# parse their boolean annotations with it).
bool_true := {"1", "t", "T", "TRUE", "true", "True"}

bool_false := {"0", "f", "F", "FALSE", "false", "False"}

# ---------------------------------------------------------------------------
# tls-required (research §0, §8): a ws:// WebSocket is readable and
# alterable on the way, and browsers refuse it from https:// pages. Only
# hosts with a WebSocket route (evidence) count: nothing is said about an
# Ingress without evidence or with negative evidence (gRPC-only).

# METADATA
# title: TLS violations
# description: >-
#   Everything this family reports, one lib.violation object per finding:
#   the webhook evaluates data.wsdefaults.rules[_].violation. The rules'
#   definitions follow, one section per catalog rule; their helpers come
#   after the last one.
# scope: document
# entrypoint: true
violation contains lib.violation("tls-required", "spec.tls", msg) if {
	input.object.kind == "Ingress"
	lib.is_ingress
	count(uncovered) > 0
	not terminated_in_front
	msg := sprintf(
		concat(" ", [
			"spec.tls does not cover %s: WebSocket clients there connect with plaintext ws://,",
			"which anyone on the path can read or alter and which browsers block from https:// pages.",
			"Add a spec.tls entry with hosts %s and a certificate secretName%s.%s",
		]),
		[concat(", ", uncovered), json.marshal(uncovered), in_front_hint, lib.evidence_note(ws_host_evidence[uncovered[0]])],
	)
}

# An Ingress without host names (default backend or host-less rules) and
# without any spec.tls serves every request in plaintext.
violation contains lib.violation("tls-required", "spec.tls", msg) if {
	input.object.kind == "Ingress"
	lib.is_ingress
	count(rule_hosts) == 0
	not lib.has_tls
	not terminated_in_front
	msg := sprintf(
		concat(" ", [
			"The Ingress has no spec.tls, so its WebSockets are only reachable as plaintext ws://,",
			"which anyone on the path can read or alter and which browsers block from https:// pages.",
			"Give its rules a host and add a spec.tls entry with that host and a certificate secretName%s.%s",
		]),
		[in_front_hint, lib.evidence_note(lib.ws_object)],
	)
}

# ---------------------------------------------------------------------------
# ssl-redirect-disabled (research §1.3, §3.2, §3.3, §8): with the redirect
# off, a TLS host still answers plain http:// and ws://. The ACME HTTP-01
# path is exempt from the redirect already, so it is no reason to turn it off.

violation contains lib.violation("ssl-redirect-disabled", lib.annotation_field(key), msg) if {
	input.object.kind == "Ingress"
	lib.is_ingress
	lib.has_tls
	some prefix, names in lib.by_prefix
	value := names["ssl-redirect"]
	value in bool_false
	reads_ssl_redirect(prefix)
	key := concat("", [prefix, "ssl-redirect"])
	msg := sprintf(
		concat(" ", [
			"%s is %s on an Ingress with spec.tls: its hosts then also answer plain http:// and ws://,",
			"so cookies, tokens and WebSocket frames can travel unencrypted (WebSocket clients",
			"do not follow redirects, they must use wss://). Set it to \"true\" (or remove it",
			"where redirecting is the controller's default).",
		]),
		[key, json.marshal(value)],
	)
}

# ===========================================================================
# Helpers, by rule, in the order of the sections above.

# --- tls-required ---

# Hosts the Ingress rules serve (lower case; "" rules serve every host).
rule_hosts contains lower(host) if {
	some rule in object.get(lib.spec, "rules", [])
	host := object.get(rule, "host", "")
	is_string(host)
	host != ""
}

spec_tls := object.get(lib.spec, "tls", [])

# Hosts listed in spec.tls.
listed_hosts contains lower(host) if {
	some entry in spec_tls
	some host in object.get(entry, "hosts", [])
	is_string(host)
}

# A spec.tls entry without hosts uses its certificate for whatever names it
# holds (the API's "wildcard host setting of the controller"): which hosts it
# covers cannot be told from the Ingress, so it is taken to cover all.
entry_without_hosts if {
	some entry in spec_tls
	count(object.get(entry, "hosts", [])) == 0
}

covered(host) if host in listed_hosts

covered(_) if entry_without_hosts

# A wildcard TLS host covers exactly one more label: *.example.com covers
# ws.example.com, not example.com nor a.ws.example.com.
covered(host) if {
	some pattern in listed_hosts
	startswith(pattern, "*.")
	suffix := substring(pattern, 1, -1)
	endswith(host, suffix)
	label := trim_suffix(host, suffix)
	label != ""
	not contains(label, ".")
}

# TLS is terminated in front of the Ingress: ingress-nginx redirects on the
# forwarded scheme, or the cloud load balancer carries the certificate.
terminated_in_front if lib.nginx_annotations["force-ssl-redirect"] in bool_true

terminated_in_front if {
	some key in {
		"alb.ingress.kubernetes.io/certificate-arn",
		"networking.gke.io/managed-certificates",
		"ingress.gcp.kubernetes.io/pre-shared-cert",
	}
	value := lib.annotations[key]
	is_string(value)
	trim_space(value) != ""
}

# The claim is about WebSocket clients, so only hosts that serve a route
# with WebSocket evidence count (a gRPC-only or REST Ingress has none):
# ws_host_evidence[host] is the first such route, as "field: reason".
# spec.defaultBackend serves every host of the Ingress.
ws_host_evidence[host] := evidence if {
	some host in rule_hosts
	evidence := [e |
		some field in evidence_field_order
		serves(field, host)
		e := sprintf("%s: %s", [field, lib.evidence_fields[field]])
	][0]
}

# The evidence fields in order (computed once, not per host).
evidence_field_order := sort(object.keys(lib.evidence_fields))

serves("spec.defaultBackend", _)

serves(field, host) if {
	some prefix in host_rule_fields[host]
	startswith(field, prefix)
}

# The field prefix of each rule ("spec.rules[N].") by its host, lower case
# (computed once, not per host and evidence field).
host_rule_fields[host] contains sprintf("spec.rules[%d].", [i]) if {
	some i, rule in object.get(lib.spec, "rules", [])
	host := lower(object.get(rule, "host", ""))
}

# (Covered hosts are ruled out before their evidence is looked for: most
# Ingresses cover all of theirs.)
uncovered := sort([host | some host in rule_hosts; not covered(host); ws_host_evidence[host]])

# How to say that TLS ends in front, in the terms of the Ingress's own
# controller (each is what terminated_in_front reads); nothing for
# controllers that have no such setting on the Ingress.
default in_front_hint := ""

in_front_hint := concat("", [
	" (or, if TLS ends at a load balancer in front, set ",
	lib.nginx, "force-ssl-redirect: \"true\")",
]) if {
	nginx_or_unknown
} else := " (or let the ALB terminate TLS: set alb.ingress.kubernetes.io/certificate-arn)" if {
	lib.controller_is("ingress.k8s.aws/alb")
} else := concat(" ", [
	" (or let the load balancer terminate TLS:",
	"networking.gke.io/managed-certificates or ingress.gcp.kubernetes.io/pre-shared-cert)",
]) if {
	lib.controller_is("k8s.io/ingress-gce")
}

nginx_or_unknown if lib.controller_is("k8s.io/ingress-nginx")

nginx_or_unknown if input.controller == ""

# --- ssl-redirect-disabled ---

# The prefixes under which a controller reads ssl-redirect: ingress-nginx's
# and both HAProxy controllers'.
reads_ssl_redirect(prefix) if prefix == lib.nginx

reads_ssl_redirect(prefix) if prefix in lib.controller_prefixes.haproxy
