// Package policies embeds the Rego rules (one file per family, each with
// its _test.rego beside it) so that the webhook binary carries them; see
// README.md for the input and output documents.
package policies

import (
	"embed"
	"io/fs"
	"strings"
)

//go:embed *.rego
var files embed.FS

// Modules returns the rule modules by file name, without the tests.
func Modules() (map[string]string, error) {
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(entries))
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), "_test.rego") {
			continue
		}
		b, err := files.ReadFile(e.Name())
		if err != nil {
			return nil, err
		}
		out[e.Name()] = string(b)
	}
	return out, nil
}
