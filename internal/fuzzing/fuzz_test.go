package fuzzing

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// targets are the project's fuzz targets: the inline cache payload
// decoder, the list and cache-entry (CSV) input parsers, reference
// parsing, and the build progress readers.
//
// execs is how many inputs each target tries: about 5 seconds' worth on a
// 2-core machine, so the suite stays fast (it runs after the end-to-end
// packages, on the suite's critical path); run a target longer by hand
// with go test -fuzz. A count, not a duration: with -fuzztime=10s, Go's
// fuzz coordinator (go1.26) can fail a target that found nothing with
// "context deadline exceeded" when the deadline races a worker
// (golang/go#75804); a count sets no deadline.
var targets = []struct{ name, pkg, execs string }{
	{"FuzzDecode", "./internal/cachemeta", "25000x"},
	{"FuzzParseList", "./internal/inputs", "50000x"},
	{"FuzzParseCache", "./internal/buildflags", "100000x"},
	{"FuzzParseReference", "./internal/verify", "25000x"},
	{"FuzzRead", "./internal/progress", "10000x"},
}

// TestFuzzTargets runs each target with go test -fuzz for its execs, one
// after the other (they would only fight over the CPUs). A crasher fails
// the test; go test -fuzz saves it under the package's testdata/fuzz, where
// the plain test run replays it from then on.
func TestFuzzTargets(t *testing.T) {
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "go", "test", "-count=1", "-run", "^$", "-fuzz", "^"+tg.name+"$", "-fuzztime", tg.execs, tg.pkg)
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
