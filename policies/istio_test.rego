package wsdefaults.rules.istio_test

import data.wsdefaults.input_test
import data.wsdefaults.rules.istio

# A full input document for obj, as the engine builds it for an opted-in
# object with no controller and nothing defaulted.
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

# input_for(obj) with some top-level fields replaced.
input_with(obj, extra) := input_test.complete(object.union(input_for(obj), extra))

# A violation of rule on field whose message contains fix.
fired(vs, rule, field, fix) if {
	some v in vs
	v.rule == rule
	v.field == field
	contains(v.message, fix)
}

# The rule ids reported.
ids(vs) := {v.rule | some v in vs}

# The fields a rule reported.
fields(vs, rule) := {v.field | some v in vs; v.rule == rule}

# Every networking.istio.io version the rules cover.
versions := ["networking.istio.io/v1alpha3", "networking.istio.io/v1beta1", "networking.istio.io/v1"]

# A DestinationRule of one version, and of v1.
dr_version(version, spec) := {
	"apiVersion": version,
	"kind": "DestinationRule",
	"metadata": {"name": "websocket-dr", "namespace": "chat"},
	"spec": object.union({"host": "websocket-service"}, spec),
}

dr(spec) := dr_version("networking.istio.io/v1", spec)

# A VirtualService of one version with http routes, and of v1.
vs_version(version, routes) := {
	"apiVersion": version,
	"kind": "VirtualService",
	"metadata": {"name": "websocket-vs", "namespace": "chat"},
	"spec": {"hosts": ["ws.example.com"], "http": routes},
}

virtual_service(routes) := vs_version("networking.istio.io/v1", routes)

# An http route to the WebSocket service plus extra fields.
route(extra) := object.union({"route": [{"destination": {"host": "websocket-service", "port": {"number": 8080}}}]}, extra)

# A load balancer with both policies, and an UPGRADE connection pool.
both_lb := {"simple": "ROUND_ROBIN", "consistentHash": {"httpCookie": {"name": "affinity", "ttl": "3600s"}}}

upgrade_pool := {"http": {"h2UpgradePolicy": "UPGRADE"}}

# A DestinationRule with policy at every level that can hold one.
every_level(policy) := dr({
	"trafficPolicy": object.union(policy, {"portLevelSettings": [
		{"port": {"number": 9090}},
		object.union({"port": {"number": 8080}}, policy),
	]}),
	"subsets": [
		{"name": "v1", "labels": {"version": "v1"}},
		{"name": "v2", "labels": {"version": "v2"}, "trafficPolicy": object.union(policy, {"portLevelSettings": [object.union({"port": {"number": 8080}}, policy)]})},
	],
})

# The seed guide's DestinationRule and VirtualService.
seed_dr := {
	"apiVersion": "networking.istio.io/v1beta1",
	"kind": "DestinationRule",
	"metadata": {"name": "websocket-dr", "namespace": "default"},
	"spec": {
		"host": "websocket-service",
		"trafficPolicy": {
			"connectionPool": {
				"tcp": {"maxConnections": 100},
				"http": {
					"http1MaxPendingRequests": 100,
					"http2MaxRequests": 100,
					"maxRequestsPerConnection": 2,
					"h2UpgradePolicy": "UPGRADE",
				},
			},
			"loadBalancer": {
				"simple": "ROUND_ROBIN",
				"consistentHash": {"httpCookie": {"name": "session-affinity", "ttl": "3600s"}},
			},
			"outlierDetection": {"consecutiveErrors": 5, "interval": "30s", "baseEjectionTime": "30s", "maxEjectionPercent": 50, "minHealthPercent": 50},
		},
	},
}

seed_vs := {
	"apiVersion": "networking.istio.io/v1beta1",
	"kind": "VirtualService",
	"metadata": {"name": "websocket-vs", "namespace": "default"},
	"spec": {
		"hosts": ["ws.example.com"],
		"gateways": ["websocket-gateway"],
		"http": [{
			"match": [{"uri": {"prefix": "/ws"}}],
			"route": [{"destination": {"host": "websocket-service", "port": {"number": 8080}}}],
			"timeout": "0s",
			"websocketUpgrade": true,
		}],
	},
}

