package install

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// config/webhook is generated from the chart, so there is one source: the
// objects both overlays share go to base/, the rest (whole objects, not
// patches) to the overlay that renders them. kustomize build of an overlay
// yields exactly `helm template` of the chart in that mode (release and
// namespace ws-defaults, default values, CRDs included), minus Helm's own
// labels, plus the Namespace.
const generatedHeader = "# Generated from charts/ws-defaults by hack/render-kustomize.sh. DO NOT EDIT.\n"

// overlays maps each overlay to the values it renders the chart with.
var overlays = map[string]string{
	"cert-manager": "",
	"self-managed": "certManager: {enabled: false}\n",
}

// helmOnlyLabels describe Helm, not the objects; kustomize output omits them.
var helmOnlyLabels = []string{"helm.sh/chart", "app.kubernetes.io/managed-by"}

// namespaceObject is the Namespace the kustomize base creates (Helm users
// pass --create-namespace or create it themselves). The webhook's pods meet
// the restricted Pod Security Standard, so the namespace enforces it.
func namespaceObject() *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1",
		"kind":       "Namespace",
		"metadata": map[string]any{
			"name": defaultRelease.namespace,
			"labels": map[string]any{
				"app.kubernetes.io/part-of":          "ws-defaults",
				"pod-security.kubernetes.io/enforce": "restricted",
			},
		},
	}}
}

// chartForKustomize renders one overlay's mode as kustomize should build it.
func chartForKustomize(t *testing.T, overlay string) manifest {
	t.Helper()
	r := defaultRelease
	r.values = overlays[overlay]
	// Helm installs crds/ but leaves it out of `helm template` unless asked;
	// kustomize has no such step, so the CRDs are resources of the base.
	out, err := helmTemplateErr(t, r, "--include-crds")
	if err != nil {
		t.Fatal(err)
	}
	m, err := parse(out)
	if err != nil {
		t.Fatalf("parsing helm template output: %v", err)
	}
	for _, u := range m {
		l := u.GetLabels()
		for _, k := range helmOnlyLabels {
			delete(l, k)
		}
		u.SetLabels(l)
	}
	return append(manifest{namespaceObject()}, m...)
}

// generate returns config/webhook's generated files by path relative to it.
func generate(t *testing.T) map[string][]byte {
	t.Helper()
	rendered := map[string]map[string]*unstructured.Unstructured{}
	for o := range overlays {
		rendered[o] = chartForKustomize(t, o).byKey(t)
	}
	var names []string
	for o := range overlays {
		names = append(names, o)
	}
	sort.Strings(names)

	files := map[string][]byte{}
	used := map[string]string{} // file -> key, to catch two objects in one file
	add := func(dir string, u *unstructured.Unstructured) string {
		name := strings.ToLower(u.GetKind()) + "-" + u.GetName() + ".yaml"
		path := dir + "/" + name
		if prev, dup := used[path]; dup && prev != key(u) {
			t.Fatalf("%s and %s would share %s", prev, key(u), path)
		}
		used[path] = key(u)
		b, err := yaml.Marshal(u.Object)
		if err != nil {
			t.Fatal(err)
		}
		files[path] = append([]byte(generatedHeader), b...)
		return name
	}
	// Shared: the same object, identical, in every overlay.
	first := rendered[names[0]]
	shared := map[string]bool{}
	var base []string
	for k, u := range first {
		shared[k] = true
		for _, o := range names[1:] {
			if other, ok := rendered[o][k]; !ok || !sameObject(u, other) {
				shared[k] = false
			}
		}
		if shared[k] {
			base = append(base, add("base", u))
		}
	}
	files["base/kustomization.yaml"] = kustomization("Objects every overlay shares; not deployable alone (no serving certificate). Build an overlay.", nil, base)
	for _, o := range names {
		var own []string
		for k, u := range rendered[o] {
			if !shared[k] {
				own = append(own, add("overlays/"+o, u))
			}
		}
		files["overlays/"+o+"/kustomization.yaml"] = kustomization(overlayDoc[o], []string{"../../base"}, own)
	}
	return files
}

