package registrytest

import (
	"strings"
	"testing"
)

// Head finds what Push wrote, and answers "" for a tag the registry lacks.
func TestHead(t *testing.T) {
	t.Parallel()
	reg := Serve(t)
	pushed := Push(t, reg+"/app:main", Image(t, "linux/amd64", 1, Valid))
	want := pushed[strings.Index(pushed, "@")+1:]
	if got := Head(t, reg+"/app:main"); got != want {
		t.Errorf("Head(:main) = %q, want %q", got, want)
	}
	if got := Head(t, pushed); got != want {
		t.Errorf("Head(%s) = %q, want %q", pushed, got, want)
	}
	if got := Head(t, reg+"/app:none"); got != "" {
		t.Errorf("Head(:none) = %q, want \"\"", got)
	}
}
