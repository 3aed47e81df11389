package app

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/inlinecache/action/internal/registrytest"
)

var (
	addrRE   = regexp.MustCompile(`127\.0\.0\.1:\d+`)
	digestRE = regexp.MustCompile(`sha256:[0-9a-f]{64}`)
	tmpRE    = regexp.MustCompile(`/[^ "]*/inline-cache-\d+`)
	// untaggedRE is the window between the push by digest and the tags.
	untaggedRE = regexp.MustCompile(`pushed by digest alone for \d+\.\d s`)
)

// normalise replaces what changes from run to run: the registry's address,
// digests and the run's temp dir.
func normalise(s, dir string) string {
	s = strings.ReplaceAll(s, dir, "$DIR")
	s = addrRE.ReplaceAllLiteralString(s, "$REGISTRY")
	s = digestRE.ReplaceAllLiteralString(s, "sha256:$DIGEST")
	s = untaggedRE.ReplaceAllLiteralString(s, "pushed by digest alone for $SECONDS s")
	return tmpRE.ReplaceAllLiteralString(s, "$TMP")
}

// checkGolden compares got with testdata/<name>.golden, or rewrites it with
// -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	golden := filepath.Join("testdata", name+".golden")
	if *updateGolden {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/app -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("differs from %s:\n--- got\n%s--- want\n%s", golden, got, want)
	}
}

// wholeRun is everything a run shows: the log, stderr, the outputs and the
// step summary.
func wholeRun(r result, dir string) string {
	var b strings.Builder
	b.WriteString("--- stdout\n" + r.stdout + "--- stderr\n" + r.stderr + "--- outputs\n")
	keys := make([]string, 0, len(r.outputs))
	for k := range r.outputs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteString(k + "=" + r.outputs[k] + "\n")
	}
	b.WriteString("--- summary\n" + r.summary)
	return normalise(b.String(), dir)
}

// TestBuildLogGolden pins the whole log of a build that pushes to two
// repositories and verifies both: the plan, the build's own output, the
// verify group with its result block, the outputs and the summary.
func TestBuildLogGolden(t *testing.T) {
	t.Parallel()
	reg := registrytest.Serve(t)
	f := &fakeBuildx{t: t, image: registrytest.Image(t, "linux/amd64", 3, registrytest.Valid)}
	r := runApp(t, f, map[string]string{
		"tags":       reg + "/app:main\n" + reg + "/mirror/app:main",
		"push":       "true",
		"build-args": "VERSION=1.2.3",
	}, nil)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	checkGolden(t, "build-log", wholeRun(r, r.dir))
}

// A push to two repositories is verified in both: in full in the first,
// the same digest's presence in the second. An image missing from the
// second fails verification, naming it.
func TestPushToTwoRepositoriesVerifiesBoth(t *testing.T) {
	t.Parallel()
	img := registrytest.Image(t, "linux/amd64", 2, registrytest.Valid)
	tags := func(reg string) string {
		return reg + "/one/app:v1\n" + reg + "/two/app:v1\n" + reg + "/one/app:latest"
	}

	reg := registrytest.Serve(t)
	r := runApp(t, &fakeBuildx{t: t, image: img}, map[string]string{"tags": tags(reg), "push": "true"}, nil)
	if r.code != 0 || r.outputs["cache-verified"] != "true" {
		t.Fatalf("both pushed: exit %d, cache-verified %q\n%s", r.code, r.outputs["cache-verified"], r.stdout)
	}

	reg = registrytest.Serve(t)
	lost := &fakeBuildx{t: t, image: img, lost: map[string]bool{reg + "/two/app": true}}
	r = runApp(t, lost, map[string]string{"tags": tags(reg), "push": "true"}, nil)
	if r.code != ExitFailed || r.outputs["cache-verified"] != "false" {
		t.Fatalf("second repository missing: exit %d, cache-verified %q\n%s", r.code, r.outputs["cache-verified"], r.stdout)
	}
	if !strings.Contains(r.stdout, reg+"/two/app@sha256:") {
		t.Errorf("the failure does not name the missing image in the second repository:\n%s", r.stdout)
	}
}

