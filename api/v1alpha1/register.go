package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is ws-defaults.io/v1alpha1.
	GroupVersion = schema.GroupVersion{Group: Group, Version: Version}
	// SchemeGroupVersion is GroupVersion under the name client-gen style
	// code expects.
	SchemeGroupVersion = GroupVersion

	// SchemeBuilder registers WebSocketPolicy and WebSocketPolicyList.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)
	// AddToScheme adds the types of this group version to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

// GroupVersionKind is the WebSocketPolicy kind's.
var GroupVersionKind = GroupVersion.WithKind(Kind)

// GroupVersionResource is the websocketpolicies resource's.
var GroupVersionResource = GroupVersion.WithResource(Resource)

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, &WebSocketPolicy{}, &WebSocketPolicyList{})
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
