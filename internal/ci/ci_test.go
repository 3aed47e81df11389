package ci

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGitHubRun(t *testing.T) {
	t.Parallel()
	g := GitHub{ServerURL: "https://github.com", Repository: "acme/app", SHA: "abc123", RunID: "9", RunAttempt: "3"}
	if g.RunURL() != "https://github.com/acme/app/actions/runs/9/attempts/3" || g.Host() != "github.com" {
		t.Errorf("run URL %q host %q", g.RunURL(), g.Host())
	}
	if got, err := Detect(func(string) string { return "" }, os.ReadFile); err != nil || got != (Job{}) {
		t.Errorf("outside CI: %+v, %v", got, err)
	}
}

func TestRefSlug(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"main": "main", "Feature/Add_Thing": "feature-add-thing", "--x--": "x",
		"release//1.0": "release--1-0", "Üb__er": "b--er",
		strings.Repeat("a", 70): strings.Repeat("a", 63), strings.Repeat("a", 62) + "/b": strings.Repeat("a", 62),
	} {
		if got := RefSlug(in); got != want {
			t.Errorf("RefSlug(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestGitLabImages(t *testing.T) {
	t.Parallel()
	g := GitLab{On: true, RegistryImage: "r.example/g/app", RefSlug: "feat-x", DefaultBranch: "Main"}
	if g.BranchImage() != "r.example/g/app:feat-x" || strings.Join(g.CacheImages(), " ") != "r.example/g/app:feat-x r.example/g/app:main" {
		t.Errorf("images %q %q", g.BranchImage(), g.CacheImages())
	}
	g.RefSlug = "main"
	if len(g.CacheImages()) != 1 {
		t.Errorf("default branch listed twice: %q", g.CacheImages())
	}
	if (GitLab{On: true}).BranchImage() != "" {
		t.Errorf("an image without CI_REGISTRY_IMAGE")
	}
}

// The default git context as actions-toolkit's gitContext tables give it:
// the pull request's head commit with DOCKER_DEFAULT_GIT_CONTEXT_PR_HEAD_REF,
// and the query form with BUILDX_SEND_GIT_QUERY_AS_INPUT.
func TestDefaultGitContextForms(t *testing.T) {
	t.Parallel()
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
		job, err := Detect(func(k string) string { return env[k] }, os.ReadFile)
		if err != nil {
			t.Fatal(err)
		}
		g := job.GitHub
		if g.GitQuery != tt.sent {
			t.Errorf("GitQuery = %v", g.GitQuery)
		}
		ctx := g.DefaultContext() + tt.ctx
		if ctx != tt.fragment {
			t.Errorf("%s pr-head=%v: context %q, want %q", tt.ref, tt.prHead, ctx, tt.fragment)
		}
		if got := g.QueryContext(ctx); got != tt.query {
			t.Errorf("%s pr-head=%v: query form %q, want %q", tt.ref, tt.prHead, got, tt.query)
		}
	}
	if got := (GitHub{ServerURL: "https://github.com", Repository: "a/b", SHA: sha}).QueryContext("https://other.example/x.git#main"); got != "https://other.example/x.git#main" {
		t.Errorf("another repository's context rewritten: %q", got)
	}
	_, err := Detect(func(k string) string {
		return map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_REF": "refs/pull/1/merge", "DOCKER_DEFAULT_GIT_CONTEXT_PR_HEAD_REF": "true", "GITHUB_EVENT_PATH": event + ".missing"}[k]
	}, os.ReadFile)
	if err == nil || !strings.Contains(err.Error(), "DOCKER_DEFAULT_GIT_CONTEXT_PR_HEAD_REF") {
		t.Errorf("unreadable event payload: %v", err)
	}
}
