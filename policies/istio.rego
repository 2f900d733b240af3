# METADATA
# title: Istio DestinationRules and VirtualServices
# description: >-
#   Load balancers Istio rejects or that never pin, HTTP/2 upgrades that break
#   WebSockets through sidecars, and route timeouts that are refused or cut
#   connections (research §4.2–§4.4).
package wsdefaults.rules.istio

import data.wsdefaults.lib

# The networking.istio.io versions that serve DestinationRule and
# VirtualService.
api_versions := {
	"networking.istio.io/v1alpha3",
	"networking.istio.io/v1beta1",
	"networking.istio.io/v1",
}

# The object is an Istio networking object of kind k.
is_istio(k) if {
	lib.kind == k
	lib.obj.apiVersion in api_versions
}

# The rule's own traffic policy and each subset's, by field path.
base_policies[path] := policy if {
	is_istio("DestinationRule")
	policy := lib.spec.trafficPolicy
	is_object(policy)
	path := "spec.trafficPolicy"
}

base_policies[path] := policy if {
	is_istio("DestinationRule")
	some j, subset in object.get(lib.spec, "subsets", [])
	policy := subset.trafficPolicy
	is_object(policy)
	path := sprintf("spec.subsets[%d].trafficPolicy", [j])
}

# Every level that can hold loadBalancer and connectionPool: the base
# policies and their portLevelSettings, by field path.
traffic_policies[path] := policy if some path, policy in base_policies

traffic_policies[path] := policy if {
	some base, parent in base_policies
	some i, policy in object.get(parent, "portLevelSettings", [])
	is_object(policy)
	path := sprintf("%s.portLevelSettings[%d]", [base, i])
}

# A field that is present and not null.
has(o, key) if object.get(o, key, null) != null

# ---------------------------------------------------------------------------
# istio-lb-policy-conflict: LoadBalancerSettings is a oneof: the CRD schema
# rejects a load balancer with both simple and consistentHash. istiod itself
# does not: it keeps consistentHash and silently drops simple
# (docs/conformance.md, pkg/config/validation), so where the CRD is not
# installed from Istio the conflict passes unnoticed.

# METADATA
# title: Istio violations
# description: >-
#   Everything this family reports, one lib.violation object per finding:
#   the webhook evaluates data.wsdefaults.rules[_].violation. The rules'
#   definitions follow, one section per catalog rule; their helpers come
#   after the last one.
# scope: document
# entrypoint: true
violation contains lib.violation("istio-lb-policy-conflict", field, msg) if {
	input.object.kind == "DestinationRule"
	some path, policy in traffic_policies
	lb := policy.loadBalancer
	has(lb, "simple")
	has(lb, "consistentHash")
	field := sprintf("%s.loadBalancer", [path])
	msg := sprintf(
		concat(" ", [
			"%s sets both simple (%v) and consistentHash, but Istio allows only one load-balancing policy,",
			"so the API server rejects the DestinationRule. Remove %s.simple to keep WebSocket clients pinned by",
			"consistentHash (or remove consistentHash if you need no affinity).",
		]),
		[field, lb.simple, field],
	)
}

# ---------------------------------------------------------------------------
# istio-h2-upgrade-client-protocol: istiod's validation: "use client protocol
# must not be true when H2UpgradePolicy is UPGRADE".

violation contains lib.violation("istio-h2-upgrade-client-protocol", field, msg) if {
	input.object.kind == "DestinationRule"
	some http_path, settings in h2_upgrades
	settings.useClientProtocol == true
	field := sprintf("%s.useClientProtocol", [http_path])
	msg := sprintf(
		concat(" ", [
			"%s is true while %s.h2UpgradePolicy is UPGRADE, a combination Istio rejects.",
			"Set %s.h2UpgradePolicy to DO_NOT_UPGRADE (WebSocket backends need HTTP/1.1)",
			"or remove useClientProtocol.",
		]),
		[field, http_path, http_path],
	)
}

# ---------------------------------------------------------------------------
# istio-h2-upgrade: sidecars would send the WebSocket handshake upstream as
# HTTP/2 without allow_connect, which Envoy needs to tunnel it (istio#27078,
# #33534). Only for a host with WebSocket evidence (a WebSocket port on the
# host's Service, a WebSocket route to it, or the annotation).

violation contains lib.violation("istio-h2-upgrade", field, msg) if {
	input.object.kind == "DestinationRule"
	some http_path, _ in h2_upgrades
	ev := lib.ws_evidence("spec.host")
	field := sprintf("%s.h2UpgradePolicy", [http_path])
	msg := sprintf(
		concat(" ", [
			"%s is UPGRADE: Istio sidecars then send the WebSocket handshake upstream as HTTP/2 without",
			"allow_connect, so the upgrade fails. Set it to DO_NOT_UPGRADE.%s",
		]),
		[field, lib.evidence_note(sprintf("spec.host: %s", [ev]))],
	)
}

# ---------------------------------------------------------------------------
# istio-cookie-hash-ttl: without ttl Envoy only hashes on a cookie the client
# already sends and never sets one, so nothing pins the client
# (destination_rule.proto).

