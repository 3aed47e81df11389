// Package plan turns validated settings into the buildx command line. It is
// pure: it runs nothing and reads nothing, so every decision about the inline
// cache is visible in a table test.
package plan

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/inlinecache/action/internal/cacheentry"
	"github.com/inlinecache/action/internal/inputs"
)

// Builder is what is known about the buildx installation.
type Builder struct {
	// Command starts buildx: {"docker", "buildx"} for the CLI plugin, or
	// {"buildx"} for a standalone binary.
	Command []string
}

// Plan is a build ready to run.
type Plan struct {
	Path string
	Args []string

	MetadataFile string
	IIDFile      string

	// CacheMethod is the inline mechanism that reaches the build.
	CacheMethod inputs.CacheMethod
	// Notes tell the user where their input was changed or is doubtful.
	Notes []string
	// TempSecrets must be written before the build and removed after it.
	TempSecrets []TempSecret
}

// New composes the build. tmpDir holds the metadata and image ID files.
func New(s inputs.Settings, b Builder, tmpDir string) (Plan, error) {
	if len(b.Command) == 0 {
		return Plan{}, fmt.Errorf("no buildx command")
	}
	p := Plan{
		Path:         b.Command[0],
		MetadataFile: filepath.Join(tmpDir, "metadata.json"),
		IIDFile:      filepath.Join(tmpDir, "iid"),
		Notes:        slices.Clone(s.Notes),
	}

	method := resolveMethod(s)
	p.CacheMethod = method
	buildArgs, cacheTo, notes := applyMethod(method, s.BuildArgs, s.CacheTo)
	p.Notes = append(p.Notes, notes...)

	args := append(slices.Clone(b.Command[1:]), "build")
	for _, a := range buildArgs {
		args = append(args, "--build-arg", a)
	}
	for _, e := range cacheFrom(s) {
		args = append(args, "--cache-from", e.String())
	}
	for _, e := range cacheTo {
		args = append(args, "--cache-to", e.String())
	}
	if s.File != "" {
		args = append(args, "--file", s.File)
	}
	if exportsImageID(s) {
		args = append(args, "--iidfile", p.IIDFile)
	}
	for _, l := range s.Labels {
		args = append(args, "--label", l)
	}
	if len(s.Platforms) > 0 {
		args = append(args, "--platform", strings.Join(s.Platforms, ","))
	}
	for _, t := range s.Tags {
		args = append(args, "--tag", t.Raw)
	}
	if s.Target != "" {
		args = append(args, "--target", s.Target)
	}
	extra, temps := dropInArgs(s, tmpDir)
	args = append(args, extra...)
	p.TempSecrets = temps
	if s.Builder != "" {
		args = append(args, "--builder", s.Builder)
	}
	if s.Load {
		args = append(args, "--load")
	}
	args = append(args, "--metadata-file", p.MetadataFile)
	if s.NoCache {
		args = append(args, "--no-cache")
	}
	if s.Pull {
		args = append(args, "--pull")
	}
	if s.Push {
		args = append(args, "--push")
	}
	// Plain progress is what CI logs show anyway; asking for it keeps the
	// log parseable for the cached-step report even under a TTY.
	args = append(args, "--progress", "plain", s.Context)
	p.Args = args
	return p, nil
}

// resolveMethod picks the one inline mechanism. auto keeps what the user
// already asked for through build-args, and otherwise uses --cache-to
// type=inline, which every buildx driver honours. (inputs refuses a
// BUILDKIT_INLINE_CACHE that turns the cache off.)
func resolveMethod(s inputs.Settings) inputs.CacheMethod {
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

func isInline(e cacheentry.Entry) bool { return e.Type == "inline" }

// applyMethod makes exactly one inline mechanism reach the build: the chosen
// one once, the other not at all.
func applyMethod(m inputs.CacheMethod, buildArgs []string, cacheTo []cacheentry.Entry) ([]string, []cacheentry.Entry, []string) {
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

	var to []cacheentry.Entry
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
		to = append(to, cacheentry.Entry{Type: "inline"})
	}
	for _, e := range to {
		if mode, _ := e.Get("mode"); !isInline(e) && mode == "max" {
			notes = append(notes, fmt.Sprintf("cache-to: mode=max applies to the type=%s export only; the inline cache always holds just the final image's layers (mode=min)", e.Type))
		}
	}
	return args, to, notes
}

// cacheFrom imports the cache of every tag being pushed, so a rebuild on a
// cold machine starts from the previous push, then whatever the user listed.
func cacheFrom(s inputs.Settings) []cacheentry.Entry {
	var out []cacheentry.Entry
	seen := map[string]bool{}
	add := func(e cacheentry.Entry) {
		if k := e.String(); !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	if s.Pushes() {
		for _, t := range s.PushedTags() {
			add(cacheentry.Entry{Type: "registry", Attrs: []cacheentry.Attr{{Key: "ref", Value: t.Raw}}})
		}
	}
	for _, e := range s.CacheFrom {
		add(e)
	}
	return out
}
