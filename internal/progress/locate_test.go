package progress

import "testing"

func TestFailureLocate(t *testing.T) {
	t.Parallel()
	df := []byte(`# syntax=docker/dockerfile:1
FROM scratch AS builder
COPY busybox /bin/busybox
RUN echo "same" && exit 3

FROM scratch
COPY busybox /bin/busybox
# the failing step, continued
RUN echo "about to fail" \
    && exit 3
RUN echo "same" && exit 3
`)
	for _, tt := range []struct {
		step          Step
		line, endLine int
		found         bool
	}{
		{Step{Stage: "stage-1", Text: `RUN echo "about to fail" && exit 3`}, 9, 10, true},
		{Step{Text: `RUN echo "about to fail" && exit 3`}, 9, 10, true},
		{Step{Stage: "builder", Text: `RUN echo "same" && exit 3`}, 4, 0, true},
		{Step{Stage: "stage-1", Text: `RUN echo "same" && exit 3`}, 11, 0, true},
		{Step{Text: `RUN echo "same" && exit 3`}, 0, 0, false}, // twice: not known
		{Step{Text: `RUN echo "$X"`}, 0, 0, false},
	} {
		f := &Failure{Step: &tt.step}
		if got := f.Locate("Dockerfile", df); got != tt.found || f.Line != tt.line || f.EndLine != tt.endLine {
			t.Errorf("%+v: found %v at %d-%d, want %v at %d-%d", tt.step, got, f.Line, f.EndLine, tt.found, tt.line, tt.endLine)
		}
	}
	// A line from buildx's own report is kept.
	f := &Failure{Step: &Step{Text: "RUN x"}, File: "Dockerfile", Line: 7}
	if !f.Locate("Dockerfile", []byte("FROM scratch\nRUN x\n")) || f.Line != 7 {
		t.Errorf("a located failure was moved to %d", f.Line)
	}
}
