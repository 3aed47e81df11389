//go:build linux

// Package realworld builds the real-world-shaped projects
// (testdata/goservice, testdata/nodeservice) on base images made from
// Debian's packages, with dependencies fetched in RUN steps from the
// package registries this machine reaches, on two builders: the remote
// driver and buildx's docker-container driver (setup-buildx-action's
// default). It is a package of its own so that go test runs it beside
// internal/e2e: its builds are the longest of the suite.
package realworld

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/inlinecache/action/internal/e2e/harness"
	"github.com/inlinecache/action/internal/testenv"
)

// step is one Dockerfile step of a build's raw log.
type step struct {
	name   string // "[build 4/6] RUN go mod download"
	cached bool
	took   string // "12.3s" from "#n DONE 12.3s"; empty when CACHED
}

var (
	stepRE = regexp.MustCompile(`(?m)^#(\d+) (\[[^\]]*\d+/\d+\] .*)$`)
	doneRE = regexp.MustCompile(`(?m)^#(\d+) DONE ([0-9.]+s)$`)
)

// dockerfileSteps reads every numbered Dockerfile step ("[stage n/m] …")
// from the raw log, except FROM (resolving a base image is not a build
// step the cache can skip), in log order. A log without steps fails the
// test: a reader that finds nothing must not pass.
func dockerfileSteps(t *testing.T, log string) []step {
	t.Helper()
	cached := map[string]bool{}
	for _, m := range harness.CachedRE.FindAllStringSubmatch(log, -1) {
		cached[m[1]] = true
	}
	took := map[string]string{}
	for _, m := range doneRE.FindAllStringSubmatch(log, -1) {
		took[m[1]] = m[2]
	}
	var out []step
	seen := map[string]bool{}
	for _, m := range stepRE.FindAllStringSubmatch(log, -1) {
		if seen[m[1]] {
			continue
		}
		seen[m[1]] = true
		_, instr, _ := strings.Cut(m[2], "] ")
		if strings.HasPrefix(instr, "FROM ") {
			continue
		}
		out = append(out, step{name: m[2], cached: cached[m[1]], took: took[m[1]]})
	}
	if len(out) == 0 {
		t.Fatalf("no Dockerfile steps in the build log")
	}
	return out
}

// logSteps writes which steps ran and for how long into the test output,
// the record of what each rebuild did.
func logSteps(t *testing.T, what string, r run, took time.Duration) []step {
	t.Helper()
	steps := dockerfileSteps(t, r.Log)
	var b strings.Builder
	ran := 0
	for _, s := range steps {
		state := "CACHED"
		if !s.cached {
			state, ran = "ran "+s.took, ran+1
		}
		fmt.Fprintf(&b, "\n  %-12s %s", state, s.name)
	}
	t.Logf("STEPS %s: %d of %d steps ran, build took %s:%s", what, ran, len(steps), took.Round(100*time.Millisecond), b.String())
	return steps
}

// checkImageVerified asserts a successful push whose inline cache covers
// every layer of the image.
func checkImageVerified(t *testing.T, r run) {
	t.Helper()
	if r.Code != 0 || r.Outputs["cache-verified"] != "true" {
		t.Fatalf("exit %d, cache-verified %q", r.Code, r.Outputs["cache-verified"])
	}
	rep := parseReport(t, r)
	if len(rep.Report.Platforms) != 1 {
		t.Fatalf("platforms = %+v", rep.Report.Platforms)
	}
	if p := rep.Report.Platforms[0]; !p.Verified || p.LayersTotal == 0 || p.LayersCovered != p.LayersTotal {
		t.Errorf("platform report = %+v, want every layer covered", p)
	}
}

// realProject is a testdata project and the one-file change its third
// build makes.
type realProject struct {
	name string
	// buildArgs are what the machine's registries need, read at run time.
	buildArgs func(t testing.TB) []string
	// file is changed by replacing old with new.
	file, old, new string
	// mustRun are the steps (by a prefix of their instruction) that must
	// run after the change: the changed COPY, the steps after it in its
	// stage, and the runtime stage's steps that take what they made.
	mustRun []string
}

var realProjects = []realProject{
	{
		name: "goservice",
		buildArgs: func(t testing.TB) []string {
			return []string{"GO_VERSION=" + baseImages(t).GoTag, "GOPROXY=" + goEnvVar(t, "GOPROXY")}
		},
		file: "internal/greet/greet.go", old: `"hello, %s`, new: `"hi, %s`,
		mustRun: []string{"COPY . .", "RUN CGO_ENABLED=0 go build", "COPY --from=build /out/server", `RUN ["/usr/local/bin/server"`},
	},
	{
		name: "nodeservice",
		buildArgs: func(t testing.TB) []string {
			return []string{"NPM_CONFIG_REGISTRY=" + npmRegistry(t)}
		},
		file: "src/server.js", old: "hello from nodeservice", new: "hi from nodeservice",
		mustRun: []string{"COPY src ./src", "RUN npm run build", "COPY --from=build /app/dist", `RUN ["node"`},
	},
}