# --- istio-lb-policy-conflict ---

test_istio_lb_policy_conflict_fires if {
	every version in versions {
		vs := istio.violation with input as input_for(dr_version(version, {"trafficPolicy": {"loadBalancer": both_lb}}))
		fired(vs, "istio-lb-policy-conflict", "spec.trafficPolicy.loadBalancer", "Remove spec.trafficPolicy.loadBalancer.simple")
	}
}

test_istio_lb_policy_conflict_every_level if {
	vs := istio.violation with input as input_for(every_level({"loadBalancer": both_lb}))
	fields(vs, "istio-lb-policy-conflict") == {
		"spec.trafficPolicy.loadBalancer",
		"spec.trafficPolicy.portLevelSettings[1].loadBalancer",
		"spec.subsets[1].trafficPolicy.loadBalancer",
		"spec.subsets[1].trafficPolicy.portLevelSettings[0].loadBalancer",
	}
	fired(vs, "istio-lb-policy-conflict", "spec.subsets[1].trafficPolicy.loadBalancer", "Remove spec.subsets[1].trafficPolicy.loadBalancer.simple")
}

test_istio_lb_policy_conflict_seed_guide if {
	vs := istio.violation with input as input_for(seed_dr)
	fired(vs, "istio-lb-policy-conflict", "spec.trafficPolicy.loadBalancer", "Remove spec.trafficPolicy.loadBalancer.simple")
}

test_istio_lb_policy_conflict_one_policy if {
	simple := istio.violation with input as input_for(every_level({"loadBalancer": {"simple": "LEAST_REQUEST"}}))
	count(simple) == 0
	hash := istio.violation with input as input_for(every_level({"loadBalancer": {"consistentHash": {"httpCookie": {"name": "affinity", "ttl": "0s"}}}}))
	count(hash) == 0
}

test_istio_lb_policy_conflict_null_simple if {
	vs := istio.violation with input as input_for(dr({"trafficPolicy": {"loadBalancer": {"simple": null, "consistentHash": {"useSourceIp": true}}}}))
	count(vs) == 0
}

test_istio_lb_policy_conflict_other_group if {
	obj := dr_version("networking.example.com/v1", {"trafficPolicy": {"loadBalancer": both_lb}})
	count(istio.violation) == 0 with input as input_for(obj)
}

# --- istio-h2-upgrade-client-protocol ---

test_istio_h2_upgrade_client_protocol_fires if {
	vs := istio.violation with input as input_for(dr({"trafficPolicy": {"connectionPool": {"http": {"h2UpgradePolicy": "UPGRADE", "useClientProtocol": true}}}}))
	fired(
		vs, "istio-h2-upgrade-client-protocol",
		"spec.trafficPolicy.connectionPool.http.useClientProtocol",
		"Set spec.trafficPolicy.connectionPool.http.h2UpgradePolicy to DO_NOT_UPGRADE",
	)
}

test_istio_h2_upgrade_client_protocol_every_level if {
	vs := istio.violation with input as input_for(every_level({"connectionPool": {"http": {"h2UpgradePolicy": "UPGRADE", "useClientProtocol": true}}}))
	fields(vs, "istio-h2-upgrade-client-protocol") == {
		"spec.trafficPolicy.connectionPool.http.useClientProtocol",
		"spec.trafficPolicy.portLevelSettings[1].connectionPool.http.useClientProtocol",
		"spec.subsets[1].trafficPolicy.connectionPool.http.useClientProtocol",
		"spec.subsets[1].trafficPolicy.portLevelSettings[0].connectionPool.http.useClientProtocol",
	}
}

test_istio_h2_upgrade_client_protocol_compliant if {
	every settings in [
		{"h2UpgradePolicy": "UPGRADE", "useClientProtocol": false},
		{"h2UpgradePolicy": "DO_NOT_UPGRADE", "useClientProtocol": true},
		{"h2UpgradePolicy": "DEFAULT", "useClientProtocol": true},
		{"useClientProtocol": true},
	] {
		vs := istio.violation with input as input_for(dr({"trafficPolicy": {"connectionPool": {"http": settings}}}))
		not "istio-h2-upgrade-client-protocol" in ids(vs)
	}
}

