package report

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/inlinecache/action/internal/buildlog"
	"github.com/inlinecache/action/internal/verify"
)

// Verdict values of the cache-verified output.
const (
	Verified    = "true"
	NotVerified = "false"
	Skipped     = "skipped"
)

// Result is the outcome of a build's verification.
type Result struct {
	Verdict string `json:"verified"`
	// Reason explains a skipped or failed verification in one sentence.
	Reason string         `json:"reason,omitempty"`
	Report *verify.Report `json:"report,omitempty"`
	// Steps are the Dockerfile steps seen in the build log.
	Steps []buildlog.Step `json:"-"`
	// Imports are the cache sources the build tried.
	Imports []buildlog.Import `json:"imports,omitempty"`
}

type stepCounts struct {
	Total  int             `json:"total"`
	Cached int             `json:"cached"`
	Items  []buildlog.Step `json:"items"`
}

func (r Result) counts() stepCounts {
	c := stepCounts{Total: len(r.Steps), Items: r.Steps}
	for _, s := range r.Steps {
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
		c := r.counts()
		v.Steps = &c
	}
	b, _ := json.Marshal(v) // plain structs of strings and ints always marshal
	return string(b)
}

// Text is the readable result block for the log.
func (r Result) Text() string {
	var b strings.Builder
	switch r.Verdict {
	case Verified:
		fmt.Fprintln(&b, "inline cache: VERIFIED")
	case Skipped:
		fmt.Fprintf(&b, "inline cache: verification skipped (%s)\n", r.Reason)
	default:
		fmt.Fprintln(&b, "inline cache: NOT VERIFIED")
		if r.Reason != "" {
			fmt.Fprintf(&b, "  %s\n", r.Reason)
		}
	}
	if rep := r.Report; rep != nil {
		fmt.Fprintf(&b, "image:  %s\n", rep.Ref)
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "PLATFORM\tRECORDS\tWITH LAYERS\tLAYERS COVERED\tVERIFIED")
		for _, p := range rep.Platforms {
			ok := "yes"
			if !p.Verified {
				ok = "NO"
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d/%d\t%s\n", p.Platform, p.Records, p.RecordsWithLayers, p.LayersCovered, p.LayersTotal, ok)
		}
		tw.Flush()
		for _, f := range rep.Failures() {
			fmt.Fprintf(&b, "  problem: %s\n", f)
		}
	}
	for _, imp := range r.Imports {
		switch {
		case strings.HasSuffix(imp.Error, "not found"):
			fmt.Fprintf(&b, "cache source: not imported  %s (not found: expected until a first push there)\n", imp.Ref)
		case imp.Error != "":
			fmt.Fprintf(&b, "cache source: not imported  %s (%s)\n", imp.Ref, imp.Error)
		default:
			fmt.Fprintf(&b, "cache source: imported      %s\n", imp.Ref)
		}
	}
	if len(r.Steps) > 0 {
		c := r.counts()
		fmt.Fprintf(&b, "build steps: %d of %d CACHED\n", c.Cached, c.Total)
		for _, s := range r.Steps {
			mark := "ran   "
			switch {
			case s.Cached:
				mark = "CACHED"
			case s.Error:
				mark = "FAILED"
			}
			fmt.Fprintf(&b, "  %s %s\n", mark, s.Name)
		}
	}
	return b.String()
}

// Markdown is the job summary section.
func (r Result) Markdown() string {
	var b strings.Builder
	fmt.Fprintln(&b, "### Inline cache")
	switch r.Verdict {
	case Verified:
		fmt.Fprintln(&b, "\n:white_check_mark: Every pushed platform image carries valid inline cache metadata.")
	case Skipped:
		fmt.Fprintf(&b, "\n:information_source: Verification skipped: %s\n", mdEscape(r.Reason))
	default:
		fmt.Fprintf(&b, "\n:x: Inline cache not verified: %s\n", mdEscape(r.Reason))
	}
	writeMarkdownDetails(&b, r)
	return b.String()
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", "\\|", "\n", " ", "<", "&lt;", ">", "&gt;").Replace(strings.TrimSpace(s))
}
