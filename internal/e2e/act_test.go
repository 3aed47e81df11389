//go:build linux

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/inlinecache/action/internal/e2e/harness"

	"github.com/inlinecache/action/internal/testenv"
)

// actWorkflow is what a user runs locally: check out, then `uses: ./`.
// The last step records what the action left behind, for the test to read.
const actWorkflow = `name: act-e2e
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: ./
        id: build
        with:
          context: testdata/app
          tags: %[1]s
          push: true
      - name: record
        if: always()
        env:
          OUTPUTS: ${{ toJSON(steps.build.Outputs) }}
        run: |
          printf '%%s' "$OUTPUTS" > %[2]s/outputs.json
          printf 'ACT=%%s\nGITHUB_OUTPUT=%%s\nGITHUB_STEP_SUMMARY=%%s\n' "$ACT" "$GITHUB_OUTPUT" "$GITHUB_STEP_SUMMARY" > %[2]s/env
`

// TestActUsesDotAction runs the action under nektos/act in host mode, the
// way the README tells users to: `act push -P ubuntu-latest=-self-hosted`
// in a clone, with `uses: ./`. It checks what act depends on: act's own
// actions/checkout copies the repository without the .gitignore'd dist
// binaries, so the entry point builds from source with go build; outputs
// travel through act's GITHUB_OUTPUT file into steps.<id>.Outputs, the job
// summary lands in act's GITHUB_STEP_SUMMARY, and ACT=true is set.
func TestActUsesDotAction(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	// Leave the builder's cache as empty as tests that follow may expect.
	t.Cleanup(func() { prune(t) })
	repoDir := filepath.Join(t.TempDir(), "repo")
	copyCheckout(t, root, repoDir)

	// Release files a clone may hold (make dist) are .gitignore'd, so act's
	// checkout must leave them behind. These are bogus: if the action ran
	// one, the shim would refuse it (no matching checksum) and the job fail.
	arch := runtime.GOARCH
	mustWrite(t, filepath.Join(repoDir, "dist", "inline-cache-linux-"+arch), "not a binary", 0o755)
	mustWrite(t, filepath.Join(repoDir, "dist", "SHA256SUMS"), strings.Repeat("0", 64)+"  inline-cache-linux-"+arch+"\n", 0o644)
	busybox, err := os.ReadFile(harness.Env.Tools.Busybox)
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(repoDir, "testdata", "app", "busybox"), string(busybox), 0o755)

	out := t.TempDir()
	tag := repo(t) + ":act"
	mustWrite(t, filepath.Join(repoDir, ".github", "workflows", "act-e2e.yml"), fmt.Sprintf(actWorkflow, tag, out), 0o644)
	git(t, repoDir, "init", "-q", "-b", "main")
	git(t, repoDir, "add", "-A")
	git(t, repoDir, "-c", "user.name=e2e", "-c", "user.email=e2e@inlinecache.invalid", "commit", "-q", "-m", "act e2e")
	if ignored := git(t, repoDir, "status", "--porcelain", "--ignored", "dist"); !strings.Contains(ignored, "!! dist/SHA256SUMS") || !strings.Contains(ignored, "!! dist/inline-cache-linux-"+arch) {
		t.Fatalf(".gitignore does not cover the release files in dist/: %q", ignored)
	}

	log, err := runAct(t, repoDir)
	if err != nil {
		t.Fatalf("act: %v", err)
	}

	// The shim found no binary in the checkout and built one.
	if !strings.Contains(log, "no prebuilt inline-cache-linux-"+arch+"; building it from source with go build") {
		t.Errorf("the action did not build from source under act")
	}
	if strings.Contains(log, "refusing") {
		t.Errorf("a .gitignore'd dist file reached act's checkout")
	}
	if !strings.Contains(log, "inline cache: VERIFIED") {
		t.Errorf("the log has no VERIFIED result block")
	}

	var outputs map[string]string
	b, err := os.ReadFile(filepath.Join(out, "outputs.json"))
	if err != nil {
		t.Fatalf("the record step did not run: %v", err)
	}
	if err := json.Unmarshal(b, &outputs); err != nil {
		t.Fatalf("steps.build.Outputs %q: %v", b, err)
	}
	// act reads GITHUB_STEP_SUMMARY after each step, prints it and empties
	// the file, so the log is where the summary shows.
	r := run{Log: log, Outputs: outputs, Summary: actSummary(log)}
	checkVerified(t, r)
	if rep := parseReport(t, r); rep.Report.Ref == "" || !strings.HasPrefix(rep.Report.Ref, repo(t)+"@sha256:") {
		t.Errorf("cache-report ref = %q, want %s@sha256:…", rep.Report.Ref, repo(t))
	}

	// act's environment, as the action's steps saw it.
	envFile, err := os.ReadFile(filepath.Join(out, "env"))
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(envFile)), "\n") {
		k, v, _ := strings.Cut(line, "=")
		vars[k] = v
	}
	actCache := filepath.Join(filepath.Dir(repoDir), "act-cache")
	if vars["ACT"] != "true" {
		t.Errorf("ACT = %q, want true", vars["ACT"])
	}
	for _, k := range []string{"GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"} {
		if !strings.HasPrefix(vars[k], actCache+string(filepath.Separator)) {
			t.Errorf("%s = %q, want a file act made under %s", k, vars[k], actCache)
		}
	}
}

