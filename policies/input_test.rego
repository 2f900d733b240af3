# METADATA
# title: Test inputs as the webhook builds them
# description: >-
#   The webhook adds to every input the parts it computes in Go
#   (annotationsByPrefix, annotated: policies/README.md); rules begin with
#   input.annotated.<controller> for OPA's rule index. Tests build their
#   input documents with complete, which adds those parts as lib.rego
#   defines them (the webhook's own are held to it by
#   TestPrecomputedInputDifferential).
package wsdefaults.input_test

import data.wsdefaults.lib

# doc with annotationsByPrefix and annotated computed from its object and
# parameters (any it had are replaced). It evaluates lib's definitions with
# doc as the input, which is what `with` is for in tests.
complete(doc) := object.union(bare, {"annotationsByPrefix": by_prefix, "annotated": annotated}) if {
	bare := object.remove(doc, ["annotationsByPrefix", "annotated"])

	# regal ignore:with-outside-test-context,external-reference
	by_prefix := lib.by_prefix with input as bare

	# regal ignore:with-outside-test-context,external-reference
	annotated := lib.annotated with input as bare
}

test_complete if {
	doc := complete({
		"object": {"metadata": {"annotations": {"nginx.ingress.kubernetes.io/affinity": "cookie", "haproxy.org/timeout-tunnel": "1h", "a": "b"}}},
		"parameters": {"nginxAnnotationPrefix": "nginx.ingress.kubernetes.io"},
	})
	doc.annotationsByPrefix == {"nginx.ingress.kubernetes.io/": {"affinity": "cookie"}, "haproxy.org/": {"timeout-tunnel": "1h"}}
	doc.annotated == {"nginx": true, "haproxytech": true, "haproxy": true}
}
