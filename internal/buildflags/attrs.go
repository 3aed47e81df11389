// Package buildflags is the one home of buildx's key=value flag grammar
// (modelled on buildx's util/buildflags): cache entries, outputs,
// attestations and secrets parse into typed values and print back as buildx
// reads them. Every reader and writer of those flags goes through here, so
// they cannot disagree; keys are case-insensitive, as buildx lowercases
// them.
package buildflags

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strings"
)

// Attr is one field of a key=value list.
type Attr struct {
	Key, Value string
	// Bare is a field without "=" (a boolean in an attestation): Value
	// alone, no Key.
	Bare bool
}

// Attrs are the fields of one flag value, in the order written, so what is
// passed on reads like what the user wrote.
type Attrs []Attr

// Get returns the value of key (keys are stored lower case).
func (as Attrs) Get(key string) (string, bool) {
	for _, a := range as {
		if a.Key == key {
			return a.Value, true
		}
	}
	return "", false
}

// Has reports whether key is set.
func (as Attrs) Has(key string) bool {
	_, ok := as.Get(key)
	return ok
}

// String prints the fields as one CSV record, quoting those that need it
// (a path with a comma).
func (as Attrs) String() string {
	fields := make([]string, len(as))
	for i, a := range as {
		if a.Bare {
			fields[i] = a.Value
			continue
		}
		fields[i] = a.Key + "=" + a.Value
	}
	return Join(fields...)
}

// Join writes fields as one CSV record, as buildx splits them.
func Join(fields ...string) string {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write(fields) // writing to a bytes.Buffer cannot fail
	w.Flush()
	return strings.TrimSuffix(b.String(), "\n")
}

// ParseAttrs reads one flag value: CSV fields of key=value, keys trimmed and
// lower-cased as buildx reads them. A field without "=" is kept as Bare.
func ParseAttrs(s string) (Attrs, error) {
	fields, err := splitCSV(s)
	if err != nil {
		return nil, err
	}
	out := make(Attrs, 0, len(fields))
	for _, f := range fields {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			out = append(out, Attr{Value: strings.TrimSpace(f), Bare: true})
			continue
		}
		out = append(out, Attr{Key: strings.ToLower(strings.TrimSpace(k)), Value: v})
	}
	return out, nil
}

func splitCSV(s string) ([]string, error) {
	r := csv.NewReader(strings.NewReader(s))
	r.LazyQuotes = true
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	rec, err := r.Read()
	if err != nil {
		if strings.TrimSpace(s) == "" {
			return nil, nil
		}
		return nil, fmt.Errorf("cannot read %q as CSV: %w", s, err)
	}
	return rec, nil
}
