# METADATA
# title: Evidence rules
# description: >-
#   Where the webhook could not see whether an opted-in object carries
#   WebSocket: said once, at audit, with the one annotation that makes the
#   verdict certain.
package wsdefaults.rules.evidence

import data.wsdefaults.lib

# ---------------------------------------------------------------------------
# websocket-evidence-missing (interfaces.md "WebSocket evidence"): an
# opted-in Ingress none of whose routes shows WebSocket evidence (a
# catch-all path, backend ports named http or given by number). It gets the
# Ingress-wide idle timeouts only, no cookie affinity, balancing or
# stickiness, and no "breaks WebSocket" finding until someone says what it
# carries; the webhook does not guess.

# METADATA
# title: Evidence violations
# description: >-
#   Everything this family reports, one lib.violation object per finding:
#   the webhook evaluates data.wsdefaults.rules[_].violation.
# scope: document
# entrypoint: true
violation contains lib.violation("websocket-evidence-missing", lib.annotation_field("ws-defaults.io/websocket"), msg) if {
	input.object.kind == "Ingress"
	lib.is_ingress
	not lib.annotations["ws-defaults.io/websocket"]
	count(lib.evidence_fields) == 0
	object.get(input, ["evidence", "negative"], "") == ""
	not input.evidence.servedElsewhere
	msg := sprintf(
		concat(" ", [
			"No route of this Ingress shows WebSocket evidence (%s: no path named like a WebSocket endpoint,",
			"no backend port named ws/websocket), so the webhook gives it only idle timeouts, no cookie affinity",
			"or balancing, and judges none of its routes as WebSocket. Say what it carries: add the annotation",
			"ws-defaults.io/websocket: \"true\" if it serves WebSocket clients, or ws-defaults.io/websocket: \"false\"",
			"if it does not.",
		]),
		[concat(", ", routes)],
	)
}

# The Ingress's routes, for the message: "host path" each.
routes := [sprintf("%s%s", [object.get(rule, "host", "*"), object.get(path, "path", "/")]) |
	some rule in object.get(lib.spec, "rules", [])
	some path in object.get(rule, ["http", "paths"], [])
]
