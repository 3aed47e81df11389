package plan

import (
	"fmt"
	"strings"

	"github.com/inlinecache/action/internal/ci"
)

// branchSources are the images of the branches a GitHub run's branch
// comes from (ci.GitHub.CacheBranches), tagged by the branch-tag template
// in every repository pushed to and no other, so a pull request's first
// build starts from its base branch's cache. (GitLab CI gets the same
// through its cache-from default.) The info line says which branch each
// image stands for.
func branchSources(s derived) ([]string, []string) {
	if !s.FromBranches || !s.pushes || s.GitHub.Repository == "" {
		return nil, nil
	}
	branches := s.GitHub.CacheBranches()
	if len(branches) == 0 {
		return nil, nil
	}
	// Each repository as the user spelled it (docker.io/… stays short).
	var repos []string
	seen := map[string]bool{}
	for _, t := range s.pushedTags {
		if r := t.Ref.Context().String(); !seen[r] {
			seen[r] = true
			repos = append(repos, strings.TrimSuffix(t.Raw, ":"+t.Ref.TagStr()))
		}
	}
	var refs, parts []string
	for _, b := range branches {
		tag, err := ci.BranchTag(s.BranchTagTemplate, b)
		if err != nil {
			// A branch name the template cannot make a tag of (too
			// long, or starting with '.' or '-').
			parts = append(parts, fmt.Sprintf("%s branch %s: none, %v", branchRole(s.GitHub, b), b, err))
			continue
		}
		var imgs []string
		for _, r := range repos {
			imgs = append(imgs, r+":"+tag)
		}
		refs = append(refs, imgs...)
		parts = append(parts, fmt.Sprintf("%s branch %s: %s", branchRole(s.GitHub, b), b, strings.Join(imgs, ", ")))
	}
	return refs, []string{fmt.Sprintf("cache-from branches (GitHub %s, %s): %s", eventName(s.GitHub), branchTemplateNote(s.BranchTagTemplate), strings.Join(parts, "; "))}
}

func branchRole(g ci.GitHub, b string) string {
	if b == strings.TrimPrefix(g.BaseRef, "refs/heads/") {
		return "base"
	}
	return "default"
}

func eventName(g ci.GitHub) string {
	if g.EventName == "" {
		return "run"
	}
	return g.EventName
}

func branchTemplateNote(tmpl string) string {
	if tmpl == ci.DefaultBranchTag {
		return "tags as metadata-action's type=ref,event=branch"
	}
	return "branch-tag-template " + tmpl
}
