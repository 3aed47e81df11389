package buildflags

import (
	"reflect"
	"strings"
	"testing"
)

// FuzzParse: cache-from/cache-to items must never panic; a registry entry
// that parses has a ref; and an entry printed with String parses back to
// itself (that is how the plan passes entries to buildx).
func FuzzParseCache(f *testing.F) {
	for _, s := range []string{
		"type=registry,mode=max,ref=127.0.0.1:5000/e2e/app:cache",
		"type=inline",
		"127.0.0.1:5000/e2e/app:single,127.0.0.1:5000/e2e/app:multi-platform",
		`type=local,"dest=/tmp/a,b",mode=max`,
		"TYPE=gha, scope=build",
		`type=registry,ref="unterminated`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, item string) {
		entries, err := ParseCache(item)
		if err != nil {
			return
		}
		for _, e := range entries {
			if ref, ok := e.Get("ref"); e.Type == "registry" && (!ok || ref == "") {
				t.Fatalf("registry entry without ref: %+v", e)
			}
			// encoding/csv turns \r\n inside a quoted field into \n on
			// reading: not a round trip, and not something users type.
			if strings.Contains(e.String(), "\r") {
				continue
			}
			again, err := ParseCache(e.String())
			if err != nil || len(again) != 1 || !reflect.DeepEqual(again[0], e) {
				t.Fatalf("%q → %+v → %q → %+v, %v", item, e, e.String(), again, err)
			}
		}
	})
}
