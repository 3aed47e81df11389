package buildflags

import (
	"strconv"
	"strings"
)

// Output is one --output value.
type Output struct {
	// Type is the exporter; an entry without type= is a local directory,
	// as buildx reads it.
	Type  string
	Attrs Attrs // without type
	// raw is the entry as written: passed on unchanged, since outputs are
	// read without quote handling (build-push-action's quote: false).
	raw string
}

// String prints the entry as the user wrote it, or as buildx reads it.
func (o Output) String() string {
	if o.raw != "" {
		return o.raw
	}
	return append(Attrs{{Key: "type", Value: o.Type}}, o.Attrs...).String()
}

// ParseOutput reads an outputs entry.
func ParseOutput(s string) (Output, error) {
	as, err := ParseAttrs(s)
	if err != nil {
		return Output{}, err
	}
	o := Output{Type: "local", raw: s}
	for _, f := range as {
		if f.Key == "type" {
			o.Type = strings.TrimSpace(f.Value)
			continue
		}
		o.Attrs = append(o.Attrs, f)
	}
	return o, nil
}

// Pushes reports whether the output pushes to a registry.
func (o Output) Pushes() bool {
	switch o.Type {
	case "registry":
		return true
	case "image":
		// BuildKit reads push with strconv.ParseBool; an empty value is true.
		p, ok := o.Attrs.Get("push")
		b, err := strconv.ParseBool(strings.TrimSpace(p))
		return ok && (strings.TrimSpace(p) == "" || (err == nil && b))
	}
	return false
}

// Names are the image names (name=, comma-separated) of an image or
// registry output.
func (o Output) Names() []string {
	if o.Type != "image" && o.Type != "registry" {
		return nil
	}
	n, ok := o.Attrs.Get("name")
	if !ok {
		return nil
	}
	var out []string
	for _, x := range strings.Split(n, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// Secret is one --secret value: a secret read from a file (Src) or an
// environment variable (Env), never the value itself.
type Secret struct {
	ID, Src, Env string
}

// String prints the secret as buildx reads it, quoting a path with a comma.
func (s Secret) String() string {
	if s.Env != "" {
		return Join("id="+s.ID, "env="+s.Env)
	}
	return Join("id="+s.ID, "src="+s.Src)
}
