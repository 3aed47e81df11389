package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDotenvRoundTrip(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "build.env")
	var log strings.Builder
	s := WithDotenv(&Plain{w: &log}, path)
	if err := s.Preflight(); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadDotenv(path); err != nil || len(got) != 0 {
		t.Errorf("after preflight: %q %v", got, err)
	}
	for k, v := range map[string]string{OutputImageID: "sha256:1", OutputDigest: "sha256:2", OutputCacheVerified: "true", OutputMetadata: "{\n}", OutputCacheReport: "{}"} {
		if err := s.SetOutput(k, v); err != nil {
			t.Errorf("%s: %v", k, err)
		}
	}
	got, err := ReadDotenv(path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"IMAGEID": "sha256:1", "DIGEST": "sha256:2", "CACHE_VERIFIED": "true"}
	if len(got) != len(want) {
		t.Errorf("dotenv = %q, want %q", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	b, _ := os.ReadFile(path)
	if string(b) != "CACHE_VERIFIED=true\nDIGEST=sha256:2\nIMAGEID=sha256:1\n" {
		t.Errorf("file = %q", b)
	}

	// A value with a line break would start a variable of its choosing.
	if err := s.SetOutput(OutputDigest, "x\nCACHE_VERIFIED=true"); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("newline value: %v", err)
	}
	if got, _ := ReadDotenv(path); got["DIGEST"] != "sha256:2" {
		t.Errorf("a refused value changed the file: %q", got)
	}
	if log.Len() != 0 {
		t.Errorf("plain sink printed %q", log.String())
	}
}

func TestDotenvUnwritable(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "no-such-dir", "build.env")
	s := WithDotenv(&Plain{w: &strings.Builder{}}, path)
	if err := s.Preflight(); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("preflight: %v", err)
	}
	if err := s.SetOutput(OutputDigest, "sha256:1"); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("set: %v", err)
	}
	p := &Plain{}
	if WithDotenv(p, "") != Outputs(p) {
		t.Errorf("an empty path wraps the sink")
	}
}

func TestGitLabSections(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	s := ForEnv(func(k string) string { return map[string]string{"GITLAB_CI": "true"}[k] }, &b)
	g, ok := s.(*GitLab)
	if !ok {
		t.Fatalf("ForEnv in GitLab = %T", s)
	}
	g.now = func() time.Time { return time.Unix(1700000000, 0) }
	end := s.Group("inline-cache: plan")
	s.Infof("hello")
	end()
	s.Mask("secret")
	s.ErrorTitle("Title", "broken")
	want := "\x1b[0Ksection_start:1700000000:inline-cache_plan[collapsed=true]\r\x1b[0Kinline-cache: plan\nhello\n\x1b[0Ksection_end:1700000000:inline-cache_plan\r\x1b[0K\nerror: broken\n"
	if b.String() != want {
		t.Errorf("log = %q, want %q", b.String(), want)
	}
}

func TestGitHubFileErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var b strings.Builder
	env := map[string]string{"GITHUB_ACTIONS": "true"}
	s := ForEnv(func(k string) string { return env[k] }, &b)

	// Unset: named, no panic.
	if err := s.Preflight(); err == nil || !strings.Contains(err.Error(), "GITHUB_OUTPUT is not set") {
		t.Errorf("unset GITHUB_OUTPUT: %v", err)
	}
	if err := s.Summary("x"); err == nil || !strings.Contains(err.Error(), "GITHUB_STEP_SUMMARY is not set") {
		t.Errorf("unset GITHUB_STEP_SUMMARY: %v", err)
	}
	// Unwritable (a directory, a missing parent): the file is named.
	for _, p := range []string{dir, filepath.Join(dir, "missing", "out")} {
		env["GITHUB_OUTPUT"], env["GITHUB_STEP_SUMMARY"] = p, p
		if err := s.Preflight(); err == nil || !strings.Contains(err.Error(), "GITHUB_OUTPUT file "+p) {
			t.Errorf("%s: preflight %v", p, err)
		}
		if err := s.SetOutput("digest", "x"); err == nil || !strings.Contains(err.Error(), "GITHUB_OUTPUT file "+p) {
			t.Errorf("%s: set output %v", p, err)
		}
		if err := s.Summary("x"); err == nil || !strings.Contains(err.Error(), "GITHUB_STEP_SUMMARY file "+p) {
			t.Errorf("%s: summary %v", p, err)
		}
	}
	if strings.Contains(b.String(), "panic") {
		t.Errorf("log = %q", b.String())
	}

	// Masks and titled annotations.
	b.Reset()
	s.Mask("hunter2")
	s.Mask("")
	s.WarningTitle("Note, 100%", "careful")
	if want := "::add-mask::hunter2\n::warning title=Note%2C 100%25::careful\n"; b.String() != want {
		t.Errorf("log = %q, want %q", b.String(), want)
	}
}
