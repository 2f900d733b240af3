package check

// The old `webhook check`, as it was before it streamed: every document of
// every file read into memory, then every object judged, then the report
// written. Kept only here, as the reference the streaming Run is held to
// (differential_test.go).

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
	"github.com/ws-defaults/ws-defaults/webhook/cluster"
	"github.com/ws-defaults/ws-defaults/webhook/evidence"
	"github.com/ws-defaults/ws-defaults/webhook/explain"
	"github.com/ws-defaults/ws-defaults/webhook/ingressclass"
	"github.com/ws-defaults/ws-defaults/webhook/kinds"
	"github.com/ws-defaults/ws-defaults/webhook/pipeline"
	"github.com/ws-defaults/ws-defaults/webhook/policy"
	"github.com/ws-defaults/ws-defaults/webhook/scope"
)

func oldReadWith(paths []string, stdin io.Reader, o ReadOptions) ([]Object, error) {
	var out []Object
	usedStdin := false
	for _, p := range paths {
		if p == "-" {
			// A second "-" would silently read nothing.
			if usedStdin {
				return nil, errors.New(`"-" (stdin) given more than once`)
			}
			usedStdin = true
			objs, err := oldReadStream(stdinName, stdin, o)
			if err != nil {
				return nil, err
			}
			out = append(out, objs...)
			continue
		}
		files, err := expand(p)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			objs, err := oldReadFile(f, o)
			if err != nil {
				return nil, err
			}
			out = append(out, objs...)
		}
	}
	return out, nil
}

func oldReadFile(path string, o ReadOptions) ([]Object, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return oldReadStream(path, f, o)
}

func oldReadStream(name string, r io.Reader, o ReadOptions) (objs []Object, err error) {
	dr := &oldDocumentReader{Options: o}
	doc := 0
	// The decoders are a library seeing arbitrary bytes: a panic in them
	// must become an input error, not a crash of the CI job.
	defer func() {
		if p := recover(); p != nil {
			objs, err = nil, fmt.Errorf("%s#%d: cannot decode: %v", name, doc, p)
		}
	}()
	br := bufio.NewReader(r)
	var chunk bytes.Buffer
	first := true
	// lineNo counts the lines read; start is the line the chunk begins on.
	lineNo, start := 0, 1
	for {
		line, rerr := br.ReadBytes('\n')
		if len(line) > 0 {
			lineNo++
		}
		if rerr != nil && rerr != io.EOF { //nolint:errorlint // bufio returns io.EOF itself
			return nil, fmt.Errorf("%s#%d: %w", name, doc, rerr)
		}
		if isSeparator(line) {
			// A "---" opening the file (after comments) starts document 0;
			// any other ends the document before it.
			if !first || hasContent(chunk.Bytes()) {
				n, err := dr.Decode(name, doc, chunk.Bytes(), start, &objs)
				if err != nil {
					return nil, err
				}
				doc += max(n, 1)
			}
			first = false
			chunk.Reset()
			start = lineNo + 1
			if err := separatorError(line); err != nil {
				return nil, fmt.Errorf("%s#%d: %w", name, doc, err)
			}
		} else {
			chunk.Write(line)
		}
		if rerr == io.EOF { //nolint:errorlint // bufio returns io.EOF itself
			break
		}
	}
	if _, err := dr.Decode(name, doc, chunk.Bytes(), start, &objs); err != nil {
		return nil, err
	}
	return objs, nil
}

// oldDocumentReader decodes the documents of a file one at a time; readers
// of whole files and streams call it per document.
type oldDocumentReader struct {
	Options ReadOptions
}

// Decode decodes document doc of file name, whose text begins on line
// start, and appends its objects to objs. It returns how many values the
// document held: more than one only for a stream of JSON objects, each of
// which is numbered as a document. A mapping key given twice is an error
// naming the line, as the API server's strict decoding (what kubectl's
// default --validate=strict asks for) reports it: the later value would
// silently replace the earlier one, as when a "---" is missing between two
// objects.
func (d *oldDocumentReader) Decode(name string, doc int, text []byte, start int, objs *[]Object) (int, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(text), 4096)
	n := 0
	cursor := 0 // where the text of the next value may begin
	for ; ; n++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			if err == io.EOF { //nolint:errorlint // the decoder returns io.EOF itself
				return n, nil
			}
			return n, fmt.Errorf("%s#%d: %w", name, doc+n, err)
		}
		at, end := locate(text, cursor, raw)
		cursor = end
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
			continue
		}
		pos := position{file: name, line: start + bytes.Count(text[:at], []byte("\n")), text: text[at:end]}
		source := name + "#" + strconv.Itoa(doc+n)
		if err := duplicateKeys(pos.text, raw); err != nil {
			return n, fmt.Errorf("%s: %w", source, err.at(pos.line))
		}
		docObjs, err := fromDocument(source, raw, pos)
		var notObject *notObjectError
		if errors.As(err, &notObject) && !d.Options.Strict {
			if d.Options.Skipped != nil {
				d.Options.Skipped(Notice{Source: source, Line: pos.line, Message: notObject.reason + " (--strict makes this an error)"})
			}
			continue
		}
		if err != nil {
			return n, err
		}
		*objs = append(*objs, docObjs...)
	}
}

