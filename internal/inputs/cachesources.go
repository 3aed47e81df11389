package inputs

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/inlinecache/action/internal/buildflags"
	"github.com/inlinecache/action/internal/ci"
)

// Inputs on cache sources and their effect.
const (
	CacheFromBranches  = "cache-from-branches"
	BranchTagTemplate  = "branch-tag-template"
	MinCacheHit        = "min-cache-hit"
	RequireCacheSource = "require-cache-source"
	CacheStagesInput   = "cache-stages"
	StepTimings        = "step-timings"
)

// CacheStages is how builder stages are kept cached beside the inline
// cache, which holds only the image's own layers.
type CacheStages string

// Stage cache modes.
const (
	// StagesOff keeps the inline cache only.
	StagesOff CacheStages = "off"
	// StagesImages builds each builder stage as its own target with the
	// inline cache and pushes it as an image tagged <tag>-stage-<stage>.
	StagesImages CacheStages = "images"
	// StagesRegistry exports one type=registry,mode=max cache to
	// <tag>-buildcache.
	StagesRegistry CacheStages = "registry"
)

// CacheSources are the settings on where a build's cache comes from and
// what it must achieve.
type CacheSources struct {
	// FromBranches imports the images of the branches the job's branch
	// comes from (ci.Job.CacheBranches), in every pushed repository.
	FromBranches bool
	// BranchTagTemplate names a branch's image tag ({{branch}}, as
	// docker/metadata-action's type=ref,event=branch).
	BranchTagTemplate string
	// MinCacheHit is the least cached share of steps (1–100) when a
	// source was imported; 0 is no gate.
	MinCacheHit int
	// RequireCacheSource fails a build none of whose sources could be
	// imported, unless none exists yet (a first build).
	RequireCacheSource bool
	// CacheStages keeps builder stages cached (off, images, registry).
	CacheStages CacheStages
	// StepTimings records the build's step times beside the pushed image
	// and reads those of the cache sources (internal/timings).
	StepTimings bool
	// Mounts keeps cache mount contents in the registry (cachemounts.go).
	Mounts CacheMounts
}

// cacheSources reads the cache source inputs.
func (v Values) cacheSources(s *Settings, fail failFunc) {
	if b, err := ParseBool(v.Text(CacheFromBranches)); err != nil {
		fail(CacheFromBranches, "%v", err)
	} else {
		s.FromBranches = b
	}
	if b, err := ParseBool(v.Text(RequireCacheSource)); err != nil {
		fail(RequireCacheSource, "%v", err)
	} else {
		s.RequireCacheSource = b
	}
	switch m := CacheStages(strings.TrimSpace(v.Text(CacheStagesInput))); m {
	case "":
		s.CacheStages = StagesOff
	case StagesOff, StagesImages, StagesRegistry:
		s.CacheStages = m
	default:
		fail(CacheStagesInput, "%q is not one of off, images, registry", m)
	}
	v.cacheMounts(s, fail)
	if b, err := ParseBool(v.Text(StepTimings)); err != nil {
		fail(StepTimings, "%v", err)
	} else {
		s.StepTimings = b
	}
	tmpl := strings.TrimSpace(v.Text(BranchTagTemplate))
	if tmpl == "" {
		tmpl = ci.DefaultBranchTag
	}
	switch {
	case !strings.Contains(tmpl, "{{branch}}"):
		fail(BranchTagTemplate, "%q does not contain {{branch}}", tmpl)
	default:
		// A usual branch name must give a valid tag: try one that
		// needs sanitising.
		if _, err := ci.BranchTag(tmpl, "feature/x"); err != nil {
			fail(BranchTagTemplate, "%q does not make a valid image tag for branch feature/x: %v", tmpl, err)
		}
	}
	s.BranchTagTemplate = tmpl
	if raw := strings.TrimSpace(v.Text(MinCacheHit)); raw != "" {
		n, err := strconv.Atoi(strings.TrimSuffix(raw, "%"))
		if err != nil || n < 0 || n > 100 {
			fail(MinCacheHit, "%q is not a whole percentage from 0 to 100", raw)
		} else {
			s.MinCacheHit = n
		}
	}
}

// cacheFromEntry checks one cache-from entry: BuildKit has no inline
// importer, so type=inline would import nothing, silently.
func cacheFromEntry(e buildflags.CacheEntry) error {
	if e.Type != "inline" {
		return nil
	}
	ref, _ := e.Get("ref")
	if ref == "" {
		ref = "<image>"
	}
	return fmt.Errorf("type=inline cannot be imported (BuildKit has no inline cache importer, so it would import nothing): the inline cache is read from the image itself; write type=registry,ref=%s", ref)
}

// cacheToNote warns about a type=inline cache-to entry with a ref: the
// inline cache goes into the image being pushed, wherever ref points.
func cacheToNote(e buildflags.CacheEntry) string {
	ref, ok := e.Get("ref")
	if e.Type != "inline" || !ok {
		return ""
	}
	return fmt.Sprintf("cache-to: type=inline ignores ref=%s: the inline cache is written into the pushed image itself (its tags); for a cache image of its own, use type=registry,ref=%s", ref, ref)
}
