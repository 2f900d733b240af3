package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"github.com/ws-defaults/ws-defaults/webhook/check"
)

// StreamFormats are the `webhook audit` output formats written as the pass
// goes, one object at a time, so memory does not grow with the cluster:
// json (check's report, byte for byte as check.Write prints it for the
// same results) and jsonl (JSON Lines: one result per line, then one line
// {"summary": …}). The other formats (table, junit, sarif) lay out the
// whole report at once, so Collect holds every result for them.
var StreamFormats = []string{"json", "jsonl"}

// Stream is a Sink that writes each result as it comes, in one of
// StreamFormats; use it with Auditor.Ordered for output in list order.
// Close ends the document.
type Stream struct {
	w      io.Writer
	format string

	mu      sync.Mutex
	n       int
	summary check.Summary
	buf     bytes.Buffer
}

// NewStream writes to w in format (one of StreamFormats).
func NewStream(w io.Writer, format string) (*Stream, error) {
	if format != "json" && format != "jsonl" {
		return nil, fmt.Errorf("output format %q does not stream; use json or jsonl", format)
	}
	return &Stream{w: w, format: format}, nil
}

// Sink writes o's result.
func (s *Stream) Sink(_ context.Context, o *Object) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.summary.Count(&o.Result)
	s.buf.Reset()
	enc := json.NewEncoder(&s.buf)
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
	if err := enc.Encode(o.Result); err != nil {
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
func (s *Stream) Summary() check.Summary {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.summary
}

// Close writes the summary and ends the document.
func (s *Stream) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sum, err := json.MarshalIndent(s.summary, "  ", "  ")
	if err != nil {
		return err
	}
	if s.format == "jsonl" {
		sum, _ = json.Marshal(struct {
			Summary check.Summary `json:"summary"`
		}{s.summary})
		_, err = fmt.Fprintf(s.w, "%s\n", sum)
		return err
	}
	head := "\n  ],\n"
	if s.n == 0 {
		head = "{\n  \"results\": [],\n"
	}
	_, err = fmt.Fprintf(s.w, "%s  \"summary\": %s\n}\n", head, sum)
	return err
}
