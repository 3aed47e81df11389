package buildflags

import (
	"fmt"
	"strconv"
)

// Attest is one --attest value: an attestation type and its attributes.
type Attest struct {
	Type  string
	Attrs Attrs // without type
}

// ParseAttest reads an attests entry; it must name its type.
func ParseAttest(s string) (Attest, error) {
	as, err := ParseAttrs(s)
	if err != nil {
		return Attest{}, err
	}
	var a Attest
	found := false
	for _, f := range as {
		if f.Key == "type" {
			a.Type, found = f.Value, true
			continue
		}
		a.Attrs = append(a.Attrs, f)
	}
	if !found {
		return Attest{}, fmt.Errorf("%q has no type= field (e.g. type=sbom or type=provenance)", s)
	}
	return a, nil
}

// Disabled reports disabled=true.
func (a Attest) Disabled() bool {
	v, ok := a.Attrs.Get("disabled")
	b, err := strconv.ParseBool(v)
	return ok && err == nil && b
}

// WithBoolsAsDisabled turns bare boolean fields into disabled=, as buildx
// reads --provenance=false.
func (a Attest) WithBoolsAsDisabled() Attest {
	out := Attest{Type: a.Type, Attrs: make(Attrs, 0, len(a.Attrs))}
	for _, f := range a.Attrs {
		if b, err := strconv.ParseBool(f.Value); f.Bare && err == nil {
			f = Attr{Key: "disabled", Value: strconv.FormatBool(!b)}
		}
		out.Attrs = append(out.Attrs, f)
	}
	return out
}

// String prints the entry as buildx reads it.
func (a Attest) String() string {
	return append(Attrs{{Key: "type", Value: a.Type}}, a.Attrs...).String()
}
