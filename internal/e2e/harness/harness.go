//go:build linux

// Package harness runs the inline-cache binary against the real test
// environment (internal/testenv) for the end-to-end test packages: it
// starts the environment once per test binary, builds the binary, and runs
// it as the GitHub Action and the CLI do. Two packages use it, so that go
// test runs them side by side: internal/e2e and internal/e2e/realworld.
package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inlinecache/action/internal/report"
	"github.com/inlinecache/action/internal/testenv"
)

var (
	// Env is the running environment, set by Main.
	Env *testenv.Env
	// Binary is the inline-cache binary built by Main.
	Binary string
)

// Main provides the tools, starts the environment and builds the binary,
// runs the tests and stops the environment: a TestMain's body. These tests
// never skip: where the environment cannot be provided they fail and say
// why.
func Main(m *testing.M) (code int) {
	ctx := context.Background()
	logf := Logf("e2e")
	start := time.Now()
	tools, err := testenv.EnsureTools(ctx, logf)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: cannot provide the tools:", err)
		return 1
	}
	Env, err = testenv.Start(ctx, tools, logf)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: cannot start the environment:", err)
		return 1
	}
	defer func() {
		// A daemon that would not stop or a directory left behind is a
		// leak on the CI machine: fail the run rather than hide it.
		if err := Env.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: cleaning up the environment:", err)
			code = 1
		}
	}()
	Binary = filepath.Join(Env.Dir, "inline-cache")
	build := exec.Command("go", "build", "-o", Binary, "github.com/inlinecache/action")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build: %v\n%s", err, out)
		return 1
	}
	logf("environment ready in %s: registry %s, buildkitd %s, buildx %s", time.Since(start).Round(time.Second), Env.Registry, testenv.BuildKitVersion, testenv.BuildxVersion)
	return m.Run()
}

// Logf logs to stderr with a prefix, for what happens outside a test.
func Logf(prefix string) func(string, ...any) {
	return func(format string, a ...any) { fmt.Fprintf(os.Stderr, prefix+": "+format+"\n", a...) }
}

// Run is one run of the binary.
type Run struct {
	Code    int
	Log     string
	Outputs map[string]string
	Summary string
	Raw     string // the progress-file's content
}

// Action runs "inline-cache build" the way the GitHub Action does: inputs
// in INPUT_*, outputs through GITHUB_OUTPUT, in the environment's
// environment plus extraEnv.
func Action(t testing.TB, extraEnv []string, inputs map[string]string) Run {
	t.Helper()
	return action(t, append(CleanEnv(Env.Environ()), extraEnv...), inputs)
}

// ActionIn is Action in the given environment (another builder's).
func ActionIn(t testing.TB, environ []string, inputs map[string]string) Run {
	t.Helper()
	return action(t, CleanEnv(environ), inputs)
}

func action(t testing.TB, environ []string, inputs map[string]string) Run {
	t.Helper()
	dir := t.TempDir()
	inputs, rawPath := WithProgressFile(dir, inputs)
	extra := []string{
		"GITHUB_ACTIONS=true",
		"GITHUB_OUTPUT=" + filepath.Join(dir, "output"),
		"GITHUB_STEP_SUMMARY=" + filepath.Join(dir, "summary"),
	}
	for k, v := range inputs {
		extra = append(extra, "INPUT_"+strings.ToUpper(k)+"="+v)
	}
	r := run(t, append(environ, extra...), "build")
	r.Outputs = ParseOutputs(t, filepath.Join(dir, "output"))
	if b, err := os.ReadFile(filepath.Join(dir, "summary")); err == nil {
		r.Summary = string(b)
	}
	r.Raw = readRaw(rawPath)
	return r
}

// Build runs "inline-cache build" as the GitHub Action does, in the
// environment's environment.
func Build(t testing.TB, inputs map[string]string) Run {
	t.Helper()
	return Action(t, nil, inputs)
}

// CLI runs the binary with flags, outside GitHub.
func CLI(t testing.TB, args ...string) Run {
	t.Helper()
	return RunBinary(t, nil, args...)
}

// RunBinary runs the binary with args in the environment's environment
// plus extraEnv, outside GitHub.
func RunBinary(t testing.TB, extraEnv []string, args ...string) Run {
	t.Helper()
	return run(t, append(CleanEnv(Env.Environ()), extraEnv...), args...)
}

// RunBinaryIn runs the binary with args in the given environment (another
// builder's), outside GitHub.
func RunBinaryIn(t testing.TB, environ []string, args ...string) Run {
	t.Helper()
	return run(t, CleanEnv(environ), args...)
}

// RunBinaryInDir is RunBinary in the working directory dir, as a CI job runs
// a script line in its checkout.
func RunBinaryInDir(t testing.TB, dir string, extraEnv []string, args ...string) Run {
	t.Helper()
	return runIn(t, dir, append(CleanEnv(Env.Environ()), extraEnv...), args...)
}

