package check

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// spool keeps the objects pass 1 read, as the JSON it decoded them to, in
// a temporary file that pass 2 reads back one object at a time: the input
// is decoded from YAML once, stdin is read once, and memory holds one
// object. A record is Source, File, Line, Item and Raw, each a varint (a
// length for the byte strings) then its bytes.
type spool struct {
	f *os.File
	w *bufio.Writer
	// n counts the objects put.
	n int
	// last is the previous record's File, which most records repeat
	// (written as length -1).
	last string
	buf  []byte
}

func newSpool() (*spool, error) {
	f, err := os.CreateTemp("", "ws-defaults-check-*")
	if err != nil {
		return nil, fmt.Errorf("a temporary file for the objects read: %w", err)
	}
	return &spool{f: f, w: bufio.NewWriterSize(f, 1<<16)}, nil
}

func (s *spool) put(o Object) error {
	b := s.buf[:0]
	b = appendBytes(b, o.Source)
	if o.File == s.last && s.n > 0 {
		b = binary.AppendVarint(b, -1)
	} else {
		b = appendBytes(b, o.File)
		s.last = o.File
	}
	b = binary.AppendVarint(b, int64(o.Line))
	b = binary.AppendVarint(b, int64(o.Item))
	b = appendBytes(b, string(o.Raw))
	s.buf = b
	s.n++
	if _, err := s.w.Write(b); err != nil {
		return fmt.Errorf("writing the temporary file of the objects read: %w", err)
	}
	return nil
}

func appendBytes(b []byte, s string) []byte {
	b = binary.AppendVarint(b, int64(len(s)))
	return append(b, s...)
}

// each hands every object put, in order, to fn; an error from fn stops it.
func (s *spool) each(fn func(Object) error) error {
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("writing the temporary file of the objects read: %w", err)
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	r := bufio.NewReaderSize(s.f, 1<<16)
	file := ""
	for range s.n {
		var o Object
		var err error
		if o.Source, err = readString(r); err != nil {
			return spoolError(err)
		}
		n, err := binary.ReadVarint(r)
		if err != nil {
			return spoolError(err)
		}
		if n >= 0 {
			b := make([]byte, n)
			if _, err := io.ReadFull(r, b); err != nil {
				return spoolError(err)
			}
			file = string(b)
		}
		o.File = file
		line, err := binary.ReadVarint(r)
		if err != nil {
			return spoolError(err)
		}
		item, err := binary.ReadVarint(r)
		if err != nil {
			return spoolError(err)
		}
		o.Line, o.Item = int(line), int(item)
		raw, err := readString(r)
		if err != nil {
			return spoolError(err)
		}
		o.Raw = []byte(raw)
		// Decoded as the reader decoded it (decodeObject).
		if err := json.Unmarshal(o.Raw, &o.Object); err != nil {
			return spoolError(err)
		}
		if err := fn(o); err != nil {
			return err
		}
	}
	return nil
}

func readString(r *bufio.Reader) (string, error) {
	n, err := binary.ReadVarint(r)
	if err != nil {
		return "", err
	}
	if n < 0 {
		return "", errors.New("negative length")
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	return string(b), nil
}

func spoolError(err error) error {
	return fmt.Errorf("reading the temporary file of the objects read: %w", err)
}

func (s *spool) close() {
	s.f.Close()
	os.Remove(s.f.Name())
}

// spill is a buffer that moves to a temporary file when it grows past
// spillAt, for output that must wait until the end (the violation lines
// printed after the report).
type spill struct {
	mem  bytes.Buffer
	file *os.File
	err  error
}

const spillAt = 1 << 20

func (s *spill) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.file == nil && s.mem.Len()+len(p) > spillAt {
		if s.file, s.err = os.CreateTemp("", "ws-defaults-check-*"); s.err != nil {
			return 0, s.err
		}
		if _, s.err = s.mem.WriteTo(s.file); s.err != nil {
			return 0, s.err
		}
	}
	if s.file != nil {
		n, err := s.file.Write(p)
		s.err = err
		return n, err
	}
	return s.mem.Write(p)
}

// copyTo writes what was written to w.
func (s *spill) copyTo(w io.Writer) error {
	if s.err != nil {
		return s.err
	}
	if s.file == nil {
		_, err := s.mem.WriteTo(w)
		return err
	}
	if _, err := s.file.Seek(0, io.SeekStart); err != nil {
		return err
	}
	_, err := io.Copy(w, s.file)
	return err
}

func (s *spill) close() {
	if s.file != nil {
		s.file.Close()
		os.Remove(s.file.Name())
	}
}
