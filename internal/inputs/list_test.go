package inputs

import (
	"slices"
	"testing"
)

// The expectations follow actions-toolkit's Util.getList, which
// build-push-action uses for every list input.
func TestParseList(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		in         string
		splitComma bool
		want       []string
	}{
		{"empty", "", true, nil},
		{"blank lines", "\n  \n", true, nil},
		{"newlines", "a\nb\n\nc", true, []string{"a", "b", "c"}},
		{"commas", "a,b , c", true, []string{"a", "b", "c"}},
		{"commas and newlines", "a,b\nc", true, []string{"a", "b", "c"}},
		{"trims", "  a  \n\tb\t", true, []string{"a", "b"}},
		{"crlf", "a\r\nb\r\n", true, []string{"a", "b"}},
		{"quoted field keeps comma among fields", `"a,b",c`, true, []string{"a,b", "c"}},
		{"lone quoted field is split upstream too", `"a,b"`, true, []string{"a", "b"}},
		{"newline only keeps commas", "type=registry,ref=x/y:z\ntype=inline", false, []string{"type=registry,ref=x/y:z", "type=inline"}},
		{"newline only unquotes", `"A=1,2"`, false, []string{"A=1,2"}},
		{"newline only joins fields", `A="x",B`, false, []string{`A="x",B`}},
		{"quoted newline stays in item", "\"line1\nline2\"", false, []string{"line1\nline2"}},
		{"relaxed quote inside field", `KEY=va"lue`, false, []string{`KEY=va"lue`}},
		{"doubled quote escapes", `"say ""hi"""`, false, []string{`say "hi"`}},
		{"empty items dropped", "a,,b,", true, []string{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseList(tt.in, tt.splitComma)
			if err != nil {
				t.Fatalf("ParseList(%q) error: %v", tt.in, err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("ParseList(%q, %v) = %q, want %q", tt.in, tt.splitComma, got, tt.want)
			}
		})
	}
}

func TestParseBool(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"true", "True", "TRUE", " true "} {
		if b, err := ParseBool(s); err != nil || !b {
			t.Errorf("ParseBool(%q) = %v, %v; want true", s, b, err)
		}
	}
	for _, s := range []string{"false", "False", "FALSE"} {
		if b, err := ParseBool(s); err != nil || b {
			t.Errorf("ParseBool(%q) = %v, %v; want false", s, b, err)
		}
	}
	// @actions/core rejects these too; accepting them would make a workflow
	// mean something here that it does not mean with build-push-action.
	for _, s := range []string{"yes", "1", "tRuE", "", "on"} {
		if _, err := ParseBool(s); err == nil {
			t.Errorf("ParseBool(%q) accepted a value outside the YAML 1.2 core schema", s)
		}
	}
}
