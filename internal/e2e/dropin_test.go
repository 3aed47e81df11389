//go:build linux

package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/inlinecache/action/internal/e2e/harness"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/types"

	"github.com/inlinecache/action/internal/report"
)

func readAuth(t *testing.T, dir, registry string) types.AuthConfig {
	t.Helper()
	cf, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	a, err := cf.GetAuthConfig(registry)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// procScan records, while a run goes on, the command lines of every
// process on the machine that carry a given marker, and whether any
// process's command line holds one of the secrets.
type procScan struct {
	mu      sync.Mutex
	secrets []string
	seen    map[int][]string // pid → argv of processes with "--secret"
	leaks   []string
	files   map[string]os.FileMode // secret files seen while the build ran
	stop    chan struct{}
	done    chan struct{}
}

func startProcScan(secrets []string) *procScan {
	s := &procScan{secrets: secrets, seen: map[int][]string{}, files: map[string]os.FileMode{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			s.once()
			select {
			case <-s.stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return s
}

func (s *procScan) once() {
	paths, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil || len(b) == 0 {
			continue
		}
		argv := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		s.mu.Lock()
		for _, sec := range s.secrets {
			if bytes.Contains(b, []byte(sec)) {
				s.leaks = append(s.leaks, p+": "+strings.Join(argv, " "))
			}
		}
		if containsArg(argv, "--secret") && containsArg(argv, "build") {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
			s.seen[pid] = argv
			for i, a := range argv {
				if a != "--secret" || i+1 >= len(argv) {
					continue
				}
				for _, f := range strings.Split(argv[i+1], ",") {
					if src, ok := strings.CutPrefix(f, "src="); ok {
						if fi, err := os.Stat(src); err == nil {
							s.files[src] = fi.Mode().Perm()
						}
					}
				}
			}
		}
		s.mu.Unlock()
	}
}

func (s *procScan) finish() {
	close(s.stop)
	<-s.done
}

func containsArg(argv []string, a string) bool {
	for _, x := range argv {
		if x == a {
			return true
		}
	}
	return false
}

// TestBuildPushActionWithBlock runs a realistic build-push-action `with:`
// block unchanged, as GitHub passes it (INPUT_*), against the real
// builder and registry: the build must see every secret (its RUN checks
// their hashes), no process may carry a secret on its command line while
// it runs, the log, outputs and summary must not show them, and the temp
// secret files must be gone afterwards.
func TestBuildPushActionWithBlock(t *testing.T) {
	ctxDir := project(t, "bpa")
	img := repo(t)
	tmp := t.TempDir()
	dir := t.TempDir()

	const (
		token     = "tok-3f9a e2e secret value"
		envSecret = "env-7c21 secret from the environment"
		ghToken   = "ghs_e2eFakeTokenValue0123456789"
	)
	fileSecret, err := os.ReadFile(filepath.Join(ctxDir, "key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	with := map[string]string{
		"context":          ctxDir,
		"file":             filepath.Join(ctxDir, "Dockerfile"),
		"tags":             img + ":v1\n" + img + ":latest\n",
		"labels":           "org.opencontainers.image.source=https://example.invalid/acme/app\norg.opencontainers.image.version=1.2.3\n",
		"annotations":      "org.opencontainers.image.title=bpa-e2e\n",
		"build-args":       "VERSION=1.2.3\nTOKEN_SHA256=" + sha(token) + "\nFILE_SHA256=" + sha(string(fileSecret)) + "\nENV_SHA256=" + sha(envSecret) + "\n",
		"platforms":        "linux/" + runtime.GOARCH,
		"push":             "true",
		"provenance":       "mode=max",
		"secrets":          "token=" + token + "\n",
		"secret-files":     "key=" + filepath.Join(ctxDir, "key.pem") + "\n",
		"secret-envs":      "envsecret=E2E_SECRET_ENV",
		"build-contexts":   "extra=" + filepath.Join(ctxDir, "extra") + "\n",
		"target":           "runtime",
		"no-cache-filters": "check",
		"outputs":          "type=image,oci-mediatypes=true\n",
		"cache-to":         "type=inline\n",
		"shm-size":         "32m",
		"ulimit":           "nofile=1500:1500\n",
		"add-hosts":        "registry.internal:10.9.8.7",
		"network":          "none",
		"github-token":     ghToken,
		"pull":             "false",
		"no-cache":         "false",
		"load":             "false",
	}
	extra := []string{
		"GITHUB_ACTIONS=true",
		"GITHUB_OUTPUT=" + filepath.Join(dir, "output"),
		"GITHUB_STEP_SUMMARY=" + filepath.Join(dir, "summary"),
		"GITHUB_SERVER_URL=https://github.com",
		"GITHUB_REPOSITORY=acme/app",
		"GITHUB_SHA=0123456789abcdef0123456789abcdef01234567",
		"GITHUB_RUN_ID=4242",
		"GITHUB_RUN_ATTEMPT=1",
		"E2E_SECRET_ENV=" + envSecret,
		"TMPDIR=" + tmp,
	}
	for k, v := range with {
		extra = append(extra, "INPUT_"+strings.ToUpper(k)+"="+v)
	}

	secrets := []string{token, envSecret, ghToken, strings.TrimSpace(string(fileSecret))}
	// A canary on a command line (sleep's argv[0]; no shell) proves the
	// scan finds what it looks for.
	const canary = "canary-argv-5e1f"
	canaryCmd := exec.Command("sleep", "3")
	canaryCmd.Args[0] = canary
	if err := canaryCmd.Start(); err != nil {
		t.Fatal(err)
	}
	scan := startProcScan(append([]string{canary}, secrets...))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, harness.Binary, "build")
	cmd.Env = append(cleanEnv(harness.Env.Environ()), extra...)
	out, err := cmd.CombinedOutput()
	scan.finish()
	_ = canaryCmd.Wait()
	log := string(out)
	t.Logf("inline-cache build → %v\n%s", err, log)
	if err != nil {
		t.Fatalf("build-push-action inputs did not run unchanged: %v", err)
	}

	r := run{Log: log, Outputs: parseOutputs(t, filepath.Join(dir, "output"))}
	if b, err := os.ReadFile(filepath.Join(dir, "summary")); err == nil {
		r.Summary = string(b)
	}
	if r.Outputs["cache-verified"] != "true" || !strings.HasPrefix(r.Outputs["digest"], "sha256:") || !strings.HasPrefix(r.Outputs["imageid"], "sha256:") {
		t.Fatalf("outputs = %q", r.Outputs)
	}
	rep := parseReport(t, r)
	if len(rep.Report.Platforms) != 1 {
		t.Fatalf("platforms = %+v", rep.Report.Platforms)
	}
	// The runtime stage has 5 layers: 2 of base, 3 of its own.
	if p := rep.Report.Platforms[0]; !p.Verified || p.LayersTotal != 5 || p.LayersCovered != 5 {
		t.Errorf("platform report = %+v, want 5 of 5 layers covered", p)
	}
	if !strings.HasSuffix(rep.Report.Ref, "@"+r.Outputs["digest"]) {
		t.Errorf("verified %q, not the pushed digest %s", rep.Report.Ref, r.Outputs["digest"])
	}

	// The build saw the secrets: the check stage ran (never from cache)
	// and its hash comparisons passed.
	if steps := runSteps(log); len(steps) == 0 {
		t.Errorf("no RUN steps in the log")
	}
	if !strings.Contains(log, "sha256sum /run/secrets/token") {
		t.Errorf("the secret-checking step is not in the log")
	}

	// Every input reached buildx as build-push-action passes it.
	for _, want := range []string{
		"--add-host registry.internal:10.9.8.7", "--annotation org.opencontainers.image.title=bpa-e2e",
		"--build-context extra=" + filepath.Join(ctxDir, "extra"), "--no-cache-filter check",
		"--output type=image,oci-mediatypes=true", "--attest type=provenance,mode=max,builder-id=https://github.com/acme/app/actions/runs/4242/attempts/1",
		"--secret id=envsecret,env=E2E_SECRET_ENV", "--secret id=key,src=" + filepath.Join(ctxDir, "key.pem"),
		"--shm-size 32m", "--ulimit nofile=1500:1500", "--network none", "--target runtime",
		"--tag " + img + ":v1", "--tag " + img + ":latest", "--cache-from type=registry,ref=" + img + ":v1",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("plan lacks %q", want)
		}
	}

	// No process carried a secret on its command line, and the build
	// process the scan saw read them from private files.
	canarySeen := false
	for _, l := range scan.leaks {
		if strings.Contains(l, canary) {
			canarySeen = true
		} else {
			t.Errorf("secret on a command line: %q", l)
		}
	}
	if !canarySeen {
		t.Errorf("the scan missed the canary process, so it proves nothing")
	}
	if len(scan.seen) == 0 {
		t.Fatalf("the scan never saw the buildx build process, so it proves nothing")
	}
	var files []string
	for f, mode := range scan.files {
		if strings.HasPrefix(f, tmp) {
			files = append(files, f)
			if mode != 0o600 {
				t.Errorf("secret file %s has mode %v, want 0600", f, mode)
			}
		}
	}
	if len(files) == 0 {
		t.Errorf("no temp secret file seen under TMPDIR while the build ran: %v", scan.seen)
	}
	left, _ := os.ReadDir(tmp)
	if len(left) != 0 {
		t.Errorf("temp files left after the run: %v", left)
	}

	// Nothing the user sees carries a secret, except the masks themselves.
	for _, sec := range secrets[:3] {
		masks := 0
		for _, line := range strings.Split(log, "\n") {
			switch {
			case line == "::add-mask::"+sec:
				masks++
			case strings.Contains(line, sec):
				t.Errorf("secret in the log: %q", line)
			}
		}
		if masks != 1 {
			t.Errorf("secret masked %d times before use, want 1", masks)
		}
		if strings.Index(log, "::add-mask::"+sec) > strings.Index(log, "::group::") {
			t.Errorf("a secret is masked only after the log began")
		}
		for k, v := range r.Outputs {
			if strings.Contains(v, sec) {
				t.Errorf("secret in output %s", k)
			}
		}
		if strings.Contains(r.Summary, sec) {
			t.Errorf("secret in the job summary")
		}
	}

	// The job summary: the per-platform table with the build's steps.
	for _, want := range []string{"| Platform | Records | With layers | Layers covered | Cached steps | Verified |", "| linux/" + runtime.GOARCH + " |", ":white_check_mark:", "#### Build steps", "Dockerfile steps cached", "```mermaid"} {
		if !strings.Contains(r.Summary, want) {
			t.Errorf("job summary lacks %q:\n%s", want, r.Summary)
		}
	}
	for _, g := range []string{"::group::inline-cache: plan", "::group::inline-cache: build", "::group::inline-cache: verify"} {
		if !strings.Contains(log, g) {
			t.Errorf("log lacks group %q", g)
		}
	}
}

// TestGitLabDefaultsLoginDotenv runs a GitLab CI job: no tags given, the
// project registry from CI_*, a fresh docker config that only the job's
// CI_REGISTRY_USER/PASSWORD can fill, outputs in a dotenv file.
func TestGitLabDefaultsLoginDotenv(t *testing.T) {
	ctxDir := project(t, "app")
	dockerConfig := filepath.Join(t.TempDir(), "docker")
	if err := copyConfigDir(harness.Env.DockerConfig, dockerConfig); err != nil {
		t.Fatal(err)
	}
	image := repo(t)
	const password = "glcbt-e2e-PASSWORD-9d8c7b"
	dotenv := filepath.Join(t.TempDir(), "build.env")
	extra := []string{
		"DOCKER_CONFIG=" + dockerConfig,
		"GITLAB_CI=true",
		"CI=true",
		"CI_REGISTRY=" + harness.Env.Registry,
		"CI_REGISTRY_IMAGE=" + image,
		"CI_REGISTRY_USER=gitlab-ci-token",
		"CI_REGISTRY_PASSWORD=" + password,
		"CI_COMMIT_REF_SLUG=feature-x",
		"CI_DEFAULT_BRANCH=Main",
	}
	r := runBinary(t, extra, "build", "--push", "--dotenv", dotenv, ctxDir)
	if r.Code != 0 {
		t.Fatalf("exit %d", r.Code)
	}
	if strings.Contains(r.Log, "::") {
		t.Errorf("GitHub workflow commands printed in GitLab")
	}
	if strings.Contains(r.Log, password) {
		t.Errorf("the registry password is in the log")
	}
	for _, want := range []string{
		// The default tag, set after verification (tag-after-verify).
		"--output type=image,name=" + image + ",push-by-digest=true,name-canonical=true,push=true",
		"created   " + image + ":feature-x",
		"--cache-from type=registry,ref=" + image + ":feature-x",
		"--cache-from type=registry,ref=" + image + ":main",
		"section_start:", "inline cache: VERIFIED",
		"registry login: stored CI_REGISTRY_USER's credentials for " + harness.Env.Registry,
	} {
		if !strings.Contains(r.Log, want) {
			t.Errorf("log lacks %q", want)
		}
	}

	vars, err := report.ReadDotenv(dotenv)
	if err != nil {
		t.Fatal(err)
	}
	if vars["CACHE_VERIFIED"] != "true" || !strings.HasPrefix(vars["DIGEST"], "sha256:") || !strings.HasPrefix(vars["IMAGEID"], "sha256:") ||
		vars["TOTAL_STEPS"] != "6" || vars["CACHED_STEPS"] == "" || vars["CACHE_HIT"] == "" || vars["UNCACHED_SECONDS"] == "" || len(vars) != 7 {
		t.Errorf("dotenv = %q", vars)
	}

	// The credentials went into the fresh config through docker/cli.
	auth := readAuth(t, dockerConfig, harness.Env.Registry)
	if auth.Username != "gitlab-ci-token" || auth.Password != password {
		t.Errorf("docker config credentials for %s = %q/%q", harness.Env.Registry, auth.Username, strings.Repeat("*", len(auth.Password)))
	}

	// A later job on the same config (shell executor) has a new job token:
	// the earlier, expired one is replaced.
	const password2 = "glcbt-e2e-PASSWORD-second-job"
	r = runBinary(t, append(extra, "CI_REGISTRY_PASSWORD="+password2), "build", "--push", "--dotenv", dotenv, ctxDir)
	if r.Code != 0 || !strings.Contains(r.Log, "replaced an earlier job's token") || strings.Contains(r.Log, password2) {
		t.Errorf("second job: exit %d", r.Code)
	}
	if auth := readAuth(t, dockerConfig, harness.Env.Registry); auth.Username != "gitlab-ci-token" || auth.Password != password2 {
		t.Errorf("the earlier job's token was kept")
	}

	// Credentials of another user (a deploy token) are left alone.
	r = runBinary(t, append(extra, "CI_REGISTRY_USER=someone-else", "CI_REGISTRY_PASSWORD=another-password-7"), "build", "--push", "--dotenv", dotenv, ctxDir)
	if r.Code != 0 || !strings.Contains(r.Log, "already has credentials for "+harness.Env.Registry) {
		t.Errorf("third job: exit %d", r.Code)
	}
	if auth := readAuth(t, dockerConfig, harness.Env.Registry); auth.Username != "gitlab-ci-token" || auth.Password != password2 {
		t.Errorf("existing credentials of another user were replaced")
	}
}

// copyConfigDir copies a docker config directory (the buildx builder
// state and the CLI plugin link) without its credentials.
func copyConfigDir(src, dst string) error {
	return filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(l, target)
		case fi.IsDir():
			return os.MkdirAll(target, 0o700)
		case rel == "config.json":
			return os.WriteFile(target, []byte("{}\n"), 0o600)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, fi.Mode().Perm())
	})
}

