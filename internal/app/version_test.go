package app

import (
	"bytes"
	"context"
	"encoding/json"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// The version tests set the package's Version and Commit: not parallel
// (run in parallel, one read the other's values now and then).
func TestReadBuildInfo(t *testing.T) {
	bi := &debug.BuildInfo{
		GoVersion: "go1.99",
		Main:      debug.Module{Version: "v1.4.0"},
		Settings:  []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.modified", Value: "true"}},
	}
	read := func() (*debug.BuildInfo, bool) { return bi, true }
	got := readBuildInfo(read)
	want := BuildInfo{Version: "v1.4.0", Commit: "abc123-dirty", GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	if got != want {
		t.Errorf("from build info: %+v, want %+v", got, want)
	}

	// Link-time values (make dist) win over what Go recorded.
	Version, Commit = "v2.0.0", "def456"
	t.Cleanup(func() { Version, Commit = "", "" })
	got = readBuildInfo(read)
	if got.Version != "v2.0.0" || got.Commit != "def456" {
		t.Errorf("with -ldflags -X: %+v", got)
	}
	Version, Commit = "", ""
	got = readBuildInfo(func() (*debug.BuildInfo, bool) { return nil, false })
	if got.Version != "(devel)" || got.Commit != "unknown" {
		t.Errorf("without build info: %+v", got)
	}
}

func TestVersionCommand(t *testing.T) {
	Version, Commit = "v3.1.0", "0ff1ce"
	t.Cleanup(func() { Version, Commit = "", "" })
	var out, errb bytes.Buffer
	env := Env{Getenv: func(string) string { return "" }, Stdout: &out, Stderr: &errb}
	if code := Main(context.Background(), []string{"version"}, env); code != ExitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	want := "inline-cache v3.1.0 (commit 0ff1ce, " + runtime.Version() + ", " + runtime.GOOS + "/" + runtime.GOARCH + ")\n"
	if out.String() != want {
		t.Errorf("version = %q, want %q", out.String(), want)
	}

	out.Reset()
	if code := Main(context.Background(), []string{"version", "--json"}, env); code != ExitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var b BuildInfo
	if err := json.Unmarshal(out.Bytes(), &b); err != nil {
		t.Fatalf("version --json %q: %v", out.String(), err)
	}
	if b.Version != "v3.1.0" || b.Commit != "0ff1ce" || b.GoVersion != runtime.Version() || b.OS != runtime.GOOS || b.Arch != runtime.GOARCH {
		t.Errorf("version --json = %+v", b)
	}

	errb.Reset()
	if code := Main(context.Background(), []string{"version", "extra"}, env); code != ExitUsage || !strings.Contains(errb.String(), "version takes no arguments") {
		t.Errorf("version extra: exit %d, %q", code, errb.String())
	}
}
