//go:build linux

package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/inlinecache/action/internal/e2e/harness"
	"github.com/inlinecache/action/internal/registrytest"
	"github.com/inlinecache/action/internal/testenv"
)

// The current Docker engine, as GitHub's runners and developers' machines
// have it: docker CLI 29, dockerd 28.5.2 on containerd 2, with each image
// store. Each store's engine is shared by its legs, which run in order
// (they prune it); the two stores run side by side.

// engineWhere is how a refusal or fallback names a docker-driver builder on
// the current engine.
func engineWhere(d *testenv.Dockerd) string {
	return `builder "` + d.Context + `" (driver docker, engine ` + testenv.DockerdVersion + `, ` + string(d.Store) + ` image store)`
}

// TestDockerd28ClassicStore: the docker driver on the classic store has no
// cache export, multi-platform or push by digest: tag-after-verify falls
// back with a warning naming the engine and store, what needs them is
// refused up front with the remedy, and the inline cache still works.
func TestDockerd28ClassicStore(t *testing.T) {
	t.Parallel()
	d := harness.CurrentEngine(t, testenv.ClassicStore)
	where := engineWhere(d)
	t.Run("core", func(t *testing.T) { coreScenario(t, d) })
	t.Run("refusals", func(t *testing.T) {
		ctx := project(t, "app")
		for _, tt := range []struct{ input, value, says string }{
			{"tag-after-verify", "true", "cannot push an image by digest"},
			{"platforms", "linux/amd64,linux/386", "cannot build several platforms"},
			{"cache-stages", "registry", "cannot export a registry cache"},
			{"cache-to", "type=registry,ref=" + harness.Env.Registry + "/e2e/c:1,mode=max", "cannot export cache type=registry"},
		} {
			remedy := `or turn on the engine's containerd image store ("features": {"containerd-snapshotter": true} in daemon.json)`
			if tt.input == "tag-after-verify" {
				remedy = "buildx's docker driver pushes by digest on no image store; use a docker-container builder (docker/setup-buildx-action)"
			}
			r := actionIn(t, d.Environ(), map[string]string{"context": ctx, "tags": repo(t) + ":x", "push": "true", tt.input: tt.value})
			if r.Code != 2 || !strings.Contains(r.Log, `input "`+tt.input+`": `+where+" "+tt.says) || !strings.Contains(r.Log, remedy) {
				t.Errorf("%s %s: exit %d, want 2 naming the input, engine version, store and remedy", tt.input, tt.value, r.Code)
			}
			if strings.Contains(r.Log, "inline-cache: build") {
				t.Errorf("%s: a build was started", tt.input)
			}
		}
	})
	t.Run("cache-stages-images", func(t *testing.T) { stageCacheLeg(t, d, "images") })
	t.Run("docker-build-without-buildx", func(t *testing.T) { noBuildxLeg(t, d) })
}

// TestDockerd28ContainerdStore: on the containerd image store the docker
// driver exports cache, builds several platforms and pushes by digest, so
// tag-after-verify, cache-stages registry and multi-platform run as on a
// BuildKit of its own.
func TestDockerd28ContainerdStore(t *testing.T) {
	t.Parallel()
	d := harness.CurrentEngine(t, testenv.ContainerdStore)
	t.Run("core", func(t *testing.T) { coreScenario(t, d) })
	t.Run("refusals", func(t *testing.T) {
		// Push by digest is buildx's refusal on the docker driver, store
		// or not.
		r := actionIn(t, d.Environ(), map[string]string{"context": project(t, "app"), "tags": repo(t) + ":x", "push": "true", "tag-after-verify": "true"})
		if r.Code != 2 || !strings.Contains(r.Log, `input "tag-after-verify": `+engineWhere(d)+" cannot push an image by digest") ||
			!strings.Contains(r.Log, "buildx's docker driver pushes by digest on no image store; use a docker-container builder (docker/setup-buildx-action)") {
			t.Errorf("tag-after-verify true: exit %d, want 2 naming the engine, store and remedy", r.Code)
		}
	})
	t.Run("multi-platform", func(t *testing.T) {
		ctx := project(t, "app")
		in := map[string]string{"context": ctx, "tags": repo(t) + ":main", "push": "true", "platforms": multiPlatforms}
		enginePrune(t, d)
		first := actionIn(t, d.Environ(), in)
		checkPlatformsVerified(t, first)
		checkPlatformStepsCached(t, first, false)
		enginePrune(t, d)
		second := actionIn(t, d.Environ(), in)
		checkPlatformsVerified(t, second)
		checkPlatformStepsCached(t, second, true)
	})
	t.Run("cache-stages-images", func(t *testing.T) { stageCacheLeg(t, d, "images") })
	t.Run("cache-stages-registry", func(t *testing.T) { stageCacheLeg(t, d, "registry") })
	t.Run("docker-build-without-buildx", func(t *testing.T) { noBuildxLeg(t, d) })
	t.Run("docker-buildx-plugin", func(t *testing.T) { pluginLeg(t, d) })
}

