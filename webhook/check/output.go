package check

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"
	"unicode/utf8"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
)

// DefaultFormat is the output format when none is given.
const DefaultFormat = "table"

type writeFunc func(io.Writer, *Report) error

// formats maps each -o value to its writer; a new format is one entry
// (and, when it can be written one result at a time, a case in
// newResultWriter).
var formats = map[string]writeFunc{
	"table": writeTable,
	"json":  writeEach("json"),
	"jsonl": writeEach("jsonl"),
	"yaml":  writeEach("yaml"),
	"junit": writeJUnit,
	"sarif": writeSARIF,
}

// Formats lists the supported -o values.
func Formats() []string {
	names := make([]string, 0, len(formats))
	for n := range formats {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func formatter(name string) (writeFunc, error) {
	if name == "" {
		name = DefaultFormat
	}
	if w, ok := formats[name]; ok {
		return w, nil
	}
	return nil, fmt.Errorf("unknown output format %q; use one of %s", name, strings.Join(Formats(), ", "))
}

// writeEach prints a whole report with the writer that prints format one
// result at a time, so that both ways print the same bytes. -o json is
// the Report as indented JSON (the interfaces.md contract); -o jsonl one
// result per line and a summary line; -o yaml every object after mutation,
// in input order, one document each (List items too): keys come out
// sorted and comments are lost, as the API server would store the object,
// not an edit of the file.
func writeEach(format string) writeFunc {
	return func(w io.Writer, rep *Report) error {
		var rw resultWriter = &yamlWriter{w: w}
		if format != "yaml" {
			s, err := NewStream(w, format)
			if err != nil {
				return err
			}
			rw = streamWriter{s}
		}
		for i := range rep.Results {
			if err := rw.Write(&rep.Results[i]); err != nil {
				return err
			}
		}
		return rw.Close(rep.Summary)
	}
}

func writeTable(w io.Writer, rep *Report) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tKIND\tNAMESPACE/NAME\tOPTED-IN\tCONTROLLER\tADDED\tVIOLATIONS")
	for _, r := range rep.Results {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			printable(r.where), printable(r.Kind), printable(r.namespacedName()), r.optedIn(), printable(dash(r.Controller)), count(len(r.Added)), r.violationCounts())
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	first := true
	for _, r := range rep.Results {
		if len(r.Violations) == 0 {
			continue
		}
		if first {
			fmt.Fprintln(w, "\nViolations:")
			first = false
		}
		fmt.Fprintf(w, "  %s (%s %s)\n", printable(r.where), printable(r.Kind), printable(r.namespacedName()))
		for _, v := range r.Violations {
			fmt.Fprintf(w, "    %s  %s  %s\n      %s\n", v.Action, printable(v.Rule), printable(v.Field), printable(v.Message))
		}
	}

	s := rep.Summary
	_, err := fmt.Fprintf(w, "\n%d %s: %d mutated, %d denied, %d warned\n",
		s.Objects, plural(s.Objects, "object", "objects"), s.Mutated, s.Denied, s.Warned)
	return err
}

func (r *Result) namespacedName() string {
	if r.Namespace == "" {
		return r.Name
	}
	return r.Namespace + "/" + r.Name
}

func (r *Result) optedIn() string {
	switch {
	case r.Excluded:
		return "excluded"
	case r.NotHandled:
		return "not handled"
	case r.OptedIn:
		return "yes"
	default:
		return "no"
	}
}

// violationCounts is e.g. "1 deny, 2 warn", in the order actions first appear.
func (r *Result) violationCounts() string {
	if len(r.Violations) == 0 {
		return "-"
	}
	var order []v1alpha1.RuleAction
	n := map[v1alpha1.RuleAction]int{}
	for _, v := range r.Violations {
		if n[v.Action] == 0 {
			order = append(order, v.Action)
		}
		n[v.Action]++
	}
	parts := make([]string, len(order))
	for i, a := range order {
		parts[i] = strconv.Itoa(n[a]) + " " + string(a)
	}
	return strings.Join(parts, ", ")
}

// printable escapes what a terminal would act on instead of showing: control
// characters (escape sequences, newlines, tabs that would shift columns),
// bidirectional overrides and bytes that are not UTF-8. Names, file names
// and messages come from the input, which is not to be trusted with the
// reader's terminal.
func printable(s string) string {
	clean := true
	for _, r := range s {
		if unsafeRune(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i, w := 0, 0; i < len(s); i += w {
		r, size := utf8.DecodeRuneInString(s[i:])
		w = size
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unsafeRune(r):
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func unsafeRune(r rune) bool {
	return r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || unicode.In(r, unicode.Zl, unicode.Zp)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func count(n int) string {
	if n == 0 {
		return "-"
	}
	return strconv.Itoa(n)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
