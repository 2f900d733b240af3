package check

import (
	"fmt"
	"io"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
)

// SourceCluster is the Source of a Result for an object read from a live
// cluster (`webhook audit`), where check's is a file and document.
const SourceCluster = "cluster"

// ClusterFormats are the -o values of `webhook audit`: check's, less yaml
// (which prints objects after mutation, and the audit changes nothing).
var ClusterFormats = []string{"json", "junit", "sarif", "table"}

// SetLocation says where a Result built outside Check came from, for the
// people-facing outputs: where names it in the table and SARIF (for the
// audit "Kind namespace/name"), file groups it in JUnit and SARIF.
func (r *Result) SetLocation(where, file string) {
	r.where, r.file = where, file
}

// Count adds r to s as Check does: every object, mutated when it has a
// patch, denied and warned by its violations' actions.
func (s *Summary) Count(r *Result) {
	s.Objects++
	if len(r.Patch) > 0 {
		s.Mutated++
	}
	if r.has(v1alpha1.ActionDeny) {
		s.Denied++
	}
	if r.has(v1alpha1.ActionWarn) {
		s.Warned++
	}
}

// Write prints rep in one of ClusterFormats, exactly as `webhook check`
// prints its own reports.
func Write(w io.Writer, format string, rep *Report) error {
	if format == "yaml" {
		return fmt.Errorf("output format yaml is for manifests; use one of json, junit, sarif, table")
	}
	write, err := formatter(format)
	if err != nil {
		return err
	}
	return write(w, rep)
}
