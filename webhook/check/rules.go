package check

import (
	"context"

	"github.com/ws-defaults/ws-defaults/webhook/mutate"
	"github.com/ws-defaults/ws-defaults/webhook/validate"
)

// Rules judges objects with the embedded Rego catalog, exactly as the
// validating webhook does in a cluster.
type Rules struct {
	Engine *validate.Engine
}

var _ Validator = Rules{}

// Validate evaluates obj (after mutation); excluded namespaces get no rule.
func (r Rules) Validate(ctx context.Context, obj map[string]any, in Input) ([]Violation, error) {
	if in.Excluded {
		return nil, nil
	}
	vin := validate.Input{
		Operation:  "CREATE",
		Object:     obj,
		Controller: in.Controller,
		OptedIn:    in.OptedIn,
		Defaulted:  validate.DefaultedKeys(obj),
	}
	if md, ok := in.Namespace["metadata"].(map[string]any); ok {
		vin.Namespace, _ = md["name"].(string)
		vin.NamespaceLabels = mutate.StringMap(md["labels"])
		vin.NamespaceAnnotation = mutate.StringMap(md["annotations"])
	} else if md, ok := obj["metadata"].(map[string]any); ok {
		vin.Namespace, _ = md["namespace"].(string)
	}
	return r.Engine.Evaluate(ctx, vin, in.Policy)
}
