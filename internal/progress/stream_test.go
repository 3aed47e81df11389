package progress

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// TestPrettyPrinted: buildx before 0.15 pretty-printed each SolveStatus
// over several lines. The real streams, re-indented that way, read the
// same.
func TestPrettyPrinted(t *testing.T) {
	t.Parallel()
	for path, in := range rawStreams(t) {
		var pretty bytes.Buffer
		for _, line := range bytes.Split(in, []byte("\n")) {
			if len(line) > 0 && line[0] == '{' {
				if err := json.Indent(&pretty, line, "", "  "); err != nil {
					t.Fatal(err)
				}
			} else {
				pretty.Write(line)
			}
			pretty.WriteByte('\n')
		}
		want, err := Read(bytes.NewReader(in), RawJSON)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Read(&pretty, RawJSON)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.Report(), want.Report()) || got.Skipped != 0 {
			t.Errorf("%s: pretty-printed reads differently (%d skipped)", path, got.Skipped)
		}
	}
}

// TestTruncatedRealStreams cuts each real stream at many points, as a
// killed buildx would: never an error, counts that add up, and no step
// that ended before the cut is lost.
func TestTruncatedRealStreams(t *testing.T) {
	t.Parallel()
	for path, in := range rawStreams(t) {
		full, _ := Read(bytes.NewReader(in), RawJSON)
		for cut := 0; cut < len(in); cut += 1 + len(in)/97 {
			b, err := Read(bytes.NewReader(in[:cut]), RawJSON)
			if err != nil {
				t.Fatal(err)
			}
			checkConsistent(t, b)
			if b.TotalSteps() > full.TotalSteps() || b.CachedSteps() > full.CachedSteps() {
				t.Errorf("%s cut at %d: %d/%d steps, more than the whole stream's %d/%d", path, cut, b.CachedSteps(), b.TotalSteps(), full.CachedSteps(), full.TotalSteps())
			}
		}
	}
}

// TestCanceled: BuildKit ends the steps still running when a build is
// cancelled with "context canceled"; a step that never got its end stays
// incomplete.
func TestCanceled(t *testing.T) {
	t.Parallel()
	sts := []Status{
		{Vertexes: []Vertex{{Digest: "sha256:1", Name: "[1/3] COPY a /a", Started: at(0), Completed: at(10)}}},
		{Vertexes: []Vertex{{Digest: "sha256:2", Name: "[stage-1 2/3] RUN sleep 60", Started: at(10)}}},
		{Vertexes: []Vertex{{Digest: "sha256:3", Name: "[stage-2 2/3] RUN sleep 60", Started: at(10)}}},
		{Vertexes: []Vertex{{Digest: "sha256:2", Name: "[stage-1 2/3] RUN sleep 60", Started: at(10), Completed: at(5000), Error: "context canceled: context canceled"}}},
	}
	var out bytes.Buffer
	b, err := Read(bytes.NewReader(append(encode(t, sts, false), "ERROR: failed to build: failed to solve: Canceled: context canceled\n"...)), RawJSON, WithRender(&out))
	if err != nil {
		t.Fatal(err)
	}
	checkConsistent(t, b)
	var states []State
	for _, s := range b.Steps {
		states = append(states, s.State)
	}
	if want := []State{Ran, Canceled, Incomplete}; !reflect.DeepEqual(states, want) || b.Complete() {
		t.Errorf("states %v, want %v; complete %v", states, want, b.Complete())
	}
	if b.Failure == nil || b.Failure.Step != nil || b.Failure.Message != "failed to build: failed to solve: Canceled: context canceled" {
		t.Errorf("failure %+v", b.Failure)
	}
	if !bytes.Contains(out.Bytes(), []byte("#2 CANCELED\n")) {
		t.Errorf("rendered:\n%s", out.Bytes())
	}
}

// TestLogTailBounded: a step that logs a million lines keeps the last few.
func TestLogTailBounded(t *testing.T) {
	t.Parallel()
	r := New(RawJSON, WithLogTail(3))
	start := encode(t, []Status{{Vertexes: []Vertex{{Digest: "sha256:1", Name: "[1/1] RUN yes", Started: at(0)}}}}, false)
	r.Write(start)
	line := encode(t, []Status{{Logs: []Log{{Vertex: "sha256:1", Data: []byte("y\ny\n"), Timestamp: at(1)}}}}, false)
	for range 100_000 {
		r.Write(line)
	}
	r.Write(encode(t, []Status{{Logs: []Log{{Vertex: "sha256:1", Data: []byte("last\nno newline"), Timestamp: at(2)}}}}, false))
	r.Close()
	if got := r.Build().Steps[0].Log; !reflect.DeepEqual(got, []string{"y", "y", "last", "no newline"}) {
		t.Errorf("log %q", got)
	}
	if v := r.t.vertices["sha256:1"]; len(v.log) != 3 {
		t.Errorf("ring of %d", len(v.log))
	}
}

// TestPlainClock: a plain stream is timed by its arrival and DONE lines.
func TestPlainClock(t *testing.T) {
	t.Parallel()
	clock := t0
	r := New(Plain, WithClock(func() time.Time { return clock }))
	r.Write([]byte("#5 [2/3] RUN make\n"))
	clock = clock.Add(3 * time.Second)
	r.Write([]byte("#5 0.412 ok\n#5 DONE 2.9s\n"))
	b := r.Build()
	if s := b.Steps[0]; s.Start != t0 || s.Duration != 2900*time.Millisecond || s.State != Ran || s.Vertex != 5 || b.Wall != 3*time.Second {
		t.Errorf("%+v, wall %s", s, b.Wall)
	}
}

// rawStreams returns the captured rawjson streams by path.
func rawStreams(t *testing.T) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(captures, "*", "*.rawjson"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no captured rawjson streams: %v", err)
	}
	out := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[p] = b
	}
	return out
}

// TestBuildWhileWriting: the model can be read while the build streams
// (run with -race).
func TestBuildWhileWriting(t *testing.T) {
	t.Parallel()
	r := New(RawJSON, WithRender(io.Discard))
	stream := encode(t, sample(), false)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, line := range bytes.SplitAfter(stream, []byte("\n")) {
			r.Write(line)
		}
	}()
	for range 50 {
		checkConsistent(t, r.Build())
	}
	<-done
	r.Close()
	if got := r.Build().TotalSteps(); got != 2 {
		t.Errorf("%d steps", got)
	}
}
