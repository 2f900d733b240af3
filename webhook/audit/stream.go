package audit

import (
	"context"
	"io"

	"github.com/ws-defaults/ws-defaults/webhook/check"
)

// StreamFormats are the `webhook audit` output formats written as the pass
// goes, one object at a time, so memory does not grow with the cluster
// (check.StreamFormats: json, byte for byte as check.Write prints the same
// results, and jsonl). The other formats (table, junit, sarif) lay out the
// whole report at once, so Collect holds every result for them.
var StreamFormats = check.StreamFormats

// Stream is a Sink that writes each result as it comes (check.Stream); use
// it with Auditor.Ordered for output in list order. Close ends the
// document.
type Stream struct {
	*check.Stream
}

// NewStream writes to w in format (one of StreamFormats).
func NewStream(w io.Writer, format string) (*Stream, error) {
	s, err := check.NewStream(w, format)
	if err != nil {
		return nil, err
	}
	return &Stream{s}, nil
}

// Sink writes o's result.
func (s *Stream) Sink(_ context.Context, o *Object) error { return s.Write(&o.Result) }