// coreScenario builds, pushes and verifies through the action, then on an
// emptied engine rebuilds with every RUN step from the registry's inline
// cache, through the action and through the CLI. The docker driver pushes
// by tag on either store, so tag-after-verify falls back with a warning
// naming engine, store and reason.
func coreScenario(t *testing.T, d *testenv.Dockerd) {
	t.Helper()
	ctx := project(t, "app")
	tag := repo(t) + ":main"
	in := map[string]string{"context": ctx, "tags": tag, "push": "true"}
	enginePrune(t, d)
	first := actionIn(t, d.Environ(), in)
	checkVerified(t, first)
	checkNoRunStepCached(t, first)
	builderLine := `builder "` + d.Context + `", driver docker, nodes: ` + d.Context + ` BuildKit `
	if !strings.Contains(first.Log, builderLine) || !strings.Contains(first.Log, "; engine "+testenv.DockerdVersion+", "+string(d.Store)+" image store") {
		t.Errorf("the builder line does not name the docker driver, engine %s and the %s store", testenv.DockerdVersion, d.Store)
	}
	if !strings.Contains(first.Log, "::warning::tag-after-verify: the tags are pushed with the image, before verification") ||
		!strings.Contains(first.Log, engineWhere(d)+" cannot push by digest (buildx's docker driver pushes by digest on no image store") ||
		!strings.Contains(first.Log, " --tag "+tag) || strings.Contains(first.Log, "push-by-digest") {
		t.Errorf("tag-after-verify does not fall back to pushing the tags, with a warning naming engine, store and reason")
	}
	if got := registrytest.Head(t, tag); got != first.Outputs["digest"] {
		t.Errorf("%s → %q, want the pushed %s", tag, got, first.Outputs["digest"])
	}
	enginePrune(t, d)
	second := actionIn(t, d.Environ(), in)
	checkVerified(t, second)
	checkAllRunStepsCached(t, second)

	enginePrune(t, d)
	r := harness.RunBinaryIn(t, d.Environ(), "build", "--tag", tag, "--push", ctx)
	if r.Code != 0 || !strings.Contains(r.Log, "inline cache: VERIFIED") || !strings.Contains(r.Log, "build steps: 6 of 6 Dockerfile steps cached (cache hit 100%)") {
		t.Errorf("CLI rebuild on an emptied engine: exit %d, want verified with 6 of 6 steps cached", r.Code)
	}
}

// stageCacheLeg builds the stages project with cache-stages mode, then
// rebuilds unchanged on an emptied engine: every step from the caches.
func stageCacheLeg(t *testing.T, d *testenv.Dockerd, mode string) {
	ctx := project(t, "cacheprojects/stages")
	image := repo(t)
	in := map[string]string{"context": ctx, "tags": image + ":main", "push": "true", "cache-stages": mode}
	enginePrune(t, d)
	first := actionIn(t, d.Environ(), in)
	checkPushed(t, first)
	rep := parseReport(t, first)
	wantRef := map[string]string{"images": image + ":main-stage-build", "registry": image + ":main-buildcache"}[mode]
	if len(rep.StageCaches) != 1 || rep.StageCaches[0].Ref != wantRef || rep.StageCaches[0].Verified != "true" {
		t.Fatalf("stage caches = %+v, want %s verified", rep.StageCaches, wantRef)
	}
	enginePrune(t, d)
	same := actionIn(t, d.Environ(), in)
	checkPushed(t, same)
	if r := parseReport(t, same); r.Build.CachedSteps != r.Build.TotalSteps || len(r.StageCaches) != 1 || r.StageCaches[0].Verified != "true" {
		t.Errorf("unchanged rebuild: %d of %d steps cached, stage caches %+v; want all, verified", r.Build.CachedSteps, r.Build.TotalSteps, r.StageCaches)
	}
}

