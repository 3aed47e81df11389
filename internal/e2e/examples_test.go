//go:build linux

package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/inlinecache/action/internal/e2e/harness"
	"github.com/inlinecache/action/internal/examples"
	"github.com/inlinecache/action/internal/report"
	"github.com/inlinecache/action/internal/verify"
)

// The examples in examples/ run here as a user runs them. The GitHub
// workflows run under act in host mode, as the act example says
// (act … -P ubuntu-latest=-self-hosted). `uses: inlinecache/action@v1`
// stays as written: act's --local-repository resolves it to a release of
// this checkout (action.yml, dist/index.js, the binary and its
// SHA256SUMS, as a release tag holds). examples.ForTest makes the only
// changes, and is tested for making no others:
//   - the setup steps (setup-buildx, setup-qemu, login) are removed: the
//     test environment is the builder, its registry needs no login, and
//     act would fetch those actions from GitHub, which is not reachable;
//   - the registry host (ghcr.io, localhost:5000) becomes the test
//     registry, with a path of the test's own so tests do not share tags;
//   - linux/arm64 becomes linux/386: there is no emulation here, and the
//     fixtures' static amd64 busybox runs under a 386 label.
// The GitLab job's script line runs as argv with the job's variables and
// GitLab's predefined ones; its Docker-in-Docker variables are left out.

// actionRelease lays out what `uses: inlinecache/action@v1` fetches: the
// action's metadata and entry point with the binary in dist/, checked
// against dist/SHA256SUMS by the entry point before it runs it.
var actionRelease = sync.OnceValues(func() (string, error) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp(harness.Env.Dir, "action-release-")
	if err != nil {
		return "", err
	}
	bin, err := os.ReadFile(harness.Binary)
	if err != nil {
		return "", err
	}
	name := "inline-cache-linux-" + runtime.GOARCH
	sum := sha256.Sum256(bin)
	files := map[string][]byte{
		filepath.Join("dist", name):         bin,
		filepath.Join("dist", "SHA256SUMS"): []byte(hex.EncodeToString(sum[:]) + "  " + name + "\n"),
	}
	for _, f := range []string{"action.yml", filepath.Join("dist", "index.js")} {
		if files[f], err = os.ReadFile(filepath.Join(root, f)); err != nil {
			return "", err
		}
	}
	for f, b := range files {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(f)), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o755); err != nil {
			return "", err
		}
	}
	return dir, nil
})

// exampleWorkflow reads a workflow example, checks it, and rewrites it to
// run here.
func exampleWorkflow(t *testing.T, rel string, replace map[string]string) []byte {
	t.Helper()
	dir, err := examples.Dir()
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(dir, rel))
	if err != nil {
		t.Fatal(err)
	}
	w, err := examples.ParseWorkflow(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Check(); err != nil {
		t.Fatal(err)
	}
	r, err := examples.ForTest(src, examples.Rewrite{Replace: replace})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s as run here (removed %q, replaced %v):\n%s", rel, r.Removed, r.Replaced, r.YAML)
	return r.YAML
}

// userRepo is a user's repository: a fixture project with the workflow
// at .github/workflows/image.yml, committed on main.
func userRepo(t *testing.T, fixture string, workflow []byte) string {
	t.Helper()
	dir := project(t, fixture)
	mustWrite(t, filepath.Join(dir, ".github", "workflows", "image.yml"), string(workflow), 0o644)
	git(t, dir, "init", "-q", "-b", "main")
	commit(t, dir, "initial")
	return dir
}

func commit(t *testing.T, dir, msg string) {
	t.Helper()
	git(t, dir, "add", "-A")
	git(t, dir, "-c", "user.name=e2e", "-c", "user.email=e2e@inlinecache.invalid", "commit", "-q", "-m", msg)
}

// exampleAct runs act for a workflow example: the command of the act
// example, with the event payload GitHub would send and the action
// resolved to this checkout's release.
func exampleAct(t *testing.T, dir string, extraEnv []string, event, payload string) []string {
	t.Helper()
	release, err := actionRelease()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "event.json")
	mustWrite(t, path, payload, 0o600)
	log, err := runActArgs(t, dir, extraEnv, event,
		"-P", "ubuntu-latest=-self-hosted", "--no-cache-server",
		"-W", ".github/workflows/image.yml", "-e", path,
		"--local-repository", examples.Action+"="+release)
	if err != nil {
		t.Fatalf("act %s: %v", event, err)
	}
	return checkActLog(t, log)
}

