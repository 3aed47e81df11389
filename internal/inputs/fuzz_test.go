package inputs

import (
	"strings"
	"testing"
)

// FuzzParseList: list inputs (tags, platforms, cache-from, ...) must never
// panic, and every item comes out trimmed and non-empty. Seeds are the
// kinds of values the fixtures were built and cached with.
func FuzzParseList(f *testing.F) {
	for _, s := range []string{
		"linux/amd64,linux/386",
		"127.0.0.1:5000/e2e/app:single\n127.0.0.1:5000/e2e/app:multi-platform",
		"type=registry,mode=max,ref=127.0.0.1:5000/e2e/app:cache",
		`"type=registry,ref=ghcr.io/acme/app:main",type=gha`,
		"  a , \"b,c\" ,\n\n d\r\n",
		`"unterminated`,
	} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, value string, splitComma bool) {
		items, err := ParseList(value, splitComma)
		if err != nil {
			return
		}
		for _, it := range items {
			if it == "" || it != strings.TrimSpace(it) {
				t.Fatalf("item %q is empty or untrimmed", it)
			}
		}
	})
}
