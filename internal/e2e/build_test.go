//go:build linux

package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/inlinecache/action/internal/e2e/harness"
)

// checkVerified asserts a successful, verified push that covers every
// layer of the image.
func checkVerified(t *testing.T, r run) cacheReport {
	t.Helper()
	if r.Code != 0 {
		t.Fatalf("exit %d", r.Code)
	}
	if r.Outputs["cache-verified"] != "true" {
		t.Fatalf("cache-verified = %q", r.Outputs["cache-verified"])
	}
	if !strings.HasPrefix(r.Outputs["digest"], "sha256:") || !strings.HasPrefix(r.Outputs["imageid"], "sha256:") {
		t.Errorf("digest %q imageid %q", r.Outputs["digest"], r.Outputs["imageid"])
	}
	var meta map[string]any
	if err := json.Unmarshal([]byte(r.Outputs["metadata"]), &meta); err != nil || meta["containerimage.digest"] != r.Outputs["digest"] {
		t.Errorf("metadata output does not carry the digest: %v %q", err, r.Outputs["metadata"])
	}
	rep := parseReport(t, r)
	if len(rep.Report.Platforms) != 1 {
		t.Fatalf("platforms = %+v", rep.Report.Platforms)
	}
	p := rep.Report.Platforms[0]
	// The Dockerfile has 6 layer-producing steps.
	if !p.Verified || p.LayersTotal != 6 || p.LayersCovered != p.LayersTotal || p.RecordsWithLayers < p.LayersTotal {
		t.Errorf("platform report = %+v, want all 6 layers covered", p)
	}
	if !strings.Contains(r.Summary, "| linux/amd64 |") {
		t.Errorf("job summary = %q", r.Summary)
	}
	return rep
}

// checkRunSteps reads testdata/app's 4 RUN steps from the raw progress
// stream and checks each is CACHED, or each is not (a stream the reader
// cannot parse fails here rather than passing with no steps), and that
// the step outputs count what the stream says.
func checkRunSteps(t *testing.T, r run, wantCached bool) {
	t.Helper()
	checkCountsAgainstRaw(t, r)
	steps := runStepsRaw(t, r.Raw)
	if len(steps) != 4 {
		t.Fatalf("found %d RUN steps in the log, want 4: %v", len(steps), steps)
	}
	for step, cached := range steps {
		if cached != wantCached {
			t.Errorf("%s: CACHED = %v, want %v", step, cached, wantCached)
		}
	}
}

func checkNoRunStepCached(t *testing.T, r run) {
	t.Helper()
	checkRunSteps(t, r, false)
}

func checkAllRunStepsCached(t *testing.T, r run) {
	t.Helper()
	checkRunSteps(t, r, true)
	// FROM scratch is no step: 2 COPY and 4 RUN.
	if rep := parseReport(t, r); rep.Build.TotalSteps != 6 || rep.Build.CachedSteps != 6 || r.Outputs["cache-hit"] != "100" || r.Outputs["uncached-seconds"] != "0.0" {
		t.Errorf("cache-report build = %+v, cache-hit %q, uncached-seconds %q; want 6 of 6 cached, 100, 0.0", rep.Build, r.Outputs["cache-hit"], r.Outputs["uncached-seconds"])
	}
}

func TestPushVerifyThenRebuildFromRegistryCache(t *testing.T) {
	prune(t) // the first build must be cold, whatever ran before
	ctx := project(t, "app")
	tag := repo(t) + ":main"
	in := map[string]string{"context": ctx, "tags": tag, "push": "true"}

	first := action(t, in)
	checkVerified(t, first)
	checkNoRunStepCached(t, first)
	if !strings.Contains(first.Log, "--cache-to type=inline") || !strings.Contains(first.Log, "--cache-from type=registry,ref="+tag) {
		t.Errorf("plan does not show the inline export and the registry import")
	}

	prune(t)
	second := action(t, in)
	checkVerified(t, second)
	checkAllRunStepsCached(t, second)
	if !strings.Contains(second.Log, "build steps: 6 of 6 Dockerfile steps cached (cache hit 100%), 0.0s in steps that ran") {
		t.Errorf("result block does not show the cache hits")
	}
	if !strings.Contains(second.Log, "--progress rawjson") || !strings.HasPrefix(second.Raw, "{") {
		t.Errorf("buildx was not run with --progress rawjson")
	}

	checkChangedFile(t, ctx, func() run { return action(t, in) })
	checkFailingStep(t, func(ctx string) run { return action(t, map[string]string{"context": ctx, "tags": tag, "push": "true"}) })
}

