//go:build linux

package e2e

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/inlinecache/action/internal/e2e/harness"

	"github.com/inlinecache/action/internal/progress"
	"github.com/inlinecache/action/internal/testenv"
)

var updateProgress = flag.Bool("update-progress", false, "rewrite testdata/progress from fresh builds")

// progressRoot holds the captured progress streams.
var progressRoot = filepath.Join("..", "..", "testdata", "progress")

// progressCase is one build whose progress stream becomes a fixture, in
// both formats buildx offers.
type progressCase struct {
	name, project, platforms string
	// cacheFrom names an earlier case whose pushed image the build imports
	// its cache from, after the builder was pruned: steps come from the
	// cache with their layers pulled.
	cacheFrom string
	buildArg  string
	fails     bool
}

var progressCases = []progressCase{
	{name: "single", project: "app", platforms: "linux/amd64"},
	{name: "multistage", project: "progress/projects/multistage", platforms: "linux/amd64"},
	{name: "multistage-rebuild", project: "progress/projects/multistage", platforms: "linux/amd64", cacheFrom: "multistage"},
	{name: "multistage-changed", project: "progress/projects/multistage", platforms: "linux/amd64", cacheFrom: "multistage", buildArg: "CHANGE=1"},
	{name: "multi-platform", project: "app", platforms: "linux/amd64,linux/386"},
	{name: "failing", project: "progress/projects/failing", platforms: "linux/amd64", fails: true},
	{name: "warning", project: "progress/projects/warning", platforms: "linux/amd64"},
}

// TestCaptureProgress builds each case on a pruned builder with
// --progress rawjson and again with --progress plain, and compares what
// the progress package reads from buildx's stderr with the captured
// stream in testdata/progress. Timestamps, digests and durations differ
// from build to build, so it compares structure: the steps with their
// platform, stage, index, instruction and state, the warnings and the
// failure. With -update-progress it rewrites the captures instead.
func TestCaptureProgress(t *testing.T) {
	dir := filepath.Join(progressRoot, "buildkit-"+testenv.BuildKitVersion)
	base := repo(t)
	for _, c := range progressCases {
		t.Run(c.name, func(t *testing.T) {
			for _, format := range []string{"rawjson", "plain"} {
				prune(t)
				args := []string{"build", "--progress", format, "--platform", c.platforms,
					"--tag", base + ":" + c.name, "--push", "--cache-to", "type=inline"}
				if c.cacheFrom != "" {
					args = append(args, "--cache-from", "type=registry,ref="+base+":"+c.cacheFrom)
				}
				if c.buildArg != "" {
					args = append(args, "--build-arg", c.buildArg)
				}
				stderr := buildxStderr(t, harness.Env.Environ(), c.fails, append(args, project(t, c.project))...)
				compareProgress(t, format, scrub(stderr, harness.Env.Registry), filepath.Join(dir, c.name+"."+format))
			}
		})
	}
}

// TestCaptureDockerdProgress does the same with dockerd 20.10's embedded
// BuildKit: buildx's docker driver (rawjson is buildx's own rendering of
// the engine's status stream, so it works there too) and docker build,
// which has only plain.
func TestCaptureDockerdProgress(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	// The shared engine: each build below starts from an emptied one.
	d := engine(t)
	dir := filepath.Join(progressRoot, "dockerd-20.10")
	src, err := harness.Env.Project(filepath.Join("..", "..", "testdata", "app"))
	if err != nil {
		t.Fatal(err)
	}
	ref := harness.Env.Registry + "/progress/dockerd:latest"
	for _, format := range []string{"rawjson", "plain"} {
		t.Run("buildx-docker-driver-"+format, func(t *testing.T) {
			if err := d.Prune(ctx); err != nil {
				t.Fatal(err)
			}
			stderr := buildxStderr(t, d.Environ(), false, "build", "--progress", format, "--tag", ref, src)
			compareProgress(t, format, scrub(stderr, harness.Env.Registry), filepath.Join(dir, "buildx-docker-driver."+format))
		})
	}
	t.Run("docker-build-plain", func(t *testing.T) {
		if err := d.Prune(ctx); err != nil {
			t.Fatal(err)
		}
		cmd := exec.CommandContext(ctx, harness.Env.Tools.Docker, "build", "--progress", "plain", "--tag", ref, src)
		cmd.Env = append(d.Environ(), "DOCKER_BUILDKIT=1")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("docker build: %v\n%s", err, stderr.Bytes())
		}
		compareProgress(t, "plain", scrub(stderr.Bytes(), harness.Env.Registry), filepath.Join(dir, "docker-build.plain"))
	})
}

