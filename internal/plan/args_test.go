package plan

import (
	"slices"
	"strings"
	"testing"

	"github.com/inlinecache/action/internal/ci"
	"github.com/inlinecache/action/internal/inputs"
)

// dropInSettings sets every build-push-action input the planner passes on.
func dropInSettings(t *testing.T) func(*inputs.Settings) {
	return func(s *inputs.Settings) {
		s.Tags = tags(t, "ghcr.io/acme/app:main")
		s.Push = true
		s.AddHosts = []string{"docker:10.180.0.1", "db=10.0.0.2"}
		s.Allow = []string{"network.host", "security.insecure"}
		s.Annotations = []string{"index:org.opencontainers.image.description=My app"}
		s.Attests = attestsOf(t, "type=sbom,generator=image", "type=provenance,mode=min", "type=custom,true")
		s.BuildContexts = []string{"alpine=docker-image://alpine:3.20", "src=../src"}
		s.Call = "check"
		s.CgroupParent = "/ci"
		s.Network = "host"
		s.NoCacheFilters = []string{"test", "lint"}
		s.Outputs = outputsOf(t, "type=image,oci-mediatypes=true")
		s.Provenance = "true"
		s.SBOM = "generator=custom/scanner"
		s.Secrets = []inputs.Secret{{ID: "token", Value: "s3cr3t value"}, {ID: "GIT_AUTH_TOKEN", Value: "ghp_abc"}}
		s.SecretEnvs = []inputs.SecretEnv{{ID: "npm", Env: "NPM_TOKEN"}}
		s.SecretFiles = []inputs.SecretFile{{ID: "key", Path: "./key,with,commas.pem"}}
		s.ShmSize = "2g"
		s.SSH = []string{"default", "deploy=/keys/id"}
		s.Ulimits = []string{"nofile=1024:2048"}
		s.GitHubToken = "ghs_token"
		s.GitHub = ci.GitHub{ServerURL: "https://github.com", Repository: "acme/app", SHA: "0123abc", RunID: "42", RunAttempt: "2"}
	}
}

// gitContextSettings builds the workflow's own git context, which gets the
// github-token as GIT_AUTH_TOKEN.<host>.
func gitContextSettings(t *testing.T) func(*inputs.Settings) {
	return func(s *inputs.Settings) {
		s.GitHub = ci.GitHub{ServerURL: "https://github.example.com", Repository: "acme/app", SHA: "0123abc", RunID: "42"}
		s.Context = s.GitHub.DefaultContext() + ":sub"
		s.GitHubToken = "ghs_token"
		s.Provenance = "mode=max"
	}
}

func TestSecretValuesNeverInArgs(t *testing.T) {
	t.Parallel()
	s := inputs.Settings{Context: ".", CacheMethod: inputs.MethodAuto}
	dropInSettings(t)(&s)
	s.Call = ""
	p, err := New(s, docker, "/run/ic")
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(build(t, p), "\x00")
	for _, v := range []string{"s3cr3t", "ghp_abc", "ghs_token"} {
		if strings.Contains(all, v) {
			t.Errorf("secret %q on the command line: %q", v, build(t, p))
		}
	}
	want := []TempSecret{
		{ID: "token", Path: "/run/ic/secret-0", Value: "s3cr3t value"},
		{ID: "GIT_AUTH_TOKEN", Path: "/run/ic/secret-1", Value: "ghp_abc"},
	}
	if !slices.Equal(p.TempSecrets, want) {
		t.Errorf("temp secrets = %+v, want %+v", p.TempSecrets, want)
	}
	for _, ts := range want {
		if count(build(t, p), "--secret", "id="+ts.ID+",src="+ts.Path) != 1 {
			t.Errorf("no --secret for %s: %q", ts.ID, build(t, p))
		}
	}
	// The token is not added: the context is not the workflow's git context.
	if strings.Contains(all, "GIT_AUTH_TOKEN.github.com") {
		t.Errorf("github-token used for a local context: %q", build(t, p))
	}
}