// noBuildxLeg: the docker CLI 29 without the buildx plugin. Its docker
// build with BuildKit needs the plugin (the legacy builder writes no inline
// cache), so the run stops before building and says so; the CLI itself
// says the same.
func noBuildxLeg(t *testing.T, d *testenv.Dockerd) {
	environ := setEnv(cleanEnv(harness.Env.Environ()),
		"PATH="+d.BinDir+string(os.PathListSeparator)+"/usr/sbin:/usr/bin:/sbin:/bin",
		"DOCKER_CONFIG="+t.TempDir(),
		"DOCKER_HOST="+d.Host,
		"BUILDX_BUILDER=",
	)
	ctx := project(t, "app")
	r := actionIn(t, environ, map[string]string{"context": ctx, "tags": repo(t) + ":main", "push": "true"})
	if r.Code != 1 || !strings.Contains(r.Log, "buildx is not installed, and docker CLI "+testenv.DockerCLIVersion+" builds with BuildKit only through the buildx plugin") {
		t.Errorf("exit %d, want 1 saying CLI %s needs the buildx plugin", r.Code, testenv.DockerCLIVersion)
	}
	if strings.Contains(r.Log, "inline-cache: build") {
		t.Errorf("a build was started")
	}
	// What the refusal rests on, from the CLI itself.
	cmd := exec.Command(filepath.Join(d.BinDir, "docker"), "build", "--build-arg", "BUILDKIT_INLINE_CACHE=1", ctx)
	cmd.Env = append(environ, "DOCKER_BUILDKIT=1")
	out, err := cmd.CombinedOutput()
	t.Logf("DOCKER_BUILDKIT=1 docker build (CLI %s, no plugin): %v\n%s", testenv.DockerCLIVersion, err, out)
	if err == nil || !strings.Contains(string(out), "BuildKit is enabled but the buildx component is missing or broken") {
		t.Errorf("docker build with BuildKit and no plugin did not fail naming buildx")
	}
}

// pluginLeg: docker CLI 29 with the buildx plugin and nothing else (no
// standalone buildx on PATH), DOCKER_HOST naming the engine: the default
// builder, whose engine is read through the default context.
func pluginLeg(t *testing.T, d *testenv.Dockerd) {
	cfg := t.TempDir()
	if err := os.MkdirAll(filepath.Join(cfg, "cli-plugins"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(harness.Env.Tools.Buildx, filepath.Join(cfg, "cli-plugins", "docker-buildx")); err != nil {
		t.Fatal(err)
	}
	environ := setEnv(cleanEnv(harness.Env.Environ()),
		"PATH="+d.BinDir+string(os.PathListSeparator)+"/usr/sbin:/usr/bin:/sbin:/bin",
		"DOCKER_CONFIG="+cfg,
		"DOCKER_HOST="+d.Host,
		"BUILDX_BUILDER=",
	)
	if p, err := lookPathIn(environ, "buildx"); err == nil {
		t.Fatalf("buildx found on PATH at %s", p)
	}
	ctx := project(t, "app")
	tag := repo(t) + ":main"
	enginePrune(t, d)
	r := actionIn(t, environ, map[string]string{"context": ctx, "tags": tag, "push": "true"})
	checkVerified(t, r)
	for _, want := range []string{
		"builder: docker buildx plugin (github.com/docker/buildx " + testenv.BuildxVersion,
		`builder "default", driver docker`,
		"; engine " + testenv.DockerdVersion + ", " + string(d.Store) + " image store",
		"command: " + filepath.Join(cfg, "cli-plugins", "docker-buildx") + " build",
	} {
		if !strings.Contains(r.Log, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	// docker build is buildx build when the plugin is there (CLI 23+).
	cmd := exec.Command(filepath.Join(d.BinDir, "docker"), "build", "--progress", "plain", "--tag", tag, ctx)
	cmd.Env = environ
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "CACHED") {
		t.Errorf("docker build through the plugin: %v\n%s", err, out)
	}
}

// TestDockerd28KilledMidBuild: the engine (and with it its BuildKit) dies
// while a step runs on the docker driver. The build fails at once with the
// daemon-lost message, and nothing the run started is left running. An
// engine of its own, so the shared ones live on.
func TestDockerd28KilledMidBuild(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const name = "dockerd28-killed"
	d, err := harness.Env.StartEngine(ctx, testenv.EngineConfig{Name: name, Engine: harness.Env.Tools.CurrentEngine, Store: testenv.ClassicStore})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// What the crash left: the step's processes.
		if err := harness.Env.KillLeftovers(name); err != nil {
			t.Error(err)
		}
	})
	extra := []string{"DOCKER_HOST=", "DOCKER_CONTEXT=" + d.Context, "BUILDX_BUILDER=" + d.Context,
		"PATH=" + d.BinDir + string(os.PathListSeparator) + harness.Env.BinDir + string(os.PathListSeparator) + "/usr/sbin:/usr/bin:/sbin:/bin"}
	r := startBuild(t, `RUN ["/bin/busybox", "sleep", "600"]`, extra, map[string]string{
		"context": project(t, "slow"), "tags": repo(t) + ":slow", "push": "true",
	})
	time.Sleep(time.Second) // let the step get going
	if err := harness.Env.Kill(name); err != nil {
		t.Fatal(err)
	}
	r.wait(t, "build failed: ", "(the connection to the BuildKit daemon was lost: it stopped or crashed during the build)")
}
