package fuzzing

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// targets are the project's fuzz targets: the inline cache payload
// decoder, the list and cache-entry (CSV) input parsers, and reference
// parsing.
var targets = []struct{ name, pkg string }{
	{"FuzzDecode", "./internal/cachemeta"},
	{"FuzzParseList", "./internal/inputs"},
	{"FuzzParse", "./internal/cacheentry"},
	{"FuzzParseReference", "./internal/verify"},
}

// fuzzTime is how long each target runs: brief, so the suite stays fast;
// run a target longer by hand with go test -fuzz. A count, not a duration:
// with a duration Go 1.26's fuzz coordinator can fail a clean run with
// "context deadline exceeded" when the time runs out under load
// (go.dev/issue/75804, fixed in Go 1.27); a count has no deadline to race.
const fuzzTime = "50000x"

// TestFuzzTargets runs each target with go test -fuzz for fuzzTime, one
// after the other (they would only fight over the CPUs). A crasher fails
// the test; go test -fuzz saves it under the package's testdata/fuzz, where
// the plain test run replays it from then on.
func TestFuzzTargets(t *testing.T) {
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "go", "test", "-count=1", "-run", "^$", "-fuzz", "^"+tg.name+"$", "-fuzztime", fuzzTime, tg.pkg)
			cmd.Dir = "../.."
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("go test -fuzz %s %s: %v\n%s", tg.name, tg.pkg, err, out)
			}
			if !strings.Contains(string(out), "ok ") {
				t.Fatalf("fuzzing %s did not finish cleanly:\n%s", tg.name, out)
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			t.Logf("%s", strings.Join(lines[max(0, len(lines)-3):], "\n"))
		})
	}
}
