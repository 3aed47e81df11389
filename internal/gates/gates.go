// Package gates applies the cache effectiveness gates (min-cache-hit,
// require-cache-source) to what a build did. It is pure: the caller
// decides what a failed gate does (verify strict fails the step, warn
// warns).
package gates

import (
	"fmt"
	"strings"

	"github.com/inlinecache/action/internal/inputs"
	"github.com/inlinecache/action/internal/verify"
)

// Finding is the outcome of one gate that has something to say.
type Finding struct {
	// Input is the gate's input.
	Input string `json:"input"`
	// Failed: the gate is not met; otherwise the finding is information
	// (a first build, a gate that could not be judged).
	Failed  bool   `json:"failed"`
	Message string `json:"message"`
}

// Steps are the counts of Dockerfile steps in the build.
type Steps struct{ Cached, Total int }

// Check applies the gates of c to a build with steps whose cache sources
// were checked as sources.
func Check(c inputs.CacheSources, steps Steps, sources []verify.Source) []Finding {
	var out []Finding
	imported, firstBuild := importedAny(sources)
	if c.RequireCacheSource {
		switch {
		case imported:
		case firstBuild:
			out = append(out, Finding{Input: inputs.RequireCacheSource, Message: "require-cache-source: no cache source exists yet (" + refs(sources) + "): a first build, so the gate passes"})
		case len(sources) == 0:
			out = append(out, Finding{Input: inputs.RequireCacheSource, Failed: true, Message: "require-cache-source: the build has no cache source: no tag is pushed and cache-from is empty"})
		default:
			out = append(out, Finding{Input: inputs.RequireCacheSource, Failed: true, Message: "require-cache-source: none of the cache sources could be imported: " + problems(sources)})
		}
	}
	if c.MinCacheHit > 0 {
		switch {
		case !imported:
			out = append(out, Finding{Input: inputs.MinCacheHit, Message: fmt.Sprintf("min-cache-hit %d%%: not applied, no cache source was imported", c.MinCacheHit)})
		case steps.Total == 0:
			out = append(out, Finding{Input: inputs.MinCacheHit, Message: fmt.Sprintf("min-cache-hit %d%%: not applied, the build has no Dockerfile steps to count", c.MinCacheHit)})
		case steps.Cached*100 < c.MinCacheHit*steps.Total:
			out = append(out, Finding{Input: inputs.MinCacheHit, Failed: true, Message: fmt.Sprintf("min-cache-hit %d%%: only %d of %d steps (%d%%) came from the cache", c.MinCacheHit, steps.Cached, steps.Total, steps.Cached*100/steps.Total)})
		}
	}
	return out
}

// importedAny reports whether a source could be imported, and whether
// none could because none exists yet.
func importedAny(sources []verify.Source) (imported, firstBuild bool) {
	firstBuild = len(sources) > 0
	for _, s := range sources {
		imported = imported || s.Importable
		firstBuild = firstBuild && s.State == verify.SourceNotFound
	}
	return imported, firstBuild
}

func refs(sources []verify.Source) string {
	var out []string
	for _, s := range sources {
		out = append(out, s.Ref)
	}
	if len(out) == 0 {
		return "none given"
	}
	return strings.Join(out, ", ")
}

func problems(sources []verify.Source) string {
	var out []string
	for _, s := range sources {
		if s.State != verify.SourceNotFound {
			out = append(out, s.Message())
		}
	}
	return strings.Join(out, "; ")
}
