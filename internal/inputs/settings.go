package inputs

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/inlinecache/action/internal/buildflags"
)

// CacheMethod is how the inline cache export is requested from BuildKit.
type CacheMethod string

// Cache methods.
const (
	MethodAuto     CacheMethod = "auto"
	MethodCacheTo  CacheMethod = "cache-to"
	MethodBuildArg CacheMethod = "build-arg"
)

// VerifyMode is what a failed verification does.
type VerifyMode string

// Verify modes.
const (
	VerifyStrict VerifyMode = "strict"
	VerifyWarn   VerifyMode = "warn"
	VerifyOff    VerifyMode = "off"
)

// InlineCacheArg is the build argument that asks BuildKit for inline cache.
const InlineCacheArg = "BUILDKIT_INLINE_CACHE"

// Tag is an image tag as the user wrote it and as parsed.
type Tag struct {
	Raw string
	Ref name.Tag
}

// TagAfterVerify says when the tags are set.
type TagAfterVerify string

// Tag-after-verify modes.
const (
	// TagAfterAuto is TagAfterOn when verify is strict and the backend
	// can push by digest, TagAfterOff otherwise (the planner decides).
	TagAfterAuto TagAfterVerify = "auto"
	// TagAfterOn pushes by digest, verifies, then tags.
	TagAfterOn TagAfterVerify = "true"
	// TagAfterOff pushes the tags with the image.
	TagAfterOff TagAfterVerify = "false"
)

// Settings are validated build settings.
type Settings struct {
	Context    string
	File       string
	Tags       []Tag
	Push       bool
	Load       bool
	BuildArgs  []string
	Labels     []string
	Platforms  []string
	Target     string
	Builder    string
	CacheFrom  []buildflags.CacheEntry
	CacheTo    []buildflags.CacheEntry
	NoCache    bool
	Pull       bool
	Provenance string

	CacheMethod        CacheMethod
	Verify             VerifyMode
	VerifyTimeout      time.Duration
	TagAfterVerify     TagAfterVerify
	InsecureRegistries []string
	// RegistryCA are CA files as given; ReadRegistryCA reads them.
	RegistryCA []string
	// ProgressFile is where the raw progress stream is copied ("" for
	// nowhere).
	ProgressFile string

	// DropIn is the rest of build-push-action's inputs.
	DropIn
	// CacheSources are the inputs on cache sources and their effect.
	CacheSources

	// Notes are things the user should know about how their input was read.
	Notes []string
	// Defaults are the CI job's defaults applied where the user gave
	// nothing ("tags: … (GitLab: …)").
	Defaults []string
	// Masks are the secret values to hide in the log.
	Masks []string
}

// Error is a problem with one input. Errors are reported before anything
// runs, and the process exits with status 2.
type Error struct {
	Input string
	Msg   string
}

func (e *Error) Error() string { return fmt.Sprintf("input %q: %s", e.Input, e.Msg) }

// Values are raw input values by input name: a string for Text and Bool
// inputs, a []string for lists.
type Values struct {
	text  map[string]string
	lists map[string][]string
}

// Text returns a text or bool value.
func (v Values) Text(name string) string { return v.text[name] }

// List returns a list value.
func (v Values) List(name string) []string { return v.lists[name] }

