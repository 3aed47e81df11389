package inputs

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/inlinecache/action/internal/ci"
)

// TestBuildPushActionListRules reads each input as GitHub passes it and
// checks the items build-push-action would get (context.ts getInputs).
func TestBuildPushActionListRules(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"add-hosts":        "docker:10.180.0.1,db:10.0.0.2\ncache=10.0.0.3",
		"allow":            "network.host,security.insecure",
		"annotations":      "index:org.opencontainers.image.description=a, b\nmanifest:x=y",
		"attests":          "type=sbom,generator=image\ntype=provenance,mode=max",
		"build-contexts":   "a=docker-image://alpine:3.20\nb=./dir",
		"no-cache-filters": "test,lint\nbuild",
		"outputs":          "type=local,dest=\"out dir\",x=1\n  type=image  \n",
		"secrets":          "GIT_AUTH_TOKEN=abc\n  padded=  value with spaces  \n\"quoted=a,b\"",
		"secret-envs":      "A=ENV_A,B=ENV_B",
		"secret-files":     "key=./a,b.pem",
		"ssh":              "default,deploy=/k",
		"ulimit":           "nofile=1024:1024\nnproc=512",
		"call":             "check",
		"cgroup-parent":    "/ci",
		"network":          "host",
		"shm-size":         "2g",
		"sbom":             "true",
		"github-token":     "ghs_x",
	}
	s, _, err := read(t, env)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want []string
	}{
		{"add-hosts", s.AddHosts, []string{"docker:10.180.0.1", "db:10.0.0.2", "cache=10.0.0.3"}},
		{"allow", s.Allow, []string{"network.host", "security.insecure"}},
		{"annotations", s.Annotations, []string{"index:org.opencontainers.image.description=a, b", "manifest:x=y"}},
		{"attests", strs(s.Attests), []string{"type=sbom,generator=image", "type=provenance,mode=max"}},
		{"build-contexts", s.BuildContexts, []string{"a=docker-image://alpine:3.20", "b=./dir"}},
		{"no-cache-filters", s.NoCacheFilters, []string{"test", "lint", "build"}},
		// quote: false — quotes stay as written.
		{"outputs", strs(s.Outputs), []string{`type=local,dest="out dir",x=1`, "type=image"}},
		{"ssh", s.SSH, []string{"default", "deploy=/k"}},
		{"ulimit", s.Ulimits, []string{"nofile=1024:1024", "nproc=512"}},
	}
	for _, c := range checks {
		if !slices.Equal(c.got, c.want) {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	// trimWhitespace: false — a secret keeps its spaces; quotes group commas.
	wantSecrets := []Secret{{"GIT_AUTH_TOKEN", "abc"}, {"  padded", "  value with spaces  "}, {"quoted", "a,b"}}
	if !slices.Equal(s.Secrets, wantSecrets) {
		t.Errorf("secrets = %q, want %q", s.Secrets, wantSecrets)
	}
	if want := []SecretEnv{{"A", "ENV_A"}, {"B", "ENV_B"}}; !slices.Equal(s.SecretEnvs, want) {
		t.Errorf("secret-envs = %q", s.SecretEnvs)
	}
	if want := []SecretFile{{"key", "./a,b.pem"}}; !slices.Equal(s.SecretFiles, want) {
		t.Errorf("secret-files = %q", s.SecretFiles)
	}
	if s.Call != "check" || s.CgroupParent != "/ci" || s.Network != "host" || s.ShmSize != "2g" || s.SBOM != "true" || s.GitHubToken != "ghs_x" {
		t.Errorf("text inputs: %+v", s.DropIn)
	}
	if !s.Evaluates() {
		t.Errorf("call check does not evaluate")
	}
}

func TestBuildPushActionInputErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		env   map[string]string
		input string
	}{
		{map[string]string{"add-hosts": "nohost"}, AddHosts},
		{map[string]string{"add-hosts": "h:not-an-ip"}, AddHosts},
		{map[string]string{"annotations": "novalue"}, Annotations},
		{map[string]string{"attests": "generator=image"}, Attests},
		{map[string]string{"build-contexts": "=x"}, BuildContexts},
		{map[string]string{"no-cache-filters": "a", "no-cache": "true"}, NoCacheFilters},
		{map[string]string{"shm-size": "lots"}, ShmSize},
		{map[string]string{"ulimit": "nofile=a:b"}, Ulimit},
		{map[string]string{"secret-envs": "A"}, SecretEnvs},
		{map[string]string{"secret-files": "=x"}, SecretFiles},
		{map[string]string{"secrets": "only-a-value"}, Secrets},
	} {
		_, _, err := read(t, tt.env)
		var ie *Error
		if !errors.As(err, &ie) || ie.Input != tt.input {
			t.Errorf("%q: error %v, want one naming %q", tt.env, err, tt.input)
		}
	}
	// A malformed secret line is not echoed: it may be the secret.
	_, _, err := read(t, map[string]string{"secrets": "hunter2-token"})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("secret error = %v", err)
	}
}

func TestSecretValuesToMask(t *testing.T) {
	t.Parallel()
	v := Values{text: map[string]string{GitHubToken: "ghs_t"}, lists: map[string][]string{Secrets: {"a=one", "b=line1\nline2", "bare"}}}
	want := []string{"one", "line1\nline2", "line1", "line2", "bare", "ghs_t"}
	if got := v.SecretValues(); !slices.Equal(got, want) {
		t.Errorf("SecretValues = %q, want %q", got, want)
	}
}

