package plan

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/inlinecache/action/internal/buildflags"
	"github.com/inlinecache/action/internal/inputs"
	"github.com/inlinecache/action/internal/stages"
)

// Suffixes of the tags the stage caches live under, after the first
// pushed tag, in its repository (so the same credentials reach them).
const (
	StageTagInfix = "-stage-"
	BuildcacheTag = "-buildcache"
	maxTagLength  = 128 // the distribution spec's limit
)

// StageImage is one builder stage built as its own target with the
// inline cache and pushed as an image (cache-stages images).
type StageImage struct {
	// Stage is the stage's name.
	Stage string
	// Tags are where it is pushed: <first tag>-stage-<stage>.
	Tags []inputs.Tag
	// MetadataFile is its build's buildx metadata file.
	MetadataFile string
	// Steps is how many Dockerfile steps the stage has.
	Steps int
}

// stageCache is what cache-stages adds to a plan.
type stageCache struct {
	images   []StageImage
	registry string // the mode=max cache ref (cache-stages registry)
	// from are the stage caches every build imports (this tag's and the
	// branches'); to is the registry cache export.
	from []buildflags.CacheEntry
	to   []buildflags.CacheEntry
}

// stageCaches plans cache-stages: where each stage cache lives, what
// every build imports and exports. Whatever stops a stage from being
// cached is a note; the image's build goes on without it.
func stageCaches(s derived, a *stages.Analysis, buildx bool, tmpDir string) (stageCache, []string) {
	mode := s.CacheStages
	if mode == "" || mode == inputs.StagesOff || !buildx || s.Evaluates() {
		return stageCache{}, nil
	}
	w := stageCacheWhere{s: s, fix: inputs.CacheStagesInput + " " + string(mode) + ": "}
	tags := s.pushedTags // the tags, or without tags the outputs' names
	if len(tags) == 0 {
		return stageCache{}, []string{w.fix + "no tag is given, so there is nowhere to keep stage caches; only the image's inline cache is used"}
	}
	w.first = tags[0]
	w.branches = branchRefs(s, w.first)
	if !s.pushes {
		w.notes = append(w.notes, w.fix+"nothing is pushed, so no stage cache is written; the existing ones are imported")
	}
	switch mode {
	case inputs.StagesRegistry:
		w.registry(a)
	case inputs.StagesImages:
		w.images(a, tmpDir)
		if n := unchangedPull(w.fix, a); n != "" {
			w.notes = append(w.notes, n)
		}
	}
	if n := cannotWin(w.fix, a); n != "" {
		w.notes = append(w.notes, n)
	}
	return w.c, w.notes
}

// stageCacheWhere works out one build's stage caches beside its first
// pushed tag and the branch images in that tag's repository.
type stageCacheWhere struct {
	s        derived
	fix      string // the notes' start: the input and its mode
	first    inputs.Tag
	branches []inputs.Tag
	c        stageCache
	notes    []string
}

// from imports the stage cache ref and its branch counterparts.
func (w *stageCacheWhere) from(ref, suffix string) {
	w.c.from = append(w.c.from, registrySource(ref))
	for _, b := range w.branches {
		if r, err := suffixed(b, suffix); err == nil {
			w.c.from = append(w.c.from, registrySource(r))
		}
	}
}

// registry plans the one mode=max registry cache (cache-stages registry).
func (w *stageCacheWhere) registry(a *stages.Analysis) {
	ref, err := suffixed(w.first, BuildcacheTag)
	if err != nil {
		w.notes = append(w.notes, w.fix+err.Error()+"; only the image's inline cache is used")
		return
	}
	if clash(w.s, ref) {
		w.notes = append(w.notes, fmt.Sprintf("%sthe cache tag %s is also one of the image's tags; only the image's inline cache is used", w.fix, ref))
		return
	}
	w.from(ref, BuildcacheTag)
	if w.s.pushes {
		w.c.registry = ref
		// ignore-error: a refused cache export is a warning (its
		// verification says so), never a lost image push.
		w.c.to = append(w.c.to, buildflags.CacheEntry{Type: "registry", Attrs: buildflags.Attrs{
			{Key: "ref", Value: ref}, {Key: "mode", Value: "max"}, {Key: "ignore-error", Value: "true"},
		}})
	}
	if a != nil && len(a.BuildersWithSteps()) == 0 {
		w.notes = append(w.notes, w.fix+"the Dockerfile has no builder stage with steps, so the mode=max cache holds nothing the inline cache does not")
	}
}

