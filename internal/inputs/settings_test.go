package inputs

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// read parses env (INPUT_* without the prefix) and args with every input.
func read(t *testing.T, env map[string]string, args ...string) (Settings, []string, error) {
	t.Helper()
	getenv := func(k string) string {
		if !strings.HasPrefix(k, "INPUT_") {
			t.Fatalf("read unexpected variable %s", k)
		}
		return env[strings.ToLower(strings.TrimPrefix(k, "INPUT_"))]
	}
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	v, pos, err := Read(getenv, fs, args, Specs)
	if err != nil {
		return Settings{}, pos, err
	}
	s, err := v.Settings()
	return s, pos, err
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	s, pos, err := read(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(pos) != 0 {
		t.Errorf("positional = %q", pos)
	}
	if s.Context != "." || s.Push || s.Load || s.NoCache || s.Pull {
		t.Errorf("defaults: %+v", s)
	}
	if s.CacheMethod != MethodAuto || s.Verify != VerifyStrict || s.VerifyTimeout != 2*time.Minute || s.TagAfterVerify != TagAfterAuto {
		t.Errorf("cache-method %q verify %q verify-timeout %s tag-after-verify %q", s.CacheMethod, s.Verify, s.VerifyTimeout, s.TagAfterVerify)
	}
}

func TestInputsAndFlags(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"tags":           "ghcr.io/acme/app:main\nghcr.io/acme/app:sha-1,docker.io/acme/app:main",
		"push":           "true",
		"build-args":     "A=1,2\nB=x",
		"platforms":      "linux/amd64,linux/arm64",
		"cache-to":       "inline",
		"verify":         "warn",
		"verify-timeout": "45s",
	}
	s, _, err := read(t, env)
	if err != nil {
		t.Fatal(err)
	}
	var tags []string
	for _, tg := range s.Tags {
		tags = append(tags, tg.Raw)
	}
	if want := []string{"ghcr.io/acme/app:main", "ghcr.io/acme/app:sha-1", "docker.io/acme/app:main"}; !slices.Equal(tags, want) {
		t.Errorf("tags = %q, want %q", tags, want)
	}
	if !slices.Equal(s.BuildArgs, []string{"A=1,2", "B=x"}) {
		t.Errorf("build-args = %q", s.BuildArgs)
	}
	if !slices.Equal(s.Platforms, []string{"linux/amd64", "linux/arm64"}) {
		t.Errorf("platforms = %q", s.Platforms)
	}
	if len(s.CacheTo) != 1 || s.CacheTo[0].String() != "type=inline" {
		t.Errorf("cache-to inline not normalised: %v", s.CacheTo)
	}
	if len(s.Notes) != 1 || !strings.Contains(s.Notes[0], "docker.io/library/inline") {
		t.Errorf("normalisation not explained: %q", s.Notes)
	}
	if s.Verify != VerifyWarn || !s.Push || s.VerifyTimeout != 45*time.Second {
		t.Errorf("verify %q push %v verify-timeout %s", s.Verify, s.Push, s.VerifyTimeout)
	}

	// A flag replaces the input of the same name; others stay.
	s, pos, err := read(t, env, "--tag", "r.example/x:1", "-t", "r.example/x:2", "ctxdir", "--push=false")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Tags) != 2 || s.Tags[0].Raw != "r.example/x:1" || s.Tags[1].Raw != "r.example/x:2" {
		t.Errorf("flag tags = %+v", s.Tags)
	}
	if s.Push {
		t.Error("--push=false did not override INPUT_PUSH=true")
	}
	if !slices.Equal(s.Platforms, []string{"linux/amd64", "linux/arm64"}) {
		t.Errorf("platforms input lost: %q", s.Platforms)
	}
	if !slices.Equal(pos, []string{"ctxdir"}) {
		t.Errorf("positional = %q", pos)
	}
}

func TestDoubleDashEndsFlags(t *testing.T) {
	t.Parallel()
	_, pos, err := read(t, nil, "--push=false", "--", "--weird-dir")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(pos, []string{"--weird-dir"}) {
		t.Errorf("positional = %q", pos)
	}
}

func TestBadInputsNameTheInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		env   map[string]string
		input string
		says  string
	}{
		{map[string]string{"tags": "Bad Tag"}, "tags", "not a valid image tag"},
		{map[string]string{"tags": "app@sha256:" + strings.Repeat("a", 64)}, "tags", "not a valid image tag"},
		{map[string]string{"push": "yes"}, "push", "not a boolean"},
		{map[string]string{"push": "true"}, "tags", "no tag"},
		{map[string]string{"cache-method": "registry"}, "cache-method", "not one of auto, cache-to, build-arg"},
		{map[string]string{"verify": "maybe"}, "verify", "not one of strict, warn, off"},
		{map[string]string{"verify-timeout": "2"}, "verify-timeout", "not a positive Go duration"},
		{map[string]string{"verify-timeout": "-1m"}, "verify-timeout", "not a positive Go duration"},
		{map[string]string{"verify-timeout": "0s"}, "verify-timeout", "not a positive Go duration"},
		{map[string]string{"cache-from": "type=registry"}, "cache-from", "needs ref="},
		{map[string]string{"cache-from": "mode=max"}, "cache-from", "no type="},
		{map[string]string{"cache-to": "type=registry,ref=UPPER/Case"}, "cache-to", "not a valid image reference"},
		{map[string]string{"platforms": "linux/arm/v7/extra"}, "platforms", "os[/arch[/variant]]"},
		{map[string]string{"platforms": "/amd64"}, "platforms", "os[/arch[/variant]]"},
		{map[string]string{"build-args": "=x"}, "build-args", "KEY=VALUE"},
		{map[string]string{"build-args": "BUILDKIT_INLINE_CACHE=0"}, "build-args", "turns off the inline cache"},
		{map[string]string{"build-args": "BUILDKIT_INLINE_CACHE=false"}, "build-args", "turns off the inline cache"},
		{map[string]string{"build-args": "BUILDKIT_INLINE_CACHE="}, "build-args", "turns off the inline cache"},
		{map[string]string{"insecure-registries": "reg.example/path"}, "insecure-registries", "host[:port]"},
		{map[string]string{"tag-after-verify": "later"}, "tag-after-verify", "not one of auto, true, false"},
		{map[string]string{"tag-after-verify": "true", "verify": "off"}, "tag-after-verify", "verify is off"},
	}
	for _, tt := range tests {
		wantInputError(t, tt.env, tt.input, tt.says)
	}
}