func TestGitHubTokenRules(t *testing.T) {
	t.Parallel()
	gh := ci.GitHub{ServerURL: "https://github.com", Repository: "acme/app", SHA: "abc"}
	for _, tt := range []struct {
		name    string
		context string
		secrets []inputs.Secret
		token   string
		want    bool
	}{
		{"own git context", gh.DefaultContext(), nil, "t", true},
		{"own git context subdir", gh.DefaultContext() + ":docker", nil, "t", true},
		{"local context", ".", nil, "t", false},
		{"other repository", "https://github.com/other/repo.git#main", nil, "t", false},
		{"user secret wins", gh.DefaultContext(), []inputs.Secret{{ID: "GIT_AUTH_TOKEN", Value: "x"}}, "t", false},
		{"no token", gh.DefaultContext(), nil, "", false},
	} {
		s := inputs.Settings{Context: tt.context, CacheMethod: inputs.MethodAuto}
		s.GitHub, s.Secrets, s.GitHubToken = gh, tt.secrets, tt.token
		p, err := New(s, docker, "/tmp")
		if err != nil {
			t.Fatal(err)
		}
		got := slices.ContainsFunc(p.TempSecrets, func(ts TempSecret) bool { return ts.ID == "GIT_AUTH_TOKEN.github.com" && ts.Value == "t" })
		if got != tt.want {
			t.Errorf("%s: token secret %v, want %v (%+v)", tt.name, got, tt.want, p.TempSecrets)
		}
	}
}

func TestAttestPrecedence(t *testing.T) {
	t.Parallel()
	run := "https://github.com/acme/app/actions/runs/7/attempts/1"
	for _, tt := range []struct {
		provenance, sbom string
		attests          []string
		want             []string
	}{
		{"", "", nil, nil},
		{"true", "", nil, []string{"type=provenance,builder-id=" + run}},
		{"false", "", nil, []string{"type=provenance,disabled=true"}},
		{"mode=max", "", nil, []string{"type=provenance,mode=max,builder-id=" + run}},
		{"mode=max,builder-id=me", "", nil, []string{"type=provenance,mode=max,builder-id=me"}},
		{"", "true", nil, []string{"type=sbom,disabled=false"}},
		{"", "", []string{"type=provenance,mode=min", "type=sbom"}, []string{"type=provenance,mode=min,builder-id=" + run, "type=sbom"}},
		{"false", "false", []string{"type=provenance,mode=max", "type=sbom", "type=x,false"}, []string{"type=provenance,disabled=true", "type=sbom,disabled=true", "type=x,disabled=true"}},
		// buildx lowercases keys: an entry spelled TYPE= is still of its
		// type, and the input wins over it.
		{"true", "", []string{"TYPE=provenance,mode=max"}, []string{"type=provenance,builder-id=" + run}},
		{"", "generator=x", []string{"Type=sbom"}, []string{"type=sbom,generator=x"}},
		{"", "", []string{"TYPE=provenance,Mode=max"}, []string{"type=provenance,mode=max,builder-id=" + run}},
	} {
		s := inputs.Settings{Provenance: tt.provenance}
		s.SBOM, s.Attests = tt.sbom, attestsOf(t, tt.attests...)
		s.GitHub = ci.GitHub{ServerURL: "https://github.com", Repository: "acme/app", RunID: "7", RunAttempt: "1"}
		if got := strs(attests(s)); !slices.Equal(got, tt.want) {
			t.Errorf("provenance %q sbom %q attests %q: %q, want %q", tt.provenance, tt.sbom, tt.attests, got, tt.want)
		}
	}
	// Outside a run there is no builder-id to add.
	if got := strs(attests(inputs.Settings{Provenance: "true"})); !slices.Equal(got, []string{"type=provenance,disabled=false"}) {
		t.Errorf("outside GitHub: %q", got)
	}
}

