package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFileCommandRoundTrip(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "output")
	values := map[string]string{
		"plain":     "sha256:abc",
		"multiline": "line one\nline two\n",
		"empty":     "",
		"json":      `{"a":"b\nc"}`,
	}
	for k, v := range values {
		if err := FileCommand(path, k, v); err != nil {
			t.Fatal(err)
		}
	}
	got := readFileCommands(t, path)
	for k, v := range values {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(values) {
		t.Errorf("got %d outputs, want %d: %q", len(got), len(values), got)
	}
}

// A value must not be able to forge another output, whatever it contains:
// the fixed delimiter of go-githubactions and old @actions/core allowed it.
func TestFileCommandInjection(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "output")
	evil := "x\n_GitHubActionsFileCommandDelimeter_\ncache-verified<<EOF\ntrue\nEOF\nghadelimiter_\nforged=1"
	if err := FileCommand(path, "metadata", evil); err != nil {
		t.Fatal(err)
	}
	got := readFileCommands(t, path)
	if len(got) != 1 || got["metadata"] != evil {
		t.Errorf("outputs = %q, want only metadata with the value intact", got)
	}
}

func TestFileCommandRefusesDelimiter(t *testing.T) {
	t.Parallel()
	if _, err := formatFileCommand("k", "a\nDELIM\nb", "DELIM"); err == nil {
		t.Error("a value containing the delimiter was accepted")
	}
	for _, n := range []string{"", "a\nb", "a<<b", "a=b"} {
		if _, err := formatFileCommand(n, "v", "DELIM"); err == nil {
			t.Errorf("name %q was accepted", n)
		}
	}
	if d1, d2 := randomDelimiter(), randomDelimiter(); d1 == d2 || !strings.HasPrefix(d1, "ghadelimiter_") {
		t.Errorf("delimiters %q, %q are not random", d1, d2)
	}
}

func TestFileCommandErrors(t *testing.T) {
	t.Parallel()
	if err := FileCommand("", "k", "v"); err == nil {
		t.Error("no error for an unset path")
	}
	if err := FileCommand(filepath.Join(t.TempDir(), "missing", "dir", "out"), "k", "v"); err == nil {
		t.Error("no error for an unwritable path")
	}
}

func TestSinkForEnv(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	dir := t.TempDir()
	env := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": filepath.Join(dir, "out"), "GITHUB_STEP_SUMMARY": filepath.Join(dir, "sum")}
	s := ForEnv(func(k string) string { return env[k] }, &b)
	s.Warning("50% done\nnext")
	end := s.Group("plan")
	end()
	if err := s.SetOutput("digest", "sha256:1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Summary("### hi\n"); err != nil {
		t.Fatal(err)
	}
	want := "::warning::50%25 done%0Anext\n::group::plan\n::endgroup::\n"
	if b.String() != want {
		t.Errorf("GitHub log = %q, want %q", b.String(), want)
	}
	if got := readFileCommands(t, env["GITHUB_OUTPUT"]); got["digest"] != "sha256:1" {
		t.Errorf("outputs = %q", got)
	}
	if sum, _ := os.ReadFile(env["GITHUB_STEP_SUMMARY"]); string(sum) != "### hi\n" {
		t.Errorf("summary = %q", sum)
	}

	delete(env, "GITHUB_OUTPUT")
	if err := s.SetOutput("digest", "x"); err == nil || !strings.Contains(err.Error(), "GITHUB_OUTPUT") {
		t.Errorf("missing GITHUB_OUTPUT: %v", err)
	}

	b.Reset()
	plain := ForEnv(func(string) string { return "" }, &b)
	plain.Warning("careful")
	plain.Error("broken")
	if strings.Contains(b.String(), "::") || !strings.Contains(b.String(), "warning: careful") {
		t.Errorf("plain log = %q", b.String())
	}
}

func readFileCommands(t *testing.T, path string) map[string]string {
	t.Helper()
	out, err := ReadFileCommands(path)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