// TestBuildPushActionBadInputs: build-push-action inputs buildx would
// reject, or that would drop a secret, stop the run with status 2 and a
// message naming the input, before BuildKit sees a build.
func TestBuildPushActionBadInputs(t *testing.T) {
	ctxDir := project(t, "app")
	before := buildStatuses(t)
	for _, tt := range []struct {
		in    map[string]string
		input string
	}{
		{map[string]string{"ulimit": "nofile=many"}, "ulimit"},
		{map[string]string{"secrets": "just-the-token-value"}, "secrets"},
		{map[string]string{"secret-files": "key=" + filepath.Join(ctxDir, "no-such.pem")}, "secret-files"},
		{map[string]string{"add-hosts": "db:not-an-ip"}, "add-hosts"},
		{map[string]string{"shm-size": "big"}, "shm-size"},
		{map[string]string{"no-cache": "true", "no-cache-filters": "build"}, "no-cache-filters"},
		{map[string]string{"context": "{{defaultContext}}"}, "context"},
	} {
		in := map[string]string{"context": ctxDir, "tags": repo(t) + ":bad"}
		for k, v := range tt.in {
			in[k] = v
		}
		r := action(t, in)
		if r.Code != 2 {
			t.Errorf("%v: exit %d, want 2", tt.in, r.Code)
		}
		if !strings.Contains(r.Log, `::error title=Invalid input::input "`+tt.input+`"`) {
			t.Errorf("%v: no annotation naming %q", tt.in, tt.input)
		}
		if strings.Contains(r.Log, "::group::inline-cache: build") {
			t.Errorf("%v: a build was started", tt.in)
		}
	}
	if n := newBuilds(before, buildStatuses(t)); len(n) != 0 {
		t.Errorf("BuildKit ran builds for bad input: %v", n)
	}
}

