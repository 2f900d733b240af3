// Package check is `webhook check`: the admission webhook's mutation and
// policies run offline on manifests, so a CI pipeline learns what the
// cluster would add and refuse before anything is applied.
//
// Objects come from files, folders or stdin (see Read). There is no cluster
// to ask, so the input stands in for it: a Namespace object in the input
// decides opt-in for the objects in it, just as the webhook's
// namespaceSelector would; an object whose Namespace is not in the input is
// treated as living in an enabled namespace, since a manifest handed to
// check is presumably meant for ws-defaults. IngressClass objects in the
// input are the cluster's classes. The other objects in the input give
// cross-object WebSocket evidence (a route to a Service port), as the
// cluster's would. Mutation is the webhook's own engine
// (package mutate); validation is a Validator, applied to the object after
// mutation, exactly as the cluster would see it. Run reads the input
// twice, so that memory holds an index of what decisions across objects
// read (checker) and the objects being judged, never the whole input.
package check

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	jsonpatchapply "github.com/evanphx/json-patch/v5"
	"gomodules.xyz/jsonpatch/v2"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
	"github.com/ws-defaults/ws-defaults/webhook/explain"
	"github.com/ws-defaults/ws-defaults/webhook/pipeline"
	"github.com/ws-defaults/ws-defaults/webhook/validate"
)

// Violation is one rule that fired on one object (validate.Violation; its
// JSON form is interfaces.md's).
type Violation = validate.Violation

// Input is what a Validator may know about an object besides the object
// after mutation: the pipeline's Context (policy generation, opt-in,
// namespace, controller), as in the cluster. Validators must not modify
// anything they are given.
type Input struct {
	*pipeline.Context
	// Object is the object as read, with where it came from.
	Object Object
	// Added lists what the mutation added, so a rule never fires on a value
	// the webhook itself injected.
	Added []string
	// NamespaceObject is the object's Namespace as read, nil when the input
	// does not hold it.
	NamespaceObject map[string]any
}

// Validator judges one object after mutation. The validate package provides
// the real one; without a Validator, check only mutates.
type Validator interface {
	Validate(ctx context.Context, obj map[string]any, in Input) ([]Violation, error)
}

// Result is what check found for one object. Its JSON form is the
// interfaces.md contract.
type Result struct {
	// Source is the file and 0-based document index; every item of a List
	// document shares its Source and tells itself apart with Item.
	Source string `json:"source"`
	// Item is the index in a List document's items; absent otherwise.
	Item       *int   `json:"item,omitempty"`
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace"`
	Name       string `json:"name"`
	OptedIn    bool   `json:"optedIn"`
	// Excluded is set when the namespace is never acted on, which is why
	// such an object is not opted in whatever its labels say.
	Excluded bool `json:"excluded,omitempty"`
	// NotHandled is set for kinds the webhook is never called for (a
	// ConfigMap, a Deployment): nothing is added or judged, opted in or
	// not. Namespace objects are reported as opted in or not, since their
	// label decides for the objects in them.
	NotHandled bool                           `json:"notHandled,omitempty"`
	Controller string                         `json:"controller,omitempty"`
	Patch      []jsonpatch.JsonPatchOperation `json:"patch"`
	// Added lists the settings the mutation added, as mutate names them.
	Added      []string    `json:"added,omitempty"`
	Violations []Violation `json:"violations"`
	// Warnings are the mutation's notes on odd values it had to skip.
	Warnings []string `json:"warnings,omitempty"`
	// Evidence lists the routes and ports judged WebSocket and why, one
	// "field: reason" each (interfaces.md "WebSocket evidence").
	Evidence []string `json:"evidence"`
	// Path is, per WebSocket route or LoadBalancer Service port, the hops
	// in front of it and the effective idle timeout (`webhook explain`).
	Path []explain.Route `json:"path,omitempty"`

	where string // Source plus the List item, for people
	file  string // Object.File
	line  int    // Object.Line
	// raw is the object as read, as JSON; with Patch it makes the object
	// after mutation, built only for the outputs that print it (afterJSON).
	raw []byte
}

// Summary counts objects. An object with both deny and warn violations
// counts in both Denied and Warned.
type Summary struct {
	Objects int `json:"objects"`
	Mutated int `json:"mutated"`
	Denied  int `json:"denied"`
	Warned  int `json:"warned"`
}

// Report is the whole outcome of a check.
type Report struct {
	Results []Result `json:"results"`
	Summary Summary  `json:"summary"`
}

