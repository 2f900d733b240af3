# METADATA
# title: Edge rules
# description: >-
#   The cloud load balancer in front of a Service of type LoadBalancer
#   (docs/edge.md): its idle timeout in the provider's own unit and range,
#   annotations it ignores, and session affinity it refuses. The webhook
#   recognises the provider and reads each annotation with the provider's
#   own parsing rules (webhook/edge); the rules read the result from
#   input.edge. Values the mutation injected are never reported.
package wsdefaults.rules.edge

import data.wsdefaults.lib

# A value for messages: strings quoted, anything else as JSON.
show(v) := json.marshal(v)

# The load balancer of a Service of type LoadBalancer; undefined otherwise.
lb := input.edge if {
	input.object.kind == "Service"
	lib.is_service
	input.edge.loadBalancer == true
}

# ---------------------------------------------------------------------------
# edge-affinity-unsupported: the AWS cloud provider refuses a ClientIP
# Service ("unsupported load balancer affinity: ClientIP", Classic ELB and
# its own NLB) and so does OCI ("OCI only supports SessionAffinity None"):
# the load balancer is never built, only a SyncLoadBalancerFailed event says
# why.

# METADATA
# title: Edge violations
# description: >-
#   Everything this family reports, one lib.violation object per finding:
#   the webhook evaluates data.wsdefaults.rules[_].violation. The rules'
#   definitions follow, one section per catalog rule.
# scope: document
# entrypoint: true
violation contains lib.violation("edge-affinity-unsupported", "spec.sessionAffinity", msg) if {
	input.edge.loadBalancer == true # lb is a load balancer, for the rule index
	lb.refusesClientIP == true
	lib.spec.sessionAffinity == "ClientIP"
	msg := sprintf(
		concat(" ", [
			"spec.sessionAffinity is ClientIP, which the %s refuses (recognised by %s):",
			"the cloud controller fails every sync of this Service and never builds its load balancer.",
			"Set spec.sessionAffinity to None (and remove spec.sessionAffinityConfig);",
			"for sticky WebSocket sessions use cookie affinity at the ingress controller.",
		]),
		[lb.name, lb.source],
	)
}

# ---------------------------------------------------------------------------
# edge-idle-timeout-format: the provider's idle annotation in a unit, format
# or range it does not accept (Azure minutes 4-100 where seconds are
# written, a bare number where a Go duration is wanted, a malformed
# listener-attributes map): the sync fails and the load balancer keeps its
# previous idle timeout.

violation contains lib.violation("edge-idle-timeout-format", s.field, msg) if {
	input.edge.loadBalancer == true # lb is a load balancer, for the rule index
	some s in lb.settings
	s.set
	s.error != ""
	msg := sprintf(
		concat(" ", [
			"%s is %s, which the %s cannot read: %s (%s, %s).",
			"Its cloud controller fails to sync the load balancer, which keeps its previous idle timeout.",
			"Set it to %s.",
		]),
		[s.key, show(input.object.metadata.annotations[s.key]), lb.name, s.error, s.unit, s.range, show(example(s))],
	)
}

violation contains lib.violation("edge-idle-timeout-format", s.field, msg) if {
	input.edge.loadBalancer == true # lb is a load balancer, for the rule index
	some s in lb.settings
	s.set
	s.error == ""
	s.outOfRange != ""
	msg := sprintf(
		concat(" ", [
			"%s is %s, outside what the %s accepts (%s)%s:",
			"the load balancer is not updated and keeps its previous idle timeout. Set it to %s.",
		]),
		[s.key, show(input.object.metadata.annotations[s.key]), lb.name, s.outOfRange, unit_hint(s), show(example(s))],
	)
}

# ---------------------------------------------------------------------------
# edge-idle-timeout-ignored: the Classic ELB idle timeout on an NLB, which
# does not read it.

violation contains lib.violation("edge-idle-timeout-ignored", i.field, msg) if {
	input.edge.loadBalancer == true # lb is a load balancer, for the rule index
	some i in lb.ignored
	msg := sprintf(
		"%s is set, but this Service's load balancer is an %s (recognised by %s), which ignores it: %s.",
		[i.key, lb.name, lb.source, i.use],
	)
}

# ---------------------------------------------------------------------------
# edge-idle-timeout-too-low: a WebSocket LoadBalancer Service whose load
# balancer closes idle connections before the policy's minimum, by its own
# default or by the value set.

violation contains lib.violation("edge-idle-timeout-too-low", field, msg) if {
	input.edge.loadBalancer == true # lb is a load balancer, for the rule index
	some s in lb.settings
	not injected(s)
	idle := effective_idle(s)
	idle < s.wantSeconds
	ev := setting_evidence(s)
	field := too_low_field(s)
	msg := sprintf("%s%s", [too_low_message(s, idle), lib.evidence_note(ev)])
}

# --- helpers ---

# A value of the setting's own format that meets the policy's minimum.
example(s) := s.suggested if s.suggested != ""

# The unit note for a readable value outside the range: Azure's minutes are
# the usual mistake ("3600" written as seconds).
unit_hint(s) := " - the unit is minutes, not seconds" if {
	s.unit == "minutes"
	s.seconds > 100 * 60
} else := ""

# The WebSocket evidence for a setting: its listener's port, or any port
# for a setting of the whole load balancer.
setting_evidence(s) := lib.ws_evidence(sprintf("spec.ports[%d]", [s.port])) if s.port >= 0

setting_evidence(s) := lib.ws_object if s.port < 0

# The mutation added the annotation, or merged the attribute in.
injected(s) if lib.defaulted(s.key)

injected(s) if lib.defaulted(sprintf("%s[%s]", [s.key, s.attribute]))

# The idle timeout in force: the value set (when the provider reads it),
# else the provider's default (positive when known).
effective_idle(s) := s.seconds if {
	s.set
	s.error == ""
	s.outOfRange == ""
}

effective_idle(s) := s["default"] if {
	not s.set
	s["default"] > 0
}

too_low_field(s) := s.field if s.key != ""

too_low_field(s) := sprintf("spec.ports[%d]", [s.port]) if {
	s.key == ""
	s.port >= 0
}

too_low_field(s) := "spec.type" if {
	s.key == ""
	s.port < 0
}

too_low_message(s, idle) := msg if {
	s.key != ""
	s.set
	msg := sprintf(
		concat(" ", [
			"%s is %s: the %s closes WebSockets idle for %d s, below the policy minimum of %d s.",
			"Set %s to %s (%s, %s).",
		]),
		[s.key, show(input.object.metadata.annotations[s.key]), lb.name, idle, input.parameters.minIdleTimeoutSeconds, s.key, show(example(s)), s.unit, s.range],
	)
}

too_low_message(s, idle) := msg if {
	s.key != ""
	not s.set
	msg := sprintf(
		concat(" ", [
			"The %s closes WebSockets idle for %d s (its default), below the policy minimum of %d s.",
			"Set %s to %s (%s, %s).",
		]),
		[lb.name, idle, input.parameters.minIdleTimeoutSeconds, s.key, show(example(s)), s.unit, s.range],
	)
}

too_low_message(s, idle) := msg if {
	s.key == ""
	msg := sprintf(
		concat(" ", [
			"The %s%s closes WebSockets idle for %d s, below the policy minimum of %d s, and it cannot be raised (%s):",
			"have clients or the server send WebSocket pings more often than every %d s.",
		]),
		[lb.name, listener(s), idle, input.parameters.minIdleTimeoutSeconds, s.note, idle],
	)
}

listener(s) := sprintf(" listener %s", [s.listener]) if s.listener != ""

listener(s) := "" if s.listener == ""
