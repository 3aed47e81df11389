package report

import (
	"encoding/json"
	"strings"

	"github.com/inlinecache/action/internal/buildlog"
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

// Result is the outcome of a build's verification.
type Result struct {
	Verdict Verdict `json:"verified"`
	// Reason explains a skipped or failed verification in one sentence.
	Reason string         `json:"reason,omitempty"`
	Report *verify.Report `json:"report,omitempty"`
	// Steps are the Dockerfile steps seen in the build log.
	Steps []buildlog.Step `json:"-"`
	// Imports are the cache sources the build tried.
	Imports []buildlog.Import `json:"imports,omitempty"`
	// Tags is what tag-after-verify did; nil when the tags were pushed
	// with the image.
	Tags *Tagging `json:"tags,omitempty"`
}

// Tagging is what became of the tags after a push by digest.
type Tagging struct {
	// Digest is what was pushed, verified and (if it passed) tagged.
	Digest string             `json:"digest"`
	Set    []verify.TagResult `json:"set,omitempty"`
	// Left are the tags not touched, and Reason why.
	Left   []string `json:"left,omitempty"`
	Reason string   `json:"reason,omitempty"`
}

type stepCounts struct {
	Total  int             `json:"total"`
	Cached int             `json:"cached"`
	Items  []buildlog.Step `json:"items"`
}

// counts counts the build's steps, all of them ("") or one platform's: a
// multi-platform build names them "[linux/arm64 2/6] RUN …"; in a
// single-platform build every step is that platform's. Every count of
// cached build steps comes from here.
func (r Result) counts(platform string) stepCounts {
	prefixed := false
	for _, s := range r.Steps {
		if platform != "" && strings.HasPrefix(s.Name, "["+platform+" ") {
			prefixed = true
			break
		}
	}
	c := stepCounts{Items: r.Steps}
	for _, s := range r.Steps {
		if prefixed && !strings.HasPrefix(s.Name, "["+platform+" ") {
			continue
		}
		c.Total++
		if s.Cached {
			c.Cached++
		}
	}
	return c
}

// JSON is the cache-report output.
func (r Result) JSON() string {
	v := struct {
		Result
		Steps *stepCounts `json:"steps,omitempty"`
	}{Result: r}
	if len(r.Steps) > 0 {
		c := r.counts("")
		v.Steps = &c
	}
	b, _ := json.Marshal(v) // plain structs of strings and ints always marshal
	return string(b)
}
