package report

import (
	"strings"
	"testing"

	"github.com/inlinecache/action/internal/cachemeta"
	"github.com/inlinecache/action/internal/progress"
	"github.com/inlinecache/action/internal/verify"
)

// TestSummaryCachedStepsPerPlatform: a multi-platform build's steps carry
// their platform, and each row counts its own (and the steps BuildKit
// shares between platforms).
func TestSummaryCachedStepsPerPlatform(t *testing.T) {
	t.Parallel()
	r := Result{
		Verdict: Verified,
		Report: &verify.Report{Ref: "r.example/a@sha256:1", Platforms: []verify.Platform{
			{Platform: "linux/amd64", Verified: true, Summary: cachemeta.Summary{Records: 3, RecordsWithLayers: 2, LayersCovered: 2, LayersTotal: 2}},
			{Platform: "linux/arm64", Verified: true, Summary: cachemeta.Summary{Records: 3, RecordsWithLayers: 2, LayersCovered: 2, LayersTotal: 2}},
		}},
		Build: &progress.Build{Steps: []progress.Step{
			{Name: "[linux/amd64 2/3] COPY a /a", Platform: "linux/amd64", State: progress.Cached},
			{Name: "[linux/amd64 3/3] RUN make", Platform: "linux/amd64", State: progress.Cached},
			{Name: "[linux/arm64 2/3] COPY a /a", Platform: "linux/arm64", State: progress.Cached},
			{Name: "[linux/arm64 3/3] RUN make | tee log", Platform: "linux/arm64", State: progress.Ran},
		}},
	}
	md := r.Markdown()
	for _, want := range []string{
		"| linux/amd64 | 3 | 2 | 2/2 | 2/2 | :white_check_mark: |",
		"| linux/arm64 | 3 | 2 | 2/2 | 1/2 | :white_check_mark: |",
		"| [linux/arm64 3/3] RUN make \\| tee log | 0.0s | ran |",
		"3 of 4 Dockerfile steps cached (cache hit 75%)",
		"<details><summary>3 cached steps</summary>",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("summary lacks %q:\n%s", want, md)
		}
	}
	// Without a progress stream the column says so rather than 0/0.
	r.Build = nil
	if md := r.Markdown(); !strings.Contains(md, "| 2/2 | unknown |") || strings.Contains(md, "<details>") {
		t.Errorf("summary without steps:\n%s", md)
	}
}
