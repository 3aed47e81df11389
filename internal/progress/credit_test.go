package progress

import (
	"testing"
	"time"
)

// A step the image's build found in the builder's cache because a stage
// cache build of the same run had just run it counts as ran, with that
// build's time; steps cached from elsewhere stay cached.
func TestCreditRuns(t *testing.T) {
	t.Parallel()
	step := func(name, stage string, st State, d time.Duration) Step {
		return Step{Name: name, Stage: stage, State: st, Duration: d}
	}
	stageBuild := &Build{Steps: []Step{
		step("[build 1/3] COPY go.mod .", "build", Cached, 0),
		step("[build 2/3] RUN go mod download", "build", Ran, 4*time.Second),
		step("[build 3/3] RUN go build", "build", Ran, 20*time.Second),
	}}
	image := &Build{Steps: []Step{
		step("[build 1/3] COPY go.mod .", "build", Cached, 0),
		step("[build 2/3] RUN go mod download", "build", Cached, 0),
		step("[build 3/3] RUN go build", "build", Cached, 0),
		step("[stage-1 2/2] COPY --from=build /app /app", "stage-1", Ran, time.Second),
	}}
	image.Stages = stages(image.Steps)
	if n := image.CreditRuns(nil, stageBuild); n != 2 {
		t.Fatalf("credited %d steps, want 2", n)
	}
	if image.CachedSteps() != 1 || image.UncachedSeconds() != 25 {
		t.Errorf("after credit: %d cached, %.1f s ran; want 1 and 25", image.CachedSteps(), image.UncachedSeconds())
	}
	if s := image.Stages[0]; s.Name != "build" || s.Cached != 1 || s.Ran != 2 || s.Run != 24*time.Second {
		t.Errorf("stage build = %+v, want 1 cached, 2 ran in 24s", s)
	}
	// Another platform's step of the same name is another step.
	other := &Build{Steps: []Step{{Name: "[build 2/3] RUN go mod download", Platform: "linux/arm64", State: Cached}}}
	if n := other.CreditRuns(stageBuild); n != 0 {
		t.Errorf("credited %d steps of another platform", n)
	}
}

func TestCacheExport(t *testing.T) {
	t.Parallel()
	b := &Build{Spans: []Span{
		{Kind: KindExport, Name: "exporting to image", Duration: 3 * time.Second},
		{Kind: KindExport, Name: "exporting cache to registry", Duration: 2 * time.Second},
		{Kind: KindCacheImport, Name: "importing cache manifest from r/a:main", Duration: time.Second},
	}}
	if got := b.CacheExport(); got != 2*time.Second {
		t.Errorf("CacheExport = %s, want 2s", got)
	}
}
