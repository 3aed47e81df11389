package report

import (
	"fmt"
	"strings"
)

// StageCache is what became of one stage cache (cache-stages): a builder
// stage's image (images) or the mode=max registry cache (registry).
type StageCache struct {
	// Mode is "images" or "registry".
	Mode string `json:"mode"`
	// Stage is the builder stage an image is for; "" for the registry
	// cache, which holds every stage.
	Stage string `json:"stage,omitempty"`
	Ref   string `json:"ref"`
	// Digest is what was pushed (images) or the cache manifest (registry).
	Digest string `json:"digest,omitempty"`
	// Steps, Cached and Ran count the stage's Dockerfile steps in this
	// run: for an image, its own build's; for the registry cache, the
	// builder stages' steps of the image's build. Served are those the
	// stage cache (or an earlier push of it) supplied.
	Steps  int `json:"steps"`
	Cached int `json:"cached"`
	Ran    int `json:"ran"`
	// RunSeconds is the time in the steps that ran.
	RunSeconds float64 `json:"runSeconds"`
	// BuildSeconds is the stage build's wall time (images); ExportSeconds
	// its exporters' (push included) or the registry cache export's;
	// PushSeconds the pushing part.
	BuildSeconds  float64 `json:"buildSeconds,omitempty"`
	ExportSeconds float64 `json:"exportSeconds"`
	PushSeconds   float64 `json:"pushSeconds,omitempty"`
	// ExtraBytes is what the cache keeps in the registry beyond the
	// image's own layers (its layers and config blobs that the image does
	// not share), read from the registry: BuildKit's progress stream does
	// not carry pushed byte counts.
	ExtraBytes int64 `json:"extraBytes"`
	// Verdict is the stage cache's verification.
	Verdict Verdict `json:"verified"`
	// Detail is the verification's finding in one line (records, layers).
	Detail string `json:"detail,omitempty"`
	// Error says why the stage cache failed or is not verified: a
	// warning, never a failed build.
	Error string `json:"error,omitempty"`
	// Tagged is set when tag-after-verify set its tag.
	Tagged bool `json:"tagged,omitempty"`
}

// Label names the stage cache in a line.
func (s StageCache) Label() string {
	if s.Stage == "" {
		return "registry cache " + s.Ref
	}
	return fmt.Sprintf("stage cache %q %s", s.Stage, s.Ref)
}

// Line is the stage cache's line in the result block.
func (s StageCache) Line() string {
	var b strings.Builder
	b.WriteString(s.Label() + ": ")
	switch s.Verdict {
	case Verified:
		b.WriteString("verified")
	case Skipped:
		b.WriteString("not verified (skipped)")
	default:
		b.WriteString("NOT VERIFIED")
	}
	if s.Detail != "" {
		b.WriteString(" (" + s.Detail + ")")
	}
	fmt.Fprintf(&b, "; %d steps, %d cached, %d ran (%.1fs)", s.Steps, s.Cached, s.Ran, s.RunSeconds)
	if s.BuildSeconds > 0 {
		fmt.Fprintf(&b, "; stage build %.1fs", s.BuildSeconds)
	}
	fmt.Fprintf(&b, "; export %.1fs", s.ExportSeconds)
	if s.PushSeconds > 0 {
		fmt.Fprintf(&b, " (push %.1fs)", s.PushSeconds)
	}
	fmt.Fprintf(&b, "; %s beyond the image", bytesText(s.ExtraBytes))
	if s.Error != "" {
		b.WriteString("\n  " + s.Error)
	}
	return b.String()
}

func bytesText(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f kB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func writeStageCachesText(b *strings.Builder, r Result) { writeLines(b, r.StageCaches) }

func writeStageCachesMarkdown(b *strings.Builder, r Result) {
	writeTable(b, "Stage caches", []string{"Cache", "Verified", "Steps cached", "Ran", "Stage build", "Export (push)", "Beyond the image"}, r.StageCaches, func(s StageCache) []string {
		ok := ":white_check_mark:"
		if s.Verdict != Verified {
			ok = ":warning: " + mdEscape(s.Error)
		}
		build := "—"
		if s.BuildSeconds > 0 {
			build = fmt.Sprintf("%.1fs", s.BuildSeconds)
		}
		return []string{mdEscape(s.Label()), ok, fmt.Sprintf("%d/%d", s.Cached, s.Steps), fmt.Sprintf("%d (%.1fs)", s.Ran, s.RunSeconds),
			build, fmt.Sprintf("%.1fs (%.1fs)", s.ExportSeconds, s.PushSeconds), bytesText(s.ExtraBytes)}
	})
}

// writeLines writes each item's line, for the text report.
func writeLines[T interface{ Line() string }](b *strings.Builder, items []T) {
	for _, it := range items {
		fmt.Fprintln(b, it.Line())
	}
}

// writeTable writes the job summary's titled table of items, a row each
// with the cells row gives; nothing where there are no items.
func writeTable[T any](b *strings.Builder, title string, columns []string, items []T, row func(T) []string) {
	if len(items) == 0 {
		return
	}
	fmt.Fprintf(b, "\n#### %s\n\n| %s |\n|%s\n", title, strings.Join(columns, " | "), strings.Repeat("---|", len(columns)))
	for _, it := range items {
		fmt.Fprintf(b, "| %s |\n", strings.Join(row(it), " | "))
	}
}