func oldRun(ctx context.Context, o Options) (Summary, error) {
	write, err := oldFormatter(o.Output)
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
	skipped := 0
	objs, err := oldReadWith(o.Files, o.Stdin, ReadOptions{Strict: o.Strict, Skipped: func(n Notice) {
		skipped++
		if o.Stderr != nil {
			fmt.Fprintf(o.Stderr, "%s\n", n)
		}
	}})
	if err != nil {
		return Summary{}, err
	}
	if len(objs) == 0 && skipped > 0 {
		// Nothing checked is no pass.
		return Summary{}, fmt.Errorf("no Kubernetes objects in the input (%d %s skipped)", skipped, plural(skipped, "document", "documents"))
	}
	rep, err := oldCheck(ctx, objs, policy, o.Validator)
	if err != nil {
		return Summary{}, err
	}
	if o.Stderr != nil {
		for _, r := range rep.Results {
			for _, w := range r.Warnings {
				fmt.Fprintf(o.Stderr, "%s: warning: %s\n", r.where, w)
			}
		}
	}
	if err := write(o.Stdout, rep); err != nil {
		return Summary{}, fmt.Errorf("writing the report: %w", err)
	}
	if o.Stderr != nil && o.Output != "" && o.Output != DefaultFormat {
		// The table lists the violations itself; the other formats go to
		// files and tools, so a CI log would otherwise not say which rule
		// failed the job.
		oldWriteViolationLines(o.Stderr, rep)
	}
	return rep.Summary, nil
}

// writeViolationLines prints one line per deny and warn violation.
func oldWriteViolationLines(w io.Writer, rep *Report) {
	for _, r := range rep.Results {
		for _, v := range r.Violations {
			if v.Action == v1alpha1.ActionDeny || v.Action == v1alpha1.ActionWarn {
				fmt.Fprintf(w, "%s: %s %s %s: %s (%s): %s\n", printable(r.where), v.Action, printable(r.Kind), printable(r.namespacedName()),
					printable(v.Rule), printable(v.Field), printable(v.Message))
			}
		}
	}
}

