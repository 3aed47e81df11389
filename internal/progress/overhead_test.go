package progress

import (
	"math"
	"testing"
	"time"
)

func TestOverhead(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	sec := func(s float64) time.Duration { return time.Duration(math.Round(s*1000)) * time.Millisecond }
	at := func(s float64) time.Time { return t0.Add(sec(s)) }
	step := func(state State, from, to float64) Step {
		return Step{Name: "[1/1] RUN x", State: state, Start: at(from), Duration: sec(to - from)}
	}
	span := func(k Kind, from, to float64) Span { return Span{Kind: k, Start: at(from), Duration: sec(to - from)} }
	for _, tc := range []struct {
		name string
		b    Build
		want Overhead
	}{
		{
			name: "nothing outside steps",
			b:    Build{Format: "rawjson", Start: t0, Wall: sec(5), Steps: []Step{step(Ran, 0, 5)}},
		},
		{
			// An unchanged rebuild with a stage image: the COPY --from
			// is cached, but its vertex runs 10 s pulling the stage.
			name: "a cached step pulling its layers, the import, the export, the rest",
			b: Build{Format: "rawjson", Start: t0, Wall: sec(11.5),
				Steps: []Step{step(Cached, 0.5, 0.5), step(Cached, 1, 11)},
				Spans: []Span{span(KindCacheImport, 0, 0.6), span(KindExport, 11, 11.1), span(KindBase, 0, 0.3)}},
			want: Overhead{CacheImport: sec(0.6), Export: sec(0.1), CachedSteps: sec(10), Other: sec(0.8)},
		},
		{
			name: "overlaps count once, time under a running step not at all",
			b: Build{Format: "rawjson", Start: t0, Wall: sec(10),
				Steps: []Step{step(Ran, 2, 6), step(Cached, 1, 3)},
				Spans: []Span{span(KindCacheImport, 0, 2.5), span(KindExport, 5, 9), span(KindExport, 8, 10)}},
			want: Overhead{CacheImport: sec(2), Export: sec(4)},
		},
		{
			name: "plain: totals, the rest to other",
			b: Build{Format: "plain", Wall: sec(10), CacheImport: sec(1), Export: sec(2),
				Steps: []Step{{State: Ran, Duration: sec(4)}, {State: Cached, Duration: sec(1.5)}}},
			want: Overhead{CacheImport: sec(1), Export: sec(2), CachedSteps: sec(1.5), Other: sec(1.5)},
		},
		{name: "no stream", b: Build{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := tc.b.Overhead()
			if got != tc.want {
				t.Errorf("Overhead() = %+v, want %+v", got, tc.want)
			}
			if got.Total() != tc.want.Total() {
				t.Errorf("Total() = %v, want %v", got.Total(), tc.want.Total())
			}
		})
	}
}
