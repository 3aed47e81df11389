//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The tool's step counts are checked against the raw progress stream (the
// progress-file input) read here without the tool's parser: rawjson with
// encoding/json, plain with regular expressions.

// rawStep is one Dockerfile step vertex of the raw stream.
type rawStep struct {
	Instruction, Text string
	Cached            bool
}

var (
	// rawStepName is dockerfile2llb's "[stage N/M] INSTRUCTION …" name.
	rawStepName  = regexp.MustCompile(`^\[[^\]]*\d+/\d+\] (\S+)(.*)$`)
	plainVertex  = regexp.MustCompile(`(?m)^#(\d+) (\[[^\]]*\d+/\d+\] .*)$`)
	plainCached  = regexp.MustCompile(`(?m)^#(\d+) CACHED$`)
	rawJSONStart = regexp.MustCompile(`(?m)^\{"`)
)

// rawSteps reads the Dockerfile steps (every vertex so named that
// started, except FROM, which only resolves or pulls the base image) of
// a raw stream, by vertex.
func rawSteps(t *testing.T, raw string) map[string]rawStep {
	t.Helper()
	steps := map[string]rawStep{}
	add := func(key, name string, cached bool) {
		m := rawStepName.FindStringSubmatch(name)
		if m == nil || m[1] == "FROM" {
			return
		}
		s := steps[key]
		s.Instruction, s.Text, s.Cached = m[1], m[1]+m[2], s.Cached || cached
		steps[key] = s
	}
	if rawJSONStart.MatchString(raw) {
		for _, line := range strings.Split(raw, "\n") {
			if !strings.HasPrefix(line, "{") {
				continue // buildx's own lines
			}
			var st struct {
				Vertexes []struct {
					Digest, Name string
					Started      *time.Time
					Cached       bool
				}
			}
			if err := json.Unmarshal([]byte(line), &st); err != nil {
				t.Fatalf("raw stream line %q: %v", line, err)
			}
			for _, v := range st.Vertexes {
				if v.Started != nil || v.Cached {
					add(v.Digest, v.Name, v.Cached)
				}
			}
		}
		return steps
	}
	cached := map[string]bool{}
	for _, m := range plainCached.FindAllStringSubmatch(raw, -1) {
		cached[m[1]] = true
	}
	for _, m := range plainVertex.FindAllStringSubmatch(raw, -1) {
		add(m[1], m[2], cached[m[1]])
	}
	return steps
}

// runStepsRaw is the RUN steps of a raw stream by their text, cached when
// every vertex of that text was (one per platform).
func runStepsRaw(t *testing.T, raw string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, s := range rawSteps(t, raw) {
		if s.Instruction != "RUN" {
			continue
		}
		prev, seen := out[s.Text]
		out[s.Text] = s.Cached && (prev || !seen)
	}
	return out
}

// checkCountsAgainstRaw: the cached-steps, total-steps and cache-hit
// outputs are the raw stream's own counts.
func checkCountsAgainstRaw(t *testing.T, r run) {
	t.Helper()
	if r.Raw == "" {
		t.Fatal("no raw progress stream was written to the progress-file")
	}
	steps := rawSteps(t, r.Raw)
	cached := 0
	for _, s := range steps {
		if s.Cached {
			cached++
		}
	}
	hit := 0
	if len(steps) > 0 {
		hit = cached * 100 / len(steps)
	}
	want := map[string]string{"cached-steps": strconv.Itoa(cached), "total-steps": strconv.Itoa(len(steps)), "cache-hit": strconv.Itoa(hit)}
	for k, v := range want {
		if r.Outputs[k] != v {
			t.Errorf("output %s = %q, the raw stream says %s (%d steps: %v)", k, r.Outputs[k], v, len(steps), steps)
		}
	}
}

// checkPushedVerified: the build passed and its push was verified.
func checkPushedVerified(t *testing.T, r run) {
	t.Helper()
	if r.Code != 0 || r.Outputs["cache-verified"] != "true" {
		t.Fatalf("exit %d, cache-verified %q", r.Code, r.Outputs["cache-verified"])
	}
}

// appStepsAfterChange are testdata/app's steps that must run again after
// hello.txt changes: its COPY and the RUN that reads it.
var appStepsAfterChange = map[string]bool{"COPY hello.txt /hello.txt": true, "RUN cat /hello.txt /two.txt > /all.txt": true}

