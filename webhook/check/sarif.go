package check

import (
	"encoding/json"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
	"github.com/ws-defaults/ws-defaults/webhook/version"
)

// -o sarif is SARIF 2.1.0, the format of code scanning (GitHub, GitLab,
// Azure DevOps): one run of the tool "ws-defaults", one result per
// violation, placed at the line where its object starts.

// sarifToolName is the run's tool.driver.name; tool.driver.version is
// the binary's (webhook/version).
const sarifToolName = "ws-defaults"

// sarifRulesURI is the built-in rules' helpUri: the rule reference.
const sarifRulesURI = "https://github.com/ws-defaults/ws-defaults/blob/main/docs/rules.md"

// sarifLevels maps a violation's action to a SARIF level.
var sarifLevels = map[v1alpha1.RuleAction]string{
	v1alpha1.ActionDeny:  sarif.LevelError,
	v1alpha1.ActionWarn:  sarif.LevelWarning,
	v1alpha1.ActionAudit: sarif.LevelNote,
	v1alpha1.ActionOff:   sarif.LevelNone,
}

func sarifLevel(action v1alpha1.RuleAction) string {
	if l, ok := sarifLevels[action]; ok {
		return l
	}
	return sarif.LevelWarning
}

// writeSARIF prints the violations as one SARIF run. tool.driver.rules
// lists the rules that fired, by id, each with the catalog's default level,
// severity, description and fix (custom rules: their id); a result's own
// level is its action under the policy in use, which may differ from the
// default.
func writeSARIF(w io.Writer, rep *Report) error {
	run := sarif.NewRun()
	run.Tool = sarif.NewTool().WithDriver(sarif.NewToolComponent().
		WithName(sarifToolName).
		WithVersion(version.Get().Version).
		WithInformationURI("https://github.com/ws-defaults/ws-defaults"))

	// Rules first, so that results get their ruleIndex.
	first := map[string]Violation{}
	for _, r := range rep.Results {
		for _, v := range r.Violations {
			if _, seen := first[v.Rule]; !seen {
				first[v.Rule] = v
			}
		}
	}
	ids := make([]string, 0, len(first))
	for id := range first {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		v := first[id]
		level, severity := sarifLevel(v.Action), v.Severity
		props := sarif.NewPropertyBag()
		rule := run.AddRule(id).WithDescription(id)
		if def, known := v1alpha1.BuiltinRules[id]; known {
			level, severity = sarifLevel(def.Action), def.Severity
			props.Add("scope", string(def.Scope))
			if d, ok := v1alpha1.RuleDescriptions[id]; ok {
				rule.WithDescription(d.Summary).
					WithHelp(sarif.NewMultiformatMessageString().WithText(d.Fix)).
					WithHelpURI(sarifRulesURI)
			}
		}
		props.Add("severity", severity)
		rule.WithDefaultConfiguration(sarif.NewReportingConfiguration().WithLevel(level)).
			WithProperties(props)
	}

	wd, _ := os.Getwd()
	for i := range rep.Results {
		r := &rep.Results[i]
		uri := artifactURI(r.file, wd)
		object := r.Kind + "/" + r.namespacedName()
		for _, v := range r.Violations {
			// Messages name their field as people know it; the path is
			// added when they do not quote it.
			text := v.Message
			if v.Field != "" && !strings.Contains(v.Message, v.Field) {
				text = v.Field + ": " + v.Message
			}
			physical := sarif.NewPhysicalLocation().WithArtifactLocation(sarif.NewSimpleArtifactLocation(uri))
			if r.line > 0 {
				physical.WithRegion(sarif.NewRegion().WithStartLine(r.line))
			}
			logical := sarif.NewLogicalLocation().WithKind("object").WithName(r.Name).WithFullyQualifiedName(object)
			if v.Field != "" {
				// ":" is in no object name, so the field is told apart.
				logical.WithKind("property").WithName(v.Field).WithFullyQualifiedName(object + ":" + v.Field)
			}
			props := sarif.NewPropertyBag().
				Add("action", v.Action).
				Add("severity", v.Severity).
				Add("source", r.where)
			run.CreateResultForRule(v.Rule).
				WithLevel(sarifLevel(v.Action)).
				WithMessage(sarif.NewTextMessage(text)).
				AddLocation(sarif.NewLocationWithPhysicalLocation(physical).AddLogicalLocation(logical)).
				WithProperties(props)
		}
	}

	log := sarif.NewReport()
	log.AddRun(run)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	// Messages quote annotations and snippets; <, > and & stay readable.
	enc.SetEscapeHTML(false)
	return enc.Encode(log)
}

// artifactURI is the SARIF artifactLocation.uri of file: a relative URI
// reference with forward slashes, relative to wd (code scanning resolves it
// against the checkout), "stdin" for standard input, and a file: URI for an
// absolute path outside wd.
func artifactURI(file, wd string) string {
	if file == stdinName {
		return stdinName
	}
	p := filepath.Clean(file)
	if filepath.IsAbs(p) && wd != "" {
		if rel, err := filepath.Rel(wd, p); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			p = rel
		}
	}
	p = filepath.ToSlash(p)
	if filepath.IsAbs(file) && filepath.IsAbs(filepath.FromSlash(p)) {
		if !strings.HasPrefix(p, "/") { // C:/x on Windows
			p = "/" + p
		}
		return (&url.URL{Scheme: "file", Path: p}).String()
	}
	// String escapes what a URI cannot hold (spaces, "#", "%") and keeps
	// a "c:" in the first segment from reading as a scheme.
	return (&url.URL{Path: p}).String()
}
