package report

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/inlinecache/action/internal/progress"
)

// A build's steps as the result block and the job summary show them: the
// totals, then per stage, then the steps that ran, slowest first; cached
// steps are only counted (the summary folds them away).

// secs shows a duration as buildx does ("2.3s").
func secs(d time.Duration) string { return fmt.Sprintf("%.1fs", d.Seconds()) }

// stepsLine is the one sentence on the build's steps.
func stepsLine(b *progress.Build) string {
	return fmt.Sprintf("%d of %d Dockerfile steps cached (cache hit %d%%), %.1fs in steps that ran",
		b.CachedSteps(), b.TotalSteps(), b.CacheHit(), b.UncachedSeconds())
}

// spansLine is the build's time and the part of it outside the steps,
// "" when the stream timed nothing (a plain stream without exports).
func spansLine(b *progress.Build) string {
	var parts []string
	for _, p := range []struct {
		what string
		d    time.Duration
	}{{"importing cache", b.CacheImport}, {"exporting", b.Export}, {"of which pushing", b.Push}} {
		if p.d >= 50*time.Millisecond {
			parts = append(parts, p.what+" "+secs(p.d))
		}
	}
	if b.Wall < 50*time.Millisecond {
		return ""
	}
	if len(parts) == 0 {
		return "build " + secs(b.Wall)
	}
	return fmt.Sprintf("build %s: %s", secs(b.Wall), strings.Join(parts, ", "))
}

func stageLabel(s progress.Stage) string {
	name := s.Name
	if name == "" {
		name = "(build)"
	}
	if s.Platform != "" {
		name = s.Platform + " " + name
	}
	return name
}

func stepMark(s progress.Step) string {
	switch s.State {
	case progress.Failed:
		return "FAILED"
	case progress.Ran:
		return "ran"
	}
	return string(s.State)
}

// writeStepsText is the result block's part on the build's steps.
func writeStepsText(w *strings.Builder, b *progress.Build) {
	if b == nil || b.TotalSteps() == 0 {
		return
	}
	fmt.Fprintf(w, "build steps: %s\n", stepsLine(b))
	if l := spansLine(b); l != "" {
		fmt.Fprintf(w, "  %s\n", l)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  STAGE\tSTEPS\tCACHED\tRAN\tTIME RUN")
	for _, s := range b.Stages {
		fmt.Fprintf(tw, "  %s\t%d\t%d\t%d\t%s\n", stageLabel(s), s.Steps, s.Cached, s.Ran+s.Failed, secs(s.Run))
	}
	tw.Flush()
	if ex := b.Executed(); len(ex) > 0 {
		fmt.Fprintln(w, "steps that ran, slowest first:")
		for _, s := range ex {
			fmt.Fprintf(w, "  %6s  %-6s %s\n", secs(s.Duration), stepMark(s), s.Name)
		}
	}
	if f := b.Failure; f != nil && f.Line > 0 {
		fmt.Fprintf(w, "failed at %s:%d\n", f.File, f.Line)
	}
}

// writeStepsMarkdown is the job summary's part on the build's steps, with
// the timeline as a Mermaid gantt chart.
func writeStepsMarkdown(w *strings.Builder, b *progress.Build) {
	if b == nil || b.TotalSteps() == 0 {
		return
	}
	fmt.Fprintf(w, "\n#### Build steps\n\n%s.", stepsLine(b))
	if l := spansLine(b); l != "" {
		fmt.Fprintf(w, " The %s.", strings.Replace(l, "build ", "build took ", 1))
	}
	w.WriteString("\n\n| Stage | Steps | Cached | Ran | Time run |\n|---|---|---|---|---|\n")
	for _, s := range b.Stages {
		fmt.Fprintf(w, "| %s | %d | %d | %d | %s |\n", mdEscape(stageLabel(s)), s.Steps, s.Cached, s.Ran+s.Failed, secs(s.Run))
	}
	if ex := b.Executed(); len(ex) > 0 {
		w.WriteString("\nSteps that ran, slowest first:\n\n| Step | Time | Result |\n|---|---|---|\n")
		for _, s := range ex {
			mark := "ran"
			if s.State == progress.Failed {
				mark = ":x: failed"
			}
			fmt.Fprintf(w, "| %s | %s | %s |\n", mdEscape(s.Name), secs(s.Duration), mark)
		}
	}
	var other []progress.Step
	for _, s := range b.Steps {
		if s.State != progress.Ran && s.State != progress.Failed {
			other = append(other, s)
		}
	}
	if len(other) > 0 {
		what := fmt.Sprintf("%d cached %s", len(other), plural(len(other), "step"))
		if n := b.CachedSteps(); n != len(other) {
			what = fmt.Sprintf("%d %s not run (%d cached)", len(other), plural(len(other), "step"), n)
		}
		fmt.Fprintf(w, "\n<details><summary>%s</summary>\n\n| Step | Result |\n|---|---|\n", what)
		for _, s := range other {
			fmt.Fprintf(w, "| %s | %s |\n", mdEscape(s.Name), s.State)
		}
		w.WriteString("\n</details>\n")
	}
	fmt.Fprintf(w, "\n```mermaid\n%s```\n", b.Gantt())
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
