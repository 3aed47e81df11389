package report

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/inlinecache/action/internal/gates"
	"github.com/inlinecache/action/internal/misses"
	"github.com/inlinecache/action/internal/progress"
	"github.com/inlinecache/action/internal/timings"
	"github.com/inlinecache/action/internal/verify"
)

// Verdict is a build's verification outcome, as the cache-verified output
// says it.
type Verdict string

// Verdicts.
const (
	Verified    Verdict = "true"
	NotVerified Verdict = "false"
	Skipped     Verdict = "skipped"
)

// Result is the outcome of a build and its verification.
type Result struct {
	Verdict Verdict `json:"verified"`
	// Reason explains a skipped or failed verification in one sentence.
	Reason string         `json:"reason,omitempty"`
	Report *verify.Report `json:"report,omitempty"`
	// Build is what the build's progress stream said: its Dockerfile
	// steps, cached or run, with their times; nil when there was none.
	Build *progress.Build `json:"-"`
	// Tags is what tag-after-verify did; nil when the tags were pushed
	// with the image.
	Tags *Tagging `json:"tags,omitempty"`
	// Sources is what the cache source check found, in the order the build
	// imports them; nil when the build had no registry cache source.
	Sources []verify.Source `json:"sources,omitempty"`
	// Misses says why the steps that ran were not cached.
	Misses *misses.Explanation `json:"misses,omitempty"`
	// Gates are what min-cache-hit and require-cache-source found.
	Gates []gates.Finding `json:"gates,omitempty"`
	// StageCaches are the stage caches of cache-stages, verified beside
	// the image; their failures are warnings.
	StageCaches []StageCache `json:"stageCaches,omitempty"`
	// CacheMounts are the cache mounts of cache-mounts registry.
	CacheMounts []MountCache `json:"cacheMounts,omitempty"`
	// Savings is what the cache saved the build, from the step timings
	// of its cache sources; nil when they were not read.
	Savings *timings.Savings `json:"savings,omitempty"`
}

// Tagging is what became of the tags after a push by digest.
type Tagging struct {
	// Digest is what was pushed, verified and (if it passed) tagged.
	Digest string             `json:"digest"`
	Set    []verify.TagResult `json:"set,omitempty"`
	// Left are the tags not touched, and Reason why.
	Left   []string `json:"left,omitempty"`
	Reason string   `json:"reason,omitempty"`
	// Untagged is how long the image stayed pushed by digest alone, from
	// the push's end to the tags; CallBound bounds each registry call in
	// that window (verify-timeout). Registries that expire untagged
	// manifests (Quay, after about an hour: quay#7024) need it short.
	Untagged  time.Duration `json:"-"`
	CallBound time.Duration `json:"-"`
}

// Import is one cache source the build tried to import.
type Import struct {
	Ref string `json:"ref"`
	// Error is BuildKit's message when the import failed ("not found" on a
	// first build is expected).
	Error string `json:"error,omitempty"`
}

// imports are the cache sources the build read, from its cache import
// spans.
func (r Result) imports() []Import {
	if r.Build == nil {
		return nil
	}
	var out []Import
	for _, sp := range r.Build.Spans {
		if sp.Kind != progress.KindCacheImport {
			continue
		}
		out = append(out, Import{Ref: strings.TrimPrefix(sp.Name, "importing cache manifest from "), Error: sp.Error})
	}
	return out
}

// stepCounts are the cached and total Dockerfile steps of one platform.
type stepCounts struct{ Total, Cached int }

// counts counts the build's steps, all of them ("") or one platform's.
// A step without a platform (a single-platform build, or a vertex that
// BuildKit shares between platforms) counts for every platform. Every
// count of cached build steps comes from here or from progress.Build.
func (r Result) counts(platform string) stepCounts {
	var c stepCounts
	if r.Build == nil {
		return c
	}
	for _, s := range r.Build.Steps {
		if platform != "" && s.Platform != "" && s.Platform != platform {
			continue
		}
		c.Total++
		if s.State == progress.Cached {
			c.Cached++
		}
	}
	return c
}

// JSON is the cache-report output: the verdict and the verify report, the
// cache sources, and the build's steps (progress.Report).
func (r Result) JSON() string {
	v := struct {
		Result
		Imports []Import         `json:"imports,omitempty"`
		Build   *progress.Report `json:"build,omitempty"`
	}{Result: r, Imports: r.imports()}
	if r.Build != nil {
		rep := r.Build.Report()
		v.Build = &rep
	}
	b, _ := json.Marshal(v) // plain structs of strings, numbers and times always marshal
	return string(b)
}