func run(t testing.TB, environ []string, args ...string) Run {
	t.Helper()
	return runIn(t, "", environ, args...)
}

func runIn(t testing.TB, dir string, environ []string, args ...string) Run {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, Binary, args...)
	cmd.Env = environ
	cmd.Dir = dir
	start := time.Now()
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %s: %v", Binary, err)
	}
	t.Logf("inline-cache %s → exit %d in %s\n%s", strings.Join(args, " "), code, time.Since(start).Round(time.Millisecond), out)
	return Run{Code: code, Log: string(out)}
}

// CleanEnv drops the GitHub variables of whatever runs the tests, so each
// run sees only what the test gives it.
func CleanEnv(in []string) []string {
	var out []string
	for _, kv := range in {
		if strings.HasPrefix(kv, "INPUT_") || strings.HasPrefix(kv, "GITHUB_") {
			continue
		}
		out = append(out, kv)
	}
	return slices.Clip(out)
}

// ParseOutputs reads a GITHUB_OUTPUT file.
func ParseOutputs(t testing.TB, path string) map[string]string {
	t.Helper()
	out, err := report.ReadFileCommands(path)
	if err != nil {
		t.Fatalf("GITHUB_OUTPUT: %v", err)
	}
	return out
}

// WithProgressFile adds the progress-file input, unless given, and
// returns where the raw stream goes.
func WithProgressFile(dir string, inputs map[string]string) (map[string]string, string) {
	if p, ok := inputs["progress-file"]; ok {
		return inputs, p
	}
	out := map[string]string{"progress-file": filepath.Join(dir, "progress.raw")}
	for k, v := range inputs {
		out[k] = v
	}
	return out, out["progress-file"]
}

func readRaw(path string) string {
	b, _ := os.ReadFile(path) // none when the run stopped before the build
	return string(b)
}

// Project copies a project from testdata with busybox added.
func Project(t testing.TB, name string) string {
	t.Helper()
	dir, err := Env.Project(filepath.Join(testdata(t), name))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// testdata is the repository's testdata directory, found from the test's
// working directory (its package's directory).
func testdata(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "testdata")
		}
		if filepath.Dir(d) == d {
			t.Fatalf("no go.mod above %s", wd)
		}
	}
}

// Repo returns a registry repository unique to the test.
func Repo(t testing.TB) string {
	return Env.Registry + "/e2e/" + strings.ToLower(regexp.MustCompile(`[^a-zA-Z0-9]+`).ReplaceAllString(t.Name(), "-"))
}

