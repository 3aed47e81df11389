package plan

import (
	"fmt"
	"strings"

	"github.com/inlinecache/action/internal/inputs"
	"github.com/inlinecache/action/internal/stages"
)

// Option adds to what New plans from.
type Option func(*options)

type options struct {
	dockerfile []byte
}

// WithDockerfile gives New the Dockerfile's contents (as read from the
// disk before planning), for the stage analysis; without it, or with a
// remote context, there is none.
func WithDockerfile(dt []byte) Option {
	return func(o *options) { o.dockerfile = dt }
}

// analyzeStages reads the Dockerfile's stages as this build's target,
// build-args, platform and named contexts select them. A Dockerfile the
// analysis cannot read is a note: the build is BuildKit's to judge.
func analyzeStages(s inputs.Settings, dt []byte) (*stages.Analysis, []string) {
	if dt == nil {
		return nil, nil
	}
	o := stages.Options{BuildArgs: s.BuildArgs, Target: s.Target}
	if len(s.Platforms) > 0 {
		o.Platform = s.Platforms[0]
	}
	for _, c := range s.BuildContexts {
		name, _, _ := strings.Cut(c, "=")
		o.Contexts = append(o.Contexts, name)
	}
	a, err := stages.Analyze(dt, o)
	var notes []string
	for _, n := range a.Notes {
		notes = append(notes, "stage analysis: "+n)
	}
	if err != nil {
		return nil, append(notes, fmt.Sprintf("stage analysis skipped: %v", err))
	}
	for _, adv := range stages.Advise(dt, a) {
		notes = append(notes, adv.Message)
	}
	return &a, notes
}

// stageWarning is the one warning before a build whose builder stages
// have steps: the inline cache holds only the image's layers (BuildKit
// exports it in min mode), so on a cold builder any change to a builder
// stage's inputs re-runs all of its steps. It says nothing when another
// cache export already keeps every stage (mode=max) or nothing is pushed.
func stageWarning(s derived, a *stages.Analysis, canExport bool) string {
	if a == nil || !s.pushes || s.NoCache || exportsAllStages(s.Settings) {
		return ""
	}
	builders := a.BuildersWithSteps()
	if len(builders) == 0 {
		return ""
	}
	var parts []string
	for _, b := range builders {
		costly := b.CostlySteps()
		desc := fmt.Sprintf("%q (%d steps", b.Label(), len(b.Steps))
		if len(costly) > 0 {
			var runs []string
			for _, st := range costly {
				runs = append(runs, fmt.Sprintf("line %d `%s`", st.Line, shorten(st.Text, 60)))
			}
			desc += ": " + strings.Join(runs, ", ")
		}
		parts = append(parts, desc+")")
	}
	word := "stage"
	if len(builders) > 1 {
		word = "stages"
	}
	head := fmt.Sprintf("multi-stage build: the inline cache holds only the layers of the image (stage %s); builder %s %s never get layers in it, so on a cold builder every one of their steps re-runs as soon as one of their inputs changes. ",
		chainLabel(a), word, strings.Join(parts, ", "))
	var kept []string
	for _, b := range builders {
		for _, st := range b.BeforeSources() {
			kept = append(kept, fmt.Sprintf("`%s`", shorten(st.Text, 40)))
		}
	}
	if len(kept) == 0 {
		// Every command runs after the sources are copied: a stage cache
		// would be invalidated by any source change.
		return head + "A stage cache would keep none of their commands: each comes after the build context is copied in, so any source change re-runs it. " +
			"Copy the dependency files and install them first (COPY go.mod go.sum ./ then RUN go mod download; COPY package*.json ./ then RUN npm ci), then set cache-stages to keep that step cached"
	}
	mode, where := "registry", fmt.Sprintf("one mode=max cache at %s", cacheRef(s, BuildcacheTag))
	if !canExport {
		mode, where = "images", fmt.Sprintf("each builder stage pushed as %s, which this builder can do though it cannot export a registry cache", cacheRef(s, StageTagInfix+"<stage>"))
	}
	return head + fmt.Sprintf("To keep %s cached across source changes, set cache-stages: %s (%s); see docs/stage-caches.md for the measured trade-off", strings.Join(kept, ", "), mode, where)
}

// exportsAllStages reports whether a cache-to entry other than inline
// exports every stage's layers.
func exportsAllStages(s inputs.Settings) bool {
	for _, e := range s.CacheTo {
		if mode, _ := e.Get("mode"); !isInline(e) && mode == "max" {
			return true
		}
	}
	return false
}

// cacheRef names where cache-stages would keep a stage cache: the first
// pushed tag with suffix, in its repository.
func cacheRef(s derived, suffix string) string {
	if tags := s.pushedTags; len(tags) > 0 {
		return strings.TrimSuffix(tags[0].Raw, ":"+tags[0].Ref.TagStr()) + ":" + tags[0].Ref.TagStr() + suffix
	}
	return "<repository>:<tag>" + suffix
}

func chainLabel(a *stages.Analysis) string {
	var ls []string
	for _, s := range a.Chain() {
		ls = append(ls, fmt.Sprintf("%q", s.Label()))
	}
	return strings.Join(ls, " ← ")
}

// shorten cuts s to at most n runes, marking the cut.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
