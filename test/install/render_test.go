package install

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// release names a Helm release and the values it is rendered with.
type release struct {
	name, namespace string
	// values is a values.yaml document (empty: the chart's defaults).
	values string
}

var defaultRelease = release{name: "ws-defaults", namespace: "ws-defaults"}

// manifest is a rendered set of objects.
type manifest []*unstructured.Unstructured

// helmTemplate renders the chart, failing the test on error.
func helmTemplate(t *testing.T, r release) manifest {
	t.Helper()
	out, err := helmTemplateErr(t, r)
	if err != nil {
		t.Fatal(err)
	}
	m, err := parse(out)
	if err != nil {
		t.Fatalf("parsing helm template output: %v", err)
	}
	return m
}

func helmTemplateErr(t *testing.T, r release, extra ...string) ([]byte, error) {
	t.Helper()
	args := []string{"template", r.name, filepath.Join(root, "charts", "ws-defaults"), "--namespace", r.namespace}
	if r.values != "" {
		args = append(args, "--values", valuesFile(t, r.values))
	}
	args = append(args, extra...)
	return execIn(context.Background(), nil, tool(t, "helm"), args...)
}

// valuesFile writes values to a file for --values. Not under t.TempDir():
// Helm splits --values on commas, and subtest names have them.
func valuesFile(t *testing.T, values string) string {
	t.Helper()
	f, err := os.CreateTemp(work, "values-*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(values); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(f.Name()) })
	return f.Name()
}

// parse reads a multi-document YAML stream; empty documents are skipped.
func parse(b []byte) (manifest, error) {
	var m manifest
	d := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	for {
		var obj map[string]any
		if err := d.Decode(&obj); err != nil {
			if errors.Is(err, io.EOF) {
				return m, nil
			}
			return nil, err
		}
		if len(obj) == 0 {
			continue
		}
		m = append(m, &unstructured.Unstructured{Object: obj})
	}
}

// yamlStream writes objects as one multi-document YAML stream.
func (m manifest) yamlStream() []byte {
	var b bytes.Buffer
	for _, u := range m {
		out, err := yaml.Marshal(u.Object)
		if err != nil {
			panic(err)
		}
		b.WriteString("---\n")
		b.Write(out)
	}
	return b.Bytes()
}

// key identifies an object: group/kind namespace/name.
func key(u *unstructured.Unstructured) string {
	gvk := u.GroupVersionKind()
	return fmt.Sprintf("%s/%s %s/%s", gvk.Group, gvk.Kind, u.GetNamespace(), u.GetName())
}

// byKey indexes objects by key, failing on duplicates.
func (m manifest) byKey(t *testing.T) map[string]*unstructured.Unstructured {
	t.Helper()
	out := map[string]*unstructured.Unstructured{}
	for _, u := range m {
		k := key(u)
		if _, dup := out[k]; dup {
			t.Fatalf("rendered twice: %s", k)
		}
		out[k] = u
	}
	return out
}

// kinds lists each object's Kind, sorted.
func (m manifest) kinds() []string {
	var out []string
	for _, u := range m {
		out = append(out, u.GetKind())
	}
	sort.Strings(out)
	return out
}

// one returns the only object of a kind, failing when there is not exactly one.
func (m manifest) one(t *testing.T, kind string) *unstructured.Unstructured {
	t.Helper()
	var found []*unstructured.Unstructured
	for _, u := range m {
		if u.GetKind() == kind {
			found = append(found, u)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want exactly one %s, got %d (kinds: %s)", kind, len(found), strings.Join(m.kinds(), ", "))
	}
	return found[0]
}

func (m manifest) all(kind string) []*unstructured.Unstructured {
	var found []*unstructured.Unstructured
	for _, u := range m {
		if u.GetKind() == kind {
			found = append(found, u)
		}
	}
	return found
}

func (m manifest) has(kind string) bool { return len(m.all(kind)) > 0 }

// typed converts an object into a typed API struct.
func typed[T any](t *testing.T, u *unstructured.Unstructured) *T {
	t.Helper()
	out := new(T)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, out, true); err != nil {
		t.Fatalf("%s does not decode into %T: %v", key(u), out, err)
	}
	return out
}
