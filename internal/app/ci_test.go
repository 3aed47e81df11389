package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/docker/cli/cli/config"
	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/inlinecache/action/internal/command"
	"github.com/inlinecache/action/internal/registrytest"
	"github.com/inlinecache/action/internal/report"
	"github.com/inlinecache/action/internal/verify"
)

// secretArg returns the src= of the --secret with the given id.
func secretArg(args []string, id string) string {
	for i, a := range args {
		if a == "--secret" && i+1 < len(args) && strings.HasPrefix(args[i+1], "id="+id+",src=") {
			return strings.TrimPrefix(args[i+1], "id="+id+",src=")
		}
	}
	return ""
}

// runHooked is runApp with onBuild seeing each build while it "runs".
func runHooked(t *testing.T, f *fakeBuildx, onBuild func(command.Cmd), in map[string]string) result {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": filepath.Join(dir, "output")}
	for k, v := range in {
		env["INPUT_"+strings.ToUpper(k)] = v
	}
	var stdout strings.Builder
	e := Env{
		Getenv: func(k string) string { return env[k] }, Dir: dir, Stdout: &stdout, Stderr: &stdout,
		Exec: func(ctx context.Context, c command.Cmd) error {
			if slices.Contains(c.Args, "build") {
				onBuild(c)
			}
			return f.exec(ctx, c)
		},
		LookPath: func(p string) (string, error) { return "/usr/bin/" + p, nil },
	}
	return result{code: Main(context.Background(), []string{"build", "."}, e), stdout: stdout.String()}
}

func TestSecretsThroughPrivateTempFiles(t *testing.T) {
	t.Parallel()
	const value = "  s3cr3t with spaces  "
	var path string
	r := runHooked(t, &fakeBuildx{t: t}, func(c command.Cmd) {
		if strings.Contains(strings.Join(c.Args, " "), "s3cr3t") || slices.ContainsFunc(c.Env, func(kv string) bool { return strings.Contains(kv, "s3cr3t") }) {
			t.Errorf("secret on the command line or in the environment: %q", c.Args)
		}
		path = secretArg(c.Args, "token")
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatalf("secret file while building: %v", err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("secret file mode %v", fi.Mode().Perm())
		}
		if di, _ := os.Stat(filepath.Dir(path)); di.Mode().Perm() != 0o700 {
			t.Errorf("temp dir mode %v", di.Mode().Perm())
		}
		if b, _ := os.ReadFile(path); string(b) != value {
			t.Errorf("secret file holds %q", b)
		}
	}, map[string]string{"secrets": "token=" + value + "\n"})
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stdout)
	}
	if path == "" {
		t.Fatalf("no --secret id=token,src=… reached buildx")
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("secret file left after the run: %v", err)
	}
	// Masked first, and never printed otherwise.
	if !strings.HasPrefix(r.stdout, "::add-mask::"+value+"\n") {
		t.Errorf("log does not start with the mask:\n%s", r.stdout)
	}
	if strings.Count(r.stdout, "s3cr3t") != 1 {
		t.Errorf("secret printed besides its mask:\n%s", r.stdout)
	}

	// The files go on a failed build too.
	f := &fakeBuildx{t: t, exitCode: 1}
	if r := runHooked(t, f, func(c command.Cmd) { path = secretArg(c.Args, "token") }, map[string]string{"secrets": "token=x"}); r.code != ExitFailed {
		t.Errorf("failed build: exit %d", r.code)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("secret file left after a failed build: %v", err)
	}
}