// buildxStderr runs buildx and returns its stderr, where the progress
// stream goes, mixed with buildx's own lines.
func buildxStderr(t *testing.T, environ []string, fails bool, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, harness.Env.Tools.Buildx, args...)
	cmd.Env = environ
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	switch {
	case fails && err == nil:
		t.Fatalf("buildx %s succeeded, want a failed build:\n%s", strings.Join(args, " "), stderr.Bytes())
	case !fails && err != nil:
		t.Fatalf("buildx %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return stderr.Bytes()
}

// scrub replaces the test registry's loopback address, which changes from
// run to run, so the captures hold no address.
func scrub(b []byte, registry string) []byte {
	return bytes.ReplaceAll(b, []byte(registry), []byte("registry.test"))
}

// compareProgress compares the structure read from a fresh stream with
// the capture's, or rewrites the capture.
func compareProgress(t *testing.T, format string, got []byte, path string) {
	t.Helper()
	if *updateProgress {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", path)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update-progress to capture it)", err)
	}
	g, w := progressShape(t, format, got), progressShape(t, format, want)
	if !reflect.DeepEqual(g, w) {
		t.Errorf("the %s stream differs in structure from %s:\n got  %+v\n want %+v\nstream:\n%s", format, path, g, w, got)
	}
}

// progressShape is what must not change between two builds of the same
// case: the steps (sorted: parallel stages finish in any order) with their
// state, the counts, the platforms, the warnings and where the build
// failed. A step's platform is left out: BuildKit merges identical
// vertices of two platforms (a COPY onto scratch) and names the one
// vertex after either platform, from build to build.
func progressShape(t *testing.T, format string, stream []byte) map[string]any {
	t.Helper()
	f := progress.RawJSON
	if format == "plain" {
		f = progress.Plain
	}
	b, err := progress.Read(bytes.NewReader(stream), f)
	if err != nil {
		t.Fatal(err)
	}
	var steps, warnings []string
	for _, s := range b.Steps {
		state := string(s.State)
		if s.State == progress.Canceled {
			// Whether BuildKit's last word on an interrupted step reaches
			// buildx before it exits is a race.
			state = string(progress.Incomplete)
		}
		steps = append(steps, strings.Join([]string{s.Stage, fmt.Sprint(s.Index, "/", s.Total), s.Text, state}, " "))
	}
	slices.Sort(steps)
	for _, w := range b.Warnings {
		warnings = append(warnings, fmt.Sprint(w.Message, " line ", w.Line))
	}
	slices.Sort(warnings)
	platforms := slices.Sorted(slices.Values(b.Platforms))
	shape := map[string]any{
		"steps": steps, "warnings": warnings, "platforms": platforms,
		"cached": b.CachedSteps(), "total": b.TotalSteps(), "cache-hit": b.CacheHit(),
		"complete": b.Complete(),
	}
	if f := b.Failure; f != nil {
		step := ""
		if f.Step != nil {
			step = f.Step.Text
		}
		shape["failure"] = fmt.Sprint(f.File, ":", f.Line, " ", step)
	}
	return shape
}

// TestCaptureCanceledProgress interrupts buildx (as a cancelled CI job
// does) once the long RUN has started, and captures the stream: the
// steps that ended are counted, the one interrupted is not finished.
func TestCaptureCanceledProgress(t *testing.T) {
	dir := filepath.Join(progressRoot, "buildkit-"+testenv.BuildKitVersion)
	for _, format := range []string{"rawjson", "plain"} {
		t.Run(format, func(t *testing.T) {
			prune(t)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			f := progress.RawJSON
			if format == "plain" {
				f = progress.Plain
			}
			var raw bytes.Buffer
			rec := progress.New(f, progress.WithTee(&raw))
			cmd := exec.CommandContext(ctx, harness.Env.Tools.Buildx, "build", "--progress", format, "--tag", repo(t)+":cancel", project(t, "progress/projects/cancel"))
			cmd.Env = harness.Env.Environ()
			cmd.Stderr = rec
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			started := false
			for !started && ctx.Err() == nil {
				time.Sleep(100 * time.Millisecond)
				for _, s := range rec.Build().Steps {
					started = started || (strings.Contains(s.Text, "sleep") && s.State == progress.Incomplete)
				}
			}
			if !started {
				t.Fatalf("the RUN never started:\n%s", raw.Bytes())
			}
			time.Sleep(time.Second)
			if err := cmd.Process.Signal(os.Interrupt); err != nil {
				t.Fatal(err)
			}
			if err := cmd.Wait(); err == nil {
				t.Fatalf("buildx succeeded after an interrupt:\n%s", raw.Bytes())
			}
			if err := rec.Close(); err != nil {
				t.Fatal(err)
			}
			compareProgress(t, format, scrub(raw.Bytes(), harness.Env.Registry), filepath.Join(dir, "canceled."+format))
		})
	}
}
