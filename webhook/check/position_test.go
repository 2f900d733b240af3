package check

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// lines lists each object's Where() and Line, "in.yaml#0 3".
func lines(objs []Object) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = fmt.Sprintf("%s %d", o.Where(), o.Line)
	}
	return out
}

func TestReadLines(t *testing.T) {
	svc := "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n"
	tests := []struct {
		name  string
		input string
		want  []string
	}{
		{name: "one object", input: svc, want: []string{"in.yaml#0 1"}},
		{
			name:  "leading comments and blank lines are not the object",
			input: "# A service.\n\n# More words.\n" + svc,
			want:  []string{"in.yaml#0 4"},
		},
		{
			name: "multi-document",
			// 1-3 svc, 4 ---, 5 comment, 6-8 svc, 9 ---, 10 blank, 11-13 svc
			input: svc + "---\n# second\n" + svc + "---\n\n" + svc,
			want:  []string{"in.yaml#0 1", "in.yaml#1 6", "in.yaml#2 11"},
		},
		{
			name:  "opening separator after a header comment",
			input: "# Copyright the authors\n---\n" + svc,
			want:  []string{"in.yaml#0 3"},
		},
		{
			name: "empty documents still take lines",
			// 1 ---, 2 ---, 3 blank, 4 ---, 5 comment, 6 ---, 7 null, 8 ---, 9 svc
			input: "---\n---\n\n---\n# nothing here\n---\nnull\n---\n" + svc,
			want:  []string{"in.yaml#4 9"},
		},
		{
			name:  "CRLF line ends, separator with a comment",
			input: strings.ReplaceAll(svc+"--- # next\n"+svc, "\n", "\r\n"),
			want:  []string{"in.yaml#0 1", "in.yaml#1 5"},
		},
		{
			name:  "last line without a newline",
			input: svc + "---\napiVersion: v1\nkind: Service",
			want:  []string{"in.yaml#0 1", "in.yaml#1 5"},
		},
		{
			name:  "flow mapping",
			input: "# flow\n{apiVersion: v1, kind: Service}\n",
			want:  []string{"in.yaml#0 2"},
		},
		{
			name:  "JSON stream, one object a line",
			input: "{\"apiVersion\": \"v1\", \"kind\": \"Service\"}\n\n{\"apiVersion\": \"v1\", \"kind\": \"Namespace\"}\n",
			want:  []string{"in.yaml#0 1", "in.yaml#1 3"},
		},
		{
			name:  "JSON stream, two on one line",
			input: `{"apiVersion": "v1", "kind": "Service"} {"apiVersion": "v1", "kind": "Namespace"}`,
			want:  []string{"in.yaml#0 1", "in.yaml#1 1"},
		},
		{
			name:  "JSON stream, indented objects",
			input: "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Service\"\n}\n{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Namespace\"\n}\n",
			want:  []string{"in.yaml#0 1", "in.yaml#1 5"},
		},
		{
			name: "List items have their own lines",
			input: svc + "---\n" + `# a list
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: a}

- apiVersion: networking.k8s.io/v1
  kind: Ingress
  metadata:
    name: b
- {apiVersion: v1, kind: Service, metadata: {name: c}}
`,
			want: []string{"in.yaml#0 1", "in.yaml#1.items[0] 9", "in.yaml#1.items[1] 13", "in.yaml#1.items[2] 17"},
		},
		{
			name:  "typed List, items indented under the key",
			input: "apiVersion: networking.k8s.io/v1\nkind: IngressList\nitems:\n  - metadata: {name: a}\n  - metadata: {name: b}\n",
			want:  []string{"in.yaml#0.items[0] 4", "in.yaml#0.items[1] 5"},
		},
		{
			name: "indented JSON List",
			input: `{
  "apiVersion": "v1",
  "kind": "List",
  "items": [
    {"apiVersion": "v1", "kind": "Service"},
    {
      "apiVersion": "v1",
      "kind": "Namespace"
    }
  ]
}`,
			want: []string{"in.yaml#0.items[0] 5", "in.yaml#0.items[1] 6"},
		},
		{
			name:  "compact JSON List in a stream",
			input: "{\"apiVersion\": \"v1\", \"kind\": \"Service\"}\n{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [{\"apiVersion\": \"v1\", \"kind\": \"Service\"}]}\n",
			want:  []string{"in.yaml#0 1", "in.yaml#1.items[0] 2"},
		},
		{
			name:  "List items by alias",
			input: "apiVersion: v1\nkind: List\nx: &items\n- apiVersion: v1\n  kind: Service\nitems: *items\n",
			want:  []string{"in.yaml#0.items[0] 4"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := readStream("in.yaml", strings.NewReader(tt.input))
			if err != nil {
				t.Fatal(err)
			}
			if got := lines(objs); !slices.Equal(got, tt.want) {
				t.Errorf("read %q, want %q", got, tt.want)
			}
			for _, o := range objs {
				if o.File != "in.yaml" {
					t.Errorf("%s: File %q", o.Where(), o.File)
				}
			}
		})
	}
}

func TestItemLinesFallBack(t *testing.T) {
	for _, text := range []string{
		"items: [",             // does not parse
		"items: [{a: 1}]",      // one item where two were read
		"- a\n- b\n",           // not a mapping
		"kind: List\nitems: 3", // not a sequence
		"",
	} {
		if got := itemLines([]byte(text), 2); got != nil {
			t.Errorf("itemLines(%q) = %v, want nil", text, got)
		}
	}
	if got := itemLines([]byte("items:\n- a\n- b\n"), 2); !slices.Equal(got, []int{2, 3}) {
		t.Errorf("itemLines = %v", got)
	}
}

func TestReadFileAndLine(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "a.yaml", "# header\napiVersion: v1\nkind: Service\nmetadata: {name: a}\n")
	objs, err := Read([]string{p, "-"}, strings.NewReader("---\napiVersion: v1\nkind: Service\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 2 {
		t.Fatalf("%d objects", len(objs))
	}
	if objs[0].File != p || objs[0].Line != 2 {
		t.Errorf("file %q line %d, want %q 2", objs[0].File, objs[0].Line, p)
	}
	if objs[1].File != "stdin" || objs[1].Line != 2 || objs[1].Source != "stdin#0" {
		t.Errorf("file %q line %d source %q, want stdin 2 stdin#0", objs[1].File, objs[1].Line, objs[1].Source)
	}
}