func oldCheck(ctx context.Context, objs []Object, spec v1alpha1.WebSocketPolicySpec, v Validator) (*Report, error) {
	gen, err := policy.CompilePrinting(spec, 0, "--policy", nil)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	namespaces := map[string]Object{}
	snap := &cluster.Snapshot{
		Namespaces: map[string]metav1.ObjectMeta{},
		// Not in the input: presumably meant for ws-defaults.
		Unlisted: &metav1.ObjectMeta{Labels: map[string]string{v1alpha1.OptInLabel: v1alpha1.OptInEnabled}},
	}
	for _, o := range objs {
		switch gk := o.groupKind(); gk {
		case "Namespace.":
			namespaces[o.Name()] = o
			snap.Namespaces[o.Name()] = metav1.ObjectMeta{Name: o.Name(), Labels: o.Labels(), Annotations: o.Annotations()}
		case "IngressClass.networking.k8s.io":
			ctrl, _ := nestedString(o.Object, "spec", "controller")
			snap.Classes = append(snap.Classes, ingressclass.Class{
				Name:       o.Name(),
				Controller: ctrl,
				Default:    o.Annotations()[ingressclass.DefaultClassAnnotation] == "true",
			})
		}
	}
	// Cross-object evidence comes from the other objects in the input, as
	// read (never from what the mutation adds): a Service port that a
	// WebSocket route in another file sends traffic to is a WebSocket port.
	routes := evidence.NewSet(evidence.Options{NginxPrefix: gen.Spec.NginxAnnotationPrefix})
	for _, o := range objs {
		routes.Add(o.Object, o.Namespace())
	}
	pipe := &pipeline.Pipeline{Policies: policy.NewStore(gen), Cluster: snap, Routes: routes}

	rep := &Report{Results: make([]Result, len(objs))}
	inputs := make([]Input, len(objs))
	after := make([]map[string]any, len(objs))
	for i, o := range objs {
		obj, err := pipeline.Decode("CREATE", o.Namespace(), o.Raw, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.Where(), err)
		}
		c, err := pipe.Prepare(ctx, obj)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.Where(), err)
		}
		if o.groupKind() == "Namespace." && !c.Excluded {
			// The webhook's namespaceSelector matches a Namespace object
			// against its own labels.
			c.SetMembership(scope.Of(o.Labels(), o.Labels()))
		}
		in := Input{Context: c, Object: o}
		if ns, ok := namespaces[o.Namespace()]; ok {
			in.NamespaceObject = ns.Object
		}
		ops, res, err := pipe.Mutate(c, obj)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.Where(), err)
		}
		mutated := o.Raw
		if len(ops) > 0 {
			if mutated, err = applyPatch(o.Raw, ops); err != nil {
				return nil, fmt.Errorf("%s: %w", o.Where(), err)
			}
		}
		if after[i], err = decodeMap(mutated); err != nil {
			return nil, fmt.Errorf("%s: %w", o.Where(), err)
		}
		in.Added = res.Added
		inputs[i] = in
		warnings := res.Warnings
		if p := scope.LabelProblem(o.Labels()); p != "" {
			warnings = append(warnings, p)
		}
		notHandled := !kinds.Handles(o.APIVersion(), o.Kind()) && o.groupKind() != "Namespace."

		r := Result{
			Source:     o.Source,
			APIVersion: o.APIVersion(),
			Kind:       o.Kind(),
			Namespace:  o.Namespace(),
			Name:       o.Name(),
			OptedIn:    c.OptedIn && !c.Excluded && !notHandled,
			Excluded:   c.Excluded,
			NotHandled: notHandled,
			Controller: c.Controller,
			Patch:      ops,
			Added:      res.Added,
			Violations: []Violation{},
			Warnings:   warnings,
			Evidence:   c.Evidence.Strings(),
			where:      o.Where(),
			file:       o.File,
			line:       o.Line,
			raw:        o.Raw,
		}
		if o.Item >= 0 {
			item := o.Item
			r.Item = &item
		}
		rep.Results[i] = r
	}

	// The path of each WebSocket route, across objects (the load balancer
	// in front is another object).
	paths := explain.Input{
		Provider:             gen.Spec.Edge.Provider,
		NginxPrefix:          strings.TrimSuffix(gen.Spec.NginxAnnotationPrefix, "/") + "/",
		NamespaceLabels:      map[string]map[string]string{},
		NamespaceAnnotations: map[string]map[string]string{},
	}
	for name, ns := range namespaces {
		paths.NamespaceLabels[name], paths.NamespaceAnnotations[name] = ns.Labels(), ns.Annotations()
	}
	for i, r := range rep.Results {
		paths.Objects = append(paths.Objects, explain.Object{Object: after[i], Evidence: r.Evidence, Controller: r.Controller})
	}
	for _, route := range explain.Paths(paths) {
		rep.Results[route.Index].Path = append(rep.Results[route.Index].Path, route)
	}

	// Validation comes second so that cross-object rules see every object
	// after mutation.
	for i := range rep.Results {
		r := &rep.Results[i]
		if v != nil {
			vs, err := v.Validate(ctx, after[i], inputs[i])
			if err != nil {
				return nil, fmt.Errorf("%s: validating: %w", r.where, err)
			}
			if vs != nil {
				r.Violations = vs
			}
		}
		rep.Summary.Objects++
		if len(r.Patch) > 0 {
			rep.Summary.Mutated++
		}
		if r.has(v1alpha1.ActionDeny) {
			rep.Summary.Denied++
		}
		if r.has(v1alpha1.ActionWarn) {
			rep.Summary.Warned++
		}
	}
	return rep, nil
}

// oldFormatter is the writers as they were: json and yaml printed the
// whole Report at once.
func oldFormatter(name string) (writeFunc, error) {
	switch name {
	case "json":
		return oldWriteJSON, nil
	case "yaml":
		return oldWriteYAML, nil
	}
	return formatter(name)
}

func oldWriteJSON(w io.Writer, rep *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(rep)
}

func oldWriteYAML(w io.Writer, rep *Report) error {
	for i, r := range rep.Results {
		after, err := r.afterJSON()
		if err != nil {
			return fmt.Errorf("%s: %w", r.where, err)
		}
		y, err := yaml.JSONToYAML(after)
		if err != nil {
			return fmt.Errorf("%s: %w", r.where, err)
		}
		if i > 0 {
			if _, err := io.WriteString(w, "---\n"); err != nil {
				return err
			}
		}
		if _, err := w.Write(y); err != nil {
			return err
		}
	}
	return nil
}