// Settings validates the values and builds Settings. Every problem is
// reported, not just the first; each is an *Error.
func (v Values) Settings() (Settings, error) {
	var errs []error
	fail := func(input, format string, a ...any) {
		errs = append(errs, &Error{Input: input, Msg: fmt.Sprintf(format, a...)})
	}
	boolean := func(input string) bool {
		b, err := ParseBool(v.Text(input))
		if err != nil {
			fail(input, "%v", err)
		}
		return b
	}

	s := Settings{
		Context:    v.Text(Context),
		File:       v.Text(File),
		Push:       boolean(Push),
		Load:       boolean(Load),
		NoCache:    boolean(NoCache),
		Pull:       boolean(Pull),
		Target:     v.Text(Target),
		Builder:    v.Text(Builder),
		Provenance: v.Text(Provenance),
		Labels:     v.List(Labels),
	}

	s.Tags = v.tags(s.Push, fail)
	s.BuildArgs = v.buildArgs(fail)
	for _, l := range s.Labels {
		if k, _, _ := strings.Cut(l, "="); strings.TrimSpace(k) == "" {
			fail(Labels, "%q is not KEY=VALUE", l)
		}
	}
	s.Platforms = v.platforms(fail)
	v.cacheEntries(&s, fail)
	v.verification(&s, fail)
	s.RegistryCA = v.List(RegistryCA)
	s.ProgressFile = v.Text(ProgressFile)

	v.dropIn(&s, fail)
	v.cacheSources(&s, fail)

	if s.Context == "" {
		fail(Context, "must not be empty")
	}
	return s, errors.Join(errs...)
}

// failFunc records a problem with an input.
type failFunc = func(input, format string, a ...any)

// parseEach reads the list input, keeping what parse accepts; each entry
// it refuses fails the input with parse's error.
func parseEach[T any](v Values, input string, fail failFunc, parse func(string) (T, error)) []T {
	return keep(v.List(input), input, fail, parse)
}

// keep is what check makes of each item it accepts; each it refuses fails
// input with check's error.
func keep[T, U any](items []T, input string, fail failFunc, check func(T) (U, error)) []U {
	var out []U
	for _, it := range items {
		u, err := check(it)
		if err != nil {
			fail(input, "%v", err)
			continue
		}
		out = append(out, u)
	}
	return out
}

// buildArgs are the build-args, KEY=VALUE each; none may turn the inline
// cache off.
func (v Values) buildArgs(fail failFunc) []string {
	return parseEach(v, BuildArgs, fail, func(a string) (string, error) {
		k, val, hasValue := strings.Cut(a, "=")
		switch {
		case strings.TrimSpace(k) == "" || strings.ContainsAny(k, " \t"):
			return "", fmt.Errorf("%q is not KEY=VALUE", a)
		case k == InlineCacheArg && hasValue && !truthy(val):
			return "", fmt.Errorf("%s turns off the inline cache this tool exists to produce; remove it", a)
		}
		return a, nil
	})
}

func (v Values) platforms(fail failFunc) []string {
	return parseEach(v, Platforms, fail, func(p string) (string, error) {
		// "local" is buildx's name for the builder's own platform.
		if pl, err := v1.ParsePlatform(p); p != "local" && (err != nil || pl.OS == "" || strings.Count(p, "/") > 2 || strings.ContainsAny(p, " \t")) {
			return "", fmt.Errorf("%q is not a platform of the form os[/arch[/variant]]", p)
		}
		return p, nil
	})
}

// verification reads how the inline cache is asked for and how what was
// pushed is read back: cache-method, verify, its timeout, tag-after-verify
// and the registries reached without TLS.
func (v Values) verification(s *Settings, fail failFunc) {
	switch m := CacheMethod(v.Text(CacheMethodInput)); m {
	case MethodAuto, MethodCacheTo, MethodBuildArg:
		s.CacheMethod = m
	default:
		fail(CacheMethodInput, "%q is not one of auto, cache-to, build-arg", m)
	}
	switch m := VerifyMode(v.Text(VerifyInput)); m {
	case VerifyStrict, VerifyWarn, VerifyOff:
		s.Verify = m
	default:
		fail(VerifyInput, "%q is not one of strict, warn, off", m)
	}
	if d, err := time.ParseDuration(v.Text(VerifyTimeout)); err != nil || d <= 0 {
		fail(VerifyTimeout, "%q is not a positive Go duration (such as 90s, 2m or 1h)", v.Text(VerifyTimeout))
	} else {
		s.VerifyTimeout = d
	}
	s.TagAfterVerify = v.tagAfterVerify(s.Verify, fail)
	s.InsecureRegistries = parseEach(v, InsecureRegistries, fail, func(r string) (string, error) {
		reg, err := name.NewRegistry(r)
		if err != nil || strings.ContainsAny(r, "/@") {
			return "", fmt.Errorf("%q is not a registry host[:port]", r)
		}
		return reg.RegistryStr(), nil
	})
}

