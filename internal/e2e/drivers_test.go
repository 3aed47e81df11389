//go:build linux

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/inlinecache/action/internal/e2e/harness"

	"github.com/inlinecache/action/internal/testenv"
)

// The builder matrix: each leg builds, empties the builder's cache as a
// fresh CI machine would have it, rebuilds from the registry's inline cache
// with every RUN step CACHED, and verifies. The remote-driver leg is
// TestPushVerifyThenRebuildFromRegistryCache (build_test.go).

// TestDockerDriver is the buildx docker driver on dockerd 20.10, as on
// GitHub's hosted runners without setup-buildx-action, with both inline
// cache methods.
func TestDockerDriver(t *testing.T) {
	d := engine(t)
	environ := d.Environ()
	for _, method := range []string{"cache-to", "build-arg"} {
		t.Run(method, func(t *testing.T) {
			ctx := project(t, "app")
			tag := repo(t) + ":main"
			in := map[string]string{"context": ctx, "tags": tag, "push": "true", "cache-method": method}
			if method == "cache-to" {
				// The warning that inline cache is always mode=min.
				in["cache-to"] = "type=inline,mode=max"
			}
			// The engine keeps its cache between legs.
			enginePrune(t, d)
			first := actionIn(t, environ, in)
			checkVerified(t, first)
			checkNoRunStepCached(t, first)
			if !strings.Contains(first.Log, `builder: docker buildx plugin (github.com/docker/buildx `+testenv.BuildxVersion) ||
				!strings.Contains(first.Log, `builder "`+testenv.DockerContext+`", driver docker, nodes: `+testenv.DockerContext+" BuildKit v0.8+unknown") {
				t.Errorf("plan does not say it builds on the docker driver of the 20.10 engine")
			}
			switch method {
			case "cache-to":
				if !strings.Contains(first.Log, "--cache-to type=inline") {
					t.Errorf("--cache-to type=inline not in the command")
				}
				if !strings.Contains(first.Log, "::warning::cache-to: inline cache ignores mode=max") {
					t.Errorf("no warning that inline cache is always mode=min")
				}
				// tag-after-verify's fallback: the docker driver pushes
				// only by tag, so the tags move before verification, and
				// the log says the guarantee does not hold.
				if !strings.Contains(first.Log, "::warning::tag-after-verify: the tags are pushed with the image, before verification") ||
					!strings.Contains(first.Log, " --tag "+tag) || strings.Contains(first.Log, "push-by-digest") {
					t.Errorf("the docker driver does not fall back to pushing the tags with a warning")
				}
			case "build-arg":
				if !strings.Contains(first.Log, "--build-arg BUILDKIT_INLINE_CACHE=1") || strings.Contains(first.Log, "--cache-to type=inline") {
					t.Errorf("build-arg method did not reach the build alone")
				}
			}

			enginePrune(t, d)
			second := actionIn(t, environ, in)
			checkVerified(t, second)
			checkAllRunStepsCached(t, second)
			if method == "cache-to" {
				checkChangedFile(t, ctx, func() run { return actionIn(t, environ, in) })
				checkFailingStep(t, func(ctx string) run {
					return actionIn(t, environ, map[string]string{"context": ctx, "tags": tag, "push": "true"})
				})
			}
		})
	}
}

// TestDockerDriverRefusals: what the docker driver cannot do is refused
// before the build, naming the input, instead of failing obscurely.
func TestDockerDriverRefusals(t *testing.T) {
	d := engine(t)
	ctx := project(t, "app")
	tests := []struct {
		name  string
		in    map[string]string
		input string
		says  string
	}{
		{"two platforms", map[string]string{"platforms": "linux/amd64,linux/386"}, "platforms", "cannot build several platforms"},
		{"registry cache export", map[string]string{"cache-to": "type=registry,ref=" + harness.Env.Registry + "/e2e/c:1,mode=max"}, "cache-to", "cannot export cache type=registry"},
		{"attestations", map[string]string{"provenance": "mode=max"}, "provenance", "cannot store attestations"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in["context"] = ctx
			tt.in["tags"] = repo(t) + ":x"
			tt.in["push"] = "true"
			r := actionIn(t, d.Environ(), tt.in)
			if r.Code != 2 {
				t.Errorf("exit %d, want 2", r.Code)
			}
			// The engine's version and store, found by docker info.
			if !regexp.MustCompile(`input "` + tt.input + `": builder "` + testenv.DockerContext + `" \(driver docker, engine 20\.10\.[^,]+, classic image store\) ` + tt.says).MatchString(r.Log) {
				t.Errorf("refusal does not name input %q, the builder, its engine and store", tt.input)
			}
			if strings.Contains(r.Log, "inline-cache: build") {
				t.Errorf("a build was started")
			}
		})
	}
}

