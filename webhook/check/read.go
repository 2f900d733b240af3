package check

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsyaml "sigs.k8s.io/yaml"
)

// Object is one Kubernetes object read from the input.
type Object struct {
	// Source is the file and 0-based document index, "path/to/file.yaml#2";
	// "stdin#2" for standard input.
	Source string
	// File is the file as given (or found in a folder given), "stdin" for
	// standard input.
	File string
	// Line is the 1-based line of File where the object starts: the first
	// line of its document that is not blank or a comment, or for a List
	// item the line of the item (the List's own line when the item cannot
	// be placed).
	Line int
	// Item is the index of the object in the items of a List document, or
	// -1 when the document is the object itself.
	Item int
	// Raw is the object as JSON, as read: numbers keep their digits; a List
	// item's keys come out sorted.
	Raw []byte
	// Object is Raw decoded, for reading metadata; never modified.
	Object map[string]any
}

// Where names the object for people: Source, plus ".items[N]" for a List item.
func (o Object) Where() string {
	if o.Item < 0 {
		return o.Source
	}
	return o.Source + ".items[" + strconv.Itoa(o.Item) + "]"
}

func (o Object) u() *unstructured.Unstructured { return &unstructured.Unstructured{Object: o.Object} }

// APIVersion, Kind, Namespace, Name, Labels and Annotations read the
// object's type and metadata.
func (o Object) APIVersion() string { return o.u().GetAPIVersion() }

func (o Object) Kind() string { return o.u().GetKind() }

func (o Object) Namespace() string { return o.u().GetNamespace() }

func (o Object) Name() string { return o.u().GetName() }

func (o Object) Labels() map[string]string { return o.u().GetLabels() }

func (o Object) Annotations() map[string]string { return o.u().GetAnnotations() }

// stdinName is the file name of standard input in Source and File.
const stdinName = "stdin"

// manifestExts are the file endings read when walking a folder; a file
// named on the command line is read whatever its name.
var manifestExts = []string{".yaml", ".yml", ".json"}

// Read reads every object from paths, in order: a file, a folder (walked
// recursively, in lexical order, for .yaml, .yml and .json files; hidden
// folders such as .git are skipped) or "-" for stdin. Multi-document YAML,
// JSON streams and List objects are read; empty documents are skipped but
// still counted in the document index. A document that is not a
// Kubernetes object is an error (ReadWith can skip it instead).
func Read(paths []string, stdin io.Reader) ([]Object, error) {
	return ReadWith(paths, stdin, ReadOptions{Strict: true})
}

// ReadOptions say what the reader does with documents that are not
// Kubernetes objects.
type ReadOptions struct {
	// Strict makes a document without apiVersion or kind (a Chart.yaml, a
	// test suite) an error; otherwise it is skipped and handed to Skipped.
	Strict bool
	// Skipped is told about each skipped document; nil ignores them.
	Skipped func(Notice)
}

// Notice is a document the reader skipped, and why.
type Notice struct {
	// Source is the file and 0-based document index, as Object.Source.
	Source string
	// Line is the 1-based line where the document starts.
	Line    int
	Message string
}

func (n Notice) String() string {
	return fmt.Sprintf("%s (line %d): skipped: %s", n.Source, n.Line, n.Message)
}

