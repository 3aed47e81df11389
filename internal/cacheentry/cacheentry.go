// Package cacheentry parses and prints buildx --cache-from/--cache-to values.
//
// It follows buildx's own reading (util/buildflags): a CSV of key=value
// fields with a required type, or a bare reference that means
// type=registry,ref=<reference>. Keys are case-insensitive; order is kept so
// that what we pass on reads like what the user wrote.
package cacheentry

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// Attr is one key=value field of an entry other than type.
type Attr struct {
	Key, Value string
}

// Entry is one cache import or export.
type Entry struct {
	Type  string
	Attrs []Attr
}

// Get returns the value of key.
func (e Entry) Get(key string) (string, bool) {
	for _, a := range e.Attrs {
		if a.Key == key {
			return a.Value, true
		}
	}
	return "", false
}

// String prints the entry as buildx reads it, quoting fields that need it.
func (e Entry) String() string {
	fields := make([]string, 0, len(e.Attrs)+1)
	fields = append(fields, "type="+e.Type)
	for _, a := range e.Attrs {
		fields = append(fields, a.Key+"="+a.Value)
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write(fields) // writing to a bytes.Buffer cannot fail
	w.Flush()
	return strings.TrimSuffix(b.String(), "\n")
}

// Parse reads one item of a cache-from or cache-to list. An item of bare
// references ("a,b") yields one registry entry per reference, as in buildx.
func Parse(item string) ([]Entry, error) {
	fields, err := splitCSV(item)
	if err != nil {
		return nil, err
	}
	if len(fields) == 0 {
		return nil, fmt.Errorf("empty cache entry")
	}
	if !strings.Contains(item, "=") {
		out := make([]Entry, 0, len(fields))
		for _, f := range fields {
			e := Entry{Type: "registry", Attrs: []Attr{{Key: "ref", Value: f}}}
			if err := e.validate(); err != nil {
				return nil, err
			}
			out = append(out, e)
		}
		return out, nil
	}
	var e Entry
	for _, f := range fields {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return nil, fmt.Errorf("field %q is not key=value", f)
		}
		k = strings.ToLower(strings.TrimSpace(k))
		if k == "type" {
			e.Type = v
			continue
		}
		e.Attrs = append(e.Attrs, Attr{Key: k, Value: v})
	}
	if e.Type == "" {
		return nil, fmt.Errorf("%q has no type= field", item)
	}
	if err := e.validate(); err != nil {
		return nil, err
	}
	return []Entry{e}, nil
}

func (e Entry) validate() error {
	if e.Type != "registry" {
		return nil
	}
	ref, ok := e.Get("ref")
	if !ok || ref == "" {
		return fmt.Errorf("type=registry needs ref=<image reference>")
	}
	if _, err := name.ParseReference(ref); err != nil {
		return fmt.Errorf("ref %q is not a valid image reference: %w", ref, err)
	}
	return nil
}

func splitCSV(s string) ([]string, error) {
	r := csv.NewReader(strings.NewReader(s))
	r.LazyQuotes = true
	r.FieldsPerRecord = -1
	rec, err := r.Read()
	if err != nil {
		if strings.TrimSpace(s) == "" {
			return nil, nil
		}
		return nil, fmt.Errorf("cannot read %q as CSV: %w", s, err)
	}
	return rec, nil
}
