package buildflags

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// CacheEntry is one cache import or export (--cache-from, --cache-to): a
// CSV of key=value fields with a required type, or a bare reference that
// means type=registry,ref=<reference>.
type CacheEntry struct {
	Type  string
	Attrs Attrs
}

// Get returns the value of key.
func (e CacheEntry) Get(key string) (string, bool) { return e.Attrs.Get(key) }

// String prints the entry as buildx reads it, quoting fields that need it.
func (e CacheEntry) String() string {
	return append(Attrs{{Key: "type", Value: e.Type}}, e.Attrs...).String()
}

// ParseCache reads one item of a cache-from or cache-to list. An item of bare
// references ("a,b") yields one registry entry per reference, as in buildx.
func ParseCache(item string) ([]CacheEntry, error) {
	fields, err := splitCSV(item)
	if err != nil {
		return nil, err
	}
	if len(fields) == 0 {
		return nil, fmt.Errorf("empty cache entry")
	}
	if !strings.Contains(item, "=") {
		out := make([]CacheEntry, 0, len(fields))
		for _, f := range fields {
			e := CacheEntry{Type: "registry", Attrs: []Attr{{Key: "ref", Value: f}}}
			if err := e.validate(); err != nil {
				return nil, err
			}
			out = append(out, e)
		}
		return out, nil
	}
	var e CacheEntry
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
	return []CacheEntry{e}, nil
}

func (e CacheEntry) validate() error {
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
