// Package plan turns validated settings and a backend into the steps of a
// build: build, push, verify. It is pure: it runs nothing and reads nothing,
// so every decision about the inline cache is visible in a table test.
package plan

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/inlinecache/action/internal/buildflags"
	"github.com/inlinecache/action/internal/inputs"
	"github.com/inlinecache/action/internal/stages"
)

// Kind is what a step does.
type Kind string

// Step kinds, in the order a plan has them.
const (
	Build  Kind = "build"
	Push   Kind = "push"
	Verify Kind = "verify"
	// Tag points the tags at the verified digest (tag-after-verify).
	Tag Kind = "tag"
)

// Step is one step of a plan, run in order by one loop.
type Step struct {
	Kind Kind
	// Path, Args and Env are the program a build or push step runs; Env
	// is added to the environment.
	Path string
	Args []string
	Env  []string
	// Tags are what a verify step reads back (the pushed tags, or with
	// tag-after-verify the tags whose repositories hold the digest), and
	// what a tag step sets.
	Tags []inputs.Tag
	// Skip says why a verify step has nothing to verify.
	Skip string
	// Progress is the --progress a build step asked for: "rawjson" where
	// the backend has it, else "plain".
	Progress string
	// Stage is the builder stage a build, verify or tag step is for
	// (cache-stages images); "" for the image.
	Stage string
	// Cache is the registry cache a verify step reads (cache-stages
	// registry).
	Cache string
}

// Command is the step's command line as the log shows it.
func (st Step) Command() []string { return slices.Concat(st.Env, []string{st.Path}, st.Args) }

// Plan is a build ready to run.
type Plan struct {
	Steps []Step

	// MetadataFile is where buildx writes the build's metadata; empty
	// when the backend writes none.
	MetadataFile string
	IIDFile      string

	// CacheMethod is the inline mechanism that reaches the build.
	CacheMethod inputs.CacheMethod
	// ByDigest: the build pushes by digest only and a tag step sets the
	// tags once verification passed.
	ByDigest bool
	// Notes tell the user where their input was changed or is doubtful.
	Notes []string
	// Info explains choices the plan made for the user (cache sources
	// from other branches), shown in the plan group.
	Info []string
	// TempSecrets must be written before the build and removed after it.
	TempSecrets []TempSecret
	// Stages is the Dockerfile's stage analysis; nil when the Dockerfile
	// was not given or could not be read (a note says why).
	Stages *stages.Analysis
	// CacheSources are the images and registry caches the build imports
	// (the registry refs of its cache-from entries), in the order given,
	// for the cache source check.
	CacheSources []string
	// StageImages are the builder stages built and pushed first, each as
	// an image with its inline cache (cache-stages images).
	StageImages []StageImage
	// RegistryCache is the mode=max cache the build exports (cache-stages
	// registry); "" otherwise.
	RegistryCache string
	// Pushes says the image's build pushes (push, or an output that
	// pushes); PushedTags are the tags it pushes to (or would).
	Pushes     bool
	PushedTags []inputs.Tag
	// Mounts is cache-mounts registry's snapshot and mounts; nil when off.
	Mounts *MountCache
}

// Commands are the plan's command lines in the order they run.
func (p Plan) Commands() [][]string {
	var out [][]string
	for _, st := range p.Steps {
		if st.Path != "" {
			out = append(out, st.Command())
		}
	}
	return out
}

