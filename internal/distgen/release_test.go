package main

import (
	"bytes"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// workflow is the part of the GitHub workflow syntax release.yml uses;
// decoding with KnownFields refuses any other (misspelt) key.
type workflow struct {
	Name string `yaml:"name"`
	On   struct {
		Push struct {
			Tags     []string `yaml:"tags"`
			Branches []string `yaml:"branches"`
		} `yaml:"push"`
	} `yaml:"on"`
	Permissions map[string]string `yaml:"permissions"`
	Jobs        map[string]struct {
		RunsOn         string            `yaml:"runs-on"`
		TimeoutMinutes int               `yaml:"timeout-minutes"`
		Env            map[string]string `yaml:"env"`
		Steps          []wfStep          `yaml:"steps"`
	} `yaml:"jobs"`
}

type wfStep struct {
	Name string            `yaml:"name"`
	Uses string            `yaml:"uses"`
	With map[string]string `yaml:"with"`
	Run  string            `yaml:"run"`
	Env  map[string]string `yaml:"env"`
}

// TestReleaseWorkflow checks .github/workflows/release.yml, which only
// GitHub can run: it parses, it runs on version tags only, it builds with
// the Makefile's dist target and uploads every binary that target makes
// plus SHA256SUMS, and no ${{ }} value is spliced into a script.
func TestReleaseWorkflow(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", ".github", "workflows", "release.yml"))
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var wf workflow
	if err := dec.Decode(&wf); err != nil {
		t.Fatalf("release.yml: %v", err)
	}

	// GitHub's tag filters are globs like path.Match's for these patterns.
	matches := func(tag string) bool {
		return slices.ContainsFunc(wf.On.Push.Tags, func(p string) bool { ok, _ := path.Match(p, tag); return ok })
	}
	if !matches("v1.2.3") || !matches("v0.10.0-rc.1") {
		t.Errorf("tags %q do not match version tags", wf.On.Push.Tags)
	}
	// The workflow pushes the major tag; that must not start it again.
	if matches("v1") || len(wf.On.Push.Branches) != 0 {
		t.Errorf("on.push = tags %q branches %q: must run on version tags only", wf.On.Push.Tags, wf.On.Push.Branches)
	}
	if wf.Permissions["contents"] != "write" {
		t.Errorf("permissions = %v, want contents: write to upload assets", wf.Permissions)
	}
	if len(wf.Jobs) != 1 {
		t.Fatalf("jobs = %d, want 1", len(wf.Jobs))
	}
	job := wf.Jobs["release"]
	if job.RunsOn != "ubuntu-latest" || job.TimeoutMinutes == 0 {
		t.Errorf("runs-on %q timeout-minutes %d", job.RunsOn, job.TimeoutMinutes)
	}

	usesRE := regexp.MustCompile(`^[\w.-]+/[\w.-]+@v\d+$`)
	step := func(sub string) int {
		return slices.IndexFunc(job.Steps, func(s wfStep) bool {
			return strings.Contains(s.Uses, sub) || strings.Contains(s.Run, sub)
		})
	}
	for i, s := range job.Steps {
		if (s.Uses == "") == (s.Run == "") {
			t.Errorf("step %d: exactly one of uses and run, got %q / %q", i, s.Uses, s.Run)
		}
		if s.Uses != "" && !usesRE.MatchString(s.Uses) {
			t.Errorf("step %d: uses %q is not owner/repo@vN", i, s.Uses)
		}
		if strings.Contains(s.Run, "${{") {
			t.Errorf("step %d splices an expression into its script (pass it through env): %q", i, s.Run)
		}
	}
	checkout, setupGo, dist, upload := step("actions/checkout@"), step("actions/setup-go@"), step("make dist"), step("gh release upload")
	if checkout < 0 || setupGo < 0 || dist < 0 || upload < 0 || !(checkout < dist && setupGo < dist && dist < upload) {
		t.Fatalf("want checkout and setup-go, then make dist, then gh release upload; step indexes %d %d %d %d", checkout, setupGo, dist, upload)
	}
	if job.Env["TAG"] != "${{ github.ref_name }}" || !strings.Contains(job.Steps[dist].Run, `VERSION="$TAG"`) {
		t.Errorf("the version is not the tag: env %v, run %q", job.Env, job.Steps[dist].Run)
	}

	// The major tag moves only where distgen -major-tag says (never to a
	// pre-release or an older patch), after the upload.
	move := step("git push --force")
	if move < 0 || move < upload || !strings.Contains(job.Steps[move].Run, `major="$(go run ./internal/distgen -major-tag "$TAG")"`) ||
		!strings.Contains(job.Steps[move].Run, `if [ -z "$major" ]`) || strings.Contains(job.Steps[move].Run, "TAG%%") {
		t.Errorf("the major tag is not moved after the upload as distgen -major-tag decides: %q", job.Steps[move].Run)
	}

	// A pre-release tag makes a GitHub pre-release, not the latest release.
	if r := job.Steps[upload].Run; !strings.Contains(r, `case "$TAG" in *-*) prerelease="--prerelease"`) || !strings.Contains(r, "--generate-notes $prerelease") {
		t.Errorf("a pre-release tag is not created as a GitHub pre-release: %q", r)
	}

	// Every file make dist writes is uploaded, by the upload's globs.
	up := strings.Fields(job.Steps[upload].Run)
	var globs []string
	for _, f := range up {
		if strings.HasPrefix(f, "dist/") {
			globs = append(globs, f)
		}
	}
	targets, _ := ParseTargets(strings.Join(DefaultTargets, ","))
	for _, tg := range append(targets, Target{}) {
		name := "dist/" + tg.BinaryName()
		if tg == (Target{}) {
			name = "dist/" + SumsFile
		}
		if !slices.ContainsFunc(globs, func(g string) bool { ok, _ := path.Match(g, name); return ok }) {
			t.Errorf("%s is not uploaded (upload globs %q)", name, globs)
		}
	}

	// The target the workflow calls exists and runs distgen.
	mk, err := os.ReadFile(filepath.Join("..", "..", "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^dist:\n\t\$\(GO\) run \./internal/distgen\n`).Match(mk) || !regexp.MustCompile(`(?m)^\.PHONY:.*\bdist\b`).Match(mk) {
		t.Errorf("Makefile has no phony dist target running ./internal/distgen")
	}
}
