package progress

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// A hand-written decoder for the one shape SolveStatus has: encoding/json
// spends most of its time on reflection and on time.Time's UnmarshalJSON,
// and a busy build sends hundreds of thousands of events. This one decodes
// in place into a reused Status, interns digests and names, and skips what
// it does not know.

// errSyntax is wrapped by every decoding error.
var errSyntax = errors.New("not a SolveStatus object")

// internLimit bounds the strings a decoder interns: a real build has a few
// hundred distinct digests and names; a stream with more just allocates.
const internLimit = 1 << 14

type decoder struct {
	b       []byte
	i       int
	scratch []byte
	strs    map[string]string
}

func newDecoder() *decoder {
	return &decoder{strs: map[string]string{}}
}

// decode parses one SolveStatus object from line into st (reset first).
func (d *decoder) decode(line []byte, st *Status) error {
	st.reset()
	d.b, d.i = line, 0
	err := d.object(func(key []byte) error {
		switch string(key) {
		case "vertexes":
			return d.array(func() error {
				st.Vertexes = grow(st.Vertexes)
				return d.vertex(&st.Vertexes[len(st.Vertexes)-1])
			})
		case "statuses":
			return d.array(func() error {
				st.Statuses = grow(st.Statuses)
				return d.vertexStatus(&st.Statuses[len(st.Statuses)-1])
			})
		case "logs":
			return d.array(func() error {
				st.Logs = grow(st.Logs)
				return d.log(&st.Logs[len(st.Logs)-1])
			})
		case "warnings":
			return d.array(func() error {
				st.Warnings = append(st.Warnings, Warning{})
				return d.warning(&st.Warnings[len(st.Warnings)-1])
			})
		}
		return d.skip()
	})
	if err != nil {
		return err
	}
	d.ws()
	if d.i != len(d.b) {
		return d.errorf("trailing data")
	}
	return nil
}

// grow extends s by one element, reusing storage (and the element's own
// slices, which reset kept) when it can.
func grow[T any](s []T) []T {
	if len(s) < cap(s) {
		return s[:len(s)+1]
	}
	var zero T
	return append(s, zero)
}

func (d *decoder) vertex(v *Vertex) error {
	return d.object(func(key []byte) (err error) {
		switch string(key) {
		case "digest":
			v.Digest, err = d.istr()
		case "inputs":
			err = d.array(func() error {
				s, err := d.istr()
				v.Inputs = append(v.Inputs, s)
				return err
			})
		case "name":
			v.Name, err = d.istr()
		case "started":
			v.Started, err = d.time()
		case "completed":
			v.Completed, err = d.time()
		case "cached":
			v.Cached, err = d.bool()
		case "error":
			v.Error, err = d.str()
		case "progressGroup":
			err = d.object(func(key []byte) (err error) {
				switch string(key) {
				case "id":
					v.ProgressGroup.ID, err = d.istr()
				case "name":
					v.ProgressGroup.Name, err = d.istr()
				case "weak":
					v.ProgressGroup.Weak, err = d.bool()
				default:
					err = d.skip()
				}
				return err
			})
		default:
			err = d.skip()
		}
		return err
	})
}

func (d *decoder) vertexStatus(s *VertexStatus) error {
	*s = VertexStatus{}
	return d.object(func(key []byte) (err error) {
		switch string(key) {
		case "id":
			s.ID, err = d.istr()
		case "vertex":
			s.Vertex, err = d.istr()
		case "name":
			s.Name, err = d.istr()
		case "total":
			s.Total, err = d.int()
		case "current":
			s.Current, err = d.int()
		case "timestamp":
			s.Timestamp, err = d.time()
		case "started":
			s.Started, err = d.time()
		case "completed":
			s.Completed, err = d.time()
		default:
			err = d.skip()
		}
		return err
	})
}

func (d *decoder) log(l *Log) error {
	return d.object(func(key []byte) (err error) {
		switch string(key) {
		case "vertex":
			l.Vertex, err = d.istr()
		case "stream":
			var n int64
			n, err = d.int()
			l.Stream = int(n)
		case "data":
			l.Data, err = d.base64(l.Data[:0])
		case "timestamp":
			l.Timestamp, err = d.time()
		default:
			err = d.skip()
		}
		return err
	})
}