// tags parses the tags and makes sure a push says where to.
func (v Values) tags(push bool, fail failFunc) []Tag {
	var out []Tag
	for _, t := range v.List(Tags) {
		ref, err := name.NewTag(t)
		if err != nil {
			fail(Tags, "%q is not a valid image tag: %v", t, err)
			continue
		}
		out = append(out, Tag{Raw: t, Ref: ref})
	}
	named := len(v.List(Tags)) > 0 || len(OutputNames(v.List(Outputs))) > 0
	if push && !named {
		fail(Tags, "push is true but no tag is given: there is nothing to push to")
	} else if !named && slices.ContainsFunc(v.List(Outputs), outputPushes) {
		// buildx would stop only after starting: "tag is needed when pushing to registry".
		fail(Tags, "an output pushes (type=registry or push=true) but neither tags nor the output's name= say where to")
	}

	return out
}

// tagAfterVerify reads tag-after-verify: auto, or a boolean.
func (v Values) tagAfterVerify(verify VerifyMode, fail failFunc) TagAfterVerify {
	raw := v.Text(TagAfterVerifyIn)
	if raw == "" || raw == string(TagAfterAuto) {
		return TagAfterAuto
	}
	on, err := ParseBool(raw)
	switch {
	case err != nil:
		fail(TagAfterVerifyIn, "%q is not one of auto, true, false", raw)
		return TagAfterAuto
	case !on:
		return TagAfterOff
	case verify == VerifyOff:
		fail(TagAfterVerifyIn, "true needs verification, but verify is off: set verify to strict (or warn), or tag-after-verify to false")
	}
	return TagAfterOn
}

// cacheEntries reads cache-from and cache-to.
func (v Values) cacheEntries(s *Settings, fail failFunc) {
	s.CacheFrom = cacheList(v, CacheFrom, fail, func(e buildflags.CacheEntry) (buildflags.CacheEntry, error) {
		return e, cacheFromEntry(e)
	})
	s.CacheTo = cacheList(v, CacheTo, fail, func(e buildflags.CacheEntry) (buildflags.CacheEntry, error) {
		// buildx#837: a bare "inline" is read as the registry ref
		// docker.io/library/inline and fails with 401.
		if ref, _ := e.Get("ref"); e.Type == "registry" && len(e.Attrs) == 1 && strings.EqualFold(ref, "inline") {
			e = buildflags.CacheEntry{Type: "inline"}
			s.Notes = append(s.Notes, `cache-to: read "inline" as type=inline (buildx alone would push cache to docker.io/library/inline)`)
		}
		if n := cacheToNote(e); n != "" {
			s.Notes = append(s.Notes, n)
		}
		return e, nil
	})
}

// cacheList reads a cache-from or cache-to input, each line one or more
// entries; check may change an entry or refuse it.
func cacheList(v Values, input string, fail failFunc, check func(buildflags.CacheEntry) (buildflags.CacheEntry, error)) []buildflags.CacheEntry {
	return slices.Concat(parseEach(v, input, fail, func(item string) ([]buildflags.CacheEntry, error) {
		es, err := buildflags.ParseCache(item)
		if err != nil {
			return nil, err
		}
		return keep(es, input, fail, check), nil
	})...)
}

func outputPushes(o string) bool {
	out, err := buildflags.ParseOutput(o)
	return err == nil && out.Pushes()
}

// truthy reads BUILDKIT_INLINE_CACHE as buildx does (strconv.ParseBool):
// anything else leaves the cache off.
func truthy(v string) bool {
	b, _ := strconv.ParseBool(v)
	return b
}