// images plans a stage image per named builder stage with steps
// (cache-stages images).
func (w *stageCacheWhere) images(a *stages.Analysis, tmpDir string) {
	if a == nil {
		w.notes = append(w.notes, w.fix+"the Dockerfile's stages could not be read (see the stage analysis note), so no stage is cached; only the image's inline cache is used")
		return
	}
	for _, st := range a.BuildersWithSteps() {
		if st.Name == "" {
			w.notes = append(w.notes, fmt.Sprintf("%sbuilder stage %s (line %d) has no name, so it cannot be built as a target; name it (FROM … AS <name>) to cache it", w.fix, st.Label(), st.Line))
			continue
		}
		infix := StageTagInfix + st.Name
		ref, err := suffixed(w.first, infix)
		if err != nil {
			w.notes = append(w.notes, fmt.Sprintf("%sstage %q: %v; it is not cached", w.fix, st.Name, err))
			continue
		}
		if clash(w.s, ref) {
			w.notes = append(w.notes, fmt.Sprintf("%sstage %q: its cache tag %s is also one of the image's tags; it is not cached", w.fix, st.Name, ref))
			continue
		}
		w.from(ref, infix)
		if !w.s.pushes {
			continue
		}
		tag, _ := name.NewTag(ref, name.WeakValidation) // suffixed made it
		w.c.images = append(w.c.images, StageImage{Stage: st.Name, Tags: []inputs.Tag{{Raw: ref, Ref: tag}}, Steps: len(st.Steps), MetadataFile: stageMetadataFile(tmpDir, st.Name)})
	}
	if a.Target >= 0 && a.Target < len(a.Stages) && len(a.BuildersWithSteps()) == 0 {
		w.notes = append(w.notes, fmt.Sprintf("%sthe target stage %q is the image: its steps and its base stages' are in the image's inline cache, and it copies from no builder stage with steps", w.fix, a.Stages[a.Target].Label()))
	}
}

// cannotWin says, before the build, when a stage cache can keep no step
// that a source change would re-run: every command of the builder stages
// comes after the whole build context is copied in (COPY . .), so a
// changed source re-runs them all whatever the cache holds, and the stage
// cache only adds its import and export to every build.
func cannotWin(fix string, a *stages.Analysis) string {
	if a == nil {
		return ""
	}
	var runs []string
	for _, b := range a.BuildersWithSteps() {
		if keepsCommand(a, b) {
			return ""
		}
		for _, st := range b.CostlySteps() {
			runs = append(runs, fmt.Sprintf("line %d `%s`", st.Line, shorten(st.Text, 40)))
		}
	}
	if len(runs) == 0 {
		return ""
	}
	return fmt.Sprintf("%sit cannot make this Dockerfile's rebuilds faster than cache-stages off: every command of the builder stages (%s) comes after the whole build context is copied in, so a source change re-runs them all whatever the stage cache holds, and the stage cache adds its import and export to every build; copy the dependency files and install them before copying the sources, or set cache-stages off",
		fix, strings.Join(runs, ", "))
}

// keepsCommand reports whether stage b (or a stage it is based on) runs a
// command before the whole build context is copied in: a step a stage
// cache keeps across source changes.
func keepsCommand(a *stages.Analysis, b stages.Stage) bool {
	var chain []stages.Stage
	for i := b.Index; i >= 0 && len(chain) < len(a.Stages); i = a.Stages[i].BaseStage {
		chain = append([]stages.Stage{a.Stages[i]}, chain...)
	}
	for _, st := range chain {
		for _, step := range st.Steps {
			switch {
			case step.Costly():
				return true
			case copiesContext(step):
				return false
			}
		}
	}
	return false
}

// copiesContext reports whether a COPY or ADD copies the whole build
// context ("COPY . .", "ADD ./ /src").
func copiesContext(s stages.Step) bool {
	if (s.Instruction != "COPY" && s.Instruction != "ADD") || strings.Contains(s.Text, "--from") {
		return false
	}
	var args []string
	for _, w := range strings.Fields(s.Text)[1:] {
		if !strings.HasPrefix(w, "--") {
			args = append(args, w)
		}
	}
	for _, src := range args[:max(len(args)-1, 0)] {
		if src == "." || src == "./" {
			return true
		}
	}
	return false
}

