//go:build linux

package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inlinecache/action/internal/testenv"
)

// The builder matrix: each leg builds, empties the builder's cache as a
// fresh CI machine would have it, rebuilds from the registry's inline cache
// with every RUN step CACHED, and verifies. The remote-driver leg is
// TestPushVerifyThenRebuildFromRegistryCache (build_test.go).

var (
	dockerdOnce sync.Once
	dockerd     *testenv.Dockerd
	dockerdErr  error
)

// engine starts the environment's docker engine (Debian's docker.io 20.10)
// once for the whole test binary; env.Close stops it.
func engine(t *testing.T) *testenv.Dockerd {
	t.Helper()
	dockerdOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		dockerd, dockerdErr = env.StartDockerd(ctx)
	})
	if dockerdErr != nil {
		t.Fatalf("start dockerd: %v", dockerdErr)
	}
	return dockerd
}

// actionIn runs "inline-cache build" as the GitHub Action does, in the
// given environment.
func actionIn(t *testing.T, environ []string, inputs map[string]string) run {
	t.Helper()
	dir := t.TempDir()
	extra := []string{
		"GITHUB_ACTIONS=true",
		"GITHUB_OUTPUT=" + filepath.Join(dir, "output"),
		"GITHUB_STEP_SUMMARY=" + filepath.Join(dir, "summary"),
	}
	for k, v := range inputs {
		extra = append(extra, "INPUT_"+strings.ToUpper(k)+"="+v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "build")
	cmd.Env = append(cleanEnv(environ), extra...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %s: %v", binary, err)
	}
	t.Logf("inline-cache build → exit %d in %s\n%s", code, time.Since(start).Round(time.Millisecond), out)
	r := run{code: code, log: string(out), outputs: parseOutputs(t, filepath.Join(dir, "output"))}
	if b, err := os.ReadFile(filepath.Join(dir, "summary")); err == nil {
		r.summary = string(b)
	}
	return r
}

// setEnv replaces or adds variables in an environment list.
func setEnv(environ []string, kv ...string) []string {
	out := append([]string(nil), environ...)
	for _, s := range kv {
		k, _, _ := strings.Cut(s, "=")
		kept := out[:0]
		for _, e := range out {
			if ek, _, _ := strings.Cut(e, "="); ek != k {
				kept = append(kept, e)
			}
		}
		out = append(kept, s)
	}
	return out
}

func enginePrune(t *testing.T, d *testenv.Dockerd) {
	t.Helper()
	start := time.Now()
	if err := d.Prune(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Logf("engine pruned in %s", time.Since(start).Round(time.Millisecond))
}

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
			if !strings.Contains(first.log, `builder: docker buildx plugin (github.com/docker/buildx `+testenv.BuildxVersion) ||
				!strings.Contains(first.log, `builder "`+testenv.DockerContext+`", driver docker, nodes: `+testenv.DockerContext+" BuildKit v0.8+unknown") {
				t.Errorf("plan does not say it builds on the docker driver of the 20.10 engine")
			}
			switch method {
			case "cache-to":
				if !strings.Contains(first.log, "--cache-to type=inline") {
					t.Errorf("--cache-to type=inline not in the command")
				}
				if !strings.Contains(first.log, "::warning::cache-to: inline cache ignores mode=max") {
					t.Errorf("no warning that inline cache is always mode=min")
				}
				// tag-after-verify's fallback: the docker driver pushes
				// only by tag, so the tags move before verification, and
				// the log says the guarantee does not hold.
				if !strings.Contains(first.log, "::warning::tag-after-verify: the tags are pushed with the image, before verification") ||
					!strings.Contains(first.log, " --tag "+tag) || strings.Contains(first.log, "push-by-digest") {
					t.Errorf("the docker driver does not fall back to pushing the tags with a warning")
				}
			case "build-arg":
				if !strings.Contains(first.log, "--build-arg BUILDKIT_INLINE_CACHE=1") || strings.Contains(first.log, "--cache-to type=inline") {
					t.Errorf("build-arg method did not reach the build alone")
				}
			}

			enginePrune(t, d)
			second := actionIn(t, environ, in)
			checkVerified(t, second)
			checkAllRunStepsCached(t, second)
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
		{"registry cache export", map[string]string{"cache-to": "type=registry,ref=" + env.Registry + "/e2e/c:1,mode=max"}, "cache-to", "cannot export cache type=registry"},
		{"attestations", map[string]string{"provenance": "mode=max"}, "provenance", "cannot store attestations"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in["context"] = ctx
			tt.in["tags"] = repo(t) + ":x"
			tt.in["push"] = "true"
			r := actionIn(t, d.Environ(), tt.in)
			if r.code != 2 {
				t.Errorf("exit %d, want 2", r.code)
			}
			if !strings.Contains(r.log, `input "`+tt.input+`": builder "`+testenv.DockerContext+`" (driver docker) `+tt.says) {
				t.Errorf("refusal does not name input %q and the builder", tt.input)
			}
			if strings.Contains(r.log, "inline-cache: build") {
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
	if r.code != 0 || r.outputs["cache-verified"] != "skipped" {
		t.Fatalf("exit %d cache-verified %q", r.code, r.outputs["cache-verified"])
	}
	if !strings.Contains(r.log, "verification skipped (nothing was pushed (load only") {
		t.Errorf("log does not say why verification was skipped")
	}
	if out, err := d.Docker(context.Background(), "image", "inspect", "--format", "{{.Id}}", tag); err != nil || strings.TrimSpace(out) != r.outputs["imageid"] {
		t.Errorf("image not loaded into the engine as %s (imageid %q): %v %s", tag, r.outputs["imageid"], err, out)
	}
}

// TestLegacyDockerBuild is GitLab's dind recipe: no buildx anywhere, so
// cache-method auto falls back to docker build with DOCKER_BUILDKIT=1 and
// BUILDKIT_INLINE_CACHE=1 on the engine's BuildKit, then docker push.
func TestLegacyDockerBuild(t *testing.T) {
	d := engine(t)
	// PATH with the engine's docker 20.10 CLI but no buildx; a DOCKER_CONFIG
	// without the plugin; DOCKER_HOST instead of the context.
	environ := setEnv(cleanEnv(env.Environ()),
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
		if !strings.Contains(first.log, want) {
			t.Errorf("log lacks %q", want)
		}
	}

	enginePrune(t, d)
	second := actionIn(t, environ, in)
	checkVerified(t, second)
	checkAllRunStepsCached(t, second)

	// docker build pushes only by tag: tag-after-verify true is bad input.
	r := actionIn(t, environ, map[string]string{"context": ctx, "tags": tag, "push": "true", "tag-after-verify": "true"})
	if r.code != 2 || !strings.Contains(r.log, `input "tag-after-verify": buildx is not installed, and docker build without it cannot push an image by digest`) {
		t.Errorf("tag-after-verify true without buildx: exit %d, want 2 naming the input", r.code)
	}

	// What docker build cannot do is refused up front.
	r = actionIn(t, environ, map[string]string{"context": ctx, "tags": tag, "push": "true", "cache-method": "cache-to"})
	if r.code != 2 || !strings.Contains(r.log, `input "cache-method": buildx is not installed`) {
		t.Errorf("cache-method cache-to without buildx: exit %d, want 2 naming the input", r.code)
	}
}

// TestNoDaemon: no BuildKit daemon behind a remote builder, no engine
// behind DOCKER_HOST with and without buildx: one clear message, exit 1,
// nothing built.
func TestNoDaemon(t *testing.T) {
	engine(t) // the docker CLI of the engine's package
	missing := "unix://" + filepath.Join(t.TempDir(), "docker.sock")
	withBuildx := setEnv(cleanEnv(env.Environ()), "DOCKER_HOST="+missing, "BUILDX_BUILDER=")
	noBuildx := setEnv(withBuildx,
		"PATH="+dockerd.BinDir+string(os.PathListSeparator)+"/usr/sbin:/usr/bin:/sbin:/bin",
		"DOCKER_CONFIG="+t.TempDir())
	// A remote builder whose daemon is gone (its socket never existed).
	gone := filepath.Join(t.TempDir(), "buildkitd.sock")
	if out, err := env.Buildx(context.Background(), "create", "--name", "inline-cache-gone", "--driver", "remote", "unix://"+gone); err != nil {
		t.Fatalf("buildx create: %v\n%s", err, out)
	}
	defer env.Buildx(context.Background(), "rm", "inline-cache-gone")
	tests := []struct {
		name    string
		environ []string
		says    string
	}{
		{"remote socket missing", setEnv(cleanEnv(env.Environ()), "BUILDX_BUILDER=inline-cache-gone"),
			`::error::buildx builder "inline-cache-gone": node inline-cache-gone0 is inactive: no BuildKit daemon answers at unix://` + gone},
		{"buildx docker driver", withBuildx, `::error::buildx builder "default" cannot be used: failed to connect to the docker API at ` + missing},
		{"docker build", noBuildx, "::error::buildx is not installed and no docker daemon answers, so nothing can build: Cannot connect to the Docker daemon at " + missing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := actionIn(t, tt.environ, map[string]string{"context": project(t, "app"), "tags": repo(t) + ":x", "push": "true"})
			if r.code != 1 || !strings.Contains(r.log, tt.says) {
				t.Errorf("exit %d, want 1 with %q", r.code, tt.says)
			}
			if n := strings.Count(r.log, "::error"); n != 1 {
				t.Errorf("%d error messages, want one", n)
			}
			if strings.Contains(r.log, "inline-cache: build") {
				t.Errorf("a build was started")
			}
		})
	}
}

func lookPathIn(environ []string, prog string) (string, error) {
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			for _, dir := range filepath.SplitList(v) {
				p := filepath.Join(dir, prog)
				if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
					return p, nil
				}
			}
		}
	}
	return "", os.ErrNotExist
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
	environ := setEnv(cleanEnv(env.Environ()),
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
	if r.code != 0 || r.outputs["cache-verified"] != "true" {
		t.Fatalf("exit %d cache-verified %q", r.code, r.outputs["cache-verified"])
	}
	for _, line := range strings.Split(r.log, "\n") {
		if strings.HasPrefix(line, "command:") && (strings.Contains(line, "legacy-s3cr3t") || !strings.Contains(line, "--secret id=token,src=")) {
			t.Errorf("secret not passed as a file: %s", line)
		}
	}
}
