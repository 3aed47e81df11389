package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/inlinecache/action/internal/command"
)

func TestParseTargets(t *testing.T) {
	ts, err := ParseTargets(strings.Join(DefaultTargets, ","))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tg := range ts {
		names = append(names, tg.BinaryName())
	}
	want := []string{
		"inline-cache-linux-amd64", "inline-cache-linux-arm64",
		"inline-cache-darwin-amd64", "inline-cache-darwin-arm64",
		"inline-cache-windows-amd64.exe", "inline-cache-windows-arm64.exe",
	}
	if !slices.Equal(names, want) {
		t.Errorf("binary names = %q, want %q", names, want)
	}
	for _, bad := range []string{"", "linux", "linux/", "/amd64", "linux/amd64/v2", "linux/amd64,linux/amd64"} {
		if _, err := ParseTargets(bad); err == nil {
			t.Errorf("ParseTargets(%q) accepted", bad)
		}
	}
}

// fakeGo stands in for "go build": it checks the command and writes a
// distinct fake binary at the -o path.
func fakeGo(t *testing.T, calls *[]command.Cmd) command.Func {
	return func(_ context.Context, c command.Cmd) error {
		*calls = append(*calls, c)
		i := slices.Index(c.Args, "-o")
		if c.Path != "go" || len(c.Args) < 2 || c.Args[0] != "build" || i < 0 || i+1 >= len(c.Args) {
			t.Fatalf("unexpected command %s %q", c.Path, c.Args)
		}
		return os.WriteFile(c.Args[i+1], []byte("binary for "+strings.Join(c.Env[len(c.Env)-2:], " ")), 0o755)
	}
}

func envValue(env []string, key string) string {
	v := ""
	for _, kv := range env {
		if k, val, _ := strings.Cut(kv, "="); k == key {
			v = val // the last one wins, as for exec
		}
	}
	return v
}

func TestBuildEveryTargetAndSums(t *testing.T) {
	out := t.TempDir()
	// A binary of a target no longer built must not survive.
	if err := os.WriteFile(filepath.Join(out, "inline-cache-plan9-386"), []byte("old"), 0o755); err != nil {
		t.Fatal(err)
	}
	var calls []command.Cmd
	targets, _ := ParseTargets(strings.Join(DefaultTargets, ","))
	cfg := Config{Version: "v1.2.3", Commit: "0123abc", Out: out, Pkg: ".", Targets: targets, Exec: fakeGo(t, &calls), Stdout: io.Discard, Stderr: io.Discard}
	if err := Build(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if len(calls) != 6 {
		t.Fatalf("%d builds, want 6", len(calls))
	}
	for i, c := range calls {
		tg := targets[i]
		wantArgs := []string{"build", "-trimpath", "-ldflags",
			"-s -w -X github.com/inlinecache/action/internal/app.Version=v1.2.3 -X github.com/inlinecache/action/internal/app.Commit=0123abc",
			"-o", filepath.Join(out, tg.BinaryName()), "."}
		if !slices.Equal(c.Args, wantArgs) {
			t.Errorf("%s: args %q, want %q", tg, c.Args, wantArgs)
		}
		if envValue(c.Env, "CGO_ENABLED") != "0" || envValue(c.Env, "GOOS") != tg.OS || envValue(c.Env, "GOARCH") != tg.Arch {
			t.Errorf("%s: env CGO_ENABLED=%q GOOS=%q GOARCH=%q", tg, envValue(c.Env, "CGO_ENABLED"), envValue(c.Env, "GOOS"), envValue(c.Env, "GOARCH"))
		}
	}
	if _, err := os.Stat(filepath.Join(out, "inline-cache-plan9-386")); !os.IsNotExist(err) {
		t.Errorf("stale binary kept: %v", err)
	}

	// SHA256SUMS lists every binary, sorted, with its real hash.
	sums, err := os.ReadFile(filepath.Join(out, SumsFile))
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(targets))
	for _, tg := range targets {
		names = append(names, tg.BinaryName())
	}
	slices.Sort(names)
	var want strings.Builder
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(out, n))
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.Sum256(b)
		fmt.Fprintf(&want, "%s  %s\n", hex.EncodeToString(h[:]), n)
	}
	if string(sums) != want.String() {
		t.Errorf("SHA256SUMS =\n%s\nwant\n%s", sums, want.String())
	}
	if left, _ := filepath.Glob(filepath.Join(out, ".SHA256SUMS-*")); len(left) != 0 {
		t.Errorf("temp files left: %v", left)
	}
}

func TestBuildFailureNamesTarget(t *testing.T) {
	fail := func(context.Context, command.Cmd) error { return &command.ExitError{Path: "go", Code: 1} }
	cfg := Config{Version: "v1", Commit: "c", Out: t.TempDir(), Pkg: ".", Targets: []Target{{"windows", "arm64"}}, Exec: fail, Stdout: io.Discard, Stderr: io.Discard}
	err := Build(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "build windows/arm64") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(cfg.Out, SumsFile)); !os.IsNotExist(err) {
		t.Errorf("SHA256SUMS written after a failed build: %v", err)
	}
	cfg.Version = "v1 -X evil"
	if err := Build(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "must not contain spaces") {
		t.Errorf("version with a space: %v", err)
	}
}

// TestDistBinaryRuns builds this platform's binary for real, the way
// `make dist` does, and runs it: the stamped version and commit come out
// of "inline-cache version --json", and SHA256SUMS matches the file.
func TestDistBinaryRuns(t *testing.T) {
	out := t.TempDir()
	tg := Target{runtime.GOOS, runtime.GOARCH}
	var log bytes.Buffer
	cfg := Config{Version: "v0.0.0-disttest", Commit: "feedc0de", Out: out, Pkg: "github.com/inlinecache/action", Targets: []Target{tg}, Exec: command.Exec, Stdout: &log, Stderr: &log}
	if err := Build(context.Background(), cfg); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	bin := filepath.Join(out, tg.BinaryName())
	got, err := exec.Command(bin, "version", "--json").Output()
	if err != nil {
		t.Fatalf("%s version --json: %v", bin, err)
	}
	var v struct{ Version, Commit, Go, OS, Arch string }
	if err := json.Unmarshal(got, &v); err != nil {
		t.Fatalf("version --json %q: %v", got, err)
	}
	if v.Version != "v0.0.0-disttest" || v.Commit != "feedc0de" || v.Go != runtime.Version() || v.OS != tg.OS || v.Arch != tg.Arch {
		t.Errorf("version --json = %+v", v)
	}
	sum, err := FileSHA256(bin)
	if err != nil {
		t.Fatal(err)
	}
	sums, _ := os.ReadFile(filepath.Join(out, SumsFile))
	if string(sums) != sum+"  "+tg.BinaryName()+"\n" {
		t.Errorf("SHA256SUMS = %q, want the hash of %s (%s)", sums, bin, sum)
	}
}
