package plan

import (
	"slices"
	"strings"
	"testing"

	"github.com/inlinecache/action/internal/ci"
	"github.com/inlinecache/action/internal/inputs"
)

// A pull request's build imports, after its own tags, the base and the
// default branch's images in every pushed repository, and no other.
func TestBranchSources(t *testing.T) {
	t.Parallel()
	pr := ci.GitHub{Repository: "acme/app", EventName: "pull_request", Ref: "refs/pull/7/merge", BaseRef: "develop", DefaultBranch: "main"}
	base := func(t *testing.T) inputs.Settings {
		return inputs.Settings{Context: ".", CacheMethod: inputs.MethodAuto, Push: true,
			Tags:         tags(t, "ghcr.io/acme/app:pr-7", "acme/app:pr-7", "ghcr.io/acme/app:sha-1"),
			CacheFrom:    entries(t, "type=registry,ref=ghcr.io/acme/app:develop", "type=local,src=/tmp/c"),
			CacheSources: inputs.CacheSources{FromBranches: true, BranchTagTemplate: ci.DefaultBranchTag},
			DropIn:       inputs.DropIn{GitHub: pr},
		}
	}
	sources := func(p Plan) []string {
		var out []string
		a := p.Steps[0].Args
		for i, x := range a {
			if x == "--cache-from" {
				out = append(out, a[i+1])
			}
		}
		return out
	}
	for _, tc := range []struct {
		name string
		mod  func(*inputs.Settings)
		want []string
		info string
	}{
		{"pull request", func(*inputs.Settings) {}, []string{
			"type=registry,ref=ghcr.io/acme/app:pr-7", "type=registry,ref=acme/app:pr-7", "type=registry,ref=ghcr.io/acme/app:sha-1",
			"type=registry,ref=ghcr.io/acme/app:develop", "type=registry,ref=acme/app:develop",
			"type=registry,ref=ghcr.io/acme/app:main", "type=registry,ref=acme/app:main",
			"type=local,src=/tmp/c",
		}, "cache-from branches (GitHub pull_request, tags as metadata-action's type=ref,event=branch): base branch develop: ghcr.io/acme/app:develop, acme/app:develop; default branch main: ghcr.io/acme/app:main, acme/app:main"},
		{"template", func(s *inputs.Settings) {
			s.BranchTagTemplate = "cache-{{branch}}"
			s.GitHub.BaseRef = "release/1.x"
			s.Tags = tags(t, "ghcr.io/acme/app:pr-7")
			s.CacheFrom = nil
		}, []string{"type=registry,ref=ghcr.io/acme/app:pr-7", "type=registry,ref=ghcr.io/acme/app:cache-release-1.x", "type=registry,ref=ghcr.io/acme/app:cache-main"},
			"cache-from branches (GitHub pull_request, branch-tag-template cache-{{branch}}): base branch release/1.x: ghcr.io/acme/app:cache-release-1.x; default branch main: ghcr.io/acme/app:cache-main"},
		{"a branch without a valid tag", func(s *inputs.Settings) {
			s.GitHub.BaseRef = "-odd"
			s.Tags = tags(t, "ghcr.io/acme/app:pr-7")
			s.CacheFrom = nil
		}, []string{"type=registry,ref=ghcr.io/acme/app:pr-7", "type=registry,ref=ghcr.io/acme/app:main"},
			`cache-from branches (GitHub pull_request, tags as metadata-action's type=ref,event=branch): base branch -odd: none, "-odd" is not a valid image tag`},
		{"off", func(s *inputs.Settings) {
			s.FromBranches = false
			s.CacheFrom = nil
			s.Tags = tags(t, "ghcr.io/acme/app:pr-7")
		},
			[]string{"type=registry,ref=ghcr.io/acme/app:pr-7"}, ""},
		{"not pushed", func(s *inputs.Settings) { s.Push = false; s.CacheFrom = nil }, nil, ""},
		{"outside GitHub Actions", func(s *inputs.Settings) {
			s.GitHub = ci.GitHub{}
			s.CacheFrom = nil
			s.Tags = tags(t, "ghcr.io/acme/app:pr-7")
		},
			[]string{"type=registry,ref=ghcr.io/acme/app:pr-7"}, ""},
		{"push to the default branch", func(s *inputs.Settings) {
			s.GitHub = ci.GitHub{Repository: "acme/app", EventName: "push", Ref: "refs/heads/main", DefaultBranch: "main"}
			s.CacheFrom = nil
			s.Tags = tags(t, "ghcr.io/acme/app:main")
		}, []string{"type=registry,ref=ghcr.io/acme/app:main"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := base(t)
			tc.mod(&s)
			p, err := New(s, docker, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if got := sources(p); !slices.Equal(got, tc.want) {
				t.Errorf("cache-from =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if got := strings.Join(p.Info, "\n"); !strings.HasPrefix(got, tc.info) || (tc.info == "") != (got == "") {
				t.Errorf("info = %q, want %q", got, tc.info)
			}
		})
	}
}
