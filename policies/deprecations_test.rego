package wsdefaults.rules.deprecations_test

import data.wsdefaults.input_test
import data.wsdefaults.rules.deprecations

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

# The keys of an object, as the list input.defaulted is.
keys_of(o) := [k | some k, _ in o]

# The field path of an annotation.
field(key) := sprintf("metadata.annotations[%s]", [key])

# Any object of an API version and kind.
object_of(api_version, kind, spec) := {
	"apiVersion": api_version,
	"kind": kind,
	"metadata": {"name": "websocket", "namespace": "chat"},
	"spec": spec,
}

# An Ingress and a Service carrying annotations.
ingress(annotations) := {
	"apiVersion": "networking.k8s.io/v1",
	"kind": "Ingress",
	"metadata": {"name": "ws", "namespace": "chat", "annotations": annotations},
	"spec": {"ingressClassName": "nginx", "rules": [{"host": "ws.example.com"}]},
}

service(annotations) := {
	"apiVersion": "v1",
	"kind": "Service",
	"metadata": {"name": "ws", "namespace": "chat", "annotations": annotations},
	"spec": {"ports": [{"name": "ws", "port": 8080}]},
}

# The input for obj served by ingress-nginx.
ingress_nginx(obj) := input_with(obj, {"controller": "k8s.io/ingress-nginx"})

# The seed guide's Linkerd ServerAuthorization.
seed_server_authorization := {
	"apiVersion": "policy.linkerd.io/v1beta1",
	"kind": "ServerAuthorization",
	"metadata": {"name": "websocket-authz", "namespace": "default"},
	"spec": {
		"server": {"selector": {"matchLabels": {"app": "websocket"}}},
		"client": {"meshTLS": {"identities": ["cluster.local/ns/default/sa/websocket-client"]}},
	},
}

# --- traefik-legacy-api-group ---

test_traefik_legacy_api_group_fires if {
	every kind in ["IngressRoute", "Middleware", "ServersTransport", "TraefikService", "IngressRouteTCP", "TLSOption"] {
		vs := deprecations.violation with input as input_for(object_of("traefik.containo.us/v1alpha1", kind, {}))
		fired(vs, "traefik-legacy-api-group", "apiVersion", "Set apiVersion to traefik.io/v1alpha1")
	}
}

# The seed guide's IngressRoute.
test_traefik_legacy_api_group_seed_guide if {
	vs := deprecations.violation with input as input_for(object_of("traefik.containo.us/v1alpha1", "IngressRoute", {
		"entryPoints": ["websecure"],
		"routes": [{"match": "Host(`ws.example.com`)", "kind": "Rule", "services": [{"name": "websocket-service", "port": 8080}]}],
		"tls": {"secretName": "websocket-tls"},
	}))
	fired(vs, "traefik-legacy-api-group", "apiVersion", "traefik.io/v1alpha1")
}

test_traefik_legacy_api_group_current_group if {
	vs := deprecations.violation with input as input_for(object_of("traefik.io/v1alpha1", "IngressRoute", {}))
	count(vs) == 0
}

test_traefik_legacy_api_group_lookalike if {
	vs := deprecations.violation with input as input_for(object_of("sub.traefik.containo.us/v1", "IngressRoute", {}))
	count(vs) == 0
}

# --- linkerd-server-authorization-deprecated ---

test_linkerd_server_authorization_deprecated_fires if {
	every version in ["policy.linkerd.io/v1alpha1", "policy.linkerd.io/v1beta1"] {
		vs := deprecations.violation with input as input_for(object_of(version, "ServerAuthorization", {}))
		fired(vs, "linkerd-server-authorization-deprecated", "kind", "Replace it with a policy.linkerd.io/v1alpha1 AuthorizationPolicy")
	}
}

