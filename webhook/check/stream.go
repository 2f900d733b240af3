package check

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"sigs.k8s.io/yaml"
)

// StreamFormats are the output formats written one result at a time, as
// the results come, so that memory does not grow with the input (`webhook
// check`) or the cluster (`webhook audit`): json (the Report, byte for
// byte as a whole Report is printed) and jsonl (JSON Lines: one result per
// line, then one line {"summary": …}). `webhook check` also writes yaml as
// it goes; table, junit and sarif lay out the whole report at once.
var StreamFormats = []string{"json", "jsonl"}

// Stream writes results as they come in one of StreamFormats. It is safe
// for concurrent use; Close ends the document.
type Stream struct {
	w      io.Writer
	format string

	mu      sync.Mutex
	n       int
	summary Summary
	buf     bytes.Buffer
}

// NewStream writes to w in format (one of StreamFormats).
func NewStream(w io.Writer, format string) (*Stream, error) {
	if format != "json" && format != "jsonl" {
		return nil, fmt.Errorf("output format %q does not stream; use json or jsonl", format)
	}
	return &Stream{w: w, format: format}, nil
}

// Write writes r and counts it in the summary.
func (s *Stream) Write(r *Result) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.summary.Count(r)
	s.buf.Reset()
	enc := json.NewEncoder(&s.buf)
	// Messages quote annotations and snippets; <, > and & stay readable.
	enc.SetEscapeHTML(false)
	if s.format == "json" {
		if s.n == 0 {
			s.buf.WriteString("{\n  \"results\": [\n")
		} else {
			s.buf.WriteString(",\n")
		}
		s.buf.WriteString("    ")
		enc.SetIndent("    ", "  ")
	}
	if err := enc.Encode(r); err != nil {
		return err
	}
	if s.format == "json" {
		s.buf.Truncate(s.buf.Len() - 1) // the encoder's newline
	}
	s.n++
	_, err := s.w.Write(s.buf.Bytes())
	return err
}

// Summary counts what was written.
func (s *Stream) Summary() Summary {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.summary
}

// Close writes the summary and ends the document.
func (s *Stream) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.format == "jsonl" {
		sum, err := json.Marshal(struct {
			Summary Summary `json:"summary"`
		}{s.summary})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(s.w, "%s\n", sum)
		return err
	}
	sum, err := json.MarshalIndent(s.summary, "  ", "  ")
	if err != nil {
		return err
	}
	head := "\n  ],\n"
	if s.n == 0 {
		head = "{\n  \"results\": [],\n"
	}
	_, err = fmt.Fprintf(s.w, "%s  \"summary\": %s\n}\n", head, sum)
	return err
}

// resultWriter writes a report one result at a time: Write for each
// result in order, then Close with the summary. A writer of a format that
// lays out the whole report keeps the results (compactly) until Close.
type resultWriter interface {
	Write(r *Result) error
	Close(s Summary) error
}

// newResultWriter is the resultWriter of format ("" is the default).
func newResultWriter(w io.Writer, format string) (resultWriter, error) {
	if format == "" {
		format = DefaultFormat
	}
	switch format {
	case "json", "jsonl":
		s, err := NewStream(w, format)
		return streamWriter{s}, err
	case "yaml":
		return &yamlWriter{w: w}, nil
	}
	write, err := formatter(format)
	if err != nil {
		return nil, err
	}
	return &heldWriter{w: w, write: write}, nil
}

type streamWriter struct{ *Stream }

func (s streamWriter) Close(Summary) error { return s.Stream.Close() }

// yamlWriter prints each object after mutation as it comes (writeYAML).
type yamlWriter struct {
	w io.Writer
	n int
}

func (y *yamlWriter) Write(r *Result) error {
	after, err := r.afterJSON()
	if err != nil {
		return fmt.Errorf("%s: %w", r.where, err)
	}
	out, err := yaml.JSONToYAML(after)
	if err != nil {
		return fmt.Errorf("%s: %w", r.where, err)
	}
	if y.n > 0 {
		if _, err := io.WriteString(y.w, "---\n"); err != nil {
			return err
		}
	}
	y.n++
	_, err = y.w.Write(out)
	return err
}

func (y *yamlWriter) Close(Summary) error { return nil }

// heldWriter keeps the results for a format that lays out the whole report
// (table, junit, sarif), without what those formats do not print: the
// patch, the evidence, the path and the object after mutation.
type heldWriter struct {
	w       io.Writer
	write   writeFunc
	results []Result
}

func (h *heldWriter) Write(r *Result) error {
	c := *r
	c.Patch, c.Evidence, c.Path, c.raw = nil, nil, nil, nil
	h.results = append(h.results, c)
	return nil
}

func (h *heldWriter) Close(s Summary) error {
	results := h.results
	if results == nil {
		results = []Result{}
	}
	return h.write(h.w, &Report{Results: results, Summary: s})
}
