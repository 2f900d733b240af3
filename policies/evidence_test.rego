package wsdefaults.rules.evidence_test

import data.wsdefaults.input_test
import data.wsdefaults.rules.evidence

input_for(obj, defaulted, fields) := input_test.complete({
	"operation": "CREATE",
	"object": obj,
	"oldObject": null,
	"namespace": {"name": "shop", "labels": {"ws-defaults": "enabled"}, "annotations": {}},
	"controller": "k8s.io/ingress-nginx",
	"optedIn": true,
	"defaulted": defaulted,
	"evidence": {"fields": fields, "negative": "", "off": false},
	"parameters": {"nginxAnnotationPrefix": "nginx.ingress.kubernetes.io", "minIdleTimeoutSeconds": 3600},
})

ingress(annotations) := {
	"apiVersion": "networking.k8s.io/v1",
	"kind": "Ingress",
	"metadata": {"name": "web", "namespace": "shop", "annotations": annotations},
	"spec": {"rules": [{"host": "shop.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix"}]}}]},
}

timeouts := ["nginx.ingress.kubernetes.io/proxy-read-timeout", "nginx.ingress.kubernetes.io/proxy-send-timeout"]

ids(vs) := {v.rule | some v in vs}

test_websocket_evidence_missing_fires if {
	vs := evidence.violation with input as input_for(ingress({}), timeouts, {})
	some v in vs
	v.rule == "websocket-evidence-missing"
	v.field == "metadata.annotations[ws-defaults.io/websocket]"
	contains(v.message, "shop.example.com/")
	contains(v.message, "ws-defaults.io/websocket: \"true\"")
	contains(v.message, "ws-defaults.io/websocket: \"false\"")
}

# Evidence, the annotation either way, negative evidence
# or WebSocket paths served by another Ingress of the host: nothing to say.
test_websocket_evidence_missing_silent if {
	with_evidence := input_for(ingress({}), timeouts, {"spec.rules[0].http.paths[0]": "backend port name ws"})
	not "websocket-evidence-missing" in ids(evidence.violation) with input as with_evidence
	every v in ["true", "false"] {
		not "websocket-evidence-missing" in ids(evidence.violation) with input as input_for(ingress({"ws-defaults.io/websocket": v}), timeouts, {})
	}
	negative := json.patch(input_for(ingress({}), timeouts, {}), [{"op": "replace", "path": "/evidence/negative", "value": "gRPC"}])
	not "websocket-evidence-missing" in ids(evidence.violation) with input as negative
	elsewhere := json.patch(
		input_for(ingress({}), timeouts, {}),
		[{"op": "add", "path": "/evidence/servedElsewhere", "value": {"spec.rules[0].http.paths[0]": "…"}}],
	)
	not "websocket-evidence-missing" in ids(evidence.violation) with input as elsewhere
}
