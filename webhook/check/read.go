package check

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
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