test_linkerd_server_authorization_deprecated_seed_guide if {
	vs := deprecations.violation with input as input_for(seed_server_authorization)
	fired(vs, "linkerd-server-authorization-deprecated", "kind", "AuthorizationPolicy")
}

test_linkerd_server_authorization_deprecated_replacements if {
	every kind in ["AuthorizationPolicy", "Server", "MeshTLSAuthentication", "NetworkAuthentication", "HTTPRoute"] {
		vs := deprecations.violation with input as input_for(object_of("policy.linkerd.io/v1alpha1", kind, {}))
		count(vs) == 0
	}
}

test_linkerd_server_authorization_deprecated_other_group if {
	vs := deprecations.violation with input as input_for(object_of("example.com/v1", "ServerAuthorization", {}))
	count(vs) == 0
}

# --- foreign-controller-annotation ---

test_foreign_controller_annotation_websocket_services if {
	vs := deprecations.violation with input as ingress_nginx(ingress({"nginx.org/websocket-services": "websocket-service"}))
	fired(vs, "foreign-controller-annotation", field("nginx.org/websocket-services"), "Remove nginx.org/websocket-services")
	fired(
		vs, "foreign-controller-annotation", field("nginx.org/websocket-services"),
		`nginx.ingress.kubernetes.io/proxy-read-timeout and nginx.ingress.kubernetes.io/proxy-send-timeout to "3600"`,
	)
}

test_foreign_controller_annotation_websocket_services_instance if {
	doc := input_with(ingress({"nginx.org/websocket-services": "ws"}), {"controller": "k8s.io/ingress-nginx/internal"})
	fired(deprecations.violation, "foreign-controller-annotation", field("nginx.org/websocket-services"), "Remove nginx.org/websocket-services") with input as doc
}

test_foreign_controller_annotation_websocket_services_custom_prefix if {
	doc := input_with(
		ingress({"nginx.org/websocket-services": "ws"}),
		{"controller": "k8s.io/ingress-nginx", "parameters": {"nginxAnnotationPrefix": "custom.example.com"}},
	)
	fired(
		deprecations.violation, "foreign-controller-annotation", field("nginx.org/websocket-services"),
		"custom.example.com/proxy-read-timeout",
	) with input as doc
}

# On F5 NGINX Ingress Controller the annotation is its own.
test_foreign_controller_annotation_websocket_services_f5 if {
	doc := input_with(ingress({"nginx.org/websocket-services": "ws"}), {"controller": "nginx.org/ingress-controller"})
	count(deprecations.violation) == 0 with input as doc
}

test_foreign_controller_annotation_websocket_services_unknown_controller if {
	vs := deprecations.violation with input as input_for(ingress({"nginx.org/websocket-services": "ws"}))
	count(vs) == 0
}

test_foreign_controller_annotation_send_timeout if {
	every obj in [service({"konghq.com/send-timeout": "3600000"}), ingress({"konghq.com/send-timeout": "60000"})] {
		vs := deprecations.violation with input as input_for(obj)
		fired(vs, "foreign-controller-annotation", field("konghq.com/send-timeout"), "Use konghq.com/write-timeout instead")
	}
}

test_foreign_controller_annotation_kong_seconds if {
	every key in ["konghq.com/read-timeout", "konghq.com/write-timeout", "konghq.com/connect-timeout"] {
		vs := deprecations.violation with input as input_for(service({key: "60"}))
		fired(vs, "foreign-controller-annotation", field(key), sprintf("%s: \"60000\"", [key]))
	}
}

# "3600" is 3.6 s, but 1000 ms and more can be meant: this rule leaves it to
# websocket-idle-timeout-too-low (read/write against the policy minimum).
test_foreign_controller_annotation_kong_3600 if {
	vs := deprecations.violation with input as input_for(service({"konghq.com/read-timeout": "3600", "konghq.com/connect-timeout": "3600"}))
	count(vs) == 0
}