func TestBuildArgMethod(t *testing.T) {
	ctx := project(t, "app")
	tag := repo(t) + ":main"
	in := map[string]string{"context": ctx, "tags": tag, "push": "true", "cache-method": "build-arg"}

	first := action(t, in)
	checkVerified(t, first)
	if !strings.Contains(first.Log, "--build-arg BUILDKIT_INLINE_CACHE=1") || strings.Contains(first.Log, "--cache-to type=inline") {
		t.Errorf("build-arg method did not reach the build alone")
	}
	prune(t)
	second := action(t, in)
	checkVerified(t, second)
	checkAllRunStepsCached(t, second)
}

func TestStandaloneBuildxCLI(t *testing.T) {
	ctx := project(t, "app")
	tag := repo(t) + ":v1"
	// A PATH with buildx but no docker CLI, as on many CI images.
	r := runBinary(t, []string{"PATH=" + harness.Env.BinDir}, "build", "--tag", tag, "--push", ctx)
	if r.Code != 0 {
		t.Fatalf("exit %d", r.Code)
	}
	if !strings.Contains(r.Log, "command: "+filepath.Join(harness.Env.BinDir, "buildx")+" build") {
		t.Errorf("standalone buildx not used")
	}
	if strings.Contains(r.Log, "::") {
		t.Errorf("workflow commands printed outside GitHub")
	}
	if !strings.Contains(r.Log, "inline cache: VERIFIED") {
		t.Errorf("not verified")
	}

	// Rebuilt from the registry's inline cache on an empty builder: every
	// step cached, as the raw stream (--progress-file) says too.
	prune(t)
	raw := filepath.Join(t.TempDir(), "progress.Raw")
	r = runBinary(t, []string{"PATH=" + harness.Env.BinDir}, "build", "--tag", tag, "--push", "--progress-file", raw, ctx)
	if b, err := os.ReadFile(raw); err == nil {
		r.Raw = string(b)
	}
	steps := rawSteps(t, r.Raw)
	if r.Code != 0 || len(steps) != 6 {
		t.Fatalf("rebuild: exit %d, %d steps in the raw stream, want 6", r.Code, len(steps))
	}
	for _, s := range steps {
		if !s.Cached {
			t.Errorf("%s not cached in the raw stream", s.Text)
		}
	}
	if !strings.Contains(r.Log, "build steps: 6 of 6 Dockerfile steps cached (cache hit 100%)") {
		t.Errorf("the result block does not count 6 of 6 cached")
	}
	checkChangedFile(t, ctx, func() run {
		return actionEnv(t, []string{"PATH=" + harness.Env.BinDir}, map[string]string{"context": ctx, "tags": tag, "push": "true"})
	})
	checkFailingStep(t, func(ctx string) run {
		return actionEnv(t, []string{"PATH=" + harness.Env.BinDir}, map[string]string{"context": ctx, "tags": tag, "push": "true"})
	})
}

func TestImageWithoutInlineCache(t *testing.T) {
	ctx := project(t, "app")
	tag := repo(t) + ":plain"
	// Pushed by buildx alone, without inline cache: what a forgotten flag
	// or a driver that drops the cache leaves in the registry.
	out, err := harness.Env.Buildx(context.Background(), "build", "--tag", tag, "--push", "--progress", "plain", ctx)
	if err != nil {
		t.Fatalf("buildx build: %v\n%s", err, out)
	}

	strict := cli(t, "verify", tag)
	if strict.Code != 1 {
		t.Errorf("strict: exit %d, want 1", strict.Code)
	}
	if !strings.Contains(strict.Log, "linux/amd64: image config has no moby.buildkit.cache.v0 key: the image was pushed without inline cache") {
		t.Errorf("strict: message does not say what is missing")
	}
	warn := cli(t, "verify", "--verify", "warn", tag)
	if warn.Code != 0 || !strings.Contains(warn.Log, "warning: 1 of 1 images lack valid inline cache") {
		t.Errorf("warn: exit %d", warn.Code)
	}
}

func TestBadInputStartsNoBuild(t *testing.T) {
	ctx := project(t, "app")
	before := buildStatuses(t)
	tests := []struct {
		name  string
		args  []string
		input string
	}{
		{"bad tag", []string{"build", "--tag", "Not A Tag", "--push", ctx}, "tags"},
		{"unknown cache-method", []string{"build", "--cache-method", "sometimes", ctx}, "cache-method"},
		{"unreadable context", []string{"build", filepath.Join(ctx, "no-such-dir")}, "context"},
		{"context is a file", []string{"build", filepath.Join(ctx, "hello.txt")}, "context"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := cli(t, tt.args...)
			if r.Code != 2 {
				t.Errorf("exit %d, want 2", r.Code)
			}
			if !strings.Contains(r.Log, `error: input "`+tt.input+`"`) {
				t.Errorf("message does not name input %q", tt.input)
			}
			if strings.Contains(r.Log, "=== inline-cache: build") {
				t.Errorf("a build was started")
			}
		})
	}
	if n := newBuilds(before, buildStatuses(t)); len(n) != 0 {
		t.Errorf("BuildKit ran builds for bad input: %v", n)
	}
}