// New composes the build on backend b, or refuses what b cannot do (see
// Check). tmpDir holds the metadata, image ID and secret files.
func New(s inputs.Settings, b Backend, tmpDir string, opts ...Option) (Plan, error) {
	if len(b.Command) == 0 {
		return Plan{}, fmt.Errorf("no build command")
	}
	img := derive(s)
	if err := check(img, b); err != nil {
		return Plan{}, err
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	p := Plan{
		IIDFile:    filepath.Join(tmpDir, "iid"),
		Notes:      slices.Clone(s.Notes),
		Pushes:     img.pushes,
		PushedTags: slices.Clone(img.pushedTags),
	}
	if b.Can(Buildx) {
		p.MetadataFile = filepath.Join(tmpDir, "metadata.json")
	}
	p.choose(img, b, o.dockerfile)
	cache := p.addStageCaches(img, b, tmpDir)
	p.addImageBuild(img, b, tmpDir, cache)
	p.addVerifyAndTag(img, cache)
	var notes []string
	p.Mounts, notes = mountCache(img, b, p.Stages, tmpDir)
	p.Notes, p.Steps = append(p.Notes, notes...), mountSteps(p.Steps, p.Mounts)
	return p, nil
}

// derived is one build's settings with the facts the planner reads from
// them, worked out once: whether it pushes, and to which tags.
type derived struct {
	inputs.Settings
	pushes     bool
	pushedTags []inputs.Tag
}

func derive(s inputs.Settings) derived {
	return derived{Settings: s, pushes: s.Pushes(), pushedTags: s.PushedTags()}
}

// choose makes the plan's decisions before any command: the inline cache
// method, tag-after-verify, and the stage analysis with its warning.
func (p *Plan) choose(s derived, b Backend, dockerfile []byte) {
	method, _, _, notes := inlineCache(s, b.Can(Buildx))
	p.CacheMethod = method
	p.Notes = append(p.Notes, notes...)
	var note string
	p.ByDigest, note = byDigest(s, b)
	if note != "" {
		p.Notes = append(p.Notes, note)
	}
	p.Stages, notes = analyzeStages(s.Settings, dockerfile)
	p.Notes = append(p.Notes, notes...)
	if w := stageWarning(s, p.Stages, b.Can(CacheExport)); w != "" && (s.CacheStages == "" || s.CacheStages == inputs.StagesOff) {
		p.Notes = append(p.Notes, w)
	}
}

// addStageCaches plans cache-stages and adds the stage builds, which run
// first on the same builder, so the image's build finds their work there;
// every build imports every stage cache.
func (p *Plan) addStageCaches(s derived, b Backend, tmpDir string) stageCache {
	cache, notes := stageCaches(s, p.Stages, b.Can(Buildx), tmpDir)
	p.Notes = append(p.Notes, notes...)
	p.StageImages, p.RegistryCache = cache.images, cache.registry
	if len(cache.images) > 0 {
		var names []string
		for _, img := range cache.images {
			names = append(names, fmt.Sprintf("%s as %s", img.Stage, img.Tags[0].Raw))
		}
		p.Info = append(p.Info, "cache-stages images: builder stages built and pushed first, each with the inline cache, as "+strings.Join(names, ", "))
	}
	for _, img := range cache.images {
		c := compose(stageSettings(s.Settings, img, cache.from), b, tmpDir, img.MetadataFile, "", p.ByDigest, imports{})
		st := c.step
		st.Stage = img.Stage
		p.Steps = append(p.Steps, st)
		p.TempSecrets = appendSecrets(p.TempSecrets, c.temps)
	}
	return cache
}

// addImageBuild adds the image's build, importing and exporting the stage
// caches too, and docker push where the build cannot push.
func (p *Plan) addImageBuild(s derived, b Backend, tmpDir string, cache stageCache) {
	main := s
	main.CacheTo = append(slices.Clone(s.CacheTo), cache.to...)
	main.CacheFrom = append(slices.Clone(s.CacheFrom), cache.from...)
	var im imports
	if s.CacheStages == inputs.StagesRegistry && len(cache.from) > 0 {
		// The mode=max caches replace the image tags as sources: they
		// hold all the image's inline cache does and the builder stages
		// too, and next to an image whose inline cache starts with the
		// same step (a shared base and first step) BuildKit may follow
		// that step's chain in the image and miss the stage's steps.
		main.CacheFrom, im = slices.Clone(s.CacheFrom), imports{first: cache.from, replace: true}
		p.Info = append(p.Info, "cache-stages registry: the build imports the mode=max caches "+strings.Join(refsOf(cache.from), ", ")+" in place of the image tags, whose inline cache they contain")
	}
	c := compose(main, b, tmpDir, p.MetadataFile, p.IIDFile, p.ByDigest, im)
	p.Info = append(p.Info, c.info...)
	p.CacheSources = c.sources
	p.TempSecrets = appendSecrets(p.TempSecrets, c.temps)
	p.Steps = append(p.Steps, c.step)
	if s.Push && !b.Can(Buildx) {
		for _, t := range s.Tags {
			p.Steps = append(p.Steps, Step{Kind: Push, Path: b.Command[0], Args: []string{"push", t.Raw}})
		}
	}
}

// addVerifyAndTag adds the verify steps (the image's, then the stage caches')
// and, with tag-after-verify, the tag steps.
func (p *Plan) addVerifyAndTag(s derived, cache stageCache) {
	v := verifyStep(s)
	p.Steps = append(p.Steps, v)
	if v.Skip == "" {
		for _, img := range cache.images {
			p.Steps = append(p.Steps, Step{Kind: Verify, Stage: img.Stage, Tags: slices.Clone(img.Tags)})
		}
		if cache.registry != "" {
			p.Steps = append(p.Steps, Step{Kind: Verify, Cache: cache.registry})
		}
	}
	if p.ByDigest {
		p.Steps = append(p.Steps, Step{Kind: Tag, Tags: slices.Clone(s.Tags)})
		for _, img := range cache.images {
			p.Steps = append(p.Steps, Step{Kind: Tag, Stage: img.Stage, Tags: slices.Clone(img.Tags)})
		}
	}
}

// composed is one build command and what composing it found.
type composed struct {
	step    Step
	sources []string // registry refs imported, for the source check
	info    []string
	temps   []TempSecret
}

// compose spells one build command on backend b: the image's build, or a
// stage cache build (whose settings stageSettings derived).
func compose(s derived, b Backend, tmpDir, metadataFile, iidFile string, byDigest bool, im imports) composed {
	var c composed
	buildx := b.Can(Buildx)
	_, buildArgs, cacheTo, _ := inlineCache(s, buildx)
	a := argList{args: append(slices.Clone(b.Command[1:]), "build")}
	s = gitContexts(s, b)
	a.each("--build-arg", buildArgs)
	c.sources, c.info = a.cacheFrom(s, im, buildx)
	a.each("--cache-to", strs(cacheTo))
	a.one("--file", s.File)
	if iidFile != "" && exportsImageID(s.Settings) {
		a.one("--iidfile", iidFile)
	}
	a.each("--label", s.Labels)
	a.one("--platform", strings.Join(s.Platforms, ","))
	if !byDigest {
		for _, t := range s.Tags {
			a.one("--tag", t.Raw)
		}
	}
	a.one("--target", s.Target)
	c.temps = a.dropIn(s.Settings, tmpDir, buildx)
	a.one("--builder", s.Builder)
	if buildx {
		a.flag("--load", s.Load)
		a.one("--metadata-file", metadataFile)
	}
	a.flag("--no-cache", s.NoCache)
	a.flag("--pull", s.Pull)
	if byDigest {
		a.one("--output", digestOutput(s.Tags).String())
	}
	a.flag("--push", s.Push && buildx && !byDigest)
	// rawjson carries every step as data (cached, times, errors with
	// their source); where it is missing, plain is what CI logs show
	// anyway, and asking for it keeps the log readable even under a TTY.
	progress := "plain"
	if b.Can(RawJSON) {
		progress = "rawjson"
	}
	a.args = append(a.args, "--progress", progress, s.Context)
	c.step = Step{Kind: Build, Path: b.Command[0], Args: a.args, Env: slices.Clone(b.Env), Progress: progress}
	return c
}

// cacheFrom adds the build's cache imports and returns the registry refs
// among them, for the source check, and the info lines about them.
func (a *argList) cacheFrom(s derived, im imports, buildx bool) (refs, info []string) {
	sources, info := cacheFrom(s, im)
	for _, e := range sources {
		ref, hasRef := e.Get("ref")
		if hasRef && (e.Type == "registry" || !buildx) {
			refs = append(refs, ref)
		}
		if !buildx {
			// docker build takes images only (Check refused the rest).
			a.one("--cache-from", ref)
			continue
		}
		a.one("--cache-from", e.String())
	}
	return refs, info
}

// appendSecrets adds the secret files not yet listed: every build of a
// plan gets the same ones.
func appendSecrets(have, more []TempSecret) []TempSecret {
	for _, t := range more {
		if !slices.Contains(have, t) {
			have = append(have, t)
		}
	}
	return have
}

// byDigest decides tag-after-verify: push by digest, verify, then tag.
// Where the settings or the backend leave no way to, the tags are pushed
// with the image as before, and the note says the guarantee does not hold
// when the user could have expected it.
func byDigest(s derived, b Backend) (bool, string) {
	mode := s.TagAfterVerify
	if mode == inputs.TagAfterOff || !s.Push || len(s.Tags) == 0 || s.Evaluates() {
		return false, ""
	}
	if mode == inputs.TagAfterAuto && s.Verify != inputs.VerifyStrict {
		return false, ""
	}
	const without = "tag-after-verify: the tags are pushed with the image, before verification, so a tag can point at an image whose cache fails verification: "
	switch {
	case !b.Can(PushByDigest):
		// Check refused an explicit true; this is auto.
		return false, without + b.Where + " cannot push by digest (" + b.RemedyFor(PushByDigest) + ", or set tag-after-verify: false to silence this)"
	case s.Load:
		return false, without + "load is also set, and pushing by digest next to loading needs two exporters (build and load in separate steps to keep the guarantee)"
	case slices.ContainsFunc(s.Outputs, func(o buildflags.Output) bool { return o.Type == "image" || o.Type == "registry" }):
		return false, without + "an image output is given in outputs and is pushed as written"
	}
	return true, ""
}

// digestOutput pushes the image by digest, without a tag, to every
// repository of the tags: BuildKit's image exporter pushes to each name of
// a comma-separated list, so all repositories get the same digest from
// one export.
func digestOutput(tags []inputs.Tag) buildflags.Output {
	var repos []string
	for _, t := range tags {
		if r := t.Ref.Context().Name(); !slices.Contains(repos, r) {
			repos = append(repos, r)
		}
	}
	return buildflags.Output{Type: "image", Attrs: buildflags.Attrs{
		{Key: "name", Value: strings.Join(repos, ",")},
		{Key: "push-by-digest", Value: "true"},
		{Key: "name-canonical", Value: "true"},
		{Key: "push", Value: "true"},
	}}
}

// gitContexts sends the workflow's git context in the query form where
// build-push-action does (BUILDX_SEND_GIT_QUERY_AS_INPUT on buildx 0.29+).
func gitContexts(s derived, b Backend) derived {
	if !s.GitHub.GitQuery || !b.Can(GitQuery) {
		return s
	}
	s.Context = s.GitHub.QueryContext(s.Context)
	s.BuildContexts = slices.Clone(s.BuildContexts)
	for i, c := range s.BuildContexts {
		if name, v, ok := strings.Cut(c, "="); ok {
			s.BuildContexts[i] = name + "=" + s.GitHub.QueryContext(v)
		}
	}
	return s
}

// inlineCache picks the inline mechanism and applies it to the build-args
// and cache-to entries.
func inlineCache(s derived, buildx bool) (inputs.CacheMethod, []string, []buildflags.CacheEntry, []string) {
	var notes []string
	method, cacheToIn := resolveMethod(s), s.CacheTo
	if !buildx {
		// Without --cache-to, the inline cache is asked for with the
		// build-arg, and an inline cache-to entry means just that.
		method, cacheToIn = inputs.MethodBuildArg, nil
		if s.CacheMethod == inputs.MethodAuto {
			notes = append(notes, "cache-method auto: buildx is not installed, so the inline cache is requested with BUILDKIT_INLINE_CACHE=1 on docker build")
		}
		for _, e := range s.CacheTo {
			if mode, ok := e.Get("mode"); ok && mode != "min" {
				notes = append(notes, fmt.Sprintf("cache-to: inline cache ignores mode=%s: it only ever holds the layers of the final image (mode=min)", mode))
			}
		}
	}
	buildArgs, cacheTo, applied := applyMethod(method, s.BuildArgs, cacheToIn)
	return method, buildArgs, cacheTo, append(notes, applied...)
}

// verifyStep reads back what the build pushed (through push or an output
// that pushes); a build only evaluated (call) or not pushed has nothing to
// verify.
func verifyStep(s derived) Step {
	st := Step{Kind: Verify}
	switch {
	case s.Verify == inputs.VerifyOff:
		st.Skip = "verify is off"
	case s.Evaluates():
		st.Skip = fmt.Sprintf("call %q evaluates the build without producing an image", s.Call)
	case !s.pushes:
		st.Skip = "nothing was pushed, so there is no registry image to verify"
		if s.Load {
			st.Skip = "nothing was pushed (load only: the image went to the local docker engine), so there is no registry image to verify"
		}
	default:
		st.Tags = slices.Clone(s.pushedTags)
	}
	return st
}

// argList composes one command line; every flag of every backend is
// spelled here, once.
type argList struct{ args []string }

// one adds flag with value, if there is a value.
func (a *argList) one(flag, v string) {
	if v != "" {
		a.args = append(a.args, flag, v)
	}
}

func (a *argList) each(flag string, vs []string) {
	for _, v := range vs {
		a.args = append(a.args, flag, v)
	}
}

// flag adds a flag without value when on.
func (a *argList) flag(flag string, on bool) {
	if on {
		a.args = append(a.args, flag)
	}
}

func strs[T fmt.Stringer](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.String()
	}
	return out
}