// actSummary is the job summary act printed after the action's step.
func actSummary(log string) string {
	_, after, ok := strings.Cut(log, "Summary - ")
	if !ok {
		return ""
	}
	summary, _, _ := strings.Cut(after, "⭐ Run Main record")
	return summary
}

// runAct runs act in host mode in dir, isolated from the user's act
// settings (HOME and XDG dirs in temp dirs) but with the Go caches and the
// e2e environment's builder and docker config.
func runAct(t *testing.T, dir string) (string, error) {
	t.Helper()
	return runActArgs(t, dir, nil, "push",
		"-P", "ubuntu-latest=-self-hosted",
		"-W", ".github/workflows/act-e2e.yml",
		"--no-cache-server",
		"--action-cache-path", filepath.Join(filepath.Dir(dir), "act-cache"),
	)
}

// runActArgs runs act with args in dir, in the environment runAct
// describes plus extraEnv (whose entries win).
func runActArgs(t *testing.T, dir string, extraEnv []string, args ...string) (string, error) {
	t.Helper()
	home := t.TempDir()
	goEnv, err := exec.Command("go", "env", "GOPATH", "GOMODCACHE", "GOCACHE").Output()
	if err != nil {
		t.Fatalf("go env: %v", err)
	}
	goDirs := strings.Split(strings.TrimSpace(string(goEnv)), "\n")
	if len(goDirs) != 3 {
		t.Fatalf("go env: %q", goEnv)
	}
	var environ []string
	for _, kv := range cleanEnv(harness.Env.Environ()) {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "GOPATH", "GOMODCACHE", "GOCACHE", "ACT":
			continue
		}
		environ = append(environ, kv)
	}
	environ = append(environ,
		"HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"XDG_CACHE_HOME="+filepath.Join(home, ".cache"),
		"GOPATH="+goDirs[0], "GOMODCACHE="+goDirs[1], "GOCACHE="+goDirs[2],
	)
	environ = append(environ, extraEnv...)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, harness.Env.Tools.Act, args...)
	cmd.Dir = dir
	cmd.Env = environ
	var b bytes.Buffer
	cmd.Stdout = &b
	cmd.Stderr = &b
	err = cmd.Run()
	t.Logf("act %s (%s): %v\n%s", strings.Join(args, " "), testenv.ActVersion, err, b.String())
	return b.String(), err
}

// copyCheckout copies what a clone of the repository holds: tracked files
// and new files not .gitignore'd, as they are in the work tree.
func copyCheckout(t *testing.T, root, dst string) {
	t.Helper()
	list := git(t, root, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	for _, rel := range strings.Split(list, "\x00") {
		if rel == "" {
			continue
		}
		src := filepath.Join(root, rel)
		fi, err := os.Lstat(src)
		if os.IsNotExist(err) {
			continue // deleted in the work tree
		}
		if err != nil {
			t.Fatal(err)
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		mustWrite(t, filepath.Join(dst, rel), string(b), fi.Mode().Perm())
	}
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("git %s in %s: %v\n%s", strings.Join(args, " "), dir, err, stderr)
	}
	return string(out)
}

func mustWrite(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}
