//go:build linux

package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/inlinecache/action/internal/e2e/harness"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"go.yaml.in/yaml/v3"

	"github.com/inlinecache/action/internal/registrytest"
)

// The benchmarks in this file time whole processes, as users run them, on
// the real environment of TestMain (buildkitd, registry, buildx). Every
// contender runs once per round, in rotating order so that none always
// runs on a cache the one before it warmed; a round count comes from
// -benchtime=Nx (b.N). Each reports min, median and max in milliseconds as
// custom metrics; `make bench` (internal/benchreport) puts them side by
// side. They assert nothing about time: a contender that fails fails the
// benchmark.

// contender is one way of doing the same job as a process.
type contender struct {
	name string
	// cmd makes a fresh command for one round.
	cmd func(b *testing.B) *exec.Cmd
	// check reads the result of a round; nil accepts any exit 0.
	check func(b *testing.B, out []byte)
}

// sample is one timed round of a contender.
type sample struct{ wall, cpu time.Duration }

// race runs every contender b.N times and reports their figures.
func race(b *testing.B, cs []contender) {
	b.Helper()
	samples := make([][]sample, len(cs))
	b.ResetTimer()
	for round := range b.N {
		for k := range cs {
			i := (round + k) % len(cs)
			samples[i] = append(samples[i], runOnce(b, cs[i]))
		}
	}
	b.StopTimer()
	for i, c := range cs {
		wall, cpu := stats(samples[i], func(s sample) time.Duration { return s.wall }), stats(samples[i], func(s sample) time.Duration { return s.cpu })
		b.ReportMetric(ms(wall[0]), c.name+"-min-ms")
		b.ReportMetric(ms(wall[1]), c.name+"-median-ms")
		b.ReportMetric(ms(wall[2]), c.name+"-max-ms")
		b.ReportMetric(ms(cpu[1]), c.name+"-cpu-median-ms")
	}
	b.ReportMetric(0, "ns/op") // the per-op time mixes contenders; the metrics above are the result
}

func runOnce(b *testing.B, c contender) sample {
	b.Helper()
	cmd := c.cmd(b)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	wall := time.Since(start)
	if err != nil {
		b.Fatalf("%s: %v\n%s", c.name, err, out)
	}
	if c.check != nil {
		c.check(b, out)
	}
	st := cmd.ProcessState
	return sample{wall: wall, cpu: st.UserTime() + st.SystemTime()}
}

