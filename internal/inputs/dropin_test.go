package inputs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestBuildPushActionListRules reads each input as GitHub passes it and
// checks the items build-push-action would get (context.ts getInputs).
func TestBuildPushActionListRules(t *testing.T) {
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
	v := Values{text: map[string]string{GitHubToken: "ghs_t"}, lists: map[string][]string{Secrets: {"a=one", "b=line1\nline2", "bare"}}}
	want := []string{"one", "line1\nline2", "line1", "line2", "bare", "ghs_t"}
	if got := v.SecretValues(); !slices.Equal(got, want) {
		t.Errorf("SecretValues = %q, want %q", got, want)
	}
}

func TestDefaultList(t *testing.T) {
	v := Values{text: map[string]string{}, lists: map[string][]string{Tags: {"mine:1"}}}
	if v.DefaultList(Tags, []string{"ci:1"}) || !slices.Equal(v.List(Tags), []string{"mine:1"}) {
		t.Errorf("a default replaced the user's tags")
	}
	if !v.DefaultList(CacheFrom, []string{"ci:1"}) || !slices.Equal(v.List(CacheFrom), []string{"ci:1"}) {
		t.Errorf("default not set")
	}
}

func TestUseGitHubDefaultContext(t *testing.T) {
	g := GitHubContext{ServerURL: "https://github.com", Repository: "acme/app", SHA: "abc123", RunID: "9", RunAttempt: "3"}
	s := Settings{Context: "{{defaultContext}}:docker"}
	s.BuildContexts = []string{"src={{ defaultContext }}"}
	if err := s.UseGitHub(g); err != nil {
		t.Fatal(err)
	}
	if s.Context != "https://github.com/acme/app.git#abc123:docker" || s.BuildContexts[0] != "src=https://github.com/acme/app.git#abc123" {
		t.Errorf("context %q build-contexts %q", s.Context, s.BuildContexts)
	}
	if g.RunURL() != "https://github.com/acme/app/actions/runs/9/attempts/3" || g.Host() != "github.com" {
		t.Errorf("run URL %q host %q", g.RunURL(), g.Host())
	}

	s = Settings{Context: "{{defaultContext}}"}
	var ie *Error
	if err := s.UseGitHub(GitHubContext{}); !errors.As(err, &ie) || ie.Input != Context {
		t.Errorf("placeholder outside GitHub: %v", err)
	}
	if got, err := GitHubFromEnv(func(string) string { return "" }, os.ReadFile); err != nil || got != (GitHubContext{}) {
		t.Errorf("outside GitHub: %+v, %v", got, err)
	}
}

// The default git context as actions-toolkit's gitContext tables give it:
// the pull request's head commit with DOCKER_DEFAULT_GIT_CONTEXT_PR_HEAD_REF,
// and the query form with BUILDX_SEND_GIT_QUERY_AS_INPUT.
func TestDefaultGitContextForms(t *testing.T) {
	const sha, head = "860c1904a1ce19322e91ac35af1ab07466440c37", "f11797113e5a9b86bd976329c5dbb8a8bfdfadfa"
	event := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(event, []byte(`{"pull_request":{"number":15,"head":{"sha":"`+head+`"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	const repo = "https://github.com/docker/actions-toolkit.git"
	tests := []struct {
		ref          string
		prHead, sent bool
		ctx          string // the context as written, {{defaultContext}} expanded
		fragment     string
		query        string
	}{
		{"refs/heads/master", false, false, "", repo + "#" + sha, repo + "?ref=refs/heads/master&checksum=" + sha},
		{"master", false, false, "", repo + "#" + sha, repo + "?ref=refs/heads/master&checksum=" + sha},
		{"refs/tags/v1.0.0", false, false, "", repo + "#" + sha, repo + "?ref=refs/tags/v1.0.0&checksum=" + sha},
		{"refs/pull/15/merge", false, false, "", repo + "#" + sha, repo + "?ref=" + sha},
		{"refs/pull/15/merge", true, false, "", repo + "#" + head, repo + "?ref=" + head},
		{"refs/pull/15/merge", true, false, ":subdir", repo + "#" + head + ":subdir", repo + "?ref=" + head + "&subdir=subdir"},
		{"refs/heads/master", false, true, ":subdir", repo + "#" + sha + ":subdir", repo + "?ref=refs/heads/master&checksum=" + sha + "&subdir=subdir"},
	}
	for _, tt := range tests {
		env := map[string]string{
			"GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "docker/actions-toolkit",
			"GITHUB_SHA": sha, "GITHUB_REF": tt.ref, "GITHUB_EVENT_PATH": event,
		}
		if tt.prHead {
			env["DOCKER_DEFAULT_GIT_CONTEXT_PR_HEAD_REF"] = "true"
		}
		if tt.sent {
			env["BUILDX_SEND_GIT_QUERY_AS_INPUT"] = "true"
		}
		g, err := GitHubFromEnv(func(k string) string { return env[k] }, os.ReadFile)
		if err != nil {
			t.Fatal(err)
		}
		if g.GitQuery != tt.sent {
			t.Errorf("GitQuery = %v", g.GitQuery)
		}
		s := Settings{Context: "{{defaultContext}}" + tt.ctx}
		if err := s.UseGitHub(g); err != nil {
			t.Fatal(err)
		}
		if s.Context != tt.fragment {
			t.Errorf("%s pr-head=%v: context %q, want %q", tt.ref, tt.prHead, s.Context, tt.fragment)
		}
		if got := g.QueryContext(s.Context); got != tt.query {
			t.Errorf("%s pr-head=%v: query form %q, want %q", tt.ref, tt.prHead, got, tt.query)
		}
	}
	if got := (GitHubContext{ServerURL: "https://github.com", Repository: "a/b", SHA: sha}).QueryContext("https://other.example/x.git#main"); got != "https://other.example/x.git#main" {
		t.Errorf("another repository's context rewritten: %q", got)
	}
	_, err := GitHubFromEnv(func(k string) string {
		return map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_REF": "refs/pull/1/merge", "DOCKER_DEFAULT_GIT_CONTEXT_PR_HEAD_REF": "true", "GITHUB_EVENT_PATH": event + ".missing"}[k]
	}, os.ReadFile)
	if err == nil || !strings.Contains(err.Error(), "DOCKER_DEFAULT_GIT_CONTEXT_PR_HEAD_REF") {
		t.Errorf("unreadable event payload: %v", err)
	}
}

func TestCheckSecretFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "k"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	ok := Settings{}
	ok.SecretFiles = []SecretFile{{"k", "k"}, {"abs", filepath.Join(dir, "k")}}
	if err := CheckSecretFiles(ok, dir); err != nil {
		t.Errorf("readable files: %v", err)
	}
	for _, p := range []string{"missing", "."} {
		bad := Settings{}
		bad.SecretFiles = []SecretFile{{"k", p}}
		var ie *Error
		if err := CheckSecretFiles(bad, dir); !errors.As(err, &ie) || ie.Input != SecretFiles {
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
