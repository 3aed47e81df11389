package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inlinecache/action/internal/registrytest"
)

// A multi-stage Dockerfile whose builder stage has steps gets one warning
// right after the plan group, naming the stage and its RUN steps; the
// build goes on.
func TestBuilderStageWarning(t *testing.T) {
	t.Parallel()
	df := filepath.Join(t.TempDir(), "Dockerfile")
	if err := os.WriteFile(df, []byte("FROM golang AS build\nCOPY go.mod .\nRUN go mod download\nCOPY . .\nRUN go build -o /app .\nFROM scratch\nCOPY --from=build /app /app\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	reg := registrytest.Serve(t)
	f := &fakeBuildx{t: t, image: registrytest.Image(t, "linux/amd64", 2, registrytest.Valid)}
	r := runApp(t, f, map[string]string{"tags": reg + "/app:main", "push": "true", "file": df}, nil)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	plan := strings.Index(r.stdout, "::group::inline-cache: plan")
	warn := strings.Index(r.stdout, `::warning::multi-stage build: the inline cache holds only the layers of the image (stage "#1"); builder stage "build" (4 steps: line 3 `+"`RUN go mod download`"+`, line 5 `+"`RUN go build -o /app .`"+`)`)
	build := strings.Index(r.stdout, "::group::inline-cache: build")
	if plan < 0 || warn < plan || build < warn {
		t.Errorf("want the plan group, the stage warning, then the build group:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "set cache-stages: registry (one mode=max cache at "+reg+"/app:main-buildcache") {
		t.Errorf("the warning does not suggest cache-stages with a cache in the pushed repository:\n%s", r.stdout)
	}
	if n := strings.Count(r.stdout, "multi-stage build:"); n != 1 {
		t.Errorf("%d stage warnings, want 1", n)
	}
}
