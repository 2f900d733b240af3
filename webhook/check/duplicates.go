package check

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"

	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// duplicateKeyError is a mapping key given twice in one document.
type duplicateKeyError struct {
	key string
	// line is 1-based within the document's text; 0 when unknown.
	line int
}

// at places the error in the file, whose document starts on line start.
func (e *duplicateKeyError) at(start int) error {
	line := start
	if e.line > 0 {
		line = start + e.line - 1
	}
	return fmt.Errorf("line %d: key %q appears twice in one mapping, and the later value would silently replace the earlier one; "+
		"if two objects were meant, a \"---\" line is missing between them", line, e.key)
}

// goyaml v2's strict mode, which sigs.k8s.io/yaml's YAMLToJSONStrict uses
// and the API server's strict decoding runs, says:
// `line 4: key "c" already set in map`.
var yamlDuplicate = regexp.MustCompile(`line (\d+): key (".*?") already set in map`)

// duplicateKeys reports the first mapping key that text, one document whose
// decoded JSON is raw, gives twice. YAML goes through the API server's
// strict YAML decoding; a JSON value that is not also YAML it can parse
// (tabs, for one) through the strict JSON decoder the API server uses for
// JSON, which knows no line.
func duplicateKeys(text, raw []byte) *duplicateKeyError {
	_, err := yaml.YAMLToJSONStrict(text)
	if err == nil {
		return nil
	}
	if m := yamlDuplicate.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		key, qerr := strconv.Unquote(m[2])
		if qerr != nil {
			key = m[2]
		}
		return &duplicateKeyError{key: key, line: line}
	}
	if !bytes.HasPrefix(bytes.TrimSpace(text), []byte("{")) {
		return nil
	}
	var v any
	strict, jerr := kjson.UnmarshalStrict(raw, &v)
	if jerr != nil || len(strict) == 0 {
		return nil
	}
	if m := jsonDuplicate.FindStringSubmatch(strict[0].Error()); m != nil {
		if key, err := strconv.Unquote(m[1]); err == nil {
			return &duplicateKeyError{key: key}
		}
	}
	return &duplicateKeyError{key: strict[0].Error()}
}

// sigs.k8s.io/json's strict errors say `duplicate field "a.b"`.
var jsonDuplicate = regexp.MustCompile(`duplicate field (".*")`)