// TestCallCheck: call asks buildx to evaluate the build (here: lint it);
// nothing is pushed, so verification is skipped and says why.
func TestCallCheck(t *testing.T) {
	ctxDir := project(t, "app")
	r := action(t, map[string]string{"context": ctxDir, "tags": repo(t) + ":check", "push": "true", "call": "check"})
	if r.Code != 0 {
		t.Fatalf("exit %d", r.Code)
	}
	if !strings.Contains(r.Log, "--call check") || !strings.Contains(r.Log, "Check complete") {
		t.Errorf("buildx did not run the check")
	}
	if r.Outputs["cache-verified"] != "skipped" || !strings.Contains(r.Log, `call "check" evaluates the build without producing an image`) {
		t.Errorf("cache-verified = %q", r.Outputs["cache-verified"])
	}
	if !strings.Contains(r.Summary, "Verification skipped") {
		t.Errorf("summary = %q", r.Summary)
	}
}

// TestPushThroughOutputsOnly: a build-push-action step that pushes with
// outputs alone (no tags, push false) is verified at the output's name.
func TestPushThroughOutputsOnly(t *testing.T) {
	ctxDir := project(t, "app")
	ref := repo(t) + ":out"
	r := action(t, map[string]string{"context": ctxDir, "outputs": "type=image,name=" + ref + ",push=true"})
	checkVerified(t, r)
	if !strings.Contains(r.Log, "--cache-from type=registry,ref="+ref) {
		t.Errorf("the output's name is not imported as cache")
	}
}

