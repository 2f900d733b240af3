// Package docs checks the user documentation against the code: every
// relative link in README.md and docs/ resolves (file and heading), every
// built-in rule has its row in docs/rules.md with the catalog's scope and
// default action, and the README stays a way in rather than a reference.
package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
)

const root = "../.."

// markdownFiles is README.md plus every page under docs/ and the policies'
// input reference.
func markdownFiles(t *testing.T) []string {
	t.Helper()
	files := []string{filepath.Join(root, "README.md"), filepath.Join(root, "policies", "README.md")}
	err := filepath.WalkDir(filepath.Join(root, "docs"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".md") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

var (
	linkRE    = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	headingRE = regexp.MustCompile("(?m)^#{1,6} +(.+?) *$")
	fenceRE   = regexp.MustCompile("(?ms)^ *```.*?^ *```")
	slugDrop  = regexp.MustCompile(`[^\p{L}\p{N} _-]`)
)

// slug is GitHub's heading anchor: lower case, punctuation dropped, spaces
// to hyphens.
func slug(heading string) string {
	s := strings.ToLower(strings.TrimSpace(heading))
	s = slugDrop.ReplaceAllString(s, "")
	return strings.ReplaceAll(s, " ", "-")
}

func anchors(t *testing.T, file string) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, m := range headingRE.FindAllStringSubmatch(fenceRE.ReplaceAllString(string(b), ""), -1) {
		out[slug(m[1])] = true
	}
	return out
}

func TestLinks(t *testing.T) {
	for _, file := range markdownFiles(t) {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		text := fenceRE.ReplaceAllString(string(b), "")
		for _, m := range linkRE.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path, frag, _ := strings.Cut(target, "#")
			dest := file
			if path != "" {
				dest = filepath.Join(filepath.Dir(file), path)
				if _, err := os.Stat(dest); err != nil {
					t.Errorf("%s: link %q: %v", file, target, err)
					continue
				}
			}
			if frag != "" && strings.HasSuffix(dest, ".md") && !anchors(t, dest)[frag] {
				t.Errorf("%s: link %q: no heading with anchor #%s in %s", file, target, frag, dest)
			}
		}
	}
}

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{
		"The cluster policy":           "the-cluster-policy",
		"`webhook check` (CI)":         "webhook-check-ci",
		"Migrating from ingress-nginx": "migrating-from-ingress-nginx",
	} {
		if got := slug(in); got != want {
			t.Errorf("slug(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRuleTable holds docs/rules.md to the catalog: one row per built-in
// rule whose scope and default action are the catalog's, and no row for a
// rule that does not exist.
func TestRuleTable(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, "docs", "rules.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(line, "|")
		if len(cells) < 4 {
			continue
		}
		id := strings.Trim(strings.TrimSpace(cells[1]), "`")
		if _, dup := rows[id]; dup {
			t.Errorf("docs/rules.md: two rows for %s", id)
		}
		rows[id] = []string{strings.TrimSpace(cells[2]), strings.TrimSpace(cells[3])}
	}
	for id, s := range v1alpha1.BuiltinRules {
		row, ok := rows[id]
		if !ok {
			t.Errorf("docs/rules.md has no row for rule %s", id)
			continue
		}
		if row[0] != string(s.Scope) || row[1] != string(s.Action) {
			t.Errorf("docs/rules.md: %s is %s/%s, the catalog says %s/%s", id, row[0], row[1], s.Scope, s.Action)
		}
	}
	for id := range rows {
		if _, ok := v1alpha1.BuiltinRules[id]; !ok {
			t.Errorf("docs/rules.md has a row for %s, which is no built-in rule", id)
		}
	}
}

func TestReadmeIsShort(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "\n"); n >= 250 {
		t.Errorf("README.md has %d lines: keep it a way in (under 250) and move reference material to docs/", n)
	}
}

// TestUserWording keeps internal wording out of what users read.
func TestUserWording(t *testing.T) {
	banned := regexp.MustCompile(`(?i)\bthe seed\b|\bseed guide\b|\bseed's\b|this session|last session`)
	files := append(markdownFiles(t), filepath.Join(root, "hack", "demo", "sample-output.txt"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			if banned.MatchString(line) {
				t.Errorf("%s:%d: %q: name the guide by its title and write for users", file, i+1, strings.TrimSpace(line))
			}
		}
	}
}