// stats is min, median and max.
func stats(s []sample, f func(sample) time.Duration) [3]time.Duration {
	d := make([]time.Duration, len(s))
	for i, x := range s {
		d[i] = f(x)
	}
	slices.Sort(d)
	return [3]time.Duration{d[0], d[len(d)/2], d[len(d)-1]}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// processEnv is the environment every contender runs in: the test
// environment's builder and registry, without the GitHub variables of
// whatever runs the benchmark.
func processEnv(extra ...string) []string {
	return append(cleanEnv(harness.Env.Environ()), extra...)
}

// BenchmarkOverheadCachedBuild times a fully cached build and push of
// testdata/app, the case where a tool's own cost is all that is left:
// bare `docker buildx build` with the flags inline-cache composes, the
// inline-cache binary run as the action runs it (INPUT_* variables) and
// through the action's node entry point, and build-push-action when
// BPA_DIR names a checkout of it with its dist (node24 runs dist/index.cjs;
// nothing of it is in this repository). The difference to bare buildx is a
// tool's overhead; benchreport prints the ratio.
func BenchmarkOverheadCachedBuild(b *testing.B) {
	ctx := project(b, "app")
	ref := harness.Env.Registry + "/bench/overhead:main"
	dir := b.TempDir()
	actionDir := actionCopy(b, dir)
	ownAction := filepath.Join("..", "..", "action.yml")

	inputs := map[string]string{"context": ctx, "tags": ref, "push": "true"}
	githubEnv := func(round string, action string) []string {
		d := filepath.Join(dir, round)
		if err := os.MkdirAll(d, 0o755); err != nil {
			b.Fatal(err)
		}
		out := []string{
			"GITHUB_ACTIONS=true",
			"GITHUB_OUTPUT=" + filepath.Join(d, "output"),
			"GITHUB_STEP_SUMMARY=" + filepath.Join(d, "summary"),
			"GITHUB_STATE=" + filepath.Join(d, "state"),
			"RUNNER_TEMP=" + d,
			// What a runner sets for a push to main. The server URL is a
			// closed loopback port: nothing may reach out from here.
			"GITHUB_EVENT_NAME=push",
			"GITHUB_REF=refs/heads/main",
			"GITHUB_SHA=0123456789abcdef0123456789abcdef01234567",
			"GITHUB_REPOSITORY=acme/app",
			"GITHUB_SERVER_URL=http://127.0.0.1:1",
			"GITHUB_API_URL=http://127.0.0.1:1",
			"GITHUB_RUN_ID=1",
			"GITHUB_RUN_ATTEMPT=1",
			"GITHUB_WORKSPACE=" + ctx,
		}
		// The runner creates these files before a step runs.
		for _, f := range []string{"output", "summary", "state"} {
			if err := os.WriteFile(filepath.Join(d, f), nil, 0o644); err != nil {
				b.Fatal(err)
			}
		}
		// The runner gives every input its default from action.yml.
		vals := actionDefaults(b, action)
		maps.Copy(vals, inputs)
		for k, v := range vals {
			out = append(out, "INPUT_"+strings.ToUpper(k)+"="+v)
		}
		return out
	}
	n := 0
	fresh := func() string { n++; return fmt.Sprintf("run%d", n) }

	cs := []contender{
		{name: "bare", cmd: func(b *testing.B) *exec.Cmd {
			c := exec.Command(harness.Env.Tools.Docker, "buildx", "build",
				"--cache-to", "type=inline",
				"--cache-from", "type=registry,ref="+ref,
				"--tag", ref, "--push",
				"--metadata-file", filepath.Join(dir, fresh()+"-metadata.json"),
				ctx)
			c.Env = processEnv()
			return c
		}},
		{name: "inline-cache", cmd: func(b *testing.B) *exec.Cmd {
			c := exec.Command(harness.Binary, "build")
			c.Env = processEnv(githubEnv(fresh(), ownAction)...)
			return c
		}, check: verifiedOutput(dir)},
		{name: "inline-cache-action", cmd: func(b *testing.B) *exec.Cmd {
			c := exec.Command(harness.Env.Tools.Node, filepath.Join(actionDir, "dist", "index.js"))
			c.Env = processEnv(githubEnv(fresh(), ownAction)...)
			return c
		}},
	}
	if bpa := os.Getenv("BPA_DIR"); bpa != "" {
		entry := filepath.Join(bpa, "dist", "index.cjs")
		if _, err := os.Stat(entry); err != nil {
			b.Fatalf("BPA_DIR: %v", err)
		}
		cs = append(cs, contender{name: "build-push-action", cmd: func(b *testing.B) *exec.Cmd {
			c := exec.Command(harness.Env.Tools.Node, entry)
			e := githubEnv(fresh(), filepath.Join(bpa, "action.yml"))
			e = append(e, "INPUT_CACHE-FROM=type=registry,ref="+ref, "INPUT_CACHE-TO=type=inline")
			c.Env = processEnv(e...)
			return c
		}})
	} else {
		b.Log("BPA_DIR is not set: build-push-action is not compared (set it to a checkout of docker/build-push-action with its dist/)")
	}

	// The first push fills the builder's cache and the registry; the
	// rounds then all rebuild fully cached.
	warm := exec.Command(harness.Binary, "build")
	warm.Env = processEnv(githubEnv(fresh(), ownAction)...)
	if out, err := warm.CombinedOutput(); err != nil {
		b.Fatalf("first build: %v\n%s", err, out)
	}
	race(b, cs)
}

// actionDefaults reads the inputs' defaults from an action.yml, as the
// runner passes them; an expression default (${{ github.token }}) is empty
// here, as it is for a workflow without a token.
func actionDefaults(b *testing.B, path string) map[string]string {
	b.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	var a struct {
		Inputs map[string]struct {
			Default *string `yaml:"default"`
		} `yaml:"inputs"`
	}
	if err := yaml.Unmarshal(raw, &a); err != nil {
		b.Fatalf("%s: %v", path, err)
	}
	out := map[string]string{}
	for k, in := range a.Inputs {
		if in.Default != nil && !strings.Contains(*in.Default, "${{") {
			out[k] = *in.Default
		}
	}
	return out
}

// verifiedOutput fails the round unless the action said the cache was
// verified: a fast run that verified nothing would be no result.
func verifiedOutput(dir string) func(*testing.B, []byte) {
	return func(b *testing.B, out []byte) {
		if !strings.Contains(string(out), "VERIFIED") {
			b.Fatalf("inline-cache did not verify:\n%s", out)
		}
	}
}

// actionCopy lays out the action as a release has it: dist/index.js, the
// binary under its release name and SHA256SUMS, so the node entry point
// runs the binary instead of building it.
func actionCopy(b *testing.B, dir string) string {
	b.Helper()
	root := filepath.Join(dir, "action")
	dist := filepath.Join(root, "dist")
	if err := os.MkdirAll(dist, 0o755); err != nil {
		b.Fatal(err)
	}
	js, err := os.ReadFile(filepath.Join("..", "..", "dist", "index.js"))
	if err != nil {
		b.Fatal(err)
	}
	bin, err := os.ReadFile(harness.Binary)
	if err != nil {
		b.Fatal(err)
	}
	name := "inline-cache-linux-amd64"
	if goarch := os.Getenv("GOARCH"); goarch == "arm64" {
		name = "inline-cache-linux-arm64"
	}
	sum := sha256.Sum256(bin)
	for f, data := range map[string][]byte{
		"index.js":   js,
		name:         bin,
		"SHA256SUMS": []byte(hex.EncodeToString(sum[:]) + "  " + name + "\n"),
	} {
		if err := os.WriteFile(filepath.Join(dist, f), data, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	return root
}

// BenchmarkVerifyProcess reads an N-platform index from the real test
// registry as whole processes: `inline-cache verify` against `docker
// buildx imagetools inspect --format '{{json .Image}}'`, which also
// fetches every platform's manifest and config.
func BenchmarkVerifyProcess(b *testing.B) {
	for _, n := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("platforms=%d", n), func(b *testing.B) {
			imgs := make([]v1.Image, n)
			for i := range n {
				imgs[i] = registrytest.Image(b, benchPlatform(i), 3, registrytest.Valid)
			}
			ref := registrytest.PushIndex(b, fmt.Sprintf("%s/bench/verify:p%d", harness.Env.Registry, n), imgs...)
			race(b, []contender{
				{name: "inline-cache-verify", cmd: func(b *testing.B) *exec.Cmd {
					c := exec.Command(harness.Binary, "verify", ref)
					c.Env = processEnv()
					return c
				}},
				{name: "imagetools-inspect", cmd: func(b *testing.B) *exec.Cmd {
					c := exec.Command(harness.Env.Tools.Buildx, "imagetools", "inspect", "--format", "{{json .Image}}", ref)
					c.Env = processEnv()
					return c
				}, check: func(b *testing.B, out []byte) {
					if got := strings.Count(string(out), `"rootfs"`); got != n {
						b.Fatalf("imagetools printed %d configs, want %d", got, n)
					}
				}},
			})
		})
	}
}

// benchPlatform names the i-th platform of a wide index.
func benchPlatform(i int) string {
	archs := []string{"amd64", "arm64", "386", "ppc64le", "s390x", "riscv64", "mips64le", "loong64"}
	return fmt.Sprintf("linux/%s/v%d", archs[i%len(archs)], i/len(archs)+1)
}