// resolveMethod picks the one inline mechanism. auto keeps what the user
// already asked for through build-args, and otherwise uses --cache-to
// type=inline, which every buildx driver honours. (inputs refuses a
// BUILDKIT_INLINE_CACHE that turns the cache off.)
func resolveMethod(s derived) inputs.CacheMethod {
	if s.CacheMethod != inputs.MethodAuto {
		return s.CacheMethod
	}
	argSet := slices.ContainsFunc(s.BuildArgs, func(a string) bool {
		k, _, _ := strings.Cut(a, "=")
		return k == inputs.InlineCacheArg
	})
	if argSet && !slices.ContainsFunc(s.CacheTo, isInline) {
		return inputs.MethodBuildArg
	}
	return inputs.MethodCacheTo
}

func isInline(e buildflags.CacheEntry) bool { return e.Type == "inline" }

// applyMethod makes exactly one inline mechanism reach the build: the chosen
// one once, the other not at all.
func applyMethod(m inputs.CacheMethod, buildArgs []string, cacheTo []buildflags.CacheEntry) ([]string, []buildflags.CacheEntry, []string) {
	var notes []string
	var args []string
	argDone := false
	for _, a := range buildArgs {
		k, _, _ := strings.Cut(a, "=")
		if k != inputs.InlineCacheArg {
			args = append(args, a)
			continue
		}
		switch {
		case m != inputs.MethodBuildArg:
			notes = append(notes, fmt.Sprintf("build-args: dropped %s; cache-method %s requests the inline cache with --cache-to type=inline", a, m))
		case !argDone:
			args = append(args, inputs.InlineCacheArg+"=1")
			argDone = true
		}
	}
	if m == inputs.MethodBuildArg && !argDone {
		args = append(args, inputs.InlineCacheArg+"=1")
	}

	var to []buildflags.CacheEntry
	inlineDone := false
	for _, e := range cacheTo {
		if !isInline(e) {
			to = append(to, e)
			continue
		}
		switch {
		case m == inputs.MethodBuildArg:
			notes = append(notes, "cache-to: dropped type=inline; cache-method build-arg requests the inline cache with BUILDKIT_INLINE_CACHE=1")
		case !inlineDone:
			if mode, ok := e.Get("mode"); ok && mode != "min" {
				notes = append(notes, fmt.Sprintf("cache-to: inline cache ignores mode=%s: it only ever holds the layers of the final image (mode=min); export mode=max to a registry cache ref instead", mode))
			}
			to = append(to, e)
			inlineDone = true
		}
	}
	if m == inputs.MethodCacheTo && !inlineDone {
		to = append(to, buildflags.CacheEntry{Type: "inline"})
	}
	for _, e := range to {
		if mode, _ := e.Get("mode"); !isInline(e) && mode == "max" {
			notes = append(notes, fmt.Sprintf("cache-to: mode=max applies to the type=%s export only; the inline cache always holds just the final image's layers (mode=min)", e.Type))
		}
	}
	return args, to, notes
}

