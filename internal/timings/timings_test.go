package timings

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/inlinecache/action/internal/progress"
)

func step(name string, state progress.State, d time.Duration) progress.Step {
	return progress.Step{Name: name, State: state, Duration: d}
}

func ran(name string, s float64) Step { return Step{Name: name, Seconds: s, RanSeconds: &s} }

func cachedRan(name string, s float64) Step { return Step{Name: name, Cached: true, RanSeconds: &s} }

func TestNewRecord(t *testing.T) {
	t.Parallel()
	b := &progress.Build{
		CacheImport: 300 * time.Millisecond, Export: 1500 * time.Millisecond,
		Steps: []progress.Step{
			step("[1/4] COPY a /a", progress.Cached, 0),
			step("[2/4] RUN make", progress.Ran, 12345*time.Millisecond),
			step("[3/4] RUN test", progress.Cached, 20*time.Millisecond),
			step("[4/4] RUN broken", progress.Failed, time.Second),
		},
	}
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	saved := &Savings{Steps: []SavedStep{{Name: "[3/4] RUN test", Seconds: 40.5, Image: "sha256:aa"}}}
	got := NewRecord(b, created, saved)
	mk, test := 12.345, 40.5
	want := Record{Version: 1, Created: created.UTC(), CacheImportSeconds: 0.3, ExportSeconds: 1.5, Steps: []Step{
		{Name: "[1/4] COPY a /a", Cached: true},
		{Name: "[2/4] RUN make", Seconds: 12.345, RanSeconds: &mk},
		{Name: "[3/4] RUN test", Seconds: 0.02, Cached: true, RanSeconds: &test},
	}}
	if !reflect.DeepEqual(got, want) {
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want)
		t.Errorf("record\n got %s\nwant %s", gj, wj)
	}
	body, err := got.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode(body)
	if err != nil || !reflect.DeepEqual(back, want) {
		t.Errorf("decode(encode) = %+v, %v", back, err)
	}
}

func TestDecodeRefuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ body, says string }{
		{`{"version":2,"steps":[]}`, "version 2: this version reads 1"},
		{`{"version":`, "read step timings record"},
		{`{"version":1,"steps":"` + strings.Repeat("x", MaxRecordBytes) + `"}`, "over the 1048576-byte limit"},
	} {
		if _, err := Decode([]byte(tc.body)); err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("Decode(%.40s…) = %v, want %q", tc.body, err, tc.says)
		}
	}
}

func TestArtifact(t *testing.T) {
	t.Parallel()
	subject := v1.Descriptor{MediaType: types.OCIImageIndex, Size: 1234, Digest: v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)},
		Annotations: map[string]string{"not": "copied"}}
	rec := Record{Version: 1, Created: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), Steps: []Step{ran("[1/1] RUN x", 1)}}
	a, err := rec.Artifact(subject)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(a.Manifest, &m); err != nil {
		t.Fatal(err)
	}
	body, _ := rec.Encode()
	want := map[string]any{
		"schemaVersion": 2.0,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"artifactType":  "application/vnd.inlinecache.timings.v1+json",
		"config": map[string]any{"mediaType": "application/vnd.oci.empty.v1+json", "size": 2.0,
			"digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},
		"layers": []any{map[string]any{"mediaType": "application/vnd.inlinecache.timings.v1+json", "size": float64(len(body)),
			"digest": digest(t, body)}},
		"subject":     map[string]any{"mediaType": "application/vnd.oci.image.index.v1+json", "size": 1234.0, "digest": "sha256:" + strings.Repeat("ab", 32)},
		"annotations": map[string]any{"org.opencontainers.image.created": "2026-01-02T03:04:05.000000006Z"},
	}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("manifest\n got %s\nwant %v", a.Manifest, want)
	}
	if len(a.Blobs) != 2 || string(a.Blobs[0]) != "{}" || string(a.Blobs[1]) != string(body) {
		t.Errorf("blobs = %q", a.Blobs)
	}
	l, err := RecordLayer(a.Manifest)
	if err != nil || l.Digest.String() != digest(t, body) {
		t.Errorf("RecordLayer = %v, %v", l, err)
	}
	if _, err := rec.Artifact(v1.Descriptor{}); err == nil {
		t.Error("an artifact without a subject")
	}
	other := strings.Replace(string(a.Manifest), ArtifactType, "application/vnd.example", -1)
	if _, err := RecordLayer([]byte(other)); !errors.Is(err, ErrNotTimings) {
		t.Errorf("RecordLayer(another artifact) = %v", err)
	}
}