violation contains lib.violation("istio-cookie-hash-ttl", field, msg) if {
	input.object.kind == "DestinationRule"
	some path, policy in traffic_policies
	cookie := policy.loadBalancer.consistentHash.httpCookie
	is_object(cookie)
	not has(cookie, "ttl")
	cookie_path := sprintf("%s.loadBalancer.consistentHash.httpCookie", [path])
	field := sprintf("%s.ttl", [cookie_path])
	msg := sprintf(
		concat(" ", [
			"%s has no ttl: Envoy then never generates the cookie,",
			"so WebSocket clients that do not already send it are not pinned to a backend. Set %s, e.g.",
			"\"0s\" for a session cookie or \"3600s\".",
		]),
		[cookie_path, field],
	)
}

# ---------------------------------------------------------------------------
# istio-zero-timeout: istiod (ValidateDuration) and the CRD (CEL, Istio
# 1.23+) refuse route timeouts under 1ms ("duration must be greater than
# 1ms") and finer than a millisecond ("only durations to ms precision are
# supported"); a zero does not mean "no timeout".

violation contains lib.violation("istio-zero-timeout", field, msg) if {
	input.object.kind == "VirtualService"
	some field, timeout in route_timeouts
	rejected_timeout(timeout)
	msg := sprintf(
		concat(" ", [
			"%s is %v: Istio rejects a route timeout under 1ms or not in whole milliseconds, so the VirtualService is refused;",
			"a zero does not disable the timeout. Remove %s: an unset timeout is already disabled,",
			"which is what WebSockets need.",
		]),
		[field, timeout, field],
	)
}

# ---------------------------------------------------------------------------
# istio-route-timeout: a finite route timeout has cut established WebSocket
# connections on the route (kubeflow#6126; version-dependent in Envoy). Zero
# and negative values are istio-zero-timeout's.

violation contains lib.violation("istio-route-timeout", field, msg) if {
	input.object.kind == "VirtualService"
	is_istio("VirtualService")
	some i, route in object.get(lib.spec, "http", [])
	timeout := route.timeout
	is_string(timeout)
	lib.duration_seconds(timeout) > 0

	# REST routes have deliberate timeouts: only WebSocket routes.
	ev := lib.ws_evidence(sprintf("spec.http[%d]", [i]))
	field := sprintf("spec.http[%d].timeout", [i])
	msg := sprintf(
		concat(" ", [
			"%s is %q: Envoy can close WebSocket connections on this route once that time has passed,",
			"however active they are. Remove %s (Istio's default is no timeout).%s",
		]),
		[field, timeout, field, lib.evidence_note(sprintf("spec.http[%d]: %s", [i, ev]))],
	)
}

# ---------------------------------------------------------------------------
# istio-websocket-upgrade-removed: HTTPRoute.websocketUpgrade was removed in
# Istio 1.5 (WebSocket upgrades have been allowed on every HTTP route since);
# today's CRDs drop or, under strict field validation, reject the field, so
# in a cluster it never reaches a webhook: this matters in `webhook check`,
# where a manifest still carrying it is a sign of a stale guide.

violation contains lib.violation("istio-websocket-upgrade-removed", field, msg) if {
	input.object.kind == "VirtualService"
	is_istio("VirtualService")
	some i, route in object.get(lib.spec, "http", [])
	"websocketUpgrade" in object.keys(route)
	field := sprintf("spec.http[%d].websocketUpgrade", [i])
	msg := sprintf(
		concat(" ", [
			"%s was removed in Istio 1.5 and does nothing: Istio allows the WebSocket upgrade on every HTTP",
			"route by default, and today's VirtualService CRD drops the field (kubectl's strict validation",
			"refuses it). Remove %s.",
		]),
		[field, field],
	)
}

# ===========================================================================
# Helpers, by rule, in the order of the sections above.

# --- istio-h2-upgrade-client-protocol and istio-h2-upgrade ---

# The connectionPool.http settings of each traffic-policy level whose
# h2UpgradePolicy is UPGRADE, by field path.
h2_upgrades[field] := settings if {
	some path, policy in traffic_policies
	settings := policy.connectionPool.http
	settings.h2UpgradePolicy == "UPGRADE"
	field := sprintf("%s.connectionPool.http", [path])
}

# --- istio-zero-timeout and istio-route-timeout ---

# Each http route timeout of a VirtualService, by field path.
route_timeouts[field] := timeout if {
	is_istio("VirtualService")
	some i, route in object.get(lib.spec, "http", [])
	timeout := route.timeout
	field := sprintf("spec.http[%d].timeout", [i])
}

# A timeout Istio refuses: zero or negative, under 1ms ("500us"), or finer
# than a millisecond ("1.5ms").
rejected_timeout(t) if not_positive(t)

rejected_timeout(t) if {
	is_string(t)
	ns := time.parse_duration_ns(t)
	ns > 0
	ns < 1000000
}

rejected_timeout(t) if {
	is_string(t)
	ns := time.parse_duration_ns(t)
	ns % 1000000 != 0
}

# A timeout that is zero or negative: "0s", "0ms", "0", "0h0m0s", or 0.
not_positive(t) if {
	is_string(t)
	lib.duration_seconds(t) <= 0
}

not_positive(t) if {
	is_number(t)
	t <= 0
}
