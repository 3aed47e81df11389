//go:build linux

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/inlinecache/action/internal/registrytest"
	"github.com/inlinecache/action/internal/timings"
	"github.com/inlinecache/action/internal/verify"
)

// timingsBeside reads the newest step timings record beside repo@digest
// and checks the artifact as distribution 2.8 (no referrers API) holds
// it: listed in the sha256-<hex> tag schema index, with artifactType, the
// empty config and the image as subject. nil when there is none.
func timingsBeside(t *testing.T, repo, digest string) *timings.Record {
	t.Helper()
	subject := repo + "@" + digest
	src := timings.Read(context.Background(), verify.New(), repo, subject)
	fallback := repo + ":" + strings.Replace(digest, ":", "-", 1)
	if src.Record == nil {
		if !strings.HasPrefix(src.Note, "no step timings refer to") {
			t.Fatalf("read the step timings beside %s: %s", subject, src.Note)
		}
		if h := registrytest.Head(t, fallback); h != "" {
			t.Errorf("no step timings beside %s, yet %s exists (%s)", subject, fallback, h)
		}
		return nil
	}
	ref, err := name.ParseReference(fallback)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Get(ref)
	if err != nil {
		t.Fatalf("the referrers tag %s: %v", fallback, err)
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(idx.Manifest))
	if err != nil || idx.MediaType != types.OCIImageIndex {
		t.Fatalf("%s is a %s (%v), want an OCI index", fallback, idx.MediaType, err)
	}
	listed := false
	for _, m := range im.Manifests {
		listed = listed || (m.Digest.String() == src.Artifact && m.ArtifactType == timings.ArtifactType && m.Annotations[timings.CreatedAnnotation] != "")
	}
	if !listed {
		t.Errorf("%s does not list %s with its artifactType and creation time: %s", fallback, src.Artifact, idx.Manifest)
	}
	art, err := remote.Get(mustRef(t, repo+"@"+src.Artifact))
	if err != nil {
		t.Fatal(err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(art.Manifest))
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject == nil || m.Subject.Digest.String() != digest || m.ArtifactType != timings.ArtifactType ||
		m.Config.MediaType != types.OCIEmptyJSON || len(m.Layers) != 1 || m.Layers[0].MediaType != timings.ArtifactType {
		t.Errorf("artifact %s: %s", src.Artifact, art.Manifest)
	}
	return src.Record
}

// Step timings end to end, on BuildKit and distribution 2.8: the first
// build records its steps beside the pushed image; after a prune the
// unchanged rebuild, all from the registry's cache, reports what its
// cached steps took when the first build ran them, and records them on.
// With step-timings: false nothing is pushed.
func TestStepTimingsSaved(t *testing.T) {
	prune(t)
	ctx := project(t, "app")
	image := repo(t)
	in := map[string]string{"context": ctx, "tags": image + ":main", "push": "true"}

	first := action(t, in)
	checkVerified(t, first)
	checkNoRunStepCached(t, first)
	d1 := first.Outputs["digest"]
	rec1 := timingsBeside(t, image, d1)
	if rec1 == nil {
		t.Fatalf("no step timings beside %s@%s", image, d1)
	}
	if !strings.Contains(first.Log, "step timings: recorded beside "+image+"@"+d1+" as sha256:") {
		t.Errorf("the first build does not say it recorded its step timings")
	}
	// FROM scratch is no step: 2 COPY and 4 RUN, all run.
	ran := map[string]float64{}
	for _, s := range rec1.Steps {
		if s.Cached || s.RanSeconds == nil || *s.RanSeconds != s.Seconds {
			t.Errorf("first build's step %+v: want run, with its time", s)
			continue
		}
		ran[s.Name] = s.Seconds
	}
	if len(rec1.Steps) != 6 || len(ran) != 6 {
		t.Fatalf("first record has %d steps (%d distinct), want 6: %+v", len(rec1.Steps), len(ran), rec1.Steps)
	}
	slept := 0
	for n, s := range ran {
		if strings.HasSuffix(n, "&& sleep 1") {
			slept++
			if s < 1 {
				t.Errorf("%s was recorded as %.3fs", n, s)
			}
		}
	}
	if slept != 1 {
		t.Errorf("%d recorded steps sleep 1s, want 1: %v", slept, ran)
	}

	prune(t)
	second := action(t, in)
	checkVerified(t, second)
	checkAllRunStepsCached(t, second)
	var rep struct {
		Savings *timings.Savings `json:"savings"`
	}
	if err := json.Unmarshal([]byte(second.Outputs["cache-report"]), &rep); err != nil || rep.Savings == nil {
		t.Fatalf("cache-report savings: %v in %s", err, second.Outputs["cache-report"])
	}
	s := rep.Savings
	var want float64
	for _, st := range s.Steps {
		if r, ok := ran[st.Name]; !ok || st.Seconds != r || st.Image != d1 {
			t.Errorf("saved step %+v: the first build ran it in %v (%v), beside %s", st, r, ok, d1)
		}
		want += st.Seconds
	}
	if s.CachedSteps != 6 || s.MatchedSteps != 6 || len(s.Steps) != 6 || s.SavedSeconds < 1 || s.SavedSeconds != math.Round(want*10)/10 {
		t.Errorf("savings = %+v; want all 6 cached steps matched, %.1f s saved", s, math.Round(want*10)/10)
	}
	if s.CostSeconds != math.Round((s.CacheImportSeconds+s.ExportSeconds+s.CachedStepSeconds+s.OtherSeconds)*10)/10 || s.NetSeconds != math.Round((s.SavedSeconds-s.CostSeconds)*10)/10 ||
		(s.Verdict == timings.Saved) != (s.NetSeconds >= 0) || (s.Verdict == timings.Cost) != (s.SavedSeconds < s.CacheCostSeconds()) ||
		(s.Verdict == timings.Partial) != (s.NetSeconds < 0 && s.SavedSeconds >= s.CacheCostSeconds()) {
		t.Errorf("savings figures do not add up: %+v", s)
	}
	if len(s.Sources) != 1 || s.Sources[0].Ref != image+":main" || s.Sources[0].Image != d1 || s.Sources[0].Matched != 6 {
		t.Errorf("savings sources = %+v", s.Sources)
	}
	// Every step was cached: all of the build's time is outside its
	// steps, and all of it is cost (each part is rounded on its own).
	if wall := parseReport(t, second).Build.WallSeconds; math.Abs(s.CostSeconds-wall) > 0.35 {
		t.Errorf("savings cost %.1f s, the build's wall time %.1f s: want all of it counted", s.CostSeconds, wall)
	}
	took := fmt.Sprintf("6 cached steps took %.1f s when they ran (build of %s)", s.SavedSeconds, d1)
	line := "time saved: " + took + fmt.Sprintf("; this build spent %.1f s outside its steps (%.1f s importing cache, %.1f s exporting and pushing, %.1f s in cached steps pulling their layers, %.1f s other): net %.1f s saved",
		s.CostSeconds, s.CacheImportSeconds, s.ExportSeconds, s.CachedStepSeconds, s.OtherSeconds, s.NetSeconds)
	switch s.Verdict {
	case timings.Cost:
		line = "time saved: the cache cost more than it saved in this build: " + took
	case timings.Partial:
		line = "time saved: no verdict: " + took
	}
	if !strings.Contains(second.Log, line) || !strings.Contains(second.Summary, "#### Time saved by the cache") {
		t.Errorf("the result lacks %q, or the summary its section", line)
	}
	t.Logf("RESULT of the rebuild:\n%s", resultBlock(second.Log))
	// The rebuild's record carries the first build's run times on.
	rec2 := timingsBeside(t, image, second.Outputs["digest"])
	if rec2 == nil {
		t.Fatal("no step timings beside the rebuild")
	}
	if d1 == second.Outputs["digest"] && !rec2.Created.After(rec1.Created) {
		t.Errorf("the same image: its newest record is not the rebuild's")
	}
	for _, st := range rec2.Steps {
		if !st.Cached || st.RanSeconds == nil || *st.RanSeconds != ran[st.Name] {
			t.Errorf("rebuild's step %+v: want cached, with the first build's run time %v", st, ran[st.Name])
		}
	}

	// step-timings: false, in a repository of its own: no artifact, no
	// referrers tag, nothing said.
	off := image + "/off"
	r := action(t, map[string]string{"context": ctx, "tags": off + ":main", "push": "true", "step-timings": "false"})
	checkVerified(t, r)
	if rec := timingsBeside(t, off, r.Outputs["digest"]); rec != nil {
		t.Errorf("step-timings: false pushed a record: %+v", rec)
	}
	if strings.Contains(r.Log, "step timings") || strings.Contains(r.Log, "time saved") || strings.Contains(r.Outputs["cache-report"], `"savings"`) {
		t.Errorf("step-timings: false still reports step timings")
	}
}