# input_for(obj) with WebSocket evidence on the given fields, as the
# pipeline computes it (webhook/evidence).
ev_doc(obj, fields) := object.union(input_for(obj), {"evidence": {"fields": fields, "negative": "", "off": false}})

# A DestinationRule whose host has a WebSocket port.
ws_host(obj) := ev_doc(obj, {"spec.host": "Service chat/websocket-service port ws is WebSocket (port name ws (token ws))"})

# A VirtualService whose http routes at the given indexes carry WebSocket.
ws_routes(obj, indexes) := ev_doc(obj, {sprintf("spec.http[%d]", [i]): "path segment ws" | some i in indexes})

# --- istio-h2-upgrade ---

# A host without WebSocket evidence may be a gRPC service that wants HTTP/2.
test_istio_h2_upgrade_needs_evidence if {
	vs := istio.violation with input as input_for(dr({"trafficPolicy": {"connectionPool": upgrade_pool}}))
	not "istio-h2-upgrade" in ids(vs)
}

test_istio_h2_upgrade_names_evidence if {
	vs := istio.violation with input as ws_host(dr({"trafficPolicy": {"connectionPool": upgrade_pool}}))
	fired(
		vs, "istio-h2-upgrade", "spec.trafficPolicy.connectionPool.http.h2UpgradePolicy",
		"WebSocket evidence: spec.host: Service chat/websocket-service port ws",
	)
}

test_istio_h2_upgrade_fires if {
	every version in versions {
		vs := istio.violation with input as ws_host(dr_version(version, {"trafficPolicy": {"connectionPool": upgrade_pool}}))
		fired(vs, "istio-h2-upgrade", "spec.trafficPolicy.connectionPool.http.h2UpgradePolicy", "Set it to DO_NOT_UPGRADE")
	}
}

test_istio_h2_upgrade_every_level if {
	vs := istio.violation with input as ws_host(every_level({"connectionPool": upgrade_pool}))
	fields(vs, "istio-h2-upgrade") == {
		"spec.trafficPolicy.connectionPool.http.h2UpgradePolicy",
		"spec.trafficPolicy.portLevelSettings[1].connectionPool.http.h2UpgradePolicy",
		"spec.subsets[1].trafficPolicy.connectionPool.http.h2UpgradePolicy",
		"spec.subsets[1].trafficPolicy.portLevelSettings[0].connectionPool.http.h2UpgradePolicy",
	}
}

# A subset can opt back into UPGRADE under a compliant top level.
test_istio_h2_upgrade_subset_only if {
	vs := istio.violation with input as ws_host(dr({
		"trafficPolicy": {"connectionPool": {"http": {"h2UpgradePolicy": "DO_NOT_UPGRADE"}}},
		"subsets": [{"name": "v2", "labels": {"version": "v2"}, "trafficPolicy": {"connectionPool": upgrade_pool}}],
	}))
	fields(vs, "istio-h2-upgrade") == {"spec.subsets[0].trafficPolicy.connectionPool.http.h2UpgradePolicy"}
	fired(vs, "istio-h2-upgrade", "spec.subsets[0].trafficPolicy.connectionPool.http.h2UpgradePolicy", "DO_NOT_UPGRADE")
}

test_istio_h2_upgrade_compliant if {
	every policy in ["DO_NOT_UPGRADE", "DEFAULT"] {
		vs := istio.violation with input as ws_host(every_level({"connectionPool": {"http": {"h2UpgradePolicy": policy}}}))
		count(vs) == 0
	}
}

# The seed guide's DestinationRule: both the oneof conflict and UPGRADE.
test_istio_h2_upgrade_seed_guide if {
	vs := istio.violation with input as ws_host(seed_dr)
	fired(vs, "istio-h2-upgrade", "spec.trafficPolicy.connectionPool.http.h2UpgradePolicy", "Set it to DO_NOT_UPGRADE")
	ids(vs) == {"istio-lb-policy-conflict", "istio-h2-upgrade"}
}

