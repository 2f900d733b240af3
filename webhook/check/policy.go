package check

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
	"github.com/ws-defaults/ws-defaults/webhook/policy"
)

// LoadPolicy reads the WebSocketPolicy in path and returns its spec with
// defaults filled in; "" means the built-in policy. The file may hold other
// objects too; with several policies, the one named "default" (the one the
// webhook reads) is used.
func LoadPolicy(path string) (v1alpha1.WebSocketPolicySpec, error) {
	if path == "" {
		return v1alpha1.BuiltinPolicy(), nil
	}
	objs, err := readFile(path, ReadOptions{Strict: true})
	if err != nil {
		return v1alpha1.WebSocketPolicySpec{}, fmt.Errorf("policy: %w", err)
	}
	var found []Object
	for _, o := range objs {
		if o.Kind() == "WebSocketPolicy" {
			found = append(found, o)
		}
	}
	if len(found) == 0 {
		return v1alpha1.WebSocketPolicySpec{}, fmt.Errorf("policy: %s holds no WebSocketPolicy", path)
	}
	if len(found) > 1 {
		var named []Object
		for _, o := range found {
			if o.Name() == v1alpha1.PolicyName {
				named = append(named, o)
			}
		}
		if len(named) != 1 {
			return v1alpha1.WebSocketPolicySpec{}, fmt.Errorf("policy: %s holds %d WebSocketPolicy objects; keep one, or name exactly one %q", path, len(found), v1alpha1.PolicyName)
		}
		found = named
	}
	o := found[0]
	if want := v1alpha1.Group + "/" + v1alpha1.Version; o.APIVersion() != want {
		return v1alpha1.WebSocketPolicySpec{}, fmt.Errorf("policy: %s: apiVersion is %q, want %q", o.Where(), o.APIVersion(), want)
	}
	// Unknown fields are errors: a misspelt setting would otherwise be
	// silently replaced by its default, and the check would pass on a
	// policy the cluster (whose schema rejects it) never runs.
	var p v1alpha1.WebSocketPolicy
	dec := json.NewDecoder(bytes.NewReader(o.Raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return v1alpha1.WebSocketPolicySpec{}, fmt.Errorf("policy: %s: %w", o.Where(), err)
	}
	// What the cluster's policy webhook refuses (a wrong name, a custom
	// rule that does not compile) is refused here too.
	if _, err := policy.Admit(&p); err != nil {
		return v1alpha1.WebSocketPolicySpec{}, fmt.Errorf("policy: %s: invalid WebSocketPolicy (the cluster would refuse it): %w", o.Where(), err)
	}
	return p.Spec.WithDefaults(), nil
}