var overlayDoc = map[string]string{
	"cert-manager": "Serving certificate from cert-manager (self-signed root -> CA -> serving Certificate); cainjector writes the CA into the webhook configurations.",
	"self-managed": "The webhook creates and rotates its own certificate in the empty Secret and writes the CA into its webhook configurations (RBAC limited to those objects by name).",
}

func kustomization(doc string, bases, files []string) []byte {
	sort.Strings(files)
	var b bytes.Buffer
	b.WriteString(generatedHeader)
	b.WriteString("# " + doc + "\n")
	b.WriteString("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n")
	for _, r := range append(bases, files...) {
		b.WriteString("- " + r + "\n")
	}
	return b.Bytes()
}

func sameObject(a, b *unstructured.Unstructured) bool {
	return canonical(a) == canonical(b)
}

func canonical(u *unstructured.Unstructured) string {
	b, err := json.Marshal(u.Object)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// committed reads config/webhook's generated trees (base/ and overlays/).
func committed(t *testing.T) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	dir := filepath.Join(root, "config", "webhook")
	for _, sub := range []string{"base", "overlays"} {
		err := filepath.WalkDir(filepath.Join(dir, sub), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(dir, path)
			files[filepath.ToSlash(rel)] = b
			return nil
		})
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	return files
}

// TestKustomizeGenerated fails when config/webhook differs from what the
// chart renders; with -update (hack/render-kustomize.sh) it rewrites it.
func TestKustomizeGenerated(t *testing.T) {
	want := generate(t)
	if *update {
		dir := filepath.Join(root, "config", "webhook")
		for _, sub := range []string{"base", "overlays"} {
			if err := os.RemoveAll(filepath.Join(dir, sub)); err != nil {
				t.Fatal(err)
			}
		}
		for rel, b := range want {
			if err := writeFileErr(filepath.Join(dir, filepath.FromSlash(rel)), b); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("wrote %d files under config/webhook", len(want))
		return
	}
	got := committed(t)
	var problems []string
	for rel, b := range want {
		switch c, ok := got[rel]; {
		case !ok:
			problems = append(problems, "missing: config/webhook/"+rel)
		case !bytes.Equal(c, b):
			problems = append(problems, "differs: config/webhook/"+rel)
		}
	}
	for rel := range got {
		if _, ok := want[rel]; !ok {
			problems = append(problems, "not generated (remove it): config/webhook/"+rel)
		}
	}
	sort.Strings(problems)
	if len(problems) > 0 {
		t.Errorf("config/webhook is out of date with charts/ws-defaults; run hack/render-kustomize.sh\n%s", strings.Join(problems, "\n"))
	}
}

// kustomizeBuild builds an overlay.
func kustomizeBuild(t *testing.T, overlay string) manifest {
	t.Helper()
	out, err := execIn(context.Background(), nil, tool(t, "kustomize"), "build", filepath.Join(root, "config", "webhook", "overlays", overlay))
	if err != nil {
		t.Fatal(err)
	}
	m, err := parse(out)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestKustomizeOverlaysMatchChart builds each committed overlay with
// kustomize and compares it, object by object, with the chart.
func TestKustomizeOverlaysMatchChart(t *testing.T) {
	for overlay := range overlays {
		t.Run(overlay, func(t *testing.T) {
			got := kustomizeBuild(t, overlay).byKey(t)
			want := chartForKustomize(t, overlay).byKey(t)
			for k, w := range want {
				g, ok := got[k]
				switch {
				case !ok:
					t.Errorf("kustomize build lacks %s", k)
				case !sameObject(g, w):
					t.Errorf("%s differs from the chart:\n%s", k, diffJSON(g.Object, w.Object))
				}
			}
			for k := range got {
				if _, ok := want[k]; !ok {
					t.Errorf("kustomize build has %s, the chart does not", k)
				}
			}
		})
	}
}

func writeFileErr(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", filepath.Dir(path), err)
	}
	return os.WriteFile(path, b, 0o644)
}