func TestOutputsDecidePushAndImageID(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		outputs []string
		push    bool
		iid     bool
	}{
		{nil, false, true},
		{[]string{"type=registry"}, true, true},
		{[]string{"type=image,push=true"}, true, true},
		{[]string{"type=image"}, false, true},
		{[]string{"type=local,dest=out"}, false, false},
		{[]string{"out-dir"}, false, false},
		{[]string{"type=tar,dest=out.tar"}, false, false},
	} {
		s := inputs.Settings{Context: ".", CacheMethod: inputs.MethodAuto, Tags: tags(t, "r.example/a:1")}
		s.Outputs = outputsOf(t, tt.outputs...)
		p, err := New(s, docker, "/tmp")
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Pushes(); got != tt.push || p.Pushes != tt.push {
			t.Errorf("%q: Pushes() = %v, the plan's Pushes %v", tt.outputs, got, p.Pushes)
		}
		if got := slices.Contains(build(t, p), "--iidfile"); got != tt.iid {
			t.Errorf("%q: --iidfile %v, want %v", tt.outputs, got, tt.iid)
		}
		if got := count(build(t, p), "--cache-from", "type=registry,ref=r.example/a:1") == 1; got != tt.push {
			t.Errorf("%q: cache-from of the tag %v, want %v", tt.outputs, got, tt.push)
		}
	}
}

// The workflow's git context goes to buildx in the query form only when
// BUILDX_SEND_GIT_QUERY_AS_INPUT asks and buildx reads it (0.29+); the
// github-token follows it either way.
func TestGitQueryContext(t *testing.T) {
	t.Parallel()
	gh := ci.GitHub{ServerURL: "https://github.com", Repository: "acme/app", SHA: "abc", Ref: "refs/heads/main", GitQuery: true}
	s := inputs.Settings{Context: gh.DefaultContext() + ":docker", CacheMethod: inputs.MethodAuto}
	s.GitHub, s.GitHubToken = gh, "t"
	s.BuildContexts = []string{"src=" + gh.DefaultContext()}
	withQuery := docker
	withQuery.Caps = map[Capability]bool{Buildx: true, GitQuery: true}
	for _, tt := range []struct {
		backend Backend
		want    string
	}{
		{docker, "https://github.com/acme/app.git#abc:docker"},
		{withQuery, "https://github.com/acme/app.git?ref=refs/heads/main&checksum=abc&subdir=docker"},
	} {
		p, err := New(s, tt.backend, "/tmp")
		if err != nil {
			t.Fatal(err)
		}
		args := build(t, p)
		if got := args[len(args)-1]; got != tt.want {
			t.Errorf("context %q, want %q", got, tt.want)
		}
		if !slices.ContainsFunc(p.TempSecrets, func(ts TempSecret) bool { return ts.ID == "GIT_AUTH_TOKEN.github.com" }) {
			t.Errorf("%q: no GIT_AUTH_TOKEN for the workflow's own repository", tt.want)
		}
	}
}

// The plan keeps what it worked out about pushing: whether the image's
// build pushes, and the tags it pushes to (an output's names without tags).
func TestPlanKeepsPushedTags(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		tags    []string
		outputs []string
		push    bool
		want    []string
	}{
		{[]string{"r.example/a:1", "r.example/a:2"}, nil, true, []string{"r.example/a:1", "r.example/a:2"}},
		{nil, []string{"type=image,name=r.example/b:2,push=true"}, true, []string{"r.example/b:2"}},
		{nil, []string{"type=local,dest=out"}, false, nil},
	} {
		s := inputs.Settings{Context: ".", CacheMethod: inputs.MethodAuto, Tags: tags(t, tt.tags...), Push: len(tt.tags) > 0}
		s.Outputs = outputsOf(t, tt.outputs...)
		p, err := New(s, docker, "/tmp")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, tg := range p.PushedTags {
			got = append(got, tg.Raw)
		}
		if p.Pushes != tt.push || !slices.Equal(got, tt.want) {
			t.Errorf("tags %q outputs %q: Pushes %v, PushedTags %q; want %v, %q", tt.tags, tt.outputs, p.Pushes, got, tt.push, tt.want)
		}
	}
}
