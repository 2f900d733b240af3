package check

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
)

// SuiteFile is the name `webhook test` looks for: a test suite of a team's
// rules, in the spirit of `kyverno test` and `gator verify`.
const SuiteFile = "ws-defaults-test.yaml"

// Suite is one SuiteFile: a policy, manifests, and what must (and must
// not) fire on each object. Paths are relative to the file.
type Suite struct {
	// Policy is a WebSocketPolicy file, custom rules included; "" means the
	// built-in policy.
	Policy string `json:"policy,omitempty"`
	// Resources are manifest files or folders, read as `webhook check -f`.
	Resources []string `json:"resources"`
	// Cases name objects and the rules expected of them.
	Cases []Case `json:"cases"`
}

// Case is the expectation for one object, named Kind/name or
// Kind/namespace/name.
type Case struct {
	Object string `json:"object"`
	// Fire lists rule ids that must fire on it (any action but off).
	Fire []string `json:"fire,omitempty"`
	// Pass lists rule ids that must not fire on it.
	Pass []string `json:"pass,omitempty"`
}

// TestResult counts a `webhook test` run.
type TestResult struct{ Passed, Failed int }

// RunSuites runs every SuiteFile under dirs and prints one line per
// expectation, failures first explained. Its error is the input's fault
// (unreadable suite, policy or manifests); expectations that do not hold
// are counted in Failed.
func RunSuites(ctx context.Context, dirs []string, v Validator, out io.Writer) (TestResult, error) {
	var res TestResult
	var files []string
	for _, d := range dirs {
		err := filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !e.IsDir() && e.Name() == SuiteFile {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return res, err
		}
	}
	if len(files) == 0 {
		return res, fmt.Errorf("no %s under %s", SuiteFile, strings.Join(dirs, ", "))
	}
	slices.Sort(files)
	for _, f := range files {
		if err := runSuite(ctx, f, v, out, &res); err != nil {
			return res, fmt.Errorf("%s: %w", f, err)
		}
	}
	fmt.Fprintf(out, "%d expectations passed, %d failed\n", res.Passed, res.Failed)
	return res, nil
}

func runSuite(ctx context.Context, file string, v Validator, out io.Writer, res *TestResult) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var s Suite
	if err := yaml.UnmarshalStrict(b, &s); err != nil {
		return err
	}
	if len(s.Resources) == 0 || len(s.Cases) == 0 {
		return fmt.Errorf("a suite needs resources and cases")
	}
	dir := filepath.Dir(file)
	rel := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	policy, err := LoadPolicy(rel(s.Policy))
	if err != nil {
		return err
	}
	paths := make([]string, len(s.Resources))
	for i, r := range s.Resources {
		paths[i] = rel(r)
	}
	objs, err := Read(paths, nil)
	if err != nil {
		return err
	}
	// A rule id that names no rule would always "pass": a typo must fail.
	known := map[string]bool{}
	for id := range v1alpha1.BuiltinRules {
		known[id] = true
	}
	for _, r := range policy.CustomRules {
		known[r.ID] = true
	}
	for _, c := range s.Cases {
		for _, id := range slices.Concat(c.Fire, c.Pass) {
			if !known[id] {
				return fmt.Errorf("case %s: no rule %q: not a built-in rule id (docs/rules.md) nor one of the policy's custom rules", c.Object, id)
			}
		}
	}
	// print() in the rules under test shows, as `opa test` shows it.
	rep, err := CheckPrinting(ctx, objs, policy, v, out)
	if err != nil {
		return err
	}
	for _, c := range s.Cases {
		r := findResult(rep, c.Object)
		if r == nil {
			return fmt.Errorf("case %s: no such object in the resources (name it Kind/name or Kind/namespace/name)", c.Object)
		}
		fired := map[string]bool{}
		for _, v := range r.Violations {
			fired[v.Rule] = true
		}
		check := func(id string, want bool) {
			verb := "fires"
			if !want {
				verb = "passes"
			}
			if fired[id] == want {
				res.Passed++
				fmt.Fprintf(out, "PASS %s: %s %s\n", c.Object, id, verb)
				return
			}
			res.Failed++
			var got []string
			for _, v := range r.Violations {
				got = append(got, v.Rule)
			}
			should := "fire"
			if !want {
				should = "pass"
			}
			fmt.Fprintf(out, "FAIL %s: %s should %s, but the rules that fired were %v (%s)\n", c.Object, id, should, got, file)
		}
		for _, id := range c.Fire {
			check(id, true)
		}
		for _, id := range c.Pass {
			check(id, false)
		}
	}
	return nil
}

func findResult(rep *Report, name string) *Result {
	parts := strings.Split(name, "/")
	for i := range rep.Results {
		r := &rep.Results[i]
		switch len(parts) {
		case 2:
			if r.Kind == parts[0] && r.Name == parts[1] {
				return r
			}
		case 3:
			if r.Kind == parts[0] && r.Namespace == parts[1] && r.Name == parts[2] {
				return r
			}
		}
	}
	return nil
}