func TestMalformedSecretIsNotPrinted(t *testing.T) {
	t.Parallel()
	f := &fakeBuildx{t: t}
	r := runApp(t, f, map[string]string{"secrets": "tokenwithoutid"}, nil)
	if r.code != ExitUsage || f.builds() != 0 {
		t.Errorf("exit %d, builds %d", r.code, f.builds())
	}
	if !strings.HasPrefix(r.stdout, "::add-mask::tokenwithoutid\n") || strings.Count(r.stdout, "tokenwithoutid") != 1 {
		t.Errorf("log:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, `::error title=Invalid input::input "secrets"`) {
		t.Errorf("error does not name the input:\n%s", r.stdout)
	}
}

// TestOutputFileProblems: a runner without a writable GITHUB_OUTPUT gets a
// clear error naming the file before any build, never a panic.
func TestOutputFileProblems(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, path := range map[string]string{"unset": "", "directory": dir, "missing dir": filepath.Join(dir, "no", "out")} {
		f := &fakeBuildx{t: t}
		var out strings.Builder
		ctxDir := t.TempDir()
		if err := os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		env := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": path}
		e := Env{
			Getenv: func(k string) string { return env[k] }, Dir: ctxDir, Stdout: &out, Stderr: &out,
			Exec: f.exec, LookPath: func(p string) (string, error) { return "/usr/bin/" + p, nil },
		}
		code := Main(context.Background(), []string{"build", "."}, e)
		if code != ExitFailed || f.builds() != 0 {
			t.Errorf("%s: exit %d, builds %d", name, code, f.builds())
		}
		want := "GITHUB_OUTPUT file " + path
		if path == "" {
			want = "GITHUB_OUTPUT is not set"
		}
		if !strings.Contains(out.String(), want) {
			t.Errorf("%s: log does not say %q:\n%s", name, want, out.String())
		}
	}
}

// gitlabPassword is the job token in the GitLab tests' CI_REGISTRY_PASSWORD.
const gitlabPassword = "glpat-unit-PASSWORD"

// gitlabJob is a GitLab job on branch feature-x for the unit tests: a
// registry, a directory with a one-line build context in ctx, where the
// docker config goes, and the job's CI_* variables.
func gitlabJob(t *testing.T) (reg, dir, dockerConfig string, env map[string]string) {
	t.Helper()
	reg = registrytest.Serve(t)
	dir = t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "ctx"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ctx", "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dockerConfig = filepath.Join(dir, "docker")
	return reg, dir, dockerConfig, map[string]string{
		"GITLAB_CI": "true", "DOCKER_CONFIG": dockerConfig,
		"CI_REGISTRY": reg, "CI_REGISTRY_IMAGE": reg + "/group/app",
		"CI_REGISTRY_USER": "gitlab-ci-token", "CI_REGISTRY_PASSWORD": gitlabPassword,
		"CI_COMMIT_REF_SLUG": "feature-x", "CI_DEFAULT_BRANCH": "main",
	}
}

// TestGitLabJob runs a GitLab CI job: default tags and cache sources from
// CI_*, registry login into an empty docker config, outputs in a dotenv
// file, and no GitHub workflow command anywhere.
func TestGitLabJob(t *testing.T) {
	t.Parallel()
	reg, dir, dockerConfig, env := gitlabJob(t)
	const password = gitlabPassword
	f := &fakeBuildx{t: t, image: registrytest.Image(t, "linux/amd64", 2, registrytest.Valid)}
	var out strings.Builder
	e := Env{
		Getenv: func(k string) string { return env[k] }, Dir: dir, Stdout: &out, Stderr: &out,
		Exec: f.exec, LookPath: func(p string) (string, error) { return "/usr/bin/" + p, nil },
		VerifyOptions: []verify.Option{verify.WithKeychain(authn.NewMultiKeychain())},
	}
	dotenv := filepath.Join(dir, "build.env")
	code := Main(context.Background(), []string{"build", "--push", "--dotenv", dotenv, "ctx"}, e)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out.String())
	}
	build := f.calls[len(f.calls)-1]
	for _, want := range [][2]string{
		// The default tag is set after verification (tag-after-verify),
		// from an image pushed by digest to its repository.
		{"--output", "type=image,name=" + reg + "/group/app,push-by-digest=true,name-canonical=true,push=true"},
		{"--cache-from", "type=registry,ref=" + reg + "/group/app:feature-x"},
		{"--cache-from", "type=registry,ref=" + reg + "/group/app:main"},
	} {
		if !slices.ContainsFunc(pairs(build), func(p [2]string) bool { return p == want }) {
			t.Errorf("build lacks %s %s: %q", want[0], want[1], build)
		}
	}
	log := out.String()
	if strings.Contains(log, "::") || strings.Contains(log, password) {
		t.Errorf("workflow command or password in the GitLab log:\n%s", log)
	}
	cf, err := config.Load(dockerConfig)
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := cf.GetAuthConfig(reg); a.Username != "gitlab-ci-token" || a.Password != password {
		t.Errorf("docker config credentials: user %q", a.Username)
	}
	vars, err := report.ReadDotenv(dotenv)
	if err != nil {
		t.Fatal(err)
	}
	if vars["CACHE_VERIFIED"] != "true" || vars["IMAGEID"] != "sha256:feedface" || !strings.HasPrefix(vars["DIGEST"], "sha256:") {
		t.Errorf("dotenv = %q", vars)
	}
	if got := registrytest.Head(t, reg+"/group/app:feature-x"); got != vars["DIGEST"] {
		t.Errorf("default tag → %s, want the verified %s", got, vars["DIGEST"])
	}

	// The next job's token replaces this job's (it expires with the job);
	// another user's credentials stay.
	for _, c := range []struct{ user, pass, wantUser, wantPass string }{
		{"gitlab-ci-token", "glpat-next-job", "gitlab-ci-token", "glpat-next-job"},
		{"deploy-user", "deploy-pass", "gitlab-ci-token", "glpat-next-job"},
	} {
		env["CI_REGISTRY_USER"], env["CI_REGISTRY_PASSWORD"] = c.user, c.pass
		f = &fakeBuildx{t: t, image: registrytest.Image(t, "linux/amd64", 2, registrytest.Valid)}
		e.Exec = f.exec
		out.Reset()
		if code := Main(context.Background(), []string{"build", "--push", "ctx"}, e); code != 0 {
			t.Fatalf("%s: exit %d\n%s", c.user, code, out.String())
		}
		cf, err := config.Load(dockerConfig)
		if err != nil {
			t.Fatal(err)
		}
		if a, _ := cf.GetAuthConfig(reg); a.Username != c.wantUser || a.Password != c.wantPass {
			t.Errorf("after a job of %s: credentials of %q", c.user, a.Username)
		}
	}
	env["CI_REGISTRY_USER"], env["CI_REGISTRY_PASSWORD"] = "gitlab-ci-token", password

	// The user's own tags and cache sources win over the defaults.
	f = &fakeBuildx{t: t}
	e.Exec = f.exec
	out.Reset()
	code = Main(context.Background(), []string{"build", "--tag", "r.example/mine:1", "--cache-from", "r.example/mine:cache", "ctx"}, e)
	build = f.calls[len(f.calls)-1]
	if code != 0 || slices.ContainsFunc(build, func(a string) bool { return strings.Contains(a, "group/app") }) {
		t.Errorf("defaults applied over the user's: exit %d %q", code, build)
	}

	// An output that names its image is the user's push target: no default
	// tag replaces its name (buildx would push to the tag instead).
	f = &fakeBuildx{t: t}
	e.Exec = f.exec
	out.Reset()
	code = Main(context.Background(), []string{"build", "--verify", "off", "--output", "type=image,name=r.example/mine:out,push=true", "ctx"}, e)
	build = f.calls[len(f.calls)-1]
	if code != 0 || slices.Contains(build, "--tag") || !slices.Contains(build, "type=registry,ref=r.example/mine:out") {
		t.Errorf("default tag added next to an output's name: exit %d %q\n%s", code, build, out.String())
	}
}