func (d *decoder) warning(w *Warning) error {
	return d.object(func(key []byte) (err error) {
		switch string(key) {
		case "vertex":
			w.Vertex, err = d.istr()
		case "level":
			var n int64
			n, err = d.int()
			w.Level = int(n)
		case "short":
			w.Short, err = d.base64(nil)
		case "detail":
			err = d.array(func() error {
				b, err := d.base64(nil)
				w.Detail = append(w.Detail, b)
				return err
			})
		case "url":
			w.URL, err = d.str()
		case "sourceInfo":
			w.SourceInfo = &SourceInfo{}
			err = d.object(func(key []byte) (err error) {
				switch string(key) {
				case "filename":
					w.SourceInfo.Filename, err = d.str()
				case "data":
					w.SourceInfo.Data, err = d.base64(nil)
				case "language":
					w.SourceInfo.Language, err = d.str()
				default:
					err = d.skip()
				}
				return err
			})
		case "range":
			err = d.array(func() error {
				w.Range = append(w.Range, Range{})
				r := &w.Range[len(w.Range)-1]
				return d.object(func(key []byte) error {
					switch string(key) {
					case "start":
						return d.position(&r.Start)
					case "end":
						return d.position(&r.End)
					}
					return d.skip()
				})
			})
		default:
			err = d.skip()
		}
		return err
	})
}

func (d *decoder) position(p *Position) error {
	return d.object(func(key []byte) error {
		var n int64
		var err error
		switch string(key) {
		case "line":
			n, err = d.int()
			p.Line = int(n)
		case "character":
			n, err = d.int()
			p.Character = int(n)
		default:
			err = d.skip()
		}
		return err
	})
}

func (d *decoder) errorf(format string, a ...any) error {
	return fmt.Errorf("%w: %s at byte %d", errSyntax, fmt.Sprintf(format, a...), d.i)
}

func (d *decoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// next skips white space and returns the next byte, 0 at the end.
func (d *decoder) next() byte {
	d.ws()
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

// object calls field for each key, positioned at its value; null is an
// empty object.
func (d *decoder) object(field func(key []byte) error) error {
	if d.literal("null") {
		return nil
	}
	if d.next() != '{' {
		return d.errorf("want an object")
	}
	d.i++
	if d.next() == '}' {
		d.i++
		return nil
	}
	for {
		if d.next() != '"' {
			return d.errorf("want a key")
		}
		key, err := d.rawstr()
		if err != nil {
			return err
		}
		if d.next() != ':' {
			return d.errorf("want a colon")
		}
		d.i++
		if err := field(key); err != nil {
			return err
		}
		switch d.next() {
		case ',':
			d.i++
		case '}':
			d.i++
			return nil
		default:
			return d.errorf("want , or }")
		}
	}
}

// array calls elem for each element; null is an empty array.
func (d *decoder) array(elem func() error) error {
	if d.literal("null") {
		return nil
	}
	if d.next() != '[' {
		return d.errorf("want an array")
	}
	d.i++
	if d.next() == ']' {
		d.i++
		return nil
	}
	for {
		if err := elem(); err != nil {
			return err
		}
		switch d.next() {
		case ',':
			d.i++
		case ']':
			d.i++
			return nil
		default:
			return d.errorf("want , or ]")
		}
	}
}

func (d *decoder) literal(lit string) bool {
	d.ws()
	if len(d.b)-d.i >= len(lit) && string(d.b[d.i:d.i+len(lit)]) == lit {
		d.i += len(lit)
		return true
	}
	return false
}

func (d *decoder) bool() (bool, error) {
	switch {
	case d.literal("true"):
		return true, nil
	case d.literal("false"), d.literal("null"):
		return false, nil
	}
	return false, d.errorf("want a boolean")
}

func (d *decoder) int() (int64, error) {
	if d.literal("null") {
		return 0, nil
	}
	d.ws()
	start := d.i
	if d.i < len(d.b) && d.b[d.i] == '-' {
		d.i++
	}
	for d.i < len(d.b) && (d.b[d.i] >= '0' && d.b[d.i] <= '9') {
		d.i++
	}
	n, err := strconv.ParseInt(string(d.b[start:d.i]), 10, 64)
	if err != nil {
		return 0, d.errorf("want an integer")
	}
	return n, nil
}

// rawstr returns a string's content, unescaped; it aliases the line or
// the scratch buffer, so it is valid until the next call.
func (d *decoder) rawstr() ([]byte, error) {
	if d.next() != '"' {
		return nil, d.errorf("want a string")
	}
	d.i++
	start := d.i
	// Fast path: find the closing quote with IndexByte (vectorised); only
	// a string with escapes goes byte by byte.
	q := bytes.IndexByte(d.b[start:], '"')
	if q < 0 {
		return nil, d.errorf("unterminated string")
	}
	s := d.b[start : start+q]
	if bytes.IndexByte(s, '\\') >= 0 {
		return d.escaped(start)
	}
	// Control characters, invalid in JSON strings, are let through here:
	// checking them byte by byte costs more than they can harm.
	d.i = start + q + 1
	return s, nil
}

// escaped finishes a string with escapes into scratch.
func (d *decoder) escaped(start int) ([]byte, error) {
	out := append(d.scratch[:0], d.b[start:d.i]...)
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			d.scratch = out
			return out, nil
		case c < 0x20:
			return nil, d.errorf("control character in string")
		case c != '\\':
			out = append(out, c)
			d.i++
			continue
		}
		if d.i+1 >= len(d.b) {
			break
		}
		e := d.b[d.i+1]
		d.i += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := d.hex4()
			if !ok {
				return nil, d.errorf("bad \\u escape")
			}
			if r >= 0xd800 && r < 0xdc00 && d.i+1 < len(d.b) && d.b[d.i] == '\\' && d.b[d.i+1] == 'u' {
				d.i += 2
				lo, ok := d.hex4()
				if !ok {
					return nil, d.errorf("bad \\u escape")
				}
				r = (r-0xd800)<<10 + (lo - 0xdc00) + 0x10000
			}
			if !utf8.ValidRune(r) {
				r = utf8.RuneError
			}
			out = utf8.AppendRune(out, r)
		default:
			return nil, d.errorf("bad escape")
		}
	}
	return nil, d.errorf("unterminated string")
}