// LoadSettings applies the GitLab job's defaults only where the user gave
// nothing, and says what it set.
func TestLoadGitLabDefaults(t *testing.T) {
	t.Parallel()
	job := ci.Job{GitLab: ci.GitLab{On: true, RegistryImage: "r.example/g/app", RefSlug: "feat-x", DefaultBranch: "main"}}
	load := func(env map[string]string) Settings {
		t.Helper()
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		s, _, err := LoadSettings(Source{
			Getenv: func(k string) string { return env[strings.TrimPrefix(k, "INPUT_")] },
			Flags:  fs, Args: []string{"."}, ContextArg: true,
			Inputs: []string{Context, Tags, CacheFrom, Outputs, Push}, Job: job,
		})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := load(map[string]string{"TAGS": "mine:1"})
	if len(s.Tags) != 1 || s.Tags[0].Raw != "mine:1" || len(s.Defaults) != 1 || !strings.HasPrefix(s.Defaults[0], "cache-from: r.example/g/app:feat-x, r.example/g/app:main") {
		t.Errorf("tags %v defaults %q", s.Tags, s.Defaults)
	}
	s = load(map[string]string{})
	if len(s.Tags) != 1 || s.Tags[0].Raw != "r.example/g/app:feat-x" || len(s.CacheFrom) != 2 || len(s.Defaults) != 2 || s.Context != "." {
		t.Errorf("tags %v cache-from %v defaults %q context %q", s.Tags, s.CacheFrom, s.Defaults, s.Context)
	}
}

func TestUseGitHubDefaultContext(t *testing.T) {
	t.Parallel()
	g := ci.GitHub{ServerURL: "https://github.com", Repository: "acme/app", SHA: "abc123", RunID: "9", RunAttempt: "3"}
	s := Settings{Context: "{{defaultContext}}:docker"}
	s.BuildContexts = []string{"src={{ defaultContext }}"}
	if err := s.useGitHub(g); err != nil {
		t.Fatal(err)
	}
	if s.Context != "https://github.com/acme/app.git#abc123:docker" || s.BuildContexts[0] != "src=https://github.com/acme/app.git#abc123" {
		t.Errorf("context %q build-contexts %q", s.Context, s.BuildContexts)
	}
	s = Settings{Context: "{{defaultContext}}"}
	var ie *Error
	if err := s.useGitHub(ci.GitHub{}); !errors.As(err, &ie) || ie.Input != Context {
		t.Errorf("placeholder outside GitHub: %v", err)
	}
}

func TestCheckSecretFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "k"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	ok := Settings{}
	ok.SecretFiles = []SecretFile{{"k", "k"}, {"abs", filepath.Join(dir, "k")}}
	if err := checkSecretFiles(ok, OSDisk(dir)); err != nil {
		t.Errorf("readable files: %v", err)
	}
	for _, p := range []string{"missing", "."} {
		bad := Settings{}
		bad.SecretFiles = []SecretFile{{"k", p}}
		var ie *Error
		if err := checkSecretFiles(bad, OSDisk(dir)); !errors.As(err, &ie) || ie.Input != SecretFiles {
			t.Errorf("%q: %v", p, err)
		}
	}
}

func strs[T fmt.Stringer](vs []T) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.String())
	}
	return out
}

func TestPushedTagsFromOutputs(t *testing.T) {
	t.Parallel()
	s, _, err := read(t, map[string]string{
		"tags":    "r.example/a:1",
		"outputs": "type=image,\"name=r.example/a:1,r.example/b:2\",push=true\ntype=local,dest=out,name=r.example/ignored:1",
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tg := range s.PushedTags() {
		got = append(got, tg.Raw)
	}
	// buildx replaces an image output's name= with the tags (build/opt.go
	// "fill in image exporter names from tags"): b:2 is not pushed.
	if want := []string{"r.example/a:1"}; !slices.Equal(got, want) || !s.Pushes() {
		t.Errorf("pushed tags = %q, want %q (pushes %v)", got, want, s.Pushes())
	}
	// Without tags the output's names are what is pushed.
	s, _, err = read(t, map[string]string{
		"outputs": "type=image,\"name=r.example/a:1,r.example/b:2\",push=true\ntype=local,dest=out,name=r.example/ignored:1",
	})
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, tg := range s.PushedTags() {
		got = append(got, tg.Raw)
	}
	if want := []string{"r.example/a:1", "r.example/b:2"}; !slices.Equal(got, want) || !s.Pushes() {
		t.Errorf("pushed tags without tags = %q, want %q (pushes %v)", got, want, s.Pushes())
	}
	// push: true with only an output name is not "nothing to push to".
	if _, _, err := read(t, map[string]string{"push": "true", "outputs": "type=image,name=r.example/a:1"}); err != nil {
		t.Errorf("push with an output name: %v", err)
	}
	// An output that pushes with no tag and no name has nowhere to push.
	for _, o := range []string{"type=registry", "type=image,push=true"} {
		if _, _, err := read(t, map[string]string{"outputs": o}); err == nil || !strings.Contains(err.Error(), `input "tags": an output pushes`) {
			t.Errorf("outputs %q without a tag or name: %v", o, err)
		}
	}
	if _, _, err := read(t, map[string]string{"outputs": "type=image,push=false"}); err != nil {
		t.Errorf("a non-pushing output without a name: %v", err)
	}
	if _, _, err := read(t, map[string]string{"outputs": "type=registry,name=Not A Tag"}); err == nil {
		t.Errorf("bad output name accepted")
	}
}