func pairs(args []string) [][2]string {
	var out [][2]string
	for i := 0; i+1 < len(args); i++ {
		out = append(out, [2]string{args[i], args[i+1]})
	}
	return out
}

// TestGitLabJobWithoutBuildx is GitLab's dind recipe: a docker CLI without
// buildx. The CI_* defaults, the login and the dotenv file hold there too.
func TestGitLabJobWithoutBuildx(t *testing.T) {
	t.Parallel()
	reg, dir, dockerConfig, env := gitlabJob(t)
	const password = gitlabPassword
	d := &fakeDocker{t: t, image: registrytest.Image(t, "linux/amd64", 2, registrytest.Valid)}
	f := &fakeBuildx{t: t, docker: d}
	var out strings.Builder
	e := Env{
		Getenv: func(k string) string { return env[k] }, Dir: dir, Stdout: &out, Stderr: &out,
		Exec: f.exec,
		LookPath: func(p string) (string, error) {
			if p == "docker" {
				return "/usr/bin/docker", nil
			}
			return "", fmt.Errorf("%s: not found", p)
		},
		VerifyOptions: []verify.Option{verify.WithKeychain(authn.NewMultiKeychain())},
	}
	dotenv := filepath.Join(dir, "build.env")
	if code := Main(context.Background(), []string{"build", "--push", "--dotenv", dotenv, "ctx"}, e); code != 0 {
		t.Fatalf("exit %d\n%s", code, out.String())
	}
	pushes := slices.DeleteFunc(slices.Clone(f.calls), func(c []string) bool { return len(c) < 2 || c[1] != "push" })
	if len(pushes) != 1 || pushes[0][2] != reg+"/group/app:feature-x" {
		t.Errorf("pushes = %q, want the branch tag", pushes)
	}
	log := out.String()
	if !strings.Contains(log, "default tags") || strings.Contains(log, "::") || strings.Contains(log, password) {
		t.Errorf("want the defaults named, no workflow command and no password:\n%s", log)
	}
	if cf, err := config.Load(dockerConfig); err != nil {
		t.Fatal(err)
	} else if a, _ := cf.GetAuthConfig(reg); a.Password != password {
		t.Errorf("docker config credentials for %s: user %q", reg, a.Username)
	}
	vars, err := report.ReadDotenv(dotenv)
	if err != nil {
		t.Fatal(err)
	}
	if vars["CACHE_VERIFIED"] != "true" || vars["IMAGEID"] != "sha256:0ddba11" {
		t.Errorf("dotenv = %q", vars)
	}
}