var actLine = regexp.MustCompile(`^\[[^\]]+\]\s+\| (.*)$`)

// checkActLog checks what every run of the action shows under act and
// returns the lines the steps printed (without act's prefix).
func checkActLog(t *testing.T, log string) []string {
	t.Helper()
	if strings.Contains(log, "building it from source") {
		t.Errorf("the action built the binary instead of running the release's")
	}
	if !strings.Contains(log, "inline cache: VERIFIED") {
		t.Errorf("the log has no VERIFIED result block")
	}
	if !strings.Contains(log, "Job succeeded") {
		t.Errorf("the job did not succeed")
	}
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if m := actLine.FindStringSubmatch(strings.TrimRight(l, "\r")); m != nil {
			out = append(out, m[1])
		}
	}
	return out
}

// printed returns the submatches of the first line re matches.
func printed(t *testing.T, lines []string, re string) []string {
	t.Helper()
	r := regexp.MustCompile(re)
	for _, l := range lines {
		if m := r.FindStringSubmatch(l); m != nil {
			return m
		}
	}
	t.Fatalf("no step printed a line matching %s", re)
	return nil
}

// registryDigest is the digest ref points at in the registry.
func registryDigest(t *testing.T, ref string) string {
	t.Helper()
	d, err := remote.Head(mustRef(t, ref))
	if err != nil {
		t.Fatalf("%s is not in the registry: %v", ref, err)
	}
	return d.Digest.String()
}

// verifyRef checks a pushed image from the registry with the binary's own
// verify command, as a user would.
func verifyRef(t *testing.T, ref string) string {
	t.Helper()
	r := runBinary(t, nil, "verify", ref)
	if r.Code != 0 {
		t.Fatalf("inline-cache verify %s: exit %d", ref, r.Code)
	}
	return r.Log
}

func pushPayload(ref string) string {
	return fmt.Sprintf(`{"ref":%q,"repository":{"full_name":"acme/app","default_branch":"main"}}`, ref)
}

// TestExampleBasic runs examples/github/basic.yml: a push to main builds,
// pushes and verifies ghcr.io/acme/app:main, and the next step prints the
// digest and the verdict from the action's outputs.
func TestExampleBasic(t *testing.T) {
	t.Parallel()
	image := harness.Env.Registry + "/examples-basic/acme/app"
	wf := exampleWorkflow(t, examples.Basic, map[string]string{"ghcr.io": harness.Env.Registry + "/examples-basic"})
	lines := exampleAct(t, userRepo(t, "app", wf), nil, "push", pushPayload("refs/heads/main"))

	m := printed(t, lines, `^image: (\S+)@(sha256:[0-9a-f]{64})$`)
	if m[1] != image || m[2] != registryDigest(t, image+":main") {
		t.Errorf("the step printed %s@%s; the registry has %s:main at %s", m[1], m[2], image, registryDigest(t, image+":main"))
	}
	m = printed(t, lines, `^cache verified: (\S*); steps from cache: (\d+)%$`)
	if m[1] != "true" {
		t.Errorf("cache-verified output %q, want true", m[1])
	}
	verifyRef(t, image+":main")
}

