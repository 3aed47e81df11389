//go:build linux

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
	if !strings.Contains(base.log, "--cache-from type=registry,ref="+image+":main") ||
		!strings.Contains(base.log, "cache-from branches (GitHub push, tags as metadata-action's type=ref,event=branch): default branch main: "+image+":main") {
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
		if !strings.Contains(pr.log, want) {
			t.Errorf("the pull request's log lacks %q", want)
		}
	}
	checkAllRunStepsCached(t, pr)
}

// cache-from: type=inline imports nothing in BuildKit: refused before
// anything runs, saying what to write.
func TestCacheFromInlineRefused(t *testing.T) {
	r := action(t, map[string]string{"context": project(t, "app"), "tags": repo(t) + ":main", "push": "true", "cache-from": "type=inline,ref=" + repo(t) + ":main"})
	if r.code != 2 || !strings.Contains(r.log, `input "cache-from": type=inline cannot be imported`) || !strings.Contains(r.log, "write type=registry,ref="+repo(t)+":main") {
		t.Errorf("exit %d, want 2 naming cache-from and what to write", r.code)
	}
	if strings.Contains(r.log, "inline-cache: build") {
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
	if r.code != 0 || r.outputs["cache-verified"] != "true" {
		t.Fatalf("exit %d, cache-verified %q", r.code, r.outputs["cache-verified"])
	}
	want := `multi-stage build: the inline cache holds only the layers of the image (stage "#1"); builder stage "tools" (3 steps: line 5 ` + "`" + `RUN ["/bin/busybox", "--install", "-s", "/bin"]` + "`" + `, line 6 ` + "`" + `RUN echo "built in the tools stage" > /artifact.txt` + "`" + `)`
	if strings.Count(r.log, "multi-stage build:") != 1 || !strings.Contains(r.log, want) {
		t.Errorf("log lacks the one warning %q", want)
	}
	if plan, build := strings.Index(r.log, "multi-stage build:"), strings.Index(r.log, "inline-cache: build"); plan < 0 || build < plan {
		t.Errorf("the warning does not come before the build")
	}
}
