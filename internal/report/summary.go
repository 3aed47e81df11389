package report

import (
	"fmt"
	"strings"
)

// writeMarkdownDetails is the job summary's per-platform table and the
// build's steps: what a reviewer opens the summary for.
func writeMarkdownDetails(b *strings.Builder, r Result) {
	if rep := r.Report; rep != nil {
		fmt.Fprintf(b, "\nImage: `%s`\n\n| Platform | Records | With layers | Layers covered | Cached steps | Verified |\n|---|---|---|---|---|---|\n", rep.Ref)
		for _, p := range rep.Platforms {
			ok := ":white_check_mark:"
			if !p.Verified {
				why := append([]string{p.Error}, p.Problems...)
				ok = ":x: " + mdEscape(strings.Join(why, " "))
			}
			steps := "unknown"
			if c, t := r.platformSteps(p.Platform); t > 0 {
				steps = fmt.Sprintf("%d/%d", c, t)
			}
			fmt.Fprintf(b, "| %s | %d | %d | %d/%d | %s | %s |\n", p.Platform, p.Records, p.RecordsWithLayers, p.LayersCovered, p.LayersTotal, steps, ok)
		}
	}
	if len(r.Steps) == 0 {
		return
	}
	c := r.counts()
	fmt.Fprintf(b, "\nBuild steps: %d of %d cached.\n", c.Cached, c.Total)
	b.WriteString("\n<details><summary>Build steps</summary>\n\n| Step | Result |\n|---|---|\n")
	for _, s := range r.Steps {
		res := "ran"
		switch {
		case s.Cached:
			res = "CACHED"
		case s.Error:
			res = "failed"
		}
		fmt.Fprintf(b, "| %s | %s |\n", mdEscape(s.Name), res)
	}
	b.WriteString("\n</details>\n")
}

// platformSteps counts the steps of one platform: a multi-platform build
// names them "[linux/arm64 2/6] RUN …"; in a single-platform build every
// step is that platform's.
func (r Result) platformSteps(platform string) (cached, total int) {
	prefixed := false
	for _, s := range r.Steps {
		if strings.HasPrefix(s.Name, "["+platform+" ") {
			prefixed = true
			break
		}
	}
	for _, s := range r.Steps {
		if prefixed && !strings.HasPrefix(s.Name, "["+platform+" ") {
			continue
		}
		total++
		if s.Cached {
			cached++
		}
	}
	return cached, total
}