// unchangedPull says, before the build, what images costs a rebuild in
// which nothing changed: the image's build imports the stage images, and
// BuildKit then checks each cached COPY --from of a builder stage against
// the files of that stage's result, pulling and unpacking the whole stage
// image (measured on testdata/goservice: 145 MB and 5–7 s against 0.9 s
// inline-only; running the image's build before the stage builds ended it
// in one round of two). registry pulls nothing for it.
func unchangedPull(fix string, a *stages.Analysis) string {
	if a == nil {
		return ""
	}
	var from []string
	for _, st := range a.Chain() {
		for _, i := range st.From {
			if b := a.Stages[i]; b.Role == stages.Builder && len(b.Steps) > 0 && !slices.Contains(from, strconv.Quote(b.Label())) {
				from = append(from, strconv.Quote(b.Label()))
			}
		}
	}
	if len(from) == 0 {
		return ""
	}
	return fmt.Sprintf("%sthe image copies from builder stage %s (COPY --from): on a cold builder BuildKit checks a cached COPY --from against the stage's files, so even a rebuild in which nothing changed pulls and unpacks the whole stage image (goservice: 145 MB, 5–7 s against 0.9 s with cache-stages off); cache-stages registry keeps the same steps without that pull",
		fix, strings.Join(from, ", "))
}

// stageSettings are the settings of one stage's cache build: the same
// build up to the stage as target, pushed to its own tag with the inline
// cache, without what belongs to the image alone (outputs, load,
// attestations, annotations, the user's cache exports).
func stageSettings(s inputs.Settings, img StageImage, from []buildflags.CacheEntry) derived {
	ss := s
	ss.Target = img.Stage
	ss.Tags = img.Tags
	ss.Outputs, ss.Load, ss.Call = nil, false, ""
	ss.Annotations, ss.Attests = nil, nil
	ss.Provenance, ss.SBOM = "false", ""
	ss.CacheTo = nil
	// Only the stage caches (and the user's): BuildKit follows a step's
	// cache chain within the source where it matched the first step, so
	// the image's inline cache, which often starts with the same step
	// (COPY of a tool, a shared base), would end the stage's hits there.
	ss.CacheFrom = slices.Concat(s.CacheFrom, from)
	ss.FromBranches = false
	return derive(ss)
}

// branchRefs are the branch images (cache-from-branches) in the first
// tag's repository, as tags to suffix.
func branchRefs(s derived, first inputs.Tag) []inputs.Tag {
	refs, _ := branchSources(s)
	var out []inputs.Tag
	for _, r := range refs {
		t, err := name.NewTag(r, name.WeakValidation)
		if err == nil && t.Context() == first.Ref.Context() {
			out = append(out, inputs.Tag{Raw: r, Ref: t})
		}
	}
	return out
}

// suffixed is t with suffix added to its tag, in its repository as the
// user spelled it; it fails when the tag would be too long.
func suffixed(t inputs.Tag, suffix string) (string, error) {
	tag := t.Ref.TagStr() + suffix
	if len(tag) > maxTagLength {
		return "", fmt.Errorf("the tag %s would be %d characters, more than the %d a registry takes", tag, len(tag), maxTagLength)
	}
	ref := strings.TrimSuffix(t.Raw, ":"+t.Ref.TagStr()) + ":" + tag
	if _, err := name.NewTag(ref, name.WeakValidation); err != nil {
		return "", fmt.Errorf("%s is not a valid tag: %w", ref, err)
	}
	return ref, nil
}

// clash reports a stage cache tag that is also a tag of the image: the
// two pushes would overwrite each other.
func clash(s derived, ref string) bool {
	r, err := name.NewTag(ref, name.WeakValidation)
	if err != nil {
		return false
	}
	for _, t := range s.pushedTags {
		if t.Ref.Name() == r.Name() {
			return true
		}
	}
	return false
}

// stageMetadataFile is where a stage build's metadata goes.
func stageMetadataFile(tmpDir, stage string) string {
	return filepath.Join(tmpDir, "metadata-stage-"+strings.ReplaceAll(stage, "/", "_")+".json")
}