// TestDockerBuildLogGolden pins the whole log of a build without buildx:
// the same plan, build and verify groups, with the push group between.
func TestDockerBuildLogGolden(t *testing.T) {
	t.Parallel()
	reg := registrytest.Serve(t)
	d := &fakeDocker{t: t, image: registrytest.Image(t, "linux/amd64", 2, registrytest.Valid)}
	r := runApp(t, &fakeBuildx{t: t, docker: d}, map[string]string{"tags": reg + "/app:main\n" + reg + "/mirror/app:main", "push": "true"}, map[string]bool{"docker": true})
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	checkGolden(t, "docker-build-log", wholeRun(r, r.dir))
}

// tag-after-verify: a verified build sets every tag to the verified digest;
// a build whose verification fails leaves an existing tag on its previous
// image and creates no new tag; a tag already there is not rewritten.
func TestTagAfterVerify(t *testing.T) {
	t.Parallel()
	reg := registrytest.Serve(t)
	old := registrytest.Push(t, reg+"/app:main", registrytest.Image(t, "linux/amd64", 1, registrytest.Valid))
	oldDigest := old[strings.Index(old, "@")+1:]
	tags := reg + "/app:main\n" + reg + "/app:v2"

	// Verification fails (the image carries no cache): nothing moves.
	bad := &fakeBuildx{t: t, image: registrytest.Image(t, "linux/amd64", 2, registrytest.None)}
	r := runApp(t, bad, map[string]string{"tags": tags, "push": "true"}, nil)
	if r.code != ExitFailed || r.outputs["cache-verified"] != "false" {
		t.Fatalf("exit %d, cache-verified %q\n%s", r.code, r.outputs["cache-verified"], r.stdout)
	}
	if got := registrytest.Head(t, reg+"/app:main"); got != oldDigest {
		t.Errorf("app:main moved to %s after a failed verification", got)
	}
	if _, err := remote.Head(mustRef(t, reg+"/app:v2")); err == nil {
		t.Errorf("app:v2 was created after a failed verification")
	}
	badDigest, _ := bad.image.Digest()
	if r.outputs["digest"] != badDigest.String() {
		t.Errorf("digest output %q, want the pushed %s", r.outputs["digest"], badDigest)
	}
	if !strings.Contains(r.stdout, "tags: left where they were (verification did not pass): "+reg+"/app:main, "+reg+"/app:v2") ||
		!strings.Contains(r.summary, "Tags left where they were") {
		t.Errorf("the result does not say the tags were left:\n%s\n%s", r.stdout, r.summary)
	}

	// Verification passes: both tags point at the verified digest.
	good := &fakeBuildx{t: t, image: registrytest.Image(t, "linux/amd64", 2, registrytest.Valid)}
	r = runApp(t, good, map[string]string{"tags": tags, "push": "true"}, nil)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stdout)
	}
	for _, tg := range []string{reg + "/app:main", reg + "/app:v2"} {
		if got := registrytest.Head(t, tg); got != r.outputs["digest"] {
			t.Errorf("%s → %s, want the verified %s", tg, got, r.outputs["digest"])
		}
	}
	if !strings.Contains(r.stdout, "moved     "+reg+"/app:main (was "+oldDigest+")") || !strings.Contains(r.stdout, "created   "+reg+"/app:v2") {
		t.Errorf("tag lines missing:\n%s", r.stdout)
	}

	// The same digest again: nothing to write.
	r = runApp(t, good, map[string]string{"tags": tags, "push": "true"}, nil)
	if r.code != 0 || strings.Count(r.stdout, "unchanged ") != 2 {
		t.Errorf("rerun: exit %d, want both tags unchanged:\n%s", r.code, r.stdout)
	}

	// verify: warn with tag-after-verify true: a failed verification warns
	// and still moves nothing.
	goodDigest := registrytest.Head(t, reg+"/app:main")
	r = runApp(t, bad, map[string]string{"tags": tags, "push": "true", "verify": "warn", "tag-after-verify": "true"}, nil)
	if r.code != 0 || !strings.Contains(r.stdout, "left where they were") {
		t.Errorf("warn: exit %d, want 0 and the tags left:\n%s", r.code, r.stdout)
	}
	if got := registrytest.Head(t, reg+"/app:main"); got != goodDigest {
		t.Errorf("warn: app:main moved from the verified %s to %s", goodDigest, got)
	}
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
