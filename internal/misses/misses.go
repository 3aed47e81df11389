// Package misses explains, after a build, why the steps that ran were not
// taken from the cache. BuildKit does not say (moby/buildkit#2567); what
// it says is enough to tell the usual reasons apart: which steps ran
// (the progress step model), which stages the inline cache can hold (the
// stage analysis) and what the cache sources held for each platform (the
// source check). Within a stage, every step after one that ran runs too:
// those are counted under the first. It is pure.
package misses

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/inlinecache/action/internal/progress"
	"github.com/inlinecache/action/internal/stages"
	"github.com/inlinecache/action/internal/verify"
)

// Reason is why the first step that ran in a stage was not cached.
type Reason string

// Reasons.
const (
	// NoCache: the build was asked not to use the cache.
	NoCache Reason = "no-cache"
	// NoSource: no cache source could be imported: none exists yet (a
	// first build), or none could be read or carries cache.
	NoSource Reason = "no-source"
	// OtherPlatform: the sources hold cache for other platforms only.
	OtherPlatform Reason = "other-platform"
	// NotInInlineCache: a builder stage, whose steps the inline cache
	// never holds.
	NotInInlineCache Reason = "not-in-inline-cache"
	// BaseStageRan: the stage is built on a stage whose steps ran.
	BaseStageRan Reason = "base-stage-ran"
	// InputsChanged: the step's own inputs differ from the cached build's:
	// files of the context for COPY/ADD, the instruction, a build arg or
	// the base for RUN.
	InputsChanged Reason = "inputs-changed"
)

// Cause is the first step that ran in one stage (for one platform), why,
// and how many steps ran because of it.
type Cause struct {
	Reason   Reason `json:"reason"`
	Platform string `json:"platform,omitempty"`
	Stage    string `json:"stage,omitempty"`
	// Step is the first step that ran, as BuildKit names it.
	Step string `json:"step"`
	// Steps ran because of it, itself included; Time is their run time.
	Steps   int           `json:"steps"`
	Time    time.Duration `json:"-"`
	Seconds float64       `json:"seconds"`
	// Detail says the reason in words.
	Detail string `json:"detail"`
}

// Explanation is why the steps that ran ran.
type Explanation struct {
	// Ran is the number of steps that executed (failed ones included).
	Ran    int     `json:"ran"`
	Causes []Cause `json:"causes"`
}

// Facts are what is known besides the steps.
type Facts struct {
	// Analysis is the Dockerfile's stage analysis; nil when there is none.
	Analysis *stages.Analysis
	// Sources are the checked cache sources; nil when they were not
	// checked, which makes the source reasons unknown.
	Sources []verify.Source
	// NoCache is the no-cache input.
	NoCache bool
	// StageCaches is set when builder stages have caches of their own
	// (cache-stages): they are then not missed for being builders.
	StageCaches bool
}

// Explain groups the steps that ran in b by their cause.
func Explain(b progress.Build, f Facts) Explanation {
	var e Explanation
	type key struct{ platform, stage string }
	byStage := map[key][]progress.Step{}
	var order []key
	for _, st := range b.Steps {
		k := key{st.Platform, st.Stage}
		if _, ok := byStage[k]; !ok {
			order = append(order, k)
		}
		byStage[k] = append(byStage[k], st)
	}
	// The stages that ran, for the stages built on them.
	ranIn := map[key]bool{}
	for _, k := range order {
		steps := byStage[k]
		first := slices.IndexFunc(steps, executed)
		if first < 0 {
			continue
		}
		c := Cause{Platform: k.platform, Stage: k.stage, Step: steps[first].Text}
		for _, st := range steps[first:] {
			if executed(st) {
				c.Steps++
				c.Time += st.Duration
			}
		}
		c.Seconds = c.Time.Round(time.Millisecond).Seconds()
		e.Ran += c.Steps
		stage, ok := f.stage(k.stage)
		c.Reason, c.Detail = f.reason(steps[first], first == 0, k.platform, stage, ok, func(name string) bool { return ranIn[key{k.platform, name}] })
		e.Causes = append(e.Causes, c)
		ranIn[k] = true
	}
	return e
}

func executed(st progress.Step) bool { return st.State == progress.Ran || st.State == progress.Failed }

// stage finds the analysed stage that BuildKit's progress calls name:
// its AS name, "stage-N" for an unnamed one, "" for the only stage.
func (f Facts) stage(name string) (stages.Stage, bool) {
	if f.Analysis == nil {
		return stages.Stage{}, false
	}
	for _, s := range f.Analysis.Stages {
		if progressName(*f.Analysis, s) == name {
			return s, true
		}
	}
	return stages.Stage{}, false
}

func progressName(a stages.Analysis, s stages.Stage) string {
	return progress.StageName(s.Name, s.Index, len(a.Stages) == 1)
}