func goEnvVar(t testing.TB, name string) string {
	t.Helper()
	out, err := exec.Command("go", "env", name).Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		t.Fatalf("go env %s: %v %q", name, err, out)
	}
	return strings.TrimSpace(string(out))
}

func npmRegistry(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("npm", "config", "get", "registry").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		t.Fatalf("npm config get registry: %v %q", err, out)
	}
	return strings.TrimSpace(string(out))
}

// change makes the project's one-file change in its copy at ctx.
func (p realProject) change(t testing.TB, ctx string) {
	t.Helper()
	path := filepath.Join(ctx, p.file)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), p.old) {
		t.Fatalf("%s does not contain %q", p.file, p.old)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), p.old, p.new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// hostEntries are add-hosts for the package registries the machine
// resolves through /etc/hosts (none where DNS resolves them).
func hostEntries(t testing.TB) string {
	t.Helper()
	hosts, err := testenv.PackageRegistryHosts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	entries, err := testenv.HostEntries(hosts)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(entries, "\n")
}

// buildLeg builds p with the product the way a CI pipeline does, on one
// builder: a cold first build, an unchanged rebuild on an emptied builder
// (every step CACHED from the registry's inline cache), and a rebuild on an
// emptied builder after a one-file source change (the steps after the
// changed COPY run). extraArgs are build arguments the builder needs.
func buildLeg(t *testing.T, p realProject, environ []string, pruneBuilder func(testing.TB), extraArgs ...string) {
	baseImages(t)
	ctx := project(t, p.name)
	in := map[string]string{
		"context":    ctx,
		"tags":       repo(t) + ":main",
		"push":       "true",
		"build-args": strings.Join(append(p.buildArgs(t), extraArgs...), "\n"),
	}
	if h := hostEntries(t); h != "" {
		in["add-hosts"] = h
	}
	build := func(what string) (run, []step) {
		pruneBuilder(t)
		start := time.Now()
		r := actionIn(t, environ, in)
		took := time.Since(start)
		checkImageVerified(t, r)
		return r, logSteps(t, what, r, took)
	}

	firstRun, first := build("first build")
	if c := causes(t, firstRun); !c["no-source"] {
		t.Errorf("first build: the misses do not say no cache source was imported: %v", c)
	}
	if !strings.Contains(strings.Join(stepNames(first), "\n"), "RUN ") {
		t.Fatalf("no RUN step in the first build")
	}

	unchangedRun, unchanged := build("unchanged rebuild")
	if m := parseReport(t, unchangedRun).Misses; m == nil || m.Ran != 0 {
		t.Errorf("unchanged rebuild: misses = %+v, want none ran", m)
	}
	for _, s := range unchanged {
		if !s.cached {
			t.Errorf("unchanged rebuild: %s ran, want CACHED", s.name)
		}
	}
	if len(unchanged) != len(first) {
		t.Errorf("unchanged rebuild has %d steps, first build %d", len(unchanged), len(first))
	}

	p.change(t, ctx)
	changedRun, changed := build("rebuild after changing " + p.file)
	t.Logf("RESULT after changing %s:\n%s", p.file, harness.ResultBlock(changedRun.Log))
	// The builder stage re-ran whole: the inline cache does not hold it;
	// the runtime stage's first step that ran took the builder's new
	// output: its input changed.
	c := causes(t, changedRun)
	if !c["not-in-inline-cache build"] || !c["inputs-changed COPY --from=build"] {
		t.Errorf("after changing %s: the misses say %v, want stage build not in the inline cache and the runtime stage's COPY --from=build changed", p.file, c)
	}
	for _, want := range p.mustRun {
		found := false
		for _, s := range changed {
			_, instr, _ := strings.Cut(s.name, "] ")
			if strings.HasPrefix(instr, want) {
				found = true
				if s.cached {
					t.Errorf("after changing %s: %s CACHED, want it to run", p.file, s.name)
				}
			}
		}
		if !found {
			t.Errorf("after changing %s: no step %q in the log", p.file, want)
		}
	}
	// What else ran is the cache's effectiveness, recorded: inline cache
	// (mode=min) holds no layers for builder-stage steps that are not in
	// the final image, so on an empty builder their dependency downloads
	// run again.
	var reran []string
	for _, s := range changed {
		if !s.cached && !hasPrefixAny(s.name, p.mustRun) {
			reran = append(reran, s.name)
		}
	}
	sort.Strings(reran)
	t.Logf("STEPS after changing %s, besides the changed ones, also ran: %q", p.file, reran)
}

