// Package v1alpha1 holds the WebSocketPolicy API (group ws-defaults.io,
// version v1alpha1): the cluster-wide singleton that tunes what the webhook
// injects and enforces, the labels and annotations users put on their
// objects, and the built-in defaults that apply when no policy object exists.
//
// +groupName=ws-defaults.io
package v1alpha1
