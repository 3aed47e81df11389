package misses

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/inlinecache/action/internal/progress"
	"github.com/inlinecache/action/internal/stages"
	"github.com/inlinecache/action/internal/verify"
)

const projects = "../../testdata/progress"

// real reads a captured BuildKit v0.34.2 stream and the analysis of the
// project it built.
func real(t *testing.T, stream string) (progress.Build, *stages.Analysis) {
	t.Helper()
	f, err := os.Open(filepath.Join(projects, "buildkit-v0.34.2", stream))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := progress.Read(f, progress.RawJSON)
	if err != nil {
		t.Fatal(err)
	}
	dt, err := os.ReadFile(filepath.Join(projects, "projects", "multistage", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := stages.Analyze(dt, stages.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return *b, &a
}

var (
	inline   = verify.Source{Ref: "r.example/app:main", State: verify.SourceInline, Cached: []string{"linux/amd64"}, Importable: true}
	notFound = verify.Source{Ref: "r.example/app:pr-7", State: verify.SourceNotFound}
)

// The first build of the real multi-stage project: nothing to import,
// every step ran.
func TestFirstBuild(t *testing.T) {
	t.Parallel()
	b, a := real(t, "multistage.rawjson")
	e := Explain(b, Facts{Analysis: a, Sources: []verify.Source{notFound}})
	if e.Ran != 8 || len(e.Causes) != 3 {
		t.Fatalf("ran %d, causes %+v", e.Ran, e.Causes)
	}
	for _, c := range e.Causes {
		if c.Reason != NoSource || c.Detail != "no cache source exists yet (a first build)" {
			t.Errorf("cause %+v", c)
		}
	}
	if l := e.Line(); !strings.HasPrefix(l, "8 steps ran: 8 because no cache source was imported (") {
		t.Errorf("line = %q", l)
	}
}

// The real rebuild with a changed build argument: only the last RUN ran,
// because its inputs changed.
func TestChangedBuildArg(t *testing.T) {
	t.Parallel()
	b, a := real(t, "multistage-changed.rawjson")
	e := Explain(b, Facts{Analysis: a, Sources: []verify.Source{inline}})
	const step = `RUN ["/bin/busybox", "sh", "-c", "cat artifact.txt asset.txt > all.txt"]`
	if e.Ran != 1 || len(e.Causes) != 1 {
		t.Fatalf("ran %d, causes %+v", e.Ran, e.Causes)
	}
	c := e.Causes[0]
	if c.Reason != InputsChanged || c.Stage != "stage-2" || c.Step != step || c.Steps != 1 ||
		c.Detail != "`"+step+"` changed: the instruction or a build argument or environment variable it uses differs" {
		t.Errorf("cause %+v", c)
	}
	if l := e.Line(); l != "1 step ran: 1 because `"+step+"` changed (0.9 s)" {
		t.Errorf("line = %q", l)
	}
	if r := Explain(b, Facts{Analysis: a, Sources: []verify.Source{inline}}); len(r.Lines()) != 1 ||
		!strings.HasPrefix(r.Lines()[0], "stage `stage-2` first ran `"+step+"`: `"+step+"` changed") || !strings.HasSuffix(r.Lines()[0], "; 1 step ran from there (0.9 s)") {
		t.Errorf("lines = %q", r.Lines())
	}
	if e := Explain(b, Facts{Analysis: a, Sources: []verify.Source{inline}, NoCache: true}); e.Causes[0].Reason != NoCache {
		t.Errorf("no-cache: %+v", e.Causes)
	}
}

// The real fully cached rebuild: nothing to explain.
func TestNothingRan(t *testing.T) {
	t.Parallel()
	b, a := real(t, "multistage-rebuild.rawjson")
	if e := Explain(b, Facts{Analysis: a, Sources: []verify.Source{inline}}); e.Ran != 0 || len(e.Causes) != 0 || e.Line() != "" {
		t.Errorf("explanation %+v, line %q", e, e.Line())
	}
}

const goService = `FROM golang AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN go build -o /out/server .

FROM build AS test
RUN go test ./...

FROM debian:bookworm-slim
COPY --from=build /out/server /usr/local/bin/server
RUN --mount=type=cache,target=/var/cache/apt apt-get update
`

func step(platform, stage, instr, text string, state progress.State, secs float64) progress.Step {
	return progress.Step{Platform: platform, Stage: stage, Instruction: instr, Text: instr + " " + text, State: state, Duration: time.Duration(secs * float64(time.Second))}
}

// A changed Go file on a cold builder: the builder stage re-runs from the
// dependency download on, because it is not in the inline cache; the
// final stage's COPY --from then copies a new binary.
func TestBuilderStageNotInInlineCache(t *testing.T) {
	t.Parallel()
	a, err := stages.Analyze([]byte(goService), stages.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// In BuildKit's order (the final stage's steps first, as v0.34.2
	// lists them); the line puts the costliest cause first.
	b := progress.Build{Steps: []progress.Step{
		step("", "stage-2", "COPY", "--from=build /out/server /usr/local/bin/server", progress.Ran, 0.3),
		step("", "stage-2", "RUN", "--mount=type=cache,target=/var/cache/apt apt-get update", progress.Ran, 2),
		step("", "build", "WORKDIR", "/src", progress.Ran, 0.1),
		step("", "build", "COPY", "go.mod go.sum ./", progress.Ran, 0.1),
		step("", "build", "RUN", "go mod download", progress.Ran, 20),
		step("", "build", "COPY", ". .", progress.Ran, 0.2),
		step("", "build", "RUN", "go build -o /out/server .", progress.Ran, 21),
	}}
	e := Explain(b, Facts{Analysis: &a, Sources: []verify.Source{inline}})
	want := "7 steps ran: 5 because stage `build` is not in the inline cache (41.4 s), 2 because `COPY --from=build /out/server /usr/local/bin/server` changed (2.3 s)"
	if e.Line() != want {
		t.Errorf("line =\n%s\nwant\n%s", e.Line(), want)
	}
	if c := e.Causes[0]; c.Detail != "`COPY --from=build /out/server /usr/local/bin/server` changed: the files it copies from `build` differ" {
		t.Errorf("detail = %q", c.Detail)
	}
	// With a registry cache imported, the builder stage may be in it:
	// then its first step that ran changed.
	cache := verify.Source{Ref: "r.example/app:buildcache", State: verify.SourceRegistryCache, Importable: true}
	b.Steps[2].State, b.Steps[3].State, b.Steps[4].State = progress.Cached, progress.Cached, progress.Cached
	e = Explain(b, Facts{Analysis: &a, Sources: []verify.Source{inline, cache}})
	if c := e.Causes[1]; c.Reason != InputsChanged || c.Step != "COPY . ." || c.Steps != 2 || c.Detail != "`COPY . .` changed: files it copies from the build context differ" {
		t.Errorf("cause %+v", c)
	}
}

// A target built on a stage that ran re-runs from its first step.
func TestBaseStageRan(t *testing.T) {
	t.Parallel()
	a, err := stages.Analyze([]byte(goService), stages.Options{Target: "test"})
	if err != nil {
		t.Fatal(err)
	}
	b := progress.Build{Steps: []progress.Step{
		step("", "build", "RUN", "go build -o /out/server .", progress.Ran, 21),
		step("", "test", "RUN", "go test ./...", progress.Failed, 5),
	}}
	e := Explain(b, Facts{Analysis: &a, Sources: []verify.Source{inline}})
	if len(e.Causes) != 2 || e.Causes[0].Reason != InputsChanged || e.Causes[1].Reason != BaseStageRan ||
		e.Causes[1].Detail != "it is built on stage `build`, whose steps ran" {
		t.Errorf("causes %+v", e.Causes)
	}
	if e.Ran != 2 {
		t.Errorf("a failed step executed: ran %d, want 2", e.Ran)
	}
}

// A source built for another platform imports nothing for this one; a
// source that cannot be read imports nothing at all.
func TestSourceReasons(t *testing.T) {
	t.Parallel()
	b := progress.Build{Steps: []progress.Step{
		step("linux/amd64", "", "RUN", "make", progress.Cached, 0),
		step("linux/arm64", "", "RUN", "make", progress.Ran, 30),
	}}
	arm := inline
	arm.Missing = []string{"linux/arm64"}
	e := Explain(b, Facts{Sources: []verify.Source{arm}})
	if len(e.Causes) != 1 || e.Causes[0].Reason != OtherPlatform || e.Causes[0].Platform != "linux/arm64" ||
		e.Line() != "1 step ran: 1 because the cache sources hold other platforms (30.0 s)" {
		t.Errorf("causes %+v line %q", e.Causes, e.Line())
	}
	denied := verify.Source{Ref: "r.example/app:main", State: verify.SourceDenied}
	e = Explain(b, Facts{Sources: []verify.Source{denied, notFound}})
	if e.Causes[0].Reason != NoSource || e.Causes[0].Detail != "no cache source could be imported" {
		t.Errorf("cause %+v", e.Causes[0])
	}
	// No source at all (checked: there was none to check).
	e = Explain(b, Facts{Sources: []verify.Source{}})
	if e.Causes[0].Reason != NoSource || e.Causes[0].Detail != "the build has no cache source: no tag is pushed and cache-from is empty" {
		t.Errorf("cause %+v", e.Causes[0])
	}
	// Sources not checked and no analysis: the step's own inputs.
	e = Explain(b, Facts{})
	if e.Causes[0].Reason != InputsChanged || !strings.HasPrefix(e.Lines()[0], "linux/arm64 first ran `RUN make`") {
		t.Errorf("cause %+v lines %q", e.Causes[0], e.Lines())
	}
}