// TestSecretFilesGoOnSignal: a cancelled job (SIGTERM) still removes the
// temp secret files; while the build ran they existed.
func TestSecretFilesGoOnSignal(t *testing.T) {
	ctxDir := project(t, "slow")
	tmp := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, harness.Binary, "build", "--tag", repo(t)+":slow", ctxDir)
	cmd.Env = append(cleanEnv(harness.Env.Environ()), "TMPDIR="+tmp, "INPUT_SECRETS=token=signal-test-secret-value")
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the secret file is there and the slow step runs.
	var secretFile string
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) && (secretFile == "" || !strings.Contains(out.String(), "sleep")) {
		if m, _ := filepath.Glob(filepath.Join(tmp, "inline-cache-*", "secret-*")); len(m) > 0 {
			secretFile = m[0]
		}
		time.Sleep(100 * time.Millisecond)
	}
	if secretFile == "" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("no secret file appeared under TMPDIR:\n%s", out.String())
	}
	if b, err := os.ReadFile(secretFile); err != nil || string(b) != "signal-test-secret-value" {
		t.Errorf("secret file %s: %q %v", secretFile, b, err)
	}
	time.Sleep(time.Second)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	t.Logf("inline-cache → %v\n%s", err, out.String())
	if ctx.Err() != nil {
		t.Fatalf("inline-cache did not stop after SIGTERM")
	}
	if _, err := os.Stat(secretFile); !os.IsNotExist(err) {
		t.Errorf("secret file left after SIGTERM: %v", err)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("temp files left after SIGTERM: %v", left)
	}
	if strings.Contains(out.String(), "signal-test-secret-value") {
		t.Errorf("secret printed")
	}
	settledStatuses(t)
}

// syncBuffer is a log buffer that can be read while a child writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
