package check

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsyaml "sigs.k8s.io/yaml"
)

// DocumentReader decodes the documents of a file one at a time; readers
// of whole files and streams call it per document.
type DocumentReader struct {
	Options ReadOptions
}

// Decode decodes document doc of file name, whose text begins on line
// start, and appends its objects to objs (DecodeEach).
func (d *DocumentReader) Decode(name string, doc int, text []byte, start int, objs *[]Object) (int, error) {
	return d.DecodeEach(name, doc, text, start, func(o Object) error {
		*objs = append(*objs, o)
		return nil
	})
}

// DecodeEach decodes document doc of file name, whose text begins on line
// start, and hands its objects to emit. It returns how many values the
// document held: more than one only for a stream of JSON objects, each of
// which is numbered as a document. A mapping key given twice is an error
// naming the line, as the API server's strict decoding (what kubectl's
// default --validate=strict asks for) reports it: the later value would
// silently replace the earlier one, as when a "---" is missing between two
// objects.
func (d *DocumentReader) DecodeEach(name string, doc int, text []byte, start int, emit func(Object) error) (int, error) {
	if raw, ok := strictYAML(text); ok {
		// One YAML document without duplicate keys, decoded once.
		at, end := locate(text, 0, raw)
		return 1, d.document(name, doc, raw, text, at, end, start, false, emit)
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(text), 4096)
	n := 0
	cursor := 0 // where the text of the next value may begin
	for ; ; n++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			if err == io.EOF { //nolint:errorlint // the decoder returns io.EOF itself
				return n, nil
			}
			return n, fmt.Errorf("%s#%d: %w", name, doc+n, err)
		}
		at, end := locate(text, cursor, raw)
		cursor = end
		if err := d.document(name, doc+n, raw, text, at, end, start, true, emit); err != nil {
			return n, err
		}
	}
}

// noFastYAML turns strictYAML off, for tests that hold it to the decoder.
var noFastYAML = false

// strictYAML decodes text as one YAML document with the API server's
// strict YAML decoding, when apimachinery's YAML-or-JSON decoder (which
// DecodeEach otherwise runs, and then the strict decoding again to find
// duplicate keys) would read it as that one YAML document and decode it
// the same way: text that does not look like JSON to the decoder, has no
// line the decoder's YAML reader would split on or reject ("---..."), no
// carriage return (the reader drops it) and ends with a line break (the
// reader adds one). ok is false when it does not apply or the strict
// decoding fails; the full path then says why.
func strictYAML(text []byte) (raw []byte, ok bool) {
	if noFastYAML || len(text) == 0 || text[len(text)-1] != '\n' || utilyaml.IsJSONBuffer(text[:min(len(text), 4096)]) ||
		bytes.HasPrefix(text, []byte("---")) || bytes.Contains(text, []byte("\n---")) || bytes.IndexByte(text, '\r') >= 0 {
		return nil, false
	}
	raw, err := sigsyaml.YAMLToJSONStrict(text)
	if err != nil {
		return nil, false
	}
	return raw, true
}

// document checks and emits the value raw, decoded from text[at:end] of
// document doc; checkKeys looks for duplicate keys in its text.
func (d *DocumentReader) document(name string, doc int, raw, text []byte, at, end, start int, checkKeys bool, emit func(Object) error) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil
	}
	pos := position{file: name, line: start + bytes.Count(text[:at], []byte("\n")), text: text[at:end]}
	source := name + "#" + strconv.Itoa(doc)
	if checkKeys {
		if err := duplicateKeys(pos.text, raw); err != nil {
			return fmt.Errorf("%s: %w", source, err.at(pos.line))
		}
	}
	docObjs, err := fromDocument(source, raw, pos)
	var notObject *notObjectError
	if errors.As(err, &notObject) && !d.Options.Strict {
		if d.Options.Skipped != nil {
			d.Options.Skipped(Notice{Source: source, Line: pos.line, Message: notObject.reason + " (--strict makes this an error)"})
		}
		return nil
	}
	if err != nil {
		return err
	}
	for _, o := range docObjs {
		if err := emit(o); err != nil {
			return err
		}
	}
	return nil
}

// position is where a document is: its file, the line it starts on, and its
// text from that line on.
type position struct {
	file string
	line int
	text []byte
}

// locate finds the text of the value raw, decoded from text after offset
// cursor: it returns the offset where the value starts and where the next
// one may start. A JSON value is handed back as written, after whitespace;
// a YAML document comes back converted to JSON, and is the rest of the text
// from its first line that is not blank or a comment.
func locate(text []byte, cursor int, raw []byte) (at, end int) {
	rest := text[cursor:]
	p := cursor + len(rest) - len(bytes.TrimLeft(rest, " \t\r\n"))
	if len(raw) > 0 && bytes.HasPrefix(text[p:], raw) {
		return p, p + len(raw)
	}
	return contentStart(text, cursor), len(text)
}

