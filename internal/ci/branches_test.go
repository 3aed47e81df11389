package ci

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestGitHubCacheBranches(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	payload := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	withDefault := payload("default.json", `{"repository":{"default_branch":"main"}}`)
	mergeGroup := payload("merge-group.json", `{"merge_group":{"base_ref":"refs/heads/release/1.x"},"repository":{"default_branch":"main"}}`)
	for _, tt := range []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"pull request", map[string]string{"GITHUB_EVENT_NAME": "pull_request", "GITHUB_REF": "refs/pull/7/merge", "GITHUB_BASE_REF": "develop", "GITHUB_EVENT_PATH": withDefault}, []string{"develop", "main"}},
		{"pull request to the default branch", map[string]string{"GITHUB_EVENT_NAME": "pull_request", "GITHUB_REF": "refs/pull/7/merge", "GITHUB_BASE_REF": "main", "GITHUB_EVENT_PATH": withDefault}, []string{"main"}},
		{"pull_request_target runs on the base branch", map[string]string{"GITHUB_EVENT_NAME": "pull_request_target", "GITHUB_REF": "refs/heads/develop", "GITHUB_BASE_REF": "develop", "GITHUB_EVENT_PATH": withDefault}, []string{"main"}},
		{"pull request without a payload", map[string]string{"GITHUB_EVENT_NAME": "pull_request", "GITHUB_REF": "refs/pull/7/merge", "GITHUB_BASE_REF": "develop"}, []string{"develop"}},
		{"merge queue", map[string]string{"GITHUB_EVENT_NAME": "merge_group", "GITHUB_REF": "refs/heads/gh-readonly-queue/release/1.x/pr-7-abc", "GITHUB_EVENT_PATH": mergeGroup}, []string{"release/1.x", "main"}},
		{"push to another branch", map[string]string{"GITHUB_EVENT_NAME": "push", "GITHUB_REF": "refs/heads/feature/login", "GITHUB_EVENT_PATH": withDefault}, []string{"main"}},
		{"push to the default branch", map[string]string{"GITHUB_EVENT_NAME": "push", "GITHUB_REF": "refs/heads/main", "GITHUB_EVENT_PATH": withDefault}, nil},
		{"push of a tag", map[string]string{"GITHUB_EVENT_NAME": "push", "GITHUB_REF": "refs/tags/v1.2.0", "GITHUB_EVENT_PATH": withDefault}, []string{"main"}},
		{"unreadable payload", map[string]string{"GITHUB_EVENT_NAME": "push", "GITHUB_REF": "refs/heads/x", "GITHUB_EVENT_PATH": withDefault + ".missing"}, nil},
	} {
		env := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "acme/app"}
		for k, v := range tt.env {
			env[k] = v
		}
		job, err := Detect(func(k string) string { return env[k] }, os.ReadFile)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if got := job.GitHub.CacheBranches(); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: CacheBranches = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// BranchTag follows docker/metadata-action's type=ref,event=branch: runs
// of characters a tag cannot hold become one '-'.
func TestBranchTag(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ tmpl, branch, want, err string }{
		{"{{branch}}", "main", "main", ""},
		{"{{branch}}", "feature/login", "feature-login", ""},
		{"{{branch}}", "Fix//Ünïcode branch", "Fix-n-code-branch", ""},
		{"{{branch}}", "release/1.x_rc", "release-1.x_rc", ""},
		{"cache-{{branch}}-amd64", "dependabot/npm/lodash-4.17", "cache-dependabot-npm-lodash-4.17-amd64", ""},
		{"{{branch}}", "-hotfix", "-hotfix", "not a valid image tag"},
		{"{{branch}}", strings.Repeat("b", 129), strings.Repeat("b", 129), "not a valid image tag"},
	} {
		got, err := BranchTag(tt.tmpl, tt.branch)
		if got != tt.want || (tt.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("BranchTag(%q, %q) = %q, %v; want %q, error %q", tt.tmpl, tt.branch, got, err, tt.want, tt.err)
		}
	}
}

func TestGitLabCacheBranches(t *testing.T) {
	t.Parallel()
	g := GitLab{On: true, RegistryImage: "r.example/g/app", RefSlug: "feature-x", DefaultBranch: "Main"}
	if got := g.cacheBranches(); !reflect.DeepEqual(got, []string{"Main"}) {
		t.Errorf("cacheBranches = %q", got)
	}
	g.RefSlug = "main"
	if got := g.cacheBranches(); got != nil {
		t.Errorf("on the default branch: %q", got)
	}
}
