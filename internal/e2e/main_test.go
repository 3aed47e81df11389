//go:build linux

// Package e2e runs the inline-cache binary against a real BuildKit daemon
// and a real registry (see internal/testenv). These tests never skip: on a
// machine that cannot provide the environment they fail and say why.
package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/inlinecache/action/internal/report"
	"github.com/inlinecache/action/internal/testenv"
)

var (
	env    *testenv.Env
	binary string
)

func TestMain(m *testing.M) {
	os.Exit(setup(m))
}

func setup(m *testing.M) (code int) {
	ctx := context.Background()
	logf := func(format string, a ...any) { fmt.Fprintf(os.Stderr, "e2e: "+format+"\n", a...) }
	start := time.Now()
	tools, err := testenv.EnsureTools(ctx, logf)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: cannot provide the tools:", err)
		return 1
	}
	env, err = testenv.Start(ctx, tools, logf)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: cannot start the environment:", err)
		return 1
	}
	defer func() {
		// A daemon that would not stop or a directory left behind is a
		// leak on the CI machine: fail the run rather than hide it.
		if err := env.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: cleaning up the environment:", err)
			code = 1
		}
	}()
	binary = filepath.Join(env.Dir, "inline-cache")
	build := exec.Command("go", "build", "-o", binary, "github.com/inlinecache/action")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build: %v\n%s", err, out)
		return 1
	}
	logf("environment ready in %s: registry %s, buildkitd %s, buildx %s", time.Since(start).Round(time.Second), env.Registry, testenv.BuildKitVersion, testenv.BuildxVersion)
	return m.Run()
}

// run is one run of the binary.
type run struct {
	code    int
	log     string
	outputs map[string]string
	summary string
	raw     string // the progress-file's content
}

// action runs "inline-cache build" the way the GitHub Action does: inputs
// in INPUT_*, outputs through GITHUB_OUTPUT.
func action(t *testing.T, inputs map[string]string) run {
	t.Helper()
	return actionEnv(t, nil, inputs)
}

// actionEnv is action with extra environment variables.
func actionEnv(t *testing.T, extraEnv []string, inputs map[string]string) run {
	t.Helper()
	dir := t.TempDir()
	inputs, rawPath := withProgressFile(t, dir, inputs)
	extra := append(slices.Clip(extraEnv),
		"GITHUB_ACTIONS=true",
		"GITHUB_OUTPUT="+filepath.Join(dir, "output"),
		"GITHUB_STEP_SUMMARY="+filepath.Join(dir, "summary"),
	)
	for k, v := range inputs {
		extra = append(extra, "INPUT_"+strings.ToUpper(k)+"="+v)
	}
	r := runBinary(t, extra, "build")
	r.outputs = parseOutputs(t, filepath.Join(dir, "output"))
	if b, err := os.ReadFile(filepath.Join(dir, "summary")); err == nil {
		r.summary = string(b)
	}
	r.raw = readRaw(rawPath)
	return r
}

// cli runs the binary with flags, outside GitHub.
func cli(t *testing.T, args ...string) run {
	t.Helper()
	return runBinary(t, nil, args...)
}

func runBinary(t *testing.T, extraEnv []string, args ...string) run {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(cleanEnv(env.Environ()), extraEnv...)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %s: %v", binary, err)
	}
	t.Logf("inline-cache %s → exit %d\n%s", strings.Join(args, " "), code, out)
	return run{code: code, log: string(out)}
}

// cleanEnv drops the GitHub variables of whatever runs the tests, so each
// run sees only what the test gives it.
func cleanEnv(in []string) []string {
	var out []string
	for _, kv := range in {
		if strings.HasPrefix(kv, "INPUT_") || strings.HasPrefix(kv, "GITHUB_") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

func parseOutputs(t *testing.T, path string) map[string]string {
	t.Helper()
	out, err := report.ReadFileCommands(path)
	if err != nil {
		t.Fatalf("GITHUB_OUTPUT: %v", err)
	}
	return out
}

// project copies a project from testdata with busybox added.
func project(t testing.TB, name string) string {
	t.Helper()
	dir, err := env.Project(filepath.Join("..", "..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// repo returns a registry repository unique to the test.
func repo(t *testing.T) string {
	return env.Registry + "/e2e/" + strings.ToLower(regexp.MustCompile(`[^a-zA-Z0-9]+`).ReplaceAllString(t.Name(), "-"))
}

func prune(t *testing.T) {
	t.Helper()
	if err := env.Prune(context.Background()); err != nil {
		t.Fatal(err)
	}
}

var (
	vertexRE = regexp.MustCompile(`(?m)^#(\d+) \[[^\]]*\d+/\d+\] (RUN .*)$`)
	cachedRE = regexp.MustCompile(`(?m)^#(\d+) CACHED$`)
)

// runSteps reads the raw buildx log: every RUN step and whether it was
// CACHED. It does not use the tool's own parser, so it checks it.
func runSteps(log string) map[string]bool {
	cached := map[string]bool{}
	for _, m := range cachedRE.FindAllStringSubmatch(log, -1) {
		cached[m[1]] = true
	}
	steps := map[string]bool{}
	for _, m := range vertexRE.FindAllStringSubmatch(log, -1) {
		steps[m[2]] = steps[m[2]] || cached[m[1]]
	}
	return steps
}
