package check

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
)

// -o junit is for CI systems that show test reports (GitLab, Jenkins,
// Azure Pipelines, the JUnit actions of GitHub): each input file is a test
// suite, each object a test case, and each denial a failure of its case.
// Warnings and audit findings do not fail a case; they are listed in its
// system-out. The exit status is the same as with any other format.

type junitTestSuites struct {
	XMLName  xml.Name         `xml:"testsuites"`
	Name     string           `xml:"name,attr"`
	Tests    int              `xml:"tests,attr"`
	Failures int              `xml:"failures,attr"`
	Errors   int              `xml:"errors,attr"`
	Suites   []junitTestSuite `xml:"testsuite"`
}

type junitTestSuite struct {
	Name     string          `xml:"name,attr"`
	Tests    int             `xml:"tests,attr"`
	Failures int             `xml:"failures,attr"`
	Errors   int             `xml:"errors,attr"`
	Skipped  int             `xml:"skipped,attr"`
	Cases    []junitTestCase `xml:"testcase"`
}

type junitTestCase struct {
	Classname string `xml:"classname,attr"`
	Name      string `xml:"name,attr"`
	// File and Line place the object, for the reporters that annotate
	// files with failures.
	File      string         `xml:"file,attr,omitempty"`
	Line      int            `xml:"line,attr,omitempty"`
	Failures  []junitFailure `xml:"failure"`
	SystemOut *junitText     `xml:"system-out"`
}

// junitText is element text as CDATA, so that messages keep their line
// breaks and quotes as written.
type junitText struct {
	Text string `xml:",cdata"`
}

type junitFailure struct {
	Type    string `xml:"type,attr"`
	Message string `xml:"message,attr"`
	Text    string `xml:",cdata"`
}

// writeJUnit prints one testsuite per input file, in input order, and one
// testcase per object. Failure counts are of test cases (denied objects),
// not of failure elements: an object with two denials is one failed test.
func writeJUnit(w io.Writer, rep *Report) error {
	doc := junitTestSuites{Name: "ws-defaults check", Suites: []junitTestSuite{}}
	suite := map[string]int{} // file -> index in doc.Suites
	for i := range rep.Results {
		r := &rep.Results[i]
		n, ok := suite[r.file]
		if !ok {
			n = len(doc.Suites)
			suite[r.file] = n
			doc.Suites = append(doc.Suites, junitTestSuite{Name: r.file})
		}
		tc := junitTestCase{
			Classname: r.Kind,
			Name:      junitName(r),
			File:      r.file,
			Line:      r.line,
		}
		var out strings.Builder
		for _, v := range r.Violations {
			if v.Action == v1alpha1.ActionDeny {
				tc.Failures = append(tc.Failures, junitFailure{
					Type:    v.Rule,
					Message: v.Message,
					Text:    xmlSafe(violationHeading(v) + "\n" + v.Message + "\n"),
				})
				continue
			}
			fmt.Fprintf(&out, "%s %s\n  %s\n", v.Action, violationHeading(v), v.Message)
		}
		for _, warning := range r.Warnings {
			fmt.Fprintf(&out, "mutation warning: %s\n", warning)
		}
		if out.Len() > 0 {
			tc.SystemOut = &junitText{Text: xmlSafe(out.String())}
		}

		s := &doc.Suites[n]
		s.Cases = append(s.Cases, tc)
		s.Tests++
		doc.Tests++
		if len(tc.Failures) > 0 {
			s.Failures++
			doc.Failures++
		}
	}

	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// junitName names an object's test case: namespace/name and where it was
// read, "chat/ws (deploy/app.yaml#2)".
func junitName(r *Result) string {
	name := r.namespacedName()
	if name == "" {
		name = "(unnamed)"
	}
	return name + " (" + r.where + ")"
}

// xmlSafe replaces the characters XML 1.0 cannot hold, which CDATA does not
// escape, with U+FFFD. ("]]>" is split by encoding/xml itself.)
func xmlSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r',
			r >= 0x20 && r <= 0xD7FF,
			r >= 0xE000 && r <= 0xFFFD,
			r >= 0x10000 && r <= 0x10FFFF:
			return r
		}
		return '\uFFFD'
	}, s)
}

// violationHeading is "rule (severity) at field".
func violationHeading(v Violation) string {
	s := v.Rule
	if v.Severity != "" {
		s += " (" + v.Severity + ")"
	}
	if v.Field != "" {
		s += " at " + v.Field
	}
	return s
}