func (d *decoder) hex4() (rune, bool) {
	if len(d.b)-d.i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range d.b[d.i : d.i+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	d.i += 4
	return r, true
}

func (d *decoder) str() (string, error) {
	if d.literal("null") {
		return "", nil
	}
	b, err := d.rawstr()
	return string(b), err
}

// istr is str for the strings that repeat (digests, names): interned.
func (d *decoder) istr() (string, error) {
	if d.literal("null") {
		return "", nil
	}
	b, err := d.rawstr()
	if err != nil {
		return "", err
	}
	if s, ok := d.strs[string(b)]; ok {
		return s, nil
	}
	s := string(b)
	if len(d.strs) < internLimit && len(s) <= 1024 {
		d.strs[s] = s
	}
	return s, nil
}

func (d *decoder) base64(dst []byte) ([]byte, error) {
	if d.literal("null") {
		return dst, nil
	}
	b, err := d.rawstr()
	if err != nil {
		return nil, err
	}
	n := base64.StdEncoding.DecodedLen(len(b))
	if cap(dst)-len(dst) < n {
		dst = append(make([]byte, 0, len(dst)+n), dst...)
	}
	m, err := base64.StdEncoding.Decode(dst[len(dst):len(dst)+n], b)
	if err != nil {
		return nil, d.errorf("bad base64")
	}
	return dst[:len(dst)+m], nil
}

// time parses an RFC 3339 timestamp; the common UTC form without
// allocating.
func (d *decoder) time() (time.Time, error) {
	if d.literal("null") {
		return time.Time{}, nil
	}
	b, err := d.rawstr()
	if err != nil {
		return time.Time{}, err
	}
	if t, ok := parseUTC(b); ok {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		return time.Time{}, d.errorf("bad timestamp %q", b)
	}
	return t, nil
}

// parseUTC parses 2006-01-02T15:04:05[.fraction]Z.
func parseUTC(b []byte) (time.Time, bool) {
	if len(b) < 20 || b[len(b)-1] != 'Z' || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' {
		return time.Time{}, false
	}
	num := func(s []byte) (int, bool) {
		n := 0
		for _, c := range s {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	var f [6]int
	for k, r := range [][2]int{{0, 4}, {5, 7}, {8, 10}, {11, 13}, {14, 16}, {17, 19}} {
		n, ok := num(b[r[0]:r[1]])
		if !ok {
			return time.Time{}, false
		}
		f[k] = n
	}
	ns := 0
	if frac := b[19 : len(b)-1]; len(frac) > 0 {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return time.Time{}, false
		}
		n, ok := num(frac[1:])
		if !ok {
			return time.Time{}, false
		}
		for k := len(frac) - 1; k < 9; k++ {
			n *= 10
		}
		ns = n
	}
	if f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31 || f[3] > 23 || f[4] > 59 || f[5] > 60 {
		return time.Time{}, false
	}
	return time.Date(f[0], time.Month(f[1]), f[2], f[3], f[4], f[5], ns, time.UTC), true
}

// skip skips any value.
func (d *decoder) skip() error {
	switch c := d.next(); {
	case c == '{':
		return d.object(func([]byte) error { return d.skip() })
	case c == '[':
		return d.array(d.skip)
	case c == '"':
		_, err := d.rawstr()
		return err
	case d.literal("true"), d.literal("false"), d.literal("null"):
		return nil
	case c == '-' || (c >= '0' && c <= '9'):
		for d.i < len(d.b) {
			switch c := d.b[d.i]; {
			case c >= '0' && c <= '9', c == '-', c == '+', c == '.', c == 'e', c == 'E':
				d.i++
			default:
				return nil
			}
		}
		return nil
	}
	return d.errorf("want a value")
}
