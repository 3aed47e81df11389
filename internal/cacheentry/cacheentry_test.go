package cacheentry

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"ghcr.io/acme/app:main", []string{"type=registry,ref=ghcr.io/acme/app:main"}},
		{"a.example/x:1,b.example/y:2", []string{"type=registry,ref=a.example/x:1", "type=registry,ref=b.example/y:2"}},
		{"type=inline", []string{"type=inline"}},
		{"TYPE=registry,REF=r.example/c:1,Mode=max", []string{"type=registry,ref=r.example/c:1,mode=max"}},
		{"type=local,src=/tmp/cache", []string{"type=local,src=/tmp/cache"}},
		{`type=s3,region=eu,"name=a,b"`, []string{`type=s3,region=eu,"name=a,b"`}},
		{"type=gha,scope=build,url=https://x.example/?a=b", []string{"type=gha,scope=build,url=https://x.example/?a=b"}},
	}
	for _, tt := range tests {
		es, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		var got []string
		for _, e := range es {
			got = append(got, e.String())
		}
		if strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("Parse(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for in, says := range map[string]string{
		"":                             "empty",
		"mode=max":                     "no type=",
		"type=registry":                "needs ref=",
		"type=registry,ref=Bad Ref":    "not a valid image reference",
		"type=local,src":               "not key=value",
		"Not/A/Valid:Ref:At:All":       "not a valid image reference",
		"type=registry,ref=\"unclosed": "", // lazy quotes: becomes a ref and fails validation
	} {
		_, err := Parse(in)
		if err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("Parse(%q) = %v, want an error saying %q", in, err, says)
		}
	}
}

func TestGet(t *testing.T) {
	es, err := Parse("type=registry,ref=r.example/a:1,mode=max")
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := es[0].Get("mode"); !ok || v != "max" {
		t.Errorf("Get(mode) = %q, %v", v, ok)
	}
	if _, ok := es[0].Get("type"); ok {
		t.Error("type is not an attribute")
	}
}