// contentStart returns the offset of the first line of text at or after
// from that holds more than blanks, a comment or a directive; from when
// there is none.
func contentStart(text []byte, from int) int {
	for i := from; i < len(text); {
		end := len(text)
		if j := bytes.IndexByte(text[i:], '\n'); j >= 0 {
			end = i + j + 1
		}
		if line := bytes.TrimSpace(text[i:end]); len(line) > 0 && line[0] != '#' && line[0] != '%' {
			return i
		}
		i = end
	}
	return from
}

// itemLines returns the line, counted from 1 at the start of text, of each
// of the n items of the List document text; nil when text does not parse
// the same way (the decoders differ in corner cases), so that callers fall
// back to the List's own line.
func itemLines(text []byte, n int) (lines []int) {
	defer func() {
		if recover() != nil {
			lines = nil
		}
	}()
	var doc yaml.Node
	if err := yaml.Unmarshal(text, &doc); err != nil || doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return nil
	}
	var items *yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Value == "items" {
			items = m.Content[i+1]
		}
	}
	if items != nil && items.Kind == yaml.AliasNode {
		items = items.Alias
	}
	if items == nil || items.Kind != yaml.SequenceNode || len(items.Content) != n {
		return nil
	}
	lines = make([]int, n)
	for i, item := range items.Content {
		lines[i] = item.Line
	}
	return lines
}

// fromDocument checks that raw, the document at pos, is an object and
// expands it when it is a List.
func fromDocument(source string, raw []byte, pos position) ([]Object, error) {
	obj, err := decodeObject(source, raw)
	if err != nil {
		return nil, err
	}
	kind, _ := obj["kind"].(string)
	items, hasItems := obj["items"]
	if kind == "List" && items == nil { // an empty list, as some tools print it
		return nil, nil
	}
	if !strings.HasSuffix(kind, "List") || !hasItems {
		return []Object{{Source: source, File: pos.file, Line: pos.line, Item: -1, Raw: raw, Object: obj}}, nil
	}
	if items == nil {
		return nil, nil
	}
	if _, ok := items.([]any); !ok {
		return nil, fmt.Errorf("%s: %s.items is not a list", source, kind)
	}
	// Decoded again keeping numbers as written, so each item's Raw holds
	// the digits of the input.
	var exact struct {
		Items []any `json:"items"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&exact); err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	list := exact.Items
	apiVersion, _ := obj["apiVersion"].(string)
	lines := itemLines(pos.text, len(list))
	out := make([]Object, 0, len(list))
	for i, item := range list {
		where := source + ".items[" + strconv.Itoa(i) + "]"
		m, ok := item.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: not an object", where)
		}
		// The API server's typed lists (IngressList, ...) leave apiVersion
		// and kind off their items; the list's own say what they are.
		if kind != "List" {
			if _, set := m["apiVersion"]; !set {
				m["apiVersion"] = apiVersion
			}
			if _, set := m["kind"]; !set {
				m["kind"] = strings.TrimSuffix(kind, "List")
			}
		}
		itemRaw, err := json.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		itemObj, err := decodeObject(where, itemRaw)
		if err != nil {
			// An item of a List is meant as an object: never skipped.
			return nil, errors.New(err.Error())
		}
		line := pos.line
		if lines != nil {
			line += lines[i] - 1
		}
		out = append(out, Object{Source: source, File: pos.file, Line: line, Item: i, Raw: itemRaw, Object: itemObj})
	}
	return out, nil
}

// notObjectError is a document that is no Kubernetes object at all (not a
// mapping, or without apiVersion or kind): skipped unless reading strictly.
type notObjectError struct {
	where, reason string
}

func (e *notObjectError) Error() string { return e.where + ": " + e.reason }

// decodeObject decodes raw and checks it is a Kubernetes object: a mapping
// with a string apiVersion and kind, and metadata (when present) a mapping.
func decodeObject(where string, raw []byte) (map[string]any, error) {
	var obj map[string]any
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return nil, &notObjectError{where, "not a Kubernetes object (a mapping with apiVersion and kind)"}
	}
	for _, key := range []string{"apiVersion", "kind"} {
		v, set := obj[key]
		if !set {
			return nil, &notObjectError{where, "not a Kubernetes object: " + key + " is missing"}
		}
		if s, _ := v.(string); s == "" {
			return nil, fmt.Errorf("%s: not a Kubernetes object: %s is not a string", where, key)
		}
	}
	if md, set := obj["metadata"]; set {
		if _, ok := md.(map[string]any); !ok {
			return nil, fmt.Errorf("%s: metadata is not a mapping", where)
		}
	}
	return obj, nil
}