# What the mutation injects: DO_NOT_UPGRADE when the field is absent.
test_istio_h2_upgrade_mutation_defaults if {
	doc := input_with(
		dr({"trafficPolicy": {"connectionPool": {"http": {"h2UpgradePolicy": "DO_NOT_UPGRADE"}}}}),
		{"defaulted": ["spec.trafficPolicy.connectionPool.http.h2UpgradePolicy"]},
	)
	count(istio.violation) == 0 with input as doc
}

# --- istio-cookie-hash-ttl ---

test_istio_cookie_hash_ttl_fires if {
	vs := istio.violation with input as input_for(dr({"trafficPolicy": {"loadBalancer": {"consistentHash": {"httpCookie": {"name": "affinity"}}}}}))
	fired(
		vs, "istio-cookie-hash-ttl",
		"spec.trafficPolicy.loadBalancer.consistentHash.httpCookie.ttl",
		`Set spec.trafficPolicy.loadBalancer.consistentHash.httpCookie.ttl, e.g. "0s"`,
	)
}

test_istio_cookie_hash_ttl_every_level if {
	vs := istio.violation with input as input_for(every_level({"loadBalancer": {"consistentHash": {"httpCookie": {"name": "affinity", "path": "/"}}}}))
	fields(vs, "istio-cookie-hash-ttl") == {
		"spec.trafficPolicy.loadBalancer.consistentHash.httpCookie.ttl",
		"spec.trafficPolicy.portLevelSettings[1].loadBalancer.consistentHash.httpCookie.ttl",
		"spec.subsets[1].trafficPolicy.loadBalancer.consistentHash.httpCookie.ttl",
		"spec.subsets[1].trafficPolicy.portLevelSettings[0].loadBalancer.consistentHash.httpCookie.ttl",
	}
}

test_istio_cookie_hash_ttl_set if {
	every ttl in ["0s", "3600s", "1h"] {
		vs := istio.violation with input as input_for(dr({"trafficPolicy": {"loadBalancer": {"consistentHash": {"httpCookie": {"name": "affinity", "ttl": ttl}}}}}))
		count(vs) == 0
	}
}

test_istio_cookie_hash_ttl_other_hash_keys if {
	every hash in [{"httpHeaderName": "x-user"}, {"useSourceIp": true}, {"httpQueryParameterName": "user"}] {
		vs := istio.violation with input as input_for(dr({"trafficPolicy": {"loadBalancer": {"consistentHash": hash}}}))
		count(vs) == 0
	}
}

# The seed guide's cookie has a ttl.
test_istio_cookie_hash_ttl_seed_guide if {
	not "istio-cookie-hash-ttl" in ids(istio.violation) with input as input_for(seed_dr)
}

# --- istio-zero-timeout ---

test_istio_zero_timeout_fires if {
	every version in versions {
		every timeout in ["0s", "0ms", "0", "0.0s", "0h0m0s", "0m", "0us"] {
			vs := istio.violation with input as input_for(vs_version(version, [route({"timeout": timeout})]))
			fired(vs, "istio-zero-timeout", "spec.http[0].timeout", "Remove spec.http[0].timeout")
			not "istio-route-timeout" in ids(vs)
		}
	}
}

# Istio also refuses positive timeouts under 1ms or finer than 1ms
# (pkg/config/validation, run by make conformance); whole milliseconds pass.
test_istio_zero_timeout_sub_millisecond if {
	every timeout in ["500us", "999999ns", "1.5ms", "1001us"] {
		vs := istio.violation with input as input_for(virtual_service([route({"timeout": timeout})]))
		fired(vs, "istio-zero-timeout", "spec.http[0].timeout", "not in whole milliseconds")
	}
	every timeout in ["1ms", "1.5s", "1000us"] {
		vs := istio.violation with input as input_for(virtual_service([route({"timeout": timeout})]))
		not "istio-zero-timeout" in ids(vs)
	}
}

test_istio_zero_timeout_number if {
	vs := istio.violation with input as input_for(virtual_service([route({"timeout": 0})]))
	fired(vs, "istio-zero-timeout", "spec.http[0].timeout", "Remove spec.http[0].timeout")
}

