package progress

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/progress")

// captures are the real streams internal/e2e's TestCaptureProgress
// captured, by builder.
var captures = filepath.Join("..", "..", "testdata", "progress")

// read reads a captured stream; plain ones on a clock that ticks a
// millisecond a line, so their times are the same every run.
func read(t *testing.T, path string, opts ...Option) *Build {
	t.Helper()
	in, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	format := RawJSON
	if filepath.Ext(path) == ".plain" {
		format = Plain
		clock := t0
		opts = append(opts, WithClock(func() time.Time { clock = clock.Add(time.Millisecond); return clock }))
	}
	b, err := Read(bytes.NewReader(in), format, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func streams(t *testing.T) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(captures, "*", "*.rawjson"))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := filepath.Glob(filepath.Join(captures, "*", "*.plain"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 || len(plain) == 0 {
		t.Fatal("no captured streams in testdata/progress (run internal/e2e's TestCaptureProgress with -update-progress)")
	}
	return append(paths, plain...)
}

// TestGoldens reads every captured stream and compares its report, gantt
// chart and (rawjson) live rendering with the goldens next to it.
func TestGoldens(t *testing.T) {
	t.Parallel()
	for _, path := range streams(t) {
		t.Run(strings.TrimPrefix(path, captures+"/"), func(t *testing.T) {
			var render bytes.Buffer
			b := read(t, path, WithRender(&render))
			checkConsistent(t, b)
			if b.Skipped != 0 {
				t.Errorf("%d lines skipped in a real stream", b.Skipped)
			}
			rep, err := json.MarshalIndent(b.Report(), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, path+".report.json", append(rep, '\n'))
			golden(t, path+".gantt", []byte(b.Gantt()))
			if b.Format == "rawjson" {
				golden(t, path+".render", render.Bytes())
			}
		})
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n%s", path, got)
	}
}

// stepList is a build's steps as "platform stage index instruction
// state", sorted: parallel stages appear in any order.
func stepList(b *Build) []string {
	var out []string
	for _, s := range b.Steps {
		out = append(out, strings.TrimSpace(fmt.Sprintf("%s %s %d/%d %s %s", s.Platform, s.Stage, s.Index, s.Total, s.Text, s.State)))
	}
	slices.Sort(out)
	return out
}

// TestFormatsAgree: the same build read from rawjson and from plain gives
// the same steps and states (each case was built both ways on a pruned
// builder).
func TestFormatsAgree(t *testing.T) {
	t.Parallel()
	paths, _ := filepath.Glob(filepath.Join(captures, "*", "*.rawjson"))
	n := 0
	for _, path := range paths {
		plain := strings.TrimSuffix(path, ".rawjson") + ".plain"
		if _, err := os.Stat(plain); err != nil {
			continue
		}
		n++
		rj, pl := read(t, path), read(t, plain)
		// Plain has no vertex inputs to find a RUN's platform from.
		for _, b := range []*Build{rj, pl} {
			for i := range b.Steps {
				b.Steps[i].Platform = ""
			}
		}
		if g, w := stepList(pl), stepList(rj); !reflect.DeepEqual(g, w) {
			t.Errorf("%s: plain reads\n%s\nrawjson reads\n%s", plain, strings.Join(g, "\n"), strings.Join(w, "\n"))
		}
		if (rj.Failure == nil) != (pl.Failure == nil) || rj.Failure != nil && (rj.Failure.Line != pl.Failure.Line || rj.Failure.File != pl.Failure.File) {
			t.Errorf("%s: failures differ: %+v and %+v", path, rj.Failure, pl.Failure)
		}
		warnings := func(b *Build) (out []string) {
			for _, w := range b.Warnings {
				out = append(out, fmt.Sprint(w.Message, " line ", w.Line))
			}
			return out
		}
		if g, w := warnings(pl), warnings(rj); !reflect.DeepEqual(g, w) {
			t.Errorf("%s: plain warns %q, rawjson %q", plain, g, w)
		}
	}
	if n == 0 {
		t.Fatal("no pair of captures")
	}
}
