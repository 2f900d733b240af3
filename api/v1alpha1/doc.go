// Package v1alpha1 holds the WebSocketPolicy API (group ws-defaults.io,
// version v1alpha1): the cluster-wide singleton that tunes what the webhook
// injects and enforces, the labels and annotations users put on their
// objects, and the built-in defaults that apply when no policy object exists.
//
// The CustomResourceDefinition (charts/ws-defaults/crds/, and config/webhook)
// and zz_generated.deepcopy.go are generated from this package by
// controller-gen (`make manifests`); test/install fails when either is stale.
// The CRD's schema and CEL rules refuse what can be judged field by field
// (the name "default", enums, ranges, cookie names); WebSocketPolicySpec's
// Validate is the complete check the webhook applies (unknown rule ids
// included) and names every bad field (spec.mutation.idleTimeoutSeconds,
// spec.rules[no-such-rule], ...). AddToScheme registers the types for
// clients and informers.
//
// +groupName=ws-defaults.io
// +kubebuilder:object:generate=true
package v1alpha1
