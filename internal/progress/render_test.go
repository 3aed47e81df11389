package progress

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestRenderSample(t *testing.T) {
	t.Parallel()
	stream := append([]byte("buildx says hello\n"), encode(t, sample(), false)...)
	var out, tee bytes.Buffer
	if _, err := Read(bytes.NewReader(stream), RawJSON, WithRender(&out), WithTee(&tee)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(tee.Bytes(), stream) {
		t.Error("the tee is not the raw stream")
	}
	want := `buildx says hello

#1 [internal] load build definition from Dockerfile
#1 DONE 0.0s

#2 [1/3] FROM docker.io/library/debian:bookworm
#2 CACHED

#3 [2/3] COPY . /src
#3 CACHED

#4 [3/3] RUN make
#4 0.010 building
#4 0.020 half done
#4 DONE 2.3s

#5 exporting to image
#5 pushing layers 0.5s done
#5 DONE 0.7s
`
	if got := out.String(); got != want {
		t.Errorf("rendered:\n%s\nwant:\n%s", got, want)
	}
}

// TestRenderPlainPassesThrough: a plain stream is already what the user
// wants to see.
func TestRenderPlainPassesThrough(t *testing.T) {
	t.Parallel()
	in := "#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\nno newline at the end"
	var out bytes.Buffer
	if _, err := Read(strings.NewReader(in), Plain, WithRender(&out)); err != nil {
		t.Fatal(err)
	}
	if out.String() != in+"\n" {
		t.Errorf("got %q", out.String())
	}
}

type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	w.n++
	return 0, errors.New("disk full")
}

// TestFailingWriters: a tee or a rendering that fails does not stop the
// reading; Close reports the tee's error, RenderErr the rendering's.
func TestFailingWriters(t *testing.T) {
	t.Parallel()
	tee, render := &failingWriter{}, &failingWriter{}
	r := New(RawJSON, WithTee(tee), WithRender(render))
	for _, line := range bytes.SplitAfter(encode(t, sample(), false), []byte("\n")) {
		if n, err := r.Write(line); n != len(line) || err != nil {
			t.Fatalf("Write: %d, %v", n, err)
		}
	}
	if err := r.Close(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Close: %v, want the tee's error", err)
	}
	if err := r.RenderErr(); err == nil {
		t.Error("RenderErr: nil")
	}
	if tee.n != 1 || render.n != 1 {
		t.Errorf("writers called %d and %d times after failing, want once each", tee.n, render.n)
	}
	if got := r.Build().TotalSteps(); got != 2 {
		t.Errorf("%d steps", got)
	}
}