// TestExamplePullRequest runs examples/github/pull-request.yml twice on a
// builder of its own: a push to main, then, on the emptied builder, pull
// request 7 from a branch that changed a source file. The pull request
// imports main's registry cache (cache-from-branches with cache-stages:
// registry), so the builder stage's dependency step comes from it while
// the step after the changed file runs; the gates pass and the summary
// step prints the outputs.
func TestExamplePullRequest(t *testing.T) {
	t.Parallel()
	const ns = "examples-pr"
	image := harness.Env.Registry + "/" + ns + "/acme/app"
	builder := ownBuilder(t, "examples-pr")
	env := []string{"BUILDX_BUILDER=" + builder}
	wf := exampleWorkflow(t, examples.PullRequest, map[string]string{"ghcr.io": harness.Env.Registry + "/" + ns})
	dir := userRepo(t, "cacheprojects/stages", wf)

	lines := exampleAct(t, dir, env, "push", pushPayload("refs/heads/main"))
	if m := printed(t, lines, `^pushed: \S+@(sha256:[0-9a-f]{64})$`); m[1] != registryDigest(t, image+":main") {
		t.Errorf("main: the summary step printed %s, the registry has %s", m[1], registryDigest(t, image+":main"))
	}
	registryDigest(t, image+":main-buildcache")

	pruneBuilder(t, builder)
	git(t, dir, "checkout", "-q", "-b", "feature")
	mustWrite(t, filepath.Join(dir, "src.txt"), "source v2\n", 0o644)
	commit(t, dir, "change the source")
	payload := `{"number":7,"pull_request":{"number":7,"head":{"ref":"feature"},"base":{"ref":"main"}},"repository":{"full_name":"acme/app","default_branch":"main"}}`
	lines = exampleAct(t, dir, env, "pull_request", payload)
	log := strings.Join(lines, "\n")
	for _, want := range []string{
		"--cache-from type=registry,ref=" + image + ":main-buildcache",
		"cache source " + image + ":main-buildcache: registry cache manifest",
		// The base branch's stage cache, in place of its image tag.
		"the build imports the mode=max caches " + image + ":pr-7-buildcache, " + image + ":main-buildcache in place of the image tags",
		"registry cache " + image + ":pr-7-buildcache: verified",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("the pull request's log lacks %q", want)
		}
	}
	if strings.Contains(log, "Cache gate not met") {
		t.Errorf("a cache gate failed")
	}
	steps := runSteps(log)
	deps, compile := "RUN sleep 1 && sha256sum /src/deps.txt > /deps.lock", "RUN cat /deps.lock /src/src.txt > /app.bin"
	if c, ok := steps[deps]; !ok || !c {
		t.Errorf("the dependency step before the changed file: found %v, cached %v; want it from main's registry cache (steps %v)", ok, c, steps)
	}
	if c, ok := steps[compile]; !ok || c {
		t.Errorf("the step after the changed file: found %v, cached %v; want it run", ok, c)
	}
	if m := printed(t, lines, `^pushed: \S+@(sha256:[0-9a-f]{64})$`); m[1] != registryDigest(t, image+":pr-7") {
		t.Errorf("pull request: the summary step printed %s, the registry has %s", m[1], registryDigest(t, image+":pr-7"))
	}
	m := printed(t, lines, `^from cache: (\d+) of (\d+) steps \((\d+)%\); ([0-9.]+)s in steps that ran$`)
	if hit, _ := strconv.Atoi(m[3]); hit < 50 || m[1] == "0" || m[1] == m[2] {
		t.Errorf("pull request: %s of %s steps (%s%%) from the cache; want some, not all, and at least min-cache-hit's 50%%", m[1], m[2], m[3])
	}
	verifyRef(t, image+":pr-7")
}

var ownBuilders atomic.Int64

// ownBuilder starts a buildkitd and a buildx builder for one test, so it
// can empty its builder while other tests build.
func ownBuilder(t *testing.T, name string) string {
	t.Helper()
	name = fmt.Sprintf("%s-%d", name, ownBuilders.Add(1)) // -count=N runs the test again

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sock, err := harness.Env.StartBuildkitd(ctx, name, harness.Env.RegistryTOML())
	if err != nil {
		t.Fatal(err)
	}
	if out, err := harness.Env.Buildx(ctx, "create", "--name", name, "--driver", "remote", "unix://"+sock); err != nil {
		t.Fatalf("buildx create: %v\n%s", err, out)
	}
	return name
}

func pruneBuilder(t *testing.T, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if out, err := harness.Env.Buildx(ctx, "prune", "-af", "--builder", name); err != nil {
		t.Fatalf("buildx prune: %v\n%s", err, out)
	}
}

