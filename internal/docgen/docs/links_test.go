package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// mdLink matches an inline Markdown link's target.
var mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// TestDocLinksResolve fails when the README or a docs page links to a file
// of the repository that is not there, or to a heading a page lacks: pages
// move, and a newcomer follows these links first.
func TestDocLinksResolve(t *testing.T) {
	pages, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	pages = append(pages, filepath.Join(root, "README.md"))
	if extra, _ := filepath.Glob(filepath.Join(root, "examples", "*.md")); len(extra) > 0 {
		pages = append(pages, extra...)
	}
	checked := 0
	for _, page := range pages {
		text, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range mdLink.FindAllStringSubmatch(stripCode(string(text)), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, anchor, _ := strings.Cut(target, "#")
			dest := page
			if file != "" {
				dest = filepath.Join(filepath.Dir(page), filepath.FromSlash(file))
			}
			checked++
			info, err := os.Stat(dest)
			if err != nil {
				t.Errorf("%s links to %s: %v", rel(page), target, err)
				continue
			}
			if anchor == "" || info.IsDir() {
				continue
			}
			body, err := os.ReadFile(dest)
			if err != nil {
				t.Fatal(err)
			}
			if !hasAnchor(string(body), anchor) {
				t.Errorf("%s links to %s: %s has no heading with the anchor #%s", rel(page), target, rel(dest), anchor)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no relative links found: the README should link its docs pages")
	}
}

// stripCode drops fenced code blocks, whose brackets are not links.
func stripCode(s string) string {
	var out []string
	fence := ""
	for _, l := range strings.Split(s, "\n") {
		trimmed := strings.TrimSpace(l)
		switch {
		case fence == "" && strings.HasPrefix(trimmed, "```"):
			fence = trimmed[:strings.LastIndex(trimmed, "`")+1]
		case fence != "" && trimmed == fence:
			fence = ""
		case fence == "":
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// hasAnchor reports whether a heading of page has GitHub's anchor for it:
// lower case, punctuation dropped, spaces as hyphens.
func hasAnchor(page, anchor string) bool {
	for _, l := range strings.Split(stripCode(page), "\n") {
		title, ok := strings.CutPrefix(strings.TrimLeft(l, "#"), " ")
		if !ok || !strings.HasPrefix(l, "#") {
			continue
		}
		if slug(title) == anchor {
			return true
		}
	}
	return false
}

func slug(title string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(title)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9'):
			b.WriteRune(r)
		}
	}
	return b.String()
}

func rel(p string) string {
	r, err := filepath.Rel(root, p)
	if err != nil {
		return p
	}
	return filepath.ToSlash(r)
}

func TestSlug(t *testing.T) {
	for title, want := range map[string]string{
		"Publish only what is verified (`tag-after-verify`)": "publish-only-what-is-verified-tag-after-verify",
		"Try it, test it": "try-it-test-it",
	} {
		if got := slug(title); got != want {
			t.Errorf("slug(%q) = %q, want %q", title, got, want)
		}
	}
}