func TestNoPushSkipsVerification(t *testing.T) {
	ctx := project(t, "app")
	before := buildStatuses(t)
	r := action(t, map[string]string{"context": ctx, "tags": repo(t) + ":pr"})
	// Also proves that newBuilds sees a build, so TestBadInputStartsNoBuild's
	// "no build started" check can fail.
	if n := newBuilds(before, buildStatuses(t)); len(n) != 1 {
		t.Errorf("BuildKit history has %d new builds, want 1: %v", len(n), n)
	}
	if r.Code != 0 || r.Outputs["cache-verified"] != "skipped" {
		t.Errorf("exit %d cache-verified %q", r.Code, r.Outputs["cache-verified"])
	}
	if !strings.Contains(r.Log, "verification skipped (nothing was pushed") {
		t.Errorf("log does not say why verification was skipped")
	}
}

// TestActionEntryPoint runs the action the way GitHub does: node runs
// dist/index.js, which finds the binary for this platform in dist/.
func TestActionEntryPoint(t *testing.T) {
	dist := filepath.Join(t.TempDir(), "dist")
	if err := os.MkdirAll(dist, 0o755); err != nil {
		t.Fatal(err)
	}
	shim, err := os.ReadFile(filepath.Join("..", "..", "dist", "index.js"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dist, "index.js"), shim, 0o644); err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(harness.Binary)
	if err != nil {
		t.Fatal(err)
	}
	name := "inline-cache-linux-" + runtime.GOARCH
	if err := os.WriteFile(filepath.Join(dist, name), bin, 0o755); err != nil {
		t.Fatal(err)
	}
	// As a release ships it: the shim runs only a binary SHA256SUMS lists.
	sum := sha256.Sum256(bin)
	if err := os.WriteFile(filepath.Join(dist, "SHA256SUMS"), []byte(hex.EncodeToString(sum[:])+"  "+name+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	ctx := project(t, "app")
	dir := t.TempDir()
	cmd := exec.Command(harness.Env.Tools.Node, filepath.Join(dist, "index.js"))
	cmd.Env = append(cleanEnv(harness.Env.Environ()),
		"GITHUB_ACTIONS=true",
		"GITHUB_OUTPUT="+filepath.Join(dir, "output"),
		"GITHUB_STEP_SUMMARY="+filepath.Join(dir, "summary"),
		"INPUT_CONTEXT="+ctx,
		"INPUT_TAGS="+repo(t)+":main",
		"INPUT_PUSH=true",
	)
	out, err := cmd.CombinedOutput()
	t.Logf("node dist/index.js: %v\n%s", err, out)
	if err != nil {
		t.Fatalf("action failed: %v", err)
	}
	r := run{Log: string(out), Outputs: parseOutputs(t, filepath.Join(dir, "output"))}
	if b, err := os.ReadFile(filepath.Join(dir, "summary")); err == nil {
		r.Summary = string(b)
	}
	checkVerified(t, r)

	// A failing step fails the action with the binary's exit status.
	cmd = exec.Command(harness.Env.Tools.Node, filepath.Join(dist, "index.js"))
	cmd.Env = append(cleanEnv(harness.Env.Environ()), "GITHUB_ACTIONS=true", "GITHUB_OUTPUT="+filepath.Join(dir, "output2"), "INPUT_CACHE-METHOD=bogus")
	out, err = cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
		t.Errorf("bad input through the action: %v, want exit status 2\n%s", err, out)
	}
}

// TestShimUnit runs the entry point's own node tests (dist/index.test.js),
// so the one test command covers them.
func TestShimUnit(t *testing.T) {
	cmd := exec.Command(harness.Env.Tools.Node, "--test", filepath.Join("..", "..", "dist", "index.test.js"))
	out, err := cmd.CombinedOutput()
	t.Logf("node --test dist/:\n%s", out)
	if err != nil {
		t.Fatalf("node tests failed: %v", err)
	}
	if !strings.Contains(string(out), "# fail 0") || strings.Contains(string(out), "# pass 0") {
		t.Errorf("node ran no passing tests")
	}
}