// TestLoadOnlySkipsVerification: a pull-request build that only loads the
// image into the engine pushes nothing, so nothing is verified, and the log
// says why.
func TestLoadOnlySkipsVerification(t *testing.T) {
	d := engine(t)
	tag := "e2e/load-only:pr"
	r := actionIn(t, d.Environ(), map[string]string{"context": project(t, "app"), "tags": tag, "load": "true"})
	if r.Code != 0 || r.Outputs["cache-verified"] != "skipped" {
		t.Fatalf("exit %d cache-verified %q", r.Code, r.Outputs["cache-verified"])
	}
	if !strings.Contains(r.Log, "verification skipped (nothing was pushed (load only") {
		t.Errorf("log does not say why verification was skipped")
	}
	if out, err := d.Docker(context.Background(), "image", "inspect", "--format", "{{.Id}}", tag); err != nil || strings.TrimSpace(out) != r.Outputs["imageid"] {
		t.Errorf("image not loaded into the engine as %s (imageid %q): %v %s", tag, r.Outputs["imageid"], err, out)
	}
}

// TestLegacyDockerBuild is GitLab's dind recipe: no buildx anywhere, so
// cache-method auto falls back to docker build with DOCKER_BUILDKIT=1 and
// BUILDKIT_INLINE_CACHE=1 on the engine's BuildKit, then docker push.
func TestLegacyDockerBuild(t *testing.T) {
	d := engine(t)
	// PATH with the engine's docker 20.10 CLI but no buildx; a DOCKER_CONFIG
	// without the plugin; DOCKER_HOST instead of the context.
	environ := setEnv(cleanEnv(harness.Env.Environ()),
		"PATH="+d.BinDir+string(os.PathListSeparator)+"/usr/sbin:/usr/bin:/sbin:/bin",
		"DOCKER_CONFIG="+t.TempDir(),
		"DOCKER_HOST="+d.Host,
		"BUILDX_BUILDER=",
	)
	if p, err := lookPathIn(environ, "buildx"); err == nil {
		t.Fatalf("buildx found on the legacy PATH at %s", p)
	}
	ctx := project(t, "app")
	tag := repo(t) + ":main"
	in := map[string]string{"context": ctx, "tags": tag + "," + repo(t) + ":v1", "push": "true"}

	enginePrune(t, d)
	first := actionIn(t, environ, in)
	checkVerified(t, first)
	checkNoRunStepCached(t, first)
	for _, want := range []string{
		"builder: docker build (no buildx): docker CLI 20.10.",
		"::warning::cache-method auto: buildx is not installed, so the inline cache is requested with BUILDKIT_INLINE_CACHE=1 on docker build",
		"command: DOCKER_BUILDKIT=1 " + filepath.Join(d.BinDir, "docker") + " build --build-arg BUILDKIT_INLINE_CACHE=1 --cache-from " + tag,
		"then:    " + filepath.Join(d.BinDir, "docker") + " push " + tag,
	} {
		if !strings.Contains(first.Log, want) {
			t.Errorf("log lacks %q", want)
		}
	}

	enginePrune(t, d)
	second := actionIn(t, environ, in)
	checkVerified(t, second)
	checkAllRunStepsCached(t, second)
	// docker build has no rawjson: plain, read by the same step model.
	if !strings.Contains(second.Log, "--progress plain") || !strings.HasPrefix(second.Raw, "#") {
		t.Errorf("docker build was not run with --progress plain")
	}
	checkChangedFile(t, ctx, func() run { return actionIn(t, environ, in) })
	checkFailingStep(t, func(ctx string) run {
		return actionIn(t, environ, map[string]string{"context": ctx, "tags": tag, "push": "true"})
	})

	// docker build pushes only by tag: tag-after-verify true is bad input.
	r := actionIn(t, environ, map[string]string{"context": ctx, "tags": tag, "push": "true", "tag-after-verify": "true"})
	if r.Code != 2 || !strings.Contains(r.Log, `input "tag-after-verify": buildx is not installed, and docker build without it cannot push an image by digest`) {
		t.Errorf("tag-after-verify true without buildx: exit %d, want 2 naming the input", r.Code)
	}

	// What docker build cannot do is refused up front.
	r = actionIn(t, environ, map[string]string{"context": ctx, "tags": tag, "push": "true", "cache-method": "cache-to"})
	if r.Code != 2 || !strings.Contains(r.Log, `input "cache-method": buildx is not installed`) {
		t.Errorf("cache-method cache-to without buildx: exit %d, want 2 naming the input", r.Code)
	}
}

