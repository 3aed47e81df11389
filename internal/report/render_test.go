package report

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestStepShortenedOnCharacters: a long step is cut to 72 characters, never
// inside a multi-byte character.
func TestStepShortenedOnCharacters(t *testing.T) {
	t.Parallel()
	long := "RUN /bin/sh -c echo " + strings.Repeat("é", 100) + " # buildkit"
	got := step(long)
	if !utf8.ValidString(got) {
		t.Errorf("step(%q) = %q: not valid UTF-8", long, got)
	}
	if n := utf8.RuneCountInString(got); n != 72 || !strings.HasSuffix(got, "...") || !strings.HasPrefix(got, "RUN echo éé") {
		t.Errorf("step(%q) = %q (%d characters), want the first 69 characters and ...", long, got, n)
	}
	if short := "RUN echo é"; step(short) != short {
		t.Errorf("step(%q) = %q, want it unchanged", short, step(short))
	}
}
