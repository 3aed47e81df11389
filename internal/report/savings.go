package report

import (
	"fmt"
	"strings"

	"github.com/inlinecache/action/internal/timings"
)

// What the cache saved the build, from the step timings of its cache
// sources (internal/timings), as the result block and the job summary say
// it. Without a record there is no figure, and the sources say why.

// stepsTook is "8 cached steps took 70.3 s when they ran".
func stepsTook(s *timings.Savings) string {
	if s.MatchedSteps == 1 {
		return fmt.Sprintf("1 cached step took %.1f s when it ran", s.SavedSeconds)
	}
	return fmt.Sprintf("%d cached steps took %.1f s when they ran", s.MatchedSteps, s.SavedSeconds)
}

// spent is what the build spent outside the steps it executed: all of it
// is counted against the cache.
func spent(s *timings.Savings) string {
	return fmt.Sprintf("%.1f s outside its steps (%.1f s importing cache, %.1f s exporting and pushing, %.1f s in cached steps pulling their layers, %.1f s other)",
		s.CostSeconds, s.CacheImportSeconds, s.ExportSeconds, s.CachedStepSeconds, s.OtherSeconds)
}

// builds names the images whose records gave the times.
func builds(s *timings.Savings) string {
	imgs := s.Images()
	if len(imgs) == 0 {
		return ""
	}
	return " (build of " + strings.Join(imgs, ", ") + ")"
}

// savingsLine is the result block's sentence.
func savingsLine(s *timings.Savings) string {
	switch s.Verdict {
	case timings.Unknown:
		return "time saved: no figure: no cache source has step timings"
	case timings.Cost:
		return fmt.Sprintf("time saved: the cache cost more than it saved in this build: %s%s, but this build spent %s: net %.1f s lost",
			stepsTook(s), builds(s), spent(s), -s.NetSeconds)
	case timings.Partial:
		return fmt.Sprintf("time saved: no verdict: %s%s and this build spent %s, but %s", stepsTook(s), builds(s), spent(s), whyNoVerdict(s))
	case timings.Nothing:
		if s.CachedSteps == 0 {
			return fmt.Sprintf("time saved: none: no step of this build was cached; it spent %s", spent(s))
		}
		return fmt.Sprintf("time saved: none: no cached step of this build has a recorded run time (%d cached), and nothing was spent on cache", s.CachedSteps)
	}
	return fmt.Sprintf("time saved: %s%s; this build spent %s: net %.1f s saved", stepsTook(s), builds(s), spent(s), s.NetSeconds)
}

// whyNoVerdict says why a partial figure gives no verdict.
func whyNoVerdict(s *timings.Savings) string {
	if s.Unmatched() > 0 {
		return unmatched(s) + " no recorded run time, so what the cache saved is not known"
	}
	return fmt.Sprintf("only %.1f s of that went to importing and exporting cache; the rest (pulling layers, which may be base image layers a build without cache pulls too, base images, the context) is not the cache's alone, so whether the cache paid off is not known", s.CacheCostSeconds())
}

// unmatched is "3 more cached steps have".
func unmatched(s *timings.Savings) string {
	if n := s.Unmatched(); n != 1 {
		return fmt.Sprintf("%d more cached steps have", n)
	}
	return "1 more cached step has"
}

// savingsNotes are the lines under it: cached steps without a figure, and
// the sources that gave none, with why.
func savingsNotes(s *timings.Savings) []string {
	var out []string
	if s.Unmatched() > 0 && (s.Verdict == timings.Saved || s.Verdict == timings.Cost) {
		out = append(out, unmatched(s)+" no recorded run time: not counted, so the saving is at least the figure above")
	}
	for _, src := range noted(s) {
		out = append(out, fmt.Sprintf("%s: %s", src.Ref, src.Note))
	}
	return out
}

// noted are the sources that say why they gave no figure. With a figure,
// those where nothing was found (a first build of a branch) go unsaid.
func noted(s *timings.Savings) []timings.Source {
	var out []timings.Source
	for _, src := range s.Sources {
		if src.Note != "" && (src.Image != "" || s.Verdict == timings.Unknown) {
			out = append(out, src)
		}
	}
	return out
}

func writeSavingsText(b *strings.Builder, s *timings.Savings) {
	if s == nil {
		return
	}
	fmt.Fprintln(b, savingsLine(s))
	for _, n := range savingsNotes(s) {
		fmt.Fprintf(b, "  %s\n", n)
	}
}

func writeSavingsMarkdown(b *strings.Builder, s *timings.Savings) {
	if s == nil {
		return
	}
	b.WriteString("\n#### Time saved by the cache\n\n")
	switch s.Verdict {
	case timings.Unknown:
		b.WriteString(":information_source: No figure: no cache source has step timings.\n")
	default:
		switch s.Verdict {
		case timings.Cost:
			b.WriteString(":warning: The cache cost more than it saved in this build.\n\n")
		case timings.Partial:
			fmt.Fprintf(b, ":information_source: No verdict: %s.\n\n", whyNoVerdict(s))
		}
		net := fmt.Sprintf("%.1f s saved", s.NetSeconds)
		if s.NetSeconds < 0 {
			net = fmt.Sprintf("%.1f s lost", -s.NetSeconds)
		}
		fmt.Fprintf(b, "| Cached steps with a recorded run time | They took when they ran | Importing cache | Exporting and pushing | Cached steps pulling layers | Other time outside steps | Net |\n|---|---|---|---|---|---|---|\n| %d of %d | %.1f s | %.1f s | %.1f s | %.1f s | %.1f s | **%s** |\n",
			s.MatchedSteps, s.CachedSteps, s.SavedSeconds, s.CacheImportSeconds, s.ExportSeconds, s.CachedStepSeconds, s.OtherSeconds, net)
		if imgs := s.Images(); len(imgs) > 0 {
			fmt.Fprintf(b, "\nRun times from the step timings recorded with `%s`.\n", strings.Join(imgs, "`, `"))
		}
	}
	if srcs := noted(s); len(srcs) > 0 {
		b.WriteString("\n")
		for _, src := range srcs {
			fmt.Fprintf(b, "- `%s`: %s\n", src.Ref, mdEscape(src.Note))
		}
	}
}