// TestExampleMultiPlatform runs examples/github/multi-platform.yml on a
// release tag: one index under the version and latest, both platforms in
// it, each verified, with provenance beside them.
func TestExampleMultiPlatform(t *testing.T) {
	t.Parallel()
	const ns = "examples-multi"
	image := harness.Env.Registry + "/" + ns + "/acme/app"
	wf := exampleWorkflow(t, examples.MultiPlatform, map[string]string{"ghcr.io": harness.Env.Registry + "/" + ns, "linux/arm64": "linux/386"})
	lines := exampleAct(t, userRepo(t, "app", wf), nil, "push", pushPayload("refs/tags/v1.2.0"))

	digest := registryDigest(t, image+":v1.2.0")
	if latest := registryDigest(t, image+":latest"); latest != digest {
		t.Errorf("latest is %s, v1.2.0 %s: want one index", latest, digest)
	}
	if m := printed(t, lines, `^index: \S+@(sha256:[0-9a-f]{64}) `); m[1] != digest {
		t.Errorf("the step printed %s, the registry has %s", m[1], digest)
	}
	if m := printed(t, lines, `^inline cache verified on every platform: (\S*)$`); m[1] != "true" {
		t.Errorf("cache-verified output %q", m[1])
	}
	idx, err := remote.Index(mustRef(t, image+"@"+digest))
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var platforms []string
	attests := 0
	for _, d := range im.Manifests {
		switch {
		case verify.IsAttestation(d):
			attests++
		case d.Platform != nil:
			platforms = append(platforms, d.Platform.OS+"/"+d.Platform.Architecture)
		}
	}
	slices.Sort(platforms)
	if !slices.Equal(platforms, []string{"linux/386", "linux/amd64"}) || attests != 2 {
		t.Errorf("index platforms %q with %d attestations, want linux/386 and linux/amd64 with one each", platforms, attests)
	}
	out := verifyRef(t, image+"@"+digest)
	for _, p := range platforms {
		if !strings.Contains(out, p) {
			t.Errorf("verify does not report %s:\n%s", p, out)
		}
	}
}

// actCommand is the act command line the act example tells users to run.
var actCommand = regexp.MustCompile(`(?m)^#\s+(act .*)$`)

// TestExampleAct runs examples/act/image.yml with the exact command its
// header gives (plus --local-repository, as nothing is fetched here):
// under act, ACT=true picks the local registry's tag.
func TestExampleAct(t *testing.T) {
	t.Parallel()
	const ns = "examples-act"
	image := harness.Env.Registry + "/" + ns + "/acme/app"
	dir, err := examples.Dir()
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(dir, examples.Act))
	if err != nil {
		t.Fatal(err)
	}
	m := actCommand.FindSubmatch(src)
	if m == nil {
		t.Fatalf("%s has no act command line in its header", examples.Act)
	}
	args := strings.Fields(string(m[1]))[1:]
	if i := slices.Index(args, "-P"); i < 0 || i+1 >= len(args) || args[i+1] != "ubuntu-latest=-self-hosted" {
		t.Errorf("the act command %q does not run on the host", m[1])
	}
	if i := slices.Index(args, "-W"); i < 0 || i+1 >= len(args) || args[i+1] != ".github/workflows/image.yml" {
		t.Fatalf("the act command %q does not run .github/workflows/image.yml, where the header says to save it", m[1])
	}
	release, err := actionRelease()
	if err != nil {
		t.Fatal(err)
	}
	wf := exampleWorkflow(t, examples.Act, map[string]string{"localhost:5000": harness.Env.Registry + "/" + ns})
	log, err := runActArgs(t, userRepo(t, "app", wf), nil, append(args, "--local-repository", examples.Action+"="+release)...)
	if err != nil {
		t.Fatalf("act: %v", err)
	}
	lines := checkActLog(t, log)
	digest := registryDigest(t, image+":dev")
	if m := printed(t, lines, `^pushed @(\S*); cache verified: (\S*)$`); m[1] != digest || m[2] != "true" {
		t.Errorf("the step printed digest %q, cache verified %q; the registry has %s", m[1], m[2], digest)
	}
	if m := printed(t, lines, `^seconds in steps the cache did not cover: (\S*)$`); m[1] == "" {
		t.Errorf("no uncached-seconds output")
	} else if _, err := strconv.ParseFloat(m[1], 64); err != nil {
		t.Errorf("uncached-seconds %q: %v", m[1], err)
	}
	verifyRef(t, image+":dev")
}

