package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/inlinecache/action/internal/verify"
)

// This file is the one renderer: every result the commands show — a
// build's result block and job summary, verify's table, inspect's layers,
// and the JSON documents — is drawn here.

// ImageResult is the machine-readable verdict on one REF (verify --json
// lists them; inspect --json prints one). Field names are a stable schema.
type ImageResult struct {
	Ref      string `json:"ref"`
	Verified bool   `json:"verified"`
	// Error says why the image could not be read at all.
	Error  string         `json:"error,omitempty"`
	Report *verify.Report `json:"report,omitempty"`
}

// VerifyOutput is what verify --json prints.
type VerifyOutput struct {
	Verified bool          `json:"verified"`
	Images   []ImageResult `json:"images"`
}

// WriteJSON writes v indented, as the --json flags print it.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // steps hold shell: keep > and & readable
	return enc.Encode(v)
}

// WriteVerifyText prints one REF's verdict as a table, one row per platform.
func WriteVerifyText(w io.Writer, res ImageResult) {
	rep := res.Report
	if rep == nil {
		fmt.Fprintf(w, "%s: NOT VERIFIED\n  error: %s\n\n", res.Ref, res.Error)
		return
	}
	verdict := "VERIFIED"
	if !res.Verified {
		verdict = "NOT VERIFIED"
	}
	fmt.Fprintf(w, "%s: %s\n", rep.Ref, verdict)
	if rep.RegistryCache {
		fmt.Fprintf(w, "  %s\n  %s.\n", cacheLine(*rep), rep.Explanation)
		writeCacheProblems(w, *rep)
		fmt.Fprintln(w)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	// Layers, not steps: an image's layers include its base image's, and
	// nothing in the registry tells them apart from this Dockerfile's. A
	// step is a build's (internal/progress), counted only from its build.
	fmt.Fprintln(tw, "  PLATFORM\tRECORDS\tLAYERS COVERED\tVERDICT")
	for _, p := range rep.Platforms {
		fmt.Fprintf(tw, "  %s\t%d\t%d/%d\t%s\n", p.Platform, p.Records, p.LayersCovered, p.LayersTotal, platformVerdict(p))
	}
	tw.Flush()
	for _, f := range rep.Failures() {
		fmt.Fprintf(w, "  problem: %s\n", f)
	}
	fmt.Fprintln(w)
}

func platformVerdict(p verify.Platform) string {
	if p.Verified {
		return "verified"
	}
	return "NOT VERIFIED"
}

// step shortens a history created_by for a table: BuildKit's " # buildkit"
// marker and the shell wrapper say nothing the user wrote.
func step(s string) string {
	s = strings.TrimSuffix(s, " # buildkit")
	s = strings.Replace(s, "/bin/sh -c ", "", 1)
	// Count runes, not bytes: a cut inside a multi-byte character would
	// print invalid UTF-8 (steps often echo non-ASCII text).
	if r := []rune(s); len(r) > 72 {
		s = string(r[:69]) + "..."
	}
	return s
}

// WriteInspectText shows what an image's inline cache holds, per layer.
func WriteInspectText(w io.Writer, res ImageResult) {
	rep := res.Report
	if rep == nil {
		fmt.Fprintf(w, "%s: cannot read: %s\n", res.Ref, res.Error)
		return
	}
	fmt.Fprintf(w, "image:      %s\nmedia type: %s\n", rep.Ref, rep.MediaType)
	if rep.RegistryCache {
		writeInspectCache(w, *rep)
		return
	}
	for _, p := range rep.Platforms {
		writeInspectPlatform(w, p)
	}
	if len(rep.Platforms) == 0 {
		fmt.Fprintln(w, "no platform images")
	}
}

// writeInspectPlatform draws one platform's cache: the counts, the layers
// and the verdict.
func writeInspectPlatform(w io.Writer, p verify.Platform) {
	fmt.Fprintf(w, "\nplatform %s  %s\n", p.Platform, p.Digest)
	switch {
	case p.Unreadable:
		fmt.Fprintf(w, "  could not be read: %s\n", p.Error)
		return
	case p.Error != "":
		fmt.Fprintf(w, "  no usable cache: %s\n", p.Error)
		return
	}
	fmt.Fprintf(w, "  cache: %d records, %d with layers; %d of %d layers reachable (bottom %d in one piece)\n",
		p.Records, p.RecordsWithLayers, p.LayersCovered, p.LayersTotal, p.CoveredPrefix)
	if g := p.Graph; g != nil {
		fmt.Fprintf(w, "  graph: %d roots, max depth %d, %d chains, %d links\n", g.Roots, g.MaxDepth, g.Chains, g.Links)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	// CREATED BY is the image history's, base image included: not
	// this build's steps.
	fmt.Fprintln(tw, "  LAYER\tCACHED\tRESULTS\tCREATED BY")
	for _, l := range p.Layers {
		cached := "no"
		if l.Cached {
			cached = "yes"
		}
		st := step(l.Step)
		if st == "" {
			st = "(unknown)"
		}
		fmt.Fprintf(tw, "  %d\t%s\t%d\t%s\n", l.Index, cached, l.Results, st)
	}
	tw.Flush()
	for _, n := range p.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	for _, pr := range p.Problems {
		fmt.Fprintf(w, "  problem: %s\n", pr)
	}
	verdict := "valid"
	if !p.Verified {
		verdict = "NOT valid"
	}
	if len(p.Problems) > 0 {
		// BuildKit's importer rejects the whole payload on any of these.
		verdict += ": BuildKit imports none of this cache, whatever the layers above say"
	}
	fmt.Fprintf(w, "  verdict: %s\n", verdict)
}

// cacheLine is the one line on a registry cache, wherever one is shown.
func cacheLine(rep verify.Report) string {
	line := fmt.Sprintf("registry cache %s: %s", rep.Ref, CacheDetail(rep))
	if c := rep.Cache; c != nil && c.Error == "" && !c.Verified {
		line += ": NOT VERIFIED"
	}
	return line
}

// CacheDetail is what verification found in a registry cache, in a few
// words.
func CacheDetail(rep verify.Report) string {
	c := rep.Cache
	switch {
	case c == nil:
		return "recognised, not checked"
	case c.Error != "":
		return fmt.Sprintf("its cache config cannot be used; %d layers listed: NOT VERIFIED", c.LayersListed)
	}
	present := "all present"
	if c.LayersFound != c.LayersListed {
		present = fmt.Sprintf("%d of them present", c.LayersFound)
	}
	return fmt.Sprintf("%d records, %d layers, %s", c.Records, c.LayersListed, present)
}

// writeCacheProblems lists what is wrong with a registry cache, under its
// line (which names it).
func writeCacheProblems(w io.Writer, rep verify.Report) {
	if rep.Cache == nil {
		return
	}
	for _, f := range rep.Cache.Failures() {
		fmt.Fprintf(w, "  problem: %s\n", f)
	}
}

// writeInspectCache shows what a registry cache holds.
func writeInspectCache(w io.Writer, rep verify.Report) {
	fmt.Fprintf(w, "kind:       registry cache (not an image)\n  %s.\n\n%s\n", rep.Explanation, cacheLine(rep))
	c := rep.Cache
	if c == nil {
		return
	}
	fmt.Fprintf(w, "  form: %s; config %s\n", c.Form, c.Config)
	if c.Error == "" {
		fmt.Fprintf(w, "  cache: %d records, %d with layers; %d layers in the config; %d of %d listed layer blobs in the registry\n",
			c.Records, c.RecordsWithLayers, c.ConfigLayers, c.LayersFound, c.LayersListed)
	}
	if g := c.Graph; g != nil {
		fmt.Fprintf(w, "  graph: %d roots, max depth %d, %d chains, %d links\n", g.Roots, g.MaxDepth, g.Chains, g.Links)
	}
	for _, l := range c.Layers {
		fmt.Fprintf(w, "  layer %s\n", l)
	}
	writeCacheProblems(w, rep)
	verdict := "valid"
	if !c.Verified {
		verdict = "NOT valid"
	}
	fmt.Fprintf(w, "  verdict: %s\n", verdict)
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
	if rep := r.Report; rep != nil && rep.RegistryCache {
		fmt.Fprintf(&b, "%s\n", cacheLine(*rep))
		writeCacheProblems(&b, *rep)
	} else if rep != nil {
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
	writeStageCachesText(&b, r)
	writeMountsText(&b, r)
	writeSourcesText(&b, r)
	writeStepsText(&b, r.Build)
	writeSavingsText(&b, r.Savings)
	if r.Misses != nil {
		if l := r.Misses.Line(); l != "" {
			fmt.Fprintf(&b, "why: %s\n", l)
		}
	}
	return b.String()
}

// Text is the tag step's lines for the log and the result block.
func (t Tagging) Text() string {
	var b strings.Builder
	if len(t.Set) > 0 {
		fmt.Fprintf(&b, "tags: set to the verified %s\n", t.Digest)
		for _, r := range t.Set {
			fmt.Fprintf(&b, "  %-9s %s%s\n", r.Action, r.Tag, previous(r))
		}
	}
	if len(t.Left) > 0 {
		fmt.Fprintf(&b, "tags: left where they were (%s): %s\n", t.Reason, strings.Join(t.Left, ", "))
	}
	if t.Untagged > 0 {
		fmt.Fprintf(&b, "tags: the image was pushed by digest alone for %.1f s before its tags were set (each registry call meanwhile bounded by verify-timeout %s)\n",
			t.Untagged.Seconds(), t.CallBound)
	}
	return b.String()
}

func previous(r verify.TagResult) string {
	if r.Previous == "" {
		return ""
	}
	return " (was " + r.Previous + ")"
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
	if t := r.Tags; t != nil {
		if len(t.Set) > 0 {
			fmt.Fprintf(&b, "\nTags set to the verified `%s`:\n\n", t.Digest)
			for _, s := range t.Set {
				fmt.Fprintf(&b, "- `%s` %s%s\n", s.Tag, s.Action, mdEscape(previous(s)))
			}
		}
		if len(t.Left) > 0 {
			fmt.Fprintf(&b, "\n:warning: Tags left where they were (%s): `%s`. The pushed image is `%s`.\n", mdEscape(t.Reason), strings.Join(t.Left, "`, `"), t.Digest)
		}
	}
	writeMarkdownDetails(&b, r)
	return b.String()
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", "\\|", "\n", " ", "<", "&lt;", ">", "&gt;").Replace(strings.TrimSpace(s))
}

// writeMarkdownDetails is the job summary's per-platform table and the
// build's steps: what a reviewer opens the summary for.
func writeMarkdownDetails(b *strings.Builder, r Result) {
	if rep := r.Report; rep != nil && rep.RegistryCache {
		mark := ":white_check_mark:"
		if !rep.Verified() {
			mark = ":x:"
		}
		fmt.Fprintf(b, "\n- %s %s\n", mark, mdEscape(cacheLine(*rep)))
		if rep.Cache != nil {
			for _, f := range rep.Cache.Failures() {
				fmt.Fprintf(b, "  - %s\n", mdEscape(f))
			}
		}
	} else if rep != nil {
		fmt.Fprintf(b, "\nImage: `%s`\n\n| Platform | Records | With layers | Layers covered | Cached steps | Verified |\n|---|---|---|---|---|---|\n", rep.Ref)
		for _, p := range rep.Platforms {
			ok := ":white_check_mark:"
			if !p.Verified {
				why := append([]string{p.Error}, p.Problems...)
				ok = ":x: " + mdEscape(strings.Join(why, " "))
			}
			steps := "unknown"
			if c := r.counts(p.Platform); c.Total > 0 {
				steps = fmt.Sprintf("%d/%d", c.Cached, c.Total)
			}
			fmt.Fprintf(b, "| %s | %d | %d | %d/%d | %s | %s |\n", p.Platform, p.Records, p.RecordsWithLayers, p.LayersCovered, p.LayersTotal, steps, ok)
		}
	}
	writeStageCachesMarkdown(b, r)
	writeMountsMarkdown(b, r)
	writeSourcesMarkdown(b, r)
	writeStepsMarkdown(b, r.Build)
	writeSavingsMarkdown(b, r.Savings)
	if r.Misses != nil && r.Misses.Ran > 0 {
		fmt.Fprintf(b, "\n#### Why steps ran\n\n%s.\n\n", mdEscape(r.Misses.Line()))
		for _, l := range r.Misses.Lines() {
			fmt.Fprintf(b, "- %s\n", mdEscape(l))
		}
	}
	if len(r.Gates) > 0 {
		b.WriteString("\n#### Cache gates\n\n")
		for _, g := range r.Gates {
			mark := ":information_source:"
			if g.Failed {
				mark = ":x:"
			}
			fmt.Fprintf(b, "- %s %s\n", mark, mdEscape(g.Message))
		}
	}
}

// writeSourcesText is the result block's lines on the cache sources: what
// the check found in each, then what BuildKit said when it imported it.
// Without a check, what BuildKit said is all there is.
func writeSourcesText(b *strings.Builder, r Result) {
	imports := r.imports()
	if r.Sources == nil {
		for _, imp := range imports {
			fmt.Fprintf(b, "cache source: %s\n", importLine(imp))
		}
		return
	}
	said := map[string]string{}
	for _, imp := range imports {
		said[imp.Ref] = imp.Error
	}
	for _, s := range r.Sources {
		fmt.Fprintf(b, "%s\n", s.Message())
		if e, ok := said[s.Ref]; ok && e != "" && s.State != verify.SourceNotFound {
			fmt.Fprintf(b, "  BuildKit: %s\n", e)
		}
	}
}

func importLine(imp Import) string {
	switch {
	case strings.HasSuffix(imp.Error, "not found"):
		return fmt.Sprintf("not imported  %s (not found: expected until a first push there)", imp.Ref)
	case imp.Error != "":
		return fmt.Sprintf("not imported  %s (%s)", imp.Ref, imp.Error)
	}
	return "imported      " + imp.Ref
}

// writeSourcesMarkdown is the job summary's table of cache sources.
func writeSourcesMarkdown(b *strings.Builder, r Result) {
	writeTable(b, "Cache sources", []string{"Source", "Found", "Imports for the build"}, r.Sources, func(s verify.Source) []string {
		imports := "nothing"
		if s.Importable {
			imports = "cache"
			if len(s.Missing) > 0 {
				imports += ", nothing for " + strings.Join(s.Missing, ", ")
			}
		}
		mark := ""
		if s.Warns() {
			mark = ":warning: "
		}
		return []string{"`" + s.Ref + "`", mark + mdEscape(sourceFound(s)), imports}
	})
}

// sourceFound is the state of a source in a few words.
func sourceFound(s verify.Source) string {
	switch s.State {
	case verify.SourceNotFound:
		return "not found (a first build there)"
	case verify.SourceDenied:
		return "access refused: " + s.Error
	case verify.SourceUnreachable:
		return "unreadable: " + s.Error
	case verify.SourceRegistryCache:
		return "registry cache"
	case verify.SourceNoCache:
		return "image without cache metadata"
	}
	return "inline cache for " + strings.Join(s.Cached, ", ")
}