// causes are the misses of a run, as "reason stage" and "reason step"
// (the step's first three words), and the bare reason.
func causes(t *testing.T, r run) map[string]bool {
	t.Helper()
	m := parseReport(t, r).Misses
	if m == nil {
		t.Fatalf("cache-report has no misses: %s", r.Outputs["cache-report"])
	}
	out := map[string]bool{}
	for _, c := range m.Causes {
		words := strings.Fields(c.Step)
		out[c.Reason] = true
		out[c.Reason+" "+c.Stage] = true
		out[c.Reason+" "+strings.Join(words[:min(2, len(words))], " ")] = true
	}
	return out
}

func stepNames(steps []step) []string {
	var out []string
	for _, s := range steps {
		out = append(out, s.name)
	}
	return out
}

func hasPrefixAny(name string, prefixes []string) bool {
	_, instr, _ := strings.Cut(name, "] ")
	for _, p := range prefixes {
		if strings.HasPrefix(instr, p) {
			return true
		}
	}
	return false
}

func TestMain(m *testing.M) {
	os.Exit(harness.Main(m))
}

// The harness under the short names these tests use.
type run = harness.Run

var (
	actionIn    = harness.ActionIn
	parseReport = harness.ParseReport
	project     = harness.Project
	repo        = harness.Repo
	baseImages  = harness.BaseImages
)

// TestRealWorld builds the real-world projects on two builders at once,
// each leg on its own BuildKit so each can empty its builder while the
// other builds: the remote-driver builder (the environment's buildkitd, on
// the host's network) and buildx's docker-container driver (BuildKit in a
// container of the image made here, network=host, on dockerd 20.10), as
// docker/setup-buildx-action sets it up, whose RUN steps reach the package
// registries through the environment's egress proxy (the engine's network
// namespace has nothing else). Each leg: a cold first build, an unchanged
// rebuild on an emptied builder, a rebuild after a one-file change; the
// docker-container leg first builds testdata/app with both inline cache
// methods.
func TestRealWorld(t *testing.T) {
	baseImages(t)
	t.Run("remote", func(t *testing.T) {
		t.Parallel()
		for _, p := range realProjects {
			t.Run(p.name, func(t *testing.T) {
				buildLeg(t, p, harness.Env.Environ(), harness.Prune)
			})
		}
	})
	t.Run("docker-container", func(t *testing.T) {
		t.Parallel()
		b := harness.DockerContainer(t, "inline-cache-container")
		t.Run("app", func(t *testing.T) { containerApp(t, b) })
		for _, p := range realProjects {
			t.Run(p.name, func(t *testing.T) {
				buildLeg(t, p, b.Environ(), harness.ContainerPrune(b), "HTTPS_PROXY="+harness.Env.Egress.URL())
			})
		}
	})
}

// containerApp builds testdata/app on the docker-container builder with
// both inline cache methods: a cold build, then a rebuild on the emptied
// builder with every step CACHED from the registry.
func containerApp(t *testing.T, b *testenv.ContainerBuilder) {
	prune := harness.ContainerPrune(b)
	for _, method := range []string{"cache-to", "build-arg"} {
		t.Run(method, func(t *testing.T) {
			in := map[string]string{"context": project(t, "app"), "tags": repo(t) + ":main", "push": "true", "cache-method": method}
			prune(t)
			first := actionIn(t, b.Environ(), in)
			checkImageVerified(t, first)
			if !strings.Contains(first.Log, `builder "inline-cache-container", driver docker-container`) {
				t.Errorf("plan does not say it builds on the docker-container builder")
			}
			for _, s := range dockerfileSteps(t, first.Log) {
				if s.cached {
					t.Errorf("first build: %s CACHED, want it to run", s.name)
				}
			}
			prune(t)
			second := actionIn(t, b.Environ(), in)
			checkImageVerified(t, second)
			steps := dockerfileSteps(t, second.Log)
			for _, s := range steps {
				if !s.cached {
					t.Errorf("rebuild: %s ran, want CACHED", s.name)
				}
			}
			if rep := parseReport(t, second); rep.Build.TotalSteps != len(steps) || rep.Build.CachedSteps != len(steps) {
				t.Errorf("cache-report counts %d of %d cached, the log %d of %d", rep.Build.CachedSteps, rep.Build.TotalSteps, len(steps), len(steps))
			}
		})
	}
}