func digest(t *testing.T, b []byte) string {
	t.Helper()
	h, _, err := v1.SHA256(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

func desc(hex, created, artifactType string) v1.Descriptor {
	d := v1.Descriptor{Digest: v1.Hash{Algorithm: "sha256", Hex: strings.Repeat(hex, 64)}, ArtifactType: artifactType}
	if created != "" {
		d.Annotations = map[string]string{CreatedAnnotation: created}
	}
	return d
}

func TestNewest(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   []v1.Descriptor
		want string // hex digit of the digest; "" none
	}{
		{"none", nil, ""},
		{"other artifacts only", []v1.Descriptor{desc("a", "2026-01-01T00:00:00Z", "application/vnd.example")}, ""},
		{"newest by time", []v1.Descriptor{desc("a", "2026-01-02T00:00:00Z", ArtifactType), desc("b", "2026-01-03T00:00:00Z", ArtifactType), desc("c", "2026-01-01T00:00:00Z", ArtifactType)}, "b"},
		{"sub-second", []v1.Descriptor{desc("b", "2026-01-02T00:00:00.5Z", ArtifactType), desc("a", "2026-01-02T00:00:00.25Z", ArtifactType)}, "b"},
		{"unreadable time is oldest", []v1.Descriptor{desc("f", "yesterday", ArtifactType), desc("a", "2020-01-01T00:00:00Z", ArtifactType)}, "a"},
		{"tie: greater digest", []v1.Descriptor{desc("c", "2026-01-02T00:00:00Z", ArtifactType), desc("d", "2026-01-02T00:00:00Z", ArtifactType)}, "d"},
		{"newer but another type", []v1.Descriptor{desc("a", "2026-01-01T00:00:00Z", ArtifactType), desc("b", "2027-01-01T00:00:00Z", "application/vnd.example")}, "a"},
	} {
		got, ok := Newest(tc.in)
		switch {
		case tc.want == "" && ok:
			t.Errorf("%s: got %s, want none", tc.name, got.Digest)
		case tc.want != "" && (!ok || got.Digest.Hex != strings.Repeat(tc.want, 64)):
			t.Errorf("%s: got %s (%v), want %s…", tc.name, got.Digest, ok, tc.want)
		}
	}
}

func TestCompute(t *testing.T) {
	t.Parallel()
	build := timedBuild
	rec := func(steps ...Step) *Record { return &Record{Version: 1, Steps: steps} }
	for _, tc := range []struct {
		name    string
		b       *progress.Build
		sources []Source
		want    Savings // Sources' Matched checked through matched
		matched []int
	}{
		{
			name:    "no record: no figure",
			b:       build(300, 2000, step("[1/2] RUN a", progress.Cached, 0)),
			sources: []Source{{Ref: "r/app:main", Image: "sha256:11", Note: "no step timings refer to sha256:11"}, {Ref: "r/app:dev", Note: "not found"}},
			want:    Savings{Verdict: Unknown, CachedSteps: 1},
			matched: []int{0, 0},
		},
		{
			name: "cached steps saved their run time",
			b: build(300, 1800,
				step("[1/3] COPY a /a", progress.Cached, 10*time.Millisecond),
				step("[2/3] RUN make", progress.Cached, 0),
				step("[3/3] RUN test", progress.Ran, 5*time.Second)),
			sources: []Source{{Ref: "r/app:main", Image: "sha256:11", Record: rec(ran("[1/3] COPY a /a", 0.2), ran("[2/3] RUN make", 61.04), ran("[3/3] RUN test", 4))}},
			want: Savings{Verdict: Saved, CachedSteps: 2, MatchedSteps: 2, SavedSeconds: 61.2, CacheImportSeconds: 0.3, ExportSeconds: 1.8, CostSeconds: 2.1, NetSeconds: 59.1,
				Steps: []SavedStep{{Name: "[1/3] COPY a /a", Seconds: 0.2, Image: "sha256:11"}, {Name: "[2/3] RUN make", Seconds: 61.04, Image: "sha256:11"}}},
			matched: []int{2},
		},
		{
			name:    "the cache cost more than it saved",
			b:       build(2500, 4000, step("[1/2] COPY a /a", progress.Cached, 0), step("[2/2] RUN make", progress.Ran, 30*time.Second)),
			sources: []Source{{Ref: "r/app:main", Image: "sha256:11", Record: rec(ran("[1/2] COPY a /a", 0.4), ran("[2/2] RUN make", 29))}},
			want: Savings{Verdict: Cost, CachedSteps: 1, MatchedSteps: 1, SavedSeconds: 0.4, CacheImportSeconds: 2.5, ExportSeconds: 4, CostSeconds: 6.5, NetSeconds: -6.1,
				Steps: []SavedStep{{Name: "[1/2] COPY a /a", Seconds: 0.4, Image: "sha256:11"}}},
			matched: []int{1},
		},
		{
			name: "first source with the step wins; a cached record carries the run time on",
			b:    build(0, 0, step("[1/2] RUN a", progress.Cached, 0), step("[2/2] RUN b", progress.Cached, 0)),
			sources: []Source{
				{Ref: "r/app:pr", Image: "sha256:11", Record: rec(cachedRan("[2/2] RUN b", 7), Step{Name: "[1/2] RUN a", Cached: true})},
				{Ref: "r/app:main", Image: "sha256:22", Record: rec(ran("[1/2] RUN a", 3), ran("[2/2] RUN b", 99))},
			},
			want: Savings{Verdict: Saved, CachedSteps: 2, MatchedSteps: 2, SavedSeconds: 10, NetSeconds: 10,
				Steps: []SavedStep{{Name: "[1/2] RUN a", Seconds: 3, Image: "sha256:22"}, {Name: "[2/2] RUN b", Seconds: 7, Image: "sha256:11"}}},
			matched: []int{1, 1},
		},
		{
			name: "platforms and steps named alike match in turn",
			b: build(0, 0,
				progress.Step{Name: "[2/2] RUN make", Platform: "linux/amd64", State: progress.Cached},
				progress.Step{Name: "[2/2] RUN make", Platform: "linux/arm64", State: progress.Cached},
				progress.Step{Name: "[1/2] RUN x", State: progress.Cached},
				progress.Step{Name: "[1/2] RUN x", State: progress.Cached},
				progress.Step{Name: "[1/2] RUN x", State: progress.Cached}),
			sources: []Source{{Ref: "r/app:main", Image: "sha256:11", Record: rec(
				Step{Name: "[2/2] RUN make", Platform: "linux/arm64", Seconds: 50, RanSeconds: ptr(50.0)},
				Step{Name: "[2/2] RUN make", Platform: "linux/amd64", Seconds: 10, RanSeconds: ptr(10.0)},
				ran("[1/2] RUN x", 1), ran("[1/2] RUN x", 2))}},
			want: Savings{Verdict: Saved, CachedSteps: 5, MatchedSteps: 4, SavedSeconds: 63, NetSeconds: 63, Steps: []SavedStep{
				{Name: "[2/2] RUN make", Platform: "linux/amd64", Seconds: 10, Image: "sha256:11"},
				{Name: "[2/2] RUN make", Platform: "linux/arm64", Seconds: 50, Image: "sha256:11"},
				{Name: "[1/2] RUN x", Seconds: 1, Image: "sha256:11"},
				{Name: "[1/2] RUN x", Seconds: 2, Image: "sha256:11"}}},
			matched: []int{1 + 3},
		},
		{
			// The case: a cold rebuild whose source record was
			// itself a cached build's, from before run times were
			// carried on: no step has a figure, so no verdict.
			name: "cached steps without a recorded time: no verdict",
			b: build(400, 600, step("[build 2/4] RUN go mod download", progress.Cached, 0), step("[build 3/4] COPY . .", progress.Cached, 0),
				step("[build 4/4] RUN go build", progress.Cached, 0), step("[2/2] COPY --from=build /out/server /s", progress.Cached, 0)),
			sources: []Source{{Ref: "r/app:cache", Image: "sha256:11", Record: rec(Step{Name: "[build 2/4] RUN go mod download", Cached: true})}},
			want:    Savings{Verdict: Partial, CachedSteps: 4, CacheImportSeconds: 0.4, ExportSeconds: 0.6, CostSeconds: 1, NetSeconds: -1},
			matched: []int{0},
		},
		{
			name:    "some steps without a time and a net loss: no verdict",
			b:       build(3000, 1000, step("[1/2] RUN a", progress.Cached, 0), step("[2/2] RUN b", progress.Cached, 0)),
			sources: []Source{{Ref: "r/app:main", Image: "sha256:11", Record: rec(ran("[1/2] RUN a", 1))}},
			want: Savings{Verdict: Partial, CachedSteps: 2, MatchedSteps: 1, SavedSeconds: 1, CacheImportSeconds: 3, ExportSeconds: 1, CostSeconds: 4, NetSeconds: -3,
				Steps: []SavedStep{{Name: "[1/2] RUN a", Seconds: 1, Image: "sha256:11"}}},
			matched: []int{1},
		},
		{
			// The other case: an unchanged cold rebuild with a
			// stage image spent 10 s in a cached COPY --from pulling the
			// stage's layers; that is cost, not a free step.
			name: "time in cached steps pulling their layers is cost",
			b: build(200, 100, step("[build 2/3] RUN go mod download", progress.Cached, 0), step("[build 3/3] RUN go build", progress.Cached, 0),
				step("[2/2] COPY --from=build /out/server /s", progress.Cached, 10*time.Second)),
			sources: []Source{{Ref: "r/app:main", Image: "sha256:11", Record: rec(ran("[build 2/3] RUN go mod download", 9), ran("[build 3/3] RUN go build", 40),
				ran("[2/2] COPY --from=build /out/server /s", 0.4))}},
			want: Savings{Verdict: Saved, CachedSteps: 3, MatchedSteps: 3, SavedSeconds: 49.4, CacheImportSeconds: 0.2, ExportSeconds: 0.1, CachedStepSeconds: 10, CostSeconds: 10.3, NetSeconds: 39.1,
				Steps: []SavedStep{{Name: "[build 2/3] RUN go mod download", Seconds: 9, Image: "sha256:11"}, {Name: "[build 3/3] RUN go build", Seconds: 40, Image: "sha256:11"},
					{Name: "[2/2] COPY --from=build /out/server /s", Seconds: 0.4, Image: "sha256:11"}}},
			matched: []int{1 * 3},
		},
		{
			// A base image pulled for 22 s is no cost of the cache: with
			// no cached step there is nothing saved and no verdict.
			name:    "no cached step: none",
			b:       withOther(build(100, 500, step("[1/1] RUN make", progress.Ran, 3*time.Second)), 22000),
			sources: []Source{{Ref: "r/app:main", Image: "sha256:11", Record: rec(ran("[1/1] RUN make", 3))}},
			want:    Savings{Verdict: Nothing, CacheImportSeconds: 0.1, ExportSeconds: 0.5, OtherSeconds: 22, CostSeconds: 22.6, NetSeconds: -22.6},
			matched: []int{0},
		},
		{
			// The cache's own part (1 s) is less than the 5 s saved; the
			// loss is in time a build without cache spends too.
			name:    "a loss only in other time outside steps: no verdict",
			b:       withOther(build(500, 500, step("[1/1] RUN make", progress.Cached, 0)), 10000),
			sources: []Source{{Ref: "r/app:main", Image: "sha256:11", Record: rec(ran("[1/1] RUN make", 5))}},
			want: Savings{Verdict: Partial, CachedSteps: 1, MatchedSteps: 1, SavedSeconds: 5, CacheImportSeconds: 0.5, ExportSeconds: 0.5, OtherSeconds: 10, CostSeconds: 11, NetSeconds: -6,
				Steps: []SavedStep{{Name: "[1/1] RUN make", Seconds: 5, Image: "sha256:11"}}},
			matched: []int{1},
		},
		{
			// goservice after a change with a stage cache: the cached
			// go mod download pulled the Go image under it, which a
			// build without cache pulls under FROM: no "cost more".
			name:    "a loss in cached steps pulling layers: no verdict",
			b:       build(0, 200, step("[build 4/6] RUN go mod download", progress.Cached, 9400*time.Millisecond), step("[build 6/6] RUN go build", progress.Ran, 40*time.Second)),
			sources: []Source{{Ref: "r/app:main-stage-build", Image: "sha256:11", Record: rec(ran("[build 4/6] RUN go mod download", 0.9))}},
			want: Savings{Verdict: Partial, CachedSteps: 1, MatchedSteps: 1, SavedSeconds: 0.9, ExportSeconds: 0.2, CachedStepSeconds: 9.4, CostSeconds: 9.6, NetSeconds: -8.7,
				Steps: []SavedStep{{Name: "[build 4/6] RUN go mod download", Seconds: 0.9, Image: "sha256:11"}}},
			matched: []int{1},
		},
		{
			name:    "a record without the steps: nothing saved, nothing spent",
			b:       build(0, 0, step("[1/1] RUN new", progress.Ran, time.Second)),
			sources: []Source{{Ref: "r/app:main", Image: "sha256:11", Record: rec(ran("[1/1] RUN old", 5))}},
			want:    Savings{Verdict: Nothing},
			matched: []int{0},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := Compute(tc.b, tc.sources)
			var matched []int
			for i, s := range got.Sources {
				matched = append(matched, s.Matched)
				if s.Ref != tc.sources[i].Ref || s.Note != tc.sources[i].Note {
					t.Errorf("source %d = %+v, want %+v", i, s, tc.sources[i])
				}
			}
			if tc.sources[0].Matched != 0 {
				t.Error("Compute changed its input")
			}
			got.Sources = nil
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("savings\n got %+v\nwant %+v", got, tc.want)
			}
			if !reflect.DeepEqual(matched, tc.matched) {
				t.Errorf("matched per source = %v, want %v", matched, tc.matched)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// timedBuild lays a build out as BuildKit's stream times it: the cache
// import, then the steps one after another, then the export.
func timedBuild(importMs, exportMs int, steps ...progress.Step) *progress.Build {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	b := &progress.Build{Format: "rawjson", Start: t0}
	at := t0
	if importMs > 0 {
		d := time.Duration(importMs) * time.Millisecond
		b.Spans = append(b.Spans, progress.Span{Kind: progress.KindCacheImport, Name: "importing cache manifest from r/app:main", Start: at, Duration: d})
		b.CacheImport, at = d, at.Add(d)
	}
	for _, s := range steps {
		s.Start, at = at, at.Add(s.Duration)
		b.Steps = append(b.Steps, s)
	}
	if exportMs > 0 {
		d := time.Duration(exportMs) * time.Millisecond
		b.Spans = append(b.Spans, progress.Span{Kind: progress.KindExport, Name: "exporting to image", Start: at, Duration: d})
		b.Export, at = d, at.Add(d)
	}
	b.Wall = at.Sub(t0)
	return b
}

// withOther adds ms of time outside any step or span at the build's end
// (base images, the context, gaps).
func withOther(b *progress.Build, ms int) *progress.Build {
	b.Wall += time.Duration(ms) * time.Millisecond
	return b
}

// A chain of cached builds keeps each step's run time: the first build
// ran the step, the second found it cached and recorded the time the
// first took, and the third, cached again, still has that figure.
func TestRecordChain(t *testing.T) {
	t.Parallel()
	first := timedBuild(0, 100, step("[1/2] RUN go mod download", progress.Ran, 9*time.Second), step("[2/2] RUN go build", progress.Ran, 40*time.Second))
	rec1 := NewRecord(first, time.Unix(1, 0), nil)
	cachedBuild := func() *progress.Build {
		return timedBuild(200, 100, step("[1/2] RUN go mod download", progress.Cached, 0), step("[2/2] RUN go build", progress.Cached, 0))
	}
	s2 := Compute(cachedBuild(), []Source{{Ref: "r/app:main", Image: "sha256:11", Record: &rec1}})
	rec2 := NewRecord(cachedBuild(), time.Unix(2, 0), &s2)
	s3 := Compute(cachedBuild(), []Source{{Ref: "r/app:main", Image: "sha256:22", Record: &rec2}})
	if s3.Verdict != Saved || s3.MatchedSteps != 2 || s3.SavedSeconds != 49 || s3.NetSeconds != 48.7 {
		t.Errorf("third build of the chain: %+v, want both steps matched, 49 s saved, net 48.7 s", s3)
	}
	for _, st := range rec2.Steps {
		if !st.Cached || st.RanSeconds == nil {
			t.Errorf("second record's %s: cached %v, run time %v; want cached with the first build's time", st.Name, st.Cached, st.RanSeconds)
		}
	}
}

// fakeRegistry is a strict Registry: it answers for one subject only.
type fakeRegistry struct {
	t       *testing.T
	subject string
	list    []v1.Descriptor
	listErr error
	bodies  map[string][]byte // manifest digest → record
	pushed  []byte
}

func (f *fakeRegistry) PushReferrer(_ context.Context, subject string, build func(v1.Descriptor) ([]byte, [][]byte, error)) (string, error) {
	if subject != f.subject {
		f.t.Errorf("push beside %s, want %s", subject, f.subject)
	}
	m, _, err := build(v1.Descriptor{MediaType: types.OCIManifestSchema1, Size: 10, Digest: v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("1", 64)}})
	f.pushed = m
	return "sha256:pushed", err
}

func (f *fakeRegistry) Referrers(_ context.Context, subject, artifactType string) ([]v1.Descriptor, error) {
	if subject != f.subject || artifactType != ArtifactType {
		f.t.Errorf("referrers of %s (%s)", subject, artifactType)
	}
	return f.list, f.listErr
}

func (f *fakeRegistry) ReadReferrer(_ context.Context, subject string, d v1.Descriptor, _ func([]byte) (v1.Descriptor, error), max int64) ([]byte, error) {
	if subject != f.subject || max != MaxRecordBytes {
		f.t.Errorf("read %s beside %s (max %d)", d.Digest, subject, max)
	}
	b, ok := f.bodies[d.Digest.String()]
	if !ok {
		f.t.Errorf("read of %s, not the newest", d.Digest)
		return nil, errors.New("unexpected read")
	}
	return b, nil
}

func TestRead(t *testing.T) {
	t.Parallel()
	const subject = "r/app@sha256:11"
	good, _ := Record{Version: 1, Created: time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC), Steps: []Step{ran("[1/1] RUN a", 4)}}.Encode()
	newest := desc("b", "2026-01-03T00:00:00Z", ArtifactType)
	list := []v1.Descriptor{desc("a", "2026-01-02T00:00:00Z", ArtifactType), newest}
	for _, tc := range []struct {
		name string
		f    fakeRegistry
		note string // "" a record
	}{
		{"newest read", fakeRegistry{list: list, bodies: map[string][]byte{newest.Digest.String(): good}}, ""},
		{"none", fakeRegistry{}, "no step timings refer to sha256:11 (built without step-timings, or pushed by another tool)"},
		{"list fails", fakeRegistry{listErr: errors.New("registry r: 500")}, "its step timings could not be listed: registry r: 500"},
		{"bad record", fakeRegistry{list: list, bodies: map[string][]byte{newest.Digest.String(): []byte(`{"version":9}`)}},
			"its step timings " + newest.Digest.String() + " could not be read: step timings record version 9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := tc.f
			f.t, f.subject = t, subject
			src := Read(context.Background(), &f, "r/app:main", subject)
			if src.Ref != "r/app:main" || src.Image != "sha256:11" {
				t.Errorf("source = %+v", src)
			}
			if tc.note == "" {
				if src.Record == nil || src.Artifact != newest.Digest.String() || !src.Created.Equal(time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC)) || src.Note != "" {
					t.Errorf("source = %+v, want the newest record", src)
				}
				return
			}
			if src.Record != nil || !strings.HasPrefix(src.Note, tc.note) {
				t.Errorf("note = %q, want %q (record %v)", src.Note, tc.note, src.Record)
			}
		})
	}
}

