package v1alpha1

import (
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
)

// TestAddToScheme: both kinds are registered under ws-defaults.io/v1alpha1,
// as clients and informers look them up.
func TestAddToScheme(t *testing.T) {
	s := runtime.NewScheme()
	if err := AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	for obj, kind := range map[runtime.Object]string{&WebSocketPolicy{}: "WebSocketPolicy", &WebSocketPolicyList{}: "WebSocketPolicyList"} {
		gvks, _, err := s.ObjectKinds(obj)
		if err != nil || len(gvks) != 1 || gvks[0] != GroupVersion.WithKind(kind) {
			t.Errorf("%T: %v %v", obj, gvks, err)
		}
	}
	if GroupVersionKind.String() != "ws-defaults.io/v1alpha1, Kind=WebSocketPolicy" || GroupVersionResource.Resource != "websocketpolicies" {
		t.Errorf("%v %v", GroupVersionKind, GroupVersionResource)
	}
}
