package check

import (
	"context"

	"github.com/ws-defaults/ws-defaults/webhook/pipeline"
	"github.com/ws-defaults/ws-defaults/webhook/validate"
)

// Rules judges objects with the embedded Rego catalog through the
// admission pipeline's Validate, exactly as the validating webhook does in
// a cluster.
type Rules struct {
	Engine *validate.Engine
}

var _ Validator = Rules{}

// Validate evaluates obj (after mutation); excluded namespaces get no rule.
func (r Rules) Validate(ctx context.Context, obj map[string]any, in Input) ([]Violation, error) {
	p := &pipeline.Pipeline{Rules: r.Engine}
	vs, ruleErrs, err := p.Validate(ctx, in.Context, &pipeline.Object{Operation: "CREATE", Object: obj})
	if err == nil && len(ruleErrs) > 0 {
		// Offline there is no request to answer in time: a rule that cannot
		// be evaluated is the input's problem, reported as such.
		return nil, ruleErrs[0]
	}
	return vs, err
}
