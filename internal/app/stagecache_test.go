package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inlinecache/action/internal/registrytest"
	"github.com/inlinecache/action/internal/report"
)

const stagesDockerfile = `FROM scratch AS deps
COPY go.mod /go.mod
RUN download

FROM scratch AS build
COPY . /src
COPY --from=deps /deps /deps
RUN compile

FROM scratch
COPY --from=build /app /app
`

func stageReport(t *testing.T, r result) []report.StageCache {
	t.Helper()
	return cacheReport(t, r).StageCaches
}

func stagesFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "Dockerfile")
	if err := os.WriteFile(p, []byte(stagesDockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Each builder stage is built and pushed first, by digest, verified and
// tagged; a stage build that fails is a warning and the image is still
// built, pushed, verified and tagged.
func TestStageImages(t *testing.T) {
	t.Parallel()
	reg := registrytest.Serve(t)
	f := &fakeBuildx{t: t, image: registrytest.Image(t, "linux/amd64", 3, registrytest.Valid), failTarget: "deps"}
	r := runApp(t, f, map[string]string{"tags": reg + "/app:main", "push": "true", "cache-stages": "images", "file": stagesFile(t)}, nil)
	if r.code != 0 || r.outputs["cache-verified"] != "true" {
		t.Fatalf("exit %d, cache-verified %q\n%s", r.code, r.outputs["cache-verified"], r.stdout)
	}
	var builds [][]string
	for _, c := range f.calls {
		if len(c) > 1 && c[1] == "build" {
			builds = append(builds, c)
		}
	}
	if len(builds) != 3 || !strings.Contains(strings.Join(builds[0], " "), "--target deps") || !strings.Contains(strings.Join(builds[1], " "), "--target build") {
		t.Fatalf("builds = %q, want deps, build, then the image", builds)
	}
	for _, ref := range []string{reg + "/app:main-stage-deps", reg + "/app:main-stage-build"} {
		if !strings.Contains(strings.Join(builds[2], " "), "--cache-from type=registry,ref="+ref) {
			t.Errorf("the image's build does not import %s", ref)
		}
	}
	warning := "::warning::cache-stages images: stage cache \"deps\" " + reg + "/app:main-stage-deps: its build failed: "
	if !strings.Contains(r.stdout, warning) || !strings.Contains(r.stdout, "the image is built, pushed and verified without it") {
		t.Errorf("no warning %q:\n%s", warning, r.stdout)
	}
	sc := stageReport(t, r)
	if len(sc) != 2 {
		t.Fatalf("stage caches = %+v, want deps and build", sc)
	}
	if sc[0].Stage != "deps" || sc[0].Verdict != report.NotVerified || !strings.Contains(sc[0].Error, "its build failed") {
		t.Errorf("deps = %+v, want its failed build", sc[0])
	}
	if sc[1].Stage != "build" || sc[1].Verdict != report.Verified || !sc[1].Tagged || sc[1].Digest == "" {
		t.Errorf("build = %+v, want verified and tagged", sc[1])
	}
	if got := registrytest.Head(t, reg+"/app:main-stage-build"); got != sc[1].Digest {
		t.Errorf("the stage tag points at %q, want the verified %s", got, sc[1].Digest)
	}
	if got := registrytest.Head(t, reg+"/app:main-stage-deps"); got != "" {
		t.Errorf("the failed stage's tag was set: %s", got)
	}
	if !strings.Contains(r.summary, "#### Stage caches") || !strings.Contains(r.summary, "stage cache \"build\" "+reg+"/app:main-stage-build") {
		t.Errorf("the summary lacks the stage caches:\n%s", r.summary)
	}
}

// A registry cache export that did not reach the registry (BuildKit's
// ignore-error) is found by verification: a warning, not a failure.
func TestRegistryCacheMissing(t *testing.T) {
	t.Parallel()
	reg := registrytest.Serve(t)
	f := &fakeBuildx{t: t, image: registrytest.Image(t, "linux/amd64", 3, registrytest.Valid)}
	r := runApp(t, f, map[string]string{"tags": reg + "/app:main", "push": "true", "cache-stages": "registry", "file": stagesFile(t)}, nil)
	if r.code != 0 || r.outputs["cache-verified"] != "true" {
		t.Fatalf("exit %d, cache-verified %q\n%s", r.code, r.outputs["cache-verified"], r.stdout)
	}
	build := strings.Join(f.calls[len(f.calls)-1], " ")
	for _, want := range []string{"--cache-to type=registry,ref=" + reg + "/app:main-buildcache,mode=max,ignore-error=true", "--cache-from type=registry,ref=" + reg + "/app:main-buildcache"} {
		if !strings.Contains(build, want) {
			t.Errorf("build lacks %s: %s", want, build)
		}
	}
	if !strings.Contains(r.stdout, "::warning::cache-stages registry: registry cache "+reg+"/app:main-buildcache: verification failed: ") {
		t.Errorf("no warning for the missing cache:\n%s", r.stdout)
	}
	if sc := stageReport(t, r); len(sc) != 1 || sc[0].Verdict != report.NotVerified || sc[0].Mode != "registry" {
		t.Errorf("stage caches = %+v", sc)
	}
}