// dindVars are the example's connection to its Docker-in-Docker service;
// here the test environment's builder stands in for it.
var dindVars = []string{"DOCKER_HOST", "DOCKER_TLS_CERTDIR", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"}

// TestExampleGitLab runs the build job of examples/gitlab/.gitlab-ci.yml:
// its inline-cache line as argv in the checkout, with GitLab's variables,
// first on main, then on a new branch whose first build imports main's
// cache. The deploy job's line is expanded with build's dotenv report.
func TestExampleGitLab(t *testing.T) {
	t.Parallel()
	dir, err := examples.Dir()
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(dir, examples.GitLab))
	if err != nil {
		t.Fatal(err)
	}
	p, err := examples.ParsePipeline(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range dindVars {
		if _, ok := p.Jobs["build"].Variables[v]; !ok {
			t.Errorf("the build job has no %s: update dindVars", v)
		}
	}
	var dotenvNames []string
	for _, v := range report.DotenvNames {
		dotenvNames = append(dotenvNames, v)
	}
	const password = "glcbt-examples-TOKEN-4f2a"
	checkout := project(t, "app")
	dockerConfig := filepath.Join(t.TempDir(), "docker")
	if err := copyConfigDir(harness.Env.DockerConfig, dockerConfig); err != nil {
		t.Fatal(err)
	}
	image := harness.Env.Registry + "/examples-gitlab/acme/app"
	for _, branch := range []string{"main", "feature/login"} {
		job := examples.GitLabRun{Registry: harness.Env.Registry, Project: "examples-gitlab/acme/app", Branch: branch, DefaultBranch: "main", Dir: checkout, Password: password}
		if err := p.CheckPipeline("build", "inline-cache", job.Predefined(), dotenvNames); err != nil {
			t.Fatal(err)
		}
		env := p.JobEnv("build", job.Predefined(), dindVars)
		argv, err := examples.Command(p.Jobs["build"].Script, "inline-cache", env)
		if err != nil {
			t.Fatal(err)
		}
		extra := []string{"DOCKER_CONFIG=" + dockerConfig}
		for k, v := range env {
			extra = append(extra, k+"="+v)
		}
		r := harness.RunBinaryInDir(t, checkout, extra, argv[1:]...)
		if r.Code != 0 {
			t.Fatalf("%s: exit %d", branch, r.Code)
		}
		if strings.Contains(r.Log, password) || strings.Contains(r.Log, "::") {
			t.Errorf("%s: the job token or a GitHub workflow command is in the log", branch)
		}
		tag := image + ":" + examples.RefSlug(branch)
		vars, err := report.ReadDotenv(filepath.Join(checkout, p.Jobs["build"].Artifacts.Reports.Dotenv))
		if err != nil {
			t.Fatal(err)
		}
		if d := registryDigest(t, tag); vars["DIGEST"] != d || vars["CACHE_VERIFIED"] != "true" {
			t.Errorf("%s: dotenv %q; the registry has %s at %s", branch, vars, tag, d)
		}
		if branch != "main" {
			for _, want := range []string{
				"--cache-from type=registry,ref=" + image + ":main",
				"cache source " + image + ":main: inline cache for linux/amd64",
			} {
				if !strings.Contains(r.Log, want) {
					t.Errorf("%s: the log lacks %q", branch, want)
				}
			}
		}

		// The deploy job (on the default branch only, by its rules) needs
		// build and sees its dotenv report.
		if branch != "main" {
			continue
		}
		deployEnv := p.JobEnv("deploy", job.Predefined(), nil)
		for k, v := range vars {
			deployEnv[k] = v
		}
		line := p.Jobs["deploy"].Script[0]
		if got := os.Expand(line, func(k string) string { return deployEnv[k] }); !strings.Contains(got, tag[:strings.LastIndex(tag, ":")]+"@"+vars["DIGEST"]) {
			t.Errorf("%s: the deploy job's line expands to %q", branch, got)
		}
	}
}