// Prune empties the environment's builder, as on a fresh CI machine.
func Prune(t testing.TB) {
	t.Helper()
	if err := Env.Prune(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// startEngine starts the environment's docker engine (Debian's docker.io
// 20.10) once for the whole test binary; Env.Close stops it.
var startEngine = sync.OnceValues(func() (*testenv.Dockerd, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return Env.StartDockerd(ctx)
})

// Engine is the environment's docker engine, started on first use.
func Engine(t testing.TB) *testenv.Dockerd {
	t.Helper()
	d, err := startEngine()
	if err != nil {
		t.Fatalf("start dockerd: %v", err)
	}
	return d
}

// makeBaseImages makes the base images (once per machine, cached) and
// pushes them to the environment's registry, the builders' docker.io
// mirror (once per test binary).
var makeBaseImages = sync.OnceValues(func() (*testenv.BaseImages, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	logf := Logf("e2e")
	start := time.Now()
	base, err := testenv.EnsureBaseImages(ctx, Env.Tools, logf)
	if err != nil {
		return nil, err
	}
	made := time.Since(start)
	if err := Env.PushBaseImages(ctx, base); err != nil {
		return nil, err
	}
	logf("base images ready in %s (made or found in %s, pushed in %s): %s", time.Since(start).Round(time.Millisecond),
		made.Round(time.Millisecond), (time.Since(start) - made).Round(time.Millisecond), strings.Join(base.Refs, " "))
	return base, nil
})

// BaseImages are the base images in the environment's registry, made on
// first use.
func BaseImages(t testing.TB) *testenv.BaseImages {
	t.Helper()
	b, err := makeBaseImages()
	if err != nil {
		t.Fatalf("base images: %v", err)
	}
	return b
}

// DockerContainer creates a docker-container builder named name on the
// environment's engine, as docker/setup-buildx-action does; the test's
// cleanup removes it.
func DockerContainer(t testing.TB, name string) *testenv.ContainerBuilder {
	t.Helper()
	bi := BaseImages(t)
	d := Engine(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	b, err := d.CreateContainerBuilder(ctx, name, bi)
	if err != nil {
		t.Fatalf("docker-container builder: %v", err)
	}
	t.Logf("docker-container builder up in %s", time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() {
		if err := b.Remove(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return b
}

// ContainerPrune empties the docker-container builder's cache.
func ContainerPrune(b *testenv.ContainerBuilder) func(testing.TB) {
	return func(t testing.TB) {
		t.Helper()
		if err := b.Prune(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// CacheReport is the part of the cache-report output the tests read.
type CacheReport struct {
	Verified string `json:"verified"`
	Reason   string `json:"reason"`
	Report   struct {
		Ref       string `json:"ref"`
		Platforms []struct {
			Platform          string `json:"platform"`
			Records           int    `json:"records"`
			RecordsWithLayers int    `json:"recordsWithLayers"`
			LayersCovered     int    `json:"layersCovered"`
			LayersTotal       int    `json:"layersTotal"`
			Verified          bool   `json:"verified"`
		} `json:"platforms"`
	} `json:"report"`
	Build struct {
		CachedSteps, TotalSteps int
		WallSeconds             float64
		Steps                   []struct {
			Text, State, Stage string
			Seconds            float64
		}
	} `json:"build"`
	Sources []struct {
		Ref, State string
		Importable bool
		Cached     []string `json:"cachedPlatforms"`
	} `json:"sources"`
	Misses *struct {
		Ran    int
		Causes []struct{ Reason, Stage, Step, Detail string }
	} `json:"misses"`
	Gates []struct {
		Input   string
		Failed  bool
		Message string
	} `json:"gates"`
	StageCaches []struct {
		Mode, Stage, Ref, Digest, Error, Detail string
		Verified                                string `json:"verified"`
		Steps, Cached, Ran                      int
		ExtraBytes                              int64
		ExportSeconds                           float64
		Tagged                                  bool
	} `json:"stageCaches"`
}

// ParseReport reads a run's cache-report output.
func ParseReport(t testing.TB, r Run) CacheReport {
	t.Helper()
	var rep CacheReport
	if err := json.Unmarshal([]byte(r.Outputs["cache-report"]), &rep); err != nil {
		t.Fatalf("cache-report output %q: %v", r.Outputs["cache-report"], err)
	}
	return rep
}

// ResultBlock is the result block of a run's log (from "inline cache:" to
// the end of the verify group), for the test's record.
func ResultBlock(log string) string {
	i := strings.Index(log, "inline cache: ")
	if i < 0 {
		return ""
	}
	rest := log[i:]
	if j := strings.Index(rest, "::endgroup::"); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// CachedRE finds the CACHED lines of a raw buildx log ("#12 CACHED").
var CachedRE = regexp.MustCompile(`(?m)^#(\d+) CACHED$`)

// currentEngines are the environment's current docker engines (docker CLI
// 29, dockerd 28, containerd 2), one per image store, each started once for
// the whole test binary on first use; Env.Close stops them.
var currentEngines = map[testenv.Store]func() (*testenv.Dockerd, error){
	testenv.ClassicStore:    startCurrent(testenv.ClassicStore),
	testenv.ContainerdStore: startCurrent(testenv.ContainerdStore),
}

func startCurrent(store testenv.Store) func() (*testenv.Dockerd, error) {
	return sync.OnceValues(func() (*testenv.Dockerd, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		return Env.StartEngine(ctx, testenv.EngineConfig{
			Name:   "dockerd" + strings.Split(testenv.DockerdVersion, ".")[0] + "-" + string(store),
			Engine: Env.Tools.CurrentEngine,
			Store:  store,
		})
	})
}

// CurrentEngine is the current docker engine with the given image store,
// started on first use.
func CurrentEngine(t testing.TB, store testenv.Store) *testenv.Dockerd {
	t.Helper()
	d, err := currentEngines[store]()
	if err != nil {
		t.Fatalf("start dockerd %s (%s store): %v", testenv.DockerdVersion, store, err)
	}
	return d
}

// SetEnv replaces or adds variables in an environment list.
func SetEnv(environ []string, kv ...string) []string {
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

// EnginePrune empties a dockerd's build cache and images.
func EnginePrune(t testing.TB, d *testenv.Dockerd) {
	t.Helper()
	start := time.Now()
	if err := d.Prune(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Logf("engine pruned in %s", time.Since(start).Round(time.Millisecond))
}

// LookPathIn finds prog on the PATH of an environment list.
func LookPathIn(environ []string, prog string) (string, error) {
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

// CheckPushed fails the test unless the run pushed and verified the image.
func CheckPushed(t testing.TB, r Run) {
	t.Helper()
	if r.Code != 0 || r.Outputs["cache-verified"] != "true" || !strings.HasPrefix(r.Outputs["digest"], "sha256:") {
		t.Fatalf("exit %d, cache-verified %q, digest %q", r.Code, r.Outputs["cache-verified"], r.Outputs["digest"])
	}
}