// wantInputError reads env and wants an *Error naming input and saying
// says.
func wantInputError(t *testing.T, env map[string]string, input, says string) {
	t.Helper()
	_, _, err := read(t, env)
	var ie *Error
	if !errors.As(err, &ie) {
		t.Errorf("%v: error %v is not an input error", env, err)
		return
	}
	if ie.Input != input || !strings.Contains(err.Error(), says) {
		t.Errorf("%v: got %q (input %q), want input %q saying %q", env, err, ie.Input, input, says)
	}
}

func TestEveryProblemReported(t *testing.T) {
	t.Parallel()
	_, _, err := read(t, map[string]string{"tags": "Bad Tag", "verify": "x", "load": "nope"})
	for _, in := range []string{`"tags"`, `"verify"`, `"load"`} {
		if err == nil || !strings.Contains(err.Error(), in) {
			t.Errorf("error %v does not mention %s", err, in)
		}
	}
}

func TestCheckFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := filepath.Join(dir, "ctx")
	if err := os.MkdirAll(ctx, 0o755); err != nil {
		t.Fatal(err)
	}
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		s     Settings
		input string
	}{
		{Settings{Context: "missing"}, Context},
		{Settings{Context: "file"}, Context},
		{Settings{Context: "ctx"}, Context}, // no Dockerfile in it
		{Settings{Context: "ctx", File: "nope/Dockerfile"}, File},
	}
	for _, tt := range tests {
		_, err := checkFiles(tt.s, OSDisk(dir))
		var ie *Error
		if !errors.As(err, &ie) || ie.Input != tt.input {
			t.Errorf("checkFiles(%+v) = %v, want an error for input %q", tt.s, err, tt.input)
		}
	}
	if err := os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		s    Settings
		want string // the Dockerfile read
	}{
		{Settings{Context: "ctx"}, "FROM scratch\n"},
		{Settings{Context: ctx}, "FROM scratch\n"},
		{Settings{Context: "ctx", File: "ctx/Dockerfile"}, "FROM scratch\n"},
		{Settings{Context: "ctx", File: "-"}, ""},
		{Settings{Context: "https://github.com/acme/app.git#main"}, ""},
		{Settings{Context: "git@github.com:acme/app.git"}, ""},
	} {
		if dt, err := checkFiles(tt.s, OSDisk(dir)); err != nil || string(dt) != tt.want {
			t.Errorf("checkFiles(%+v) = %q, %v, want %q", tt.s, dt, err, tt.want)
		}
	}
}

// Dockerfile is the one answer to where buildx reads the Dockerfile from.
func TestDockerfile(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		s           Settings
		path, input string
	}{
		{Settings{Context: "ctx"}, filepath.Join("ctx", "Dockerfile"), Context},
		{Settings{Context: "ctx", File: "build/Dockerfile.ci"}, "build/Dockerfile.ci", File},
		{Settings{Context: "ctx", File: "-"}, "", ""},
		// in a remote context, the file input is a path inside it
		{Settings{Context: "https://github.com/acme/app.git#main", File: "sub/Dockerfile"}, "", ""},
		{Settings{Context: "-"}, "", ""},
	} {
		if path, input := tt.s.Dockerfile(); path != tt.path || input != tt.input {
			t.Errorf("%+v.Dockerfile() = %q, %q, want %q, %q", tt.s, path, input, tt.path, tt.input)
		}
	}
}

// Preflight reads only through the Disk it is given, and reports every
// problem at once.
func TestPreflightOnAFileSystem(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{
		"work/app/Dockerfile": {Data: []byte("FROM scratch\n")},
		"work/key.pem":        {Data: []byte("k")},
		"etc/ca.pem":          {Data: []byte("not a certificate")},
	}
	d := Disk{FS: fsys, Dir: "/work"}
	s := Settings{Context: "app"}
	s.SecretFiles = []SecretFile{{ID: "k", Path: "key.pem"}}
	s.ProgressFile = "app/progress.json" // need not exist: it is written
	if got, err := Preflight(s, d); err != nil || got.CA != nil || string(got.Dockerfile) != "FROM scratch\n" {
		t.Errorf("Preflight = %+v, %v", got, err)
	}
	s.Context = "missing"
	s.SecretFiles = []SecretFile{{ID: "k", Path: "/work/nokey.pem"}}
	s.RegistryCA = []string{"/etc/ca.pem"}
	s.ProgressFile = "nodir/progress.json"
	var got []string
	_, err := Preflight(s, d)
	for _, e := range flat(err) {
		var ie *Error
		if !errors.As(e, &ie) {
			t.Fatalf("%v names no input", e)
		}
		got = append(got, ie.Input)
	}
	if strings.Join(got, ",") != "context,secret-files,progress-file,registry-ca" {
		t.Errorf("Preflight errors for %q (%v)", got, err)
	}
}

func flat(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flat(e)...)
		}
		return out
	}
	if err == nil {
		return nil
	}
	return []error{err}
}