// TestNoDaemon: no BuildKit daemon behind a remote builder, no engine
// behind DOCKER_HOST with and without buildx: one clear message, exit 1,
// nothing built.
func TestNoDaemon(t *testing.T) {
	d := engine(t) // the docker CLI of the engine's package
	missing := "unix://" + filepath.Join(t.TempDir(), "docker.sock")
	withBuildx := setEnv(cleanEnv(harness.Env.Environ()), "DOCKER_HOST="+missing, "BUILDX_BUILDER=")
	noBuildx := setEnv(withBuildx,
		"PATH="+d.BinDir+string(os.PathListSeparator)+"/usr/sbin:/usr/bin:/sbin:/bin",
		"DOCKER_CONFIG="+t.TempDir())
	// A remote builder whose daemon is gone (its socket never existed).
	gone := filepath.Join(t.TempDir(), "buildkitd.sock")
	if out, err := harness.Env.Buildx(context.Background(), "create", "--name", "inline-cache-gone", "--driver", "remote", "unix://"+gone); err != nil {
		t.Fatalf("buildx create: %v\n%s", err, out)
	}
	defer harness.Env.Buildx(context.Background(), "rm", "inline-cache-gone")
	tests := []struct {
		name    string
		environ []string
		says    string
	}{
		{"remote socket missing", setEnv(cleanEnv(harness.Env.Environ()), "BUILDX_BUILDER=inline-cache-gone"),
			`::error::buildx builder "inline-cache-gone": node inline-cache-gone0 is inactive: no BuildKit daemon answers at unix://` + gone},
		{"buildx docker driver", withBuildx, `::error::buildx builder "default" cannot be used: failed to connect to the docker API at ` + missing},
		{"docker build", noBuildx, "::error::buildx is not installed and no docker daemon answers, so nothing can build: Cannot connect to the Docker daemon at " + missing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := actionIn(t, tt.environ, map[string]string{"context": project(t, "app"), "tags": repo(t) + ":x", "push": "true"})
			if r.Code != 1 || !strings.Contains(r.Log, tt.says) {
				t.Errorf("exit %d, want 1 with %q", r.Code, tt.says)
			}
			if n := strings.Count(r.Log, "::error"); n != 1 {
				t.Errorf("%d error messages, want one", n)
			}
			if strings.Contains(r.Log, "inline-cache: build") {
				t.Errorf("a build was started")
			}
		})
	}
}

// anyVertexRE is one RUN vertex, with or without a platform in the bracket.
var anyVertexRE = regexp.MustCompile(`(?m)^#(\d+) \[([^\]]*)\d+/\d+\] (RUN .*)$`)

// runVertices reads the raw log: every RUN vertex, keyed by its number (a
// multi-platform build runs each step once per platform, not always with
// the platform in its name), and whether it was CACHED.
func runVertices(log string) map[string]bool {
	cached := map[string]bool{}
	for _, m := range cachedRE.FindAllStringSubmatch(log, -1) {
		cached[m[1]] = true
	}
	steps := map[string]bool{}
	for _, m := range anyVertexRE.FindAllStringSubmatch(log, -1) {
		steps["#"+m[1]+" "+m[3]] = cached[m[1]]
	}
	return steps
}

// TestLegacyDropIn: build-push-action inputs that docker build 20.10 takes
// reach the engine's BuildKit without buildx: a secret by value (as a temp
// file, never on the command line) and a host entry.
func TestLegacyDropIn(t *testing.T) {
	d := engine(t)
	environ := setEnv(cleanEnv(harness.Env.Environ()),
		"PATH="+d.BinDir+string(os.PathListSeparator)+"/usr/sbin:/usr/bin:/sbin:/bin",
		"DOCKER_CONFIG="+t.TempDir(),
		"DOCKER_HOST="+d.Host,
	)
	ctx := project(t, "app")
	df := "FROM scratch\nCOPY busybox /bin/busybox\n" +
		`RUN --mount=type=secret,id=token ["/bin/busybox", "sh", "-c", "test \"$(/bin/busybox cat /run/secrets/token)\" = legacy-s3cr3t && /bin/busybox grep -q 'registry.internal' /etc/hosts && /bin/busybox touch /ok"]` + "\n"
	if err := os.WriteFile(filepath.Join(ctx, "Dockerfile.secret"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	r := actionIn(t, environ, map[string]string{
		"context": ctx, "file": filepath.Join(ctx, "Dockerfile.secret"), "tags": repo(t) + ":main", "push": "true",
		"secrets": "token=legacy-s3cr3t", "add-hosts": "registry.internal:10.9.8.7",
	})
	if r.Code != 0 || r.Outputs["cache-verified"] != "true" {
		t.Fatalf("exit %d cache-verified %q", r.Code, r.Outputs["cache-verified"])
	}
	for _, line := range strings.Split(r.Log, "\n") {
		if strings.HasPrefix(line, "command:") && (strings.Contains(line, "legacy-s3cr3t") || !strings.Contains(line, "--secret id=token,src=")) {
			t.Errorf("secret not passed as a file: %s", line)
		}
	}
}