// reason decides why st, the first step that ran in stage s (known: s
// was found in the analysis), ran. ranBase reports whether a stage (by
// progress name) ran on the same platform.
func (f Facts) reason(st progress.Step, firstInStage bool, platform string, s stages.Stage, known bool, ranBase func(string) bool) (Reason, string) {
	if f.NoCache {
		return NoCache, "no-cache is set"
	}
	if f.Sources != nil {
		if r, d := f.sourceReason(platform); r != "" {
			return r, d
		}
	}
	if known && s.Role == stages.Builder && !f.registryCache() && !f.StageCaches {
		return NotInInlineCache, fmt.Sprintf("stage `%s` is not in the inline cache: it holds only the image's own stages", s.Label())
	}
	if known && s.BaseStage >= 0 && firstInStage {
		base := f.Analysis.Stages[s.BaseStage]
		if ranBase(progressName(*f.Analysis, base)) {
			return BaseStageRan, fmt.Sprintf("it is built on stage `%s`, whose steps ran", base.Label())
		}
	}
	return InputsChanged, changed(st, s, known, firstInStage)
}

// sourceReason is a reason found in the sources alone: none imported
// anything, or none for this platform.
func (f Facts) sourceReason(platform string) (Reason, string) {
	var imported, forPlatform bool
	var notFound int
	for _, src := range f.Sources {
		if src.State == verify.SourceNotFound {
			notFound++
		}
		if !src.Importable {
			continue
		}
		imported = true
		if platform == "" || !slices.ContainsFunc(src.Missing, func(m string) bool { return m == platform }) {
			forPlatform = true
		}
	}
	switch {
	case len(f.Sources) == 0:
		return NoSource, "the build has no cache source: no tag is pushed and cache-from is empty"
	case !imported && notFound == len(f.Sources):
		return NoSource, "no cache source exists yet (a first build)"
	case !imported:
		return NoSource, "no cache source could be imported"
	case !forPlatform:
		return OtherPlatform, fmt.Sprintf("the cache sources were built for other platforms than %s", platform)
	}
	return "", ""
}

// registryCache reports whether a registry cache manifest was imported,
// which may hold every stage (mode=max): builder stages are then not
// missed for being builders.
func (f Facts) registryCache() bool {
	return slices.ContainsFunc(f.Sources, func(s verify.Source) bool { return s.State == verify.SourceRegistryCache && s.Importable })
}

// changed says which inputs of the step differ, by instruction.
func changed(st progress.Step, s stages.Stage, known, firstInStage bool) string {
	text := "`" + st.Text + "`"
	switch st.Instruction {
	case "COPY", "ADD":
		if from := copyFrom(st.Text); from != "" {
			return text + " changed: the files it copies from `" + from + "` differ"
		}
		return text + " changed: files it copies from the build context differ"
	case "RUN":
		d := text + " changed: the instruction or a build argument or environment variable it uses"
		if strings.Contains(st.Text, "--mount") {
			d += ", or what it mounts,"
		}
		if firstInStage && known && s.BaseStage < 0 && s.Base != "scratch" {
			d += " or the base image " + s.Base
		}
		return d + " differs"
	}
	return text + " changed: the instruction differs"
}

// copyFrom is the --from of a COPY as BuildKit shows it, or "".
func copyFrom(text string) string {
	for _, f := range strings.Fields(text) {
		if v, ok := strings.CutPrefix(f, "--from="); ok {
			return v
		}
	}
	return ""
}

// Line is the one-line account for the result block, e.g. "4 steps ran:
// 3 because stage `build` is not in the inline cache (41.2 s), 1 because
// `COPY src/ .` changed (2.1 s)"; "" when no step ran.
func (e Explanation) Line() string {
	if e.Ran == 0 {
		return ""
	}
	// Causes with the same words are summed (the same stage on several
	// platforms).
	type sum struct {
		n int
		t time.Duration
	}
	sums := map[string]*sum{}
	var order []string
	for _, c := range e.Causes {
		w := c.short()
		if sums[w] == nil {
			sums[w] = &sum{}
			order = append(order, w)
		}
		sums[w].n += c.Steps
		sums[w].t += c.Time
	}
	// The costliest first: that is where a cache would help most.
	sort.SliceStable(order, func(i, j int) bool { return sums[order[i]].t > sums[order[j]].t })
	var parts []string
	for _, w := range order {
		parts = append(parts, fmt.Sprintf("%d because %s (%.1f s)", sums[w].n, w, sums[w].t.Seconds()))
	}
	return fmt.Sprintf("%d %s ran: %s", e.Ran, plural(e.Ran, "step", "steps"), strings.Join(parts, ", "))
}

// short is a cause in a few words, for Line.
func (c Cause) short() string {
	switch c.Reason {
	case NoCache:
		return "no-cache is set"
	case NoSource:
		return "no cache source was imported"
	case OtherPlatform:
		return "the cache sources hold other platforms"
	case NotInInlineCache:
		return "stage `" + c.Stage + "` is not in the inline cache"
	case BaseStageRan:
		return "stage `" + c.Stage + "` is built on a stage that ran"
	}
	return "`" + c.Step + "` changed"
}

// Lines are the detail, one line per cause, for the summary.
func (e Explanation) Lines() []string {
	var out []string
	for _, c := range e.Causes {
		where := ""
		if c.Platform != "" {
			where = c.Platform + " "
		}
		if c.Stage != "" {
			where += "stage `" + c.Stage + "` "
		}
		out = append(out, fmt.Sprintf("%sfirst ran `%s`: %s; %d %s ran from there (%.1f s)", where, c.Step, c.Detail, c.Steps, plural(c.Steps, "step", "steps"), c.Time.Seconds()))
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