func TestPush(t *testing.T) {
	t.Parallel()
	f := &fakeRegistry{t: t, subject: "r/app@sha256:11"}
	d, err := Push(context.Background(), f, "r/app@sha256:11", Record{Version: 1, Steps: []Step{ran("[1/1] RUN a", 1)}})
	if err != nil || d != "sha256:pushed" {
		t.Fatalf("push = %q, %v", d, err)
	}
	m, err := v1.ParseManifest(strings.NewReader(string(f.pushed)))
	if err != nil || m.Subject == nil || m.Subject.Digest.Hex != strings.Repeat("1", 64) || m.ArtifactType != ArtifactType {
		t.Errorf("pushed %s (%v)", f.pushed, err)
	}
}

// Without a record the JSON has no figures: no reader takes a zero for a
// measurement.
func TestSavingsJSON(t *testing.T) {
	t.Parallel()
	unknown, err := json.Marshal(Savings{Verdict: Unknown, CachedSteps: 2, Sources: []Source{{Ref: "r/app:main", Image: "sha256:11", Note: "none"}}})
	if err != nil || string(unknown) != `{"verdict":"unknown","cachedSteps":2,"sources":[{"ref":"r/app:main","image":"sha256:11","matchedSteps":0,"note":"none"}]}` {
		t.Errorf("unknown = %s, %v", unknown, err)
	}
	none, err := json.Marshal(Savings{Verdict: Nothing, Sources: []Source{}})
	if err != nil || !strings.Contains(string(none), `"savedSeconds":0,`) || !strings.Contains(string(none), `"netSeconds":0,`) {
		t.Errorf("a measured zero is left out: %s, %v", none, err)
	}
}
