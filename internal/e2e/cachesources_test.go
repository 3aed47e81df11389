//go:build linux

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// A pull request's first build imports the base branch's image pushed
// earlier (and looks for the default branch's, which does not exist yet):
// on an empty builder every RUN step comes from the cache.
func TestPullRequestImportsBaseBranch(t *testing.T) {
	prune(t)
	ctx := project(t, "app")
	image := repo(t)
	payload := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(payload, []byte(`{"pull_request":{"number":7},"repository":{"default_branch":"main"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	job := func(extra ...string) []string {
		return append([]string{"GITHUB_REPOSITORY=acme/app", "GITHUB_EVENT_PATH=" + payload}, extra...)
	}

	// The base branch was pushed before: a push to develop imports the
	// default branch's image, which is not there yet.
	base := actionEnv(t, job("GITHUB_EVENT_NAME=push", "GITHUB_REF=refs/heads/develop"), map[string]string{"context": ctx, "tags": image + ":develop", "push": "true"})
	checkVerified(t, base)
	if !strings.Contains(base.Log, "--cache-from type=registry,ref="+image+":main") ||
		!strings.Contains(base.Log, "cache-from branches (GitHub push, tags as metadata-action's type=ref,event=branch): default branch main: "+image+":main") {
		t.Errorf("the push to develop does not import the default branch's image")
	}

	prune(t)
	pr := actionEnv(t, job("GITHUB_EVENT_NAME=pull_request", "GITHUB_REF=refs/pull/7/merge", "GITHUB_BASE_REF=develop"),
		map[string]string{"context": ctx, "tags": image + ":pr-7", "push": "true"})
	checkVerified(t, pr)
	for _, want := range []string{
		"--cache-from type=registry,ref=" + image + ":pr-7",
		"--cache-from type=registry,ref=" + image + ":develop",
		"--cache-from type=registry,ref=" + image + ":main",
		"cache-from branches (GitHub pull_request, tags as metadata-action's type=ref,event=branch): base branch develop: " + image + ":develop; default branch main: " + image + ":main",
	} {
		if !strings.Contains(pr.Log, want) {
			t.Errorf("the pull request's log lacks %q", want)
		}
	}
	checkAllRunStepsCached(t, pr)
	t.Logf("RESULT of the pull request's build:\n%s", resultBlock(pr.Log))
	states := map[string]string{}
	for _, s := range parseReport(t, pr).Sources {
		states[s.Ref] = s.State
	}
	if states[image+":pr-7"] != "not-found" || states[image+":develop"] != "inline" || states[image+":main"] != "not-found" {
		t.Errorf("sources = %v, want pr-7 and main not found, develop with inline cache", states)
	}
	if !strings.Contains(pr.Log, "cache source "+image+":develop: inline cache for linux/amd64") {
		t.Errorf("the log does not show the base branch's image as a source with inline cache")
	}
}

// cache-from: type=inline imports nothing in BuildKit: refused before
// anything runs, saying what to write.
func TestCacheFromInlineRefused(t *testing.T) {
	r := action(t, map[string]string{"context": project(t, "app"), "tags": repo(t) + ":main", "push": "true", "cache-from": "type=inline,ref=" + repo(t) + ":main"})
	if r.Code != 2 || !strings.Contains(r.Log, `input "cache-from": type=inline cannot be imported`) || !strings.Contains(r.Log, "write type=registry,ref="+repo(t)+":main") {
		t.Errorf("exit %d, want 2 naming cache-from and what to write", r.Code)
	}
	if strings.Contains(r.Log, "inline-cache: build") {
		t.Errorf("the build ran")
	}
}

// A multi-stage build whose builder stage has steps gets one warning
// before it, naming the stage and its RUN steps; the build goes on.
func TestBuilderStageWarning(t *testing.T) {
	// Leave the builder as cold as it was: TestCaptureFixtures builds the
	// same project and compares its cache with a fixture from a cold
	// build.
	t.Cleanup(func() { prune(t) })
	r := action(t, map[string]string{"context": project(t, "cacheprojects/multistage"), "tags": repo(t) + ":main", "push": "true"})
	if r.Code != 0 || r.Outputs["cache-verified"] != "true" {
		t.Fatalf("exit %d, cache-verified %q", r.Code, r.Outputs["cache-verified"])
	}
	want := `multi-stage build: the inline cache holds only the layers of the image (stage "#1"); builder stage "tools" (3 steps: line 5 ` + "`" + `RUN ["/bin/busybox", "--install", "-s", "/bin"]` + "`" + `, line 6 ` + "`" + `RUN echo "built in the tools stage" > /artifact.txt` + "`" + `)`
	if strings.Count(r.Log, "multi-stage build:") != 1 || !strings.Contains(r.Log, want) {
		t.Errorf("log lacks the one warning %q", want)
	}
	if plan, build := strings.Index(r.Log, "multi-stage build:"), strings.Index(r.Log, "inline-cache: build"); plan < 0 || build < plan {
		t.Errorf("the warning does not come before the build")
	}
}

// A cache source that is an image without cache metadata (here a plain
// image pushed with go-containerregistry, as a base image or a build
// without inline cache leaves one) imports nothing: a warning before the
// build, which goes on and is verified. With require-cache-source the step
// then fails: nothing could be imported, and something exists.
func TestSourceWithoutCacheMetadata(t *testing.T) {
	img, err := random.Image(256, 2)
	if err != nil {
		t.Fatal(err)
	}
	plain := repo(t) + "/base:plain"
	ref, err := name.ParseReference(plain, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	in := map[string]string{"context": project(t, "app"), "tags": repo(t) + ":main", "push": "true", "cache-from": "type=registry,ref=" + plain}
	r := action(t, in)
	checkVerified(t, r)
	warning := "::warning::cache source " + plain + ": an image without cache metadata"
	if w, build := strings.Index(r.Log, warning), strings.Index(r.Log, "::group::inline-cache: build"); w < 0 || build < w {
		t.Errorf("no warning %q before the build", warning)
	}
	rep := parseReport(t, r)
	states := map[string]string{}
	for _, s := range rep.Sources {
		states[s.Ref] = s.State
	}
	if states[plain] != "no-cache" || states[repo(t)+":main"] != "not-found" {
		t.Errorf("sources = %+v, want %s no-cache and the pushed tag not found", rep.Sources, plain)
	}

	// The tag pushed above is a source now: require-cache-source passes.
	in["require-cache-source"] = "true"
	if r := action(t, in); r.Code != 0 {
		t.Errorf("require-cache-source with %s:main importable: exit %d", repo(t), r.Code)
	}

	// Only the plain image as a source, and a tag never pushed: nothing to
	// import, and a source that exists: the gate fails the step after a
	// verified push.
	in["tags"] = repo(t) + ":third"
	in["tag-after-verify"] = "false"
	r = action(t, in)
	if r.Code != 1 || r.Outputs["cache-verified"] != "true" {
		t.Errorf("exit %d, cache-verified %q; want 1 after a verified push", r.Code, r.Outputs["cache-verified"])
	}
	if !strings.Contains(r.Log, "::error title=Cache gate not met::require-cache-source: none of the cache sources could be imported: cache source "+plain+": an image without cache metadata") {
		t.Errorf("the gate's error does not name the source that imports nothing")
	}
}

// A change in the final stage is explained as its changed input, and
// min-cache-hit fails the step under verify: strict when the cached share
// is lower; an unchanged rebuild meets it.
func TestFinalStageChangeAndMinCacheHit(t *testing.T) {
	t.Cleanup(func() { prune(t) }) // TestCaptureFixtures wants a cold builder
	ctx := project(t, "cacheprojects/multistage")
	in := map[string]string{"context": ctx, "tags": repo(t) + ":main", "push": "true", "min-cache-hit": "100"}
	prune(t)
	first := action(t, in)
	if first.Code != 0 || first.Outputs["cache-verified"] != "true" {
		t.Fatalf("first build: exit %d, cache-verified %q", first.Code, first.Outputs["cache-verified"])
	}
	if !strings.Contains(first.Log, "min-cache-hit 100%: not applied, no cache source was imported") {
		t.Errorf("first build: the gate does not say it was not applied")
	}

	if err := os.WriteFile(filepath.Join(ctx, "hello.txt"), []byte("changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	prune(t)
	changed := action(t, in)
	t.Logf("RESULT after changing hello.txt:\n%s", resultBlock(changed.Log))
	if changed.Code != 1 || changed.Outputs["cache-verified"] != "true" {
		t.Errorf("changed: exit %d, cache-verified %q; want 1 from the gate after a verified push", changed.Code, changed.Outputs["cache-verified"])
	}
	rep := parseReport(t, changed)
	want := "`COPY hello.txt /hello.txt` changed: files it copies from the build context differ"
	if m := rep.Misses; m == nil || len(m.Causes) != 1 || m.Causes[0].Reason != "inputs-changed" || m.Causes[0].Detail != want {
		t.Errorf("misses = %+v, want one cause: %s", m, want)
	}
	if !strings.Contains(changed.Log, "why: 2 steps ran: 2 because `COPY hello.txt /hello.txt` changed (") {
		t.Errorf("the result block does not say why the steps ran")
	}
	gate := fmt.Sprintf("::error title=Cache gate not met::min-cache-hit 100%%25: only %d of %d steps", rep.Build.CachedSteps, rep.Build.TotalSteps)
	if !strings.Contains(changed.Log, gate) {
		t.Errorf("log lacks %q", gate)
	}

	prune(t)
	again := action(t, in)
	if again.Code != 0 || parseReport(t, again).Build.CachedSteps != parseReport(t, again).Build.TotalSteps {
		t.Errorf("unchanged rebuild: exit %d, report %s; want every step cached and the gate met", again.Code, again.Outputs["cache-report"])
	}
}