test_foreign_controller_annotation_kong_boundary if {
	below := deprecations.violation with input as input_for(service({"konghq.com/read-timeout": "999"}))
	fired(below, "foreign-controller-annotation", field("konghq.com/read-timeout"), `konghq.com/read-timeout: "999000"`)
	at := deprecations.violation with input as input_for(service({"konghq.com/read-timeout": "1000"}))
	count(at) == 0
}

test_foreign_controller_annotation_kong_zero if {
	vs := deprecations.violation with input as input_for(service({"konghq.com/write-timeout": "0"}))
	fired(vs, "foreign-controller-annotation", field("konghq.com/write-timeout"), `konghq.com/write-timeout: "3600000"`)
}

# Kong ignores values that are not integers; other rules cover formats.
test_foreign_controller_annotation_kong_not_integer if {
	every value in ["3600s", "1h", "", "36.5"] {
		vs := deprecations.violation with input as input_for(service({"konghq.com/read-timeout": value}))
		count(vs) == 0
	}
}

test_foreign_controller_annotation_kong_other_keys if {
	vs := deprecations.violation with input as input_for(service({"konghq.com/retries": "5", "konghq.com/path": "/ws"}))
	count(vs) == 0
}

# What the mutation injects for Kong: the idle timeout in milliseconds, also
# with the smallest idle timeout a policy allows (1 s).
test_foreign_controller_annotation_mutation_defaults if {
	every ms in ["3600000", "1000"] {
		annotations := {"konghq.com/read-timeout": ms, "konghq.com/write-timeout": ms}
		doc := input_with(service(annotations), {"defaulted": keys_of(annotations)})
		count(deprecations.violation) == 0 with input as doc
	}
}

test_deprecations_mutation_defaults_nginx if {
	annotations := {
		"nginx.ingress.kubernetes.io/proxy-read-timeout": "3600",
		"nginx.ingress.kubernetes.io/proxy-send-timeout": "3600",
		"nginx.ingress.kubernetes.io/affinity": "cookie",
	}
	doc := input_with(ingress(annotations), {"controller": "k8s.io/ingress-nginx", "defaulted": keys_of(annotations)})
	count(deprecations.violation) == 0 with input as doc
}

# --- kong-ingress-proxy-ignored ------------------------------------------------

kong_ingress(extra) := object.union(
	{
		"apiVersion": "configuration.konghq.com/v1",
		"kind": "KongIngress",
		"metadata": {"name": "ws", "namespace": "chat"},
	},
	extra,
)

test_kong_ingress_proxy_ignored if {
	obj := kong_ingress({"proxy": {"read_timeout": 3600000, "write_timeout": 3600000}, "upstream": {"hash_on": "ip"}})
	vs := deprecations.violation with input as input_for(obj)
	fired(vs, "kong-ingress-proxy-ignored", "proxy.read_timeout", "Set konghq.com/read-timeout: \"3600000\" on the Service")
	fired(vs, "kong-ingress-proxy-ignored", "proxy.write_timeout", "konghq.com/write-timeout")
	count([v | some v in vs; v.rule == "kong-ingress-proxy-ignored"]) == 2
}

test_kong_ingress_route_ignored if {
	vs := deprecations.violation with input as input_for(kong_ingress({"route": {"strip_path": true}}))
	fired(vs, "kong-ingress-proxy-ignored", "route.strip_path", "remove route.strip_path")
}

# The upstream section is still read; other groups are not Kong's.
test_kong_ingress_upstream_silent if {
	vs := deprecations.violation with input as input_for(kong_ingress({"upstream": {"hash_on": "ip"}}))
	not "kong-ingress-proxy-ignored" in ids(vs)
	other := json.patch(kong_ingress({"proxy": {"read_timeout": 1}}), [{"op": "replace", "path": "/apiVersion", "value": "example.com/v1"}])
	not "kong-ingress-proxy-ignored" in ids(deprecations.violation) with input as input_for(other)
}