test_istio_zero_timeout_negative if {
	vs := istio.violation with input as input_for(virtual_service([route({"timeout": "-1s"})]))
	fired(vs, "istio-zero-timeout", "spec.http[0].timeout", "Remove spec.http[0].timeout")
}

test_istio_zero_timeout_second_route if {
	vs := istio.violation with input as input_for(virtual_service([route({}), route({"timeout": "0s"})]))
	fields(vs, "istio-zero-timeout") == {"spec.http[1].timeout"}
}

test_istio_zero_timeout_seed_guide if {
	vs := istio.violation with input as input_for(seed_vs)
	fired(vs, "istio-zero-timeout", "spec.http[0].timeout", "Remove spec.http[0].timeout")

	# The seed also still sets the field Istio 1.5 removed.
	ids(vs) == {"istio-zero-timeout", "istio-websocket-upgrade-removed"}
}

test_istio_zero_timeout_unset if {
	vs := istio.violation with input as input_for(virtual_service([route({}), route({"retries": {"attempts": 3}})]))
	count(vs) == 0
}

test_istio_zero_timeout_not_on_destination_rule if {
	vs := istio.violation with input as input_for(dr({"trafficPolicy": {"connectionPool": {"tcp": {"connectTimeout": "0s"}}}}))
	count(vs) == 0
}

# --- istio-route-timeout ---

test_istio_route_timeout_fires if {
	every timeout in ["300s", "1h", "0.5s", "1ms", "1h30m"] {
		vs := istio.violation with input as ws_routes(virtual_service([route({"timeout": timeout})]), [0])
		fired(vs, "istio-route-timeout", "spec.http[0].timeout", "Remove spec.http[0].timeout")
		not "istio-zero-timeout" in ids(vs)
	}
}

test_istio_route_timeout_each_route if {
	vs := istio.violation with input as ws_routes(virtual_service([route({"timeout": "30s"}), route({}), route({"timeout": "10m"})]), [0, 1, 2])
	fields(vs, "istio-route-timeout") == {"spec.http[0].timeout", "spec.http[2].timeout"}
}

# REST routes keep their deliberate timeouts; only WebSocket routes are
# warned, and the message names the evidence.
test_istio_route_timeout_only_ws_routes if {
	obj := virtual_service([route({"timeout": "30s", "match": [{"uri": {"prefix": "/api"}}]}), route({"timeout": "300s", "match": [{"uri": {"prefix": "/ws"}}]})])
	count(istio.violation) == 0 with input as input_for(obj)
	vs := istio.violation with input as ws_routes(obj, [1])
	fields(vs, "istio-route-timeout") == {"spec.http[1].timeout"}
	fired(vs, "istio-route-timeout", "spec.http[1].timeout", "WebSocket evidence: spec.http[1]: path segment ws.")
}

test_istio_route_timeout_unset if {
	vs := istio.violation with input as input_for(virtual_service([route({})]))
	count(vs) == 0
}

test_istio_route_timeout_unparsable if {
	vs := istio.violation with input as ws_routes(virtual_service([route({"timeout": "forever"})]), [0])
	count(vs) == 0
}

test_istio_route_timeout_other_group if {
	vs := istio.violation with input as input_for(vs_version("example.com/v1", [route({"timeout": "300s"})]))
	count(vs) == 0
}

# --- istio-websocket-upgrade-removed ---

test_istio_websocket_upgrade_removed_fires if {
	every version in versions {
		every value in [true, false] {
			vs := istio.violation with input as input_for(vs_version(version, [route({}), route({"websocketUpgrade": value})]))
			fired(vs, "istio-websocket-upgrade-removed", "spec.http[1].websocketUpgrade", "Remove spec.http[1].websocketUpgrade")
			fields(vs, "istio-websocket-upgrade-removed") == {"spec.http[1].websocketUpgrade"}
		}
	}
}

test_istio_websocket_upgrade_removed_silent_without_field if {
	vs := istio.violation with input as input_for(virtual_service([route({"timeout": "30s"})]))
	not "istio-websocket-upgrade-removed" in ids(vs)
}