// Options are the inputs of Run, one field per flag of `webhook check`.
type Options struct {
	// Files are files, folders or "-" (stdin), read in order.
	Files []string
	// PolicyFile holds a WebSocketPolicy; "" means the built-in policy.
	PolicyFile string
	// Output is a format name (Formats); "" means table.
	Output string
	// Validator judges objects after mutation; nil means no rules.
	Validator Validator
	// FailOn is the mildest action that fails the check (exit 1): "deny"
	// (default) or "warn".
	FailOn string
	// Strict makes documents that are not Kubernetes objects errors
	// instead of skipping them with a notice on Stderr.
	Strict bool
	// Workers judge objects in parallel (the output keeps input order);
	// 0 or 1 judges one at a time. More than one needs a Validator safe
	// for concurrent use (Rules is).
	Workers int

	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// Run checks the input and prints the report. Its error is always the
// caller's fault (bad flags, unreadable input or policy) and names the file
// and document; denials are not errors but counted in the Summary.
//
// It reads the input twice, so that memory holds what cross-object
// decisions need and one object, never the whole input: pass 1 reads and
// checks every document (every input error is found before anything is
// printed), keeps the objects as JSON in a temporary file and builds the
// index (checker.observe); pass 2 judges the objects from that file one by
// one and writes each result as it comes (json, jsonl, yaml; table, junit
// and sarif keep compact results until the end).
func Run(ctx context.Context, o Options) (Summary, error) {
	out, err := newResultWriter(o.Stdout, o.Output)
	if err != nil {
		return Summary{}, err
	}
	if o.FailOn != "" && o.FailOn != FailOnDeny && o.FailOn != FailOnWarn {
		return Summary{}, fmt.Errorf("--fail-on %q: use %s or %s", o.FailOn, FailOnDeny, FailOnWarn)
	}
	if len(o.Files) == 0 {
		return Summary{}, errors.New("no input: give -f with a file, a folder or - for stdin")
	}
	policy, err := LoadPolicy(o.PolicyFile)
	if err != nil {
		return Summary{}, err
	}
	c, err := newChecker(policy, o.Validator, nil)
	if err != nil {
		return Summary{}, err
	}
	sp, err := newSpool()
	if err != nil {
		return Summary{}, err
	}
	defer sp.close()

	// Pass 1: read, check, index, keep.
	skipped := 0
	err = Scan(o.Files, o.Stdin, ReadOptions{Strict: o.Strict, Skipped: func(n Notice) {
		skipped++
		if o.Stderr != nil {
			fmt.Fprintf(o.Stderr, "%s\n", n)
		}
	}}, func(obj Object) error {
		c.observe(obj)
		return sp.put(obj)
	})
	if err != nil {
		return Summary{}, err
	}
	if sp.n == 0 && skipped > 0 {
		// Nothing checked is no pass.
		return Summary{}, fmt.Errorf("no Kubernetes objects in the input (%d %s skipped)", skipped, plural(skipped, "document", "documents"))
	}
	if err := c.ready(ctx); err != nil {
		return Summary{}, err
	}

	// Pass 2: judge and write, one object at a time. The violation lines
	// go to stderr after the report, as the table prints them.
	lines := &spill{}
	defer lines.close()
	var sum Summary
	err = judgeInOrder(ctx, o.Workers, sp.each, c.judge, func(r *Result) error {
		sum.Count(r)
		if o.Stderr != nil {
			for _, w := range r.Warnings {
				fmt.Fprintf(o.Stderr, "%s: warning: %s\n", r.where, w)
			}
			if o.Output != "" && o.Output != DefaultFormat {
				writeViolationLines(lines, r)
			}
		}
		if err := out.Write(r); err != nil {
			return fmt.Errorf("writing the report: %w", err)
		}
		return nil
	})
	if err != nil {
		if s, ok := out.(streamWriter); ok {
			// What was written stays a complete document.
			_ = s.Close(sum)
		}
		return Summary{}, err
	}
	if err := out.Close(sum); err != nil {
		return Summary{}, fmt.Errorf("writing the report: %w", err)
	}
	if o.Stderr != nil {
		// The table lists the violations itself; the other formats go to
		// files and tools, so a CI log would otherwise not say which rule
		// failed the job.
		if err := lines.copyTo(o.Stderr); err != nil {
			return Summary{}, err
		}
	}
	return sum, nil
}

// writeViolationLines prints one line per deny and warn violation of r.
func writeViolationLines(w io.Writer, r *Result) {
	for _, v := range r.Violations {
		if v.Action == v1alpha1.ActionDeny || v.Action == v1alpha1.ActionWarn {
			fmt.Fprintf(w, "%s: %s %s %s: %s (%s): %s\n", printable(r.where), v.Action, printable(r.Kind), printable(r.namespacedName()),
				printable(v.Rule), printable(v.Field), printable(v.Message))
		}
	}
}

// Exit statuses of `webhook check`, fixed by interfaces.md.
const (
	ExitOK     = 0 // nothing denied
	ExitDenied = 1 // some object would be denied
	ExitInput  = 2 // bad flags, unreadable input or policy
)

// Values of --fail-on.
const (
	FailOnDeny = "deny"
	FailOnWarn = "warn"
)

// ExitStatus is the exit status for what Run returned, failing on denials.
func ExitStatus(s Summary, err error) int { return ExitStatusFailOn(s, err, FailOnDeny) }

// ExitStatusFailOn is the exit status for what Run returned when failOn
// ("deny" or "warn") is the mildest action that fails the check.
func ExitStatusFailOn(s Summary, err error, failOn string) int {
	switch {
	case err != nil:
		return ExitInput
	case s.Denied > 0, failOn == FailOnWarn && s.Warned > 0:
		return ExitDenied
	default:
		return ExitOK
	}
}

// Check mutates and validates objs as the webhook would, with policy as
// the cluster policy (unset fields take the built-in defaults). The input
// stands in for the cluster (a cluster.Snapshot): its Namespaces and
// IngressClasses are the cluster's, and a namespace it does not hold counts
// as enabled. Each object then goes through the admission pipeline.
func Check(ctx context.Context, objs []Object, spec v1alpha1.WebSocketPolicySpec, v Validator) (*Report, error) {
	return CheckPrinting(ctx, objs, spec, v, nil)
}

// CheckPrinting is Check with the custom rules' print() output written to
// w (`webhook test`).
func CheckPrinting(ctx context.Context, objs []Object, spec v1alpha1.WebSocketPolicySpec, v Validator, w io.Writer) (*Report, error) {
	c, err := newChecker(spec, v, w)
	if err != nil {
		return nil, err
	}
	for _, o := range objs {
		c.observe(o)
	}
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	rep := &Report{Results: make([]Result, 0, len(objs))}
	for _, o := range objs {
		r, err := c.judge(ctx, o)
		if err != nil {
			return nil, err
		}
		rep.Summary.Count(&r)
		rep.Results = append(rep.Results, r)
	}
	return rep, nil
}

func (r *Result) has(action v1alpha1.RuleAction) bool {
	for _, v := range r.Violations {
		if v.Action == action {
			return true
		}
	}
	return false
}

// applyPatch applies ops to raw the way the API server applies a mutating
// webhook's patch.
func applyPatch(raw []byte, ops []jsonpatch.JsonPatchOperation) ([]byte, error) {
	b, err := json.Marshal(ops)
	if err != nil {
		return nil, fmt.Errorf("encoding patch: %w", err)
	}
	p, err := jsonpatchapply.DecodePatch(b)
	if err != nil {
		return nil, fmt.Errorf("decoding patch: %w", err)
	}
	out, err := p.Apply(raw)
	if err != nil {
		return nil, fmt.Errorf("applying patch: %w", err)
	}
	return out, nil
}

func decodeMap(raw []byte) (map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	return m, nil
}

func (o Object) groupKind() string {
	group, _, found := strings.Cut(o.APIVersion(), "/")
	if !found {
		group = ""
	}
	return o.Kind() + "." + group
}

func nestedString(obj map[string]any, path ...string) (string, bool) {
	cur := any(obj)
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return "", false
		}
		cur = m[p]
	}
	s, ok := cur.(string)
	return s, ok
}

// Mutated is the object after mutation, as the cluster would store it.
func (r Result) Mutated() (map[string]any, error) {
	after, err := r.afterJSON()
	if err != nil {
		return nil, err
	}
	return decodeMap(after)
}

// afterJSON is the object after mutation as JSON: the patch applied to the
// object as read. Only `-o yaml` prints it, so the other outputs never pay
// for applying the patch.
func (r Result) afterJSON() ([]byte, error) {
	if len(r.Patch) == 0 {
		return r.raw, nil
	}
	return applyPatch(r.raw, r.Patch)
}
