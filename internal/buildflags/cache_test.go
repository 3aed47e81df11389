package buildflags

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	t.Parallel()
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
		es, err := ParseCache(tt.in)
		if err != nil {
			t.Errorf("ParseCache(%q): %v", tt.in, err)
			continue
		}
		var got []string
		for _, e := range es {
			got = append(got, e.String())
		}
		if strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("ParseCache(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	for in, says := range map[string]string{
		"":                             "empty",
		"mode=max":                     "no type=",
		"type=registry":                "needs ref=",
		"type=registry,ref=Bad Ref":    "not a valid image reference",
		"type=local,src":               "not key=value",
		"Not/A/Valid:Ref:At:All":       "not a valid image reference",
		"type=registry,ref=\"unclosed": "", // lazy quotes: becomes a ref and fails validation
	} {
		_, err := ParseCache(in)
		if err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("ParseCache(%q) = %v, want an error saying %q", in, err, says)
		}
	}
}

func TestGet(t *testing.T) {
	t.Parallel()
	es, err := ParseCache("type=registry,ref=r.example/a:1,mode=max")
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

func TestOutputs(t *testing.T) {
	t.Parallel()
	for o, want := range map[string]string{"type=local,dest=x": "local", "out": "local", "type=registry": "registry", `"type=image",push=true`: "image", "TYPE=image": "image"} {
		got, err := ParseOutput(o)
		if err != nil || got.Type != want || got.String() != o {
			t.Errorf("ParseOutput(%q) = %+v, %v; want type %q, printed as written", o, got, err, want)
		}
	}
	pushes := func(s string) bool {
		o, err := ParseOutput(s)
		if err != nil {
			t.Fatal(err)
		}
		return o.Pushes()
	}
	if !pushes("type=image,push=true") || pushes("type=image,push=false") || !pushes("type=registry") ||
		!pushes("type=image,push=1") || !pushes("type=image,push=True") || !pushes("type=image,push=") ||
		pushes("type=image,push=0") || pushes("type=image") || !pushes("type=image,PUSH=true") {
		t.Errorf("Pushes")
	}
	o, _ := ParseOutput(`type=registry,"Name=r.example/a:1, r.example/b:2"`)
	if got := o.Names(); len(got) != 2 || got[1] != "r.example/b:2" {
		t.Errorf("Names = %q", got)
	}
}

func TestAttest(t *testing.T) {
	t.Parallel()
	a, err := ParseAttest("TYPE=provenance,Mode=max,true")
	if err != nil {
		t.Fatal(err)
	}
	if a.Type != "provenance" || a.String() != "type=provenance,mode=max,true" || a.WithBoolsAsDisabled().String() != "type=provenance,mode=max,disabled=false" {
		t.Errorf("attest = %+v %q", a, a.String())
	}
	if d, _ := ParseAttest("type=sbom, DISABLED=true"); !d.Disabled() {
		t.Errorf("disabled not read: %+v", d)
	}
	if _, err := ParseAttest("mode=max"); err == nil || !strings.Contains(err.Error(), "no type=") {
		t.Errorf("an attest without type: %v", err)
	}
	if got := (Secret{ID: "k", Src: "./a,b.pem"}).String(); got != `id=k,"src=./a,b.pem"` {
		t.Errorf("secret = %s", got)
	}
}
