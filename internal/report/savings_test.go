package report

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/inlinecache/action/internal/timings"
)

func TestSavingsRendered(t *testing.T) {
	t.Parallel()
	const img = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	for _, tc := range []struct {
		name     string
		s        timings.Savings
		text, md []string
	}{
		{
			name: "saved",
			s: timings.Savings{Verdict: timings.Saved, CachedSteps: 9, MatchedSteps: 8, SavedSeconds: 70.3, CacheImportSeconds: 0.4, ExportSeconds: 1.7, CostSeconds: 2.1, NetSeconds: 68.2,
				Sources: []timings.Source{{Ref: "r/app:main", Image: img, Matched: 8}, {Ref: "r/app:dev", Note: "not found"}}},
			text: []string{
				"time saved: 8 cached steps took 70.3 s when they ran (build of " + img + "); this build spent 2.1 s outside its steps (0.4 s importing cache, 1.7 s exporting and pushing, 0.0 s in cached steps pulling their layers, 0.0 s other): net 68.2 s saved\n",
				"  1 more cached step has no recorded run time: not counted, so the saving is at least the figure above\n",
			},
			md: []string{
				"#### Time saved by the cache",
				"| 8 of 9 | 70.3 s | 0.4 s | 1.7 s | 0.0 s | 0.0 s | **68.2 s saved** |",
				"Run times from the step timings recorded with `" + img + "`.",
			},
		},
		{
			name: "cost",
			s: timings.Savings{Verdict: timings.Cost, CachedSteps: 1, MatchedSteps: 1, SavedSeconds: 0.4, CacheImportSeconds: 2.5, ExportSeconds: 4, CachedStepSeconds: 10, OtherSeconds: 0.5, CostSeconds: 17, NetSeconds: -16.6,
				Sources: []timings.Source{{Ref: "r/app:main", Image: img, Matched: 1}}},
			text: []string{"time saved: the cache cost more than it saved in this build: 1 cached step took 0.4 s when it ran (build of " + img + "), but this build spent 17.0 s outside its steps (2.5 s importing cache, 4.0 s exporting and pushing, 10.0 s in cached steps pulling their layers, 0.5 s other): net 16.6 s lost\n"},
			md:   []string{":warning: The cache cost more than it saved in this build.", "| 1 of 1 | 0.4 s | 2.5 s | 4.0 s | 10.0 s | 0.5 s | **16.6 s lost** |"},
		},
		{
			// Cached steps without a recorded time may have saved the
			// difference: no "cost more" claim.
			name: "no verdict",
			s: timings.Savings{Verdict: timings.Partial, CachedSteps: 4, CacheImportSeconds: 0.4, ExportSeconds: 0.6, CostSeconds: 1, NetSeconds: -1,
				Sources: []timings.Source{{Ref: "r/app:cache", Image: img}}},
			text: []string{"time saved: no verdict: 0 cached steps took 0.0 s when they ran and this build spent 1.0 s outside its steps (0.4 s importing cache, 0.6 s exporting and pushing, 0.0 s in cached steps pulling their layers, 0.0 s other), but 4 more cached steps have no recorded run time, so what the cache saved is not known\n"},
			md:   []string{":information_source: No verdict: 4 more cached steps have no recorded run time, so what the cache saved is not known.", "| 0 of 4 | 0.0 s |"},
		},
		{
			name: "no verdict: the loss is outside the cache",
			s: timings.Savings{Verdict: timings.Partial, CachedSteps: 1, MatchedSteps: 1, SavedSeconds: 5, CacheImportSeconds: 0.5, ExportSeconds: 0.5, OtherSeconds: 10, CostSeconds: 11, NetSeconds: -6,
				Sources: []timings.Source{{Ref: "r/app:main", Image: img, Matched: 1}}},
			text: []string{"but only 1.0 s of that went to importing and exporting cache; the rest (pulling layers, which may be base image layers a build without cache pulls too, base images, the context) is not the cache's alone, so whether the cache paid off is not known\n"},
			md:   []string{":information_source: No verdict: only 1.0 s of that went to importing and exporting cache"},
		},
		{
			name: "nothing cached",
			s: timings.Savings{Verdict: timings.Nothing, CacheImportSeconds: 0.1, ExportSeconds: 0.5, OtherSeconds: 22, CostSeconds: 22.6, NetSeconds: -22.6,
				Sources: []timings.Source{{Ref: "r/app:main", Image: img}}},
			text: []string{"time saved: none: no step of this build was cached; it spent 22.6 s outside its steps (0.1 s importing cache, 0.5 s exporting and pushing, 0.0 s in cached steps pulling their layers, 22.0 s other)\n"},
			md:   []string{"| 0 of 0 | 0.0 s |"},
		},
		{
			name: "no figure",
			s: timings.Savings{Verdict: timings.Unknown, CachedSteps: 3,
				Sources: []timings.Source{{Ref: "r/app:main", Image: img, Note: "no step timings refer to " + img + " (built without step-timings, or pushed by another tool)"}}},
			text: []string{"time saved: no figure: no cache source has step timings\n  r/app:main: no step timings refer to " + img},
			md:   []string{":information_source: No figure: no cache source has step timings.", "- `r/app:main`: no step timings refer to"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := Result{Verdict: Verified, Savings: &tc.s}
			text, md := r.Text(), r.Markdown()
			for _, w := range tc.text {
				if !strings.Contains(text, w) {
					t.Errorf("text lacks %q:\n%s", w, text)
				}
			}
			for _, w := range tc.md {
				if !strings.Contains(md, w) {
					t.Errorf("summary lacks %q:\n%s", w, md)
				}
			}
			if tc.s.Verdict != timings.Cost && strings.Contains(text+md, "cost more") {
				t.Errorf("a cost verdict without one:\n%s\n%s", text, md)
			}
			if strings.Contains(text+md, "r/app:dev") {
				t.Errorf("a source where nothing was found is named beside a figure:\n%s\n%s", text, md)
			}
			if strings.Contains(md, "| ") != (tc.s.Verdict != timings.Unknown) {
				t.Errorf("a table without a figure, or a figure without one:\n%s", md)
			}
			var got struct {
				Savings *timings.Savings `json:"savings"`
			}
			if err := json.Unmarshal([]byte(r.JSON()), &got); err != nil || got.Savings == nil || got.Savings.Verdict != tc.s.Verdict || got.Savings.NetSeconds != tc.s.NetSeconds {
				t.Errorf("cache-report savings = %+v (%v), want %+v", got.Savings, err, tc.s)
			}
		})
	}
	if r := (Result{Verdict: Verified}); strings.Contains(r.Text(), "time saved") || strings.Contains(r.Markdown(), "Time saved") || strings.Contains(r.JSON(), "savings") {
		t.Error("savings shown though they were not read")
	}
}