// imports are what the planner puts before the tag, branch and user
// sources; with replace they stand in for the tags and the branch images.
type imports struct {
	first   []buildflags.CacheEntry
	replace bool
}

// cacheFrom imports the cache of every tag being pushed, so a rebuild on a
// cold machine starts from the previous push, then the images of the
// branches this one comes from, then whatever the user listed. The info
// lines say where the branch images come from.
func cacheFrom(s derived, im imports) ([]buildflags.CacheEntry, []string) {
	var out []buildflags.CacheEntry
	seen := map[string]bool{}
	add := func(e buildflags.CacheEntry) {
		if k := e.String(); !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	for _, e := range im.first {
		add(e)
	}
	if im.replace {
		for _, e := range s.CacheFrom {
			add(e)
		}
		return out, nil
	}
	if s.pushes {
		for _, t := range s.pushedTags {
			add(registrySource(t.Raw))
		}
	}
	refs, info := branchSources(s)
	for _, r := range refs {
		add(registrySource(r))
	}
	for _, e := range s.CacheFrom {
		add(e)
	}
	return out, info
}

func refsOf(es []buildflags.CacheEntry) []string {
	var out []string
	for _, e := range es {
		if ref, ok := e.Get("ref"); ok {
			out = append(out, ref)
		}
	}
	return out
}

func registrySource(ref string) buildflags.CacheEntry {
	return buildflags.CacheEntry{Type: "registry", Attrs: buildflags.Attrs{{Key: "ref", Value: ref}}}
}
