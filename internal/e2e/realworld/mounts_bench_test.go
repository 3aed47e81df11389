//go:build linux

package realworld

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/inlinecache/action/internal/e2e/harness"
)

// mountsContender is one way to keep a project's compile and download
// caches for a rebuild on a cold runner.
type mountsContender struct {
	name string
	in   map[string]string
	// mounts: the contender needs the cache-mounts input.
	mounts bool
	// warm keeps the builder between the builds: its cache mounts survive,
	// the limit a cold runner can come near.
	warm bool
}

var mountsContenders = []mountsContender{
	{name: "inline", in: map[string]string{"cache-stages": "off"}},
	{name: "stages-registry", in: map[string]string{"cache-stages": "registry"}},
	{name: "mounts-registry", in: map[string]string{"cache-stages": "off", "cache-mounts": "registry"}, mounts: true},
	{name: "mounts-and-stages", in: map[string]string{"cache-stages": "registry", "cache-mounts": "registry"}, mounts: true},
	{name: "warm-builder", in: map[string]string{"cache-stages": "off"}, warm: true},
}

// BenchmarkCacheMounts builds the real-world projects' Dockerfile.mounts
// (cache mounts as Docker's language guides write them) as CI pipelines on
// cold runners would: a first build on an emptied builder, then, on an
// emptied builder (kept for the warm contender), a rebuild after a
// one-file change. It reports the rebuild's wall time, the seconds of
// steps that ran, the cache mounts' restore and save seconds and new bytes
// (from cache-report's cacheMounts), and the bytes pulled and pushed
// through the counting proxy. It asserts what the builds must do, never
// how long they take; benchreport prints the targets.
func BenchmarkCacheMounts(b *testing.B) {
	baseImages(b)
	counter := newPushCounter(b)
	for _, p := range realProjects {
		for _, c := range mountsContenders {
			b.Run(p.name+"/"+c.name, func(b *testing.B) {
				var rounds []stageMetrics
				for range b.N {
					rounds = append(rounds, mountsRound(b, counter, p, c))
				}
				reportMedians(b, rounds)
			})
		}
	}
}

// cacheMountsReport is what the bench reads of cache-report's cacheMounts.
type cacheMountsReport struct {
	CacheMounts []struct {
		Restored struct {
			Seconds float64 `json:"seconds"`
			Bytes   int64   `json:"bytes"`
		} `json:"restored"`
		Saved struct {
			Seconds float64 `json:"seconds"`
			Bytes   int64   `json:"bytes"`
		} `json:"saved"`
	} `json:"cacheMounts"`
}

// goCompiled are the lines `go build -v` prints, one package each.
var goCompiled = regexp.MustCompile(`(?m)^#\d+ [0-9.]+ (\S+/\S+|main|command-line-arguments)$`)

// mountsRound is one first build and one rebuild after the change.
func mountsRound(b *testing.B, counter *pushCounter, p realProject, c mountsContender) stageMetrics {
	b.StopTimer()
	ctx := project(b, p.name)
	image := counter.host + "/bench/mounts-" + p.name + "-" + c.name + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	in := map[string]string{
		"context":    ctx,
		"file":       filepath.Join(ctx, "Dockerfile.mounts"),
		"tags":       image + ":main",
		"push":       "true",
		"build-args": strings.Join(p.buildArgs(b), "\n"),
	}
	if h := hostEntries(b); h != "" {
		in["add-hosts"] = h
	}
	for k, v := range c.in {
		in[k] = v
	}
	build := func(prune bool) (run, time.Duration, int64, int64) {
		return timedBuild(b, counter, p.name+" "+c.name, in, prune)
	}
	_, firstTook, firstPushed, _ := build(true)

	p.change(b, ctx)
	r, took, pushed, pulled := build(!c.warm)
	rep := parseReport(b, r)
	var ranSeconds float64
	ran := 0
	for _, s := range rep.Build.Steps {
		if s.State == "ran" {
			ran++
			ranSeconds += s.Seconds
		}
	}
	var mr cacheMountsReport
	if err := json.Unmarshal([]byte(r.Outputs["cache-report"]), &mr); err != nil {
		b.Fatalf("cache-report: %v", err)
	}
	var restore, save float64
	var saved int64
	for _, m := range mr.CacheMounts {
		// One restore step and one save step serve every mount, and
		// each mount's entry carries that step's seconds: the step's
		// time is the largest, not the sum.
		restore = max(restore, m.Restored.Seconds)
		save = max(save, m.Saved.Seconds)
		saved += m.Saved.Bytes
	}
	if c.mounts && len(mr.CacheMounts) == 0 {
		b.Errorf("%s %s: cache-report has no cacheMounts", p.name, c.name)
	}
	compiled := goCompiled.FindAllStringSubmatch(r.Log, -1)
	var pkgs []string
	for _, m := range compiled {
		pkgs = append(pkgs, m[1])
	}
	b.Logf("RESULT %s %s after changing %s (go build -v compiled %d packages: %s):\n%s", p.name, c.name, p.file, len(pkgs), strings.Join(pkgs, " "), harness.ResultBlock(r.Log))
	return stageMetrics{
		"first-s":           firstTook.Seconds(),
		"first-MB":          float64(firstPushed) / (1 << 20),
		"rebuild-s":         took.Seconds(),
		"ran-s":             ranSeconds,
		"ran-steps":         float64(ran),
		"restore-s":         restore,
		"save-s":            save,
		"saved-new-MB":      float64(saved) / (1 << 20),
		"rebuild-MB":        float64(pushed) / (1 << 20),
		"rebuild-pulled-MB": float64(pulled) / (1 << 20),
		"compiled-pkgs":     float64(len(pkgs)),
	}
}