// ReadWith is Read with options.
func ReadWith(paths []string, stdin io.Reader, o ReadOptions) ([]Object, error) {
	var out []Object
	err := Scan(paths, stdin, o, func(obj Object) error {
		out = append(out, obj)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Scan reads the objects of paths as ReadWith does and hands each to
// emit as soon as its document is decoded, so that memory holds one
// document at a time; an error from emit stops the scan and is returned.
func Scan(paths []string, stdin io.Reader, o ReadOptions, emit func(Object) error) error {
	usedStdin := false
	for _, p := range paths {
		if p == "-" {
			// A second "-" would silently read nothing.
			if usedStdin {
				return errors.New(`"-" (stdin) given more than once`)
			}
			usedStdin = true
			if err := scanStream(stdinName, stdin, o, emit); err != nil {
				return err
			}
			continue
		}
		files, err := expand(p)
		if err != nil {
			return err
		}
		for _, f := range files {
			if err := scanFile(f, o, emit); err != nil {
				return err
			}
		}
	}
	return nil
}

// expand returns p itself when it is a file, or the manifest files below it
// when it is a folder.
func expand(p string) ([]string, error) {
	info, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return []string{p}, nil
	}
	var files []string
	err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != p && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		for _, ext := range manifestExts {
			if strings.EqualFold(filepath.Ext(path), ext) {
				files = append(files, path)
				break
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// A typo'd or emptied folder in a CI job should fail, not pass with
	// nothing checked.
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no .yaml, .yml or .json files in this folder", p)
	}
	return files, nil
}

func readFile(path string, o ReadOptions) ([]Object, error) {
	return collect(func(emit func(Object) error) error { return scanFile(path, o, emit) })
}

func scanFile(path string, o ReadOptions, emit func(Object) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return scanStream(path, f, o, emit)
}

// collect gathers what scan emits.
func collect(scan func(emit func(Object) error) error) ([]Object, error) {
	var out []Object
	if err := scan(func(obj Object) error {
		out = append(out, obj)
		return nil
	}); err != nil {
		return nil, err
	}
	return out, nil
}

// readStream reads one file strictly (readStreamWith).
func readStream(name string, r io.Reader) ([]Object, error) {
	return readStreamWith(name, r, ReadOptions{Strict: true})
}

// readStreamWith reads the objects of one file (scanStream).
func readStreamWith(name string, r io.Reader, o ReadOptions) ([]Object, error) {
	return collect(func(emit func(Object) error) error { return scanStream(name, r, o, emit) })
}

// scanStream reads the documents of one file and emits their objects.
// Documents are numbered the way people count them, by the "---" lines
// between them (the same lines apimachinery's YAML reader, which kubectl
// uses, splits on): the text after the Nth separator is document N,
// counting from 0, and so is the text before the first separator when it
// holds more than comments. Empty documents are skipped but keep their
// number. Each document is decoded by apimachinery's YAML-or-JSON decoder;
// a stream of JSON objects (no "---") numbers each object as a document.
// Only one document's text is held at a time.
func scanStream(name string, r io.Reader, o ReadOptions, emit func(Object) error) (err error) {
	dr := &DocumentReader{Options: o}
	doc := 0
	// The decoders are a library seeing arbitrary bytes: a panic in them
	// must become an input error, not a crash of the CI job. A panic in
	// emit is not the input's.
	emitting := false
	defer func() {
		if p := recover(); p != nil {
			if emitting {
				panic(p)
			}
			err = fmt.Errorf("%s#%d: cannot decode: %v", name, doc, p)
		}
	}()
	guarded := func(obj Object) error {
		emitting = true
		defer func() { emitting = false }()
		return emit(obj)
	}
	br := bufio.NewReader(r)
	var chunk bytes.Buffer
	first := true
	// lineNo counts the lines read; start is the line the chunk begins on.
	lineNo, start := 0, 1
	// readLine is br.ReadBytes('\n') into a buffer used again for each
	// line (the line is copied into chunk or dropped before the next).
	var lineBuf []byte
	readLine := func() ([]byte, error) {
		lineBuf = lineBuf[:0]
		for {
			part, err := br.ReadSlice('\n')
			lineBuf = append(lineBuf, part...)
			if err != bufio.ErrBufferFull { //nolint:errorlint // bufio returns it itself
				return lineBuf, err
			}
		}
	}
	for {
		line, rerr := readLine()
		if len(line) > 0 {
			lineNo++
		}
		if rerr != nil && rerr != io.EOF { //nolint:errorlint // bufio returns io.EOF itself
			return fmt.Errorf("%s#%d: %w", name, doc, rerr)
		}
		if isSeparator(line) {
			// A "---" opening the file (after comments) starts document 0;
			// any other ends the document before it.
			if !first || hasContent(chunk.Bytes()) {
				n, err := dr.DecodeEach(name, doc, chunk.Bytes(), start, guarded)
				if err != nil {
					return err
				}
				doc += max(n, 1)
			}
			first = false
			chunk.Reset()
			start = lineNo + 1
			if err := separatorError(line); err != nil {
				return fmt.Errorf("%s#%d: %w", name, doc, err)
			}
		} else {
			chunk.Write(line)
		}
		if rerr == io.EOF { //nolint:errorlint // bufio returns io.EOF itself
			break
		}
	}
	_, err = dr.DecodeEach(name, doc, chunk.Bytes(), start, guarded)
	return err
}

// isSeparator reports whether line is a document separator: "---" alone on
// its line, or followed by a space and more. Like apimachinery's YAMLReader
// (which kubectl uses), only a comment may follow it; anything else is an
// error, reported by separatorError.
func isSeparator(line []byte) bool {
	rest, ok := bytes.CutPrefix(line, []byte("---"))
	return ok && (len(rest) == 0 || rest[0] == ' ' || rest[0] == '\t' || rest[0] == '\r' || rest[0] == '\n')
}

func separatorError(line []byte) error {
	rest := bytes.TrimSpace(line[3:])
	if len(rest) == 0 || rest[0] == '#' {
		return nil
	}
	return fmt.Errorf("content on the --- line is not supported (%q); move it to the next line", rest)
}

// hasContent reports whether text holds anything besides blank lines,
// comments and directives.
func hasContent(text []byte) bool {
	for _, line := range bytes.Split(text, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) > 0 && line[0] != '#' && line[0] != '%' {
			return true
		}
	}
	return false
}

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