// checkChangedFile changes hello.txt in the project at ctx, rebuilds with
// build, and checks that exactly the steps after it ran, each shown with
// its time, and the others were cached.
func checkChangedFile(t *testing.T, ctx string, build func() run) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(ctx, "hello.txt"), []byte(fmt.Sprintf("changed at %d\n", time.Now().UnixNano())), 0o644); err != nil {
		t.Fatal(err)
	}
	r := build()
	// Verified; how many records carry layers after a partial rebuild is
	// the builder's business (BuildKit v0.8 leaves one out).
	checkPushedVerified(t, r)
	checkCountsAgainstRaw(t, r)
	rep := parseReport(t, r)
	if rep.Build.TotalSteps != 6 || rep.Build.CachedSteps != 4 || r.Outputs["cache-hit"] != "66" {
		t.Errorf("after a change: %d of %d cached, cache-hit %q; want 4 of 6, 66", rep.Build.CachedSteps, rep.Build.TotalSteps, r.Outputs["cache-hit"])
	}
	for _, s := range rep.Build.Steps {
		want := "cached"
		if appStepsAfterChange[s.Text] {
			want = "ran"
		}
		if s.State != want {
			t.Errorf("%s: %s, want %s", s.Text, s.State, want)
		}
	}
	for text := range appStepsAfterChange {
		if !regexp.MustCompile(`(?m)^ +\d+\.\ds  ran    \[[^\]]*\d/6\] ` + regexp.QuoteMeta(text) + `$`).MatchString(r.Log) {
			t.Errorf("the result block does not list %q as ran with its time", text)
		}
	}
	if !strings.Contains(r.Summary, "Steps that ran, slowest first:") || !strings.Contains(r.Summary, "<details><summary>4 cached steps</summary>") || !strings.Contains(r.Summary, "```mermaid\ngantt\n") {
		t.Errorf("job summary lacks the steps that ran, the folded cached steps or the timeline:\n%s", r.Summary)
	}
}

// failingDockerfile fails at line 5, its third step.
const failingDockerfile = `FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
# the next step fails
RUN echo "about to fail" && exit 3
`

// checkFailingStep builds a project whose RUN fails and checks the error
// annotation is on that Dockerfile line, with the step's output.
func checkFailingStep(t *testing.T, build func(ctx string) run) {
	t.Helper()
	ctx := project(t, "app")
	if err := os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte(failingDockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	r := build(ctx)
	if r.Code != 1 {
		t.Errorf("failing build: exit %d, want 1", r.Code)
	}
	want := "::error file=" + filepath.Join(ctx, "Dockerfile") + ",line=5,title=Build step failed%3A [3/3] RUN echo \"about to fail\" && exit 3::"
	if !strings.Contains(r.Log, want) {
		t.Errorf("no annotation %q in the log", want)
	}
	if !strings.Contains(r.Log, "last lines of the step:%0Aabout to fail") {
		t.Errorf("the annotation does not carry the step's output")
	}
	if r.Outputs["cache-verified"] != "false" {
		t.Errorf("cache-verified = %q", r.Outputs["cache-verified"])
	}
}

// TestMultiStageSteps: a multi-stage build rebuilt on an empty builder
// from the registry's inline cache with its last step changed: that step
// ran, every other one (three stages, cached layers pulled) is cached,
// FROM counts in no stage, and the counts are the raw stream's.
func TestMultiStageSteps(t *testing.T) {
	ctx := project(t, filepath.Join("progress", "projects", "multistage"))
	tag := repo(t) + ":main"
	in := map[string]string{"context": ctx, "tags": tag, "push": "true"}
	first := action(t, in)
	checkPushedVerified(t, first)
	checkCountsAgainstRaw(t, first)

	prune(t)
	in["build-args"] = "CHANGE=1"
	r := action(t, in)
	checkPushedVerified(t, r)
	checkCountsAgainstRaw(t, r)
	t.Logf("job summary:\n%s", r.Summary)
	rep := parseReport(t, r)
	if rep.Build.TotalSteps != 8 || rep.Build.CachedSteps != 7 || r.Outputs["cache-hit"] != "87" {
		t.Errorf("%d of %d cached, cache-hit %q; want 7 of 8, 87", rep.Build.CachedSteps, rep.Build.TotalSteps, r.Outputs["cache-hit"])
	}
	for _, want := range []string{
		"build steps: 7 of 8 Dockerfile steps cached (cache hit 87%)",
		`ran    [stage-2 5/5] RUN ["/bin/busybox", "sh", "-c", "cat artifact.txt asset.txt > all.txt"]`,
	} {
		if !strings.Contains(r.Log, want) {
			t.Errorf("result block lacks %q", want)
		}
	}
	for _, re := range []string{`(?m)^  builder +2 +2 +0 +0\.0s$`, `(?m)^  assets +2 +2 +0 +0\.0s$`, `(?m)^  stage-2 +4 +3 +1 +\d+\.\ds$`} {
		if !regexp.MustCompile(re).MatchString(r.Log) {
			t.Errorf("result block has no stage line %s", re)
		}
	}
	for _, want := range []string{"| builder | 2 | 2 | 0 | 0.0s |", "<details><summary>7 cached steps</summary>", "    section builder\n", "    section cache and export\n"} {
		if !strings.Contains(r.Summary, want) {
			t.Errorf("job summary lacks %q", want)
		}
	}
}
