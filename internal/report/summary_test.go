package report

import (
	"strings"
	"testing"

	"github.com/inlinecache/action/internal/buildlog"
	"github.com/inlinecache/action/internal/cachemeta"
	"github.com/inlinecache/action/internal/verify"
)

// TestSummaryCachedStepsPerPlatform: a multi-platform build names steps
// by platform, and each row counts its own.
func TestSummaryCachedStepsPerPlatform(t *testing.T) {
	t.Parallel()
	r := Result{
		Verdict: Verified,
		Report: &verify.Report{Ref: "r.example/a@sha256:1", Platforms: []verify.Platform{
			{Platform: "linux/amd64", Verified: true, Summary: cachemeta.Summary{Records: 3, RecordsWithLayers: 2, LayersCovered: 2, LayersTotal: 2}},
			{Platform: "linux/arm64", Verified: true, Summary: cachemeta.Summary{Records: 3, RecordsWithLayers: 2, LayersCovered: 2, LayersTotal: 2}},
		}},
		Steps: []buildlog.Step{
			{Name: "[linux/amd64 1/2] COPY a /a", Cached: true},
			{Name: "[linux/amd64 2/2] RUN make", Cached: true},
			{Name: "[linux/arm64 1/2] COPY a /a", Cached: true},
			{Name: "[linux/arm64 2/2] RUN make | tee log"},
		},
	}
	md := r.Markdown()
	for _, want := range []string{
		"| linux/amd64 | 3 | 2 | 2/2 | 2/2 | :white_check_mark: |",
		"| linux/arm64 | 3 | 2 | 2/2 | 1/2 | :white_check_mark: |",
		"| [linux/arm64 2/2] RUN make \\| tee log | ran |",
		"Build steps: 3 of 4 cached.",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("summary lacks %q:\n%s", want, md)
		}
	}
	// Without a log the column says so rather than 0/0.
	r.Steps = nil
	if md := r.Markdown(); !strings.Contains(md, "| 2/2 | unknown |") || strings.Contains(md, "<details>") {
		t.Errorf("summary without steps:\n%s", md)
	}
}
